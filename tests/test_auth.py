"""Authentication and authorisation: login, tokens, throttling, roles, secrets at rest, CLI.

RELIABILITY 9 (writable fields), 11 (revocation on the next request), 12 (no usable
secret in a dump), 13 (throttling, logged).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import bearer

PASSWORD = "correct-horse-battery"
LOGIN = "/api/v1/auth/login"


def _login(client, username, password, address="127.0.0.1"):
    return client.post(LOGIN, json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _without_request_id(body):
    return {k: v for k, v in body.items() if k != "request_id"}


# --- login and tokens ---------------------------------------------------------

def test_password_login_returns_a_working_token(client, factory):
    factory.user("alice", password=PASSWORD)
    r = _login(client, "alice", PASSWORD)
    assert r.status_code == 201, r.json
    secret = r.json["token"]
    assert secret.startswith("ajt_") and r.json["prefix"] == secret[:12]
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json["username"] == "alice"
    # The listing never shows the secret again.
    tokens = client.get("/api/v1/me/tokens", headers=bearer(secret)).json
    assert tokens and all("token" not in t for t in tokens)
    assert secret not in str(tokens)


def test_wrong_password_and_unknown_user_answer_the_same(client, factory):
    factory.user("alice", password=PASSWORD)
    wrong = _login(client, "alice", "not-the-password")
    unknown = _login(client, "nobody", "not-the-password")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.mimetype == "application/problem+json"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert "token" not in r.json
    assert _without_request_id(wrong.json) == _without_request_id(unknown.json)
    assert wrong.json["request_id"] != unknown.json["request_id"]


def test_unknown_user_costs_a_password_check_too(client, factory, monkeypatch):
    """No timing oracle: an unknown username still runs one (scrypt) hash check."""
    from anjian.auth import service

    calls = []
    real = service.check_password_hash
    monkeypatch.setattr(service, "check_password_hash",
                        lambda h, p: calls.append(h) or real(h, p))
    assert _login(client, "nobody", "whatever-password").status_code == 401
    assert len(calls) == 1 and calls[0].startswith("scrypt:")


def test_disabled_user_cannot_log_in(client, factory):
    uid, _ = factory.user("alice", password=PASSWORD)
    _, root = factory.user("root", platform_admin=True)
    assert client.patch(f"/api/v1/users/{uid}", json={"is_active": False},
                        headers=bearer(root)).status_code == 200
    assert _login(client, "alice", PASSWORD).status_code == 401


def test_missing_token_is_401_with_www_authenticate(client):
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="anjian"'
    assert r.json["type"] == "urn:anjian:problem:unauthenticated"


@pytest.mark.parametrize("header", [
    "Bearer ajt_unknown-token-value",
    "Bearer",
    "Basic YWxpY2U6cGFzc3dvcmQ=",
    "ajt_no_scheme",
])
def test_malformed_or_unknown_token_is_401(client, factory, header):
    factory.user("alice")
    r = client.get("/api/v1/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(client, factory):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    _, token = factory.user("alice", expires_at=past)
    r = client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401
    assert r.json["detail"] == "访问令牌已过期"
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    _, fresh = factory.user("bob", expires_at=future)
    assert client.get("/api/v1/me", headers=bearer(fresh)).status_code == 200


def test_revoked_token_fails_on_the_very_next_request(client, factory):
    _, token = factory.user("alice")
    other = client.post("/api/v1/me/tokens", json={"name": "second"}, headers=bearer(token))
    assert other.status_code == 201
    second, second_id = other.json["token"], other.json["id"]
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{second_id}", headers=bearer(token)).status_code == 204
    r = client.get("/api/v1/me", headers=bearer(second))
    assert r.status_code == 401 and r.json["detail"] == "访问令牌已被撤销"
    # The other token of the same user is untouched.
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_cannot_revoke_someone_elses_token(client, factory):
    _, alice = factory.user("alice")
    _, bob = factory.user("bob")
    bob_tokens = client.get("/api/v1/me/tokens", headers=bearer(bob)).json
    r = client.delete(f"/api/v1/me/tokens/{bob_tokens[0]['id']}", headers=bearer(alice))
    assert r.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(bob)).status_code == 200


def test_disabling_a_user_rejects_all_its_tokens_at_once(client, factory):
    uid, first = factory.user("alice")
    second = client.post("/api/v1/me/tokens", json={"name": "x"}, headers=bearer(first)).json["token"]
    _, root = factory.user("root", platform_admin=True)
    r = client.patch(f"/api/v1/users/{uid}", json={"is_active": False}, headers=bearer(root))
    assert r.status_code == 200 and r.json["is_active"] is False
    for token in (first, second):
        r = client.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 401 and r.json["detail"] == "用户已停用"
    # Re-enabling restores them (the tokens were not revoked, the user was disabled).
    client.patch(f"/api/v1/users/{uid}", json={"is_active": True}, headers=bearer(root))
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200


def test_removing_a_membership_takes_effect_on_the_next_request(client, factory):
    t = factory.tenant("ta")
    _, admin = factory.user("admin", {t: "tenant_admin"})
    _, bob = factory.user("bob", {t: "supervisor"})
    assert client.get("/api/v1/tenants/ta/areas", headers=bearer(bob)).status_code == 200
    members = client.get("/api/v1/tenants/ta/members", headers=bearer(admin)).json["items"]
    bob_member = next(m for m in members if m["username"] == "bob")
    r = client.delete(f"/api/v1/tenants/ta/members/{bob_member['id']}", headers=bearer(admin))
    assert r.status_code == 204
    r = client.get("/api/v1/tenants/ta/areas", headers=bearer(bob))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert client.get("/api/v1/me", headers=bearer(bob)).json["memberships"] == []


def test_changing_a_role_takes_effect_on_the_next_request(client, factory):
    t = factory.tenant("ta")
    _, admin = factory.user("admin", {t: "tenant_admin"})
    _, bob = factory.user("bob", {t: "tenant_admin"})
    members = client.get("/api/v1/tenants/ta/members", headers=bearer(admin)).json["items"]
    bob_member = next(m for m in members if m["username"] == "bob")
    r = client.patch(f"/api/v1/tenants/ta/members/{bob_member['id']}", json={"role": "viewer"},
                     headers=bearer(admin))
    assert r.status_code == 200 and r.json["role"] == "viewer"
    r = client.post("/api/v1/tenants/ta/areas", json={"code": "s1", "name": "板块", "kind": "sector"},
                    headers=bearer(bob))
    assert r.status_code == 403


# --- throttling (RELIABILITY 13) ------------------------------------------------

def test_throttled_per_account_even_with_the_right_password(app, client, factory):
    app.config.update(ANJIAN_LOGIN_MAX_FAILURES_PER_USER=3,
                      ANJIAN_LOGIN_MAX_FAILURES_PER_ADDRESS=100,
                      ANJIAN_LOGIN_WINDOW_SECONDS=600)
    factory.user("alice", password=PASSWORD)
    for i in range(3):
        assert _login(client, "alice", f"guess-{i}", address=f"10.0.0.{i}").status_code == 401
    # From yet another address, with the right password: the account is throttled.
    r = _login(client, "alice", PASSWORD, address="10.0.1.1")
    assert r.status_code == 429
    assert r.mimetype == "application/problem+json"
    assert r.headers["Retry-After"] == "600"
    assert "token" not in r.json
    # Another account from the same address is not affected.
    factory.user("bob", password=PASSWORD)
    assert _login(client, "bob", PASSWORD, address="10.0.1.1").status_code == 201


def test_throttled_per_address(app, client, factory):
    app.config.update(ANJIAN_LOGIN_MAX_FAILURES_PER_USER=100,
                      ANJIAN_LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    factory.user("alice", password=PASSWORD)
    for i in range(3):
        assert _login(client, f"user{i}", "guess", address="10.9.9.9").status_code == 401
    r = _login(client, "alice", PASSWORD, address="10.9.9.9")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert _login(client, "alice", PASSWORD, address="10.9.9.10").status_code == 201


def test_successful_login_clears_the_account_failures(app, client, factory):
    app.config.update(ANJIAN_LOGIN_MAX_FAILURES_PER_USER=3,
                      ANJIAN_LOGIN_MAX_FAILURES_PER_ADDRESS=100)
    factory.user("alice", password=PASSWORD)
    for _ in range(2):
        assert _login(client, "alice", "wrong-pass").status_code == 401
    assert _login(client, "alice", PASSWORD).status_code == 201
    for _ in range(2):
        assert _login(client, "alice", "wrong-pass").status_code == 401
    assert _login(client, "alice", PASSWORD).status_code == 201


def test_failed_and_throttled_logins_are_audit_logged(app, client, factory):
    app.config.update(ANJIAN_LOGIN_MAX_FAILURES_PER_USER=2)
    factory.user("alice", password=PASSWORD)
    _, root = factory.user("root", platform_admin=True)
    failed = [_login(client, "alice", "wrong-pass") for _ in range(2)]
    throttled = _login(client, "alice", PASSWORD)
    assert throttled.status_code == 429
    r = client.get("/api/v1/audit", query_string={"action": "auth.login_"}, headers=bearer(root))
    assert r.status_code == 200
    rows = r.json["items"]
    fails = [x for x in rows if x["action"] == "auth.login_failed"]
    assert len(fails) == 2
    assert {x["request_id"] for x in fails} == {f.headers["X-Request-ID"] for f in failed}
    assert all(x["result"] == "denied" and x["detail"] == "alice" for x in fails)
    assert all(x["tenant_id"] is None for x in fails)
    thr = [x for x in rows if x["action"] == "auth.login_throttled"]
    assert len(thr) == 1 and thr[0]["request_id"] == throttled.headers["X-Request-ID"]
    assert PASSWORD not in str(rows) and "wrong-pass" not in str(rows)


def test_bad_tokens_are_audit_logged(client, factory):
    _, root = factory.user("root", platform_admin=True)
    r = client.get("/api/v1/me", headers=bearer("ajt_guessed"))
    rows = client.get("/api/v1/audit", query_string={"action": "auth.invalid_token"},
                      headers=bearer(root)).json["items"]
    assert [x["request_id"] for x in rows] == [r.headers["X-Request-ID"]]
    assert rows[0]["result"] == "denied"


# --- roles ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/tenants", "/api/v1/audit"])
def test_platform_routes_refuse_tenant_admins(client, factory, path):
    t = factory.tenant("ta")
    _, admin = factory.user("admin", {t: "tenant_admin"})
    r = client.get(path, headers=bearer(admin))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    _, root = factory.user("root", platform_admin=True)
    assert client.get(path, headers=bearer(root)).status_code == 200


def test_platform_writes_refuse_tenant_admins(client, factory):
    t = factory.tenant("ta")
    uid, admin = factory.user("admin", {t: "tenant_admin"})
    r = client.post("/api/v1/users", json={"username": "eve", "password": PASSWORD},
                    headers=bearer(admin))
    assert r.status_code == 403
    r = client.patch(f"/api/v1/users/{uid}", json={"display_name": "x"}, headers=bearer(admin))
    assert r.status_code == 403
    r = client.post("/api/v1/tenants", json={"code": "tz", "name": "z", "level": "district"},
                    headers=bearer(admin))
    assert r.status_code == 403


@pytest.mark.parametrize("role", ["viewer", "supervisor", "enterprise", "service_org"])
def test_non_admin_roles_cannot_write_areas(client, factory, role):
    t = factory.tenant("ta")
    area = factory.area(t, "s1")
    _, token = factory.user("u", {t: role})
    assert client.get("/api/v1/tenants/ta/areas", headers=bearer(token)).status_code == 200
    r = client.post("/api/v1/tenants/ta/areas", json={"code": "s2", "name": "二", "kind": "sector"},
                    headers=bearer(token))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    etag = client.get(f"/api/v1/tenants/ta/areas/{area}", headers=bearer(token)).headers["ETag"]
    r = client.patch(f"/api/v1/tenants/ta/areas/{area}", json={"name": "x"},
                     headers={**bearer(token), "If-Match": etag})
    assert r.status_code == 403
    assert client.get("/api/v1/tenants/ta/members", headers=bearer(token)).status_code == 403


def test_parent_tenant_member_reads_but_never_writes_a_child(client, factory):
    parent = factory.tenant("city", level="city")
    factory.tenant("dist", parent="city")
    _, token = factory.user("u", {parent: "tenant_admin"})
    assert client.get("/api/v1/tenants/dist/areas", headers=bearer(token)).status_code == 200
    r = client.post("/api/v1/tenants/dist/areas", json={"code": "s", "name": "s", "kind": "sector"},
                    headers=bearer(token))
    assert r.status_code == 403


@pytest.mark.own_app  # it adds a blueprint of test routes
def test_a_read_request_cannot_write_even_for_a_tenant_admin(app, client, factory):
    """A GET runs in the tenant's read-only scope: a view that wrote on a GET fails (the
    ORM refuses at flush; on PostgreSQL RLS would refuse too, test_rls.py) and nothing is
    written; the same write on a POST goes through."""
    from flask_smorest import Blueprint

    from anjian.api.policy import requires
    from anjian.extensions import db
    from anjian.tenancy.models import Area

    writer = Blueprint("test_auth_writer", __name__, url_prefix="/api/v1/tenants/<tenant_code>")

    @writer.route("/test-write/<code>", methods=["GET", "POST"])
    @requires("tenant_admin")
    def write(tenant_code, code):
        db.session.add(Area(code=code, name=code, kind="sector"))
        db.session.commit()
        return {"written": code}

    app.extensions["anjian.api"].register_blueprint(writer)
    tenant = factory.tenant("ro")
    _, token = factory.user("ro-admin", {tenant: "tenant_admin"})
    from anjian.tenancy.scope import TenantScopeError

    with pytest.raises(TenantScopeError, match="read-only"):  # a 500 outside tests
        client.get("/api/v1/tenants/ro/test-write/by-get", headers=bearer(token))
    r = client.post("/api/v1/tenants/ro/test-write/by-post", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    codes = [a["code"] for a in client.get("/api/v1/tenants/ro/areas",
                                          headers=bearer(token)).json["items"]]
    assert codes == ["by-post"]


# --- writable fields (RELIABILITY 9) ---------------------------------------------

def test_client_cannot_set_tenant_id(client, factory):
    a = factory.tenant("ta")
    b = factory.tenant("tb")
    _, admin = factory.user("admin", {a: "tenant_admin"})
    r = client.post("/api/v1/tenants/ta/areas",
                    json={"code": "s1", "name": "一", "kind": "sector", "tenant_id": b},
                    headers=bearer(admin))
    assert r.status_code == 422
    assert r.json["errors"]["json"]["tenant_id"] == ["不允许的字段"]
    r = client.post("/api/v1/tenants/ta/members",
                    json={"username": "bob", "role": "viewer", "password": PASSWORD,
                          "tenant_id": b}, headers=bearer(admin))
    assert r.status_code == 422 and "tenant_id" in r.json["errors"]["json"]


def test_client_cannot_make_a_platform_admin_through_members(client, factory):
    t = factory.tenant("ta")
    _, admin = factory.user("admin", {t: "tenant_admin"})
    r = client.post("/api/v1/tenants/ta/members",
                    json={"username": "bob", "role": "viewer", "password": PASSWORD,
                          "is_platform_admin": True}, headers=bearer(admin))
    assert r.status_code == 422
    assert r.json["errors"]["json"]["is_platform_admin"] == ["不允许的字段"]
    _, root = factory.user("root", platform_admin=True)
    users = client.get("/api/v1/users", headers=bearer(root)).json["items"]
    assert "bob" not in {u["username"] for u in users}


@pytest.mark.parametrize("role", ["platform_admin", "root", ""])
def test_client_cannot_give_a_role_outside_the_list(client, factory, role):
    t = factory.tenant("ta")
    _, admin = factory.user("admin", {t: "tenant_admin"})
    _, _bob = factory.user("bob", {t: "viewer"})
    r = client.post("/api/v1/tenants/ta/members",
                    json={"username": "carol", "role": role, "password": PASSWORD},
                    headers=bearer(admin))
    assert r.status_code == 422
    (message,) = r.json["errors"]["json"]["role"]
    assert message.startswith("须为以下之一")
    member = next(m for m in client.get("/api/v1/tenants/ta/members", headers=bearer(admin))
                  .json["items"] if m["username"] == "bob")
    r = client.patch(f"/api/v1/tenants/ta/members/{member['id']}", json={"role": role},
                     headers=bearer(admin))
    assert r.status_code == 422 and r.json["errors"]["json"]["role"][0].startswith("须为以下之一")


def test_members_endpoint_cannot_reset_an_existing_users_password(client, factory):
    a = factory.tenant("ta")
    factory.tenant("tb")
    _, admin = factory.user("admin", {a: "tenant_admin"})
    factory.user("victim", password=PASSWORD)
    factory.user("ta-victim", password=PASSWORD)  # a name of this tenant's form, held elsewhere
    for name, refused in (("victim", 422), ("ta-victim", 409)):
        r = client.post("/api/v1/tenants/ta/members",
                        json={"username": name, "role": "viewer", "password": "attacker-chosen"},
                        headers=bearer(admin))
        assert r.status_code == refused, name
        assert _login(client, name, "attacker-chosen").status_code == 401


def test_user_cannot_change_own_role(client, factory):
    t = factory.tenant("ta")
    _, viewer = factory.user("v", {t: "viewer"})
    me = client.get("/api/v1/me", headers=bearer(viewer)).json
    member_id = me["memberships"][0]["id"]
    r = client.patch(f"/api/v1/tenants/ta/members/{member_id}", json={"role": "tenant_admin"},
                     headers=bearer(viewer))
    assert r.status_code == 403
    assert client.get("/api/v1/me", headers=bearer(viewer)).json["memberships"][0]["role"] == "viewer"


# --- secrets at rest (RELIABILITY 12) ----------------------------------------------

def _dump(app, database) -> str:
    """Every value of every table, as text, read past the app's own scoping and RLS."""
    parts = []
    engine = create_engine(database.admin_url)
    try:
        with engine.connect() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
            for table in tables:
                for (row,) in conn.execute(text(f'SELECT t::text FROM "{table}" t')):
                    parts.append(f"{table}:{row}")
    finally:
        engine.dispose()
    return "\n".join(parts)


def test_database_dump_holds_no_usable_token_or_password(app, client, factory, database):
    from anjian.auth.service import token_digest

    t = factory.tenant("ta")
    _, root = factory.user("root", platform_admin=True)
    _, admin = factory.user("admin", {t: "tenant_admin"}, password="admin-password-1")
    secrets = {root, admin}
    passwords = {"admin-password-1", "user-password-2", "member-password-3", "changed-password-4",
                 "a-wrong-guess-5"}
    r = client.post("/api/v1/users", json={"username": "u2", "password": "user-password-2"},
                    headers=bearer(root))
    assert r.status_code == 201
    u2 = r.json["id"]
    r = client.post("/api/v1/tenants/ta/members",
                    json={"username": "ta-m3", "role": "viewer", "password": "member-password-3"},
                    headers=bearer(admin))
    assert r.status_code == 201
    assert client.patch(f"/api/v1/users/{u2}", json={"password": "changed-password-4"},
                        headers=bearer(root)).status_code == 200
    assert _login(client, "admin", "a-wrong-guess-5").status_code == 401
    for username, password in (("admin", "admin-password-1"), ("ta-m3", "member-password-3"),
                               ("u2", "changed-password-4")):
        r = _login(client, username, password)
        assert r.status_code == 201
        secrets.add(r.json["token"])
    r = client.post("/api/v1/me/tokens", json={"name": "api"}, headers=bearer(admin))
    secrets.add(r.json["token"])
    assert len(secrets) == 6

    dump = _dump(app, database)
    for secret in secrets:
        assert secret not in dump
        assert secret[len("ajt_"):] not in dump
        assert token_digest(secret) in dump  # the dump really holds the token table
    for password in passwords:
        assert password not in dump

    engine = create_engine(database.admin_url)
    with engine.connect() as conn:
        hashes = list(conn.scalars(text(
            "SELECT password_hash FROM users WHERE password_hash IS NOT NULL")))
    engine.dispose()
    assert len(hashes) == 3
    assert all(h.startswith("scrypt:") for h in hashes)
    assert len(set(hashes)) == 3  # salted


# --- CLI ----------------------------------------------------------------------------

def _token_id(client, secret):
    tokens = client.get("/api/v1/me/tokens", headers=bearer(secret)).json
    return next(t["id"] for t in tokens if secret.startswith(t["prefix"]))


def test_cli_users_create_and_add_member(runner, client, factory):
    factory.tenant("ta")
    r = runner.invoke(args=["users", "create", "carol"], env={"ANJIAN_NEW_PASSWORD": PASSWORD})
    assert r.exit_code == 0, r.output
    assert "created user carol" in r.output
    assert PASSWORD not in r.output
    login = _login(client, "carol", PASSWORD)
    assert login.status_code == 201
    token = login.json["token"]
    assert client.get("/api/v1/tenants/ta/areas", headers=bearer(token)).status_code == 404

    r = runner.invoke(args=["users", "add-member", "carol", "ta", "supervisor"])
    assert r.exit_code == 0, r.output
    assert client.get("/api/v1/tenants/ta/areas", headers=bearer(token)).status_code == 200
    me = client.get("/api/v1/me", headers=bearer(token)).json
    assert [(m["tenant_code"], m["role"]) for m in me["memberships"]] == [("ta", "supervisor")]
    # Again: changes the role, does not add a second membership.
    r = runner.invoke(args=["users", "add-member", "carol", "ta", "viewer"])
    assert r.exit_code == 0, r.output
    me = client.get("/api/v1/me", headers=bearer(token)).json
    assert [(m["tenant_code"], m["role"]) for m in me["memberships"]] == [("ta", "viewer")]


def test_cli_users_create_refuses_short_passwords_and_duplicates(runner):
    r = runner.invoke(args=["users", "create", "dave", "--password", "short"])
    assert r.exit_code != 0
    r = runner.invoke(args=["users", "create", "dave", "--password", PASSWORD, "--platform-admin"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["users", "create", "dave", "--password", PASSWORD])
    assert r.exit_code != 0 and "用户已存在" in r.output


def test_cli_add_member_refuses_unknown_role_user_tenant(runner, factory):
    factory.tenant("ta")
    factory.user("carol")
    assert runner.invoke(args=["users", "add-member", "carol", "ta", "platform_admin"]).exit_code != 0
    assert runner.invoke(args=["users", "add-member", "nobody", "ta", "viewer"]).exit_code != 0
    assert runner.invoke(args=["users", "add-member", "carol", "nope", "viewer"]).exit_code != 0


def test_cli_tokens_create_and_revoke(runner, client, factory):
    factory.user("carol")
    r = runner.invoke(args=["tokens", "create", "carol", "--name", "ops", "--days", "1"])
    assert r.exit_code == 0, r.output
    secret = r.output.strip().splitlines()[-1].strip()
    assert secret.startswith("ajt_")
    assert client.get("/api/v1/me", headers=bearer(secret)).json["username"] == "carol"
    token_id = _token_id(client, secret)
    r = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert r.exit_code == 0, r.output
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert runner.invoke(args=["tokens", "revoke", "999999"]).exit_code != 0
    assert runner.invoke(args=["tokens", "create", "nobody"]).exit_code != 0


def test_cli_bootstrap_prints_a_token_only_the_first_time(runner, client):
    first = runner.invoke(args=["bootstrap"])
    assert first.exit_code == 0, first.output
    secrets = [w for w in first.output.split() if w.startswith("ajt_")]
    assert len(secrets) == 1
    me = client.get("/api/v1/me", headers=bearer(secrets[0]))
    assert me.status_code == 200 and me.json["is_platform_admin"] is True
    assert client.get("/api/v1/users", headers=bearer(secrets[0])).json["total"] == 1
    second = runner.invoke(args=["bootstrap"])
    assert second.exit_code == 0, second.output
    assert "ajt_" not in second.output
    assert client.get("/api/v1/users", headers=bearer(secrets[0])).json["total"] == 1
