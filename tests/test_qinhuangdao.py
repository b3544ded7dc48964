"""The Qinhuangdao ETDZ plugin (issue 6, "The plugin anjian_qinhuangdao" 1-5), seed 000:
the 2022 third-party safety service programme of the zone's emergency bureau.

Everything is built through the HTTP API; the expectations are counted by hand from
the fixtures (and, for working days, from the State Council's published calendars).
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import time

import openpyxl
import pytest
from stdnum.cn import uscc

from anjian.clock import local_today
from tests.services import require_service

PLUGIN = "anjian_qinhuangdao"
KIND = "qhd_social_service_2022"
SURVEY = "qinhuangdao_baseline_survey_2022"
ACCEPTANCE = "qinhuangdao_acceptance_2022"
BUREAU = "秦皇岛经济技术开发区应急管理局"
T = "/api/v1/tenants/qhd"
CRITERIA = [f"YS0{n}" for n in range(1, 10)]

# short name: (name, scale, status, baseline fields)
ENTERPRISES = {
    "A": ("秦皇岛开发区恒通机械加工厂", "below", "active",
          {"address": "秦皇岛经济技术开发区永定河道8号", "main_products": "机械零部件",
           "employees": 36, "safety_managers": 1, "special_workers": 4,
           "main_risk_factors": "机械伤害、触电、火灾", "confined_space": True,
           "extra": {"qhd_survey_on": "2022-06-15", "qhd_certified_special_workers": 4}}),
    "B": ("秦皇岛开发区兴华包装制品厂", "below", "active",
          {"address": "秦皇岛经济技术开发区龙海道16号", "main_products": "纸箱",
           "employees": 22, "main_risk_factors": "火灾"}),
    "C": ("秦皇岛开发区宏达五金厂", "below", "active", {}),
    "D": ("秦皇岛开发区利民食品厂", "below", "active", {"dust_explosion": True}),
    "E": ("秦皇岛开发区永安家具厂", "below", "active", {}),
    "F": ("秦皇岛开发区已关闭铸造厂", "below", "closed", {}),
    "G": ("秦皇岛开发区重型装备制造有限公司", "above", "active", {}),
    "H": ("秦皇岛开发区小微印刷社", "micro", "active", {}),
}


def code(n: int) -> str:
    base = f"91130301MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


class World(dict):
    """The tenant, its people (headers by role), its enterprises (ids by short name) and
    the service organisation."""


TENANT_SPEC = {"code": "qhd", "plugins": [PLUGIN], "level": "zone", "name": BUREAU}


@pytest.fixture
def anjian_tenant_spec():
    """The tenant of anjian.testing's fixtures (anjian_tenant, anjian_clients)."""
    return dict(TENANT_SPEC)


@pytest.fixture
def w(client, anjian_tenant, anjian_clients):
    return build_world(client, anjian_tenant, anjian_clients)


def build_world(client, anjian_tenant, anjian_clients) -> World:
    """The bureau's people, enterprises A-H and the service organisation (with its user)."""
    world = World(tenant=anjian_tenant.id)
    world["admin"] = anjian_clients["platform_admin"].headers
    for role in ("supervisor", "viewer", "service_org"):
        world[role] = anjian_clients[role].headers
        world[f"{role}_id"] = anjian_clients[role].user_id
    world["ent"] = {}
    for n, (short, (name, scale, status, more)) in enumerate(ENTERPRISES.items(), start=1):
        body = {"credit_code": code(n), "name": name, "scale": scale, "status": status,
                "industry": "机械", **more}
        world["ent"][short] = ok(client.post(f"{T}/enterprises", headers=world["admin"],
                                             json=body), 201)["id"]
    org = ok(client.post(f"{T}/service-organisations", headers=world["admin"],
                         json={"name": "河北安泰安全技术服务有限公司"}), 201)
    ok(client.post(f"{T}/service-organisations/{org['id']}/staff", headers=world["admin"],
                   json={"user_id": world["service_org_id"]}), 201)
    world["org"] = org["id"]
    return world


def create_campaign(client, w, enforcement=("2022-09-30", "2022-10-31")):
    phases = []
    if enforcement:
        phases = [{"key": "enforcement", "starts_on": enforcement[0]}]
        if enforcement[1]:
            phases[0]["ends_on"] = enforcement[1]
    campaign = ok(client.post(f"{T}/campaigns", headers=w["admin"],
                              json={"kind": KIND, "phases": phases}), 201)
    ok(client.post(f"{T}/campaigns/{campaign['id']}/status", headers=w["admin"],
                   json={"status": "active"}))
    return campaign


def target(client, w, cid, *shorts):
    return ok(client.post(f"{T}/campaigns/{cid}/targets", headers=w["admin"],
                          json={"enterprise_ids": [w["ent"][s] for s in shorts]}))


def contract(client, w, cid, shorts):
    """A programme contract of the organisation serving ``shorts``, running from a month
    before today to two months after (the service records it gets are dated today)."""
    today = local_today()
    starts, ends = (today - dt.timedelta(days=30)).isoformat(), \
        (today + dt.timedelta(days=60)).isoformat()
    return ok(client.post(f"{T}/service-contracts", headers=w["admin"], json={
        "organisation_id": w["org"], "campaign_id": cid, "title": "2022年安全生产社会化服务",
        "starts_on": starts, "ends_on": ends, "price_per_enterprise": "3000.00",
        "service_kinds": ["technical"], "enterprise_ids": [w["ent"][s] for s in shorts]}), 201)


def inspect(client, headers, enterprise_id, cid, template, answers=None, conclusion=""):
    """An inspection answered "yes" everywhere except ``answers`` ({code: answer or
    (answer, raise_hazard body)}), then submitted; returns (inspection id, its view)."""
    created = ok(client.post(f"{T}/inspections", headers=headers, json={
        "enterprise_id": enterprise_id, "campaign_id": cid, "template_key": template}), 201)
    iid = created["inspection"]["id"]
    results = []
    for row in created["results"]:
        given = (answers or {}).get(row["code"], "yes")
        entry = {"item_id": row["item_id"], "answer": given}
        if isinstance(given, tuple):
            entry = {"item_id": row["item_id"], "answer": given[0], "raise_hazard": given[1]}
        results.append(entry)
    ok(client.put(f"{T}/inspections/{iid}/results", headers=headers, json={"results": results}))
    view = ok(client.post(f"{T}/inspections/{iid}/submit", headers=headers,
                          json={"conclusion": conclusion}))
    return iid, view


def hazard_of(view, item_code):
    """The hazard raised by the answer to ``item_code`` in an inspection's view."""
    return next(r["hazard_id"] for r in view["results"] if r["code"] == item_code)


def drain(app):
    from anjian.jobs import embedded

    embedded.drain(app)


def reports(client, w, kind):
    """The tenant's reports of a kind, oldest first, each in detail (GET .../reports)."""
    page = ok(client.get(f"{T}/reports", headers=w["viewer"],
                         query_string={"kind": kind, "per_page": 100}))
    return [ok(client.get(r["url"], headers=w["viewer"])) for r in reversed(page["items"])]


def wait_reports(app, client, w, kind, count, timeout=60.0):
    """Run the queue until ``count`` reports of ``kind`` are made (or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        drain(app)
        rows = reports(client, w, kind)
        if len(rows) >= count and all(r["status"] in ("ready", "failed") for r in rows):
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.05)


def make_report(app, client, w, kind, fmt, params):
    """Ask for a report as the bureau's supervisor would (202), run the queue, read it."""
    body = ok(client.post(f"{T}/reports", headers=w["supervisor"],
                          json={"kind": kind, "format": fmt, "params": params}), 202)
    drain(app)
    report = ok(client.get(body["report_url"], headers=w["supervisor"]))
    assert report["status"] == "ready", report
    return report


def fetch(client, w, report) -> bytes:
    """The report's file, through /download (a redirect to a short-lived link)."""
    r = client.get(report["download"], headers=w["viewer"])
    assert r.status_code == 302, r.get_data(as_text=True)
    got = client.get(r.headers["Location"])
    try:
        assert got.status_code == 200
        return got.data
    finally:
        got.close()


# --- 1. the campaign kind and its targets -----------------------------------------------------

def test_campaign_kind_has_the_seeds_five_phases(app, client, w):
    kinds = ok(client.get(f"{T}/campaign-kinds", headers=w["viewer"]))
    assert [k["key"] for k in kinds] == [KIND]
    phases = [(p["key"], p["start"], p["end"]) for p in kinds[0]["phases"]]
    assert phases == [
        ("survey", "2022-06-01", "2022-08-31"),
        ("guided_rectification", "2022-06-01", "2022-08-31"),
        ("acceptance", "2022-06-01", "2022-08-31"),
        ("spot_check", "2022-09-01", "2022-09-29"),
        ("enforcement", None, None),  # the seed dates no enforcement: the tenant does
    ]
    titles = [p["title"] for p in kinds[0]["phases"]]
    assert titles == ["第一阶段（全面摸底排查阶段）", "第二阶段（指导整改阶段）",
                      "第三阶段（复查验收阶段）", "第四阶段（抽查服务结果阶段）", "第五阶段（执法检查阶段）"]
    rules = {p["key"]: p["rule"] for p in kinds[0]["phases"]}
    assert "发现重大隐患由服务机构及时上报应急管理局" in rules["survey"]
    assert "对每家企业出具情况报告和结论性意见" in rules["acceptance"]
    assert "20个工作日内" in rules["spot_check"] and "一企一策" in rules["enforcement"]

    # The spot check's window: 20 working days after 31 August 2022, counted by hand:
    # 1-2 Sep (2), 5-9 Sep (7), Mid-Autumn Mon 12 Sep off, 13-16 Sep (11), 19-23 Sep (16),
    # 26-29 Sep (20).
    from anjian.workdays.service import add_workdays

    with app.app_context():
        assert add_workdays(dt.date(2022, 8, 31), 20) == (dt.date(2022, 9, 29), False)

    campaign = create_campaign(client, w)
    assert (campaign["starts_on"], campaign["ends_on"]) == ("2022-06-01", "2022-10-31")
    tasks = ok(client.get(f"{T}/campaigns/{campaign['id']}/tasks", headers=w["viewer"]))["items"]
    assert sorted((t["key"], t["deadline"]) for t in tasks) == [
        ("phase:acceptance", "2022-08-31"), ("phase:enforcement", "2022-10-31"),
        ("phase:guided_rectification", "2022-08-31"), ("phase:spot_check", "2022-09-29"),
        ("phase:survey", "2022-08-31")]
    undated = create_campaign(client, w, enforcement=None)
    tasks = ok(client.get(f"{T}/campaigns/{undated['id']}/tasks", headers=w["viewer"]))["items"]
    assert "phase:enforcement" not in {t["key"] for t in tasks}
    # Given a start only, phase 5 runs 20 working days (enforcement_workdays) from it:
    # 8, 9 Oct (make-up days: 2); 10-14 (7); 17-21 (12); 24-28 (17); 31 Oct-2 Nov (20).
    started = create_campaign(client, w, enforcement=("2022-09-30", None))
    tasks = ok(client.get(f"{T}/campaigns/{started['id']}/tasks", headers=w["viewer"]))["items"]
    assert {t["key"]: t["deadline"] for t in tasks}["phase:enforcement"] == "2022-11-02"


def test_settings_defaults_and_refusals():
    from anjian.errors import PluginError
    from anjian.plugins.manager import PluginRegistry

    registry = PluginRegistry(extra_modules=[PLUGIN], use_entry_points=False)
    settings = registry.validate_settings(PLUGIN, {})
    assert (settings["spot_check_workdays"], settings["spot_check_ratio"],
            settings["target_enterprise_count"], settings["basic_pass_max_unmet"],
            settings["enforcement_department"]) == (20, 0.2, 100, 2, "应急管理局执法人员")
    assert (settings["service_start"], settings["service_end"]) == (dt.date(2022, 6, 1),
                                                                    dt.date(2022, 8, 31))
    for bad in ({"basic_pass_max_unmet": 10}, {"spot_check_ratio": 0}, {"enforcement_workdays": 0},
                {"enforcement_department": ""}):
        with pytest.raises(PluginError, match=next(iter(bad))):
            registry.validate_settings(PLUGIN, bad)


def test_target_rule_picks_the_below_scale_enterprises(client, w):
    campaign = create_campaign(client, w)
    added = ok(client.post(f"{T}/campaigns/{campaign['id']}/targets", headers=w["admin"],
                           json={"rule": "plugin"}))
    # Below scale (规下): A-F, and H, the small and micro one (小微): the seed's
    # "100家规下企业" are every enterprise below designated size (issue 22: the rule once
    # left 小微 out, and H with it). F is closed; G is above scale.
    assert (added["method"], added["added"]) == ("plugin", 6)
    rows = ok(client.get(f"{T}/campaigns/{campaign['id']}/targets", headers=w["viewer"],
                         query_string={"per_page": 50}))["items"]
    assert sorted(r["enterprise_id"] for r in rows) == sorted(w["ent"][s] for s in "ABCDEH")
    # Each target's reason says what it was selected as.
    reasons = {r["enterprise_id"]: r["reason"] for r in rows}
    assert reasons.pop(w["ent"]["H"]) == "规下企业（小微企业），列入100家社会化服务对象"
    assert set(reasons.values()) == {"规下企业，列入100家社会化服务对象"}
    again = ok(client.post(f"{T}/campaigns/{campaign['id']}/targets", headers=w["admin"],
                           json={"rule": "plugin"}))
    assert (again["added"], again["already"]) == (0, 6)
    # A campaign of another kind is not the programme's: the rule leaves it to staff.
    custom = ok(client.post(f"{T}/campaigns", headers=w["admin"], json={"title": "自定义检查"}), 201)
    r = client.post(f"{T}/campaigns/{custom['id']}/targets", headers=w["admin"],
                    json={"rule": "plugin"})
    assert r.status_code == 422 and "rule" in r.json["errors"]


# --- 2. the baseline survey and the immediate report of a major hazard -----------------------

def major_report_tasks(client, w, cid):
    tasks = ok(client.get(f"{T}/campaigns/{cid}/tasks", headers=w["viewer"],
                          query_string={"per_page": 100}))["items"]
    return [t for t in tasks if t["key"].startswith("qhd_major_hazard_report:")]


def test_baseline_fields_gaps_and_a_major_hazard_reported_at_once(app, client, w):
    # The plugin's fields are validated like the core's.
    r = client.post(f"{T}/enterprises", headers=w["admin"], json={
        "credit_code": code(90), "name": "字段校验企业",
        "extra": {"qhd_certified_special_workers": -1}})
    assert r.status_code == 422 and "extra" in r.json["errors"]
    a = ok(client.get(f"{T}/enterprises/{w['ent']['A']}", headers=w["viewer"]))
    assert a["extra"] == {"qhd_survey_on": "2022-06-15", "qhd_certified_special_workers": 4}

    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "A", "B", "C")
    contract(client, w, cid, "ABC")
    # B's survey by the service organisation finds the industry's major hazard (S06 "no")
    # and a general one (S01 "no").
    _, view = inspect(client, w["service_org"], w["ent"]["B"], cid, SURVEY, {
        "S01": ("no", {"title": "配电箱未接地"}),
        "S06": ("no", {"title": "纸品仓库与生产车间未分隔，堆垛紧贴电气线路"})})
    hazards = {row["code"]: row["hazard_id"] for row in view["results"] if row["hazard_id"]}
    major = ok(client.get(f"{T}/hazards/{hazards['S06']}", headers=w["supervisor"]))
    general = ok(client.get(f"{T}/hazards/{hazards['S01']}", headers=w["supervisor"]))
    assert (major["grade"], major["source"]) == ("major", "service_org")
    assert general["grade"] == "general"
    # The bureau hears of it at once (the core's notification) ...
    notes = ok(client.get(f"{T}/notifications", headers=w["supervisor"]))["items"]
    assert [n["hazard_id"] for n in notes] == [major["id"]]
    # ... and the programme records the service organisation's immediate report, done.
    tasks = major_report_tasks(client, w, cid)
    assert len(tasks) == 1
    task = tasks[0]
    assert task["key"] == f"qhd_major_hazard_report:{major['id']}"
    assert task["status"] == "done" and task["enterprise_id"] == w["ent"]["B"]
    assert task["title"] == "重大隐患即时报告：纸品仓库与生产车间未分隔，堆垛紧贴电气线路"
    assert task["deadline"] == major["found_on"]
    # The same major hazard found by the bureau itself is not the service's report.
    _, view = inspect(client, w["supervisor"], w["ent"]["C"], cid, SURVEY,
                      {"S06": ("no", {"title": "粉尘涉爆车间未设除尘系统"})})
    department = ok(client.get(f"{T}/hazards/{hazard_of(view, 'S06')}", headers=w["supervisor"]))
    assert (department["grade"], department["source"]) == ("major", "department")
    assert len(major_report_tasks(client, w, cid)) == 1

    # The baseline table: A has every field (its survey date entered); B lacks its safety
    # managers and special workers (its survey date is its survey's); C lacks all six
    # fields (the bureau's survey dates it). B and C each have a major hazard.
    table = make_report(app, client, w, "qinhuangdao_baseline", "json", {"campaign_id": cid})["data"]
    rows = {r["enterprise_id"]: r for r in table["enterprises"]}
    assert (table["targets"], table["planned"], table["complete"], table["with_gaps"],
            table["with_major_accident_hazard"]) == (3, 100, 1, 2, 2)
    assert rows[w["ent"]["A"]]["gaps"] == []
    assert rows[w["ent"]["A"]]["qhd_survey_on"] == "2022-06-15"
    assert rows[w["ent"]["A"]]["major_accident_hazard"] is False
    assert rows[w["ent"]["B"]]["gaps"] == ["安全管理人员数量", "特种作业人员数量"]
    assert rows[w["ent"]["B"]]["qhd_survey_on"] == major["found_on"]  # surveyed today
    assert (rows[w["ent"]["B"]]["major_accident_hazard"],
            rows[w["ent"]["B"]]["major_accident_hazards_found"]) == (True, 1)
    assert rows[w["ent"]["C"]]["gaps"] == ["地址", "主要产品", "员工人数", "安全管理人员数量",
                                           "特种作业人员数量", "主要风险因素"]
    assert rows[w["ent"]["C"]]["major_accident_hazard"] is True

    sheet = make_report(app, client, w, "qinhuangdao_baseline", "xlsx", {"campaign_id": cid})
    book = openpyxl.load_workbook(io.BytesIO(fetch(client, w, sheet)))
    cells = list(book["安全底数"].iter_rows(values_only=True))
    assert cells[0][:2] == ("企业名称", "统一社会信用代码")
    assert {row[0] for row in cells[1:4]} == {ENTERPRISES[s][0] for s in "ABC"}
    assert cells[4] == (None,) * len(cells[0])
    # Every target was surveyed (A's date entered, B and C inspected): none is 未排查
    # (tests/test_qinhuangdao_seed.py has one that is).
    assert cells[5][0] == "服务对象3家（方案100家），信息完整1家，尚缺信息2家，有重大隐患2家，未排查0家"


# --- 3. the nine acceptance criteria and the per-enterprise report ---------------------------

def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        require_service("poppler-utils", "pdftotext not found (scripts/ensure-services.sh)")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data,
                         capture_output=True, check=True, timeout=60)
    return "".join(out.stdout.decode("utf-8").split())  # CJK lines may wrap anywhere


def test_acceptance_checklist_is_the_seeds_nine_criteria(client, w):
    template = ok(client.get(f"{T}/checklist-templates/{ACCEPTANCE}", headers=w["viewer"]))
    items = template["items"]
    assert [i["code"] for i in items] == CRITERIA
    assert items[0]["text"].startswith("应急管理局掌握企业的基本信息和安全底数（包括各企业基本情况，地址")
    assert items[6]["text"] == "企业落实特种作业人员持证上岗"
    assert items[8]["text"] == "企业重大危险源有效监管"
    assert [i["part"] for i in items].count("onsite") == 3  # 6, 7, 9 are checked on site
    assert [i["code"] for i in items if i["legal_basis"]] == ["YS06"]
    assert "河北省安全生产风险管控与隐患治理规定" in items[5]["legal_basis"]
    survey = ok(client.get(f"{T}/checklist-templates/{SURVEY}", headers=w["viewer"]))["items"]
    parts = [i["part"] for i in survey]
    assert parts == ["document"] * 7 + ["onsite"] * 6  # 软件资料检查, then 现场隐患排查
    assert [i["code"] for i in survey if i["is_major_criterion"]] == ["S06"]


def test_acceptance_makes_a_pdf_report_with_a_conclusion(app, client, w):
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "A", "B", "C")
    served = contract(client, w, cid, "ABC")
    org = w["service_org"]
    # Surveys: B's finds a general hazard (10 working days from today: not late at the
    # acceptance); C's finds a major one that stays open.
    inspect(client, org, w["ent"]["B"], cid, SURVEY, {"S01": ("no", {"title": "配电箱未接地"})})
    inspect(client, org, w["ent"]["C"], cid, SURVEY,
            {"S06": ("no", {"title": "喷漆间未设置可燃气体报警装置"})})
    assert reports(client, w, "qinhuangdao_acceptance") == []  # surveys make none
    # The re-inspections: A meets all nine (9 does not apply: no major hazard installation);
    # B misses criterion 4; C misses criterion 2.
    inspect(client, org, w["ent"]["A"], cid, ACCEPTANCE, {"YS09": "na"},
            conclusion="整改到位，同意验收")
    inspect(client, org, w["ent"]["B"], cid, ACCEPTANCE, {"YS04": "no"})
    inspect(client, org, w["ent"]["C"], cid, ACCEPTANCE, {"YS02": "no"})
    made = wait_reports(app, client, w, "qinhuangdao_acceptance", count=3)
    assert [(r["status"], r["format"], r["requested_by"]) for r in made] == \
        [("ready", "pdf", w["service_org_id"])] * 3, made
    expected = {"A": "结论：合格", "B": "结论：基本合格", "C": "结论：不合格"}
    for short, report in zip("ABC", made, strict=True):
        text = pdf_text(fetch(client, w, report))
        assert ENTERPRISES[short][0] in text
        assert expected[short] in text
        assert "验收标准逐项复查情况" in text and BUREAU in text
    assert "整改到位，同意验收" in pdf_text(fetch(client, w, made[0]))

    # The same report as JSON, by enterprise and campaign: the figures behind the PDF.
    data = make_report(app, client, w, "qinhuangdao_acceptance", "json",
                       {"enterprise_id": w["ent"]["C"], "campaign_id": cid})["data"]
    assert data["conclusion"] == "不合格"
    assert data["reasons"] == ["重大事故隐患1项未整改完成",
                               "验收标准第2项未达到：应急管理局掌握企业的隐患排查及整改情况，重大隐患能够第一时间掌握"]
    assert (data["hazard_summary"]["found"], data["hazard_summary"]["major_open"]) == (1, 1)
    assert data["criteria_met"] == 8 and data["service_organisation"] == "河北安泰安全技术服务有限公司"
    b = make_report(app, client, w, "qinhuangdao_acceptance", "json",
                    {"enterprise_id": w["ent"]["B"], "campaign_id": cid})["data"]
    assert (b["conclusion"], b["reasons"]) == ("基本合格", [
        "验收标准第4项未达到：企业的应急预案符合目前法定标准", "一般隐患1项正在整改期限内"])

    # The organisation's survey and acceptance inspections are its service records: the
    # compliance view counts them (the contract runs two more months: still due).
    records = ok(client.get(f"{T}/service-records", headers=w["admin"],
                            query_string={"contract_id": served["id"], "per_page": 50}))["items"]
    assert sorted((r["enterprise_id"], r["topic"]) for r in records) == sorted([
        (w["ent"]["B"], "全面摸底排查"), (w["ent"]["C"], "全面摸底排查"),
        (w["ent"]["A"], "复查验收"), (w["ent"]["B"], "复查验收"), (w["ent"]["C"], "复查验收")])
    # The organisation delivers A's report through the platform (it asked for it: it is its own).
    ok(client.post(f"{T}/service-records", headers=org, json={
        "contract_id": served["id"], "enterprise_id": w["ent"]["A"], "kind": "report",
        "done_on": records[0]["done_on"], "report_id": made[0]["id"]}), 201)
    compliance = ok(client.get(f"{T}/service-contracts/{served['id']}/compliance",
                               headers=w["admin"]))
    status = {(e["enterprise_id"], i["key"]): i["status"]
              for e in compliance["enterprises"] for i in e["items"]}
    assert status[(w["ent"]["A"], "qhd_acceptance")] == "met"
    assert status[(w["ent"]["A"], "qhd_survey")] == "due"
    assert status[(w["ent"]["B"], "qhd_survey")] == "met"
    assert status[(w["ent"]["A"], "qhd_report")] == "met"
    assert status[(w["ent"]["B"], "qhd_report")] == "due"


def test_an_acceptance_without_a_campaign_reads_the_service_window_throughout(app, client, w):
    """An acceptance outside any campaign reads the hazards found in the service window
    up to the acceptance, and so does its baseline line "有无重大隐患": a major hazard
    found before the programme began counts in neither (they once disagreed)."""
    from anjian.extensions import db
    from anjian.hazards.models import Hazard
    from anjian.tenancy.scope import Scope, scoped

    enterprise = w["ent"]["C"]
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        db.session.add(Hazard(tenant_id=w["tenant"], enterprise_id=enterprise, source="self",
                              grade="major", state="reported", title="早年的重大隐患",
                              found_on=dt.date(2022, 5, 1)))
        db.session.commit()
    contract(client, w, None, "C")  # a programme contract outside any campaign
    org = w["service_org"]
    inspect(client, org, enterprise, None, SURVEY,
            {"S06": ("no", {"title": "喷漆间未设置可燃气体报警装置"})})  # major, found today
    iid, _ = inspect(client, org, enterprise, None, ACCEPTANCE)
    data = make_report(app, client, w, "qinhuangdao_acceptance", "json",
                       {"inspection_id": iid})["data"]
    assert data["campaign_id"] is None
    summary, baseline = data["hazard_summary"], data["enterprise"]
    assert (summary["found"], summary["major_found"], summary["major_verified"]) == (1, 1, 0)
    assert (baseline["major_accident_hazards_found"],
            baseline["major_accident_hazards_verified"]) == (1, 0)
    assert data["conclusion"] == "不合格"


def test_conclusion_rule():
    from types import SimpleNamespace

    from anjian_qinhuangdao.acceptance import conclude, hazard_summary

    def criteria(unmet=()):
        return [{"number": n, "code": c, "text": f"标准{n}", "answer": "no" if c in unmet else "yes"}
                for n, c in enumerate(CRITERIA, start=1)]

    def hazards(*specs):
        return [SimpleNamespace(grade=g, state=s) for g, s in specs]

    verified = ("general", "verified")
    pending = ("general", "rectifying")
    major_done = ("major", "rectified")
    major_open = ("major", "rectifying")
    cases = [  # (criteria, hazards, of which overdue at the acceptance, conclusion)
        (criteria(), hazards(verified, major_done), 0, "合格"),
        (criteria(), hazards(), 0, "合格"),
        (criteria(["YS03", "YS05"]), hazards(verified), 0, "基本合格"),
        (criteria(), hazards(pending), 0, "基本合格"),
        (criteria(["YS03", "YS05", "YS08"]), hazards(), 0, "不合格"),  # more than 2 unmet
        (criteria(["YS09"]), hazards(), 0, "不合格"),  # a veto criterion
        (criteria(), hazards(pending), 1, "不合格"),  # past its deadline at the acceptance
        (criteria(), hazards(("general", "referred")), 0, "不合格"),
        (criteria(), hazards(major_open), 0, "不合格"),
    ]
    for given, found, overdue, expected in cases:
        assert conclude(given, hazard_summary(found, overdue), 2)[0] == expected, (given, found)
    # The bureau may be stricter: no unmet criterion at all for "基本合格".
    assert conclude(criteria(["YS03"]), hazard_summary([], 0), 0)[0] == "不合格"


def test_an_acceptance_counts_overdue_hazards_by_the_cores_rule(app, client, w):
    """"逾期不改" at the acceptance is the core's overdue (hazards/rules.py), read through the
    plugin context: B's hazard found on 1 August 2022 had 10 working days, to 15 August
    (1-5, 8-12, 15 August), and is still open at today's acceptance; the one found today
    has 10 working days ahead."""
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "B")
    contract(client, w, cid, "B")
    org = w["service_org"]
    _, view = inspect(client, org, w["ent"]["B"], cid, SURVEY, {
        "S02": ("no", {"title": "车间私拉乱接电线", "found_on": "2022-08-01"}),
        "S01": ("no", {"title": "配电箱未接地"})})
    late = ok(client.get(f"{T}/hazards/{hazard_of(view, 'S02')}", headers=w["supervisor"]))
    assert (late["deadline"], late["state"]) == ("2022-08-15", "reported")
    inspect(client, org, w["ent"]["B"], cid, ACCEPTANCE)
    data = make_report(app, client, w, "qinhuangdao_acceptance", "json",
                       {"enterprise_id": w["ent"]["B"], "campaign_id": cid})["data"]
    assert (data["hazard_summary"]["found"], data["hazard_summary"]["open"],
            data["hazard_summary"]["overdue"]) == (2, 2, 1)
    assert (data["conclusion"], data["reasons"]) == ("不合格", ["隐患1项逾期未整改"])


# --- 4. the bureau's spot check, due 20 working days after the acceptance --------------------

def test_spot_check_due_twenty_working_days_after_acceptance_across_national_day(app, client, w):
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "A", "B", "C", "D", "E")
    served = contract(client, w, cid, "ABCDE")
    for short in "ABC":  # three acceptances; D and E have no service result yet
        inspect(client, w["service_org"], w["ent"][short], cid, ACCEPTANCE)
    url = f"{T}/service-contracts/{served['id']}/spot-checks"
    # Accepted on Wednesday 28 September 2022. Counted by hand from the State Council's
    # 2022 schedule (National Day 1-7 October off; Saturday 8 and Sunday 9 October worked):
    # 29, 30 Sep (2); 8, 9 Oct (4); 10-14 Oct (9); 17-21 Oct (14); 24-28 Oct (19); 31 Oct (20).
    sample = ok(client.post(url, headers=w["supervisor"], json={
        "ratio": "0.5", "seed": "qhd-2022", "deadline_start": "2022-09-28"}), 201)
    assert (sample["deadline_start"], sample["deadline_workdays"], sample["deadline"]) == \
        ("2022-09-28", 20, "2022-10-31")
    assert sample["deadline_provisional"] is False
    # Half of the three accepted results, rounded up: two, drawn among A, B and C only.
    picked = [i["enterprise_id"] for i in sample["items"]]
    assert len(picked) == 2 and set(picked) <= {w["ent"][s] for s in "ABC"}
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert {i["reason"] for i in sample["items"]} == {
        f"已于{today.isoformat()}复查验收；在已验收的3家中按50%比例随机抽取"}
    # The recorded seed gives the same sample again.
    again = ok(client.post(url, headers=w["supervisor"], json={
        "ratio": "0.5", "seed": sample["seed"], "deadline_start": "2022-09-28"}), 201)
    assert [i["enterprise_id"] for i in again["items"]] == picked

    # Drawn by the plugin for the contract: the acceptance date is found, not given: the
    # day each acceptance was carried out (performed_on; issue 22: not the time it was
    # entered). These were carried out today; they are backdated to the seed's season.
    from sqlalchemy import update

    from anjian.extensions import db
    from anjian.inspections.models import Inspection
    from anjian.services.models import ServiceContract
    from anjian.tenancy.models import Tenant
    from anjian.tenancy.scope import Scope, scoped
    from anjian_qinhuangdao import spot_checks

    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        db.session.execute(update(Inspection).values(performed_on=dt.date(2022, 9, 20)))
        db.session.execute(update(Inspection).where(Inspection.enterprise_id == w["ent"]["C"])
                           .values(performed_on=dt.date(2022, 9, 28)))
        tenant = db.session.get(Tenant, w["tenant"])
        drawn = spot_checks.draw(tenant, db.session.get(ServiceContract, served["id"]), "0.2",
                                 seed="qhd-plugin", actor_id=w["supervisor_id"])
        assert (drawn.deadline_start, drawn.deadline_workdays, drawn.deadline) == \
            (dt.date(2022, 9, 28), 20, dt.date(2022, 10, 31))
        drawn_id = drawn.id
        db.session.commit()
        assert spot_checks.due_date(tenant, dt.date(2022, 9, 28)).date == dt.date(2022, 10, 31)
    listed = ok(client.get(f"{url}/{drawn_id}", headers=w["viewer"]))
    assert listed["size"] == 1 and listed["deadline"] == "2022-10-31"  # ceil(0.2 x 3) = 1


# --- 5. phase five: enforcement candidates and a plan per enterprise --------------------------

def test_enforcement_candidates_with_a_plan_each(app, client, w):
    campaign = create_campaign(client, w)  # enforcement phase: 30 Sep - 31 Oct 2022
    cid = campaign["id"]
    target(client, w, cid, "A", "B", "C", "D", "E")
    contract(client, w, cid, "ABCDE")
    org, bureau = w["service_org"], w["supervisor"]
    # A refused the service organisation entry: the bureau refers it as uncooperative.
    ok(client.post(f"{T}/enforcement-referrals", headers=bureau, json={
        "enterprise_id": w["ent"]["A"], "campaign_id": cid, "reason": "uncooperative",
        "reason_text": "拒绝服务机构进入现场检查"}), 201)
    # B's hazard found on 1 August 2022 had 10 working days (to 15 August) and is still open.
    _, view = inspect(client, org, w["ent"]["B"], cid, SURVEY, {
        "S02": ("no", {"title": "车间私拉乱接电线", "found_on": "2022-08-01"})})
    late = ok(client.get(f"{T}/hazards/{hazard_of(view, 'S02')}", headers=bureau))
    assert late["deadline"] == "2022-08-15"
    # C refuses to rectify its hazard: referred as refused; its acceptance misses item 3.
    _, view = inspect(client, org, w["ent"]["C"], cid, SURVEY,
                      {"S04": ("no", {"title": "冲床防护罩缺失"})})
    ok(client.post(f"{T}/enforcement-referrals", headers=bureau, json={
        "hazard_id": hazard_of(view, "S04"), "reason": "refused",
        "reason_text": "企业拒绝整改冲床防护罩"}), 201)
    inspect(client, org, w["ent"]["C"], cid, ACCEPTANCE, {"YS03": "no"})
    # D cooperated and rectified: surveyed and accepted, nothing open.
    inspect(client, org, w["ent"]["D"], cid, SURVEY)
    inspect(client, org, w["ent"]["D"], cid, ACCEPTANCE)
    # E was never inspected before the service window closed (31 August 2022), and nothing
    # says it refused: "not yet surveyed", not 不积极配合 (issue 22: nobody having visited an
    # enterprise once made it uncooperative).

    from anjian.campaigns.models import Campaign
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped
    from tests.conftest import tenant_context

    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        context = tenant_context(w["tenant"])
        answers = context.policy("enforcement_candidates", campaign=db.session.get(Campaign, cid))
        found = {e.id: reason for result in answers for e, reason in result}
        other = ok(client.post(f"{T}/campaigns", headers=w["admin"], json={"title": "其他行动"}),
                   201)
        assert context.policy("enforcement_candidates",
                              campaign=db.session.get(Campaign, other["id"])) == [[]]
    assert found == {
        w["ent"]["A"]: "不积极配合社会化服务",
        w["ent"]["B"]: "对社会化服务发现提出的问题逾期不改",
        w["ent"]["C"]: "对社会化服务发现提出的问题拒不整改",
        w["ent"]["E"]: "服务期内尚未排查（待核实原因，不等同于不积极配合）",
    }
    # The same list over HTTP, where the core asks the tenant's plugins, with the referrals
    # already made in the campaign; by name, paged.
    url = f"{T}/enforcement-referrals/candidates"
    listed = ok(client.get(f"{url}?campaign_id={cid}", headers=w["viewer"]))
    assert listed["total"] == 4 and len(listed["items"]) == 4
    by_id = {c["enterprise_id"]: c for c in listed["items"]}
    assert {k: c["reasons"] for k, c in by_id.items()} == {k: [v] for k, v in found.items()}
    assert [(r["reason"], r["status_label"]) for r in by_id[w["ent"]["A"]]["referrals"]] == [
        ("uncooperative", "待处理")]
    assert [r["reason"] for r in by_id[w["ent"]["C"]]["referrals"]] == ["refused"]
    assert by_id[w["ent"]["B"]]["referrals"] == by_id[w["ent"]["E"]]["referrals"] == []
    assert by_id[w["ent"]["B"]]["enterprise_name"] == ENTERPRISES["B"][0]
    names = [c["enterprise_name"] for c in listed["items"]]
    assert names == sorted(names)
    page = ok(client.get(f"{url}?campaign_id={cid}&per_page=3&page=2", headers=w["viewer"]))
    assert (page["total"], [c["enterprise_id"] for c in page["items"]]) == (
        4, [listed["items"][3]["enterprise_id"]])
    assert ok(client.get(f"{url}?campaign_id={other['id']}", headers=w["viewer"]))["total"] == 0
    assert client.get(f"{url}?campaign_id=999999", headers=w["viewer"]).status_code == 404
    assert client.get(url, headers=w["viewer"]).status_code == 422
    assert client.get(f"{url}?campaign_id={cid}", headers=org).status_code == 403

    # The plans (一企一策), as of the first day of the enforcement phase.
    report = make_report(app, client, w, "qinhuangdao_enforcement_plan", "json",
                         {"campaign_id": cid, "on": "2022-09-30"})
    plans = {p["enterprise_id"]: p for p in report["data"]["enterprises"]}
    assert set(plans) == {w["ent"][s] for s in "ABCE"}
    for plan in plans.values():
        assert (plan["responsible_department"], plan["deadline"], plan["deadline_basis"]) == \
            ("应急管理局执法人员", "2022-10-31", "执法检查阶段结束日期")
        assert plan["measures"][-1] == "核查社会化服务机构对该企业的服务情况，涉及安全技术服务的事项查实查透"
    a, b, c, e = (plans[w["ent"][s]] for s in "ABCE")
    assert a["reasons"] == [{"code": "uncooperative", "title": "不积极配合社会化服务",
                             "details": ["拒绝服务机构进入现场检查", "服务期（至2022-08-31）内未接受检查"]}]
    assert a["focus"] == ["有限空间：辨识清单台账、作业审批、检测通风和监护"]  # A's confined space
    assert b["reasons"][0]["details"] == ["一般隐患“车间私拉乱接电线”整改期限2022-08-15，已上报"]
    assert b["measures"][0] == "逐项核查逾期未整改的隐患，责令限期整改，逾期仍不整改的依法实施处罚"
    assert b["focus"] == ["隐患复查：车间私拉乱接电线（一般隐患，已上报）"]
    assert [r["code"] for r in c["reasons"]] == ["refused"]
    assert c["focus"] == ["基础管理：企业的“三项制度”符合目前法定标准（验收未达到）",
                          "隐患复查：冲床防护罩缺失（一般隐患，已移交执法）"]
    assert (e["reason"], e["focus"]) == ("服务期内尚未排查（待核实原因，不等同于不积极配合）", [])
    assert e["reasons"] == [{"code": "not_surveyed", "title": "服务期内尚未排查（待核实原因，不等同于不积极配合）",
                             "details": ["服务期（至2022-08-31）内未排查，无拒绝或阻挠检查的记录"]}]
    assert e["measures"][0].startswith("核实未排查的原因：企业拒绝或阻挠服务机构检查的，按不积极配合移交执法")

    # After the phase: 20 working days from the plan's date (1 Nov 2022: 2-4, 7-11, 14-18,
    # 21-25, 28-29 November).
    later = make_report(app, client, w, "qinhuangdao_enforcement_plan", "json",
                        {"campaign_id": cid, "on": "2022-11-01"})["data"]["enterprises"]
    assert {(p["deadline"], p["deadline_basis"]) for p in later} == {
        ("2022-11-29", "制定方案后20个工作日内")}
    sheet = make_report(app, client, w, "qinhuangdao_enforcement_plan", "xlsx",
                        {"campaign_id": cid, "on": "2022-09-30"})
    rows = list(openpyxl.load_workbook(io.BytesIO(fetch(client, w, sheet)))[
        "执法检查方案"].iter_rows(values_only=True))
    assert rows[0][0] == "企业名称" and len(rows) == 5
    assert {r[0] for r in rows[1:]} == {ENTERPRISES[s][0] for s in "ABCE"}
