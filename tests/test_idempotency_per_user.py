"""Idempotency keys per user and tenant, and replays re-checked (issue 22, point 5).

Another user who sends the same key and body is not handed the first user's answer: its
own request runs (and is judged as its own). A user whose access changed since the first
answer is not handed it either (409). The tenant admin's "add a member by username" neither
attaches another tenant's user nor tells whether a username exists.
"""

from __future__ import annotations

import itertools

import pytest

from anjian.auth.models import Membership
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

T = "/api/v1/tenants/ipu"
_serial = itertools.count(1)


def _enterprise(app, tenant_id, name):
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        row = Enterprise(credit_code=f"IPU{next(_serial):015d}", name=name)
        db.session.add(row)
        db.session.commit()
        return row.id


def _member(app, factory, username, tenant_id, role, enterprise_id=None):
    user_id, token = factory.user(username, password="a-long-password-1")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        db.session.add(Membership(user_id=user_id, role=role, enterprise_id=enterprise_id))
        db.session.commit()
    return user_id, bearer(token)


@pytest.fixture
def world(app, factory):
    tenant = factory.tenant("ipu")
    other = factory.tenant("ipu-other")
    w = {"tenant": tenant, "other": other,
         "mine": _enterprise(app, tenant, "甲机械厂"), "theirs": _enterprise(app, tenant, "乙化工厂")}
    _, w["admin"] = _member(app, factory, "ipu-admin", tenant, "tenant_admin")
    _, w["admin2"] = _member(app, factory, "ipu-admin2", tenant, "tenant_admin")
    w["sup_id"], w["sup"] = _member(app, factory, "ipu-sup", tenant, "supervisor")
    _, w["ent"] = _member(app, factory, "ipu-ent", tenant, "enterprise", w["mine"])
    _, w["other_admin"] = _member(app, factory, "ipu-other-admin", other, "tenant_admin")
    _, w["foreign_user"] = _member(app, factory, "ipu-other-viewer", other, "viewer")
    return w


def _report(client, headers, key, enterprise_id, title="配电箱未接地"):
    return client.post(f"{T}/hazards", json={"enterprise_id": enterprise_id, "title": title},
                       headers={**headers, "Idempotency-Key": key})


def test_another_users_replay_of_a_key_and_body_does_not_hand_over_the_hazard(client, world):
    """The issue's case: an enterprise user replays a supervisor's key and body, which named
    an enterprise it may not see; it must not receive that hazard (201, replayed)."""
    first = _report(client, world["sup"], "k-1", world["theirs"])
    assert first.status_code == 201
    hazard = first.json["id"]
    assert client.get(f"{T}/hazards/{hazard}", headers=world["ent"]).status_code == 404

    replay = _report(client, world["ent"], "k-1", world["theirs"])
    assert "Idempotent-Replayed" not in replay.headers
    assert replay.status_code == 404, replay.json  # its own request: an enterprise it cannot see
    assert replay.mimetype == "application/problem+json"
    assert "id" not in replay.json and replay.json["detail"] == "企业不存在"
    # The supervisor's own replay is still answered with the first answer.
    again = _report(client, world["sup"], "k-1", world["theirs"])
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.json["id"]) == (
        201, "true", hazard)


def test_the_same_key_from_two_users_is_two_keys(client, world):
    body = {"code": "s1", "name": "板块一", "kind": "sector"}
    one = client.post(f"{T}/areas", json=body, headers={**world["admin"], "Idempotency-Key": "same"})
    other = client.post(f"{T}/areas", json={**body, "code": "s2"},
                        headers={**world["admin2"], "Idempotency-Key": "same"})
    assert (one.status_code, other.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in other.headers
    assert one.json["id"] != other.json["id"]
    listed = client.get(f"{T}/areas", headers=world["admin"]).json
    assert sorted(a["code"] for a in listed["items"]) == ["s1", "s2"]


def test_a_replay_after_the_callers_access_changed_is_refused(app, client, world):
    first = _report(client, world["sup"], "k-2", world["theirs"])
    assert first.status_code == 201
    # The supervisor becomes the enterprise user of the other enterprise.
    member = next(m for m in client.get(f"{T}/members", headers=world["admin"]).json["items"]
                  if m["user_id"] == world["sup_id"])
    changed = client.patch(f"{T}/members/{member['id']}", headers=world["admin"],
                           json={"role": "enterprise", "enterprise_id": world["mine"]})
    assert changed.status_code == 200, changed.json
    replay = _report(client, world["sup"], "k-2", world["theirs"])
    assert replay.status_code == 409
    assert replay.json["type"] == "urn:anjian:problem:idempotency-access-changed"
    assert replay.json["detail"].startswith("您的权限在首次提交后已变更")
    assert "id" not in replay.json
    assert "Idempotent-Replayed" not in replay.headers


def test_a_replayed_error_is_still_problem_json(client, world):
    body = {"code": "s1", "name": "板块一", "kind": "castle"}
    first = client.post(f"{T}/areas", json=body, headers={**world["admin"], "Idempotency-Key": "bad"})
    assert first.status_code == 422
    again = client.post(f"{T}/areas", json=body, headers={**world["admin"], "Idempotency-Key": "bad"})
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (422, "true")
    assert again.mimetype == "application/problem+json"
    assert again.json["errors"] == first.json["errors"]


# --- adding a member by username ------------------------------------------------------------

MEMBERS = f"{T}/members"


def _strip(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("request_id", "instance")}


def test_a_tenant_admin_cannot_attach_another_tenants_user_nor_learn_that_it_exists(client, world):
    foreign = client.post(MEMBERS, headers=world["admin"],
                          json={"username": "ipu-other-viewer", "role": "viewer"})
    unknown = client.post(MEMBERS, headers=world["admin"],
                          json={"username": "nobody-at-all", "role": "viewer"})
    assert foreign.status_code == unknown.status_code == 422
    assert _strip(foreign.json) == _strip(unknown.json)
    assert foreign.json["errors"] == {"username": [
        "没有可添加的该用户：新用户请同时设置密码；已有账号的用户由平台管理员添加"]}
    listed = client.get(MEMBERS, headers=world["admin"]).json["items"]
    assert "ipu-other-viewer" not in {m["username"] for m in listed}
    # The other tenant's user still has only its own tenant.
    login = client.post("/api/v1/auth/login",
                        json={"username": "ipu-other-viewer", "password": "a-long-password-1"})
    me = client.get("/api/v1/me", headers=bearer(login.json["token"])).json
    assert [m["tenant_code"] for m in me["memberships"]] == ["ipu-other"]


def test_a_taken_username_with_a_password_is_409_and_changes_nobody(client, world):
    taken = client.post(MEMBERS, headers=world["admin"], json={
        "username": "ipu-other-viewer", "role": "viewer", "password": "attacker-chosen-1"})
    assert taken.status_code == 409
    assert taken.json["errors"] == {"username": ["用户名已被占用"]}
    assert client.post("/api/v1/auth/login", json={
        "username": "ipu-other-viewer", "password": "attacker-chosen-1"}).status_code == 401
    created = client.post(MEMBERS, headers=world["admin"], json={
        "username": "ipu-new", "role": "viewer", "password": "a-new-password-1"})
    assert created.status_code == 201 and created.json["username"] == "ipu-new"
    again = client.post(MEMBERS, headers=world["admin"], json={"username": "ipu-new", "role": "viewer"})
    assert (again.status_code, again.json["detail"]) == (409, "该用户已是本租户成员")


def test_a_platform_admin_still_attaches_an_existing_account(client, factory, world):
    _, root = factory.user("ipu-root", platform_admin=True)
    r = client.post(MEMBERS, headers=bearer(root),
                    json={"username": "ipu-other-viewer", "role": "viewer"})
    assert r.status_code == 201 and r.json["username"] == "ipu-other-viewer"
