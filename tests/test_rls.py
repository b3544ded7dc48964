"""PostgreSQL Row-Level Security, checked below the ORM (RELIABILITY 1-4, 24).

The catalogue is read as the superuser; everything else runs as the app's own
unprivileged role with raw SQL, so nothing but the database stands between a
caller and another tenant's rows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import APP_ROLE

SET_SCOPE = (
    "SELECT set_config('app.tenant_ids', :ids, true), set_config('app.tenant_id', :write, true),"
    " set_config('app.user_id', :user, true), set_config('app.platform', :platform, true)"
)


@pytest.fixture
def world(app, factory):
    a = factory.tenant("rls-a")
    b = factory.tenant("rls-b")
    areas = {
        a: {factory.area(a, "a1"), factory.area(a, "a2")},
        b: {factory.area(b, "b1"), factory.area(b, "b2"), factory.area(b, "b3")},
    }
    user_a, _ = factory.user("rls-ua", {a: "tenant_admin", b: "viewer"})
    user_b, _ = factory.user("rls-ub", {b: "tenant_admin"})
    return {"a": a, "b": b, "areas": areas, "user_a": user_a, "user_b": user_b}


@pytest.fixture
def app_engine(database, app):
    """The app's own role, one pooled connection for everything."""
    engine = create_engine(database.app_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def admin_engine(database):
    engine = create_engine(database.admin_url)
    yield engine
    engine.dispose()


def set_scope(conn, ids=(), write=None, user=None, platform=False):
    conn.execute(text(SET_SCOPE), {
        "ids": ",".join(str(i) for i in ids), "write": str(write) if write else "",
        "user": str(user) if user else "", "platform": "on" if platform else "",
    })


def area_rows(conn):
    return conn.execute(text("SELECT id, tenant_id FROM areas")).all()


def insert_area(conn, tenant_id, code):
    conn.execute(text(
        "INSERT INTO areas (tenant_id, code, name, kind, is_active, created_at, updated_at)"
        " VALUES (:t, :c, :c, 'sector', true, now(), now())"), {"t": tenant_id, "c": code})


# --- the catalogue ------------------------------------------------------------

def unprotected_tenant_tables(conn) -> dict[str, str]:
    """Every public table with a tenant_id column that lacks RLS, FORCE or a policy per command."""
    rows = conn.execute(text(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
        "       coalesce(array_agg(p.polcmd::text) FILTER (WHERE p.polname IS NOT NULL), '{}')"
        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        "  LEFT JOIN pg_policy p ON p.polrelid = c.oid"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        "   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
        "               AND a.attname = 'tenant_id' AND NOT a.attisdropped)"
        " GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity")).all()
    problems = {}
    for name, rls, force, commands in rows:
        commands = set(commands)
        covered = {"r", "a", "w", "d"} if "*" in commands else commands
        if not rls:
            problems[name] = "ROW LEVEL SECURITY not enabled"
        elif not force:
            problems[name] = "ROW LEVEL SECURITY not forced"
        elif not commands:
            problems[name] = "no policy"
        elif covered != {"r", "a", "w", "d"}:
            problems[name] = f"policies cover only {sorted(covered)}"
    return problems


def test_app_role_is_unprivileged_and_owns_nothing(admin_engine):
    with admin_engine.connect() as conn:
        role = conn.execute(text(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname = :r"), {"r": APP_ROLE}).one()
        assert tuple(role) == (False, False, False, False)
        owned = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE r.rolname = :r"), {"r": APP_ROLE}).scalars().all()
        assert owned == []
        # It is no member of a role that could lend it such rights.
        member_of = conn.execute(text(
            "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member"
            " JOIN pg_roles b ON b.oid = m.roleid WHERE r.rolname = :r"),
            {"r": APP_ROLE}).scalars().all()
        assert member_of == []


def test_every_tenant_table_forces_rls_with_policies(admin_engine):
    with admin_engine.connect() as conn:
        tenant_tables = conn.execute(text(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = 'tenant_id'")).scalars().all()
        assert {"areas", "memberships", "audit_log"} <= set(tenant_tables)
        assert unprotected_tenant_tables(conn) == {}


def test_catalogue_check_catches_a_forgotten_table(admin_engine):
    """The check above can fail: a new tenant table without RLS, or without FORCE, is named."""
    with admin_engine.connect() as conn:
        conn.execute(text("CREATE TABLE forgotten (id int, tenant_id int)"))
        conn.execute(text("CREATE TABLE unforced (id int, tenant_id int)"))
        conn.execute(text("ALTER TABLE unforced ENABLE ROW LEVEL SECURITY"))
        conn.execute(text("CREATE POLICY p ON unforced USING (true)"))
        conn.execute(text("CREATE TABLE select_only (id int, tenant_id int)"))
        conn.execute(text("ALTER TABLE select_only ENABLE ROW LEVEL SECURITY"))
        conn.execute(text("ALTER TABLE select_only FORCE ROW LEVEL SECURITY"))
        conn.execute(text("CREATE POLICY p ON select_only FOR SELECT USING (true)"))
        problems = unprotected_tenant_tables(conn)
        conn.rollback()
    assert problems["forgotten"] == "ROW LEVEL SECURITY not enabled"
    assert problems["unforced"] == "ROW LEVEL SECURITY not forced"
    assert problems["select_only"].startswith("policies cover only")
    assert set(problems) == {"forgotten", "unforced", "select_only"}


# --- what the app's role sees and may write -------------------------------------

def test_tenant_a_sees_only_its_rows_without_any_where(app_engine, world):
    a, b = world["a"], world["b"]
    with app_engine.begin() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == APP_ROLE
        set_scope(conn, [a], a)
        rows = area_rows(conn)
        assert {r.id for r in rows} == world["areas"][a]
        assert {r.tenant_id for r in rows} == {a}
        assert conn.execute(text("SELECT count(*) FROM areas WHERE tenant_id = :b"),
                            {"b": b}).scalar() == 0
        # Even asking for B's ids by primary key finds nothing.
        assert conn.execute(text("SELECT count(*) FROM areas WHERE id = ANY(:ids)"),
                            {"ids": list(world["areas"][b])}).scalar() == 0


def test_insert_with_foreign_tenant_is_refused(app_engine, world):
    a, b = world["a"], world["b"]
    with app_engine.connect() as conn:
        with conn.begin():
            set_scope(conn, [a], a)
            insert_area(conn, a, "a-new")  # own tenant: fine
        with pytest.raises(DBAPIError, match="row-level security"):
            with conn.begin():
                set_scope(conn, [a], a)
                insert_area(conn, b, "smuggled")


def test_moving_a_row_to_another_tenant_is_refused(app_engine, world):
    a, b = world["a"], world["b"]
    area = min(world["areas"][a])
    with app_engine.connect() as conn:
        with pytest.raises(DBAPIError, match="row-level security"):
            with conn.begin():
                set_scope(conn, [a], a)
                conn.execute(text("UPDATE areas SET tenant_id = :b WHERE id = :id"),
                             {"b": b, "id": area})
    with app_engine.begin() as conn:
        set_scope(conn, [a], a)
        assert conn.execute(text("SELECT tenant_id FROM areas WHERE id = :id"),
                            {"id": area}).scalar() == a


def test_foreign_rows_cannot_be_updated_or_deleted(app_engine, world, admin_engine):
    a, b = world["a"], world["b"]
    with app_engine.begin() as conn:
        set_scope(conn, [a], a)
        assert conn.execute(text("UPDATE areas SET name = 'x' WHERE tenant_id = :b"),
                            {"b": b}).rowcount == 0
        assert conn.execute(text("DELETE FROM areas WHERE tenant_id = :b"),
                            {"b": b}).rowcount == 0
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM areas WHERE tenant_id = :b AND name <> 'x'"),
                            {"b": b}).scalar() == 3


def test_read_only_scope_writes_nothing(app_engine, world, admin_engine):
    """A parent's viewer reads the child's rows but may neither change nor delete them."""
    a = world["a"]
    with app_engine.begin() as conn:
        set_scope(conn, [a], None)
        assert len(area_rows(conn)) == 2
        assert conn.execute(text("UPDATE areas SET name = 'x'")).rowcount == 0
        assert conn.execute(text("DELETE FROM areas")).rowcount == 0
    with pytest.raises(DBAPIError, match="row-level security"):
        with app_engine.begin() as conn:
            set_scope(conn, [a], None)
            insert_area(conn, a, "ro-new")
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM areas WHERE tenant_id = :a"
                                 " AND name <> 'x'"), {"a": a}).scalar() == 2


def test_no_tenant_context_sees_nothing_and_inserts_nothing(app_engine, world):
    a = world["a"]
    with app_engine.begin() as conn:
        assert area_rows(conn) == []  # nothing set at all
        assert conn.execute(text("SELECT count(*) FROM memberships")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
    with app_engine.begin() as conn:
        set_scope(conn)  # set, but empty
        assert area_rows(conn) == []
    with pytest.raises(DBAPIError, match="row-level security"):
        with app_engine.begin() as conn:
            insert_area(conn, a, "nobody")


def test_memberships_show_own_rows_elsewhere_but_not_other_users(app_engine, world):
    a, b = world["a"], world["b"]
    with app_engine.begin() as conn:
        set_scope(conn, [a], a, user=world["user_a"])
        rows = conn.execute(text("SELECT tenant_id, user_id FROM memberships")).all()
    assert {(r.tenant_id, r.user_id) for r in rows} == {(a, world["user_a"]), (b, world["user_a"])}
    # ...and the own membership elsewhere is read-only here.
    with app_engine.begin() as conn:
        set_scope(conn, [a], a, user=world["user_a"])
        assert conn.execute(text("UPDATE memberships SET role = 'tenant_admin'"
                                 " WHERE tenant_id = :b"), {"b": b}).rowcount == 0


def test_setting_is_transaction_local_on_one_pooled_connection(app_engine, world):
    a, b = world["a"], world["b"]
    own = world["areas"]
    pids = set()
    for i, (tenant, other) in enumerate([(a, b), (b, a)] * 3):
        with app_engine.connect() as conn:
            pids.add(conn.execute(text("SELECT pg_backend_pid()")).scalar())
            conn.rollback()
            if i % 2:
                # A request that fails mid-transaction after setting its tenant.
                with pytest.raises(DBAPIError):
                    with conn.begin():
                        set_scope(conn, [tenant], tenant)
                        assert {r.id for r in area_rows(conn)} == own[tenant]
                        insert_area(conn, other, f"bad{i}")
            with conn.begin():
                # Nothing set in this transaction: the previous one's setting is gone.
                assert conn.execute(text(
                    "SELECT current_setting('app.tenant_ids', true)")).scalar() in ("", None)
                assert area_rows(conn) == []
            with conn.begin():
                set_scope(conn, [tenant], tenant)
                rows = area_rows(conn)
                assert {r.id for r in rows} == own[tenant]
                assert {r.tenant_id for r in rows} == {tenant}
    assert len(pids) == 1, "the test must reuse one pooled connection"


def test_orm_sessions_alternating_on_one_connection(app, app_engine, world):
    """The app's own mechanism (after_begin) on one pooled connection, raw SQL marked scoped."""
    from anjian.tenancy.models import Area  # noqa: F401  (models registered)
    from anjian.tenancy.scope import Scope, scoped

    a, b = world["a"], world["b"]
    raw = {"execution_options": {"tenant_scoped_sql": True}}
    for i, tenant in enumerate([a, b, a, b, a]):
        with Session(app_engine) as session:
            with scoped(session, Scope.tenant(tenant)):
                ids = {r[0] for r in session.execute(text("SELECT id FROM areas"), **raw)}
                assert ids == world["areas"][tenant]
                if i == 2:
                    with pytest.raises(DBAPIError):
                        session.execute(text("SELECT 1/0"), **raw)
                    session.rollback()
        with Session(app_engine) as session:  # no scope at all
            assert session.execute(text("SELECT id FROM areas"), **raw).all() == []


# --- the guard's first statement scopes its own transaction --------------------

def _settings_now(session):
    from anjian.tenancy.scope import SETTINGS

    row = session.execute(text("SELECT " + ", ".join(
        f"current_setting('{name}', true)" for name in SETTINGS)),
        execution_options={"tenant_scoped_sql": True}).one()
    return tuple(value or "" for value in row)


def _area_ids(session) -> set[int]:
    """The areas the session's transaction sees, by SQL that only RLS scopes."""
    return set(session.execute(text("SELECT id FROM areas"),
                               execution_options={"tenant_scoped_sql": True}).scalars())


def test_token_statement_gives_the_read_scope_in_the_same_round_trip(app, world, factory):
    """The token, its user and the URL's tenant are read in one statement, which also
    scopes the transaction and reads the user's memberships under that scope
    (``anjian_read_scope``): the whole guard is one statement. PostgreSQL holds exactly
    the scope the session records; the memberships are the user's own, in every tenant,
    and nobody else's."""
    from anjian.auth.service import tenant_access, user_from_token
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, get_scope
    from tests.conftest import sql_statements

    a, b = world["a"], world["b"]
    _, secret = factory.user("rls-uc", {b: "viewer", a: "supervisor"})
    with app.test_request_context():
        with sql_statements(db.engine) as seen:
            user, tenant, memberships = user_from_token(secret, "rls-b")
            access = tenant_access(user, tenant, memberships)
        assert len(seen) == 1 and "anjian_read_scope" in seen[0] and "api_tokens" in seen[0]
        assert tenant.id == b and user.username == "rls-uc"
        assert sorted(memberships) == sorted([(a, "supervisor", None, None), (b, "viewer", None, None)])
        assert (access.role, access.via) == ("viewer", "member")
        assert get_scope(db.session) == Scope.tenant(b, user.id, write=False)
        assert _settings_now(db.session) == (str(b), "", str(user.id), "")
        # Read again the ORM's way (tenant_access reading them itself): the same memberships, the same access.
        assert tenant_access(user, tenant) == access
        assert _area_ids(db.session) == world["areas"][b]


def test_read_scope_function_runs_with_the_callers_rights(admin_engine, app_engine, world):
    """SECURITY INVOKER: RLS applies inside, and what it reads is the named user's own
    memberships under the scope it has just set, nothing it set before or after."""
    with admin_engine.connect() as conn:
        definer = conn.execute(text(
            "SELECT prosecdef FROM pg_proc WHERE proname = 'anjian_read_scope'")).scalar()
    assert definer is False
    with app_engine.begin() as conn:
        out = conn.execute(text("SELECT anjian_read_scope(:t, :u)"),
                           {"t": world["a"], "u": world["user_b"]}).scalar()
        assert out == {"settings": [str(world["a"]), "", str(world["user_b"]), ""],
                       "memberships": [{"tenant_id": world["b"], "role": "tenant_admin",
                                        "enterprise_id": None, "area_id": None}]}
        assert {r.tenant_id for r in area_rows(conn)} == {world["a"]}
    with app_engine.begin() as conn:
        out = conn.execute(text("SELECT anjian_read_scope(NULL, :u)"),
                           {"u": world["user_b"]}).scalar()
        assert out == {"settings": ["", "", "", ""], "memberships": []}
        assert area_rows(conn) == []


def test_unknown_tenant_or_refused_token_leaves_no_scope(app, world, factory, admin_engine):
    from anjian.auth.service import AuthError, user_from_token
    from anjian.extensions import db
    from anjian.tenancy.scope import get_scope

    _, secret = factory.user("rls-ud", {world["a"]: "tenant_admin"})
    with app.test_request_context():
        _user, tenant, memberships = user_from_token(secret, "no-such-tenant")
        assert memberships == []
        assert tenant is None and get_scope(db.session) is None
        assert _settings_now(db.session) == ("", "", "", "")
        db.session.rollback()
    with admin_engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET revoked_at = now()"))
    with app.test_request_context():
        with pytest.raises(AuthError) as refused:
            user_from_token(secret, "rls-a")
        assert refused.value.code == "revoked_token"
        # The statement had named the tenant and the user; its transaction is gone.
        assert not db.session().in_transaction() and get_scope(db.session) is None
        assert _settings_now(db.session) == ("", "", "", "")
        assert _area_ids(db.session) == set()


def test_adopt_refuses_settings_that_are_not_the_scope(app, world):
    from sqlalchemy import func, select

    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, TenantScopeError, adopt, get_scope

    a, b = world["a"], world["b"]
    user = world["user_a"]
    with app.test_request_context():
        applied = db.session.execute(select(func.anjian_read_scope(a, user))).scalar()["settings"]
        for wrong in (Scope.tenant(b, user, write=False), Scope.tenant(a, user),
                      Scope.tenant(a, None, write=False), None):
            with pytest.raises(TenantScopeError):
                adopt(db.session, wrong, applied)
            assert get_scope(db.session) is None
        with pytest.raises(TenantScopeError):  # PostgreSQL and no values at all
            adopt(db.session, Scope.tenant(a, user, write=False), None)
        adopt(db.session, Scope.tenant(a, user, write=False), applied)
        assert _settings_now(db.session) == (str(a), "", str(user), "")
        assert _area_ids(db.session) == world["areas"][a]


# --- the audit log is append-only for the app ------------------------------------

def test_app_role_may_only_append_to_the_audit_log(app_engine, world, admin_engine):
    a = world["a"]
    insert = text(
        "INSERT INTO audit_log (tenant_id, at, action, entity_type, result)"
        " VALUES (:t, now(), 'test.append', 'test', 'ok')")
    with app_engine.begin() as conn:
        set_scope(conn, [a], a)
        conn.execute(insert, {"t": a})
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log",
                      "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="permission denied"):
            with app_engine.begin() as conn:
                set_scope(conn, [a], a, platform=True)
                conn.execute(text(statement))
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'test.append'"
                                 " AND tenant_id = :a"), {"a": a}).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'forged'")
                            ).scalar() == 0


def _app_on_pool(app, size: int):
    """Another app on the test's database, with a pool of ``size`` connections (so that
    its requests reuse them)."""
    from anjian.app import create_app

    return create_app({
        "TESTING": True, "ANJIAN_REDIS_URL": "",
        **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "ANJIAN_DATA_DIR",
                                      "ANJIAN_STORAGE_URL", "ANJIAN_TENANTS_DIR")},
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": size, "max_overflow": 0},
    })


def test_requests_alternating_tenants_on_one_pooled_connection(app, world, factory,
                                                              admin_engine):
    """RELIABILITY 4 through the whole stack: the guard's one statement scopes each
    request's transaction; requests of two tenants, a refused token, a denied tenant and
    writes that fail in the database and writes that commit, one after another on the
    same pooled connections
    (two: a denial is audited on a connection of its own, so that the request's rollback
    keeps it), each see only their own tenant's rows."""
    from sqlalchemy import event

    from anjian.extensions import db
    from tests.conftest import bearer

    a, b = world["a"], world["b"]
    _, ua = factory.user("rls-pa", {a: "tenant_admin", b: "viewer"})
    _, ub = factory.user("rls-pb", {b: "tenant_admin"})
    _, gone = factory.user("rls-pg", {a: "tenant_admin"})
    with admin_engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET revoked_at = now() FROM users"
                          " WHERE users.id = api_tokens.user_id AND users.username = 'rls-pg'"))
    one = _app_on_pool(app, 2)
    pids = []
    with one.app_context():
        event.listen(db.engine, "checkout",
                     lambda dbapi, record, proxy: pids.append(dbapi.info.backend_pid))
    client = one.test_client()

    def areas(token, tenant_code):
        r = client.get(f"/api/v1/tenants/{tenant_code}/areas", headers=bearer(token))
        return r.status_code, {item["id"] for item in r.json["items"]} if r.status_code == 200 \
            else None

    own = {tenant: set(ids) for tenant, ids in world["areas"].items()}
    for n in range(2):
        assert areas(ua, "rls-a") == (200, own[a])
        assert areas(ub, "rls-a") == (404, None)
        assert areas(gone, "rls-a") == (401, None)
        assert areas(ub, "rls-b") == (200, own[b])
        duplicate = client.post("/api/v1/tenants/rls-b/areas", headers=bearer(ub),
                                json={"code": "b1", "name": "重复", "kind": "sector"})
        assert duplicate.status_code in (409, 422), duplicate.json
        added = client.post("/api/v1/tenants/rls-b/areas", headers=bearer(ub),
                            json={"code": f"b-new{n}", "name": "新区域", "kind": "sector"})
        assert added.status_code == 201, added.json  # a transaction that commits
        own[b].add(added.json["id"])
        assert areas(ua, "rls-b") == (200, own[b])
        assert areas(ua, "rls-a") == (200, own[a])
        added = client.post("/api/v1/tenants/rls-a/areas", headers=bearer(ua),
                            json={"code": f"a-new{n}", "name": "新区域", "kind": "sector"})
        assert added.status_code == 201, added.json
        own[a].add(added.json["id"])
    assert len(pids) >= 12 and len(set(pids)) <= 2, "the test must reuse its connections"
    with one.app_context():
        # Nothing a request set outlives its transaction on either pooled connection.
        with db.engine.connect() as first, db.engine.connect() as second:
            for conn in (first, second):
                assert conn.execute(text(
                    "SELECT current_setting('app.tenant_ids', true),"
                    " current_setting('app.user_id', true)")).one() in (("", ""), (None, None))
                assert area_rows(conn) == []
        db.engine.dispose()


def test_a_read_runs_read_only_in_postgresql_and_ends_with_commit(app, world, factory,
                                                                  admin_engine):
    """An authenticated GET runs in a READ ONLY transaction, which it ends with COMMIT:
    PostgreSQL itself refuses a write in it, to any table, even one a view sends past
    the ORM; committing writes nothing; and psycopg keeps its prepared statements (a
    ROLLBACK makes it forget them all, and PostgreSQL plan every statement anew).
    A write request's transaction is not read-only, and one that fails rolls back."""
    from flask import g
    from sqlalchemy import event

    from anjian.api.policy import requires
    from anjian.extensions import db
    from tests.conftest import bearer

    a, b = world["a"], world["b"]
    user_id, token = factory.user("rls-ro", {a: "tenant_admin", b: "viewer"})
    one = _app_on_pool(app, 1)

    @requires("tenant_admin")
    def rename_on_a_read(tenant_code):
        db.session.execute(text("UPDATE users SET display_name = 'renamed' WHERE id = :id"),
                           {"id": g.user.id}, execution_options={"tenant_scoped_sql": True})
        return {}

    one.add_url_rule("/api/v1/tenants/<tenant_code>/test-rename", view_func=rename_on_a_read)
    ends, read_only, prepared = [], [], []
    with one.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def plans_shared_by_tenants(dbapi, record):  # however few runs, whatever the costs
        dbapi.execute("SET plan_cache_mode = force_generic_plan")
        dbapi.commit()

    event.listen(engine, "commit", lambda conn: ends.append("COMMIT"))
    event.listen(engine, "rollback", lambda conn: ends.append("ROLLBACK"))

    def look(conn, cursor, statement, parameters, context, executemany):
        dbapi = conn.connection.dbapi_connection
        read_only.append(dbapi.execute("SHOW transaction_read_only").fetchone()[0])
        prepared[:] = dbapi.execute("SELECT statement, generic_plans FROM pg_prepared_statements",
                                    prepare=False).fetchall()

    event.listen(engine, "after_cursor_execute", look)
    client = one.test_client()
    for n in range(16):
        del ends[:], read_only[:]
        tenant, code = (a, "rls-a") if n % 2 else (b, "rls-b")
        r = client.get(f"/api/v1/tenants/{code}/areas", headers=bearer(token))
        assert r.status_code == 200
        assert {i["id"] for i in r.json["items"]} == world["areas"][tenant]
        assert read_only == ["on", "on"] and ends == ["COMMIT"]
    # From the 5th run on the connection, the guard's and the page's statements are
    # prepared, and stay prepared from one request to the next: one plan serves both
    # tenants, and each still saw only its own rows.
    plans = {("anjian_read_scope" in s, "FROM areas" in s): n for s, n in prepared}
    assert plans.get((True, False), 0) >= 8 and plans.get((False, True), 0) >= 8, prepared

    del ends[:], read_only[:]
    with pytest.raises(DBAPIError, match="read-only transaction"):
        client.get("/api/v1/tenants/rls-a/test-rename", headers=bearer(token))
    assert ends == ["ROLLBACK"]
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT display_name FROM users WHERE id = :id"),
                            {"id": user_id}).scalar() != "renamed"

    del ends[:], read_only[:]
    added = client.post("/api/v1/tenants/rls-a/areas", headers=bearer(token),
                        json={"code": "a-ro", "name": "新区域", "kind": "sector"})
    assert added.status_code == 201, added.json
    assert set(read_only) == {"off"} and ends[0] == "COMMIT"
    del ends[:], read_only[:]
    duplicate = client.post("/api/v1/tenants/rls-a/areas", headers=bearer(token),
                            json={"code": "a-ro", "name": "重复", "kind": "sector"})
    assert duplicate.status_code in (409, 422) and ends[-1] == "ROLLBACK"
    event.remove(engine, "after_cursor_execute", look)
    with one.app_context():
        db.engine.dispose()
