"""Access links for enterprises without accounts (issue 21, point 2): a supervisor or a
service organisation issues a link for one enterprise; its holder reads the open hazards
with their deadlines, uploads evidence, submits "rectified" and fills in the named
self-inspection, and reaches nothing else; links expire, are revoked, are rate-limited,
and every use is audited with the declared name."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from io import BytesIO

import pytest

from anjian.links import guard as links_guard
from tests.conftest import bearer
from tests.test_hazards import FIVE, add_member, build_world, moved, problem_of, reported

HOLDER = "张三"


def holder(secret, name=HOLDER):
    return {**bearer(secret), "X-Anjian-Holder-Name": urllib.parse.quote(name)}


def png():
    return BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)


@pytest.fixture
def w(app, factory, client):
    w = build_world(app, factory, code="lk")
    w.base = "/api/v1/tenants/lk"
    w.link = f"{w.base}/link"
    r = client.post(f"{w.base}/checklist-templates", headers=w.h["admin"], json={
        "key": "self-check", "title": "企业自查表",
        "items": [{"code": "1", "text": "消防通道畅通"}, {"code": "2", "text": "配电箱接地"}]})
    assert r.status_code == 201, r.json
    return w


def issue(client, w, who="sup", **body):
    r = client.post(f"{w.base}/access-links", headers=w.h[who],
                    json={"enterprise_id": w.e1, **body})
    assert r.status_code == 201, r.json
    return r.json


def upload(client, w, secret):
    r = client.post(f"{w.link}/evidence", headers=holder(secret),
                    data={"file": (png(), "整改后.png")}, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    return r.json


def test_the_holder_rectifies_and_fills_in_the_self_inspection(app, client, w):
    planned = reported(client, w)  # e1, planned: rectifying with a deadline
    moved(client, w, planned, "plan", **FIVE)
    fresh = reported(client, w, title="安全出口堵塞")  # e1, reported, general
    closed = reported(client, w, title="已整改的")
    moved(client, w, closed, "refer", reason="refused", note="拒不整改")  # referred: closed
    other = reported(client, w, enterprise_id=w.e2)  # another enterprise's
    link = issue(client, w, template_key="self-check", contact_name="甲厂安全员")
    secret = link["secret"]
    assert secret.startswith("ajl_") and len(secret) >= 4 + 43  # 32 random bytes
    assert link["status"] == "active" and "secret" not in client.get(
        f"{w.base}/access-links/{link['id']}", headers=w.h["sup"]).json

    about = client.get(w.link, headers=holder(secret))
    assert about.status_code == 200, about.json
    assert about.json["enterprise_name"] == "甲机械厂"
    assert about.json["template_key"] == "self-check"

    listed = client.get(f"{w.link}/hazards", headers=holder(secret)).json
    assert {h["id"] for h in listed["items"]} == {planned, fresh}
    assert listed["total"] == 2
    deadline = client.get(f"{w.url}/{planned}", headers=w.h["sup"]).json["deadline"]
    assert deadline is not None
    assert next(h for h in listed["items"] if h["id"] == planned)["deadline"] == deadline
    assert client.get(f"{w.link}/hazards/{other}", headers=holder(secret)).status_code == 404
    assert client.get(f"{w.link}/hazards/{closed}", headers=holder(secret)).status_code == 404

    # evidence, then "rectified": the hazard moves as an enterprise user's would
    evidence = upload(client, w, secret)
    assert evidence["enterprise_id"] == w.e1 and evidence["uploaded_by"] is None
    no_files = client.post(f"{w.link}/hazards/{planned}/rectified", headers=holder(secret),
                           json={"evidence_ids": []})
    problem_of(no_files, 422)
    r = client.post(f"{w.link}/hazards/{planned}/rectified", headers=holder(secret),
                    json={"note": "已重新接地", "evidence_ids": [evidence["id"]]})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "rectified"
    seen = client.get(f"{w.url}/{planned}", headers=w.h["sup"]).json
    assert seen["state"] == "rectified" and seen["rectified_at"] is not None
    last = client.get(f"{w.url}/{planned}/history", headers=w.h["sup"]).json["items"][-1]
    assert (last["action"], last["from_state"], last["to_state"]) == (
        "rectified", "rectifying", "rectified")
    assert last["evidence_ids"] == [evidence["id"]]
    assert last["data"]["declared_name"] == HOLDER
    assert last["data"]["access_link_id"] == link["id"]
    # submitted once: a second time is a conflict, and nothing changes
    again = client.post(f"{w.link}/hazards/{planned}/rectified", headers=holder(secret),
                        json={"evidence_ids": [upload(client, w, secret)["id"]]})
    problem_of(again, 409)

    # a general hazard without a plan: rectified at once (立即整改), which needs a note
    photo = upload(client, w, secret)["id"]
    problem_of(client.post(f"{w.link}/hazards/{fresh}/rectified", headers=holder(secret),
                           json={"evidence_ids": [photo]}), 422)
    r = client.post(f"{w.link}/hazards/{fresh}/rectified", headers=holder(secret),
                    json={"note": "已清理出口", "evidence_ids": [photo]})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "rectified"
    assert client.get(f"{w.url}/{fresh}/history",
                      headers=w.h["sup"]).json["items"][-1]["action"] == "rectify_now"

    # the self-inspection the link names
    problem_of(client.get(f"{w.link}/inspection", headers=holder(secret)), 404)
    started = client.post(f"{w.link}/inspection", headers=holder(secret), json={})
    assert started.status_code == 200, started.json
    inspection = started.json["inspection"]
    assert (inspection["inspector_kind"], inspection["status"]) == ("self", "draft")
    assert inspection["enterprise_id"] == w.e1
    same = client.post(f"{w.link}/inspection", headers=holder(secret), json={})
    assert same.json["inspection"]["id"] == inspection["id"]
    items = [row["item_id"] for row in started.json["results"]]
    problem_of(client.post(f"{w.link}/inspection/submit", headers=holder(secret), json={}), 422)
    r = client.put(f"{w.link}/inspection/results", headers=holder(secret), json={"results": [
        {"item_id": items[0], "answer": "yes"},
        {"item_id": items[1], "answer": "no", "note": "接地线松动"}]})
    assert r.status_code == 200, r.json
    assert [row["answer"] for row in r.json["results"]] == ["yes", "no"]
    r = client.post(f"{w.link}/inspection/submit", headers=holder(secret),
                    json={"conclusion": "已自查"})
    assert r.status_code == 200, r.json
    assert r.json["inspection"]["status"] == "submitted"
    bureau = client.get(f"{w.base}/inspections/{inspection['id']}", headers=w.h["sup"]).json
    assert bureau["inspection"]["status"] == "submitted"
    assert bureau["inspection"]["inspector_kind"] == "self"
    problem_of(client.put(f"{w.link}/inspection/results", headers=holder(secret), json={
        "results": [{"item_id": items[0], "answer": "na"}]}), 409)


def test_the_holder_reaches_nothing_else(app, client, w):
    mine = reported(client, w)
    another = reported(client, w, title="另一条隐患")
    one = issue(client, w, hazard_id=mine)["secret"]
    # a link naming one hazard: only that one
    assert [h["id"] for h in client.get(f"{w.link}/hazards", headers=holder(one)).json[
        "items"]] == [mine]
    problem_of(client.get(f"{w.link}/hazards/{another}", headers=holder(one)), 404)
    problem_of(client.post(f"{w.link}/hazards/{another}/rectified", headers=holder(one),
                           json={"note": "x", "evidence_ids": [1]}), 404)
    # no self-inspection named: none to start
    problem_of(client.post(f"{w.link}/inspection", headers=holder(one), json={}), 404)
    # every other route of the tenant, and the platform's, refuse the link
    for path in ("/enterprises", "/members", "/hazards", f"/hazards/{mine}", "/inspections",
                 "/access-links", "/audit"):
        problem_of(client.get(f"{w.base}{path}", headers=holder(one)), 403)
    problem_of(client.post(f"{w.base}/hazards", headers=holder(one),
                           json={"enterprise_id": w.e1, "title": "冒充"}), 403)
    problem_of(client.post(f"{w.base}/evidence", headers=holder(one),
                           data={"file": (png(), "a.png")}, content_type="multipart/form-data"),
               403)
    problem_of(client.get("/api/v1/me", headers=holder(one)), 403)
    # another tenant's link routes: this link does not exist there
    problem_of(client.get("/api/v1/tenants/lk-other/link/hazards", headers=holder(one)), 401)
    problem_of(client.get("/api/v1/tenants/no-such/link/hazards", headers=holder(one)), 401)
    # a link of another enterprise sees none of e1's hazards
    e2 = issue(client, w, enterprise_id=w.e2)["secret"]
    assert client.get(f"{w.link}/hazards", headers=holder(e2)).json["items"] == []
    problem_of(client.get(f"{w.link}/hazards/{mine}", headers=holder(e2)), 404)
    # users' tokens do not reach the holder's routes; no credential at all is 401
    problem_of(client.get(f"{w.link}/hazards", headers=w.h["ent"]), 403)
    problem_of(client.get(f"{w.link}/hazards", headers=w.h["admin"]), 403)
    problem_of(client.get(f"{w.link}/hazards", headers=w.h["other_admin"]), 404)
    problem_of(client.get(f"{w.link}/hazards"), 401)
    # a made-up link
    problem_of(client.get(f"{w.link}/hazards", headers=holder("ajl_" + "x" * 43)), 401)


def test_a_declared_name_is_required_and_bounded(client, w):
    secret = issue(client, w)["secret"]
    body = problem_of(client.get(f"{w.link}/hazards", headers=bearer(secret)), 422)
    assert "X-Anjian-Holder-Name" in body["errors"]
    problem_of(client.get(f"{w.link}/hazards", headers=holder(secret, "   ")), 422)
    problem_of(client.get(f"{w.link}/hazards", headers=holder(secret, "名" * 51)), 422)
    bad = {**bearer(secret), "X-Anjian-Holder-Name": "%FF%FE"}  # not UTF-8
    problem_of(client.get(f"{w.link}/hazards", headers=bad), 422)
    assert client.get(f"{w.link}/hazards", headers=holder(secret, "名" * 50)).status_code == 200


def _expire(app, tenant_id, link_id):
    from anjian.clock import utcnow
    from anjian.extensions import db
    from anjian.links.models import AccessLink
    from tests.test_hazards import scoped_to

    with app.app_context(), scoped_to(tenant_id):
        db.session.get(AccessLink, link_id).expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()


def test_expired_and_revoked_links_are_refused(app, client, w):
    link = issue(client, w)
    secret = link["secret"]
    assert client.get(f"{w.link}/hazards", headers=holder(secret)).status_code == 200
    r = client.post(f"{w.base}/access-links/{link['id']}/revoke", headers=w.h["sup"], json={})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "revoked" and r.json["revoked_by"] == w.ids["sup"]
    body = problem_of(client.get(f"{w.link}/hazards", headers=holder(secret)), 401)
    assert body["detail"] == "访问链接已被撤销"
    problem_of(client.post(f"{w.base}/access-links/{link['id']}/revoke", headers=w.h["sup"],
                           json={}), 409)

    later = issue(client, w)
    _expire(app, w.tenant, later["id"])
    body = problem_of(client.get(f"{w.link}/hazards", headers=holder(later["secret"])), 401)
    assert body["detail"] == "访问链接已过期"
    statuses = client.get(f"{w.base}/access-links", headers=w.h["sup"]).json["items"]
    assert {(i["id"], i["status"]) for i in statuses} == {
        (link["id"], "revoked"), (later["id"], "expired")}
    only = client.get(f"{w.base}/access-links?status=expired", headers=w.h["sup"]).json
    assert [i["id"] for i in only["items"]] == [later["id"]]


def test_a_link_of_a_deleted_enterprise_is_refused(client, w):
    secret = issue(client, w)["secret"]
    assert client.get(f"{w.link}/hazards", headers=holder(secret)).status_code == 200
    r = client.delete(f"{w.base}/enterprises/{w.e1}", headers={
        **w.h["admin"], "If-Match": client.get(f"{w.base}/enterprises/{w.e1}",
                                               headers=w.h["admin"]).headers["ETag"]})
    assert r.status_code == 204, r.get_data(as_text=True)
    body = problem_of(client.get(f"{w.link}/hazards", headers=holder(secret)), 401)
    assert body["detail"] == "访问链接所属企业已被删除"


def test_links_are_rate_limited(app, client, w, monkeypatch):
    app.config["ANJIAN_LINK_REQUESTS_PER_MINUTE"] = 3
    minute = 29_000_000 * 60
    monkeypatch.setattr(links_guard, "_seconds", lambda: minute + 20.5)
    secret = issue(client, w)["secret"]
    other = issue(client, w)["secret"]
    for _ in range(3):
        assert client.get(f"{w.link}/hazards", headers=holder(secret)).status_code == 200
    r = client.get(f"{w.link}/hazards", headers=holder(secret))
    problem_of(r, 429)
    assert r.headers["Retry-After"] == "40"  # 39.5 s to the next minute, rounded up
    # another link has its own share; the next minute the first has a new one
    assert client.get(f"{w.link}/hazards", headers=holder(other)).status_code == 200
    monkeypatch.setattr(links_guard, "_seconds", lambda: minute + 60.0)
    assert client.get(f"{w.link}/hazards", headers=holder(secret)).status_code == 200


def test_every_use_is_audited_with_the_declared_name(app, client, w):
    hazard = reported(client, w)
    moved(client, w, hazard, "plan", **FIVE)
    link = issue(client, w)
    secret = link["secret"]
    client.get(f"{w.link}/hazards", headers=holder(secret, "李四"))
    photo = upload(client, w, secret)["id"]
    r = client.post(f"{w.link}/hazards/{hazard}/rectified", headers=holder(secret),
                    json={"evidence_ids": [photo]})
    assert r.status_code == 200, r.json
    uses = client.get(f"{w.base}/audit?action=link.use&entity_id={link['id']}",
                      headers=w.h["admin"]).json["items"]
    assert sorted((u["after"]["declared_name"], u["after"]["method"]) for u in uses) == [
        ("张三", "POST"), ("张三", "POST"), ("李四", "GET")]
    assert {u["entity_type"] for u in uses} == {"access_link"}
    assert all(u["actor_user_id"] is None and u["result"] == "ok" for u in uses)
    # the change itself carries the use's request id
    rectify = next(u for u in uses if "rectified" in u["detail"])
    changes = client.get(f"{w.base}/audit?action=hazard.update", headers=w.h["admin"]).json
    assert rectify["request_id"] in {c["request_id"] for c in changes["items"]}
    # refused uses are on record too
    _expire(app, w.tenant, link["id"])
    client.get(f"{w.link}/hazards", headers=holder(secret, "王五"))
    refused = client.get(f"{w.base}/audit?action=auth.expired_link",
                         headers=w.h["admin"]).json["items"]
    assert [u["after"]["declared_name"] for u in refused] == ["王五"]


def test_who_issues_links_for_which_enterprise(app, client, w):
    # a service organisation: only for the enterprises it serves (e1, assigned)
    mine = issue(client, w, who="svc")
    problem_of(client.post(f"{w.base}/access-links", headers=w.h["svc"],
                           json={"enterprise_id": w.e2}), 404)
    by_sup = issue(client, w, enterprise_id=w.e2)
    assert [i["id"] for i in client.get(f"{w.base}/access-links", headers=w.h["svc"]).json[
        "items"]] == [mine["id"]]
    problem_of(client.get(f"{w.base}/access-links/{by_sup['id']}", headers=w.h["svc"]), 404)
    problem_of(client.post(f"{w.base}/access-links/{by_sup['id']}/revoke", headers=w.h["svc"],
                           json={}), 404)
    assert client.get(f"{w.base}/access-links", headers=w.h["admin"]).json["total"] == 2
    # enterprise users and viewers do not issue links
    for who in ("ent", "viewer"):
        problem_of(client.post(f"{w.base}/access-links", headers=w.h[who],
                               json={"enterprise_id": w.e1}), 403)
    # another tenant's enterprise, hazard and links are absent
    problem_of(client.post(f"{w.base}/access-links", headers=w.h["sup"],
                           json={"enterprise_id": w.foreign_enterprise}), 404)
    problem_of(client.get(f"/api/v1/tenants/lk-other/access-links/{mine['id']}",
                          headers=w.h["other_admin"]), 404)
    # a hazard of another enterprise, an unknown checklist
    of_e2 = reported(client, w, enterprise_id=w.e2)
    problem_of(client.post(f"{w.base}/access-links", headers=w.h["sup"],
                           json={"enterprise_id": w.e1, "hazard_id": of_e2}), 422)
    problem_of(client.post(f"{w.base}/access-links", headers=w.h["sup"],
                           json={"enterprise_id": w.e1, "template_key": "nope"}), 422)


def test_the_default_validity_is_a_tenant_setting(app, client, w):
    from anjian.clock import utcnow

    policy = f"{w.base}/access-link-policy"
    assert client.get(policy, headers=w.h["sup"]).json == {"valid_days": 14}
    link = issue(client, w)
    expires = dt.datetime.fromisoformat(link["expires_at"])
    assert abs(expires - (utcnow() + dt.timedelta(days=14))) < dt.timedelta(minutes=1)
    problem_of(client.put(policy, headers=w.h["sup"], json={"valid_days": 7}), 403)
    problem_of(client.put(policy, headers=w.h["admin"], json={"valid_days": 91}), 422)
    assert client.put(policy, headers=w.h["admin"], json={"valid_days": 7}).json == {
        "valid_days": 7}
    expires = dt.datetime.fromisoformat(issue(client, w)["expires_at"])
    assert abs(expires - (utcnow() + dt.timedelta(days=7))) < dt.timedelta(minutes=1)
    expires = dt.datetime.fromisoformat(issue(client, w, valid_days=2)["expires_at"])
    assert abs(expires - (utcnow() + dt.timedelta(days=2))) < dt.timedelta(minutes=1)
    # the other tenant keeps the default
    assert client.get("/api/v1/tenants/lk-other/access-link-policy",
                      headers=w.h["other_admin"]).json == {"valid_days": 14}


def test_an_enterprise_member_is_not_a_link(app, client, w, factory):
    """A link's secret is no user token: it logs nobody in, and a user's token is no link."""
    secret = issue(client, w)["secret"]
    _, token = add_member(app, factory, "lk-ent3", w.tenant, "enterprise", w.e1)
    problem_of(client.get(f"{w.link}/hazards", headers={
        **token, "X-Anjian-Holder-Name": "x"}), 403)
    problem_of(client.get("/api/v1/me/tokens", headers=holder(secret)), 403)
