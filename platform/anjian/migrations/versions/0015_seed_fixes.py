"""seed fixes (issue 22, seed 000): a hazard's grading criterion, the day an inspection was carried out (filled from when it was entered), the enterprise a report is about

Revision ID: 0015_seed_fixes
Revises: 0014_idempotency_per_user
Create Date: 2026-12-07 17:39:07.864222
"""
import os

from alembic import op
import sqlalchemy as sa


revision = '0015_seed_fixes'
down_revision = '0014_idempotency_per_user'
branch_labels = None
depends_on = None


# Frozen: this revision imports no application code (tests/test_migrations_frozen.py); the
# SQL it runs is written here. Call _enable_tenant_rls(table) for every new table with a
# tenant_id; every revision ends with _grant_app_role().

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


# Row-Level Security. The scope arrives per transaction: app.tenant_ids (readable,
# comma-separated) and app.tenant_id (writable). On a pooled connection a setting reads ''
# after its transaction, hence NULLIF.
READ = "tenant_id = ANY (string_to_array(NULLIF(current_setting('app.tenant_ids', true), ''), ',')::int[])"
WRITE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::int"


def _enable_tenant_rls(table: str, read: str = READ, write: str = WRITE) -> None:
    """RLS, forced, with one policy per command: rows are read in the readable tenants but
    inserted, updated and deleted only in the write tenant (a read-only scope, such as a
    parent's viewer, deletes nothing: one FOR ALL policy would let DELETE through on its
    USING clause alone)."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({read})")
    op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK ({write})")
    op.execute(f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING ({write}) WITH CHECK ({write})")
    op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING ({write})")



def upgrade():
    # A major hazard's criterion (重大事故隐患判定标准): "" for the hazards before it.
    op.add_column('hazards', sa.Column('grade_criterion', sa.Text(), nullable=False, server_default=''))
    op.alter_column('hazards', 'grade_criterion', server_default=None)
    # The day an inspection was carried out; an existing one's is the China date it was
    # submitted (or started, a draft), what was read as its date until now. The owner
    # fills it past the tenant policies (FORCE is set again at once).
    op.add_column('inspections', sa.Column('performed_on', sa.Date(), nullable=True))
    op.execute("ALTER TABLE inspections NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE inspections SET performed_on = "
               "(COALESCE(submitted_at, started_at) AT TIME ZONE 'Asia/Shanghai')::date")
    op.execute("ALTER TABLE inspections FORCE ROW LEVEL SECURITY")
    op.alter_column('inspections', 'performed_on', nullable=False)
    # The enterprise a report is about (a service organisation serving it reads it).
    op.add_column('reports', sa.Column('enterprise_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_reports_tenant_id_enterprise_id_enterprises'), 'reports', 'enterprises', ['tenant_id', 'enterprise_id'], ['tenant_id', 'id'])
    _grant_app_role()


def downgrade():
    op.drop_constraint(op.f('fk_reports_tenant_id_enterprise_id_enterprises'), 'reports', type_='foreignkey')
    op.drop_column('reports', 'enterprise_id')
    op.drop_column('inspections', 'performed_on')
    op.drop_column('hazards', 'grade_criterion')
