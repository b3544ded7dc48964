"""Reports (issue 5, "Reports (core)"): kinds from the core and plugins, requests through
HTTP, the ``reports`` job (one snapshot, .xlsx / PDF / JSON, object storage), entered
figures, permissions and isolation, failures, schedules."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import marshmallow as ma
import pytest
from sqlalchemy import select
from stdnum.cn import uscc

from anjian.extensions import db
from anjian.jobs import embedded
from anjian.plugin_api import hookimpl
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer
from tests.services import require_service

T = "/api/v1/tenants/rp"
ZERO = {"reported": 0, "rectifying": 0, "rectified": 0, "verified": 0, "overdue": 0,
        "referred": 0}


def code(n: int) -> str:
    base = f"91120105MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


@pytest.fixture
def w(app, client, factory):
    """Tenant rp (every role), tenant other (an admin), four enterprises of rp."""
    world = {"tenant": factory.tenant("rp", name="天津市河北区商务局"),
             "other": factory.tenant("other")}
    for role in ("tenant_admin", "supervisor", "viewer", "service_org", "enterprise"):
        world[f"{role}_id"], token = factory.user(f"rp-{role}".replace("_", "-"),
                                                  {world["tenant"]: role})
        world[role] = bearer(token)
    world["other_admin_id"], token = factory.user("other-admin",
                                                  {world["other"]: "tenant_admin"})
    world["other_admin"] = bearer(token)
    world["ents"] = [ok(client.post(f"{T}/enterprises", headers=world["tenant_admin"], json={
        "credit_code": code(n), "name": name, "industry": "商贸"}), 201)["id"]
        for n, name in enumerate(["大型商超", "标准化菜市场", "非星级酒店", "商业综合体"], 1)]
    return world


def seed_campaign(app, client, w) -> int:
    """A campaign with three targets, inspections, hazards in every state and tasks, plus
    rows that must not count (another campaign, no campaign): a hand-countable fixture."""
    from anjian.campaigns.models import CampaignTask
    from anjian.campaigns.service import today
    from anjian.hazards.models import Hazard
    from anjian.inspections.models import ChecklistTemplate, Inspection

    admin = w["tenant_admin"]
    cid = ok(client.post(f"{T}/campaigns", headers=admin, json={
        "title": "重大事故隐患排查整治2023专项行动", "starts_on": "2023-05-25"}), 201)["id"]
    other = ok(client.post(f"{T}/campaigns", headers=admin, json={"title": "别的行动"}), 201)["id"]
    ents = w["ents"]
    ok(client.post(f"{T}/campaigns/{cid}/targets", headers=admin,
                   json={"enterprise_ids": ents[:3]}))
    day = today()
    past, future = day - dt.timedelta(days=3), day + dt.timedelta(days=3)
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        template = ChecklistTemplate(key="fixture", title="夹具检查表")
        db.session.add(template)
        db.session.flush()
        for ent, status, campaign in [(ents[0], "submitted", cid), (ents[0], "submitted", cid),
                                      (ents[1], "draft", cid), (ents[2], "submitted", other),
                                      (ents[3], "submitted", cid)]:
            db.session.add(Inspection(enterprise_id=ent, campaign_id=campaign, status=status,
                                      template_id=template.id, inspector_kind="department"))
        for ent, grade, state, deadline, campaign in [
                (ents[0], "general", "reported", future, cid),
                (ents[0], "general", "reported", past, cid),  # overdue, not yet marked
                (ents[1], "general", "rectifying", past, cid),  # overdue, not yet marked
                (ents[1], "general", "rectified", past, cid),
                (ents[1], "general", "verified", past, cid),
                (ents[2], "general", "overdue", past, cid),
                (ents[0], "major", "reported", None, cid),
                (ents[2], "major", "overdue", past, cid),
                (ents[2], "major", "referred", past, cid),
                (ents[0], "major", "reported", past, other),  # another campaign
                (ents[0], "general", "reported", past, None)]:  # no campaign
            db.session.add(Hazard(enterprise_id=ent, campaign_id=campaign, source="department",
                                  grade=grade, state=state, title="隐患", found_on=day,
                                  deadline=deadline))
        for key, status, deadline, campaign in [("late", "open", past, cid),
                                                ("marked", "overdue", past, cid),
                                                ("finished", "done", past, cid),
                                                ("coming", "open", future, cid),
                                                ("elsewhere", "open", past, other)]:
            db.session.add(CampaignTask(campaign_id=campaign, key=key, title=key, status=status,
                                        deadline=deadline))
        db.session.commit()
    return cid


# The hand count of seed_campaign.
HAND_COUNT = {
    "targets": 3, "inspected": 1, "hazards_total": 9, "overdue_hazards": 4, "overdue_tasks": 2,
    "hazards": {"general": {**ZERO, "reported": 2, "rectifying": 1, "rectified": 1,
                            "verified": 1, "overdue": 1},
                "major": {**ZERO, "reported": 1, "overdue": 1, "referred": 1}},
}


def request(client, headers, kind, fmt, params, tenant=T):
    return client.post(f"{tenant}/reports", headers=headers,
                       json={"kind": kind, "format": fmt, "params": params})


def make(app, client, headers, kind, fmt, params, tenant=T):
    """Request a report, run the queue, return the report's detail."""
    r = request(client, headers, kind, fmt, params, tenant)
    body = ok(r, 202)
    assert r.headers["Location"].endswith(f"/jobs/{body['id']}")
    assert body["report_id"] and body["report_url"].endswith(f"/reports/{body['report_id']}")
    assert embedded.drain(app)
    return ok(client.get(body["report_url"], headers=headers))


# --------------------------------------------------------------------------- end to end


def test_campaign_progress_as_json_equals_a_hand_count(app, client, w):
    cid = seed_campaign(app, client, w)
    report = make(app, client, w["supervisor"], "campaign_progress", "json",
                  {"campaign_id": cid})
    assert report["status"] == "ready", report
    data = report["data"]
    assert {k: data[k] for k in HAND_COUNT} == HAND_COUNT
    assert data["title"] == report["title"] == "重大事故隐患排查整治2023专项行动进度报表"
    assert report["requested_by"] == w["supervisor_id"]
    assert report["requested_by_name"] == "rp-supervisor"
    assert report["params"] == {"campaign_id": cid}
    assert report["snapshot_at"] and report["download"] is None and report["filename"] is None


def fetch(client, report, headers):
    """The report's file, through /download (a redirect to a short-lived link)."""
    r = client.get(report["download"], headers=headers)
    assert r.status_code == 302, r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "private, no-store"
    got = client.get(r.headers["Location"])
    try:
        assert got.status_code == 200
        assert "attachment" in got.headers["Content-Disposition"]
        return got.data
    finally:
        got.close()


def test_campaign_progress_as_xlsx_shows_the_labels_and_figures(app, client, w):
    import openpyxl

    cid = seed_campaign(app, client, w)
    report = make(app, client, w["tenant_admin"], "campaign_progress", "xlsx",
                  {"campaign_id": cid})
    assert report["status"] == "ready", report
    assert report["content_type"].endswith("spreadsheetml.sheet")
    assert report["filename"].startswith("重大事故隐患排查整治2023专项行动进度报表_")
    assert report["filename"].endswith(".xlsx") and report["data"] is None
    book = openpyxl.load_workbook(io.BytesIO(fetch(client, report, w["viewer"])))
    sheet = book["专项行动进度"]
    assert sheet["A1"].value == "重大事故隐患排查整治2023专项行动进度报表"
    assert "A1:H1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A2"].value.startswith("单位：天津市河北区商务局")
    assert [sheet.cell(5, c).value for c in range(1, 6)] == [
        "目标企业数", "已检查企业数", "隐患总数", "逾期隐患数", "逾期任务数"]
    assert [sheet.cell(6, c).value for c in range(1, 6)] == [3, 1, 9, 4, 2]
    assert [sheet.cell(9, c).value for c in range(1, 9)] == [
        "隐患等级", "已上报", "整改中", "已整改待验收", "已验收销号", "逾期未整改", "已移交执法", "合计"]
    assert [sheet.cell(10, c).value for c in range(1, 9)] == ["一般隐患", 2, 1, 1, 1, 1, 0, 6]
    assert [sheet.cell(11, c).value for c in range(1, 9)] == ["重大事故隐患", 1, 0, 0, 0, 1, 1, 3]
    assert [sheet.cell(12, c).value for c in range(1, 9)] == ["合计", 3, 1, 1, 1, 2, 1, 9]
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9


def pdf_tools():
    """pdftotext and pdffonts (poppler-utils): fail under CI, skip elsewhere, when missing."""
    for tool in ("pdftotext", "pdffonts"):
        if shutil.which(tool) is None:
            require_service("poppler-utils", f"{tool} not found (scripts/ensure-services.sh)")
    from anjian.reports.pdf import font_installed

    if not font_installed():
        require_service("fonts-wqy-microhei", "WenQuanYi Micro Hei not found by fontconfig")


def pdf_text_and_fonts(tmp_path, content: bytes) -> tuple[str, str]:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                           text=True).stdout
    return text, fonts


def test_campaign_progress_as_pdf_renders_the_chinese_glyphs(app, client, w, tmp_path):
    pdf_tools()
    cid = seed_campaign(app, client, w)
    report = make(app, client, w["supervisor"], "campaign_progress", "pdf", {"campaign_id": cid})
    assert report["status"] == "ready", report
    assert report["content_type"] == "application/pdf" and report["filename"].endswith(".pdf")
    content = fetch(client, report, w["supervisor"])
    assert content.startswith(b"%PDF-")
    text, fonts = pdf_text_and_fonts(tmp_path, content)
    # The text layer holds the Chinese as Chinese: the glyphs came from a CJK font.
    assert "重大事故隐患排查整治2023专项行动进度报表" in text
    assert "天津市河北区商务局" in text  # the page's margin box (top right)
    lines = [line.split() for line in text.splitlines()]
    assert ["3", "1", "9", "4", "2"] in lines  # the summary row
    assert ["一般隐患", "2", "1", "1", "1", "1", "0", "6"] in lines
    assert ["重大事故隐患", "1", "0", "0", "0", "1", "1", "3"] in lines
    assert "第 1 页，共 1 页" in text
    embedded_faces = [line.split() for line in fonts.splitlines()[2:]]
    assert embedded_faces, fonts
    # Every face in the file is WenQuanYi Micro Hei, embedded: none fell back to another.
    assert all("WenQuanYi-Micro-Hei" in row[0] and row[-5] == "yes" for row in embedded_faces), fonts


# --------------------------------------------------------------------------- a plugin's kind


class WeeklyParams(ma.Schema):
    week = ma.fields.Date(required=True, metadata={"title": "周（周一）"})

    @ma.validates("week")
    def _monday(self, value, **_kwargs):
        if value.weekday() != 0:
            raise ma.ValidationError("须为周一")


WEEKLY = "test_weekly"
FIGURES = [{"key": "media_programmes", "label": "媒体宣传（次）"},
           {"key": "study_sessions", "label": "学习研讨（场）"}]


def transaction_state() -> dict:
    """What the transaction compute runs in looks like."""
    from sqlalchemy import text

    def show(name):
        return db.session.scalar(text(f"SHOW {name}").execution_options(
            tenant_scoped_sql=True))

    return {"isolation": show("transaction_isolation"),
            "read_only": show("transaction_read_only")}


def weekly_compute(tenant, params, snapshot_at):
    from flask import current_app
    from sqlalchemy import func

    from anjian.enterprises.models import Enterprise
    from anjian.jobs.service import JobError
    from anjian.reports.figures import entered_latest, entered_totals, entered_values

    fail = current_app.config.get("TEST_REPORT_FAIL")
    if fail == "message":
        raise JobError("本周数据尚未填报完整", "test: refused")
    if fail == "crash":
        raise RuntimeError("boom")
    week = params["week"]
    state = transaction_state()
    return {
        "title": f"{tenant.name}测试周报（{week}）",
        "week": week,
        "enterprises": db.session.scalar(select(func.count()).select_from(Enterprise)),
        "first_name": db.session.scalar(select(Enterprise.name).order_by(Enterprise.id)),
        "this_week": entered_values(WEEKLY, week),
        "cumulative": entered_totals(WEEKLY, until=week),
        "latest": entered_latest(WEEKLY, ["media_programmes"], until=week),
        "latest_since": entered_latest(WEEKLY, ["media_programmes", "study_sessions"],
                                       since=week),
        "transaction": state,
    }


def weekly_xlsx(data, workbook):
    sheet = workbook.add_worksheet("周报")
    head = workbook.add_format({"bold": True, "align": "center"})
    sheet.merge_range("A1:C1", data["title"], head)
    sheet.write(1, 0, "企业数")
    sheet.write(1, 1, data["enterprises"])
    sheet.write(2, 0, "第一家企业")
    sheet.write(2, 1, data["first_name"])  # a name that starts like a formula
    sheet.write_row(3, 0, ["媒体宣传（次）", data["cumulative"].get("media_programmes", 0)])


def weekly_html(data):
    from anjian.reports.pdf import escape

    return f"<h1>{escape(data['title'])}</h1>"


def weekly_params(tenant, slot):
    from flask import current_app

    from anjian.jobs.service import JobError

    assert slot.tzinfo is not None and slot.utcoffset() == dt.timedelta(hours=8)
    fail = current_app.config.get("TEST_SCHEDULE_FAIL")
    if fail == "refuse":
        raise JobError("本周不报送", "test: schedule refused")
    if fail == "nothing":  # nothing to report this slot: no report at all
        return None
    monday = slot.date() - dt.timedelta(days=slot.weekday())
    if fail == "tuesday":  # parameters the kind's schema refuses
        return {"week": (monday + dt.timedelta(days=1)).isoformat()}
    return {"week": monday.isoformat()}


class WeeklyPlugin:
    @hookimpl
    def register_report_kinds(self):
        return [{"key": WEEKLY, "title": "测试周报", "formats": ["xlsx", "pdf", "json"],
                 "parameters": WeeklyParams,
                 "compute": "tests.test_reports:weekly_compute",
                 "xlsx": weekly_xlsx, "html": "tests.test_reports.weekly_html",
                 "entered_figures": FIGURES,
                 "schedule": {"cron": "0 9 * * 1", "params": "tests.test_reports:weekly_params",
                              "format": "json"}}]


TP = "/api/v1/tenants/tp"


@pytest.fixture
def pw(app, client, factory):
    """Tenant tp with the test plugin (and a tenant admin, a supervisor and a viewer);
    tenant plain without it."""
    app.extensions["anjian.plugins"].register("test_reports", WeeklyPlugin())
    world = {"tenant": factory.tenant("tp", name="测试街道", plugins=["test_reports"]),
             "plain": factory.tenant("plain")}
    for role in ("tenant_admin", "supervisor", "viewer"):
        world[f"{role}_id"], token = factory.user(f"tp-{role}".replace("_", "-"),
                                                  {world["tenant"]: role})
        world[role] = bearer(token)
    ok(client.post(f"{TP}/enterprises", headers=world["tenant_admin"], json={
        "credit_code": code(90), "name": "=HYPERLINK(\"http://x.invalid\",\"点我\")"}), 201)
    ok(client.post(f"{TP}/enterprises", headers=world["tenant_admin"], json={
        "credit_code": code(91), "name": "第二家企业"}), 201)
    return world


def figures_url(period, kind=WEEKLY):
    return f"{TP}/reports/figures/{kind}/{period}"


def put_figures(client, headers, period, figures, status=200):
    etag = client.get(figures_url(period), headers=headers).headers["ETag"]
    r = client.put(figures_url(period), headers={**headers, "If-Match": etag},
                   json={"figures": figures})
    assert r.status_code == status, r.get_data(as_text=True)
    return r.json


def test_report_kinds_are_the_cores_and_the_enabled_plugins(app, client, w, pw):
    kinds = ok(client.get(f"{T}/report-kinds", headers=w["viewer"]))
    core_kinds = ["campaign_progress", "standardisation_progress", "standardisation_renewals_due",
                  "standardisation_exemptions", "standardisation_delisting", "standardisation_achieved_public"]
    assert [k["key"] for k in kinds] == core_kinds
    core = kinds[0]
    assert core["title"] == "专项行动进度报表" and core["plugin"] == "anjian.defaults"
    assert core["formats"] == ["xlsx", "pdf", "json"] and core["schedule"] is None
    assert core["parameters"]["required"] == ["campaign_id"]
    assert core["parameters"]["properties"]["campaign_id"]["type"] == "integer"
    assert core["parameters"]["properties"]["campaign_id"]["title"] == "专项行动"
    assert core["parameters"]["properties"]["on"]["format"] == "date"
    kinds = {k["key"]: k for k in ok(client.get(f"{TP}/report-kinds", headers=pw["viewer"]))}
    assert set(kinds) == {*core_kinds, WEEKLY}
    # Each figure says what it takes (issue 22: kind, unit, part_of; the defaults here).
    assert kinds[WEEKLY]["entered_figures"] == [
        {**f, "kind": "number", "unit": "", "part_of": None} for f in FIGURES]
    assert kinds[WEEKLY]["figures_period"] == "week"
    assert kinds[WEEKLY]["schedule"] == {"cron": "0 9 * * 1", "timezone": "Asia/Shanghai",
                                         "format": "json", "key": f"report-{WEEKLY}"}
    # A tenant without the plugin can neither use nor fill in the plugin's kind.
    r = request(client, w["supervisor"], WEEKLY, "json", {"week": "2023-06-05"})
    assert r.status_code == 422 and r.json["errors"] == {"kind": ["报表类型不存在或未启用"]}
    assert client.get(f"{T}/reports/figures/{WEEKLY}/2023-06-05",
                      headers=w["viewer"]).status_code == 404


def test_parameters_are_validated_with_per_field_chinese_messages(app, client, w):
    cid = seed_campaign(app, client, w)
    foreign = ok(client.post("/api/v1/tenants/other/campaigns", headers=w["other_admin"],
                             json={"title": "别的单位的行动"}), 201)["id"]
    admin = w["tenant_admin"]
    cases = [
        (("campaign_progress", "xlsx", {}), {"params": {"campaign_id": ["必填项"]}}),
        (("campaign_progress", "xlsx", {"campaign_id": "x"}),
         {"params": {"campaign_id": ["不是有效的整数"]}}),
        (("campaign_progress", "xlsx", {"campaign_id": cid, "on": "2023-13-01"}),
         {"params": {"on": ["不是有效的日期"]}}),
        (("campaign_progress", "xlsx", {"campaign_id": cid, "extra": 1}),
         {"params": {"extra": ["不允许的字段"]}}),
        # Another tenant's campaign is as absent as a missing one.
        (("campaign_progress", "xlsx", {"campaign_id": foreign}),
         {"params": {"campaign_id": ["专项行动不存在"]}}),
        (("campaign_progress", "xlsx", {"campaign_id": 987654}),
         {"params": {"campaign_id": ["专项行动不存在"]}}),
        (("no_such_kind", "xlsx", {}), {"kind": ["报表类型不存在或未启用"]}),
    ]
    for args, errors in cases:
        r = request(client, admin, *args)
        assert r.status_code == 422, (args, r.json)
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json["errors"] == errors, args
    r = client.post(f"{T}/reports", headers=admin, json={"kind": "campaign_progress",
                                                          "format": "docx", "params": {}})
    assert r.status_code == 422
    assert r.json["errors"] == {"json": {"format": ["须为以下之一: xlsx, pdf, json"]}}
    assert ok(client.get(f"{T}/reports", headers=admin))["total"] == 0  # nothing half-made
    assert ok(client.get(f"{T}/jobs", headers=admin))["total"] == 0


def test_a_format_the_kind_lacks_is_refused(app, client, w, factory):
    class JsonOnly:
        @hookimpl
        def register_report_kinds(self):
            return [{"key": "test_json_only", "title": "仅数据", "formats": ["json"],
                     "parameters": WeeklyParams, "compute": weekly_compute}]

    app.extensions["anjian.plugins"].register("test_json_only", JsonOnly())
    factory.tenant("jo", plugins=["test_json_only"])
    _, token = factory.user("jo-admin", {factory_tenant_id(app, "jo"): "tenant_admin"})
    r = request(client, bearer(token), "test_json_only", "xlsx", {"week": "2023-06-05"},
                tenant="/api/v1/tenants/jo")
    assert r.status_code == 422
    assert r.json["errors"] == {"format": ["该报表不提供此格式，可选：json"]}


def factory_tenant_id(app, code_):
    from anjian.tenancy.models import Tenant

    with app.app_context(), scoped(db.session, Scope.platform_scope()):
        return db.session.scalar(select(Tenant.id).where(Tenant.code == code_))


def test_entered_figures_are_declared_per_week_audited_and_seen_by_compute(app, client, pw):
    admin, supervisor, viewer = pw["tenant_admin"], pw["supervisor"], pw["viewer"]
    empty = ok(client.get(figures_url("2023-06-05"), headers=viewer))
    assert empty["period"] == "2023-06-05" and empty["figures_period"] == "week"
    assert [(f["key"], f["label"], f["value"]) for f in empty["figures"]] == [
        ("media_programmes", "媒体宣传（次）", None), ("study_sessions", "学习研讨（场）", None)]
    # Writes need If-Match (two people entering the same week do not overwrite silently).
    r = client.put(figures_url("2023-06-05"), headers=supervisor, json={"figures": []})
    assert r.status_code == 428
    etag = client.get(figures_url("2023-06-05"), headers=viewer).headers["ETag"]
    r = client.put(figures_url("2023-06-05"), headers={**viewer, "If-Match": etag},
                   json={"figures": [{"key": "media_programmes", "value": 1}]})
    assert r.status_code == 403
    put_figures(client, supervisor, "2023-06-05", [
        {"key": "media_programmes", "value": 3, "note": "区电视台"},
        {"key": "study_sessions", "value": 2}])
    stale = client.put(figures_url("2023-06-05"), headers={**supervisor, "If-Match": etag},
                       json={"figures": [{"key": "media_programmes", "value": 9}]})
    assert stale.status_code == 412
    week = put_figures(client, admin, "2023-06-05", [
        {"key": "media_programmes", "value": 5, "note": "区电视台、报纸"},
        {"key": "study_sessions", "value": None}])  # null removes the figure
    assert [(f["key"], f["value"], f["note"]) for f in week["figures"]] == [
        ("media_programmes", 5.0, "区电视台、报纸"), ("study_sessions", None, "")]
    assert week["figures"][0]["entered_by"] == pw["tenant_admin_id"]
    put_figures(client, supervisor, "2023-06-12", [{"key": "media_programmes", "value": 4.5},
                                                   {"key": "study_sessions", "value": 1}])
    put_figures(client, supervisor, "2023-06-19", [{"key": "media_programmes", "value": 100}])
    # Only declared keys, once each, valid values, and a week's Monday.
    r = put_figures(client, supervisor, "2023-06-12", [
        {"key": "media_programmes", "value": 1}, {"key": "press_releases", "value": 1},
        {"key": "media_programmes", "value": 2}], status=422)
    assert r["errors"] == {"figures": {"1": {"key": ["该报表没有填报项“press_releases”"]},
                                       "2": {"key": ["同一填报项重复出现"]}}}
    r = put_figures(client, supervisor, "2023-06-12", [
        {"key": "media_programmes", "value": -1}], status=422)
    assert r["errors"] == {"json": {"figures": {"0": {"value": ["须在 0 到 99999999999999.99 之间"]}}}}
    r = client.get(figures_url("2023-06-06"), headers=viewer)
    assert r.status_code == 422 and r.json["errors"] == {
        "period": ["该报表按周填报，期间须为周一的日期"]}
    assert client.get(figures_url("2023-06-05", kind="campaign_progress"),
                      headers=viewer).json["figures"] == []
    assert client.get(figures_url("2023-06-05", kind="nope"), headers=viewer).status_code == 404
    # Every change is on record: two created, one updated, one deleted, then three more.
    audit = ok(client.get(f"{TP}/audit", headers=admin,
                          query_string={"action": "enteredfigure.", "per_page": 50}))["items"]
    actions = sorted(e["action"] for e in audit)
    assert actions == sorted(["enteredfigure.create"] * 5 + ["enteredfigure.update",
                                                               "enteredfigure.delete"])
    update = next(e for e in audit if e["action"] == "enteredfigure.update")
    assert update["actor_user_id"] == pw["tenant_admin_id"]
    assert (update["before"]["value"], update["after"]["value"]) == ("3.00", "5.00")
    # compute reads the week's figures and the cumulative ones up to the week.
    report = make(app, client, supervisor, WEEKLY, "json", {"week": "2023-06-12"}, TP)
    assert report["status"] == "ready", report
    assert report["data"]["this_week"] == {"media_programmes": 4.5, "study_sessions": 1}
    assert report["data"]["cumulative"] == {"media_programmes": 9.5, "study_sessions": 1}
    # The latest value entered per key, each key from its own latest period.
    assert report["data"]["latest"] == {"media_programmes": 4.5}
    assert report["data"]["latest_since"] == {"media_programmes": 100, "study_sessions": 1}
    assert report["title"] == "测试街道测试周报（2023-06-12）"


def test_compute_runs_in_one_read_only_snapshot(app, client, pw):
    report = make(app, client, pw["supervisor"], WEEKLY, "json", {"week": "2023-06-05"}, TP)
    state = report["data"]["transaction"]
    assert state == {"isolation": "repeatable read", "read_only": "on"}
    assert report["data"]["enterprises"] == 2
    assert report["snapshot_at"] <= report["finished_at"]


def test_plugin_xlsx_layout_is_formula_safe(app, client, pw):
    import openpyxl

    report = make(app, client, pw["tenant_admin"], WEEKLY, "xlsx", {"week": "2023-06-05"}, TP)
    assert report["status"] == "ready", report
    sheet = openpyxl.load_workbook(io.BytesIO(fetch(client, report, pw["viewer"])))["周报"]
    assert sheet["A1"].value == "测试街道测试周报（2023-06-05）"
    assert (sheet["A2"].value, sheet["B2"].value) == ("企业数", 2)
    assert sheet["B3"].value == "'=HYPERLINK(\"http://x.invalid\",\"点我\")"  # text, not a formula
    assert sheet["B3"].data_type == "s"


# --------------------------------------------------------------------------- who may


def test_roles_and_tenants(app, client, w, tmp_path):
    cid = seed_campaign(app, client, w)
    params = {"campaign_id": cid}
    for role in ("viewer", "service_org", "enterprise"):
        r = request(client, w[role], "campaign_progress", "json", params)
        assert r.status_code == 403, role
        assert r.headers["Content-Type"] == "application/problem+json"
    report = make(app, client, w["tenant_admin"], "campaign_progress", "xlsx", params)
    rid = report["id"]
    # Viewers read (a supervisor's and an admin's reports alike); enterprise users see no
    # report, no kind, no figures. A service organisation reads the reports its organisation
    # requested and those about the enterprises it serves (issue 22, seed 000: it delivers
    # its acceptance reports; tests/test_qinhuangdao_seed.py), so the bureau's own report is
    # as absent to it as a missing one (404), and its list is empty; kinds and figures stay
    # the bureau's (403).
    assert ok(client.get(f"{T}/reports", headers=w["viewer"]))["total"] == 1
    assert ok(client.get(f"{T}/reports/{rid}", headers=w["viewer"]))["download_url"]
    for url in (f"{T}/reports", f"{T}/reports/{rid}", f"{T}/reports/{rid}/download",
                f"{T}/report-kinds", f"{T}/reports/figures/campaign_progress/2023-06-05"):
        assert client.get(url, headers=w["enterprise"]).status_code == 403, url
    assert ok(client.get(f"{T}/reports", headers=w["service_org"]))["total"] == 0
    for url in (f"{T}/reports/{rid}", f"{T}/reports/{rid}/download"):
        r = client.get(url, headers=w["service_org"])
        assert r.status_code == 404 and r.json["detail"] == "报表不存在", url
    for url in (f"{T}/report-kinds", f"{T}/reports/figures/campaign_progress/2023-06-05"):
        assert client.get(url, headers=w["service_org"]).status_code == 403, url
    # Another tenant's admin: the tenant is 404, and so is the report id under its own tenant.
    other = "/api/v1/tenants/other"
    assert client.get(f"{T}/reports/{rid}", headers=w["other_admin"]).status_code == 404
    for url in (f"{other}/reports/{rid}", f"{other}/reports/{rid}/download",
                f"{other}/reports/{rid}/download?redirect=false"):
        r = client.get(url, headers=w["other_admin"])
        assert r.status_code == 404 and r.json["detail"] == "报表不存在", url
    assert ok(client.get(f"{other}/reports", headers=w["other_admin"]))["total"] == 0
    # The signed link names the report's own tenant; the other tenant cannot get one.
    from anjian.reports.models import Report
    from anjian.storage.backends import ObjectNotFound
    from anjian.storage.service import storage_for

    link = ok(client.get(f"{T}/reports/{rid}/download?redirect=false", headers=w["viewer"]))
    assert link["expires_in"] == 600 and link["filename"] == report["filename"]
    storage = storage_for(app)
    claims = storage.read_download_token(link["url"].rsplit("/", 1)[1])
    assert claims["tenant_id"] == w["tenant"]
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        key = db.session.get(Report, rid).object_key
    assert key.startswith(f"tenants/{w['tenant']}/reports/")
    with pytest.raises(ObjectNotFound):
        storage.download_url(key, w["other"])
    # A JSON report has no file to download.
    json_report = make(app, client, w["supervisor"], "campaign_progress", "json", params)
    r = client.get(f"{T}/reports/{json_report['id']}/download", headers=w["viewer"])
    assert r.status_code == 409


def test_list_filters_and_pages(app, client, w):
    cid = seed_campaign(app, client, w)
    params = {"campaign_id": cid}
    make(app, client, w["supervisor"], "campaign_progress", "json", params)
    queued = ok(request(client, w["tenant_admin"], "campaign_progress", "xlsx", params), 202)

    def listed(**query):
        body = ok(client.get(f"{T}/reports", headers=w["viewer"], query_string=query))
        return body["total"], [(i["format"], i["status"]) for i in body["items"]]

    assert listed() == (2, [("xlsx", "queued"), ("json", "ready")])  # newest first
    assert listed(status="queued") == (1, [("xlsx", "queued")])
    assert listed(status="ready", format="json") == (1, [("json", "ready")])
    assert listed(kind="other_kind") == (0, [])
    assert listed(per_page=1, page=2) == (2, [("json", "ready")])
    item = ok(client.get(f"{T}/reports", headers=w["viewer"]))["items"][0]
    assert item["id"] == queued["report_id"] and item["job_id"] == queued["id"]
    assert item["requested_by_name"] == "rp-tenant-admin" and item["download"] is None
    assert item["job_url"].endswith(f"/jobs/{queued['id']}")
    r = client.get(f"{T}/reports/{queued['report_id']}/download", headers=w["viewer"])
    assert r.status_code == 409 and "尚未生成" in r.json["detail"]


# --------------------------------------------------------------------------- failures


def test_a_failing_compute_fails_the_report_with_its_message_and_a_retry_makes_it(
        app, client, pw):
    from anjian.jobs.models import Job

    admin = pw["tenant_admin"]
    app.config["TEST_REPORT_FAIL"] = "message"
    report = make(app, client, admin, WEEKLY, "xlsx", {"week": "2023-06-05"}, TP)
    assert (report["status"], report["error"]) == ("failed", "本周数据尚未填报完整")
    assert report["status_label"] == "失败" and report["download"] is None
    job = ok(client.get(f"{TP}/jobs/{report['job_id']}", headers=admin))
    assert job["status"] == "failed" and job["error"].startswith("本周数据尚未填报完整")
    assert client.get(f"{TP}/reports/{report['id']}/download",
                      headers=admin).status_code == 409
    # Retried like any job: queued again at once, made when the worker runs it.
    app.config["TEST_REPORT_FAIL"] = None
    ok(client.post(f"{TP}/jobs/{report['job_id']}/retry", headers=admin, json={}), 202)
    again = ok(client.get(f"{TP}/reports/{report['id']}", headers=admin))
    assert (again["status"], again["error"]) == ("queued", None)
    assert embedded.drain(app)
    again = ok(client.get(f"{TP}/reports/{report['id']}", headers=admin))
    assert again["status"] == "ready" and again["error"] is None and again["download"]
    # Anything else: a generic message for users, the technical line on the job.
    app.config["TEST_REPORT_FAIL"] = "crash"
    crashed = make(app, client, admin, WEEKLY, "json", {"week": "2023-06-05"}, TP)
    assert crashed["status"] == "failed"
    assert crashed["error"] == "报表“测试周报”生成失败（计算或排版出错），请联系管理员"
    job = ok(client.get(f"{TP}/jobs/{crashed['job_id']}", headers=admin))
    assert "RuntimeError: boom" in job["error"]
    # A report whose worker died shows failed, with the job's message.
    app.config["TEST_REPORT_FAIL"] = None
    lost = ok(request(client, admin, WEEKLY, "json", {"week": "2023-06-05"}, TP), 202)
    with app.app_context(), scoped(db.session, Scope.tenant(pw["tenant"])):
        job = db.session.get(Job, lost["id"])
        job.status, job.error = "abandoned", "任务中断（处理进程已停止或失联），可由管理员重试\nabandoned"
        db.session.commit()
    shown = ok(client.get(f"{TP}/reports/{lost['report_id']}", headers=admin))
    assert (shown["status"], shown["error"]) == ("failed", "任务中断（处理进程已停止或失联），可由管理员重试")
    assert ok(client.get(f"{TP}/reports", headers=admin,
                         query_string={"status": "failed"}))["total"] == 2


def test_a_missing_cjk_font_fails_the_pdf_with_a_clear_message(app, client, pw, monkeypatch):
    from anjian.reports import pdf

    monkeypatch.setattr(pdf, "font_installed", lambda: False)
    report = make(app, client, pw["supervisor"], WEEKLY, "pdf", {"week": "2023-06-05"}, TP)
    assert report["status"] == "failed"
    assert "fonts-wqy-microhei" in report["error"] and "无法生成 PDF" in report["error"]


@pytest.mark.parametrize(("change", "message"), [
    ({"compute": None}, "missing compute"),
    ({"builder": "x.y"}, "unknown keys builder"),
    ({"key": "Bad-Key"}, "key must be"),
    ({"formats": ["docx"]}, "formats must be"),
    ({"formats": ["pdf"]}, "format pdf needs an 'html' callable"),
    ({"formats": ["xlsx"]}, "format xlsx needs an 'xlsx' layout callable"),
    ({"parameters": dict}, "parameters must be a marshmallow Schema"),
    ({"compute": "tests.no_such_module:compute"}, "cannot be imported"),
    ({"entered_figures": [{"key": "a"}]}, "entered_figures[0]"),
    ({"entered_figures": [{"key": "a", "label": "甲"}, {"key": "a", "label": "乙"}]}, "unique"),
    ({"figures_period": "year"}, "figures_period"),
    ({"schedule": {"cron": "0 25 * * 1", "params": weekly_params, "format": "json"}}, "cron"),
    ({"schedule": {"cron": "0 9 * * 1", "params": weekly_params, "format": "pdf"}},
     "schedule format"),
])
def test_a_wrong_kind_is_refused_naming_the_plugin_and_the_key(change, message):
    from anjian.reports.kinds import ReportKindError, validate

    entry = {"key": "test_kind", "title": "测试", "formats": ["json"], "parameters": WeeklyParams,
             "compute": weekly_compute, "plugin": "test_plugin", **change}
    if change.get("compute", 0) is None:
        del entry["compute"]
    with pytest.raises(ReportKindError, match="test_plugin: report kind") as raised:
        validate(entry)
    assert message in str(raised.value)


def test_a_broken_kind_is_a_500_naming_the_plugin(app, client, factory):
    class Broken:
        @hookimpl
        def register_report_kinds(self):
            return [{"key": "test_broken", "title": "坏的", "formats": ["pdf"],
                     "parameters": WeeklyParams, "compute": weekly_compute}]

    app.extensions["anjian.plugins"].register("test_broken", Broken())
    tenant = factory.tenant("bk", plugins=["test_broken"])
    _, token = factory.user("bk-admin", {tenant: "tenant_admin"})
    r = client.get("/api/v1/tenants/bk/report-kinds", headers=bearer(token))
    assert r.status_code == 500
    assert "test_broken" in r.json["detail"] and "format pdf needs an 'html'" in r.json["detail"]


# --------------------------------------------------------------------------- schedules


def test_a_kinds_schedule_makes_one_report_per_tenant_and_slot(app, client, pw, factory):
    from zoneinfo import ZoneInfo

    from anjian.jobs import schedules
    from anjian.jobs.service import enqueue
    from anjian.reports.models import Report
    from anjian.tenancy.models import Tenant

    with app.app_context():
        schedule = schedules.get(f"report-{WEEKLY}")
        assert (schedule.cron, schedule.queue, schedule.plugin, schedule.function) == (
            "0 9 * * 1", "reports", "test_reports", "anjian.reports.jobs.report")
        assert schedule.title == "定时报表：测试周报"
        assert schedule.job_spec().kind == "report"
        slot = dt.datetime(2023, 6, 12, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert schedule.is_due(slot)
        fired = schedules.fire(schedule, slot)
        assert (fired["enqueued"], fired["skipped"]) == (1, 0)  # tp only, not plain
        assert schedules.fire(schedule, slot)["enqueued"] == 0  # the slot again: nothing more
    assert embedded.drain(app)
    with app.app_context():
        # A second job for the same slot (a second scheduler, a redelivery) adds no report.
        with scoped(db.session, Scope.tenant(pw["tenant"])):
            enqueue("report", {"schedule": f"report-{WEEKLY}", "slot": "2023-06-12T09:00+08:00"},
                    tenant_id=pw["tenant"])
            db.session.commit()
    assert embedded.drain(app)
    reports = ok(client.get(f"{TP}/reports", headers=pw["viewer"]))
    assert reports["total"] == 1
    [made] = reports["items"]
    assert made["schedule_key"] == f"report-{WEEKLY}@2023-06-12T09:00+08:00"
    assert (made["status"], made["format"], made["requested_by"]) == ("ready", "json", None)
    assert made["params"] == {"week": "2023-06-12"}
    detail = ok(client.get(made["url"], headers=pw["viewer"]))
    assert detail["data"]["week"] == "2023-06-12" and detail["data"]["enterprises"] == 2
    with app.app_context(), scoped(db.session, Scope.platform_scope()):
        plain_id = db.session.scalar(select(Tenant.id).where(Tenant.code == "plain"))
    with app.app_context(), scoped(db.session, Scope.tenant(plain_id)):
        assert db.session.scalar(select(Report.id)) is None
    # A slot whose parameters are refused gives a failed report with the message.
    for fail, week in (("refuse", 1), ("tuesday", 2)):
        app.config["TEST_SCHEDULE_FAIL"] = fail
        with app.app_context():
            schedules.fire(schedule, slot + dt.timedelta(weeks=week))
        assert embedded.drain(app)
    failed = ok(client.get(f"{TP}/reports", headers=pw["viewer"],
                           query_string={"status": "failed"}))["items"]
    assert [(r["schedule_key"], r["error"]) for r in failed] == [
        (f"report-{WEEKLY}@2023-06-26T09:00+08:00", "报表参数无效：week：须为周一"),
        (f"report-{WEEKLY}@2023-06-19T09:00+08:00", "本周不报送")]
    # A slot with nothing to report: the job ends skipped and no report is made.
    app.config["TEST_SCHEDULE_FAIL"] = "nothing"
    with app.app_context():
        assert schedules.fire(schedule, slot + dt.timedelta(weeks=3))["enqueued"] == 1
    assert embedded.drain(app)
    assert ok(client.get(f"{TP}/reports", headers=pw["viewer"]))["total"] == 3
    jobs = ok(client.get(f"{TP}/jobs", headers=pw["tenant_admin"]))
    skipped = [j for j in jobs["items"] if (j["result"] or {}).get("reason") == "本期无需生成"]
    assert [j["params"]["slot"] for j in skipped] == ["2023-07-03T09:00+08:00"]
