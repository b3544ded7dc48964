"""The audit log (RELIABILITY 24): one row per changed entity in the same transaction,
secrets redacted, append-only at every layer, readable and filterable, denials too."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import bearer

PASSWORD = "correct-horse-battery"


@pytest.fixture
def tenant_a(factory):
    tid = factory.tenant("ta")
    uid, token = factory.user("admin", {tid: "tenant_admin"})
    return {"id": tid, "admin_id": uid, "token": token}


def _audit(client, token, code="ta", **query):
    r = client.get(f"/api/v1/tenants/{code}/audit", query_string={"per_page": 200, **query},
                   headers=bearer(token))
    assert r.status_code == 200, r.json
    return r.json["items"]


def _platform_audit(client, token, **query):
    r = client.get("/api/v1/audit", query_string={"per_page": 200, **query}, headers=bearer(token))
    assert r.status_code == 200, r.json
    return r.json["items"]


def _all_rows(app):
    """Every audit row, read in the platform-and-all-tenants scope (test helper)."""
    from anjian.audit.models import AuditEntry
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context():
        with scoped(db.session, Scope.platform_scope()):
            ids = frozenset(db.session.scalars(select(Tenant.id)))
        with scoped(db.session, Scope(ids, None, None, platform=True)):
            rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
            out = [{c.key: getattr(r, c.key) for c in AuditEntry.__table__.columns} for r in rows]
        db.session.rollback()
        return out


# --- one row per write ---------------------------------------------------------------

def test_area_create_writes_exactly_one_row(app, client, tenant_a):
    before = len(_all_rows(app))
    r = client.post("/api/v1/tenants/ta/areas",
                    json={"code": "s1", "name": "板块一", "kind": "sector"},
                    headers=bearer(tenant_a["token"]))
    assert r.status_code == 201
    rows = _all_rows(app)
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["action"] == "area.create"
    assert row["entity_type"] == "area"
    assert row["entity_id"] == str(r.json["id"])
    assert row["tenant_id"] == tenant_a["id"]
    assert row["actor_user_id"] == tenant_a["admin_id"]
    assert row["request_id"] == r.headers["X-Request-ID"]
    assert row["result"] == "ok"
    assert row["before"] is None
    assert row["after"]["code"] == "s1" and row["after"]["name"] == "板块一"
    assert row["after"]["tenant_id"] == tenant_a["id"]
    assert isinstance(row["at"], dt.datetime)
    assert abs(row["at"] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_area_update_records_only_changed_fields(app, client, factory, tenant_a):
    area = factory.area(tenant_a["id"], "s1", name="旧名")
    headers = bearer(tenant_a["token"])
    etag = client.get(f"/api/v1/tenants/ta/areas/{area}", headers=headers).headers["ETag"]
    before = len(_all_rows(app))
    r = client.patch(f"/api/v1/tenants/ta/areas/{area}",
                     json={"name": "新名", "kind": "sector"},  # kind unchanged
                     headers={**headers, "If-Match": etag, "X-Request-ID": "req-update-1"})
    assert r.status_code == 200, r.json
    rows = _all_rows(app)[before:]
    assert len(rows) == 1
    row = rows[0]
    assert row["action"] == "area.update" and row["entity_id"] == str(area)
    assert row["request_id"] == "req-update-1" == r.headers["X-Request-ID"]
    changed = set(row["after"]) - {"updated_at"}
    assert changed == {"name"}
    assert row["before"]["name"] == "旧名" and row["after"]["name"] == "新名"
    assert "kind" not in row["before"] and "code" not in row["after"]


def test_area_patch_without_change_writes_nothing(app, client, factory, tenant_a):
    area = factory.area(tenant_a["id"], "s1", name="同名")
    headers = bearer(tenant_a["token"])
    etag = client.get(f"/api/v1/tenants/ta/areas/{area}", headers=headers).headers["ETag"]
    before = len(_all_rows(app))
    r = client.patch(f"/api/v1/tenants/ta/areas/{area}", json={"name": "同名"},
                     headers={**headers, "If-Match": etag})
    assert r.status_code == 200
    assert len(_all_rows(app)) == before


def test_member_add_and_remove_are_audited(app, client, factory, tenant_a):
    headers = bearer(tenant_a["token"])
    bob, _ = factory.user("bob")
    _, root = factory.user("root", platform_admin=True)  # only it adds an existing account
    before = len(_all_rows(app))
    r = client.post("/api/v1/tenants/ta/members", json={"username": "bob", "role": "viewer"},
                    headers=bearer(root))
    assert r.status_code == 201
    rows = _all_rows(app)[before:]
    assert [x["action"] for x in rows] == ["membership.create"]
    assert rows[0]["tenant_id"] == tenant_a["id"]
    assert rows[0]["after"]["user_id"] == bob and rows[0]["after"]["role"] == "viewer"
    assert rows[0]["request_id"] == r.headers["X-Request-ID"]
    member_id = r.json["id"]

    before = len(_all_rows(app))
    r = client.delete(f"/api/v1/tenants/ta/members/{member_id}", headers=headers)
    assert r.status_code == 204
    rows = _all_rows(app)[before:]
    assert len(rows) == 1
    assert rows[0]["action"] == "membership.delete"
    assert rows[0]["entity_id"] == str(member_id)
    assert rows[0]["before"]["role"] == "viewer" and rows[0]["after"] is None
    assert rows[0]["actor_user_id"] == tenant_a["admin_id"]
    assert rows[0]["request_id"] == r.headers["X-Request-ID"]


def test_member_add_with_new_user_audits_both_entities(app, client, tenant_a):
    before = len(_all_rows(app))
    r = client.post("/api/v1/tenants/ta/members",
                    json={"username": "ta-carol", "role": "supervisor", "password": PASSWORD},
                    headers=bearer(tenant_a["token"]))
    assert r.status_code == 201
    rows = _all_rows(app)[before:]
    assert sorted(x["action"] for x in rows) == ["membership.create", "user.create"]
    user_row = next(x for x in rows if x["action"] == "user.create")
    assert user_row["after"]["password_hash"] == "***"
    assert user_row["tenant_id"] is None
    assert {x["request_id"] for x in rows} == {r.headers["X-Request-ID"]}


def test_tenant_create_by_platform_admin_is_audited(app, client, factory):
    root_id, root = factory.user("root", platform_admin=True)
    r = client.post("/api/v1/tenants", json={"code": "tn", "name": "新区", "level": "district"},
                    headers=bearer(root))
    assert r.status_code == 201, r.json
    rows = _platform_audit(client, root, action="tenant.")
    assert len(rows) == 1
    row = rows[0]
    assert row["action"] == "tenant.create" and row["entity_id"] == str(r.json["id"])
    assert row["actor_user_id"] == root_id
    assert row["request_id"] == r.headers["X-Request-ID"]
    assert row["after"]["code"] == "tn"


def test_secrets_are_redacted(client, factory):
    _, root = factory.user("root", platform_admin=True)
    r = client.post("/api/v1/users", json={"username": "u1", "password": PASSWORD},
                    headers=bearer(root))
    uid = r.json["id"]
    client.patch(f"/api/v1/users/{uid}", json={"password": "another-password"},
                 headers=bearer(root))
    issued = client.post("/api/v1/me/tokens", json={"name": "x"}, headers=bearer(root)).json
    rows = _platform_audit(client, root)
    created = next(x for x in rows if x["action"] == "user.create" and x["entity_id"] == str(uid))
    assert created["after"]["password_hash"] == "***"
    changed = next(x for x in rows if x["action"] == "user.update" and x["entity_id"] == str(uid))
    assert changed["before"] == {"password_hash": "***"}
    assert changed["after"] == {"password_hash": "***"}
    token_row = next(x for x in rows if x["action"] == "apitoken.create"
                     and x["entity_id"] == str(issued["id"]))
    assert token_row["after"]["token_hash"] == "***"
    text_of_log = str(rows)
    assert PASSWORD not in text_of_log and "another-password" not in text_of_log
    assert issued["token"] not in text_of_log and "scrypt:" not in text_of_log
    from anjian.auth.service import token_digest

    assert token_digest(issued["token"]) not in text_of_log


def test_token_revocation_is_audited(client, factory):
    _root_id, root = factory.user("root", platform_admin=True)
    issued = client.post("/api/v1/me/tokens", json={"name": "x"}, headers=bearer(root)).json
    r = client.delete(f"/api/v1/me/tokens/{issued['id']}", headers=bearer(root))
    assert r.status_code == 204
    rows = _platform_audit(client, root, action="apitoken.update")
    assert len(rows) == 1
    assert set(rows[0]["after"]) == {"revoked_at"} and rows[0]["before"] == {"revoked_at": None}
    assert rows[0]["request_id"] == r.headers["X-Request-ID"]


# --- same transaction -------------------------------------------------------------------

def test_a_write_rolled_back_after_flush_leaves_no_audit_row(app, tenant_a):
    from anjian.extensions import db
    from anjian.tenancy.models import Area
    from anjian.tenancy.scope import Scope, scoped

    before = _all_rows(app)
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_a["id"], tenant_a["admin_id"])):
        db.session.add(Area(code="dup", name="一", kind="sector"))
        db.session.flush()  # the area and its audit row are written now ...
        db.session.add(Area(code="dup", name="二", kind="sector"))
        with pytest.raises(IntegrityError):
            db.session.flush()  # ... and this fails, so the whole transaction goes
        db.session.rollback()
    assert _all_rows(app) == before

    # The same unit of work, committed, leaves exactly one row: the audit row was in it.
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_a["id"], tenant_a["admin_id"])):
        db.session.add(Area(code="dup", name="一", kind="sector"))
        db.session.flush()
        db.session.commit()
    rows = _all_rows(app)
    assert len(rows) == len(before) + 1 and rows[-1]["action"] == "area.create"


def test_a_failed_api_write_leaves_no_audit_row(app, client, factory, tenant_a, monkeypatch):
    """A request that flushed its change, then failed before commit: no row, no change."""
    from anjian.extensions import db

    area = factory.area(tenant_a["id"], "s1", name="原名")
    headers = bearer(tenant_a["token"])
    etag = client.get(f"/api/v1/tenants/ta/areas/{area}", headers=headers).headers["ETag"]
    before = _all_rows(app)

    def failing_commit():
        db.session.flush()
        raise RuntimeError("disk full after flush")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.patch(f"/api/v1/tenants/ta/areas/{area}", json={"name": "新名"},
                     headers={**headers, "If-Match": etag})
    assert r.status_code == 500
    monkeypatch.undo()
    assert _all_rows(app) == before
    assert client.get(f"/api/v1/tenants/ta/areas/{area}", headers=headers).json["name"] == "原名"


# --- append-only ---------------------------------------------------------------------------

def _one_entry(app, tenant_id):
    from anjian.audit.models import AuditEntry
    from anjian.extensions import db

    return db.session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)).first()


def test_orm_update_or_delete_of_an_entry_raises(app, factory, tenant_a):
    from anjian.audit.service import AuditError
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    factory.area(tenant_a["id"], "s1")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_a["id"])):
        entry = _one_entry(app, tenant_a["id"])
        assert entry is not None
        entry.action = "forged"
        with pytest.raises(AuditError):
            db.session.flush()
        db.session.rollback()
        entry = _one_entry(app, tenant_a["id"])
        db.session.delete(entry)
        with pytest.raises(AuditError):
            db.session.flush()
        db.session.rollback()
    assert [r["action"] for r in _all_rows(app) if r["tenant_id"] == tenant_a["id"]][-1] \
        == "area.create"


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_bulk_update_or_delete_through_the_session_raises(app, factory, tenant_a, statement):
    from anjian.audit.models import AuditEntry
    from anjian.audit.service import AuditError
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    factory.area(tenant_a["id"], "s1")
    before = _all_rows(app)
    stmt = (update(AuditEntry).values(action="forged") if statement == "update"
            else delete(AuditEntry))
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_a["id"])):
        with pytest.raises(AuditError):
            db.session.execute(stmt)
        db.session.rollback()
    assert _all_rows(app) == before


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"])
def test_raw_sql_cannot_change_the_log(app, factory, tenant_a, sql):
    """Below the ORM: the app role's missing grants refuse it."""
    from anjian.extensions import db

    factory.area(tenant_a["id"], "s1")
    before = _all_rows(app)
    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql(  # a scope that could see the rows
                "SELECT set_config('app.tenant_ids', %s, true),"
                " set_config('app.tenant_id', %s, true), set_config('app.platform', 'on', true)",
                (str(tenant_a["id"]), str(tenant_a["id"])),
            )
            with pytest.raises(DBAPIError) as info:
                conn.execute(text(sql))
            conn.rollback()
        message = str(info.value).lower()
        assert "append-only" in message or "permission denied" in message
    assert _all_rows(app) == before


def test_no_route_changes_the_audit_log(app):
    audit_rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule.split("/")]
    assert {r.rule for r in audit_rules} == {"/api/v1/audit", "/api/v1/tenants/<tenant_code>/audit"}
    for rule in audit_rules:
        assert rule.methods - {"GET", "HEAD", "OPTIONS"} == set(), rule


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_methods_on_audit_routes_are_405(client, factory, tenant_a, method):
    _, root = factory.user("root", platform_admin=True)
    for path, token in (("/api/v1/audit", root), ("/api/v1/tenants/ta/audit", tenant_a["token"])):
        r = getattr(client, method)(path, json={}, headers=bearer(token))
        assert r.status_code == 405 and r.mimetype == "application/problem+json"


# --- reading: filters, pages, tenant isolation ------------------------------------------------

def test_tenant_audit_filters_and_paginates(app, client, factory, tenant_a):
    headers = bearer(tenant_a["token"])
    bob_id, bob = factory.user("bob", {tenant_a["id"]: "tenant_admin"})
    _, viewer = factory.user("viewer", {tenant_a["id"]: "viewer"})
    for i in range(3):
        assert client.post("/api/v1/tenants/ta/areas",
                           json={"code": f"a{i}", "name": f"甲{i}", "kind": "sector"},
                           headers=headers).status_code == 201
    start = dt.datetime.now(dt.UTC)
    for i in range(2):
        assert client.post("/api/v1/tenants/ta/areas",
                           json={"code": f"b{i}", "name": f"乙{i}", "kind": "village"},
                           headers=bearer(bob)).status_code == 201
    assert client.get("/api/v1/tenants/ta/members", headers=bearer(viewer)).status_code == 403

    every = _audit(client, tenant_a["token"])
    ids = [x["id"] for x in every]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert len(_audit(client, tenant_a["token"], action="area.")) == 5
    assert len(_audit(client, tenant_a["token"], action="area.create")) == 5
    assert len(_audit(client, tenant_a["token"], action="membership.")) == 3  # admin, bob, viewer
    assert _audit(client, tenant_a["token"], action="area.delete") == []
    assert len(_audit(client, tenant_a["token"], entity_type="area")) == 5
    by_bob = _audit(client, tenant_a["token"], actor_user_id=bob_id)
    assert len(by_bob) == 2 and {x["after"]["code"] for x in by_bob} == {"b0", "b1"}
    denied = _audit(client, tenant_a["token"], result="denied")
    assert [x["action"] for x in denied] == ["denied.role"]
    assert all(x["result"] == "ok" for x in _audit(client, tenant_a["token"], result="ok"))
    since = _audit(client, tenant_a["token"], since=start.isoformat(), entity_type="area")
    assert {x["after"]["code"] for x in since} == {"b0", "b1"}
    until = _audit(client, tenant_a["token"], until=start.isoformat(), entity_type="area")
    assert {x["after"]["code"] for x in until} == {"a0", "a1", "a2"}
    # "%" and "_" in the prefix are literal, not wildcards.
    assert _audit(client, tenant_a["token"], action="%") == []
    assert _audit(client, tenant_a["token"], action="area_") == []

    r = client.get("/api/v1/tenants/ta/audit", query_string={"entity_type": "area", "per_page": 2,
                                                             "page": 3}, headers=headers)
    assert r.json["total"] == 5 and r.json["page"] == 3 and r.json["per_page"] == 2
    assert len(r.json["items"]) == 1
    pages = []
    for page in (1, 2, 3):
        pages += client.get("/api/v1/tenants/ta/audit",
                            query_string={"entity_type": "area", "per_page": 2, "page": page},
                            headers=headers).json["items"]
    assert [x["id"] for x in pages] == [x["id"] for x in _audit(client, tenant_a["token"], entity_type="area")]


@pytest.mark.parametrize("query", [{"result": "maybe"}, {"since": "2026-01-01T00:00:00"},
                                   {"actor_user_id": "x"}, {"per_page": 201}])
def test_bad_audit_filters_are_422(client, tenant_a, query):
    r = client.get("/api/v1/tenants/ta/audit", query_string=query, headers=bearer(tenant_a["token"]))
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["errors"]


def test_tenant_admins_see_only_their_tenants_rows(client, factory, tenant_a):
    b = factory.tenant("tb")
    _, admin_b = factory.user("admin-b", {b: "tenant_admin"})
    _, root = factory.user("root", platform_admin=True)
    client.post("/api/v1/tenants/tb/areas", json={"code": "x", "name": "乙", "kind": "sector"},
                headers=bearer(admin_b))
    client.post("/api/v1/tenants/ta/areas", json={"code": "y", "name": "甲", "kind": "sector"},
                headers=bearer(tenant_a["token"]))
    client.post("/api/v1/users", json={"username": "u9", "password": PASSWORD}, headers=bearer(root))
    rows_a = _audit(client, tenant_a["token"])
    assert rows_a and {x["tenant_id"] for x in rows_a} == {tenant_a["id"]}
    rows_b = _audit(client, admin_b, code="tb")
    assert rows_b and {x["tenant_id"] for x in rows_b} == {b}
    # Another tenant's log is as absent as a missing tenant.
    r = client.get("/api/v1/tenants/tb/audit", headers=bearer(tenant_a["token"]))
    assert r.status_code == 404
    # Platform rows (tenant_id NULL) only for platform admins.
    platform = _platform_audit(client, root)
    assert platform and all(x["tenant_id"] is None for x in platform)
    assert "user.create" in {x["action"] for x in platform}


def test_tenant_audit_is_for_tenant_admins_only(client, factory, tenant_a):
    for role in ("viewer", "supervisor", "enterprise", "service_org"):
        _, token = factory.user(f"u-{role}", {tenant_a["id"]: role})
        assert client.get("/api/v1/tenants/ta/audit", headers=bearer(token)).status_code == 403


# --- denials ---------------------------------------------------------------------------------

def test_denials_are_logged_as_denied(client, factory, tenant_a):
    b = factory.tenant("tb")
    area_b = factory.area(b, "secret")
    uid, viewer = factory.user("viewer", {tenant_a["id"]: "viewer"})
    _, root = factory.user("root", platform_admin=True)

    foreign_tenant = client.get("/api/v1/tenants/tb/areas", headers=bearer(viewer))
    assert foreign_tenant.status_code == 404
    role = client.post("/api/v1/tenants/ta/areas",
                       json={"code": "z", "name": "z", "kind": "sector"}, headers=bearer(viewer))
    assert role.status_code == 403
    foreign_id = client.get(f"/api/v1/tenants/ta/areas/{area_b}", headers=bearer(viewer))
    assert foreign_id.status_code == 404
    platform_route = client.get("/api/v1/users", headers=bearer(viewer))
    assert platform_route.status_code == 403

    tenant_rows = _audit(client, tenant_a["token"], result="denied")
    by_request = {x["request_id"]: x for x in tenant_rows}
    assert by_request[role.headers["X-Request-ID"]]["action"] == "denied.role"
    assert by_request[role.headers["X-Request-ID"]]["actor_user_id"] == uid
    missing = by_request[foreign_id.headers["X-Request-ID"]]
    assert missing["action"] == "denied.not_found" and missing["entity_id"] == str(area_b)
    assert missing["entity_type"] == "areas" and missing["tenant_id"] == tenant_a["id"]

    platform_rows = {x["request_id"]: x for x in _platform_audit(client, root, result="denied")}
    ft = platform_rows[foreign_tenant.headers["X-Request-ID"]]
    assert ft["action"] == "denied.foreign_tenant" and ft["actor_user_id"] == uid
    assert ft["detail"] == "GET /api/v1/tenants/tb/areas"
    assert platform_rows[platform_route.headers["X-Request-ID"]]["action"] == "denied.platform_role"
    # Tenant B's admin learns nothing from A's viewer probing B by tenant code: no row in B.
    _, admin_b = factory.user("admin-b", {b: "tenant_admin"})
    assert _audit(client, admin_b, code="tb", result="denied") == []
    # Every denial is logged exactly once.
    all_denied = tenant_rows + list(platform_rows.values())
    assert len(all_denied) == 4
