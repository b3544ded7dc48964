"""Dangerous-work permits (issue 20, GB 30871-2022), with every expectation worked out by
hand: the validity cut-offs (一级动火 issued 09:00 is valid until 17:00; 二级 72 h), the
steps asked at a key time (a night, a holiday, a weekend, a plugin's key period) and
otherwise, an approver approving their own request, a missing, failed or stale gas
analysis, a welder whose certificate's review is overdue, the dangerous-work drills of the
ledger, visibility, If-Match and the workbook.

Where time matters the services are called with a Context whose clock the test sets
(``Actor.at``); requests over HTTP run at the real time, with planned starts given."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select
from stdnum.cn import ric

from anjian import plugin_api
from anjian.auth.models import Membership
from anjian.auth.service import Access
from anjian.clock import CHINA, local_today
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.errors import Conflict, Refused
from anjian.extensions import db
from anjian.permits import service
from anjian.permits.models import Permit, PermitEvent
from anjian.plugins.catalogue import checked
from anjian.plugins.context import PluginContext
from anjian.plugins.views import TenantInfo
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

TODAY = local_today()
T = "/api/v1/tenants/sy-permits"
P = f"{T}/permits"
KEY_PERIOD = {"start": "2024-05-13", "end": "2024-05-20", "reason": "集中攻坚阶段"}


def id_number(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


ZHANG = id_number("21010219850301123")  # a welder, certificate in order
LI = id_number("21010219890615234")  # a welder whose certificate's review is overdue
WANG = id_number("21010219900110345")  # an electrician


def at(text: str) -> dt.datetime:
    """A moment given in China's time ("2024-05-08 09:00")."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=CHINA)


@pytest.fixture
def w(app, factory):
    tenant = factory.tenant("sy-permits", level="street")
    other = factory.tenant("sy-permits-other", level="street")
    ids = {}
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        for n, name in enumerate(("双勇鑫水泥厂", "千汇链条制造有限公司"), 1):
            row = Enterprise(credit_code=f"912101000000001{n:03d}", name=name)
            db.session.add(row)
            db.session.flush()
            ids[n] = row.id
        db.session.commit()
    users, user_ids = {}, {}
    for role in ("tenant_admin", "supervisor"):
        user_ids[role], token = factory.user(f"pm-{role}".replace("_", "-"), {tenant: role})
        users[role] = bearer(token)
    # ent1 requests; ent1b is the same enterprise's principal (or his delegate); ent2 another's.
    for key, enterprise in (("ent1", 1), ("ent1b", 1), ("ent2", 2)):
        user_ids[key], token = factory.user(f"pm-{key}")
        with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
            db.session.add(Membership(user_id=user_ids[key], role="enterprise", enterprise_id=ids[enterprise]))
            db.session.commit()
        users[key] = bearer(token)
    users["other"] = bearer(factory.user("pm-other", {other: "tenant_admin"})[1])
    return {"tenant": tenant, "e": ids, "ids": user_ids, **users}


def certificate(client, w, name, number, kind, cert_no, issued, **more):
    r = client.post(f"{T}/ledgers/special_workers/entries", headers=w["ent1"], json={
        "enterprise_id": w["e"][1], "data": {"name": name, "id_number": number, "work_kind": kind,
                                             "certificate_no": cert_no, "issued_on": issued, **more}})
    assert r.status_code == 201, r.json
    return r.json


@pytest.fixture
def certified(client, w):
    # 张三: issued 2022-03-01, review due 2025-03-01; 李四: issued 2020-03-01, never reviewed,
    # so the review fell due on 2023-03-01 and is overdue on any day of 2024.
    certificate(client, w, "张三", ZHANG, "焊接与热切割作业", "T-ZHANG", "2022-03-01")
    certificate(client, w, "李四", LI, "焊接与热切割作业", "T-LI", "2020-03-01")
    certificate(client, w, "王五", WANG, "电工作业", "T-WANG", "2022-03-01")
    return w


def request_permit(client, w, who="ent1", **body):
    payload = {"enterprise_id": w["e"][1], "kind": "confined_space", "location": "一号水泥储罐",
               "content": "清理罐内积料", "planned_start": "2024-05-08T09:00:00+08:00",
               "workers": [{"name": "赵六"}], **body}
    return client.post(P, json=payload, headers=w[who])


def step(client, w, who, permit_id, action, **body):
    etag = client.get(f"{P}/{permit_id}", headers=w[who]).headers["ETag"]
    return client.post(f"{P}/{permit_id}/transitions", json={"action": action, **body},
                       headers={**w[who], "If-Match": etag})


def ok(response, status=200):
    assert response.status_code == status, response.json
    return response.json


# --- the kinds -----------------------------------------------------------------------------


def test_the_eight_special_works_with_their_grades_and_validities(client, w):
    kinds = {k["key"]: k for k in ok(client.get(f"{P}/kinds", headers=w["ent1"]))}
    assert [kinds[k]["title"] for k in ("hot_work", "confined_space", "blind_plate", "work_at_height",
                                        "lifting", "temporary_power", "excavation", "road_closure")] == [
        "动火作业", "受限空间作业", "盲板抽堵作业", "高处作业", "吊装作业", "临时用电作业", "动土作业", "断路作业"]
    hot = kinds["hot_work"]
    assert [(g["title"], g["validity_hours"]) for g in hot["grades"]] == [
        ("特级动火", 8), ("一级动火", 8), ("二级动火", 72)]
    assert (hot["gas_analysis"], hot["gas_analysis_minutes"], hot["certificates"]) == (
        True, 30, ["焊接与热切割作业"])
    assert (kinds["confined_space"]["validity_hours"], kinds["confined_space"]["gas_analysis"]) == (24, True)
    assert [(g["title"], g["description"]) for g in kinds["work_at_height"]["grades"]] == [
        ("Ⅰ级高处作业", "作业高度 2 m ≤ h ≤ 5 m"), ("Ⅱ级高处作业", "作业高度 5 m < h ≤ 15 m"),
        ("Ⅲ级高处作业", "作业高度 15 m < h ≤ 30 m"), ("Ⅳ级高处作业", "作业高度 h > 30 m")]
    assert [g["description"] for g in kinds["lifting"]["grades"]] == [
        "吊物质量 m > 100 t", "吊物质量 40 t ≤ m ≤ 100 t", "吊物质量 m < 40 t"]
    assert (kinds["temporary_power"]["validity_hours"], kinds["temporary_power"]["certificates"]) == (
        360, ["电工作业"])
    # A graded kind needs its grade; an ungraded one takes none.
    r = request_permit(client, w, kind="hot_work", workers=[{"name": "赵六"}])
    assert r.status_code == 422 and r.json["errors"] == {"grade": ["动火作业须选择级别：特级动火、一级动火、二级动火"]}
    r = request_permit(client, w, grade="level1")
    assert r.status_code == 422 and r.json["errors"] == {"grade": ["受限空间作业不分级"]}
    assert request_permit(client, w, kind="diving").status_code == 404


def test_a_plugins_permit_kind_is_typed_and_checked():
    blasting = plugin_api.PermitKind(key="blasting", title="爆破作业",
                                     grades=(plugin_api.PermitGrade("small", "小型爆破", 8),))
    assert checked("anjian_x", "register_permit_kinds", blasting) is blasting
    assert blasting.as_entry()["grades"] == [{"key": "small", "title": "小型爆破", "validity_hours": 8}]
    for bad, field in (
            (plugin_api.PermitKind(key="blasting", title="爆破作业", validity_hours=8,
                                   grades=(plugin_api.PermitGrade("small", "小型爆破", 8),)), "validity_hours"),
            (plugin_api.PermitKind(key="repair", title="检维修作业"), "validity_hours"),
            (plugin_api.PermitKind(key="repair", title="检维修作业", validity_hours=721), "validity_hours"),
            (plugin_api.PermitKind(key="blasting", title="爆破作业",
                                   grades=(plugin_api.PermitGrade("Small!", "小型爆破", 8),)), "grades[0].key"),
            ({"key": "repair", "title": "检维修作业", "validity_hours": 24}, "PermitKind")):
        with pytest.raises(plugin_api.CatalogueError) as error:
            checked("anjian_x", "register_permit_kinds", bad)
        assert error.value.field == field


# --- key times and the steps they ask ---------------------------------------------------------


def test_key_times_nights_days_off_and_a_plugins_periods(app, client, w):
    def key(moment):
        r = ok(client.get(f"{P}/key-time", query_string={"at": moment}, headers=w["supervisor"]))
        return r["reasons"]

    assert key("2024-05-08T09:00:00+08:00") == []  # a Wednesday morning
    assert key("2024-05-08T21:59:00+08:00") == []
    assert key("2024-05-08T22:00:00+08:00") == ["夜间（22:00 至次日 06:00）"]
    assert key("2024-05-08T05:59") == ["夜间（22:00 至次日 06:00）"]  # no zone: Beijing time
    assert key("2024-05-08T06:00") == []
    assert key("2024-05-07T22:30:00Z") == []  # 06:30 on the 8th in Beijing
    assert key("2024-05-02T10:00") == ["法定节假日（2024-05-02）"]  # 劳动节
    assert key("2024-05-12T10:00") == ["公休日（2024-05-12）"]  # a Sunday
    assert key("2024-05-11T10:00") == []  # a Saturday worked in exchange (劳动节调休上班)
    assert key("2024-05-12T23:00") == ["夜间（22:00 至次日 06:00）", "公休日（2024-05-12）"]
    # A plugin's key periods (its settings' double_approval_key_periods), dates inclusive.
    info = TenantInfo(1, "t", "测试", "street", ("anjian_shenyang",),
                      {"anjian_shenyang": {"double_approval_key_periods": [
                          {"start": dt.date(2024, 5, 13), "end": dt.date(2024, 5, 20), "reason": "集中攻坚阶段"}]}})
    with app.app_context():
        helper = PluginContext(info)
        assert helper.key_time(at("2024-05-12 10:00")) == ["公休日（2024-05-12）"]
        assert helper.key_time(at("2024-05-13 10:00")) == ["重点时段：集中攻坚阶段（2024-05-13 至 2024-05-20）"]
        assert helper.key_time(at("2024-05-20 10:00")) == ["重点时段：集中攻坚阶段（2024-05-13 至 2024-05-20）"]
        assert helper.key_time(at("2024-05-21 10:00")) == []
        assert PluginContext(None).key_time(at("2024-05-15 10:00")) == []


APPROVE = ["principal"]
KEY_APPROVE = ["principal", "second_approval"]


def stages(permit, stage):
    return [s["key"] for s in permit["steps"] if s["stage"] == stage]


@pytest.mark.parametrize(("start", "reason"), [
    ("2024-05-08T09:00:00+08:00", None),
    ("2024-05-08T22:30:00+08:00", "夜间（22:00 至次日 06:00）"),
    ("2024-10-03T10:00:00+08:00", "法定节假日（2024-10-03）"),
    ("2024-05-12T10:00:00+08:00", "公休日（2024-05-12）"),
])
def test_the_steps_a_permit_needs_at_a_key_time_and_otherwise(client, w, start, reason):
    permit = ok(request_permit(client, w, planned_start=start), 201)
    assert (permit["key_time"], permit["key_time_reason"] or None) == (reason is not None, reason)
    if reason is None:
        assert [(s["key"], s["title"], s["stage"]) for s in permit["steps"]] == [
            ("principal", "主要负责人或其授权人审批", "approve"), ("guardian", "监护人现场监护", "supervise"),
            ("acceptance", "完工验收", "accept")]
    else:  # double approval, double supervision, double acceptance (seed 004)
        assert (stages(permit, "approve"), stages(permit, "supervise"), stages(permit, "accept")) == (
            KEY_APPROVE, ["guardian", "second_guardian"], ["acceptance", "second_acceptance"])
    assert permit["number"].startswith(f"ZYP-{TODAY:%Y%m%d}-")


def test_a_plugins_key_period_asks_double_approval(app, client, factory):
    tenant_id = factory.tenant("sy-key", plugins=["anjian_shenyang"], level="street",
                               settings={"anjian_shenyang": {"double_approval_key_periods": [KEY_PERIOD]}})
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        enterprise = Enterprise(credit_code="912101000000009001", name="晟鑫纸业")
        db.session.add(enterprise)
        db.session.commit()
        enterprise_id = enterprise.id
    admin = bearer(factory.user("pm-key-admin", {tenant_id: "tenant_admin"})[1])

    def permit(start):
        return ok(client.post("/api/v1/tenants/sy-key/permits", headers=admin, json={
            "enterprise_id": enterprise_id, "kind": "confined_space", "location": "制浆池",
            "planned_start": start, "workers": [{"name": "赵六"}]}), 201)

    inside = permit("2024-05-15T10:00:00+08:00")
    assert (inside["key_time"], inside["key_time_reason"]) == (
        True, "重点时段：集中攻坚阶段（2024-05-13 至 2024-05-20）")
    assert stages(inside, "approve") == KEY_APPROVE
    outside = permit("2024-05-21T10:00:00+08:00")
    assert (outside["key_time"], stages(outside, "approve")) == (False, APPROVE)


def test_a_plugin_answers_permit_approvals_with_the_core_key_time(app, client, factory):
    seen = []

    class ThreeAbove30Metres:
        @plugin_api.hookimpl
        def permit_approvals(self, tenant, permit, key_time):
            seen.append((permit.kind, permit.grade, key_time))
            if permit.grade != "class4":
                return None  # the core decides
            return [plugin_api.ApprovalStep("workshop", "车间负责人审批"),
                    plugin_api.ApprovalStep("safety", "安全管理部门审批"),
                    plugin_api.ApprovalStep("principal", "主要负责人审批"),
                    plugin_api.ApprovalStep("guardian", "监护人", "supervise"),
                    plugin_api.ApprovalStep("acceptance", "验收", "accept")]

    app.extensions["anjian.plugins"].register("permits_three", ThreeAbove30Metres())
    tenant = factory.tenant("sy-three", plugins=["permits_three"], level="street")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        enterprise = Enterprise(credit_code="912101000000009002", name="润香坊酒厂")
        db.session.add(enterprise)
        db.session.commit()
        enterprise_id = enterprise.id
    admin = bearer(factory.user("pm-three-admin", {tenant: "tenant_admin"})[1])

    def permit(grade, start):
        return ok(client.post("/api/v1/tenants/sy-three/permits", headers=admin, json={
            "enterprise_id": enterprise_id, "kind": "work_at_height", "grade": grade, "location": "蒸馏塔",
            "planned_start": start, "workers": [{"name": "赵六"}]}), 201)

    high = permit("class4", "2024-05-08T09:00:00+08:00")
    assert [(s["key"], s["stage"]) for s in high["steps"]] == [
        ("workshop", "approve"), ("safety", "approve"), ("principal", "approve"), ("guardian", "supervise"),
        ("acceptance", "accept")]
    # A grade the plugin does not answer for: the core's default (a night: two approvals).
    assert stages(permit("class3", "2024-05-08T23:00:00+08:00"), "approve") == KEY_APPROVE
    assert seen == [("work_at_height", "class4", False), ("work_at_height", "class3", True)]


def test_a_plugins_malformed_answer_is_a_defect_not_a_permit(app, client, factory):
    class Broken:
        @plugin_api.hookimpl
        def permit_approvals(self, tenant, permit, key_time):
            return [plugin_api.ApprovalStep("only", "只审批", "approve")]  # no guardian, no acceptance

    app.extensions["anjian.plugins"].register("permits_broken", Broken())
    tenant = factory.tenant("sy-broken", plugins=["permits_broken"], level="street")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        enterprise = Enterprise(credit_code="912101000000009003", name="美迪申鞋业")
        db.session.add(enterprise)
        db.session.commit()
        enterprise_id = enterprise.id
    admin = bearer(factory.user("pm-broken-admin", {tenant: "tenant_admin"})[1])
    r = client.post("/api/v1/tenants/sy-broken/permits", headers=admin, json={
        "enterprise_id": enterprise_id, "kind": "blind_plate", "location": "车间",
        "planned_start": "2024-05-08T09:00:00+08:00", "workers": [{"name": "赵六"}]})
    assert r.status_code == 500 and "监护步骤（supervise）须为 1 至 2 个" in r.json["detail"]
    assert ok(client.get("/api/v1/tenants/sy-broken/permits", headers=admin))["total"] == 0


# --- the flow over HTTP ------------------------------------------------------------------------


JSA = [{"hazard": "罐内缺氧、有毒气体", "measure": "强制通风，置换合格", "confirmed": True},
       {"hazard": "罐内积料坍塌", "measure": "自上而下清理，系安全绳", "confirmed": True}]


def test_the_whole_flow_with_its_history(client, w):
    permit = ok(request_permit(client, w, guardian="孙监护"), 201)
    pid = permit["id"]
    assert (permit["state"], permit["state_label"], permit["requested_by"]) == ("requested", "已申请", w["ids"]["ent1"])
    # A measure not confirmed stops the identification.
    r = step(client, w, "ent1", pid, "identify", hazards=[*JSA[:1], {**JSA[1], "confirmed": False}])
    assert r.status_code == 409 and r.json["reasons"] == ["安全措施未确认：自上而下清理，系安全绳"]
    ok(step(client, w, "ent1", pid, "identify", hazards=JSA))
    ok(step(client, w, "ent1", pid, "gas_analysis", analyst="王工", passed=True,
            values={"氧含量%": 20.9, "硫化氢mg/m3": 0}, point="罐内中部"))
    # The requester cannot approve it; the enterprise's principal can.
    r = step(client, w, "ent1", pid, "approve")
    assert r.status_code == 409 and r.json["reasons"] == ["不能审批本人申请的作业票"]
    assert r.json["type"] == "urn:anjian:problem:permit-refused"
    approved = ok(step(client, w, "ent1b", pid, "approve", note="同意"))
    assert approved["state"] == "approved"
    assert approved["approvals"][0]["user_name"] == "pm-ent1b"
    issued = ok(step(client, w, "tenant_admin", pid, "issue"))
    valid_until = dt.datetime.fromisoformat(issued["valid_until"])
    assert valid_until - dt.datetime.fromisoformat(issued["issued_at"]) == dt.timedelta(hours=24)
    started = ok(step(client, w, "ent1", pid, "start"))
    assert (started["state"], started["guardian"]) == ("in_progress", "孙监护")
    assert ok(step(client, w, "ent1", pid, "resume"))["state"] == "in_progress"
    accepted = ok(step(client, w, "tenant_admin", pid, "accept", note="现场清理完毕"))
    assert accepted["state"] == "accepted"
    closed = ok(step(client, w, "ent1", pid, "close"))
    assert (closed["state"], closed["state_label"]) == ("closed", "已关闭")
    assert [(s["key"], s["done"], s["by"]) for s in closed["steps"]] == [
        ("principal", True, "pm-ent1b"), ("guardian", True, "孙监护"), ("acceptance", True, "pm-tenant-admin")]
    assert [(e["action"], e["from_state"], e["to_state"]) for e in closed["history"]] == [
        ("request", None, "requested"), ("identify", "requested", "identified"),
        ("gas_analysis", "identified", "identified"), ("approve", "identified", "approved"),
        ("issue", "approved", "issued"), ("start", "issued", "in_progress"),
        ("resume", "in_progress", "in_progress"), ("accept", "in_progress", "accepted"),
        ("close", "accepted", "closed")]
    assert closed["history"][3]["data"] == {"step": "principal", "note": "同意"}
    # A closed permit takes no more steps.
    r = step(client, w, "ent1", pid, "cancel", reason="不再需要")
    assert r.status_code == 409 and r.json["detail"] == "作业票当前状态为「已关闭」，不能取消"


def test_double_approval_supervision_and_acceptance_at_night(client, w):
    permit = ok(request_permit(client, w, planned_start="2024-05-08T22:30:00+08:00"), 201)
    pid = permit["id"]
    ok(step(client, w, "ent1", pid, "identify", hazards=JSA))
    ok(step(client, w, "ent1", pid, "gas_analysis", analyst="王工", passed=True))
    assert ok(step(client, w, "ent1b", pid, "approve"))["state"] == "approving"
    r = step(client, w, "ent1b", pid, "approve")  # the same person twice
    assert r.status_code == 409 and r.json["reasons"] == ["已审批过本作业票：双审批须由不同的人分别审批"]
    r = step(client, w, "ent1", pid, "approve")  # the requester as the second approver
    assert r.json["reasons"] == ["不能审批本人申请的作业票"]
    # Only an approver issues, and only once every approval is given.
    assert step(client, w, "tenant_admin", pid, "issue").json["detail"] == "作业票当前状态为「审批中」，不能签发"
    approved = ok(step(client, w, "tenant_admin", pid, "approve"))
    assert (approved["state"], [a["step"] for a in approved["approvals"]]) == ("approved", KEY_APPROVE)
    assert step(client, w, "supervisor", pid, "issue").status_code == 403
    ok(step(client, w, "tenant_admin", pid, "issue"))
    r = step(client, w, "ent1", pid, "start", guardian="孙监护")
    assert r.status_code == 409 and r.json["reasons"] == ["须指定第二监护人（第二监护人现场监护（双监督））"]
    r = step(client, w, "ent1", pid, "start", guardian="孙监护", second_guardian="孙监护")
    assert r.json["reasons"] == ["两名监护人不能是同一人"]
    started = ok(step(client, w, "ent1", pid, "start", guardian="孙监护", second_guardian="周监护"))
    assert (started["guardian"], started["second_guardian"]) == ("孙监护", "周监护")
    assert ok(step(client, w, "tenant_admin", pid, "accept"))["state"] == "accepting"
    r = step(client, w, "tenant_admin", pid, "accept")
    assert r.json["reasons"] == ["已验收过本作业票：双验收须由不同的人分别验收"]
    assert step(client, w, "ent1", pid, "close").status_code == 409  # one acceptance short
    assert ok(step(client, w, "ent1b", pid, "accept"))["state"] == "accepted"
    closed = ok(step(client, w, "ent1", pid, "close"))
    assert [(s["key"], s["done"]) for s in closed["steps"]] == [
        ("principal", True), ("second_approval", True), ("guardian", True), ("second_guardian", True),
        ("acceptance", True), ("second_acceptance", True)]


def test_refusing_and_cancelling_give_their_reasons(client, w):
    refused = ok(request_permit(client, w), 201)
    assert step(client, w, "ent1b", refused["id"], "refuse").status_code == 422  # a reason is needed
    done = ok(step(client, w, "ent1b", refused["id"], "refuse", reason="安全措施不全"))
    assert (done["state"], done["refusal"]) == ("refused", "安全措施不全")
    cancelled = ok(request_permit(client, w), 201)
    done = ok(step(client, w, "ent1", cancelled["id"], "cancel", reason="改期"))
    assert done["state"] == "cancelled" and done["history"][-1]["data"] == {"reason": "改期"}


# --- time: validity and gas analysis, with the Context's clock ----------------------------------


@dataclasses.dataclass
class Actor:
    tenant_id: int
    user_id: int
    access: Access

    def at(self, moment: str) -> Context:
        when = at(moment).astimezone(dt.UTC)
        return Context(self.tenant_id, self.user_id, self.access,
                       source=db.session.get(Tenant, self.tenant_id), clock=lambda: when)


def actors(w):
    def enterprise(key):
        return Actor(w["tenant"], w["ids"][key], Access("enterprise", True, "member", enterprise_id=w["e"][1]))

    return (enterprise("ent1"), enterprise("ent1b"),
            Actor(w["tenant"], w["ids"]["tenant_admin"], Access("tenant_admin", True, "member")))


def issued_hot_work(w, grade, *, requested="2024-05-08 08:00", analysed="2024-05-08 08:40",
                    issued="2024-05-08 09:00"):
    """A hot work permit of 张三 (a certified welder), identified, analysed, approved and
    issued at the times given."""
    requester, principal, admin = actors(w)
    permit = service.create_permit(requester.at(requested), enterprise_id=w["e"][1], kind="hot_work",
                                   grade=grade, location="熟料库", planned_start=at(requested) + dt.timedelta(hours=1),
                                   workers=[{"name": "张三", "id_number": ZHANG, "work_kind": "焊接"}],
                                   guardian="孙监护")
    service.transition(requester.at(requested), permit, "identify", {"hazards": JSA})
    service.transition(requester.at(analysed), permit, "gas_analysis",
                       {"analyst": "王工", "passed": True, "at": at(analysed)})
    service.transition(principal.at(analysed), permit, "approve")
    service.transition(admin.at(issued), permit, "issue")
    return permit


def reasons_of(call) -> list[str]:
    with pytest.raises(Conflict) as refused:
        call()
    return refused.value.members["reasons"]


def test_validity_cut_offs_of_hot_work(app, certified):
    w = certified
    requester, _principal, _admin = actors(w)
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        # 一级动火 issued 09:00: valid 8 h, until 17:00.
        first = issued_hot_work(w, "level1")
        assert first.valid_until == at("2024-05-08 17:00")
        service.transition(requester.at("2024-05-08 16:45"), first, "gas_analysis",
                           {"analyst": "王工", "passed": True})
        service.transition(requester.at("2024-05-08 16:59"), first, "start")  # one minute left
        assert first.state == "in_progress"
        assert reasons_of(lambda: service.transition(requester.at("2024-05-08 17:01"), first, "resume")) == [
            "作业票已过有效期（有效期至 2024-05-08 17:00）"]
        late = issued_hot_work(w, "level1")
        service.transition(requester.at("2024-05-08 16:45"), late, "gas_analysis",
                           {"analyst": "王工", "passed": True})
        assert reasons_of(lambda: service.transition(requester.at("2024-05-08 17:01"), late, "start")) == [
            "作业票已过有效期（有效期至 2024-05-08 17:00）"]
        assert service.is_expired(late, at("2024-05-08 17:01")) and not service.is_expired(late, at("2024-05-08 17:00"))
        # 二级动火 issued Wednesday 09:00: valid 72 h, until Saturday 09:00.
        second = issued_hot_work(w, "level2")
        assert second.valid_until == at("2024-05-11 09:00")
        service.transition(requester.at("2024-05-11 08:40"), second, "gas_analysis",
                           {"analyst": "王工", "passed": True})
        service.transition(requester.at("2024-05-11 08:59"), second, "start")
        assert reasons_of(lambda: service.transition(requester.at("2024-05-11 09:01"), second, "resume")) == [
            "作业票已过有效期（有效期至 2024-05-11 09:00）"]
        # 特级 as 一级: 8 h.
        assert issued_hot_work(w, "special").valid_until == at("2024-05-08 17:00")
        db.session.commit()


def test_a_missing_failed_or_stale_gas_analysis_is_refused(app, w):
    requester, principal, admin = actors(w)
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        permit = service.create_permit(requester.at("2024-05-08 08:00"), enterprise_id=w["e"][1],
                                       kind="confined_space", location="一号水泥储罐",
                                       planned_start=at("2024-05-08 09:00"), workers=[{"name": "赵六"}],
                                       guardian="孙监护")
        service.transition(requester.at("2024-05-08 08:05"), permit, "identify", {"hazards": JSA})
        assert reasons_of(lambda: service.transition(principal.at("2024-05-08 08:10"), permit, "approve")) == [
            "缺少气体分析：受限空间作业须在作业前 30 分钟内气体分析合格"]
        service.transition(requester.at("2024-05-08 08:30"), permit, "gas_analysis",
                           {"analyst": "王工", "passed": False, "values": {"氧含量%": 18.2}})
        assert reasons_of(lambda: service.transition(principal.at("2024-05-08 08:31"), permit, "approve")) == [
            "最近一次气体分析不合格（2024-05-08 08:30，分析人：王工），须重新分析合格"]
        # Taken at 08:40, recorded later; an analysis in the future is refused.
        service.transition(requester.at("2024-05-08 08:42"), permit, "gas_analysis",
                           {"analyst": "王工", "passed": True, "at": at("2024-05-08 08:40")})
        with pytest.raises(Refused, match="分析时间不能晚于现在"):
            service.transition(requester.at("2024-05-08 08:42"), permit, "gas_analysis",
                               {"analyst": "王工", "passed": True, "at": at("2024-05-08 08:50")})
        service.transition(principal.at("2024-05-08 08:45"), permit, "approve")  # no age at approval
        # 35 minutes after the analysis: stale; exactly 30: still good.
        assert reasons_of(lambda: service.transition(admin.at("2024-05-08 09:15"), permit, "issue")) == [
            "气体分析已超过 30 分钟（2024-05-08 08:40 分析），须重新分析"]
        service.transition(admin.at("2024-05-08 09:10"), permit, "issue")
        assert permit.valid_until == at("2024-05-09 09:10")
        assert reasons_of(lambda: service.transition(requester.at("2024-05-08 09:30"), permit, "start")) == [
            "气体分析已超过 30 分钟（2024-05-08 08:40 分析），须重新分析"]
        service.transition(requester.at("2024-05-08 09:20"), permit, "gas_analysis",
                           {"analyst": "王工", "passed": False})
        assert reasons_of(lambda: service.transition(requester.at("2024-05-08 09:30"), permit, "start")) == [
            "最近一次气体分析不合格（2024-05-08 09:20，分析人：王工），须重新分析合格"]
        service.transition(requester.at("2024-05-08 09:40"), permit, "gas_analysis",
                           {"analyst": "王工", "passed": True})
        service.transition(requester.at("2024-05-08 09:45"), permit, "start")
        assert permit.state == "in_progress"
        # A kind without gas analysis asks for none.
        plate = service.create_permit(requester.at("2024-05-08 08:00"), enterprise_id=w["e"][1],
                                      kind="blind_plate", location="管廊", planned_start=at("2024-05-08 09:00"),
                                      workers=[{"name": "赵六"}])
        service.transition(requester.at("2024-05-08 08:05"), plate, "identify", {"hazards": JSA})
        service.transition(principal.at("2024-05-08 08:10"), plate, "approve")
        service.transition(admin.at("2024-05-08 08:20"), plate, "issue")
        assert plate.valid_until == at("2024-05-09 08:20")
        db.session.commit()
        events = list(db.session.scalars(select(PermitEvent.action).where(PermitEvent.permit_id == permit.id)
                                         .order_by(PermitEvent.id)))
    assert events == ["request", "identify", "gas_analysis", "gas_analysis", "approve", "issue",
                      "gas_analysis", "gas_analysis", "start"]


# --- certificates ------------------------------------------------------------------------------


def test_a_welder_whose_review_is_overdue_is_refused_with_the_ledgers_reason(client, certified):
    w = certified
    r = request_permit(client, w, kind="hot_work", grade="level2",
                       workers=[{"name": "李四", "id_number": LI, "work_kind": "焊接"}, {"name": "赵六"}])
    assert r.status_code == 422
    assert r.json["reasons"] == ["李四（焊接与热切割作业）：证书 T-LI 应于 2023-03-01 前复审，未复审",
                                 "动火作业须有持焊接与热切割作业操作证的作业人员"]
    assert r.json["errors"]["workers[0]"] == ["李四（焊接与热切割作业）：证书 T-LI 应于 2023-03-01 前复审，未复审"]
    # Hot work without a welder; an electrician for temporary power; a welder in order.
    r = request_permit(client, w, kind="hot_work", grade="level2", workers=[{"name": "赵六"}])
    assert r.json["reasons"] == ["动火作业须有持焊接与热切割作业操作证的作业人员"]
    ok(request_permit(client, w, kind="temporary_power", workers=[{"name": "王五", "work_kind": "电工"}]), 201)
    r = request_permit(client, w, kind="temporary_power", workers=[{"name": "张三", "id_number": ZHANG,
                                                                    "work_kind": "电工"}])
    assert r.json["reasons"] == ["张三（电工作业）：无电工作业的特种作业操作证记录",
                                 "临时用电作业须有持电工作业操作证的作业人员"]
    permit = ok(request_permit(client, w, kind="hot_work", grade="level2",
                               workers=[{"name": "张三", "id_number": ZHANG, "work_kind": "焊接"}]), 201)
    assert permit["workers"] == [{"name": "张三", "id_number": ZHANG, "work_kind": "焊接与热切割作业"}]
    listed = ok(client.get(P, query_string={"kind": "hot_work"}, headers=w["ent1"]))["items"]
    assert listed[0]["workers"][0]["id_number"] == ZHANG[:6] + "********" + ZHANG[-4:]
    # On the day planned: 张三's review falls due on 2025-03-01, so work planned after it is refused.
    r = request_permit(client, w, kind="hot_work", grade="level2", planned_start="2025-03-02T09:00:00+08:00",
                       workers=[{"name": "张三", "id_number": ZHANG, "work_kind": "焊接"}])
    assert r.json["reasons"][0] == "张三（焊接与热切割作业）：证书 T-ZHANG 应于 2025-03-01 前复审，未复审"
    bad = request_permit(client, w, workers=[{"name": "赵六", "work_kind": "潜水"}])
    assert bad.status_code == 422 and bad.json["errors"]["workers[0].work_kind"][0].startswith("须为特种作业类别之一")


def test_a_certificate_lapsing_before_the_start_stops_the_start(app, certified):
    """李四's certificate is fine when asked for a day before its review fell due; the start,
    checked on its own day, is refused with the ledgers' reason."""
    w = certified
    requester, principal, admin = actors(w)
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        ctx = requester.at("2023-02-27 08:00")
        permit = service.create_permit(ctx, enterprise_id=w["e"][1], kind="temporary_power",
                                       location="包装车间", planned_start=at("2023-02-28 09:00"),
                                       workers=[{"name": "王五", "work_kind": "电工作业"},
                                                {"name": "李四", "id_number": LI, "work_kind": "焊接"}],
                                       guardian="孙监护")
        service.transition(ctx, permit, "identify", {"hazards": JSA})
        service.transition(principal.at("2023-02-27 09:00"), permit, "approve")
        service.transition(admin.at("2023-02-28 08:00"), permit, "issue")
        assert reasons_of(lambda: service.transition(requester.at("2023-03-02 08:00"), permit, "start")) == [
            "李四（焊接与热切割作业）：证书 T-LI 应于 2023-03-01 前复审，未复审"]


# --- the ledger ----------------------------------------------------------------------------


def drill(client, w, held_on, dangerous):
    data = {"held_on": held_on, "scenario": "受限空间中毒窒息救援", "participants": 12}
    if dangerous is not None:
        data["dangerous_work"] = dangerous
    r = client.post(f"{T}/ledgers/drills/entries", headers=w["ent1"],
                    json={"enterprise_id": w["e"][1], "data": data})
    assert r.status_code == 201, r.json
    return r.json


def test_the_ledger_summary_counts_dangerous_work_drills_of_this_year(client, w):
    year = TODAY.year
    wednesday = dt.date(year, 3, 10) + dt.timedelta(days=(2 - dt.date(year, 3, 10).weekday()) % 7)
    drill(client, w, f"{year}-01-15", True)
    drill(client, w, f"{year}-03-20", True)
    drill(client, w, f"{year}-02-10", False)  # a drill, not of dangerous work
    drill(client, w, f"{year}-02-11", None)
    drill(client, w, f"{year - 1}-12-30", True)  # last year's
    kinds = {k["key"]: k for k in client.get(f"{T}/ledgers/kinds", headers=w["ent1"]).json}
    field = next(f for f in kinds["drills"]["fields"] if f["key"] == "dangerous_work")
    assert (field["label"], field["type"]) == ("危险作业应急演练", "boolean")
    planned = f"{wednesday.isoformat()}T09:00:00+08:00"  # a working day's morning
    ok(request_permit(client, w, planned_start=planned), 201)
    refused = ok(request_permit(client, w, planned_start=planned), 201)
    ok(step(client, w, "ent1b", refused["id"], "refuse", reason="措施不全"))
    ok(request_permit(client, w, kind="blind_plate", planned_start=f"{year - 1}-06-01T09:00:00+08:00"), 201)
    rows = ok(client.get(f"{P}/summary", headers=w["supervisor"]))["items"]
    assert rows == [{"enterprise_id": w["e"][1], "enterprise_name": "双勇鑫水泥厂", "year": year, "total": 2,
                     "open": 1, "closed": 0, "refused": 1, "cancelled": 0, "key_time": 0,
                     "by_kind": {"confined_space": 2}, "dangerous_work_drills": 2}]
    last = ok(client.get(f"{P}/summary", query_string={"year": year - 1}, headers=w["supervisor"]))["items"]
    assert [(r["total"], r["by_kind"], r["dangerous_work_drills"]) for r in last] == [(1, {"blind_plate": 1}, 1)]
    assert ok(client.get(f"{P}/summary", headers=w["ent2"]))["items"] == []
    # The Shenyang report's helper: by enterprise, since a day.
    with client.application.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        info = client.application.extensions["anjian.plugins"].tenant_info(db.session.get(Tenant, w["tenant"]))
        counts = PluginContext(info).permit_counts([w["e"][1], w["e"][2]], since=dt.date(year, 1, 1))
        assert counts == {w["e"][1]: {"total": 2, "open": 1, "closed": 0, "refused": 1,
                                      "by_kind": {"confined_space": 2}}}
        assert PluginContext(info).permit_counts([w["e"][1]])[w["e"][1]]["total"] == 3
        assert PluginContext(info).permit_counts([]) == {}


def test_lists_filters_and_open_permits(client, w):
    one = ok(request_permit(client, w, planned_start="2024-05-08T09:00:00+08:00"), 201)
    night = ok(request_permit(client, w, kind="blind_plate", planned_start="2024-05-09T23:00:00+08:00"), 201)
    gone = ok(request_permit(client, w, planned_start="2024-05-10T09:00:00+08:00"), 201)
    ok(step(client, w, "ent1", gone["id"], "cancel", reason="改期"))

    def ids(url, **query):
        return [p["id"] for p in ok(client.get(url, query_string=query, headers=w["supervisor"]))["items"]]

    assert ids(P) == [gone["id"], night["id"], one["id"]]  # the latest planned first
    assert ids(P, open="true") == [night["id"], one["id"]]
    assert ids(P, open="false") == [gone["id"]]
    assert ids(P, kind="blind_plate") == [night["id"]]
    assert ids(P, key_time="true") == [night["id"]]
    assert ids(P, planned_from="2024-05-09", planned_until="2024-05-09") == [night["id"]]
    assert ids(P, state="cancelled") == [gone["id"]]
    assert ids(P, q=one["number"]) == [one["id"]]
    assert ids(f"{P}/open") == [one["id"], night["id"]]  # the soonest planned first
    # A page past the end: no row to carry the total, counted on its own.
    past = ok(client.get(f"{P}/open", query_string={"page": 3, "per_page": 1}, headers=w["supervisor"]))
    assert (past["items"], past["total"]) == ([], 2)
    first = ok(client.get(f"{P}/open", query_string={"per_page": 1}, headers=w["supervisor"]))
    assert ([p["enterprise_name"] for p in first["items"]], first["total"]) == (
        [one["enterprise_name"]], 2)
    second = ok(client.get(f"{P}/open", query_string={"page": 2, "per_page": 1}, headers=w["supervisor"]))
    assert ([p["id"] for p in second["items"]], second["total"]) == ([night["id"]], 2)
    assert client.get(P, query_string={"planned_from": "2024-05-10", "planned_until": "2024-05-09"},
                      headers=w["supervisor"]).status_code == 422


# --- who sees what, If-Match ---------------------------------------------------------------------


def test_visibility_another_enterprise_and_another_tenant_get_404(client, w):
    permit = ok(request_permit(client, w), 201)
    url = f"{P}/{permit['id']}"
    assert client.get(url, headers=w["ent2"]).status_code == 404
    assert client.get(f"/api/v1/tenants/sy-permits-other/permits/{permit['id']}", headers=w["other"]).status_code == 404
    assert client.get(url, headers=w["other"]).status_code == 404  # not a member here
    assert ok(client.get(url, headers=w["supervisor"]))["number"] == permit["number"]
    assert ok(client.get(P, headers=w["ent2"]))["total"] == 0
    assert ok(client.get(f"{P}/open", headers=w["ent2"]))["total"] == 0
    # The other enterprise cannot step it, nor request for it; the bureau reads but does not write.
    r = client.post(f"{url}/transitions", json={"action": "cancel", "reason": "x"},
                    headers={**w["ent2"], "If-Match": client.get(url, headers=w["ent1"]).headers["ETag"]})
    assert r.status_code == 404
    assert request_permit(client, w, who="ent2").status_code == 404
    assert request_permit(client, w, who="supervisor").status_code == 403


def test_steps_need_if_match(client, w):
    permit = ok(request_permit(client, w), 201)
    url = f"{P}/{permit['id']}"
    etag = client.get(url, headers=w["ent1"]).headers["ETag"]
    r = client.post(f"{url}/transitions", json={"action": "identify", "hazards": JSA}, headers=w["ent1"])
    assert r.status_code == 428
    ok(client.post(f"{url}/transitions", json={"action": "identify", "hazards": JSA},
                   headers={**w["ent1"], "If-Match": etag}))
    r = client.post(f"{url}/transitions", json={"action": "cancel", "reason": "改期"},
                    headers={**w["ent1"], "If-Match": etag})
    assert r.status_code == 412
    assert ok(client.get(url, headers=w["ent1"]))["state"] == "identified"


# --- the workbook --------------------------------------------------------------------------------


def test_the_permit_ledger_exports_its_rows(client, w):
    night = ok(request_permit(client, w, kind="blind_plate", location="管廊二层", content="抽堵 DN100 盲板",
                              planned_start="2024-05-09T23:00:00+08:00",
                              planned_end="2024-05-10T02:00:00+08:00"), 201)
    ok(step(client, w, "ent1", night["id"], "identify", hazards=JSA))
    ok(step(client, w, "ent1b", night["id"], "approve"))
    day = ok(request_permit(client, w, planned_start="2024-05-08T09:00:00+08:00"), 201)
    r = client.get(f"{P}/export", headers=w["supervisor"])
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows()]
    assert rows[0] == ["作业票编号", "企业名称", "作业类别", "级别", "作业地点", "作业内容", "作业人员", "监护人",
                       "第二监护人", "计划开始", "计划结束", "重点时段", "审批人", "签发时间", "有效期至", "开始作业",
                       "验收人", "结束时间", "状态"]
    assert rows[1] == [night["number"], "双勇鑫水泥厂", "盲板抽堵作业", None, "管廊二层", "抽堵 DN100 盲板", "赵六",
                       None, None, dt.datetime(2024, 5, 9, 23, 0), dt.datetime(2024, 5, 10, 2, 0),
                       "夜间（22:00 至次日 06:00）", "pm-ent1b", None, None, None, None, None, "审批中"]
    assert rows[2][:4] == [day["number"], "双勇鑫水泥厂", "受限空间作业", None]
    assert (rows[2][11], rows[2][18]) == ("否", "已申请")
    assert len(rows) == 3
    only = client.get(f"{P}/export", query_string={"key_time": "true"}, headers=w["supervisor"])
    assert len(list(openpyxl.load_workbook(io.BytesIO(only.data)).active.iter_rows())) == 2
    empty = client.get(f"{P}/export", headers=w["ent2"])
    assert len(list(openpyxl.load_workbook(io.BytesIO(empty.data)).active.iter_rows())) == 1


def test_permits_are_tenant_rows(app, w, client):
    ok(request_permit(client, w), 201)
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        assert db.session.scalar(select(Permit.tenant_id)) == w["tenant"]
