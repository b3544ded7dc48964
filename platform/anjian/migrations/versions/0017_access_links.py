"""links for enterprises without accounts (issue 21)

Revision ID: 0017_access_links
Revises: 0016_accounts
Create Date: 2026-12-07 19:45:00
"""
import os

from alembic import op
import sqlalchemy as sa


revision = '0017_access_links'
down_revision = '0016_accounts'
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
    op.create_table('access_link_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('valid_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_access_link_policies_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_link_policies')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_access_link_policies_tenant_id'))
    )
    op.create_index(op.f('ix_access_link_policies_tenant_id'), 'access_link_policies', ['tenant_id'], unique=False)
    op.create_table('access_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('hazard_id', sa.Integer(), nullable=True),
    sa.Column('template_key', sa.String(length=80), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_access_links_created_by_users')),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_access_links_revoked_by_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_access_links_tenant_id_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['tenant_id', 'enterprise_id'], ['enterprises.tenant_id', 'enterprises.id'], name=op.f('fk_access_links_tenant_id_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['tenant_id', 'hazard_id'], ['hazards.tenant_id', 'hazards.id'], name=op.f('fk_access_links_tenant_id_hazard_id_hazards')),
    sa.ForeignKeyConstraint(['tenant_id', 'inspection_id'], ['inspections.tenant_id', 'inspections.id'], name=op.f('fk_access_links_tenant_id_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_access_links_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_links')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_access_links_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'token_hash', name=op.f('uq_access_links_tenant_id_token_hash'))
    )
    op.create_index('ix_access_links_tenant_enterprise', 'access_links', ['tenant_id', 'enterprise_id'], unique=False)
    op.create_index(op.f('ix_access_links_tenant_id'), 'access_links', ['tenant_id'], unique=False)
    _enable_tenant_rls('access_link_policies')
    _enable_tenant_rls('access_links')
    _grant_app_role()


def downgrade():
    op.drop_index(op.f('ix_access_links_tenant_id'), table_name='access_links')
    op.drop_index('ix_access_links_tenant_enterprise', table_name='access_links')
    op.drop_table('access_links')
    op.drop_index(op.f('ix_access_link_policies_tenant_id'), table_name='access_link_policies')
    op.drop_table('access_link_policies')
