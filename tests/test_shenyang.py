"""Seed 004 (a Shenyang street's 2024 crackdown on small industrial enterprises) end to end:
the targets with their planned mark and deadline, the rules self-check by group, the
annex's checklist whose every "否" raises a hazard, the ledger duties from the settings and
the hazard a missed one raises, the crackdown rule (an order given in 1–20 May and overdue:
a candidate for a penalty), and the progress report per enterprise and per sector. Every
expected figure is counted by hand from the rows this test writes."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select

from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.hazards.models import Hazard
from anjian.jobs import embedded
from anjian.ledgers.models import EnterpriseRule, LedgerEntry, RuleTemplate
from anjian.permits.models import Permit
from anjian.risks.models import RiskPoint
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer
from tests.test_reports import fetch, pdf_text_and_fonts, pdf_tools

T = "/api/v1/tenants/sy-street"
KIND = "shenyang_small_industrial_crackdown_2024"
# (short, name, industry, planned) — names from the seed's list of key enterprises.
ENTERPRISES = [
    ("E1", "双勇鑫水泥厂", "建材", True),
    ("E2", "吉祥水泥管厂", "建材", False),
    ("E3", "千汇链条制造有限公司", "机械", True),
    ("E4", "润香坊酒厂", "轻工", False),
    ("E5", "晟鑫纸业", "轻工", False),
    ("X", "街道综合商店", "商贸", False),
]


@pytest.fixture
def w(app, factory):
    tenant = factory.tenant("sy-street", plugins=["anjian_shenyang"], level="street")
    ids = {}
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        for n, (short, name, industry, planned) in enumerate(ENTERPRISES, 1):
            row = Enterprise(credit_code=f"9121010{n:011d}", name=name, industry=industry,
                             extra={"inspection_plan_2024": True} if planned else {})
            db.session.add(row)
            db.session.flush()
            ids[short] = row.id
        db.session.commit()
    users = {role: bearer(factory.user(f"sy-{role}", {tenant: role})[1])
             for role in ("tenant_admin", "supervisor", "viewer")}
    return {"tenant": tenant, "e": ids, **users}


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.json


def campaign(client, w) -> int:
    created = ok(client.post(f"{T}/campaigns", headers=w["tenant_admin"], json={"kind": KIND}), 201)
    ok(client.post(f"{T}/campaigns/{created['id']}/status", headers=w["tenant_admin"], json={"status": "active"}))
    return created["id"]


def rules(app, w, statuses: dict[str, list[str]]) -> None:
    """Three templates; each enterprise's statuses in template order (None: not assessed)."""
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        templates = [RuleTemplate(code=f"ZD-{n}", title=title, seq=n) for n, title in
                     enumerate(("全员安全生产责任制", "隐患排查治理制度", "危险作业审批制度"), 1)]
        db.session.add_all(templates)
        db.session.flush()
        for short, marks in statuses.items():
            for template, status in zip(templates, marks, strict=True):
                if status is not None:
                    db.session.add(EnterpriseRule(enterprise_id=w["e"][short], template_id=template.id,
                                                  status=status))
        db.session.commit()


def entries(app, w, rows) -> None:
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        for short, kind, data, dated_on, expires_on in rows:
            db.session.add(LedgerEntry(enterprise_id=w["e"][short], kind=kind, data=data, dated_on=dated_on,
                                       expires_on=expires_on))
        db.session.commit()


def test_targets_carry_their_group_and_deadline(client, w):
    cid = campaign(client, w)
    added = ok(client.post(f"{T}/campaigns/{cid}/targets", headers=w["tenant_admin"], json={"rule": "plugin"}))
    assert added["added"] == 5  # the three sectors' five; the shop (商贸) is not one
    rows = ok(client.get(f"{T}/campaigns/{cid}/targets", headers=w["viewer"], query_string={"per_page": 50}))
    reasons = {r["enterprise_id"]: r["reason"] for r in rows["items"]}
    assert reasons[w["e"]["E1"]] == ("建材行业，计划内（列入2024年行政检查计划）："
                                     "4月30日前建立完善安全生产规章制度和安全操作规程")
    assert reasons[w["e"]["E4"]] == "轻工行业，计划外：5月15日前建立完善安全生产规章制度和安全操作规程"
    assert w["e"]["X"] not in reasons


def test_the_rules_self_check_by_group_and_deadline(app, client, w):
    cid = campaign(client, w)
    ok(client.post(f"{T}/campaigns/{cid}/targets", headers=w["tenant_admin"], json={"rule": "plugin"}))
    rules(app, w, {"E1": ["present"] * 3, "E2": ["present", "present", "missing"],
                   "E3": ["present", "present", None]})
    url = f"{T}/plugins/anjian_shenyang/rules-progress"

    def progress(as_of):
        return ok(client.get(url, headers=w["supervisor"], query_string={"campaign_id": cid, "as_of": as_of}))

    may1 = progress("2024-05-01")
    groups = {g["key"]: g for g in may1["groups"]}
    # Planned (by 30 April): E1 done, E3 one rule unassessed → overdue. Others (by 15 May): due.
    assert {k: (g["enterprises"], g["done"], g["due"], g["overdue"]) for k, g in groups.items()} == {
        "planned": (2, 1, 0, 1), "other": (3, 0, 3, 0)}
    assert (groups["planned"]["deadline"], groups["other"]["deadline"]) == ("2024-04-30", "2024-05-15")
    by_name = {r["enterprise_name"]: r for r in may1["enterprises"]}
    assert (by_name["吉祥水泥管厂"]["present"], by_name["吉祥水泥管厂"]["missing"],
            by_name["吉祥水泥管厂"]["share_present"]) == (2, 1, 0.6667)
    assert may1["warnings"] == ["已导入规章制度模板 3 个，方案要求对标 271 个，请导入区应急管理局推送的模板清单",
                                "计划内企业实有 2 家，方案为 16 家", "计划外企业实有 3 家，方案为 33 家"]
    may16 = {g["key"]: g for g in progress("2024-05-16")["groups"]}
    assert (may16["other"]["done"], may16["other"]["overdue"]) == (0, 3)
    assert client.get(url, headers=w["supervisor"], query_string={"as_of": "五月"}).status_code == 422


def test_every_no_on_the_annex_checklist_raises_a_hazard(client, w):
    cid = campaign(client, w)
    created = ok(client.post(f"{T}/inspections", headers=w["supervisor"], json={
        "enterprise_id": w["e"]["E1"], "campaign_id": cid, "template_key": "shenyang_basic_management_2024"}), 201)
    assert len(created["results"]) == 10
    iid = created["inspection"]["id"]
    answers = [{"item_id": r["item_id"], "answer": "no" if r["code"] in ("SY-08", "SY-10") else "yes"}
               for r in created["results"]]
    ok(client.put(f"{T}/inspections/{iid}/results", headers=w["supervisor"], json={"results": answers}))
    view = ok(client.post(f"{T}/inspections/{iid}/submit", headers=w["supervisor"], json={}))
    raised = {r["code"]: r["hazard_id"] for r in view["results"] if r["hazard_id"]}
    assert set(raised) == {"SY-08", "SY-10"}
    hazard = ok(client.get(f"{T}/hazards/{raised['SY-10']}", headers=w["supervisor"]))
    # Issue 22: no note was given, so the title says the requirement was not met (not the
    # requirement alone); the requirement and its basis stay as the criterion.
    assert hazard["title"].startswith("不符合要求：制定事故调查相关制度")
    assert hazard["description"].startswith("检查依据/要求：制定事故调查相关制度")
    assert hazard["description"].endswith("（《小微工业企业安全生产集中攻坚整治专项行动方案》附件"
                                          "《安全生产重点检查建议清单（基础管理方面）》第10项）")
    assert (hazard["source"], hazard["campaign_id"]) == ("department", cid)


def test_ledger_duties_from_the_settings_and_the_finding_a_missed_one_raises(app, client, w):
    entries(app, w, [
        # E1: an agreement that lapsed on 31 March; a valid welder's certificate; a principal's
        # major-hazard check in February.
        ("E1", "related_parties", {"name": "沈阳宏达设备维修有限公司", "kind": "外委作业",
                                   "agreement_ends_on": "2024-03-31"}, None, dt.date(2024, 3, 31)),
        ("E1", "special_workers", {"name": "赵建国", "work_kind": "焊接与热切割作业", "certificate_no": "T1",
                                   "issued_on": "2021-05-10"}, dt.date(2021, 5, 10), dt.date(2027, 5, 10)),
        ("E1", "self_inspections", {"checked_on": "2024-02-10", "kind": "重大事故隐患专项检查"},
         dt.date(2024, 2, 10), None),
        # E3: a daily check does not count for the principal's duty.
        ("E3", "self_inspections", {"checked_on": "2024-02-12", "kind": "日常检查"}, dt.date(2024, 2, 12), None),
    ])
    status = ok(client.get(f"{T}/ledger-duties", headers=w["supervisor"],
                           query_string={"as_of": "2024-05-15", "enterprise_id": w["e"]["E1"]}))
    items = {(i["key"], i["period"]): i["status"] for i in status["items"][0]["items"]}
    assert items == {
        ("drills_per_year", "2024年度"): "due",
        ("related_party_agreements", "截至2024-05-15"): "missed",
        ("certified_special_workers", "截至2024-05-15"): "met",
        ("principal_major_hazard_checks", "2024年第1季度"): "met",
        ("principal_major_hazard_checks", "2024年第2季度"): "due",
    }
    e3 = ok(client.get(f"{T}/ledger-duties", headers=w["supervisor"],
                       query_string={"as_of": "2024-05-15", "enterprise_id": w["e"]["E3"]}))["items"][0]["items"]
    # No related party and no special worker: nothing expired, so both are met (count 0).
    assert {(i["key"], i["status"]) for i in e3 if i["key"] != "drills_per_year"} == {
        ("related_party_agreements", "met"), ("certified_special_workers", "met"),
        ("principal_major_hazard_checks", "missed"), ("principal_major_hazard_checks", "due")}
    # Findings: only the lapsed agreement raises one (the principal's checks raise none).
    found = ok(client.post(f"{T}/ledger-duties/findings", headers=w["supervisor"], json={"as_of": "2024-05-15"}))
    assert [(f["enterprise_id"], f["key"]) for f in found["raised"]] == [
        (w["e"]["E1"], "related_party_agreements")]
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        hazard = db.session.scalar(select(Hazard).where(Hazard.id == found["raised"][0]["hazard_id"]))
        assert hazard.title == "台账义务未完成：相关方安全生产管理协议在有效期内（截至2024-05-15）"
        assert "明确双方各自管理的区域范围、管理职责和协议期限" in hazard.description
    again = ok(client.post(f"{T}/ledger-duties/findings", headers=w["supervisor"], json={"as_of": "2024-05-15"}))
    assert again["raised"] == []


def test_an_order_of_the_crackdown_left_overdue_is_a_candidate_for_a_penalty(app, client, w):
    cid = campaign(client, w)
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        for short, title, found_on, deadline, state in (
                ("E2", "水泥罐区防护栏缺失", dt.date(2024, 5, 6), dt.date(2024, 5, 13), "rectifying"),
                ("E2", "配电箱未上锁", dt.date(2024, 4, 20), dt.date(2024, 4, 27), "rectifying"),  # before 1 May
                ("E4", "消防通道堵塞", dt.date(2024, 5, 10), dt.date(2024, 5, 17), "verified"),  # fixed
                ("E5", "粉尘清扫记录缺失", dt.date(2024, 5, 21), dt.date(2024, 5, 28), "rectifying")):  # after 20 May
            db.session.add(Hazard(enterprise_id=w["e"][short], campaign_id=cid, source="department", title=title,
                                  found_on=found_on, deadline=deadline, state=state, grade="general"))
        db.session.commit()
    page = ok(client.get(f"{T}/enforcement-referrals/candidates", headers=w["supervisor"],
                         query_string={"campaign_id": cid}))
    assert [(c["enterprise_name"], c["reasons"]) for c in page["items"]] == [
        ("吉祥水泥管厂", ["集中攻坚阶段责令限期整改的隐患逾期未整改：水泥罐区防护栏缺失（2024-05-06发现，"
                     "整改期限2024-05-13），依法实施行政处罚"])]


def risk_points(app, w, rows) -> None:
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        for n, (short, level) in enumerate(rows, 1):
            db.session.add(RiskPoint(enterprise_id=w["e"][short], name=f"风险点{n}", kind="equipment",
                                     managing_level="workshop", method="lec", likelihood=3, exposure=6,
                                     consequence=7, score=126, level=level, factors=[]))
        db.session.commit()


def make_report(app, client, w, fmt, params):
    r = client.post(f"{T}/reports", headers=w["supervisor"],
                    json={"kind": "shenyang_crackdown_progress", "format": fmt, "params": params})
    assert r.status_code == 202, r.get_json()
    assert embedded.drain(app)
    report = client.get(r.json["report_url"], headers=w["viewer"]).json
    assert report["status"] == "ready", report
    return report


def test_the_progress_report_per_enterprise_and_per_sector(app, client, w, tmp_path):
    cid = campaign(client, w)
    ok(client.post(f"{T}/campaigns/{cid}/targets", headers=w["tenant_admin"], json={"rule": "plugin"}))
    rules(app, w, {"E1": ["present"] * 3, "E2": ["present", "present", "missing"],
                   "E3": ["present", "present", None]})
    entries(app, w, [
        ("E1", "related_parties", {"name": "沈阳宏达设备维修有限公司", "kind": "外委作业",
                                   "agreement_ends_on": "2024-03-31"}, None, dt.date(2024, 3, 31)),
        ("E1", "self_inspections", {"checked_on": "2024-02-10", "kind": "重大事故隐患专项检查"},
         dt.date(2024, 2, 10), None),
        ("E3", "self_inspections", {"checked_on": "2024-03-01", "kind": "重大事故隐患专项检查"},
         dt.date(2024, 3, 1), None),
    ])
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        for short, state in (("E1", "reported"), ("E1", "rectifying"), ("E2", "verified"), ("E2", "reported"),
                             ("E2", "verified")):
            db.session.add(Hazard(enterprise_id=w["e"][short], campaign_id=cid, source="department",
                                  title="隐患", found_on=dt.date(2024, 5, 8), state=state, grade="general"))
        db.session.commit()
    risk_points(app, w, [("E1", "large"), ("E1", "general"), ("E4", "low")])
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        for n, (short, state) in enumerate((("E1", "closed"), ("E3", "issued")), 1):
            db.session.add(Permit(enterprise_id=w["e"][short], number=f"ZYP-20240510-{n:04d}", kind="hot_work",
                                  grade="level2", location="车间", state=state,
                                  planned_start=dt.datetime(2024, 5, 10, 1, 0, tzinfo=dt.UTC)))
        db.session.commit()
    data = make_report(app, client, w, "json", {"campaign_id": cid, "as_of": "2024-05-16"})["data"]
    # By hand: rules present of templates — 建材 E1 3/3 + E2 2/3 = 5/6; 机械 E3 2/3; 轻工 0/6.
    # Ledgers complete (no duty missed by 16 May): only E3 (E1's agreement lapsed; E2, E4,
    # E5 had no principal's check in the first quarter). Hazards: E1 2 found; E2 3 found, 2 fixed.
    assert [(s["sector"], s["enterprises"], s["present"], s["templates"], s["share_present"], s["rules_done"],
             s["ledgers_complete"], s["hazards_found"], s["hazards_fixed"]) for s in data["sectors"]] == [
        ("建材", 2, 5, 6, 0.8333, 1, 0, 5, 2), ("机械", 1, 2, 3, 0.6667, 0, 1, 0, 0),
        ("轻工", 2, 0, 6, 0.0, 0, 0, 0, 0)]
    # Risks: E1 two points (one 较大), E4 one (低); permits this year: E1 one closed, E3 one open.
    assert [(s["sector"], s["risk_registered"], s["risk_points"], s["risk_major_large"], s["permits"],
             s["permits_open"]) for s in data["sectors"]] == [
        ("建材", 1, 2, 1, 1, 0), ("机械", 0, 0, 0, 1, 1), ("轻工", 1, 1, 0, 0, 0)]
    # Registration by 16 May: E1 done; E3 (planned, due 30 April) overdue; E4 done; E2, E5 due by 31 May.
    assert {e["enterprise_name"]: e["risk_status"] for e in data["enterprises"]} == {
        "双勇鑫水泥厂": "已完成", "吉祥水泥管厂": "进行中", "千汇链条制造有限公司": "逾期未完成",
        "润香坊酒厂": "已完成", "晟鑫纸业": "进行中"}
    assert {g["key"]: (g["risk_done"], g["risk_due"], g["risk_overdue"]) for g in data["groups"]} == {
        "planned": (1, 0, 1), "other": (1, 2, 0)}
    e1 = next(e for e in data["enterprises"] if e["enterprise_name"] == "双勇鑫水泥厂")
    assert (e1["rules_status"], e1["duties_missed"], e1["missed"]) == (
        "已完成", 1, "相关方安全生产管理协议在有效期内（截至2024-05-16）")
    sheet = openpyxl.load_workbook(io.BytesIO(fetch(client, make_report(
        app, client, w, "xlsx", {"campaign_id": cid, "as_of": "2024-05-16"}), w["viewer"])))["按行业"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert rows[0] == ["行业", "企业数", "制度建立比例", "制度自查完成企业", "台账齐全企业", "发现隐患", "已整改验收",
                       "录入风险企业", "风险点", "重大及较大风险", "作业票（本年）", "未关闭作业票"]
    assert rows[1] == ["建材", 2, 0.8333, 1, 0, 5, 2, 1, 2, 1, 1, 0]
    pdf_tools()
    pdf = make_report(app, client, w, "pdf", {"campaign_id": cid, "as_of": "2024-05-16"})
    text, _fonts = pdf_text_and_fonts(tmp_path, fetch(client, pdf, w["viewer"]))
    assert "小微工业企业安全生产集中攻坚整治进度表" in text and "吉祥水泥管厂" in text, text


def test_the_end_of_may_evaluation_is_made_on_its_day():
    from anjian.plugin_api import CHINA, TenantInfo
    from anjian_shenyang import ShenyangSettings
    from anjian_shenyang.report import REPORT, evaluation_params

    tenant = TenantInfo(1, "sy", "街道", "street", ("anjian_shenyang",),
                        {"anjian_shenyang": ShenyangSettings().load({})})
    assert REPORT.schedule.format == "pdf"
    assert evaluation_params(tenant, dt.datetime(2024, 5, 31, 18, 0, tzinfo=CHINA)) == {"as_of": "2024-05-31"}
    assert evaluation_params(tenant, dt.datetime(2024, 5, 30, 18, 0, tzinfo=CHINA)) is None
    # 31 May 18:00 in Shenyang is 10:00 UTC: the slot is read in China's time.
    assert evaluation_params(tenant, dt.datetime(2024, 5, 31, 10, 0, tzinfo=dt.UTC)) == {"as_of": "2024-05-31"}


def test_the_city_risk_catalogues_and_the_export_to_its_reporting_system(app, client, w):
    catalogues = ok(client.get(f"{T}/risks/catalogues", headers=w["supervisor"]))
    titles = {c["title"] for c in (catalogues["items"] if isinstance(catalogues, dict) else catalogues)}
    assert titles >= {"沈阳市一般安全生产风险目录（工业类）", "沈阳市较大级以上安全生产风险目录（工业类）"}
    risk_points(app, w, [("E1", "large")])
    r = client.get(f"{T}/risks/city-export", headers=w["supervisor"])
    assert r.status_code == 200, r.get_json()
    sheet = openpyxl.load_workbook(io.BytesIO(r.data))["风险报告"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[:4] == ["企业名称", "统一社会信用代码", "所属网格", "风险点名称"]
    assert "风险颜色" in header and "管控层级" in header


def test_dangerous_work_kinds_and_approvals_doubled_at_key_times(w):
    from anjian_shenyang import permit_approvals, register_permit_kinds

    assert [k.title for k in register_permit_kinds()] == ["爆破作业", "检维修作业"]
    assert [s.key for s in permit_approvals(tenant=None, permit=None, key_time=False)] == [
        "principal", "guardian", "acceptance"]
    doubled = permit_approvals(tenant=None, permit=None, key_time=True)
    assert [(s.key, s.stage) for s in doubled] == [
        ("principal", "approve"), ("second_approval", "approve"), ("guardian", "supervise"),
        ("second_guardian", "supervise"), ("acceptance", "accept"), ("second_acceptance", "accept")]
