"""Safety standardisation reports (issue point 6, "Reports, xlsx and PDF"): the five core
kinds (progress per 板块 against the targets, certificates due for renewal, exemptions,
delisting, the public list of achieved enterprises) requested over HTTP and checked in
.xlsx, PDF and JSON against a small world counted by hand."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from anjian.clock import local_today
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.hazards.models import Hazard
from anjian.jobs import embedded
from anjian.standardisation.models import Accident, Certification, CertificationEvent, Check, Target
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer
from tests.test_reports import fetch, pdf_text_and_fonts, pdf_tools
from tests.test_standardisation import SETTINGS

T = "/api/v1/tenants/std-rp"
OTHER = "/api/v1/tenants/std-rp-other"
D = dt.date
RED = "FFFFC7CE"


@pytest.fixture
def w(app, factory):
    tenant = factory.tenant("std-rp", plugins=["anjian_changshu"], level="county", settings=SETTINGS,
                            name="常熟市应急管理局")
    other = factory.tenant("std-rp-other", plugins=["anjian_changshu"], level="county", settings=SETTINGS)
    meili = factory.area(tenant, "meili", name="梅李镇")
    zhennan = factory.area(tenant, "meili-zhennan", kind="village", parent_id=meili, name="珍南村")
    dongbang = factory.area(tenant, "dongbang", name="董浜镇")
    huangshi = factory.area(tenant, "dongbang-huangshi", kind="village", parent_id=dongbang, name="黄石村")
    world = {"tenant": tenant, "other": other}
    for role in ("supervisor", "viewer"):
        world[role] = bearer(factory.user(f"std-rp-{role}", {tenant: role})[1])
    world["other_admin"] = bearer(factory.user("std-rp-other-admin", {other: "tenant_admin"})[1])
    _store(app, tenant, meili, zhennan, dongbang, huangshi)
    return world


def _store(app, tenant, meili, zhennan, dongbang, huangshi):
    """The world, every enterprise small or micro (小微), scheme 小微企业标准化 unless said:

    梅李镇 (town 梅李镇 or its village 珍南村):
      1 梅李精密机械厂   achieved 2019-05-01..2022-05-01, demonstration, looked back at 2019-06-01
      2 梅李纺织有限公司  achieved 2019-05-01..2022-05-01, 劳动密集
      3 梅李冷链食品厂   renewal_due 2016-11-01..2019-11-01, 液氨制冷, a fatal accident 2018-06-01
      4 梅李五金制品厂   achieved (三级), renewed 2019-09-01, 2019-09-01..2022-09-01
      5 梅李塑料制品厂   delisted 2019-08-01 (a recommendation left on it)
      6 梅李包装材料厂   exempt (step taken 2019-04-28)
      7 梅李电子元件厂   applied
      8 梅李家具厂       no record
      9 梅李冶金铸造公司  achieved 2019-04-01..2022-04-01, 有限空间, recommended for delisting
                         (an audit 2019-05-05, then a look-back 2019-10-10)
     16 已注销企业       achieved, but the enterprise is deleted: in no report
    董浜镇 (town 董浜镇 or its village 黄石村):
     10 董浜服装厂       achieved 2019-03-01..2022-03-01, 劳动密集, audited 2019-07-01
     11 董浜机械配件厂   re_evaluating 2016-12-20..2019-12-20, an open major hazard
     12 董浜织造厂       exempt (no step recorded)
     13 董浜纸箱厂       no record, 劳动密集
     14 董浜铝材加工厂   delisted 2018-07-01
     15 董浜化纤厂       applied
    Targets 2019: the settings' city targets; 梅李镇's share of 达标企业数 is 6.
    """
    cert_no = "苏常AQB2019-{:03d}".format
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        def ent(n, name, area, **fields):
            row = Enterprise(credit_code=f"91320581MA{n:08d}", name=name, scale="micro", area_id=area,
                             address="常熟市", **fields)
            db.session.add(row)
            db.session.flush()
            return row.id

        def cert(e, n, state, issued=None, expires=None, **fields):
            row = Certification(enterprise_id=e, scheme=fields.pop("scheme", "small_micro"), state=state,
                                applied_on=D(2018, 3, 1), issued_on=issued, expires_on=expires,
                                certificate_no=cert_no(n) if issued else None, **fields)
            db.session.add(row)
            db.session.flush()
            return row.id

        c1 = cert(ent(1, "梅李精密机械厂", zhennan, principal_phone="13800000001", contact_phone="13900000001"),
                  1, "achieved", D(2019, 5, 1), D(2022, 5, 1), demonstration=True, review_score=88.5)
        cert(ent(2, "梅李纺织有限公司", meili, labour_intensive=True), 2, "achieved", D(2019, 5, 1), D(2022, 5, 1))
        e3 = ent(3, "梅李冷链食品厂", zhennan, ammonia_refrigeration=True)
        cert(e3, 3, "renewal_due", D(2016, 11, 1), D(2019, 11, 1))
        db.session.add(Accident(enterprise_id=e3, occurred_on=D(2018, 6, 1), severity="fatal", deaths=1))
        cert(ent(4, "梅李五金制品厂", meili), 4, "achieved", D(2019, 9, 1), D(2022, 9, 1), scheme="level3",
             renewals=1, renewed_on=D(2019, 9, 1))
        cert(ent(5, "梅李塑料制品厂", meili), 5, "delisted", D(2017, 1, 1), D(2020, 1, 1), delisted_on=D(2019, 8, 1),
             delisting_reason="“回头看”发现安全管理制度未落实，不再符合达标条件", delisting_recommended=True)
        c6 = cert(ent(6, "梅李包装材料厂", zhennan), 6, "exempt", exempt_reason="企业正在搬迁，暂不具备创建条件")
        db.session.add(CertificationEvent(certification_id=c6, action="exempt", from_state="applied",
                                          to_state="exempt", on=D(2019, 4, 28)))
        cert(ent(7, "梅李电子元件厂", zhennan), 7, "applied")
        ent(8, "梅李家具厂", meili)
        c9 = cert(ent(9, "梅李冶金铸造公司", meili, confined_space=True), 9, "achieved", D(2019, 4, 1),
                  D(2022, 4, 1), delisting_recommended=True)
        cert(ent(16, "已注销企业", meili, deleted_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)), 16, "achieved",
             D(2019, 5, 1), D(2022, 5, 1))
        c10 = cert(ent(10, "董浜服装厂", huangshi, labour_intensive=True), 10, "achieved", D(2019, 3, 1),
                   D(2022, 3, 1))
        e11 = ent(11, "董浜机械配件厂", dongbang)
        cert(e11, 11, "re_evaluating", D(2016, 12, 20), D(2019, 12, 20))
        db.session.add(Hazard(enterprise_id=e11, source="department", title="冲压设备安全联锁失效",
                              grade="major", found_on=D(2019, 11, 5)))
        cert(ent(12, "董浜织造厂", huangshi), 12, "exempt", exempt_reason="厂房租赁到期，拟关停")
        ent(13, "董浜纸箱厂", dongbang, labour_intensive=True)
        cert(ent(14, "董浜铝材加工厂", dongbang), 14, "delisted", D(2016, 1, 1), D(2019, 1, 1),
             delisted_on=D(2018, 7, 1), delisting_reason="发生重伤事故")
        cert(ent(15, "董浜化纤厂", huangshi), 15, "applied")
        for certification, kind, on, conclusion, findings in [
                (c1, "lookback", D(2019, 6, 1), "pass", ""),
                (c9, "audit", D(2019, 5, 5), "recommend_delisting", "应急预案未演练"),
                (c9, "lookback", D(2019, 10, 10), "recommend_delisting", "有限空间作业审批制度未执行"),
                (c10, "audit", D(2019, 7, 1), "pass", "")]:
            db.session.add(Check(certification_id=certification, kind=kind, checked_on=on, conclusion=conclusion,
                                 findings=findings))
        db.session.add(Target(year=2019, area_id=meili, metric="achieved_total", value=6))
        db.session.commit()


def make(app, client, w, kind, fmt, params=None):
    """Request a report as the supervisor, run the queue, return its detail (as the viewer)."""
    r = client.post(f"{T}/reports", headers=w["supervisor"], json={"kind": kind, "format": fmt,
                                                                     "params": params or {}})
    assert r.status_code == 202, r.get_data(as_text=True)
    assert embedded.drain(app)
    report = client.get(r.json["report_url"], headers=w["viewer"]).json
    assert report["status"] == "ready", report
    return report


def workbook(client, w, report):
    assert report["filename"].endswith(".xlsx")
    return openpyxl.load_workbook(io.BytesIO(fetch(client, report, w["viewer"])))


def values(sheet, row, last=None):
    """The values of one row (dates as dates)."""
    out = [c.value for c in sheet[row]][:last]
    return [v.date() if isinstance(v, dt.datetime) else v for v in out]


def column(sheet, col, first, last):
    return [sheet.cell(r, col).value for r in range(first, last + 1)]


def pdf_text(client, w, report, tmp_path) -> str:
    content = fetch(client, report, w["viewer"])
    assert content.startswith(b"%PDF-") and report["content_type"] == "application/pdf"
    pdf_tools()
    text, fonts = pdf_text_and_fonts(tmp_path, content)
    faces = [line.split() for line in fonts.splitlines()[2:]]
    assert faces and all("WenQuanYi-Micro-Hei" in face[0] for face in faces), fonts  # no fallback font
    return text


# --------------------------------------------------------------------------- the catalogue


def test_the_five_kinds_are_core_kinds_with_their_parameters(client, w):
    kinds = {k["key"]: k for k in client.get(f"{T}/report-kinds", headers=w["viewer"]).json}
    assert {key: (kinds[key]["title"], kinds[key]["plugin"], kinds[key]["formats"]) for key in (
        "standardisation_progress", "standardisation_renewals_due", "standardisation_exemptions",
        "standardisation_delisting", "standardisation_achieved_public")} == {
        "standardisation_progress": ("标准化目标进度（按板块）", "anjian.defaults", ["xlsx", "pdf", "json"]),
        "standardisation_renewals_due": ("期满换证企业名单", "anjian.defaults", ["xlsx", "pdf", "json"]),
        "standardisation_exemptions": ("暂不创建企业名单", "anjian.defaults", ["xlsx", "pdf", "json"]),
        "standardisation_delisting": ("摘牌名单", "anjian.defaults", ["xlsx", "pdf", "json"]),
        "standardisation_achieved_public": ("达标企业公布名单", "anjian.defaults", ["xlsx", "pdf", "json"])}
    progress = kinds["standardisation_progress"]["parameters"]
    assert progress["required"] == ["year"] and progress["properties"]["by"]["format"] == "date"
    assert set(kinds["standardisation_delisting"]["parameters"]["properties"]) == {"from", "to"}

    def refused(kind, params):
        r = client.post(f"{T}/reports", headers=w["supervisor"], json={"kind": kind, "format": "xlsx",
                                                                        "params": params})
        assert r.status_code == 422, r.json
        return r.json["errors"]["params"]

    assert refused("standardisation_progress", {}) == {"year": ["必填项"]}
    assert refused("standardisation_progress", {"year": 1900}) == {"year": ["年度须在 2000 到 2100 之间"]}
    assert refused("standardisation_progress", {"year": 2019, "by": "2018-12-31"}) == {
        "by": ["统计截止日期不能早于该年度 1 月 1 日"]}
    assert refused("standardisation_delisting", {"from": "2019-12-01", "to": "2019-01-01"}) == {
        "from": ["起始日期不能晚于截止日期"]}
    assert "scheme" in refused("standardisation_achieved_public", {"scheme": "gold"})


# --------------------------------------------------------------------------- progress

# The hand count of _store for 2019 (by 2019-12-31): the columns of the sheet, B..V, then
# 未达标指标. 梅李镇: 9 small or micro, 5 in force (1, 2, 3, 4, 9); key industries 2, 3, 9 all
# in force; renewed 4; due 4 and 3; demonstration 1; looked back at 1 and 9 (9 is 有限空间);
# delisted 5: 1 ÷ (1 + 2). 董浜镇: 6, in force 10 and 11; key industries 10 and 13 (1 of 2);
# due 11, none renewed; audited 10 (劳动密集); 14 was delisted in 2018: 0 ÷ (0 + 1).
DONGBANG = ["董浜镇", 2, None, 6, 0.3333, 0.7, 0.5, 1, 0, None, 1, 0, 0.5, 0, None, 1, None, 1, None, 0, 0, 0.05,
            "达标率、重点行业达标率、换证率、摘牌率"]
MEILI = ["梅李镇", 5, 6, 9, 0.5556, 0.7, 1, 1, 1, None, 2, 0.5, 0.5, 1, None, 2, None, 1, None, 1, 0.3333, 0.05,
         "达标企业数、达标率"]
TOTAL = ["合计", 7, 100, 15, 0.4667, 0.7, 0.8, 1, 1, 10, 3, 0.3333, 0.5, 1, 5, 3, 15, 2, 3, 1, 0.25, 0.05,
         "达标企业数、达标率、重点行业达标率、期满换证数、换证率、示范企业数、“回头看”数、重点行业“回头看”数"]


def test_progress_per_sector_in_xlsx_marks_the_sectors_below_target(app, client, w):
    report = make(app, client, w, "standardisation_progress", "xlsx", {"year": 2019})
    assert report["title"] == "2019年安全生产标准化目标进度（按板块）"
    book = workbook(client, w, report)
    assert book.sheetnames == ["标准化目标进度", "重点行业达标"]
    sheet = book["标准化目标进度"]
    assert sheet["A1"].value == "2019年安全生产标准化目标进度（按板块）"
    assert sheet["A2"].value.startswith("单位：常熟市应急管理局　　年度：2019　　统计截止：2019-12-31")
    assert values(sheet, 3) == [
        "板块", "达标企业数", None, "小微企业数", "达标率", None, "重点行业达标率", None, "期满换证数", None,
        "到期企业数", "换证率", None, "示范企业数", None, "“回头看”数", None, "重点行业“回头看”数", None,
        "摘牌数", "摘牌率", None, "未达标指标"]
    assert values(sheet, 4)[1:3] == ["实际", "目标"] and values(sheet, 4)[20:22] == ["实际", "目标"]
    assert [values(sheet, r) for r in (5, 6, 7)] == [DONGBANG, MEILI, TOTAL]
    assert sheet["A8"].value is None and sheet["A9"].value.startswith("注：达标率 = 达标企业数 ÷ 小微企业数")
    # Red: exactly the figures below their target (董浜镇: 达标率, 重点行业达标率, 换证率, 摘牌率;
    # 梅李镇: 达标企业数 against its own share, 达标率), and the 未达标指标 cell.
    red = {(c.row, c.column_letter) for row in sheet.iter_rows(min_row=5, max_row=7, max_col=22)
           for c in row if c.fill.fgColor.rgb == RED}
    assert red == {(5, "E"), (5, "G"), (5, "L"), (5, "U"), (6, "B"), (6, "E"),
                   (7, "B"), (7, "E"), (7, "G"), (7, "I"), (7, "L"), (7, "N"), (7, "P"), (7, "R")}
    assert sheet["W5"].fill.fgColor.rgb == RED and sheet["E5"].number_format == "0.00%"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9

    key = book["重点行业达标"]
    assert values(key, 3) == ["板块", "液氨制冷", None, None, "有限空间", None, None, "劳动密集", None, None]
    assert values(key, 4) == [None, *["企业数", "达标数", "达标率"] * 3]
    assert [values(key, r) for r in (5, 6, 7)] == [
        ["董浜镇", 0, 0, "—", 0, 0, "—", 2, 1, 0.5],
        ["梅李镇", 1, 1, 1, 1, 1, 1, 1, 1, 1],
        ["合计", 1, 1, 1, 1, 1, 1, 3, 2, 0.6667]]
    assert key["J5"].fill.fgColor.rgb == RED and key["J6"].fill.fgColor.rgb != RED


def test_progress_as_json_and_pdf(app, client, w, tmp_path):
    data = make(app, client, w, "standardisation_progress", "json", {"year": 2019, "by": "2019-12-31"})["data"]
    rows = {row["name"]: row for row in data["rows"]}
    assert list(rows) == ["董浜镇", "梅李镇", "合计"]
    assert rows["梅李镇"]["below"] == ["achieved_total", "achieved_ratio"]
    assert rows["梅李镇"]["below_labels"] == ["达标企业数", "达标率"]
    assert (rows["合计"]["total"], rows["合计"]["achieved_total"], rows["合计"]["targets"]["achieved_total"]) == (
        True, 7, 100)
    # By 2019-10-31 梅李冷链食品厂 (due 2019-11-01) is not yet due: 梅李镇 has 1 renewed of 1 due.
    early = make(app, client, w, "standardisation_progress", "json", {"year": 2019, "by": "2019-10-31"})["data"]
    assert [(r["name"], r["due_total"], r["renewed_ratio_of_due"]) for r in early["rows"]] == [
        ("董浜镇", 0, None), ("梅李镇", 1, 1.0), ("合计", 1, 1.0)]

    report = make(app, client, w, "standardisation_progress", "pdf", {"year": 2019})
    text = pdf_text(client, w, report, tmp_path)
    assert "2019年安全生产标准化目标进度（按板块）" in text and "常熟市应急管理局" in text
    assert "董浜镇" in text and "梅李镇" in text and "未达标指标" in text
    assert "55.56%" in text and "33.33%" in text
    assert "重点行业达标情况" in text


# --------------------------------------------------------------------------- the lists

RENEWAL_HEAD = ["序号", "企业名称", "统一社会信用代码", "板块", "标准化类别", "证书编号", "发证日期", "有效期至",
                "状态", "换证障碍"]


def test_renewals_due_with_what_bars_them(app, client, w, tmp_path):
    report = make(app, client, w, "standardisation_renewals_due", "xlsx", {"due_by": "2019-12-31"})
    assert report["title"] == "期满换证企业名单（2019-12-31前到期）"
    sheet = workbook(client, w, report)["期满换证企业名单"]
    assert sheet["A2"].value.startswith(
        "单位：常熟市应急管理局　　到期日截至：2019-12-31　　共 2 家，其中有换证障碍 2 家")
    assert values(sheet, 3) == RENEWAL_HEAD
    assert [values(sheet, r) for r in (4, 5)] == [
        [1, "梅李冷链食品厂", "91320581MA00000003", "梅李镇", "小微企业标准化", "苏常AQB2019-003",
         D(2016, 11, 1), D(2019, 11, 1), "期满换证", "证书有效期内发生死亡事故（2018-06-01），不得换证"],
        [2, "董浜机械配件厂", "91320581MA00000011", "董浜镇", "小微企业标准化", "苏常AQB2019-011",
         D(2016, 12, 20), D(2019, 12, 20), "复评", "企业有 1 项重大事故隐患未整改销号，不得换证"]]
    assert sheet["A6"].value is None

    # By default: every certificate in force expiring by the end of this year (all expired
    # by now), soonest first; 梅李冶金铸造公司 is barred by the look-back's recommendation.
    data = make(app, client, w, "standardisation_renewals_due", "json")["data"]
    assert data["due_by"] == f"{local_today().year}-12-31"
    assert [(r["no"], r["name"], r["expires_on"]) for r in data["rows"]] == [
        (1, "梅李冷链食品厂", "2019-11-01"), (2, "董浜机械配件厂", "2019-12-20"), (3, "董浜服装厂", "2022-03-01"),
        (4, "梅李冶金铸造公司", "2022-04-01"), (5, "梅李精密机械厂", "2022-05-01"),
        (6, "梅李纺织有限公司", "2022-05-01"), (7, "梅李五金制品厂", "2022-09-01")]
    blocked = {r["name"]: r["blockers"] for r in data["rows"] if r["blockers"]}
    assert set(blocked) == {"梅李冷链食品厂", "董浜机械配件厂", "梅李冶金铸造公司"}
    assert "建议摘牌" in blocked["梅李冶金铸造公司"][0]

    text = pdf_text(client, w, make(app, client, w, "standardisation_renewals_due", "pdf",
                                    {"due_by": "2019-12-31"}), tmp_path)
    assert "期满换证企业名单（2019-12-31前到期）" in text
    assert "梅李冷链食品厂" in text and "董浜机械配件厂" in text and "梅李精密机械厂" not in text


def test_exemptions_with_their_reasons(app, client, w, tmp_path):
    report = make(app, client, w, "standardisation_exemptions", "xlsx")
    assert report["title"] == "暂不创建安全生产标准化企业名单"
    sheet = workbook(client, w, report)["暂不创建企业名单"]
    assert "共 2 家" in sheet["A2"].value
    assert values(sheet, 3) == ["序号", "企业名称", "统一社会信用代码", "板块", "标准化类别", "申报日期",
                                "暂不创建日期", "暂不创建原因"]
    assert [values(sheet, r) for r in (4, 5)] == [
        [1, "董浜织造厂", "91320581MA00000012", "董浜镇", "小微企业标准化", D(2018, 3, 1), None,
         "厂房租赁到期，拟关停"],
        [2, "梅李包装材料厂", "91320581MA00000006", "梅李镇", "小微企业标准化", D(2018, 3, 1), D(2019, 4, 28),
         "企业正在搬迁，暂不具备创建条件"]]
    assert sheet["A6"].value is None

    text = pdf_text(client, w, make(app, client, w, "standardisation_exemptions", "pdf"), tmp_path)
    assert "暂不创建安全生产标准化企业名单" in text and "企业正在搬迁，暂不具备创建条件" in text


def test_delisting_and_the_recommendations_awaiting_the_bureau(app, client, w, tmp_path):
    report = make(app, client, w, "standardisation_delisting", "xlsx", {"from": "2019-01-01", "to": "2019-12-31"})
    assert report["title"] == "安全生产标准化摘牌名单（2019-01-01至2019-12-31）"
    assert report["params"] == {"from": "2019-01-01", "to": "2019-12-31"}
    book = workbook(client, w, report)
    assert book.sheetnames == ["摘牌名单", "建议摘牌名单"]
    sheet = book["摘牌名单"]
    assert "摘牌 1 家，建议摘牌待决定 1 家" in sheet["A2"].value
    assert values(sheet, 3) == ["序号", "企业名称", "统一社会信用代码", "板块", "标准化类别", "证书编号", "摘牌日期",
                                "摘牌原因"]
    assert values(sheet, 4) == [1, "梅李塑料制品厂", "91320581MA00000005", "梅李镇", "小微企业标准化",
                                "苏常AQB2019-005", D(2019, 8, 1), "“回头看”发现安全管理制度未落实，不再符合达标条件"]
    assert sheet["A5"].value is None
    # Recommended and not yet delisted (梅李塑料制品厂's recommendation is settled by its
    # delisting): the latest recommending check.
    sheet = book["建议摘牌名单"]
    assert sheet["A1"].value.startswith("建议摘牌企业名单")
    assert values(sheet, 3) == ["序号", "企业名称", "统一社会信用代码", "板块", "标准化类别", "证书编号", "有效期至",
                                "状态", "建议摘牌日期", "检查类型", "检查发现"]
    assert values(sheet, 4) == [1, "梅李冶金铸造公司", "91320581MA00000009", "梅李镇", "小微企业标准化",
                                "苏常AQB2019-009", D(2022, 4, 1), "达标", D(2019, 10, 10), "回头看",
                                "有限空间作业审批制度未执行"]
    assert sheet["A5"].value is None

    wider = make(app, client, w, "standardisation_delisting", "json", {"from": "2018-01-01", "to": "2019-12-31"})
    assert [(r["name"], r["delisted_on"], r["delisting_reason"]) for r in wider["data"]["delisted"]] == [
        ("董浜铝材加工厂", "2018-07-01", "发生重伤事故"),
        ("梅李塑料制品厂", "2019-08-01", "“回头看”发现安全管理制度未落实，不再符合达标条件")]
    # By default this year: nobody was delisted in it; the recommendation still shows.
    this_year = make(app, client, w, "standardisation_delisting", "pdf")
    year = local_today().year
    assert this_year["title"] == f"安全生产标准化摘牌名单（{year}-01-01至{year}-12-31）"
    text = pdf_text(client, w, this_year, tmp_path)
    assert "已摘牌企业" in text and "（无）" in text and "梅李冶金铸造公司" in text
    assert "梅李塑料制品厂" not in text


def test_the_public_list_of_achieved_enterprises(app, client, w, tmp_path):
    report = make(app, client, w, "standardisation_achieved_public", "xlsx")
    assert report["title"] == "安全生产标准化达标企业名单"
    sheet = workbook(client, w, report)["达标企业名单"]
    assert "共 7 家" in sheet["A2"].value
    assert values(sheet, 3) == ["序号", "企业名称", "统一社会信用代码", "板块", "标准化等级（类别）", "证书编号",
                                "证书有效期"]
    # By 板块 (董浜镇 first, by code), then scheme, then name; deleted, delisted, exempt and
    # applied enterprises are not listed.
    assert [values(sheet, r) for r in range(4, 11)] == [
        [1, "董浜服装厂", "91320581MA00000010", "董浜镇", "小微企业标准化", "苏常AQB2019-010",
         "2019-03-01 至 2022-03-01"],
        [2, "董浜机械配件厂", "91320581MA00000011", "董浜镇", "小微企业标准化", "苏常AQB2019-011",
         "2016-12-20 至 2019-12-20"],
        [3, "梅李冶金铸造公司", "91320581MA00000009", "梅李镇", "小微企业标准化", "苏常AQB2019-009",
         "2019-04-01 至 2022-04-01"],
        [4, "梅李冷链食品厂", "91320581MA00000003", "梅李镇", "小微企业标准化", "苏常AQB2019-003",
         "2016-11-01 至 2019-11-01"],
        [5, "梅李精密机械厂", "91320581MA00000001", "梅李镇", "小微企业标准化", "苏常AQB2019-001",
         "2019-05-01 至 2022-05-01"],
        [6, "梅李纺织有限公司", "91320581MA00000002", "梅李镇", "小微企业标准化", "苏常AQB2019-002",
         "2019-05-01 至 2022-05-01"],
        [7, "梅李五金制品厂", "91320581MA00000004", "梅李镇", "三级", "苏常AQB2019-004", "2019-09-01 至 2022-09-01"]]
    assert sheet["A11"].value is None
    # A public list: no phone numbers, no scores.
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not any("1380000" in c or "1390000" in c or "88.5" in c for c in cells)

    level3 = make(app, client, w, "standardisation_achieved_public", "json", {"scheme": "level3"})["data"]
    assert level3["title"] == "安全生产标准化达标企业名单（三级）"
    assert [r["name"] for r in level3["rows"]] == ["梅李五金制品厂"]
    assert not {"principal_phone", "contact_phone", "review_score", "self_score"} & set(level3["rows"][0])

    text = pdf_text(client, w, make(app, client, w, "standardisation_achieved_public", "pdf"), tmp_path)
    assert "安全生产标准化达标企业名单" in text and "梅李五金制品厂" in text and "已注销企业" not in text


# --------------------------------------------------------------------------- isolation


def test_another_tenant_gets_404(app, client, w):
    report = make(app, client, w, "standardisation_achieved_public", "xlsx")
    r = client.post(f"{T}/reports", headers=w["other_admin"], json={
        "kind": "standardisation_achieved_public", "format": "xlsx", "params": {}})
    assert r.status_code == 404
    assert client.get(f"{T}/reports/{report['id']}", headers=w["other_admin"]).status_code == 404
    for url in (f"{OTHER}/reports/{report['id']}", f"{OTHER}/reports/{report['id']}/download"):
        assert client.get(url, headers=w["other_admin"]).status_code == 404, url
    # The other tenant's own public list is empty: it sees nothing of this one.
    r = client.post(f"{OTHER}/reports", headers=w["other_admin"], json={
        "kind": "standardisation_achieved_public", "format": "json", "params": {}})
    assert r.status_code == 202, r.json
    assert embedded.drain(app)
    data = client.get(r.json["report_url"], headers=w["other_admin"]).json["data"]
    assert data["rows"] == [] and data["tenant"] != "常熟市应急管理局"
