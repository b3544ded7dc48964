"""PostgreSQL Row-Level Security and the app role's rights, applied by migrations.

Every migration that adds a tenant table calls ``enable_tenant_rls`` for it, and
every migration ends with ``grant_app_role``. A test reads the catalogue and
fails when a table with ``tenant_id`` lacks FORCE ROW LEVEL SECURITY or a policy.

The scope arrives per transaction (see ``scope._apply_to_connection``):
``app.tenant_ids`` (readable, comma-separated), ``app.tenant_id`` (writable),
``app.user_id`` and ``app.platform``. After a transaction the settings read ''
on a pooled connection, hence NULLIF everywhere.
"""

from __future__ import annotations

import os

READ_IDS = (
    "string_to_array(NULLIF(current_setting('app.tenant_ids', true), ''), ',')::int[]"
)
WRITE_ID = "NULLIF(current_setting('app.tenant_id', true), '')::int"
USER_ID = "NULLIF(current_setting('app.user_id', true), '')::int"
PLATFORM = "(current_setting('app.platform', true) = 'on')"

POLICIES = {
    # A plain tenant table.
    "tenant": (f"tenant_id = ANY ({READ_IDS})", f"tenant_id = {WRITE_ID}"),
    # Memberships: also a user's own rows, so that it can be authorised.
    "membership": (
        f"tenant_id = ANY ({READ_IDS}) OR user_id = {USER_ID}",
        f"tenant_id = {WRITE_ID}",
    ),
    # The audit log: platform-level rows (no tenant) only in the platform scope.
    "audit": (
        f"tenant_id = ANY ({READ_IDS}) OR (tenant_id IS NULL AND {PLATFORM})",
        f"tenant_id IS NULL OR tenant_id = {WRITE_ID}",
    ),
}

# Tables the app may only read and append to.
APPEND_ONLY = ("audit_log",)


def app_role() -> str:
    role = os.environ.get("ANJIAN_DB_APP_ROLE", "anjian_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"bad ANJIAN_DB_APP_ROLE: {role!r}")
    return role


def _is_postgres(op) -> bool:
    return op.get_bind().dialect.name == "postgresql"


def enable_tenant_rls(op, table: str, kind: str = "tenant") -> None:
    """One policy per command: rows are read in the readable tenants, but inserted,
    updated and deleted only in the write tenant (a read-only scope, such as a
    parent's viewer, deletes nothing: one FOR ALL policy would let DELETE through
    on its USING clause alone)."""
    if _is_postgres(op):
        using, check = POLICIES[kind]
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for name in ("tenant_isolation", "tenant_read", "tenant_insert", "tenant_update",
                     "tenant_delete"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({using})")
        op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK ({check})")
        op.execute(
            f"CREATE POLICY tenant_update ON {table} FOR UPDATE"
            f" USING ({check}) WITH CHECK ({check})"
        )
        op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING ({check})")


READ_SCOPE_FUNCTION = "anjian_read_scope"


def create_read_scope_function(op) -> None:
    """PostgreSQL: ``anjian_read_scope(tenant, user)``, which the guard calls in the
    statement that reads the token, its user and the URL's tenant (one round trip for
    the whole guard). In this order, which a function keeps and a statement's columns
    would not: it gives the transaction the read-only scope of that tenant naming that
    user (``scope._settings``; an empty scope when the tenant is NULL), then reads the
    user's memberships under it, RLS applying (SECURITY INVOKER: the caller's rights).
    Returns {"settings": [...as set], "memberships": [{tenant_id, role, enterprise_id}]}."""
    if not _is_postgres(op):
        return
    op.execute(f"""
CREATE OR REPLACE FUNCTION {READ_SCOPE_FUNCTION}(p_tenant integer, p_user integer)
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
END $$""")
    # PUBLIC may execute a new function by default; a hardened server may not.
    op.execute(f"GRANT EXECUTE ON FUNCTION {READ_SCOPE_FUNCTION}(integer, integer) "
               f"TO {app_role()}")


def drop_read_scope_function(op) -> None:
    if _is_postgres(op):
        op.execute(f"DROP FUNCTION IF EXISTS {READ_SCOPE_FUNCTION}(integer, integer)")


def make_append_only(op, table: str) -> None:
    """SQLite: triggers refuse UPDATE and DELETE. PostgreSQL: the grants do (see below)."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def grant_app_role(op) -> None:
    """Create the app role if missing (NOLOGIN; operators give it LOGIN) and grant its rights."""
    if not _is_postgres(op):
        return
    role = app_role()
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
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
