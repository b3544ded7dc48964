"""accounts people run themselves (issue 21): password changes, disabled members, invitations

Revision ID: 0016_accounts
Revises: 0015_seed_fixes
Create Date: 2026-12-07 19:45:00
"""
import os

from alembic import op
import sqlalchemy as sa


revision = '0016_accounts'
down_revision = '0015_seed_fixes'
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


# The guard's read scope (0009, 0011) leaves out disabled memberships (memberships.disabled_at):
# a disabled member has no access to that tenant (nor, through it, to its descendants) from
# its next request.
READ_SCOPE_ACTIVE_ONLY = """
CREATE OR REPLACE FUNCTION anjian_read_scope(p_tenant integer, p_user integer)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
    found boolean := p_tenant IS NOT NULL;
    settings text[];
BEGIN
    settings := ARRAY[
        set_config('app.tenant_ids', CASE WHEN found THEN p_tenant::text ELSE '' END, true),
        set_config('app.tenant_id', '', true),
        set_config('app.user_id', CASE WHEN found THEN p_user::text ELSE '' END, true),
        set_config('app.platform', '', true)];
    RETURN json_build_object('settings', settings, 'memberships', (
        SELECT coalesce(json_agg(json_build_object(
                   'tenant_id', m.tenant_id, 'role', m.role, 'enterprise_id', m.enterprise_id,
                   'area_id', m.area_id)
                   ORDER BY m.tenant_id), '[]'::json)
          FROM public.memberships AS m
         WHERE found AND m.user_id = p_user AND m.disabled_at IS NULL));
END $$"""

# As 0011 made it (the downgrade).
READ_SCOPE_0011 = """
CREATE OR REPLACE FUNCTION anjian_read_scope(p_tenant integer, p_user integer)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
    found boolean := p_tenant IS NOT NULL;
    settings text[];
BEGIN
    settings := ARRAY[
        set_config('app.tenant_ids', CASE WHEN found THEN p_tenant::text ELSE '' END, true),
        set_config('app.tenant_id', '', true),
        set_config('app.user_id', CASE WHEN found THEN p_user::text ELSE '' END, true),
        set_config('app.platform', '', true)];
    RETURN json_build_object('settings', settings, 'memberships', (
        SELECT coalesce(json_agg(json_build_object(
                   'tenant_id', m.tenant_id, 'role', m.role, 'enterprise_id', m.enterprise_id,
                   'area_id', m.area_id)
                   ORDER BY m.tenant_id), '[]'::json)
          FROM public.memberships AS m
         WHERE found AND m.user_id = p_user));
END $$"""


def upgrade():
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('invited_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("area_id IS NULL OR role <> 'enterprise'", name=op.f('ck_invitations_area_role')),
    sa.CheckConstraint("enterprise_id IS NULL OR role = 'enterprise'", name=op.f('ck_invitations_enterprise_role')),
    sa.CheckConstraint("role IN ('tenant_admin', 'supervisor', 'service_org', 'enterprise', 'viewer')", name=op.f('ck_invitations_role')),
    sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], name=op.f('fk_invitations_accepted_by_users')),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name=op.f('fk_invitations_invited_by_users')),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_invitations_revoked_by_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'area_id'], ['areas.tenant_id', 'areas.id'], name=op.f('fk_invitations_tenant_id_area_id_areas')),
    sa.ForeignKeyConstraint(['tenant_id', 'enterprise_id'], ['enterprises.tenant_id', 'enterprises.id'], name=op.f('fk_invitations_tenant_id_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_invitations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_invitations_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'token_hash', name=op.f('uq_invitations_tenant_id_token_hash'))
    )
    op.create_index(op.f('ix_invitations_tenant_id'), 'invitations', ['tenant_id'], unique=False)
    _enable_tenant_rls("invitations")
    op.add_column('memberships', sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(READ_SCOPE_ACTIVE_ONLY)
    _grant_app_role()


def downgrade():
    op.execute(READ_SCOPE_0011)
    op.drop_column('memberships', 'disabled_at')
    op.drop_index(op.f('ix_invitations_tenant_id'), table_name='invitations')
    op.drop_table('invitations')
