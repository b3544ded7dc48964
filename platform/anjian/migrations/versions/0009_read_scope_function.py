"""read scope function: the guard's scope and memberships in one round trip (PostgreSQL)

Revision ID: 0009_read_scope_function
Revises: 0008_task_reminders
Create Date: 2026-12-03 15:40:00.000000
"""
import os

from alembic import op


revision = '0009_read_scope_function'
down_revision = '0008_task_reminders'
branch_labels = None
depends_on = None


# Frozen: this revision imports no application code; the SQL it runs is written here.

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


# anjian_read_scope(tenant, user), which the request guard calls in the statement that reads
# the token, its user and the URL's tenant (one round trip for the whole guard). In this
# order, which a function keeps and a statement's columns would not: it gives the
# transaction the read-only scope of that tenant naming that user (an empty scope when the
# tenant is NULL), then reads the user's memberships under it, RLS applying (SECURITY
# INVOKER: the caller's rights). Returns {"settings": [...as set], "memberships":
# [{tenant_id, role, enterprise_id}]}.
CREATE_READ_SCOPE = """
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
                   'tenant_id', m.tenant_id, 'role', m.role, 'enterprise_id', m.enterprise_id)
                   ORDER BY m.tenant_id), '[]'::json)
          FROM public.memberships AS m
         WHERE found AND m.user_id = p_user));
END $$"""


def upgrade():
    op.execute(CREATE_READ_SCOPE)
    # PUBLIC may execute a new function by default; a hardened server may not.
    op.execute(f"GRANT EXECUTE ON FUNCTION anjian_read_scope(integer, integer) TO {_app_role()}")
    _grant_app_role()


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS anjian_read_scope(integer, integer)")
