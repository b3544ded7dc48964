"""idempotency keys per user and tenant: unique (tenant_id, user_id, key), user_id required, the caller's access kept with the answer

Revision ID: 0014_idempotency_per_user
Revises: 0013_risks_permits
Create Date: 2026-12-07 17:27:23.225874
"""
import os

from alembic import op
import sqlalchemy as sa


revision = '0014_idempotency_per_user'
down_revision = '0013_risks_permits'
branch_labels = None
depends_on = None


# Frozen: this revision imports no application code (tests/test_migrations_frozen.py); the
# SQL it runs is written here. It makes no table; it ends with _grant_app_role().

def _app_role() -> str:
    """The role the app connects as (ANJIAN_DB_APP_ROLE, default anjian_app)."""
    role = os.environ.get("ANJIAN_DB_APP_ROLE", "anjian_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"bad ANJIAN_DB_APP_ROLE: {role!r}")
    return role


def _grant_app_role() -> None:
    """Create the app role if missing (NOLOGIN; operators give it LOGIN) and grant it the
    use of every table and sequence; the audit log it may only read and append to."""
    role = _app_role()
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
        f"THEN CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
        f"END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    op.execute(f"GRANT SELECT ON alembic_version TO {role}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}")


def upgrade():
    # A key's row is made by a write's request and always names its user; a row without one
    # (none is known) could never be replayed to anybody.
    op.execute("DELETE FROM idempotency_keys WHERE user_id IS NULL")
    op.add_column('idempotency_keys', sa.Column('access', sa.String(length=80), nullable=True))
    op.alter_column('idempotency_keys', 'user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
    op.drop_constraint(op.f('uq_idempotency_keys_tenant_id_key'), 'idempotency_keys', type_='unique')
    op.create_unique_constraint(op.f('uq_idempotency_keys_tenant_id_user_id_key'), 'idempotency_keys', ['tenant_id', 'user_id', 'key'])
    _grant_app_role()


def downgrade():
    # Per tenant again: of the keys two users share in a tenant, the first one made stays.
    op.execute("DELETE FROM idempotency_keys k USING idempotency_keys o "
               "WHERE k.tenant_id = o.tenant_id AND k.key = o.key AND k.id > o.id")
    op.drop_constraint(op.f('uq_idempotency_keys_tenant_id_user_id_key'), 'idempotency_keys', type_='unique')
    op.create_unique_constraint(op.f('uq_idempotency_keys_tenant_id_key'), 'idempotency_keys', ['tenant_id', 'key'])
    op.alter_column('idempotency_keys', 'user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
    op.drop_column('idempotency_keys', 'access')
