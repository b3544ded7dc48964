"""The crackdown's progress report (``shenyang_crackdown_progress``, xlsx, PDF or JSON): per
target enterprise the share of rules in place against the templates and its group's
self-check, its ledgers (the duties met, missed and still due), the hazards found and fixed
(verified) in the campaign, its risk registration (risk points, of them major and large,
registered by its date) and its permits this year (all, still open); per sector (建材, 机械,
轻工: ``focus_sectors``) the same summed. It serves the end-of-May evaluation ("5月底前，
开展评估总结，梳理薄弱环节"): on the tenant's ``evaluation_deadline`` it is made by itself, as
a PDF (``evaluation_params``)."""

from __future__ import annotations

import datetime as dt
from html import escape

from marshmallow import Schema, fields

from anjian.plugin_api import ReportKind, ReportSchedule, context, local_now
from anjian_shenyang.crackdown import PLUGIN, rules_progress

REPORT_KIND = "shenyang_crackdown_progress"
TITLE = "小微工业企业安全生产集中攻坚整治进度表"


class ProgressParameters(Schema):
    campaign_id = fields.Integer(load_default=None, allow_none=True)
    as_of = fields.Date(load_default=None, allow_none=True, metadata={"description": "统计日期，默认今天"})


def evaluation_params(tenant, slot: dt.datetime) -> dict | None:
    """The end-of-May evaluation ("5月底前，开展评估总结"): on the tenant's
    ``evaluation_deadline`` the report is made as of that day; on other days nothing."""
    day = local_now(slot).date()
    due = tenant.settings[PLUGIN]["evaluation_deadline"]
    return {"as_of": due.isoformat()} if day == due else None


REPORT = ReportKind(
    key=REPORT_KIND, title=TITLE, formats=("xlsx", "pdf", "json"), parameters=ProgressParameters,
    compute="anjian_shenyang.report:compute", xlsx="anjian_shenyang.report:xlsx",
    html="anjian_shenyang.report:html",
    schedule=ReportSchedule(cron="0 18 * * *", params=evaluation_params, format="pdf",
                            title="评估总结：评估日当天 18:00 生成进度表"),
    description="各目标企业规章制度建立比例、台账义务完成情况、隐患发现与整改验收情况，按建材、机械、轻工行业汇总")


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def compute(tenant, params, snapshot_at) -> dict:
    rules = rules_progress(tenant, params.get("campaign_id"), params.get("as_of"))
    as_of = dt.date.fromisoformat(rules["as_of"])
    ctx = context(tenant)
    ids = [row["enterprise_id"] for row in rules["enterprises"]]
    duties = ctx.ledger_duty_status(as_of, ids)
    hazards = ctx.hazard_counts_by_enterprise(campaign_id=rules["campaign_id"], enterprise_ids=ids)
    risks = ctx.risk_counts(ids)
    permits = ctx.permit_counts(ids, since=as_of.replace(month=1, day=1))
    sectors = {name: {"sector": name, "enterprises": 0, "templates": 0, "present": 0, "rules_done": 0,
                      "ledgers_complete": 0, "hazards_found": 0, "hazards_fixed": 0, "risk_registered": 0,
                      "risk_points": 0, "risk_major_large": 0, "permits": 0, "permits_open": 0}
               for name in tenant.settings[PLUGIN]["focus_sectors"]}
    rows = []
    for row in rules["enterprises"]:
        items = duties.get(row["enterprise_id"], [])
        met = sum(1 for i in items if i["status"] == "met")
        missed = [i for i in items if i["status"] == "missed"]
        due = sum(1 for i in items if i["status"] == "due")
        found, fixed = hazards.get(row["enterprise_id"], (0, 0))
        entry = {"enterprise_name": row["enterprise_name"], "industry": row["industry"],
                 "group_label": row["group_label"], "deadline": row["deadline"],
                 "templates": row["templates"], "present": row["present"], "missing": row["missing"],
                 "outdated": row["outdated"], "unassessed": row["unassessed"],
                 "share_present": row["share_present"], "rules_status": row["status_label"],
                 "duties_met": met, "duties_missed": len(missed), "duties_due": due,
                 "ledgers_complete": not missed,
                 "missed": "；".join(f"{i['title']}（{i['period']}）" for i in missed),
                 "hazards_found": found, "hazards_fixed": fixed}
        risk = risks.get(row["enterprise_id"], {})
        permit = permits.get(row["enterprise_id"], {})
        entry.update(risk_points=risk.get("points", 0),
                     risk_major_large=risk.get("major", 0) + risk.get("large", 0),
                     risk_status=row["risk_status_label"], permits=permit.get("total", 0),
                     permits_open=permit.get("open", 0))
        rows.append(entry)
        sector = sectors.get(row["industry"])
        if sector is not None:
            sector["enterprises"] += 1
            sector["templates"] += row["templates"]
            sector["present"] += row["present"]
            sector["rules_done"] += row["status"] == "done"
            sector["ledgers_complete"] += not missed
            sector["hazards_found"] += found
            sector["hazards_fixed"] += fixed
            sector["risk_registered"] += entry["risk_points"] > 0
            sector["risk_points"] += entry["risk_points"]
            sector["risk_major_large"] += entry["risk_major_large"]
            sector["permits"] += entry["permits"]
            sector["permits_open"] += entry["permits_open"]
    for sector in sectors.values():
        sector["share_present"] = _share(sector["present"], sector["templates"])
    return {"title": f"{tenant.name}{TITLE}", "as_of": as_of.isoformat(),
            "template_rule_count": rules["template_rule_count"], "templates_loaded": rules["templates_loaded"],
            "groups": rules["groups"],
            "sectors": list(sectors.values()), "enterprises": rows, "warnings": rules["warnings"]}


ENTERPRISE_COLUMNS = (
    ("企业名称", "enterprise_name", 30), ("行业", "industry", 8), ("分组", "group_label", 10),
    ("自查期限", "deadline", 12), ("模板数", "templates", 8), ("已建立", "present", 8), ("缺失", "missing", 8),
    ("需修订", "outdated", 8), ("未自查", "unassessed", 8), ("建立比例", "share_present", 10),
    ("制度自查", "rules_status", 12), ("台账义务完成", "duties_met", 12), ("未完成", "duties_missed", 8),
    ("进行中", "duties_due", 8), ("未完成的台账义务", "missed", 40), ("发现隐患", "hazards_found", 10),
    ("已整改验收", "hazards_fixed", 10), ("风险点", "risk_points", 8), ("重大及较大风险", "risk_major_large", 12),
    ("风险报告录入", "risk_status", 12), ("作业票（本年）", "permits", 12), ("未关闭作业票", "permits_open", 12),
)
# The PDF's table of enterprises: what fits a page's width.
PRINTED_COLUMNS = tuple(c for c in ENTERPRISE_COLUMNS if c[1] in (
    "enterprise_name", "industry", "group_label", "share_present", "rules_status", "duties_met", "duties_missed",
    "hazards_found", "hazards_fixed", "risk_points", "permits"))
SECTOR_COLUMNS = (
    ("行业", "sector", 10), ("企业数", "enterprises", 8), ("制度建立比例", "share_present", 12),
    ("制度自查完成企业", "rules_done", 16), ("台账齐全企业", "ledgers_complete", 14),
    ("发现隐患", "hazards_found", 10), ("已整改验收", "hazards_fixed", 12), ("录入风险企业", "risk_registered", 12),
    ("风险点", "risk_points", 8), ("重大及较大风险", "risk_major_large", 12), ("作业票（本年）", "permits", 12),
    ("未关闭作业票", "permits_open", 12),
)


def _sheet(workbook, name, title, columns, rows, formats):
    sheet = workbook.add_worksheet(name)
    sheet.merge_range(0, 0, 0, len(columns) - 1, title, formats["title"])
    for col, (label, _key, width) in enumerate(columns):
        sheet.set_column(col, col, width)
        sheet.write_string(1, col, label, formats["head"])
    for r, row in enumerate(rows, start=2):
        for col, (_label, key, _width) in enumerate(columns):
            value = row[key]
            if key.startswith("share"):
                sheet.write_number(r, col, value, formats["percent"])
            elif isinstance(value, bool):
                sheet.write_string(r, col, "是" if value else "否", formats["cell"])
            elif isinstance(value, int):
                sheet.write_number(r, col, value, formats["cell"])
            else:
                sheet.write_string(r, col, str(value), formats["cell"])
    sheet.freeze_panes(2, 0)


def xlsx(data, workbook) -> None:
    formats = {"title": workbook.add_format({"bold": True, "font_size": 14, "align": "center"}),
               "head": workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}),
               "cell": workbook.add_format({"border": 1}),
               "percent": workbook.add_format({"border": 1, "num_format": "0.0%"})}
    title = f"{data['title']}（截至{data['as_of']}）"
    _sheet(workbook, "按行业", title, SECTOR_COLUMNS, data["sectors"], formats)
    _sheet(workbook, "按企业", title, ENTERPRISE_COLUMNS, data["enterprises"], formats)


def _value(key, value) -> str:
    if key.startswith("share"):
        return f"{value * 100:.1f}%"
    if isinstance(value, bool):
        return "是" if value else "否"
    return escape(str(value))


def _table(columns, rows) -> str:
    """A table whose first column (a name) is wide enough to stay on one line."""
    rest = round(76 / max(len(columns) - 1, 1), 1)
    widths = "".join(f'<col style="width:{24 if i == 0 else rest}%">' for i in range(len(columns)))
    head = "".join(f"<th>{escape(label)}</th>" for label, _key, _w in columns)
    body = "".join("<tr>" + "".join(f"<td>{_value(key, row[key])}</td>" for _l, key, _w in columns) + "</tr>"
                   for row in rows)
    return f"<table><colgroup>{widths}</colgroup><tr>{head}</tr>{body or '<tr><td>（无）</td></tr>'}</table>"


def html(data) -> str:
    groups = "；".join(f"{g['title']} {g['enterprises']} 家（方案 {g['planned_count']} 家，{g['deadline']} 前），"
                      f"已完成 {g['done']} 家，逾期 {g['overdue']} 家" for g in data["groups"])
    out = [f"<h1>{escape(data['title'])}</h1>",
           f"<p class=\"meta\">统计日期：{escape(data['as_of'])}　对标规章制度模板 {data['template_rule_count']} 个"
           f"（已导入 {data['templates_loaded']} 个）</p>",
           f"<p>{escape(groups)}</p>",
           *[f"<p>提示：{escape(w)}</p>" for w in data["warnings"]],
           "<h2>一、按行业汇总</h2>", _table(SECTOR_COLUMNS, data["sectors"]),
           "<h2>二、各企业情况</h2>", _table(PRINTED_COLUMNS, data["enterprises"])]
    return "\n".join(out)
