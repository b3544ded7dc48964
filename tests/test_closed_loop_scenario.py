"""The closed loop end to end, through the HTTP API only (issue 4, "tests that must exist").

campaign -> inspection with a "no" -> major hazard raised -> supervisors notified ->
five-in-place -> rectified with evidence -> verification rejected -> rectified again ->
verified; a second hazard passes its deadline, the scheduled scan marks it overdue, a
referral is made, decided and closed. Every wrong role is refused on the way.
"""

from __future__ import annotations

import datetime as dt
import io
import time

from stdnum.cn import uscc

from tests.conftest import bearer

T = "/api/v1/tenants/loop"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PASSWORD = "a-long-password-42"


def _code(n: int) -> str:
    base = f"91120105MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def _ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def _member(client, admin, username, role, **extra):
    _ok(client.post(f"{T}/members", headers=admin,
                    json={"username": username, "role": role, "password": PASSWORD, **extra}),
        201)
    login = _ok(client.post("/api/v1/auth/login",
                            json={"username": username, "password": PASSWORD}), 201)
    return bearer(login["token"])


def _etag(client, url, headers):
    return client.get(url, headers=headers).headers["ETag"]


def _move(client, headers, hazard_id, reader, action, status=200, **body):
    url = f"{T}/hazards/{hazard_id}"
    return client.post(f"{url}/transitions", json={"action": action, **body},
                       headers={**headers, "If-Match": _etag(client, url, reader)}), status


def _transition(client, headers, hazard_id, reader, action, status=200, **body):
    response, expected = _move(client, headers, hazard_id, reader, action, status, **body)
    assert response.status_code == expected, response.get_data(as_text=True)
    return response.json


def _evidence(client, headers, enterprise_id):
    return _ok(client.post(f"{T}/evidence", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(PNG), "整改后照片.png", "image/png"),
                                 "enterprise_id": str(enterprise_id)}), 201)["id"]


def test_campaign_to_verified_hazard_and_overdue_to_referral(app, client, factory):
    factory.tenant("loop", name="天津市河北区商务局")
    _, root = factory.user("root", platform_admin=True)
    admin = bearer(root)

    # --- the registry and the people -------------------------------------------------
    factory_ent = _ok(client.post(f"{T}/enterprises", headers=admin, json={
        "credit_code": _code(1), "name": "河北区某大型商超", "industry": "商贸"}), 201)
    other_ent = _ok(client.post(f"{T}/enterprises", headers=admin, json={
        "credit_code": _code(2), "name": "河北区某菜市场", "industry": "商贸"}), 201)
    supervisor = _member(client, admin, "inspector-li", "supervisor")
    service_org = _member(client, admin, "third-party-wang", "service_org")
    owner = _member(client, admin, "boss-zhao", "enterprise", enterprise_id=factory_ent["id"])
    other_owner = _member(client, admin, "boss-qian", "enterprise",
                          enterprise_id=other_ent["id"])
    viewer = _member(client, admin, "viewer-sun", "viewer")
    ent_id = factory_ent["id"]

    # --- checklist and campaign ---------------------------------------------------------
    template = _ok(client.post(f"{T}/checklist-templates", headers=admin, json={
        "key": "fire-2023", "title": "消防安全重点检查表", "items": [
            {"code": "F1", "text": "安全出口、疏散通道畅通", "category": "消防安全",
             "part": "onsite", "is_major_criterion": True,
             "legal_basis": "《商贸企业重大事故隐患判定标准》"},
            {"code": "F2", "text": "消防安全管理制度健全", "category": "消防安全",
             "part": "document"},
        ]}), 201)
    campaign = _ok(client.post(f"{T}/campaigns", headers=admin, json={
        "title": "重大事故隐患排查整治专项行动", "starts_on": "2026-05-01",
        "ends_on": "2026-12-31", "phases": [
            {"key": "self", "title": "企业自查自改", "starts_on": "2026-06-01",
             "ends_on": "2026-06-30"},
            {"key": "supervision", "title": "部门督导", "starts_on": "2026-07-01",
             "ends_on": "2026-11-30"}]}), 201)
    cid = campaign["id"]
    _ok(client.post(f"{T}/campaigns/{cid}/status", headers=admin, json={"status": "active"}))
    assert client.post(f"{T}/campaigns", headers=viewer, json={"title": "x"}).status_code == 403
    added = _ok(client.post(f"{T}/campaigns/{cid}/targets", headers=admin,
                            json={"enterprise_ids": [ent_id, other_ent["id"]]}))
    assert added["added"] == 2

    # --- a department inspection with a "no" raising a major hazard ---------------------
    assert client.post(f"{T}/inspections", headers=viewer, json={
        "enterprise_id": ent_id, "template_key": "fire-2023"}).status_code == 403
    # The enterprise user may self-inspect its own enterprise only.
    assert client.post(f"{T}/inspections", headers=other_owner, json={
        "enterprise_id": ent_id, "template_key": "fire-2023"}).status_code == 404
    inspection = _ok(client.post(f"{T}/inspections", headers=supervisor, json={
        "enterprise_id": ent_id, "campaign_id": cid, "template_key": "fire-2023"}), 201)
    iid = inspection["inspection"]["id"]
    assert [r["code"] for r in inspection["results"]] == ["F1", "F2"]
    items = {i["code"]: i["id"] for i in template["items"]}
    answered = _ok(client.put(f"{T}/inspections/{iid}/results/{items['F1']}", headers=supervisor,
                              json={"answer": "no", "note": "二层安全出口被货物堵塞",
                                    "raise_hazard": {"location": "二层东侧安全出口"}}))
    hazard_id = answered["hazard_id"]
    _ok(client.put(f"{T}/inspections/{iid}/results/{items['F2']}", headers=supervisor,
                   json={"answer": "yes"}))
    _ok(client.post(f"{T}/inspections/{iid}/submit", headers=supervisor, json={}))
    assert client.put(f"{T}/inspections/{iid}/results/{items['F2']}", headers=supervisor,
                      json={"answer": "no"}).status_code in (409, 422)

    hazard = _ok(client.get(f"{T}/hazards/{hazard_id}", headers=supervisor))
    assert (hazard["grade"], hazard["state"], hazard["source"]) == ("major", "reported",
                                                                     "department")
    assert hazard["campaign_id"] == cid and hazard["enterprise_id"] == ent_id

    # --- supervisors and admins hear of the major hazard at once; others do not ---------
    for headers in (supervisor,):
        notes = _ok(client.get(f"{T}/notifications", headers=headers))["items"]
        assert [n["hazard_id"] for n in notes] == [hazard_id]
    for headers in (service_org, viewer):
        assert _ok(client.get(f"{T}/notifications", headers=headers))["total"] == 0
    # ... and the owner hears of it as its own to rectify.
    notes = _ok(client.get(f"{T}/notifications", headers=owner))["items"]
    assert [(n["kind"], n["hazard_id"]) for n in notes] == [("hazard_assigned", hazard_id)]

    # --- who may see it ----------------------------------------------------------------
    assert client.get(f"{T}/hazards/{hazard_id}", headers=other_owner).status_code == 404
    assert client.get(f"{T}/hazards/{hazard_id}", headers=service_org).status_code == 404
    assert client.get(f"{T}/hazards/{hazard_id}", headers=owner).status_code == 200

    # --- five in place, required before rectifying a major hazard --------------------
    r, _ = _move(client, owner, hazard_id, owner, "rectify_now", note="已清理")
    assert r.status_code == 409  # a major hazard is never "rectified at once"
    r, _ = _move(client, owner, hazard_id, owner, "plan", responsible_person="赵经理")
    assert r.status_code == 422 and {"measures", "contingency_plan"} <= set(r.json["errors"])
    r, _ = _move(client, viewer, hazard_id, owner, "plan")
    assert r.status_code == 403
    plan = {"responsible_person": "赵经理", "measures": "清理通道货物，设置禁止堆放标识",
            "funds": "5000.00", "deadline_workdays": 5, "contingency_plan": "专人值守疏散通道"}
    planned = _transition(client, owner, hazard_id, owner, "plan", **plan)
    assert planned["state"] == "rectifying" and planned["deadline"]

    # --- rectified with evidence; verification rejected; rectified again; verified ------
    first_photo = _evidence(client, owner, ent_id)
    _transition(client, owner, hazard_id, owner, "rectified", note="通道已清理",
                evidence_ids=[first_photo])
    r, _ = _move(client, owner, hazard_id, owner, "verify")
    assert r.status_code == 403  # an enterprise never verifies its own hazard
    r, _ = _move(client, viewer, hazard_id, owner, "verify")
    assert r.status_code == 403
    rejected = _transition(client, supervisor, hazard_id, owner, "reject",
                           note="东侧仍有货物堆放")
    assert rejected["state"] == "rectifying"
    second_photo = _evidence(client, owner, ent_id)
    _transition(client, owner, hazard_id, owner, "rectified", note="已全部清理",
                evidence_ids=[second_photo])
    verified = _transition(client, supervisor, hazard_id, owner, "verify", note="复查合格，销号")
    assert verified["state"] == "verified" and verified["verified_at"]
    r, _ = _move(client, supervisor, hazard_id, owner, "reject", note="再驳回")
    assert r.status_code == 409  # closed is closed

    history = _ok(client.get(f"{T}/hazards/{hazard_id}/history", headers=owner))["items"]
    steps = [(e["from_state"], e["to_state"]) for e in sorted(history, key=lambda e: e["id"])]
    assert steps == [(None, "reported"), ("reported", "rectifying"),
                     ("rectifying", "rectified"), ("rectified", "rectifying"),
                     ("rectifying", "rectified"), ("rectified", "verified")]
    with_files = [e["evidence_ids"] for e in sorted(history, key=lambda e: e["id"])
                  if e["evidence_ids"]]
    assert with_files == [[first_photo], [second_photo]]

    # --- a second hazard passes its deadline: the scan marks it, a referral follows -----
    found_on = dt.date(2026, 9, 21)  # a Monday before National Day
    second = _ok(client.post(f"{T}/hazards", headers=supervisor, json={
        "enterprise_id": other_ent["id"], "campaign_id": cid, "title": "燃气报警器未安装",
        "found_on": found_on.isoformat(), "location": "熟食加工区"}), 201)
    assert second["grade"] == "general" and second["deadline"]
    deadline = dt.date.fromisoformat(second["deadline"])
    # Ten working days after 21 September 2026 skip the National Day week.
    assert deadline > dt.date(2026, 10, 8)
    r, _ = _move(client, owner, second["id"], supervisor, "plan")
    assert r.status_code == 404  # another enterprise's hazard does not exist for this owner

    from anjian.hazards.jobs import scan_all_tenants
    from anjian.jobs import embedded

    with app.app_context():  # what the daily schedule does, the day after the deadline
        scan_all_tenants(deadline + dt.timedelta(days=1))
    embedded.drain(app)  # the in-process worker (not started by itself under tests)
    jobs = _wait_jobs(client, admin, kind="overdue_scan")
    assert [j["status"] for j in jobs] == ["finished"]
    overdue = _ok(client.get(f"{T}/hazards/{second['id']}", headers=supervisor))
    assert overdue["state"] == "overdue" and overdue["overdue_at"]
    with app.app_context():
        scan_all_tenants(deadline + dt.timedelta(days=1))  # the same day again: no new job
    embedded.drain(app)
    assert len(_wait_jobs(client, admin, kind="overdue_scan")) == 1

    progress = _ok(client.get(f"{T}/campaigns/{cid}/progress", headers=viewer))
    assert progress["targets"] == 2 and progress["inspected"] == 1
    assert progress["hazards"]["by_grade_state"]["major"]["verified"] == 1
    assert progress["hazards"]["by_grade_state"]["general"]["overdue"] == 1
    assert progress["overdue"]["hazards"] == 1

    body = {"hazard_id": second["id"], "reason": "overdue", "reason_text": "逾期未整改"}
    assert client.post(f"{T}/enforcement-referrals", headers=owner, json=body).status_code == 403
    assert client.post(f"{T}/enforcement-referrals", headers=viewer,
                       json=body).status_code == 403
    referral = _ok(client.post(f"{T}/enforcement-referrals", headers=supervisor, json=body), 201)
    assert _ok(client.get(f"{T}/hazards/{second['id']}", headers=supervisor))["state"] == \
        "referred"
    url = f"{T}/enforcement-referrals/{referral['id']}"
    decided = _ok(client.patch(url, headers={**supervisor, "If-Match": _etag(client, url, admin)},
                               json={"decision": "penalty", "penalty_amount": "20000.00",
                                     "decision_note": "依法给予罚款"}))
    assert decided["status"] == "decided"
    closed = _ok(client.post(f"{url}/close", headers=supervisor, json={"outcome": "罚款已缴纳"}))
    assert closed["status"] == "closed"

    # Every step above is in the tenant's audit log, under the actor who took it.
    audit = _ok(client.get(f"{T}/audit", headers=admin, query_string={"per_page": 200}))
    actions = {e["action"] for e in audit["items"]}
    assert {"hazard.create", "hazardevent.create", "notification.create", "hazard.overdue_scan",
            "enforcementreferral.create", "enforcementreferral.update"} <= actions
    # Refusals are on record too.
    assert "denied.role" in actions


def _wait_jobs(client, admin, kind, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        jobs = [j for j in _ok(client.get(f"{T}/jobs", headers=admin))["items"]
                if j["kind"] == kind]
        if jobs and all(j["status"] in ("finished", "failed") for j in jobs):
            return jobs
        assert time.monotonic() < deadline, jobs
        time.sleep(0.05)
