"""Accounts people run themselves (issue 21): their own password and tokens, resets by a
tenant administrator, disabled members, invitations, and the login throttle behind a proxy."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import app_config, bearer

PASSWORD = "correct-horse-battery-1"
NEW_PASSWORD = "Another-secret-2024"
LOGIN = "/api/v1/auth/login"
OTHER_TENANT = "该用户还属于其他租户，请联系平台管理员"


def _login(client, username, password, **kw):
    return client.post(LOGIN, json={"username": username, "password": password}, **kw)


def _token(client, username, password=PASSWORD):
    r = _login(client, username, password)
    assert r.status_code == 201, r.json
    return r.json["token"]


def _audit(client, token, code="ta", **query):
    r = client.get(f"/api/v1/tenants/{code}/audit", query_string={"per_page": 200, **query},
                   headers=bearer(token))
    assert r.status_code == 200, r.json
    return r.json["items"]


def _member_id(client, admin, username, code="ta"):
    items = client.get(f"/api/v1/tenants/{code}/members?per_page=100", headers=bearer(admin)).json["items"]
    return next(m["id"] for m in items if m["username"] == username)


# --- my password, my tokens ----------------------------------------------------------------

def test_changing_my_password_needs_the_current_one_and_revokes_my_other_tokens(client, factory):
    uid, fixture_token = factory.user("alice", password=PASSWORD)
    _, root = factory.user("root", platform_admin=True)
    mine, other = _token(client, "alice"), _token(client, "alice")
    url = "/api/v1/me/password"

    r = client.post(url, json={"current_password": "not-my-password-9", "new_password": NEW_PASSWORD},
                    headers=bearer(mine))
    assert r.status_code == 422
    assert r.json["errors"] == {"current_password": ["当前密码不正确"]}
    for new, message in (("short-1", "密码长度须为 10–200 个字符"),
                         ("onlylettersherex", "密码须包含字母、数字、符号中的至少两类"),
                         ("my-alice-password-1", "密码不能包含用户名"),
                         (PASSWORD, "新密码不能与当前密码相同")):
        r = client.post(url, json={"current_password": PASSWORD, "new_password": new},
                        headers=bearer(mine))
        assert r.status_code == 422, new
        assert r.json["errors"] == {"new_password": [message]}
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200  # nothing changed yet

    r = client.post(url, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                    headers=bearer(mine))
    assert r.status_code == 200, r.json
    assert r.json["tokens_revoked"] == 2  # the other login and the fixture's token
    assert client.get("/api/v1/me", headers=bearer(mine)).status_code == 200
    for token in (other, fixture_token):
        r = client.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 401 and r.json["detail"] == "访问令牌已被撤销"
    assert _login(client, "alice", PASSWORD).status_code == 401
    assert _login(client, "alice", NEW_PASSWORD).status_code == 201
    rows = client.get("/api/v1/audit", query_string={"action": "account.password_changed"},
                      headers=bearer(root)).json["items"]
    assert [(e["actor_user_id"], e["entity_id"], e["after"]) for e in rows] == [
        (uid, str(uid), {"tokens_revoked": 2})]
    failed = client.get("/api/v1/audit", query_string={"action": "account.password_change_failed"},
                        headers=bearer(root)).json["items"]
    assert [(e["actor_user_id"], e["result"]) for e in failed] == [(uid, "denied")]
    # The password itself is never in the log.
    assert NEW_PASSWORD not in str(client.get("/api/v1/audit?per_page=200", headers=bearer(root)).json)


def test_wrong_current_passwords_count_as_failed_logins(app, client, factory):
    app.config["ANJIAN_LOGIN_MAX_FAILURES_PER_USER"] = 3
    factory.user("alice", password=PASSWORD)
    mine = _token(client, "alice")
    body = {"current_password": "a-wrong-guess-1", "new_password": NEW_PASSWORD}
    codes = [client.post("/api/v1/me/password", json=body, headers=bearer(mine)).status_code
             for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    assert _login(client, "alice", PASSWORD).status_code == 429  # the account is throttled


def test_i_list_and_revoke_my_own_tokens_only(client, factory):
    _, fixture_token = factory.user("alice", password=PASSWORD)
    _, bob = factory.user("bob")
    mine = _token(client, "alice")
    tokens = client.get("/api/v1/me/tokens", headers=bearer(mine)).json
    assert [t["name"] for t in tokens] == ["test", "login"]
    assert all("token" not in t and "token_hash" not in t for t in tokens)
    bobs = client.get("/api/v1/me/tokens", headers=bearer(bob)).json
    assert len(bobs) == 1
    # Another user's token is as absent as a missing one.
    assert client.delete(f"/api/v1/me/tokens/{bobs[0]['id']}", headers=bearer(mine)).status_code == 404
    assert client.get("/api/v1/me", headers=bearer(bob)).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{tokens[0]['id']}", headers=bearer(mine)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(fixture_token)).status_code == 401
    listed = client.get("/api/v1/me/tokens", headers=bearer(mine)).json
    assert [t["revoked_at"] is not None for t in listed] == [True, False]


# --- resets by a tenant administrator ------------------------------------------------------

def test_tenant_admin_resets_the_password_of_a_member_of_this_tenant_alone(client, factory):
    ta, tb = factory.tenant("ta"), factory.tenant("tb")
    admin_id, admin = factory.user("admin", {ta: "tenant_admin"}, password=PASSWORD)
    _, bob_token = factory.user("bob", {ta: "viewer"}, password=PASSWORD)
    factory.user("carol", {ta: "viewer", tb: "viewer"}, password=PASSWORD)
    factory.user("root-member", {ta: "viewer"}, platform_admin=True, password=PASSWORD)
    _, root = factory.user("root", platform_admin=True)

    def reset(username, token=admin, password=NEW_PASSWORD):
        return client.post(f"/api/v1/tenants/ta/members/{_member_id(client, admin, username)}/password",
                           json={"new_password": password}, headers=bearer(token))

    r = reset("bob")
    assert r.status_code == 204
    r = client.get("/api/v1/tenants/ta", headers=bearer(bob_token))
    assert r.status_code == 401 and r.json["detail"] == "访问令牌已被撤销"
    assert _login(client, "bob", NEW_PASSWORD).status_code == 201

    r = reset("carol")
    assert r.status_code == 403 and r.json["detail"] == OTHER_TENANT
    assert _login(client, "carol", PASSWORD).status_code == 201  # unchanged
    r = reset("root-member")
    assert r.status_code == 403 and "平台管理员" in r.json["detail"]
    r = reset("admin")
    assert r.status_code == 422 and "修改自己的密码" in r.json["detail"]
    r = reset("bob", password="weakweakweak")
    assert r.status_code == 422 and r.json["errors"] == {"new_password": ["密码须包含字母、数字、符号中的至少两类"]}

    # A platform administrator may always.
    assert reset("carol", token=root).status_code == 204
    assert _login(client, "carol", NEW_PASSWORD).status_code == 201

    rows = _audit(client, admin, action="member.password_reset")
    bob_member = str(_member_id(client, admin, "bob"))
    assert [(e["actor_user_id"], e["entity_id"]) for e in rows][-1] == (admin_id, bob_member)
    assert len(rows) == 2  # bob by the admin, carol by the platform administrator


def test_a_disabled_membership_elsewhere_still_counts_as_another_tenant(client, factory):
    ta, tb = factory.tenant("ta"), factory.tenant("tb")
    _, admin = factory.user("admin", {ta: "tenant_admin"})
    _, admin_b = factory.user("admin-b", {tb: "tenant_admin"})
    factory.user("carol", {ta: "viewer", tb: "viewer"}, password=PASSWORD)
    carol_b = _member_id(client, admin_b, "carol", "tb")
    assert client.post(f"/api/v1/tenants/tb/members/{carol_b}/disable",
                       headers=bearer(admin_b)).status_code == 200
    r = client.post(f"/api/v1/tenants/ta/members/{_member_id(client, admin, 'carol')}/password",
                    json={"new_password": NEW_PASSWORD}, headers=bearer(admin))
    assert r.status_code == 403 and r.json["detail"] == OTHER_TENANT


# --- disabled members ----------------------------------------------------------------------

def test_a_disabled_member_has_no_access_from_the_next_request_and_comes_back(client, factory):
    tp = factory.tenant("tp", level="city")
    ta = factory.tenant("ta", parent="tp")
    admin_id, admin = factory.user("admin", {ta: "tenant_admin"})
    _, admin_p = factory.user("admin-p", {tp: "tenant_admin"})
    _, bob = factory.user("bob", {ta: "viewer"})
    _, city_viewer = factory.user("city-viewer", {tp: "viewer"})
    assert client.get("/api/v1/tenants/ta", headers=bearer(bob)).status_code == 200
    assert client.get("/api/v1/tenants/ta", headers=bearer(city_viewer)).status_code == 200

    bob_member = _member_id(client, admin, "bob")
    r = client.post(f"/api/v1/tenants/ta/members/{bob_member}/disable", json={"reason": "已调离"},
                    headers=bearer(admin))
    assert r.status_code == 200
    assert r.json["state_label"] == "已停用" and r.json["disabled_at"] is not None
    r = client.get("/api/v1/tenants/ta", headers=bearer(bob))
    assert r.status_code == 404  # like a tenant that does not exist
    assert client.get("/api/v1/me", headers=bearer(bob)).json["memberships"][0]["state_label"] == "已停用"
    listed = {m["username"]: m["state_label"] for m in
              client.get("/api/v1/tenants/ta/members", headers=bearer(admin)).json["items"]}
    assert listed == {"admin": "在用", "bob": "已停用"}
    # A member of the parent tenant, disabled there, no longer reads the child either.
    viewer_member = _member_id(client, admin_p, "city-viewer", "tp")
    assert client.post(f"/api/v1/tenants/tp/members/{viewer_member}/disable",
                       headers=bearer(admin_p)).status_code == 200
    assert client.get("/api/v1/tenants/ta", headers=bearer(city_viewer)).status_code == 404

    r = client.post(f"/api/v1/tenants/ta/members/{bob_member}/enable", headers=bearer(admin))
    assert r.status_code == 200 and r.json["state_label"] == "在用" and r.json["disabled_at"] is None
    assert client.get("/api/v1/tenants/ta", headers=bearer(bob)).status_code == 200

    own = _member_id(client, admin, "admin")
    r = client.post(f"/api/v1/tenants/ta/members/{own}/disable", headers=bearer(admin))
    assert r.status_code == 422 and r.json["detail"] == "不能停用自己"
    changes = [(e["actor_user_id"], e["after"].keys() >= {"disabled_at"})
               for e in _audit(client, admin, action="membership.update")
               if e["entity_id"] == str(bob_member)]
    assert changes == [(admin_id, True), (admin_id, True)]
    events = [(e["action"], e["actor_user_id"], e["detail"]) for e in _audit(client, admin, action="member.")]
    assert sorted(events) == [("member.disabled", admin_id, "已调离"), ("member.enabled", admin_id, None)]


def test_a_disabled_member_has_no_context_where_no_guard_built_one(app, factory):
    from anjian.auth.models import Membership
    from anjian.auth.service import acting_in
    from anjian.context import NoContext
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant
    from anjian.tenancy.scope import Scope, scoped

    ta = factory.tenant("ta")
    uid, _ = factory.user("bob", {ta: "viewer"})
    with app.app_context():
        with scoped(db.session, Scope.tenant(ta, uid)):
            tenant = db.session.get(Tenant, ta)
            assert acting_in(tenant, uid).access.role == "viewer"
            member = db.session.scalars(db.select(Membership)).one()
            member.disabled_at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
            db.session.commit()
        with scoped(db.session, Scope.tenant(ta, uid)), pytest.raises(NoContext):
            acting_in(db.session.get(Tenant, ta), uid)


# --- invitations ---------------------------------------------------------------------------

def _invite(client, admin, code="ta", **body):
    r = client.post(f"/api/v1/tenants/{code}/invitations", json={"role": "viewer", **body},
                    headers=bearer(admin))
    assert r.status_code == 201, r.json
    return r.json


def _states(client, admin, code="ta", **query):
    r = client.get(f"/api/v1/tenants/{code}/invitations", query_string=query, headers=bearer(admin))
    assert r.status_code == 200, r.json
    return [(i["id"], i["state"], i["state_label"]) for i in r.json["items"]]


def test_a_logged_in_person_accepts_an_invitation_once(client, factory):
    ta, tb = factory.tenant("ta"), factory.tenant("tb")
    admin_id, admin = factory.user("admin", {ta: "tenant_admin"})
    area = factory.area(ta, "grid-1", kind="grid")
    dave_id, dave = factory.user("dave", {tb: "viewer"})
    _, erin = factory.user("erin")

    made = _invite(client, admin, role="supervisor", area_id=area, display_name="王科长", note="监管科")
    token = made["token"]
    assert token.startswith(f"aji_{ta}_") and len(token) > 40
    assert (made["state"], made["state_label"], made["invited_by"]) == ("pending", "待接受", admin_id)
    expires = dt.datetime.fromisoformat(made["expires_at"]) - dt.datetime.fromisoformat(made["created_at"])
    assert dt.timedelta(days=6, hours=23) < expires <= dt.timedelta(days=7)
    listed = client.get("/api/v1/tenants/ta/invitations", headers=bearer(admin)).json["items"]
    assert "token" not in listed[0] and token not in str(listed)

    assert client.get("/api/v1/tenants/ta", headers=bearer(dave)).status_code == 404
    r = client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(dave))
    assert r.status_code == 201, r.json
    assert (r.json["tenant_code"], r.json["role"], r.json["area_id"], r.json["username"]) == (
        "ta", "supervisor", area, "dave")
    assert client.get("/api/v1/tenants/ta", headers=bearer(dave)).status_code == 200
    # One time only, for anyone.
    for who in (erin, dave):
        r = client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(who))
        assert r.status_code == 409 and r.json["detail"] == "该邀请已被接受，不能再次使用"
    assert client.get("/api/v1/tenants/ta", headers=bearer(erin)).status_code == 404
    [row] = client.get("/api/v1/tenants/ta/invitations", headers=bearer(admin)).json["items"]
    assert (row["state_label"], row["accepted_by"], row["invited_by"]) == ("已接受", dave_id, admin_id)
    # Audited: who invited, who accepted (and the membership it made).
    audit = [(e["action"], e["actor_user_id"]) for e in _audit(client, admin)
             if e["action"].startswith(("invitation.", "membership.create"))]
    assert ("invitation.create", admin_id) in audit
    assert ("invitation.update", dave_id) in audit and ("membership.create", dave_id) in audit
    assert token not in str(_audit(client, admin))


def test_a_new_person_registers_with_an_invitation(client, factory):
    ta = factory.tenant("ta")
    _, admin = factory.user("admin", {ta: "tenant_admin"})
    factory.user("dave")
    _, root = factory.user("root", platform_admin=True)
    token = _invite(client, admin, display_name="小李")["token"]
    url = "/api/v1/invitations/register"

    r = client.post(url, json={"token": token, "username": "lee", "password": "weakweakweak"})
    assert r.status_code == 422 and r.json["errors"] == {"password": ["密码须包含字母、数字、符号中的至少两类"]}
    r = client.post(url, json={"token": token, "username": "dave", "password": NEW_PASSWORD})
    assert r.status_code == 409 and r.json["errors"] == {"username": ["该用户名已被占用，请换一个"]}
    users = {u["username"] for u in client.get("/api/v1/users", headers=bearer(root)).json["items"]}
    assert users == {"admin", "dave", "root"}  # nothing stored half-way
    assert [s for _, s, _ in _states(client, admin)] == ["pending"]
    taken = _audit(client, admin, action="invitation.username_taken")
    assert [e["detail"] for e in taken] == ["dave"]

    r = client.post(url, json={"token": token, "username": "lee", "password": NEW_PASSWORD})
    assert r.status_code == 201, r.json
    assert (r.json["tenant_code"], r.json["role"], r.json["username"]) == ("ta", "viewer", "lee")
    lee = _token(client, "lee", NEW_PASSWORD)
    me = client.get("/api/v1/me", headers=bearer(lee)).json
    assert me["display_name"] == "小李" and [m["tenant_code"] for m in me["memberships"]] == ["ta"]
    assert client.get("/api/v1/tenants/ta", headers=bearer(lee)).status_code == 200
    r = client.post(url, json={"token": token, "username": "lee2", "password": NEW_PASSWORD})
    assert r.status_code == 409 and r.json["detail"] == "该邀请已被接受，不能再次使用"
    [accepted] = _audit(client, admin, action="invitation.update")
    assert accepted["actor_user_id"] == me["id"] and accepted["after"]["accepted_by"] == me["id"]


def test_revoked_expired_and_made_up_invitations_are_refused(app, client, factory):
    from anjian.auth.models import Invitation
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    ta, tb = factory.tenant("ta"), factory.tenant("tb")
    _, admin = factory.user("admin", {ta: "tenant_admin"})
    _, admin_b = factory.user("admin-b", {tb: "tenant_admin"})
    _, dave = factory.user("dave")
    revoked, expired, accepted = (_invite(client, admin) for _ in range(3))
    r = client.post(f"/api/v1/tenants/ta/invitations/{revoked['id']}/revoke", headers=bearer(admin))
    assert r.status_code == 200 and r.json["state_label"] == "已撤销"
    with app.app_context(), scoped(db.session, Scope.tenant(ta)):
        db.session.get(Invitation, expired["id"]).expires_at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        db.session.commit()
    assert client.post("/api/v1/invitations/accept", json={"token": accepted["token"]},
                       headers=bearer(dave)).status_code == 201

    _, erin = factory.user("erin")

    def accept(token):
        return client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(erin))

    for token, status, detail in (
            (revoked["token"], 409, "该邀请已被撤销"),
            (expired["token"], 409, "该邀请已过期，请联系管理员重新邀请"),
            ("aji_999999_" + "x" * 43, 404, "邀请链接无效"),
            (accepted["token"].replace(f"aji_{ta}_", f"aji_{tb}_"), 404, "邀请链接无效"),
            ("not-an-invitation", 404, "邀请链接无效")):
        r = accept(token)
        assert (r.status_code, r.json["detail"]) == (status, detail), token
    r = client.post("/api/v1/invitations/register",
                    json={"token": revoked["token"], "username": "newbie", "password": NEW_PASSWORD})
    assert (r.status_code, r.json["detail"]) == (409, "该邀请已被撤销")

    states = {i: (s, label) for i, s, label in _states(client, admin)}
    assert states == {revoked["id"]: ("revoked", "已撤销"), expired["id"]: ("expired", "已过期"),
                      accepted["id"]: ("accepted", "已接受")}
    for state, ids in (("revoked", [revoked["id"]]), ("expired", [expired["id"]]),
                       ("accepted", [accepted["id"]]), ("pending", [])):
        assert [i for i, _s, _l in _states(client, admin, state=state)] == ids
    r = client.post(f"/api/v1/tenants/ta/invitations/{accepted['id']}/revoke", headers=bearer(admin))
    assert r.status_code == 409
    # Another tenant's invitation is as absent as a missing one.
    r = client.post(f"/api/v1/tenants/tb/invitations/{revoked['id']}/revoke", headers=bearer(admin_b))
    assert r.status_code == 404


def test_an_invitation_is_checked_as_a_membership_would_be(client, factory):
    ta, tb = factory.tenant("ta"), factory.tenant("tb")
    _, admin = factory.user("admin", {ta: "tenant_admin"})
    area_b = factory.area(tb, "grid-b", kind="grid")
    for body, field, message in (
            ({"role": "enterprise"}, "enterprise_id", "企业用户须指定所属企业"),
            ({"role": "viewer", "enterprise_id": 5}, "enterprise_id", "只有企业用户可以关联企业"),
            ({"role": "viewer", "area_id": area_b}, "area_id", "区域不存在")):
        r = client.post("/api/v1/tenants/ta/invitations", json=body, headers=bearer(admin))
        assert r.status_code == 422 and r.json["errors"] == {field: [message]}, body
    r = client.post("/api/v1/tenants/ta/invitations", json={"role": "viewer", "expires_in_days": 31},
                    headers=bearer(admin))
    assert r.status_code == 422 and "expires_in_days" in r.json["errors"]["json"]
    assert _states(client, admin) == []


def test_a_tenant_admin_cannot_attach_an_existing_person_nor_learn_who_exists(client, factory):
    ta, tb = factory.tenant("ta"), factory.tenant("tb")
    _, admin = factory.user("admin", {ta: "tenant_admin"})
    factory.user("dave", {tb: "viewer"})
    _, root = factory.user("root", platform_admin=True)

    def add(username, token=admin):
        return client.post("/api/v1/tenants/ta/members", json={"username": username, "role": "viewer"},
                           headers=bearer(token))

    existing, unknown = add("dave"), add("nobody-at-all")
    assert existing.status_code == unknown.status_code == 422
    assert ({k: v for k, v in existing.json.items() if k != "request_id"}
            == {k: v for k, v in unknown.json.items() if k != "request_id"})
    assert add("dave", token=root).status_code == 201  # the platform administrator still may

    # A new account a tenant admin makes carries the tenant's code: a name taken elsewhere
    # ("dave", "tb-erin") cannot be probed, only the tenant's own names answer 409.
    factory.user("tb-erin", {tb: "viewer"})

    def create(username):
        return client.post("/api/v1/tenants/ta/members", headers=bearer(admin), json={
            "username": username, "role": "viewer", "password": PASSWORD})

    for name in ("dave", "tb-erin", "someone-new"):
        r = create(name)
        assert r.status_code == 422 and r.json["errors"]["username"] == [
            "本单位新建的账号，用户名须以“ta-”开头（如 ta-zhangsan）；已有账号的人员请发送邀请"], name
    assert create("ta-frank").status_code == 201
    assert create("ta-frank").status_code == 409  # this tenant's own member


# --- behind a proxy ------------------------------------------------------------------------

def _fail_from(client, forwarded_for, socket, n):
    codes = []
    for i in range(n):
        r = _login(client, f"nobody-{forwarded_for}-{i}", "wrong-password-1",
                   headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": socket})
        codes.append(r.status_code)
    return codes


def test_one_clients_failures_do_not_block_anothers_login_behind_a_proxy(app, client, factory,
                                                                         database, tmp_path):
    from anjian.app import create_app
    from anjian.extensions import db

    factory.user("bob", password=PASSWORD)
    limits = {"ANJIAN_LOGIN_MAX_FAILURES_PER_ADDRESS": 3, "ANJIAN_LOGIN_MAX_FAILURES_PER_USER": 100}
    proxied = create_app(app_config(database.app_url, tmp_path / "proxied", ANJIAN_TRUSTED_PROXIES=1,
                                    **limits))
    try:
        behind = proxied.test_client()
        # Client A (203.0.113.7) fails as often as an address may; both come through the proxy.
        assert _fail_from(behind, "203.0.113.7", "10.0.0.1", 4) == [401, 401, 401, 429]
        r = _login(behind, "bob", PASSWORD, headers={"X-Forwarded-For": "198.51.100.9"},
                   environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert r.status_code == 201, r.json  # client B is not blocked
        # The failures were counted against A's address, not the proxy's.
        from anjian.auth.models import LoginFailure
        from anjian.tenancy.scope import Scope, scoped
        with proxied.app_context(), scoped(db.session, Scope.platform_scope()):
            addresses = db.session.scalars(db.select(LoginFailure.address)).all()
        assert addresses == ["203.0.113.7"] * 3
    finally:
        with proxied.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()

    # Without a trusted proxy (the default) the header is ignored: the socket's address counts,
    # so a client cannot dodge the throttle by writing another address into it.
    app.config.update(limits)
    assert app.config["ANJIAN_TRUSTED_PROXIES"] == 0
    assert _fail_from(client, "192.0.2.1", "10.0.0.2", 3) == [401, 401, 401]
    r = _login(client, "bob", PASSWORD, headers={"X-Forwarded-For": "192.0.2.99"},
               environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert r.status_code == 429
    assert _login(client, "bob", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.3"}).status_code == 201
