"""Seed 002 (Tianjin Hebei District commerce bureau) as the bureau uses it (issue 22, "What
must work: the seed programmes", Seed 002): the dispatch table as PDF too (the same layout,
one A4 page); the figures staff enter are validated (其中 ≤ 总数, 是/否 only, whole people,
no future week and none outside the campaign); amounts as an office writes them (2.35万元);
the table's 截至 and 时间 follow its data's week and the dispatch weekday moves the
schedule; a hazard raised from a checklist item is titled by the finding, the requirement
kept as its criterion; the major hazard ledger (台账) as xlsx; one table per section (科室).

Expected values are counted by hand from the seed and from the fixture of
tests/test_tianjin_hebei.py (``seed_campaign``: its docstring lists the hazards).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import openpyxl
import pytest

from anjian.clock import local_today
from tests.test_reports import pdf_text_and_fonts, pdf_tools
from tests.test_tianjin_hebei import (
    CHINA,
    DISPATCH,
    KIND,
    PLUGIN,
    Api,
    _admin,
    code,
    compute,
    download,
    enter_figures,
    make_report,
    ok,
    seed_campaign,
    table,
)

LEDGER = "hebei_major_hazard_ledger_2023"


def figures_url(code_, week, office=None):
    url = f"/api/v1/tenants/{code_}/reports/figures/{DISPATCH}/{week}"
    return url if office is None else f"{url}?office={office}"


def put(client, headers, code_, week, values, office=None):
    """PUT one week's figures (If-Match from a GET), the bureau's or one section's; the
    response."""
    listed = client.get(figures_url(code_, week, office), headers=headers)
    etag = listed.headers.get("ETag", "*")
    return client.put(figures_url(code_, week, office), headers={**headers, "If-Match": etag},
                      json={"figures": [{"key": k, "value": v} for k, v in values.items()]})


def small_campaign(app, client, factory, code_="hbs", settings=None):
    factory.tenant(code_, plugins=[PLUGIN], name="天津市河北区商务局",
                   settings={PLUGIN: settings or {}})
    admin = _admin(app, factory, f"{code_}-root")
    api = Api(client, code_)
    sup = api.member(admin, f"{code_}-sup", "supervisor")
    campaign = api.post(admin, "/campaigns", {"kind": KIND})["id"]
    api.post(admin, f"/campaigns/{campaign}/status", {"status": "active"}, 200)
    return api, admin, sup, campaign


# --- entered figures --------------------------------------------------------------------------

def test_entered_figures_are_checked_as_the_form_is_filled(app, client, factory):
    _api, _admin_headers, sup, _campaign = small_campaign(app, client, factory)
    week = "2023-06-05"

    def refused(values, period=week):
        r = put(client, sup, "hbs", period, values)
        assert r.status_code == 422, r.get_data(as_text=True)
        return r.json["errors"]

    # 其中 ≤ 总数: dangerous-work cases are a part of the published cases, anonymous
    # rewards a part of all rewards.
    assert refused({"cases_published": 2, "dangerous_work_cases": 3}) == {
        "figures": {"1": {"value": ["其中数（3）不能大于“公布典型执法案例（个）”（2）"]}}}
    assert refused({"report_rewards": "0.25", "anonymous_rewards": "0.5"}) == {
        "figures": {"1": {"value": ["其中数（0.5）不能大于“举报奖励（万元）”（0.25）"]}}}
    assert refused({"dangerous_work_cases": 1}) == {  # no total entered that week: 0
        "figures": {"0": {"value": ["其中数（1）不能大于“公布典型执法案例（个）”（0）"]}}}
    # Yes/no takes only 是 or 否 (it took any number, 1 meaning yes).
    for value in (1, 0, "1"):
        assert refused({"media_column": value}) == {
            "figures": {"0": {"value": ["只能填“是”或“否”"]}}}, value
    for value in ("yes", True, [1]):  # not even a number: refused by the request's schema
        assert refused({"media_column": value}) == {
            "json": {"figures": {"0": {"value": ["须为数字，或“是”“否”"]}}}}, value
    assert refused({"guided_streets": "是"}) == {"figures": {"0": {"value": ["须为数字"]}}}
    # People (and every other count) are whole numbers; amounts have two decimals at most.
    assert refused({"accountability": "1.5", "technical_inspectors": 2.5}) == {"figures": {
        "0": {"value": ["须为整数（人）"]}, "1": {"value": ["须为整数（人）"]}}}
    assert refused({"interviews": "0.5"}) == {"figures": {"0": {"value": ["须为整数（次）"]}}}
    assert refused({"report_rewards": "0.255"}) == {"figures": {"0": {"value": ["最多两位小数"]}}}
    # No future week, and no week outside the campaign (2023-05-01 .. 2023-12-31).
    future = local_today() + dt.timedelta(days=7)
    monday = (future - dt.timedelta(days=future.weekday())).isoformat()
    assert refused({"guided_streets": 1}, monday)["period"] == ["不能填报未来期间的数据"]
    outside = "该周不在专项行动期间（2023年5月1日至2023年12月31日），不能填报"
    assert refused({"guided_streets": 9}, "2023-04-24") == {"period": [outside]}
    assert refused({"guided_streets": 9}, "2024-01-01") == {"period": [outside]}
    # The campaign's first and last weeks take figures (they overlap it).
    assert put(client, sup, "hbs", "2023-05-01", {"guided_streets": 1}).status_code == 200
    assert put(client, sup, "hbs", "2023-12-25", {"guided_streets": 1}).status_code == 200

    # What the form takes is stored and shown as entered.
    r = put(client, sup, "hbs", week, {"cases_published": 2, "dangerous_work_cases": 2,
                                       "media_column": "是", "technical_inspectors": 4,
                                       "report_rewards": "0.25", "anonymous_rewards": "0.25"})
    assert r.status_code == 200, r.json
    shown = {f["key"]: f for f in r.json["figures"]}
    assert (shown["media_column"]["value"], shown["media_column"]["kind"]) == ("是", "yes_no")
    assert (shown["technical_inspectors"]["value"], shown["technical_inspectors"]["kind"],
            shown["technical_inspectors"]["unit"]) == (4, "count", "人")
    assert (shown["anonymous_rewards"]["kind"], shown["anonymous_rewards"]["part_of"]) == (
        "amount", "report_rewards")
    # Lowering a total under its part, later, is refused too (on the total).
    assert refused({"cases_published": 1}) == {
        "figures": {"0": {"value": ["不能小于其中“其中危险作业罪案例（个）”（2）"]}}}
    assert put(client, sup, "hbs", week, {"media_column": "否"}).json["figures"][13]["value"] == "否"
    kinds = {k["key"]: k for k in ok(client.get("/api/v1/tenants/hbs/report-kinds", headers=sup))}
    declared = {f["key"]: f for f in kinds[DISPATCH]["entered_figures"]}
    assert declared["dangerous_work_cases"] == {
        "key": "dangerous_work_cases", "label": "其中危险作业罪案例（个）", "kind": "count",
        "unit": "个", "part_of": "cases_published"}


def test_what_a_figure_takes_is_declared_and_checked_at_load():
    from marshmallow import Schema

    from anjian.plugin_api import CatalogueError, EnteredFigure, ReportKind
    from anjian_tianjin_hebei.dispatch import REPORT_KIND

    declared = {f.key: (f.kind, f.unit, f.part_of) for f in REPORT_KIND.entered_figures}
    assert declared["media_column"] == ("yes_no", "是/否", None)
    assert declared["technical_inspectors"] == ("count", "人", None)
    assert declared["accountability"] == ("count", "人", None)
    assert declared["anonymous_rewards"] == ("amount", "万元", "report_rewards")
    assert declared["dangerous_work_cases"] == ("count", "个", "cases_published")
    base = {"key": "x_weekly", "title": "周报", "formats": ("json",), "parameters": Schema,
            "compute": lambda **_: {}}
    for figures, field in [((EnteredFigure("a", "甲", kind="boolean"),), "entered_figures[0].kind"),
                           ((EnteredFigure("a", "甲", part_of="a"),), "entered_figures[0].part_of"),
                           ((EnteredFigure("a", "甲", part_of="b"),), "entered_figures[0].part_of")]:
        with pytest.raises(CatalogueError) as caught:
            ReportKind(**base, entered_figures=figures).check()
        assert caught.value.field == field


def test_a_unit_without_sections_enters_its_figures_once(app, client, factory):
    _api, _admin_headers, sup, _campaign = small_campaign(app, client, factory)
    r = put(client, sup, "hbs", "2023-06-05", {"guided_streets": 1}, office="商贸科")
    assert r.status_code == 422 and r.json["errors"] == {"office": ["该报表不按科室填报，请不要指定科室"]}
    assert client.get(figures_url("hbs", "2023-06-05", "商贸科"), headers=sup).status_code == 422


# --- amounts and dates ------------------------------------------------------------------------

def test_amounts_dates_and_sections(app, client, factory):
    """A bureau with two sections. E1 (商贸科): a self-found major hazard, a spot check
    with one failing; E2 (服务业科): a major hazard found by the department, a penalty of
    23,500.50 yuan; E3: no section. By hand, bureau / 商贸科 / 服务业科."""
    api, admin, sup, campaign = small_campaign(
        app, client, factory, settings={"offices": ["商贸科", "服务业科"]})
    e1 = api.post(admin, "/enterprises", {"credit_code": code(201), "name": "某商超",
                                          "extra": {"hebei_sector": "大型商超",
                                                    "hebei_office": "商贸科"}})["id"]
    e2 = api.post(admin, "/enterprises", {"credit_code": code(202), "name": "某宾馆",
                                          "extra": {"hebei_sector": "非星级酒店",
                                                    "hebei_office": "服务业科"}})["id"]
    e3 = api.post(admin, "/enterprises", {"credit_code": code(203), "name": "某公司",
                                          "extra": {}})["id"]
    r = client.post("/api/v1/tenants/hbs/enterprises", headers=admin, json={
        "credit_code": code(204), "name": "无此科室", "extra": {"hebei_office": "财务科"}})
    assert r.status_code == 422 and "extra" in r.json["errors"]
    owner = api.member(admin, "hbs-boss", "enterprise", enterprise_id=e1)
    api.hazard(owner, e1, campaign, "疏散通道被货物堵塞", "2023-06-05")
    h2 = api.hazard(sup, e2, campaign, "后厨燃气报警器未安装", "2023-06-06")["id"]
    api.hazard(sup, e3, campaign, "二层安全出口上锁", "2023-06-07")
    api.inspect(sup, e1, campaign, "hebei_spot_check_2023", kind="spot_check", noes=("HB-S9",))
    referral = api.refer(sup, {"hazard_id": h2, "reason": "refused", "reason_text": "拒不整改"})
    api.decide(sup, referral, "penalty", "23500.50")
    assert put(client, sup, "hbs", "2023-06-05", {"guided_streets": 2}).status_code == 200
    # Each section enters its own figures ("请科室……上报"): 商贸科 two weeks, 服务业科 none.
    assert put(client, sup, "hbs", "2023-06-05", {"guided_streets": 3, "media_column": "否"},
               office="商贸科").status_code == 200
    assert put(client, sup, "hbs", "2023-06-12", {"guided_streets": 1, "media_column": "是"},
               office="商贸科").status_code == 200
    # The section's figures are its own: the bureau's week still holds its 2 alone.
    mine = client.get(figures_url("hbs", "2023-06-05", "商贸科"), headers=sup).json
    bureau_week = client.get(figures_url("hbs", "2023-06-05"), headers=sup).json
    assert (mine["office"], bureau_week["office"]) == ("商贸科", "")
    value = {t["office"]: {f["key"]: f["value"] for f in t["figures"]} for t in (mine, bureau_week)}
    assert (value["商贸科"]["guided_streets"], value[""]["guided_streets"]) == (3, 2)
    assert value["商贸科"]["media_column"] == "否" and value[""]["media_column"] is None
    for office, message in (("财务科", "本单位没有该科室：财务科"), ("x" * 81, None)):
        r = put(client, sup, "hbs", "2023-06-05", {"guided_streets": 1}, office=office)
        assert r.status_code == 422 and "office" in str(r.json["errors"]), r.json
        if message:
            assert message in r.json["detail"]

    today = local_today()
    data = compute(app, "hbs", {"week": today.isoformat()})
    bureau, *offices = [data, *data["by_office"]]
    assert [t["unit"] for t in (bureau, *offices)] == ["天津市河北区商务局", "商贸科", "服务业科"]
    assert [t["office"] for t in (bureau, *offices)] == [None, "商贸科", "服务业科"]
    cells = [{(s["key"], r["number"]): r["text"] for s in t["sections"] for r in s["rows"]}
             for t in (bureau, *offices)]
    # 23,500.50 yuan as an office writes it: 2.35万元 (it was 2.35005万元).
    assert [c[("enforcement", 3)] for c in cells] == ["1次，2.35万元", "0次，0万元", "1次，2.35万元"]
    assert bureau["figures"]["penalty_amount"] == 2.35
    assert [c[("overall", 1)] for c in cells] == ["1", "1", "0"]  # self-found: E1
    assert [c[("overall", 3)] for c in cells] == ["2", "0", "1"]  # department: E2, E3
    assert [c[("spot_checks", 1)] for c in cells] == ["1", "1", "0"]
    assert [c[("spot_checks", 9)] for c in cells] == ["1", "1", "0"]  # HB-S9 said no: E1
    # Entered figures: each section's own; the bureau's table adds its own 2 and the
    # sections' (3 + 1 by 商贸科); a yes/no is the latest week's (商贸科: 是).
    assert [c[("enforcement", 1)] for c in cells] == ["6", "4", "0"]
    assert [c[("leadership", 5)] for c in cells] == ["0万元，其中0万元"] * 3
    assert [c[("leadership", 6)] for c in cells] == ["是", "是", "否"]
    one = compute(app, "hbs", {"week": today.isoformat(), "office": "服务业科"})
    assert (one["unit"], one["by_office"]) == ("服务业科", [])
    assert table(one) == cells[2]
    with pytest.raises(Exception, match="本单位没有该科室"):
        compute(app, "hbs", {"office": "财务科"})

    # The table's dates follow the data's week. The week under way: 截至 and 时间 today.
    assert (data["through"], data["report_date"]) == (today.isoformat(), today.isoformat())
    # A past week: 截至 its Sunday, 时间 the Monday after (the default dispatch weekday).
    past = compute(app, "hbs", {"week": "2023-06-07"})
    assert (past["week"]["end"], past["through"], past["report_date"]) == (
        "2023-06-11", "2023-06-11", "2023-06-12")
    assert past["title"].endswith("（截至2023年6月11日）")

    # The workbook: the bureau's sheet, then one per section, each with its unit.
    report = make_report(app, client, sup, "xlsx", {"week": "2023-06-07"}, tenant_code="hbs")
    assert report["status"] == "ready", report
    book = openpyxl.load_workbook(io.BytesIO(download(client, report, sup)))
    assert book.sheetnames == ["调度表", "商贸科", "服务业科"]
    assert [book[n]["A2"].value for n in book.sheetnames] == [
        "天津市河北区商务局（单位）", "商贸科（单位）", "服务业科（单位）"]
    assert {book[n]["E2"].value for n in book.sheetnames} == {"时间：2023年6月12日"}
    assert book["调度表"]["A19"].value == ("统计口径：自2023年5月1日专项行动开展以来至"
                                          "2023年6月11日累计数据。")
    assert book["商贸科"]["A22"].value.startswith("注：本表平台统计项为本科室负责企业的数据")
    assert book["调度表"]["D4"].value == 2 and book["服务业科"]["D4"].value == 1
    # (三)1 is entered: in the week of 06-05, the bureau's 2 and 商贸科's 3 (its 1 of 06-12
    # is a later week), 服务业科 none.
    assert book["调度表"]["B10"].value == 1 and book["调度表"]["C10"].value.startswith("帮扶指导")
    assert [book[sheet]["D10"].value for sheet in ("调度表", "商贸科", "服务业科")] == [5, 3, 0]


def test_the_dispatch_weekday_moves_the_date_and_the_schedule(app, client, factory):
    from anjian.jobs import embedded, schedules

    _api, admin, _sup, _campaign = small_campaign(
        app, client, factory, "hbw", {"dispatch_weekday": 3, "dispatch_before": "12:00"})
    data = compute(app, "hbw", {"week": "2023-06-14"})
    assert (data["through"], data["report_date"]) == ("2023-06-18", "2023-06-21")  # Wednesday
    monday = dt.datetime(2023, 6, 19, 9, 0, tzinfo=CHINA)
    wednesday = monday + dt.timedelta(days=2)
    with app.app_context():
        schedule = schedules.get(f"report-{DISPATCH}")
        assert schedules.fire(schedule, monday)["enqueued"] == 1
        assert schedules.fire(schedule, wednesday)["enqueued"] == 1
    assert embedded.drain(app)
    [report] = ok(client.get("/api/v1/tenants/hbw/reports", headers=admin))["items"]
    assert report["schedule_key"] == f"report-{DISPATCH}@2023-06-21T09:00+08:00"
    assert report["params"] == {"week": "2023-06-12"}
    detail = ok(client.get(report["url"], headers=admin))
    sheet = openpyxl.load_workbook(io.BytesIO(download(client, detail, admin)))["调度表"]
    assert sheet["E2"].value == "时间：2023年6月21日"
    jobs = ok(client.get("/api/v1/tenants/hbw/jobs", headers=admin))["items"]
    [on_monday] = [j for j in jobs if (j["params"] or {}).get("slot", "").startswith("2023-06-19")]
    assert on_monday["result"]["skipped"] is True  # not this tenant's day


# --- the PDF ----------------------------------------------------------------------------------

def test_the_dispatch_table_as_pdf_on_one_a4_page(app, client, factory, tmp_path):
    pdf_tools()
    world = seed_campaign(app, client, factory)
    enter_figures(client, world.sup, "hb")
    report = make_report(app, client, world.sup, "pdf", {"week": "2023-06-14"})
    assert report["status"] == "ready", report
    assert report["content_type"] == "application/pdf" and report["filename"].endswith(".pdf")
    content = download(client, report, world.sup)
    path = tmp_path / "dispatch.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info
    assert re.search(r"^Page size:.*\(A4\)$", info, re.MULTILINE), info
    _text, fonts = pdf_text_and_fonts(tmp_path, content)
    # In reading order, cell by cell (-raw): a label wrapped in its cell stays whole.
    raw = subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout
    flat = "".join(raw.split())
    for expected in ("河北区重大事故隐患专项排查整治", "2023行动进展情况调度表",
                     "天津市河北区商务局（单位）", "时间：2023年6月19日", "（一）总体情况",
                     "1企业自查发现的重大事故隐患（个）22企业自查发现重大事故隐患中已完成整改的（个）0",
                     "3行政处罚（次，万元）0次，0万元", "6是否依托媒体设置并播放安全生产专题栏目是",
                     "2个，其中1个", "0.75万元，其中0.25万元",
                     "统计口径：自2023年5月1日专项行动开展以来至2023年6月18日累计数据。",
                     "备注：1.区安委会办公室持续对工作进展情况进行调度"):
        assert expected in flat, expected
    assert "WenQuanYi" in fonts


# --- hazard titles ----------------------------------------------------------------------------

def test_a_hazard_from_a_checklist_item_is_titled_by_the_finding(app, client, factory):
    api, admin, sup, campaign = small_campaign(app, client, factory, "hbt")
    firm = api.post(admin, "/enterprises", {"credit_code": code(201), "name": "某商超",
                                            "extra": {"hebei_sector": "大型商超"}})["id"]
    created = api.post(sup, "/inspections", {"enterprise_id": firm, "campaign_id": campaign,
                                             "template_key": "hebei_fire_safety_2023"})
    iid = created["inspection"]["id"]
    items = {r["code"]: r["item_id"] for r in created["results"]}
    answered = api.put(sup, f"/inspections/{iid}/results/{items['HB-F01']}", {
        "answer": "no", "note": "二层东侧安全出口被货物堵塞，疏散通道宽度不足1米",
        "raise_hazard": {"found_on": "2023-06-05"}})
    hazard = api.get(sup, f"/hazards/{answered['hazard_id']}")
    # What was found is the title; the requirement stays as its criterion.
    assert hazard["title"] == "二层东侧安全出口被货物堵塞，疏散通道宽度不足1米"
    assert hazard["grade"] == "major"
    assert hazard["description"] == (
        "检查依据/要求：安全出口、疏散通道畅通，未被占用、堵塞、封闭（《重大火灾隐患判定方法》"
        "（GB 35181-2017）；《中华人民共和国消防法》第二十八条）")
    notice = ok(client.get("/api/v1/tenants/hbt/notifications", headers=sup))["items"][0]
    assert "二层东侧安全出口被货物堵塞" in notice["title"]
    assert "安全出口、疏散通道畅通，未被占用" not in notice["title"]
    # A "no" raised without a note says the requirement is not met, never the bare requirement.
    answered = api.put(sup, f"/inspections/{iid}/results/{items['HB-F02']}", {
        "answer": "no", "raise_hazard": {"found_on": "2023-06-05"}})
    hazard = api.get(sup, f"/hazards/{answered['hazard_id']}")
    assert hazard["title"] == "不符合要求：营业期间安全出口未上锁，疏散门向疏散方向开启"
    # A title given by the inspector wins; the note then describes.
    answered = api.put(sup, f"/inspections/{iid}/results/{items['HB-F03']}", {
        "answer": "no", "note": "3号楼喷淋泵手动状态，控制柜显示故障",
        "raise_hazard": {"title": "自动喷水灭火系统停用", "found_on": "2023-06-05"}})
    hazard = api.get(sup, f"/hazards/{answered['hazard_id']}")
    assert hazard["title"] == "自动喷水灭火系统停用"
    assert hazard["description"].splitlines() == [
        "3号楼喷淋泵手动状态，控制柜显示故障",
        "检查依据/要求：火灾自动报警、自动喷水灭火等消防设施完好有效，未擅自停用"
        "（《重大火灾隐患判定方法》（GB 35181-2017））"]


# --- the ledger -------------------------------------------------------------------------------

def test_the_major_hazard_ledger_as_xlsx(app, client, factory):
    """From ``seed_campaign``: the campaign's major hazards, oldest first — H1 E1 06-05
    verified, H4 E1 06-10 rectified, H3 E2 06-20 rectifying, H6 E3 07-10 referred, H8 E2
    07-20 verified, H9 E3 08-01 referred, H10 E4 09-01 verified; not H11 (no campaign) nor
    the general ones."""
    world = seed_campaign(app, client, factory)
    kinds = {k["key"]: k for k in ok(client.get("/api/v1/tenants/hb/report-kinds",
                                                headers=world.sup))}
    assert kinds[LEDGER]["formats"] == ["xlsx", "json"]
    data = make_report(app, client, world.sup, "json", {}, tenant_code="hb", kind=LEDGER)["data"]
    rows = data["rows"]
    assert [(r["enterprise_name"], r["found_on"], r["source"], r["state_label"]) for r in rows] == [
        ("河北区某大型商超", "2023-06-05", "企业自查", "已验收销号"),
        ("河北区某大型商超", "2023-06-10", "企业自查", "已整改待验收"),
        ("河北区某标准化菜市场", "2023-06-20", "企业自查", "整改中"),
        ("河北区某宾馆", "2023-07-10", "部门检查", "已移交执法"),
        ("河北区某标准化菜市场", "2023-07-20", "抽查", "已验收销号"),
        ("河北区某宾馆", "2023-08-01", "抽查", "已移交执法"),
        ("河北区某商业综合体", "2023-09-01", "部门检查", "已验收销号")]
    assert data["summary"] == {"total": 7, "verified": 3, "open": 4, "overdue": 0, "referred": 2}
    first = rows[0]
    assert first["title"] == "不符合要求：安全出口、疏散通道畅通，未被占用、堵塞、封闭"
    assert first["criterion"].startswith("安全出口、疏散通道畅通，未被占用、堵塞、封闭（")
    assert (first["responsible_person"], first["measures"], first["funds"],
            first["contingency_plan"]) == ("张经理", "按判定标准整改", 3000.0, "专人看护，设置警示")
    assert first["verified_on"] == local_today().isoformat()  # verified by the fixture today
    assert rows[1]["title"] == "后厨燃气报警器未安装" and rows[1]["verified_on"] is None

    report = make_report(app, client, world.sup, "xlsx", {}, tenant_code="hb", kind=LEDGER)
    assert report["status"] == "ready", report
    sheet = openpyxl.load_workbook(io.BytesIO(download(client, report, world.sup)))["重大事故隐患台账"]
    assert sheet["A1"].value.startswith("河北区商务领域重大事故隐患台账（截至")
    assert [sheet.cell(3, c).value for c in range(1, 15)] == [
        "序号", "企业名称", "行业领域", "隐患描述（发现的问题）", "判定依据", "发现日期", "发现方式",
        "整改责任人", "整改措施", "整改资金（元）", "整改期限", "应急预案（临时措施）", "状态",
        "验收销号日期"]
    assert [sheet.cell(4, c).value for c in (1, 2, 3, 6, 7, 8, 10, 13)] == [
        1, "河北区某大型商超", "大型商超", "2023-06-05", "企业自查", "张经理", 3000, "已验收销号"]
    assert sheet.cell(10, 2).value == "河北区某商业综合体"
    assert sheet.cell(11, 1).value == ("共 7 项：已验收销号 3 项，未销号 4 项（其中逾期未整改 0 项，"
                                       "已移交执法 2 项）。")
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
