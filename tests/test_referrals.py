"""Enforcement referrals (移交执法, issue 4 point 7): from a hazard through the state machine,
for an uncooperative enterprise, decisions validated, closing, roles and isolation."""

from __future__ import annotations

import pytest

from tests.test_hazards import build_world, history, in_state, moved, problem_of, reported


@pytest.fixture
def w(app, factory):
    world = build_world(app, factory, code="rf")
    world.refs = f"/api/v1/tenants/{world.code}/enforcement-referrals"
    return world


def create(client, w, who="sup", **body):
    return client.post(w.refs, json=body, headers=w.h[who])


def created(client, w, who="sup", **body):
    r = create(client, w, who, **body)
    assert r.status_code == 201, r.json
    return r.json


def etag_of(client, w, referral_id):
    r = client.get(f"{w.refs}/{referral_id}", headers=w.h["admin"])
    assert r.status_code == 200, r.json
    return r.headers["ETag"]


def decide(client, w, referral_id, who="sup", etag=None, **body):
    headers = {**w.h[who], "If-Match": etag or etag_of(client, w, referral_id)}
    return client.patch(f"{w.refs}/{referral_id}", json=body, headers=headers)


def test_referral_from_an_overdue_hazard_moves_it_to_referred(client, w):
    hid = in_state(client, w, "overdue")
    ref = created(client, w, hazard_id=hid, reason="overdue", reason_text="逾期三天仍未整改")
    assert (ref["hazard_id"], ref["enterprise_id"], ref["status"], ref["reason_label"]) == (
        hid, w.e1, "open", "逾期未整改")
    assert ref["referred_by"] == w.ids["sup"] and ref["reason_text"] == "逾期三天仍未整改"
    hazard = client.get(f"{w.url}/{hid}", headers=w.h["viewer"]).json
    assert (hazard["state"], hazard["state_label"]) == ("referred", "已移交执法")
    last = history(client, w, hid)[-1]
    assert (last["action"], last["from_state"], last["to_state"], last["note"]) == (
        "refer", "overdue", "referred", "逾期三天仍未整改")
    assert last["data"]["referral_id"] == ref["id"] and last["data"]["reason"] == "overdue"
    assert w.recorder.calls[-1] == (hid, "overdue", "referred", w.ids["sup"])
    # A referred hazard is out of the loop: no second referral, no verification.
    again = problem_of(create(client, w, hazard_id=hid, reason="refused"), 409)
    assert "已移交执法" in again["detail"]
    listed = client.get(w.refs, query_string={"hazard_id": hid}, headers=w.h["viewer"]).json
    assert [r["id"] for r in listed["items"]] == [ref["id"]]


def test_refer_transition_creates_the_referral_too(client, w):
    refused = reported(client, w)
    no_reason = problem_of(client.post(
        f"{w.url}/{refused}/transitions", json={"action": "refer"},
        headers={**w.h["sup"], "If-Match": client.get(f"{w.url}/{refused}",
                                                      headers=w.h["sup"]).headers["ETag"]}), 422)
    assert "reason" in no_reason["errors"]
    moved(client, w, refused, "refer", reason="refused", note="企业拒绝整改")
    late = in_state(client, w, "overdue")
    moved(client, w, late, "refer")  # an overdue hazard is referred for being overdue
    items = client.get(w.refs, query_string={"reason": "overdue"}, headers=w.h["admin"]).json
    assert [(r["hazard_id"], r["reason"]) for r in items["items"]] == [(late, "overdue")]
    items = client.get(w.refs, headers=w.h["admin"]).json["items"]
    assert {(r["hazard_id"], r["reason"], r["reason_text"]) for r in items} == {
        (refused, "refused", "企业拒绝整改"), (late, "overdue", "")}
    verified = in_state(client, w, "verified")
    problem_of(create(client, w, hazard_id=verified, reason="refused"), 409)


def test_referral_of_an_uncooperative_enterprise_without_a_hazard(client, w):
    ref = created(client, w, "admin", enterprise_id=w.e2, reason="uncooperative",
                  reason_text="拒绝检查人员进入", campaign_id=w.campaign)
    assert (ref["hazard_id"], ref["enterprise_id"], ref["campaign_id"]) == (None, w.e2, w.campaign)
    # Overdue and refused are about a hazard: name it.
    assert "reason" in problem_of(create(client, w, enterprise_id=w.e2, reason="overdue"),
                                  422)["errors"]
    assert "enterprise_id" in problem_of(create(client, w, reason="uncooperative"), 422)["errors"]
    assert "reason_text" in problem_of(create(client, w, enterprise_id=w.e2, reason="other"),
                                       422)["errors"]
    foreign = problem_of(create(client, w, enterprise_id=w.foreign_enterprise,
                                reason="uncooperative"), 422)
    missing = problem_of(create(client, w, enterprise_id=987654, reason="uncooperative"), 422)
    assert foreign["errors"] == missing["errors"]
    hid = reported(client, w, enterprise_id=w.e1)
    assert "enterprise_id" in problem_of(create(client, w, hazard_id=hid, enterprise_id=w.e2,
                                                reason="refused"), 422)["errors"]
    assert "hazard_id" in problem_of(create(client, w, hazard_id=987654, reason="refused"),
                                     422)["errors"]
    assert problem_of(create(client, w, enterprise_id=w.e2, reason="angry"), 422)
    assert client.get(w.refs, headers=w.h["admin"]).json["total"] == 1
    assert client.get(f"{w.url}/{hid}", headers=w.h["sup"]).json["state"] == "reported"


def test_decisions_are_validated_then_closed(client, w):
    ref = created(client, w, enterprise_id=w.e1, reason="uncooperative")["id"]
    url = f"{w.refs}/{ref}"
    problem_of(client.patch(url, json={"decision": "penalty"}, headers=w.h["sup"]), 428)
    assert problem_of(decide(client, w, ref, decision="penalty"),
                      422)["errors"] == {"penalty_amount": ["必填项"]}
    assert "penalty_amount" in problem_of(decide(client, w, ref, decision="penalty",
                                                 penalty_amount="0"), 422)["errors"]
    assert "penalty_amount" in problem_of(decide(client, w, ref, decision="order_rectify",
                                                 penalty_amount="100"), 422)["errors"]
    assert "decision" in problem_of(decide(client, w, ref, decision="warning"),
                                    422)["errors"]["json"]
    assert "decision" in problem_of(decide(client, w, ref), 422)["errors"]["json"]
    # Closing before a decision is out of order.
    early = problem_of(client.post(f"{url}/close", json={"outcome": "x"}, headers=w.h["sup"]),
                       409)
    assert "待处理" in early["detail"]
    tag = etag_of(client, w, ref)
    r = decide(client, w, ref, etag=tag, decision="penalty", penalty_amount="50000",
               decision_note="依据《安全生产法》第九十七条")
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["decision"], r.json["decision_label"]) == (
        "decided", "penalty", "行政处罚")
    assert r.json["penalty_amount"] == "50000.00" and r.json["decided_by"] == w.ids["sup"]
    # The second writer with the old ETag changes nothing; a fresh one finds it decided.
    problem_of(decide(client, w, ref, "admin", etag=tag, decision="suspension"), 412)
    assert "已决定" in problem_of(decide(client, w, ref, "admin", decision="suspension"),
                                  409)["detail"]
    assert "outcome" in problem_of(client.post(f"{url}/close", json={"outcome": ""},
                                               headers=w.h["sup"]), 422)["errors"]["json"]
    closed = client.post(f"{url}/close", json={"outcome": "已缴纳罚款并完成整改"},
                         headers=w.h["admin"])
    assert closed.status_code == 200, closed.json
    assert (closed.json["status"], closed.json["status_label"]) == ("closed", "已办结")
    assert closed.json["closed_at"] and closed.json["outcome"] == "已缴纳罚款并完成整改"
    problem_of(client.post(f"{url}/close", json={"outcome": "again"}, headers=w.h["sup"]), 409)
    got = client.get(url, headers=w.h["viewer"]).json
    assert (got["decision"], got["penalty_amount"], got["decision_note"]) == (
        "penalty", "50000.00", "依据《安全生产法》第九十七条")
    for status, expected in (("closed", [ref]), ("open", [])):
        listed = client.get(w.refs, query_string={"status": status}, headers=w.h["viewer"]).json
        assert [x["id"] for x in listed["items"]] == expected


def test_only_supervisors_and_admins_write_viewers_read(client, w):
    ref = created(client, w, enterprise_id=w.e1, reason="uncooperative")["id"]
    url = f"{w.refs}/{ref}"
    tag = etag_of(client, w, ref)
    for who in ("viewer", "ent", "svc"):
        problem_of(create(client, w, who, enterprise_id=w.e1, reason="uncooperative"), 403)
        problem_of(decide(client, w, ref, who, etag=tag, decision="order_rectify"), 403)
        problem_of(client.post(f"{url}/close", json={"outcome": "x"}, headers=w.h[who]), 403)
    for who in ("ent", "svc"):
        problem_of(client.get(w.refs, headers=w.h[who]), 403)
        problem_of(client.get(url, headers=w.h[who]), 403)
    assert client.get(url, headers=w.h["viewer"]).status_code == 200
    assert client.get(w.refs, headers=w.h["viewer"]).json["total"] == 1
    assert client.get(url, headers=w.h["admin"]).json["status"] == "open"


def test_another_tenants_referral_is_404_like_a_missing_one(client, w):
    ref = created(client, w, enterprise_id=w.e1, reason="uncooperative")["id"]
    other = f"/api/v1/tenants/{w.code}-other/enforcement-referrals"
    head = w.h["other_admin"]
    foreign = problem_of(client.get(f"{other}/{ref}", headers=head), 404)
    missing = problem_of(client.get(f"{other}/987654", headers=head), 404)
    assert (foreign["title"], foreign["detail"]) == (missing["title"], missing["detail"])
    problem_of(client.patch(f"{other}/{ref}", json={"decision": "order_rectify"},
                            headers={**head, "If-Match": etag_of(client, w, ref)}), 404)
    problem_of(client.post(f"{other}/{ref}/close", json={"outcome": "x"}, headers=head), 404)
    assert client.get(other, headers=head).json["total"] == 0
    # A hazard of this tenant cannot be referred from the other one.
    hid = reported(client, w)
    problem_of(client.post(other, json={"hazard_id": hid, "reason": "refused"}, headers=head),
               422)
    assert client.get(f"{w.url}/{hid}", headers=w.h["sup"]).json["state"] == "reported"
    problem_of(client.get(w.refs, headers=head), 404)


def test_enforcement_candidates_come_from_the_tenants_plugins_only(client, w):
    """The core proposes nobody by itself (no plugin of this tenant answers the hook); a
    campaign of another tenant is as absent as a missing one."""
    campaign = client.post(f"/api/v1/tenants/{w.code}/campaigns", headers=w.h["admin"],
                           json={"title": "候选测试行动"})
    assert campaign.status_code == 201, campaign.json
    cid = campaign.json["id"]
    url = f"{w.refs}/candidates"
    listed = client.get(url, query_string={"campaign_id": cid}, headers=w.h["viewer"])
    assert listed.status_code == 200
    assert (listed.json["items"], listed.json["total"]) == ([], 0)
    other = f"/api/v1/tenants/{w.code}-other/enforcement-referrals/candidates"
    foreign = problem_of(client.get(other, query_string={"campaign_id": cid},
                                    headers=w.h["other_admin"]), 404)
    missing = problem_of(client.get(other, query_string={"campaign_id": 987654},
                                    headers=w.h["other_admin"]), 404)
    assert foreign["detail"] == missing["detail"]
