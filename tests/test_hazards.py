"""The hazard closed loop (issue 4, points 4 and 8; RELIABILITY 23): reporting by role,
the state machine with its role and state refusals, five-in-place, history, major hazard
notifications and the hook, ETag/If-Match and concurrent changes, visibility and isolation."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from types import SimpleNamespace

import pytest

from anjian.clock import local_today
from anjian.plugin_api import hookimpl
from tests.conftest import bearer, tenant_context

PROBLEM = "application/problem+json"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
FIVE = {"responsible_person": "张三", "measures": "更换配电箱并接地", "funds": "1200.50",
        "deadline_workdays": 5, "contingency_plan": "停用该区域，设置警示"}
_serial = itertools.count(1)


class Recorder:
    """A plugin recording every hazard transition it hears of."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def on_hazard_transition(self, hazard, from_state, to_state, actor):
        self.calls.append((hazard.id, from_state, to_state, getattr(actor, "id", None)))


class MajorWhenAsked:
    """Grades a hazard major when its title says so (重大)."""

    @hookimpl
    def grade_hazard(self, hazard):
        return "major" if "重大" in hazard.title else None


# --- the world ------------------------------------------------------------------------------

def scoped_to(tenant_id, user_id=None):
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    return scoped(db.session, Scope.tenant(tenant_id, user_id))


def add_enterprise(app, tenant_id, name):
    from anjian.enterprises.models import Enterprise
    from anjian.extensions import db

    with app.app_context(), scoped_to(tenant_id):
        row = Enterprise(credit_code=f"TEST{next(_serial):014d}", name=name)
        db.session.add(row)
        db.session.commit()
        return row.id


def add_member(app, factory, username, tenant_id, role, enterprise_id=None):
    from anjian.auth.models import Membership
    from anjian.extensions import db

    user_id, token = factory.user(username)
    with app.app_context(), scoped_to(tenant_id):
        db.session.add(Membership(user_id=user_id, role=role, enterprise_id=enterprise_id))
        db.session.commit()
    return user_id, bearer(token)


def assign(app, tenant_id, enterprise_id, user_id):
    """Assign an enterprise to a service organisation's user through a campaign target."""
    from anjian.campaigns.models import Campaign, CampaignTarget
    from anjian.extensions import db

    with app.app_context(), scoped_to(tenant_id):
        campaign = Campaign(title="第三方服务", status="active")
        db.session.add(campaign)
        db.session.flush()
        db.session.add(CampaignTarget(campaign_id=campaign.id, enterprise_id=enterprise_id,
                                      assignee_user_id=user_id))
        db.session.commit()
        return campaign.id


def add_evidence(app, tenant_id, enterprise_id, user_id, n=1):
    from anjian.evidence import Evidence
    from anjian.extensions import db

    with app.app_context(), scoped_to(tenant_id, user_id):
        rows = [Evidence(object_key=f"tenants/{tenant_id}/evidence/{uuid.uuid4().hex}",
                         filename="整改后.jpg", content_type="image/jpeg", size=1024,
                         enterprise_id=enterprise_id, uploaded_by=user_id) for _ in range(n)]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


def build_world(app, factory, code="hz"):
    """Tenant ``code`` with every kind of user, two enterprises, a recorder plugin and a
    plugin grading "重大" titles major; another tenant with its own admin and enterprise."""
    registry = app.extensions["anjian.plugins"]
    recorder = Recorder()
    if "hz_recorder" not in registry.plugins:
        registry.register("hz_recorder", recorder)
        registry.register("hz_major", MajorWhenAsked())
    else:
        recorder = registry.plugins["hz_recorder"]
    tenant = factory.tenant(code, plugins=["hz_recorder", "hz_major"])
    other = factory.tenant(f"{code}-other")
    w = SimpleNamespace(app=app, tenant=tenant, other=other, code=code, recorder=recorder,
                        url=f"/api/v1/tenants/{code}/hazards")
    w.e1 = add_enterprise(app, tenant, "甲机械厂")
    w.e2 = add_enterprise(app, tenant, "乙化工厂")
    w.foreign_enterprise = add_enterprise(app, other, "外地企业")
    ids, heads = {}, {}
    for name, role in (("admin", "tenant_admin"), ("sup", "supervisor"), ("sup2", "supervisor"),
                       ("viewer", "viewer"), ("svc", "service_org"), ("svc2", "service_org")):
        ids[name], heads[name] = add_member(app, factory, f"{code}-{name}", tenant, role)
    ids["ent"], heads["ent"] = add_member(app, factory, f"{code}-ent", tenant, "enterprise", w.e1)
    ids["ent2"], heads["ent2"] = add_member(app, factory, f"{code}-ent2", tenant, "enterprise",
                                            w.e2)
    ids["other_admin"], heads["other_admin"] = add_member(app, factory, f"{code}-oadm", other,
                                                          "tenant_admin")
    root_id, root = factory.user(f"{code}-root", platform_admin=True)
    ids["root"], heads["root"] = root_id, bearer(root)
    w.campaign = assign(app, tenant, w.e1, ids["svc"])
    w.ids, w.h = ids, heads
    return w


@pytest.fixture
def hz(app, factory):
    return build_world(app, factory)


def problem_of(r, status):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == PROBLEM
    assert r.json["status"] == status and CHINESE.search(r.json["title"])
    return r.json


def report(client, w, who="sup", **fields):
    body = {"enterprise_id": w.e1, "title": "配电箱未接地", **fields}
    return client.post(w.url, json=body, headers=w.h[who])


def reported(client, w, who="sup", **fields):
    r = report(client, w, who, **fields)
    assert r.status_code == 201, r.json
    return r.json["id"]


def etag_of(client, w, hazard_id, who="admin"):
    r = client.get(f"{w.url}/{hazard_id}", headers=w.h[who])
    assert r.status_code == 200, r.json
    return r.headers["ETag"]


def move(client, w, hazard_id, action, who="sup", etag=None, **body):
    headers = dict(w.h[who])
    headers["If-Match"] = etag or etag_of(client, w, hazard_id)
    return client.post(f"{w.url}/{hazard_id}/transitions", json={"action": action, **body},
                       headers=headers)


def moved(client, w, hazard_id, action, who="sup", **body):
    r = move(client, w, hazard_id, action, who, **body)
    assert r.status_code == 200, r.json
    return r.json


def history(client, w, hazard_id, who="admin"):
    r = client.get(f"{w.url}/{hazard_id}/history", headers=w.h[who])
    assert r.status_code == 200, r.json
    return r.json["items"]


def in_state(client, w, state, **fields):
    """A general hazard of e1 driven to ``state`` through the API (overdue by the scan step)."""
    hazard_id = reported(client, w, **fields)
    if state == "reported":
        return hazard_id
    if state == "referred":
        moved(client, w, hazard_id, "refer", reason="refused", note="拒不整改")
        return hazard_id
    moved(client, w, hazard_id, "plan", **FIVE)
    if state == "overdue":
        mark_overdue(w, hazard_id)
        return hazard_id
    if state == "rectifying":
        return hazard_id
    moved(client, w, hazard_id, "rectified", evidence_ids=add_evidence(
        w.app, w.tenant, w.e1, w.ids["sup"]))
    if state == "verified":
        moved(client, w, hazard_id, "verify")
    return hazard_id


def mark_overdue(w, hazard_id, days_after=1):
    from anjian.extensions import db
    from anjian.hazards import service
    from anjian.hazards.models import Hazard

    with w.app.app_context(), scoped_to(w.tenant):
        hazard = db.session.get(Hazard, hazard_id)
        done = service.mark_overdue(tenant_context(w.tenant), hazard,
                                    hazard.deadline + dt.timedelta(days=days_after))
        db.session.commit()
        return done


# --- reporting ------------------------------------------------------------------------------

def test_report_hazard_service_grades_sets_deadline_and_notifies(app, factory):
    from anjian.extensions import db
    from anjian.hazards import service
    from anjian.hazards.models import HazardEvent
    from anjian.notifications import Notification

    w = build_world(app, factory)
    with app.app_context(), scoped_to(w.tenant, w.ids["sup"]):
        system = tenant_context(w.tenant, w.ids["sup"])
        general = service.report_hazard(system, enterprise_id=w.e1, source="department",
                                        title="配电箱未接地", found_on=dt.date(2026, 3, 2))
        major = service.report_hazard(system, enterprise_id=w.e2, source="self", title="重大：储罐泄漏",
                                      found_on=dt.date(2026, 3, 2), immediate=True)
        db.session.commit()
        # Ten working days after Monday 2 March 2026 (the default); none for a major one.
        assert (general.grade, general.deadline) == ("general", dt.date(2026, 3, 16))
        assert (general.deadline_start, general.deadline_workdays) == (dt.date(2026, 3, 2), 10)
        assert (major.grade, major.deadline, major.immediate) == ("major", None, False)
        events = db.session.scalars(db.select(HazardEvent).order_by(HazardEvent.id)).all()
        assert [(e.hazard_id, e.action, e.from_state, e.to_state, e.actor_user_id)
                for e in events] == [(general.id, "report", None, "reported", w.ids["sup"]),
                                     (major.id, "report", None, "reported", w.ids["sup"])]
        assert events[1].data["immediate_refused"] is True
        notes = db.session.scalars(db.select(Notification).order_by(Notification.id)).all()
        # The major one: the supervisors and the admin. Each enterprise hears of its own
        # hazard, with the deadline where there is one.
        assert sorted((n.kind, n.hazard_id, n.user_id) for n in notes) == sorted(
            [("major_hazard", major.id, w.ids[who]) for who in ("admin", "sup", "sup2")]
            + [("hazard_assigned", general.id, w.ids["ent"]),
               ("hazard_assigned", major.id, w.ids["ent2"])])
        told = {n.hazard_id: n.body for n in notes if n.kind == "hazard_assigned"}
        assert "整改期限 2026-03-16" in told[general.id] and "整改期限" not in told[major.id]
        ids = (general.id, major.id)
    assert w.recorder.calls == [(ids[0], None, "reported", w.ids["sup"]),
                                (ids[1], None, "reported", w.ids["sup"])]


def test_immediate_general_hazard_is_due_the_day_it_was_found(client, hz):
    r = report(client, hz, immediate=True, found_on="2026-03-02")
    assert r.status_code == 201
    assert (r.json["immediate"], r.json["deadline"]) == (True, "2026-03-02")


def test_source_follows_the_role(client, hz):
    cases = [("sup", {}, "department"), ("admin", {"source": "spot_check"}, "spot_check"),
             ("svc", {}, "service_org"), ("ent", {"enterprise_id": None}, "self")]
    for who, extra, source in cases:
        fields = {k: v for k, v in extra.items() if v is not None}
        body = {"title": "安全出口堵塞", **fields}
        if "enterprise_id" not in extra:
            body["enterprise_id"] = hz.e1
        r = client.post(hz.url, json=body, headers=hz.h[who])
        assert r.status_code == 201, (who, r.json)
        assert (r.json["source"], r.json["enterprise_id"]) == (source, hz.e1)
        assert r.json["state"] == "reported" and r.json["found_by"] == hz.ids[who]
    # Only supervisors name a spot check; a client cannot choose "self" for a department.
    refused = problem_of(report(client, hz, "ent", source="spot_check"), 422)
    assert "source" in refused["errors"]
    assert problem_of(report(client, hz, "sup", source="self"), 422)["errors"]["json"]["source"]


def test_report_refusals(client, hz):
    assert problem_of(report(client, hz, "viewer"), 403)
    # An enterprise user reports only for its own enterprise; a service organisation only
    # for the enterprises assigned to it: anything else does not exist for them.
    assert problem_of(report(client, hz, "ent", enterprise_id=hz.e2), 404)
    assert problem_of(report(client, hz, "svc", enterprise_id=hz.e2), 404)
    assert problem_of(report(client, hz, "svc2"), 404)
    # Another tenant's enterprise is as absent as a missing one.
    foreign = problem_of(report(client, hz, enterprise_id=hz.foreign_enterprise), 422)
    missing = problem_of(report(client, hz, enterprise_id=987654), 422)
    assert foreign["errors"] == missing["errors"] == {"enterprise_id": ["企业不存在"]}
    no_enterprise = client.post(hz.url, json={"title": "x"}, headers=hz.h["sup"])
    assert problem_of(no_enterprise, 422)["errors"] == {"enterprise_id": ["必填项"]}
    assert problem_of(report(client, hz, title=""), 422)["errors"]["json"]["title"]
    future = (local_today() + dt.timedelta(days=3)).isoformat()
    assert "found_on" in problem_of(report(client, hz, found_on=future), 422)["errors"]
    assert problem_of(report(client, hz, tenant_id=hz.other), 422)["errors"]["json"] == {
        "tenant_id": ["不允许的字段"]}
    assert client.get(hz.url, headers=hz.h["admin"]).json["total"] == 0


# --- the loop -------------------------------------------------------------------------------

def test_full_loop_with_rejection_keeps_complete_history(client, hz):
    hid = reported(client, hz, "svc", description="二楼配电箱", location="二车间")
    planned = moved(client, hz, hid, "plan", "ent", **FIVE, note="企业制定方案")
    assert planned["state"] == "rectifying" and planned["state_label"] == "整改中"
    assert (planned["responsible_person"], planned["funds"]) == ("张三", "1200.50")
    assert planned["deadline_workdays"] == 5 and planned["deadline"] is not None
    first = add_evidence(hz.app, hz.tenant, hz.e1, hz.ids["ent"], 2)
    done = moved(client, hz, hid, "rectified", "ent", evidence_ids=first, note="已更换")
    assert done["state"] == "rectified" and done["rectified_at"]
    refused = problem_of(move(client, hz, hid, "reject", "sup"), 422)
    assert "note" in refused["errors"]
    back = moved(client, hz, hid, "reject", "sup", note="接地电阻仍不合格")
    assert back["state"] == "rectifying" and back["rectified_at"] is None
    second = add_evidence(hz.app, hz.tenant, hz.e1, hz.ids["svc"])
    moved(client, hz, hid, "rectified", "svc", evidence_ids=second)
    closed = moved(client, hz, hid, "verify", "admin", note="复查合格，销号")
    assert closed["state"] == "verified" and closed["state_label"] == "已验收销号"
    assert closed["verified_by"] == hz.ids["admin"] and closed["verified_at"]

    events = history(client, hz, hid, "ent")
    assert [(e["action"], e["from_state"], e["to_state"], e["actor_user_id"]) for e in events] == [
        ("report", None, "reported", hz.ids["svc"]),
        ("plan", "reported", "rectifying", hz.ids["ent"]),
        ("rectified", "rectifying", "rectified", hz.ids["ent"]),
        ("reject", "rectified", "rectifying", hz.ids["sup"]),
        ("rectified", "rectifying", "rectified", hz.ids["svc"]),
        ("verify", "rectified", "verified", hz.ids["admin"]),
    ]
    assert [e["note"] for e in events] == ["", "企业制定方案", "已更换", "接地电阻仍不合格", "",
                                           "复查合格，销号"]
    assert events[2]["evidence_ids"] == first and events[4]["evidence_ids"] == second
    assert events[1]["data"]["responsible_person"] == "张三"
    assert events[1]["data"]["deadline"] == planned["deadline"]
    assert events[3]["from_state_label"] == "已整改待验收" and events[3]["at"]
    # The evidence files now belong to the hazard and to the event that brought them.
    from anjian.evidence import Evidence
    from anjian.extensions import db

    with hz.app.app_context(), scoped_to(hz.tenant):
        rows = db.session.scalars(db.select(Evidence).order_by(Evidence.id)).all()
        assert [(r.hazard_id, r.hazard_event_id) for r in rows] == [
            (hid, events[2]["id"]), (hid, events[2]["id"]), (hid, events[4]["id"])]
    # The hook heard every transition, with its actor.
    assert [c[1:] for c in hz.recorder.calls if c[0] == hid] == [
        (e["from_state"], e["to_state"], e["actor_user_id"]) for e in events]


def test_five_in_place_names_every_missing_field(client, hz):
    hid = reported(client, hz)
    empty = problem_of(move(client, hz, hid, "plan"), 422)
    assert set(empty["errors"]) == {"responsible_person", "measures", "funds", "deadline",
                                    "contingency_plan"}
    assert all(name in empty["detail"] for name in ("整改责任人", "整改措施", "整改资金",
                                                      "整改期限", "安全防范措施和应急预案"))
    partial = problem_of(move(client, hz, hid, "plan", responsible_person="张三",
                              measures="  ", funds="0"), 422)
    assert set(partial["errors"]) == {"measures", "deadline", "contingency_plan"}
    both = {**FIVE, "deadline": "2099-01-01"}
    assert "deadline" in problem_of(move(client, hz, hid, "plan", **both), 422)["errors"]
    past = {**{k: v for k, v in FIVE.items() if k != "deadline_workdays"}, "deadline": "2020-01-01"}
    assert "deadline" in problem_of(move(client, hz, hid, "plan", **past), 422)["errors"]
    negative = problem_of(move(client, hz, hid, "plan", **{**FIVE, "funds": "-1"}), 422)
    assert "funds" in negative["errors"]["json"]
    wrong = problem_of(move(client, hz, hid, "plan", **FIVE, reason="refused"), 422)
    assert set(wrong["errors"]) == {"reason"}
    assert [e["action"] for e in history(client, hz, hid)] == ["report"]
    dated = {**{k: v for k, v in FIVE.items() if k != "deadline_workdays"},
             "deadline": "2099-06-30"}
    ok = moved(client, hz, hid, "plan", **dated)
    assert (ok["deadline"], ok["deadline_workdays"], ok["deadline_provisional"]) == (
        "2099-06-30", None, False)


def test_rectify_now_is_for_general_hazards_with_note_and_evidence(client, hz):
    hid = reported(client, hz, "ent")
    assert "evidence_ids" in problem_of(move(client, hz, hid, "rectify_now", "ent",
                                             note="当场整改"), 422)["errors"]
    proof = add_evidence(hz.app, hz.tenant, hz.e1, hz.ids["ent"])
    assert "note" in problem_of(move(client, hz, hid, "rectify_now", "ent",
                                     evidence_ids=proof), 422)["errors"]
    done = moved(client, hz, hid, "rectify_now", "ent", note="当场整改", evidence_ids=proof)
    assert (done["state"], done["immediate"]) == ("rectified", True)
    major = reported(client, hz, title="重大：液氨储罐无泄漏报警")
    refused = problem_of(move(client, hz, major, "rectify_now", "sup", note="x",
                              evidence_ids=add_evidence(hz.app, hz.tenant, hz.e1,
                                                        hz.ids["sup"])), 409)
    assert "重大事故隐患" in refused["detail"]


def test_evidence_of_another_enterprise_or_tenant_is_refused(client, hz):
    hid = in_state(client, hz, "rectifying")
    theirs = add_evidence(hz.app, hz.tenant, hz.e2, hz.ids["sup"])
    problem_of(move(client, hz, hid, "rectified", "sup", evidence_ids=theirs), 422)
    foreign = add_evidence(hz.app, hz.other, hz.foreign_enterprise, hz.ids["other_admin"])
    problem_of(move(client, hz, hid, "rectified", "sup", evidence_ids=foreign), 404)
    assert client.get(f"{hz.url}/{hid}", headers=hz.h["sup"]).json["state"] == "rectifying"
    assert [e["action"] for e in history(client, hz, hid)] == ["report", "plan"]


ALLOWED_FROM = {
    "plan": {"reported", "overdue"},
    "rectify_now": {"reported"},
    "rectified": {"rectifying", "overdue"},
    "verify": {"rectified"},
    "reject": {"rectified"},
    "refer": {"reported", "rectifying", "overdue"},
}
STATE_LABELS = {"reported": "已上报", "rectifying": "整改中", "rectified": "已整改待验收",
                "verified": "已验收销号", "overdue": "逾期未整改", "referred": "已移交执法"}


def test_every_action_from_a_wrong_state_is_409_naming_the_state(client, hz):
    for state, label in STATE_LABELS.items():
        hid = in_state(client, hz, state)
        before = history(client, hz, hid)
        for action, sources in ALLOWED_FROM.items():
            if state in sources:
                continue
            refused = problem_of(move(client, hz, hid, action, "admin"), 409)
            assert f"「{label}」" in refused["detail"], (state, action, refused)
        assert history(client, hz, hid) == before
        assert client.get(f"{hz.url}/{hid}", headers=hz.h["admin"]).json["state"] == state


# Who may not move each action (the route itself refuses viewers).
FORBIDDEN = {
    "plan": ("viewer",),
    "rectify_now": ("svc", "viewer"),
    "rectified": ("viewer",),
    "verify": ("ent", "svc", "viewer"),
    "reject": ("ent", "svc", "viewer"),
    "refer": ("ent", "svc", "viewer"),
}
READY = {"plan": "reported", "rectify_now": "reported", "rectified": "rectifying",
         "verify": "rectified", "reject": "rectified", "refer": "rectifying"}


def _valid_body(w, action):
    proof = add_evidence(w.app, w.tenant, w.e1, w.ids["sup"])
    return {"plan": FIVE, "rectify_now": {"note": "当场整改", "evidence_ids": proof},
            "rectified": {"evidence_ids": proof}, "verify": {}, "reject": {"note": "不合格"},
            "refer": {"reason": "refused"}}[action]


def test_every_wrong_role_is_403_and_changes_nothing(client, hz):
    for action, roles in FORBIDDEN.items():
        hid = in_state(client, hz, READY[action])
        before = history(client, hz, hid)
        body = _valid_body(hz, action)
        for who in roles:
            refused = problem_of(move(client, hz, hid, action, who, **body), 403)
            assert refused["detail"], (action, who)
        assert history(client, hz, hid) == before
        # The same request by a supervisor goes through: the refusals were about the role.
        assert move(client, hz, hid, action, "sup2", **body).status_code == 200, action


def test_enterprise_user_cannot_verify_its_own_hazard(client, hz):
    hid = reported(client, hz, "ent")  # reported by the enterprise itself
    moved(client, hz, hid, "plan", "ent", **FIVE)
    moved(client, hz, hid, "rectified", "ent",
          evidence_ids=add_evidence(hz.app, hz.tenant, hz.e1, hz.ids["ent"]))
    for action in ("verify", "reject"):
        refused = problem_of(move(client, hz, hid, action, "ent", note="自己验收"), 403)
        assert "企业用户不能验收" in refused["detail"]
    assert client.get(f"{hz.url}/{hid}", headers=hz.h["ent"]).json["state"] == "rectified"


def test_enterprise_and_service_org_reach_only_their_enterprises(client, hz):
    own = reported(client, hz, enterprise_id=hz.e1)
    theirs = reported(client, hz, enterprise_id=hz.e2)
    for who, visible in (("ent", own), ("ent2", theirs), ("svc", own)):
        listed = client.get(hz.url, headers=hz.h[who]).json
        assert [h["id"] for h in listed["items"]] == [visible], who
    assert client.get(hz.url, headers=hz.h["svc2"]).json["total"] == 0
    assert client.get(hz.url, headers=hz.h["viewer"]).json["total"] == 2
    # Another enterprise's hazard does not exist for an enterprise user, nor an unassigned
    # enterprise's for a service organisation: reads, history, edits and transitions.
    for who, hid in (("ent", theirs), ("ent2", own), ("svc", theirs), ("svc2", own)):
        assert problem_of(client.get(f"{hz.url}/{hid}", headers=hz.h[who]), 404)
        assert problem_of(client.get(f"{hz.url}/{hid}/history", headers=hz.h[who]), 404)
        headers = {**hz.h[who], "If-Match": etag_of(client, hz, hid)}
        assert problem_of(client.patch(f"{hz.url}/{hid}", json={"location": "x"},
                                       headers=headers), 404)
        assert problem_of(client.post(f"{hz.url}/{hid}/transitions",
                                      json={"action": "plan", **FIVE}, headers=headers), 404)
    assert [e["action"] for e in history(client, hz, own)] == ["report"]


def test_another_tenants_hazard_is_404_like_a_missing_one(client, hz):
    hid = reported(client, hz)
    other_url = f"/api/v1/tenants/{hz.code}-other/hazards"
    head = hz.h["other_admin"]
    foreign = problem_of(client.get(f"{other_url}/{hid}", headers=head), 404)
    missing = problem_of(client.get(f"{other_url}/987654", headers=head), 404)
    assert (foreign["title"], foreign["detail"]) == (missing["title"], missing["detail"])
    assert problem_of(client.get(f"{other_url}/{hid}/history", headers=head), 404)
    headers = {**head, "If-Match": etag_of(client, hz, hid)}
    assert problem_of(client.post(f"{other_url}/{hid}/transitions",
                                  json={"action": "verify"}, headers=headers), 404)
    # And the tenant itself does not exist for a stranger.
    assert problem_of(client.get(f"{hz.url}/{hid}", headers=head), 404)
    assert client.get(other_url, headers=head).json["total"] == 0


# --- overdue ------------------------------------------------------------------------------

def test_mark_overdue_then_a_new_plan_or_rectification(client, hz):
    hid = in_state(client, hz, "rectifying")
    assert mark_overdue(hz, hid, days_after=0) is False  # due today: not late yet
    assert mark_overdue(hz, hid) is True
    assert mark_overdue(hz, hid) is False  # idempotent
    got = client.get(f"{hz.url}/{hid}", headers=hz.h["sup"]).json
    assert (got["state"], got["state_label"]) == ("overdue", "逾期未整改") and got["overdue_at"]
    events = history(client, hz, hid)
    assert [(e["action"], e["actor_user_id"]) for e in events][-1] == ("overdue", None)
    assert len(events) == 3
    later = (local_today() + dt.timedelta(days=40)).isoformat()
    replan = {**{k: v for k, v in FIVE.items() if k != "deadline_workdays"}, "deadline": later}
    again = moved(client, hz, hid, "plan", "ent", **replan)
    assert (again["state"], again["deadline"]) == ("rectifying", later)
    # A hazard overdue may also be reported rectified straight away.
    other = in_state(client, hz, "overdue")
    done = moved(client, hz, other, "rectified", "svc",
                 evidence_ids=add_evidence(hz.app, hz.tenant, hz.e1, hz.ids["svc"]))
    assert done["state"] == "rectified"
    # A hazard without a deadline (a major one before its plan) is never overdue.
    major = reported(client, hz, title="重大：无泄压装置")
    from anjian.extensions import db
    from anjian.hazards import service
    from anjian.hazards.models import Hazard

    with hz.app.app_context(), scoped_to(hz.tenant):
        assert service.mark_overdue(tenant_context(hz.tenant), db.session.get(Hazard, major),
                                    dt.date(2100, 1, 1)) is False
    # The system action is not offered over HTTP.
    assert "action" in problem_of(move(client, hz, hid, "overdue", "admin"), 422)["errors"]["json"]


# --- major hazards: notifications and the hook ------------------------------------------------

def test_major_hazard_notifies_supervisors_and_admins_only(client, hz):
    hid = reported(client, hz, "svc", title="重大：涉爆粉尘除尘系统无防爆装置", location="三车间")
    got = client.get(f"{hz.url}/{hid}", headers=hz.h["sup"]).json
    assert (got["grade"], got["grade_label"], got["deadline"]) == ("major", "重大事故隐患", None)
    general = reported(client, hz, "svc", title="消防通道堆物")
    url = f"/api/v1/tenants/{hz.code}/notifications"
    for who in ("sup", "sup2", "admin"):
        items = client.get(url, headers=hz.h[who]).json["items"]
        assert [(n["kind"], n["hazard_id"], n["read"]) for n in items] == [
            ("major_hazard", hid, False)], who
        assert "甲机械厂" in items[0]["title"] and "三车间" in items[0]["body"]
    for who in ("viewer", "svc", "svc2", "ent2", "root"):
        assert client.get(url, headers=hz.h[who]).json["items"] == [], who
    # The enterprise hears of both hazards as its own to rectify, not as a major one found.
    told = client.get(url, headers=hz.h["ent"]).json["items"]
    assert sorted((n["kind"], n["hazard_id"]) for n in told) == [
        ("hazard_assigned", hid), ("hazard_assigned", general)]
    assert client.get(f"/api/v1/tenants/{hz.code}-other/notifications",
                      headers=hz.h["other_admin"]).json["total"] == 0
    assert (hz.recorder.calls[0], hz.recorder.calls[1][1:]) == (
        (hid, None, "reported", hz.ids["svc"]), (None, "reported", hz.ids["svc"]))
    assert hz.recorder.calls[1][0] == general
    # A major hazard cannot skip its plan; the plan gives it its deadline.
    moved(client, hz, hid, "plan", "sup", **FIVE)
    assert client.get(f"{hz.url}/{hid}", headers=hz.h["sup"]).json["deadline"] is not None
    assert hz.recorder.calls[-1] == (hid, "reported", "rectifying", hz.ids["sup"])


def test_notifications_unread_first_and_only_ones_own(client, hz):
    first = reported(client, hz, title="重大：一")
    second = reported(client, hz, title="重大：二")
    url = f"/api/v1/tenants/{hz.code}/notifications"
    mine = client.get(url, headers=hz.h["sup"]).json["items"]
    assert [n["hazard_id"] for n in mine] == [second, first]  # newest first
    oldest, newest = mine[1]["id"], mine[0]["id"]
    r = client.post(f"{url}/{newest}/read", headers=hz.h["sup"])
    assert r.status_code == 200 and r.json["read"] is True and r.json["read_at"]
    again = client.post(f"{url}/{newest}/read", headers=hz.h["sup"])
    assert again.json["read_at"] == r.json["read_at"]  # idempotent
    mine = client.get(url, headers=hz.h["sup"]).json["items"]
    assert [(n["id"], n["read"]) for n in mine] == [(oldest, False), (newest, True)]
    assert [n["id"] for n in client.get(url, query_string={"unread": "true"},
                                        headers=hz.h["sup"]).json["items"]] == [oldest]
    # Another user's notification, even of the same tenant, does not exist for you.
    problem_of(client.post(f"{url}/{oldest}/read", headers=hz.h["sup2"]), 404)
    problem_of(client.post(f"{url}/{oldest}/read", headers=hz.h["admin"]), 404)
    problem_of(client.post(f"/api/v1/tenants/{hz.code}-other/notifications/{oldest}/read",
                           headers=hz.h["other_admin"]), 404)
    assert client.get(url, headers=hz.h["sup"]).json["items"][0]["read"] is False


# --- ETag, If-Match and concurrent changes (RELIABILITY 23) ------------------------------------

def test_transition_requires_if_match_and_a_stale_etag_is_412(client, hz):
    hid = reported(client, hz)
    url = f"{hz.url}/{hid}/transitions"
    problem_of(client.post(url, json={"action": "plan", **FIVE}, headers=hz.h["sup"]), 428)
    tag = etag_of(client, hz, hid)
    # Two supervisors read the same version; the first one's change wins.
    assert move(client, hz, hid, "plan", "sup", etag=tag, **FIVE).status_code == 200
    late = move(client, hz, hid, "refer", "sup2", etag=tag, reason="refused")
    assert problem_of(late, 412)
    assert [e["action"] for e in history(client, hz, hid)] == ["report", "plan"]
    assert client.get(f"{hz.url}/{hid}", headers=hz.h["sup"]).json["state"] == "rectifying"
    # The answer of a transition carries the new ETag, good for the next step.
    r = move(client, hz, hid, "refer", "sup2", reason="refused")
    assert r.status_code == 200 and r.headers["ETag"] == etag_of(client, hz, hid)


def test_concurrent_transition_that_passed_the_etag_check_is_409(app, client, hz, monkeypatch):
    """Two requests pass the If-Match check at the same moment: the one that flushes
    second hits the version column (StaleDataError) and answers 409; one history entry."""
    from anjian.auth.service import Access
    from anjian.extensions import db
    from anjian.hazards import api, service
    from anjian.hazards.models import Hazard

    hid = reported(client, hz)
    check = api._check_if_match
    raced = []

    def check_then_lose_the_race(hazard):
        check(hazard)
        if raced:
            return
        raced.append(True)
        with app.app_context(), scoped_to(hz.tenant, hz.ids["sup2"]):  # another session
            other = db.session.get(Hazard, hazard.id)
            sup2 = tenant_context(hz.tenant, hz.ids["sup2"], Access("supervisor", True, "member"))
            service.transition(sup2, other, "refer", {"reason": "refused"})
            db.session.commit()

    monkeypatch.setattr(api, "_check_if_match", check_then_lose_the_race)
    r = move(client, hz, hid, "plan", "sup", **FIVE)
    body = problem_of(r, 409)
    assert body["type"].endswith("concurrent-change")
    events = history(client, hz, hid)
    assert [(e["action"], e["actor_user_id"]) for e in events] == [
        ("report", hz.ids["sup"]), ("refer", hz.ids["sup2"])]
    got = client.get(f"{hz.url}/{hid}", headers=hz.h["sup"]).json
    assert (got["state"], got["responsible_person"], got["version"]) == ("referred", "", 2)
    assert hz.recorder.calls[-1] == (hid, "reported", "referred", hz.ids["sup2"])


def test_patch_description_and_location_with_if_match(client, hz):
    hid = reported(client, hz)
    url = f"{hz.url}/{hid}"
    problem_of(client.patch(url, json={"location": "一车间"}, headers=hz.h["sup"]), 428)
    tag = etag_of(client, hz, hid)
    r = client.patch(url, json={"location": " 一车间 ", "description": "东墙"},
                     headers={**hz.h["ent"], "If-Match": tag})
    assert r.status_code == 200 and (r.json["location"], r.json["description"]) == ("一车间",
                                                                                   "东墙")
    assert r.json["version"] == 2
    problem_of(client.patch(url, json={"location": "二车间"},
                            headers={**hz.h["sup"], "If-Match": tag}), 412)
    assert problem_of(client.patch(url, json={"state": "verified"},
                                   headers={**hz.h["sup"], "If-Match": r.headers["ETag"]}),
                      422)["errors"]["json"] == {"state": ["不允许的字段"]}
    problem_of(client.patch(url, json={"location": "x"},
                            headers={**hz.h["viewer"], "If-Match": r.headers["ETag"]}), 403)
    closed = in_state(client, hz, "verified")
    refused = problem_of(client.patch(f"{hz.url}/{closed}", json={"location": "x"}, headers={
        **hz.h["sup"], "If-Match": etag_of(client, hz, closed)}), 409)
    assert "已验收销号" in refused["detail"]


# --- the list ---------------------------------------------------------------------------------

def test_list_filters_sort_and_pagination(client, hz):
    a = in_state(client, hz, "rectifying")  # deadline: 5 working days from today
    b = reported(client, hz, title="重大：某", enterprise_id=hz.e2)  # no deadline
    c = in_state(client, hz, "overdue")
    d = reported(client, hz, found_on="2020-01-02", campaign_id=hz.campaign,
                 source="spot_check")  # deadline long past, never scanned
    e = in_state(client, hz, "verified")

    def ids(**params):
        r = client.get(hz.url, query_string=params, headers=hz.h["viewer"])
        assert r.status_code == 200, r.json
        return [h["id"] for h in r.json["items"]]

    assert ids() == [e, d, c, b, a]  # newest first
    assert ids(state="rectifying") == [a]
    assert sorted(ids(state=["reported", "verified"])) == sorted([b, d, e])
    assert ids(grade="major") == [b]
    assert ids(source="spot_check") == [d]
    assert ids(enterprise_id=hz.e2) == [b]
    assert ids(campaign_id=hz.campaign) == [d]
    assert sorted(ids(overdue="true")) == sorted([c, d])
    assert sorted(ids(overdue="false")) == sorted([a, b, e])
    assert ids(deadline_before="2021-01-01") == [d]
    by_deadline = ids(sort="deadline")
    assert by_deadline[0] == d and by_deadline[-1] == b  # undated last
    page = client.get(hz.url, query_string={"per_page": 2, "page": 3, "sort": "created_at"},
                      headers=hz.h["viewer"]).json
    assert (page["total"], [h["id"] for h in page["items"]]) == (5, [e])
    assert problem_of(client.get(hz.url, query_string={"state": "closed"},
                                 headers=hz.h["viewer"]), 422)



def race(app, w, hazard_id, etag, moves):
    """Send each (who, action, body) from its own thread, all released at once."""
    import threading

    barrier = threading.Barrier(len(moves))
    results = {}

    def go(who, action, body):
        client = app.test_client()
        barrier.wait()
        results[who] = move(client, w, hazard_id, action, who, etag=etag, **body).status_code

    threads = [threading.Thread(target=go, args=m) for m in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_people_moving_the_same_hazard_at_once_one_wins(app, client, hz):
    """Real threads: both send the same ETag at the same moment; whichever is second gets
    412 (it read the new version) or 409 (it lost at the flush); one history entry."""
    for _ in range(3):
        hid = reported(client, hz)
        results = race(app, hz, hid, etag_of(client, hz, hid),
                       [("sup", "plan", FIVE), ("sup2", "refer", {"reason": "refused"})])
        assert sorted(results.values()) in ([200, 409], [200, 412]), results
        winner = next(who for who, status in results.items() if status == 200)
        events = history(client, hz, hid)
        assert [(e["action"], e["actor_user_id"]) for e in events[1:]] == [
            ({"sup": "plan", "sup2": "refer"}[winner], hz.ids[winner])]
