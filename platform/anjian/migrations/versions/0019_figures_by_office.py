"""figures by office (issue 22, seed 002): an entered figure belongs to the unit ("") or to one of its sections (科室)

Revision ID: 0019_figures_by_office
Revises: 0018_notification_channels
Create Date: 2026-12-07 20:20:00
"""
import os

from alembic import op
import sqlalchemy as sa


revision = '0019_figures_by_office'
down_revision = '0018_notification_channels'
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
    op.add_column('entered_figures', sa.Column('office', sa.String(length=80), server_default='', nullable=False))
    op.drop_constraint('uq_entered_figures_tenant_id_report_kind_period_key', 'entered_figures', type_='unique')
    op.create_unique_constraint(op.f('uq_entered_figures_tenant_id_report_kind_period_key_office'), 'entered_figures',
                                ['tenant_id', 'report_kind', 'period', 'key', 'office'])
    _grant_app_role()


def downgrade():
    # The sections' own figures go: the unit's are what the table read before.
    op.execute("ALTER TABLE entered_figures NO FORCE ROW LEVEL SECURITY")
    op.execute("DELETE FROM entered_figures WHERE office <> ''")
    op.execute("ALTER TABLE entered_figures FORCE ROW LEVEL SECURITY")
    op.drop_constraint(op.f('uq_entered_figures_tenant_id_report_kind_period_key_office'), 'entered_figures', type_='unique')
    op.create_unique_constraint('uq_entered_figures_tenant_id_report_kind_period_key', 'entered_figures',
                                ['tenant_id', 'report_kind', 'period', 'key'])
    op.drop_column('entered_figures', 'office')
