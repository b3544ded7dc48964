"""The major accident hazard ledger (重大事故隐患台账) of the action, as a workbook.

The plan asks enterprises to "建立重大事故隐患台账清单，实行闭环管理" and the sections to
"建立重大事故隐患数据台账，完善重大事故隐患整治督办制度，强化隐患整改闭环管理"; a hazard that
takes time to fix must have "责任人、措施、资金、期限和应急预案" (五落实). The ledger lists
every major hazard of the campaign, oldest first: the enterprise, what was found, the
criterion it meets, when and by whom it was found, the five in place, its state and the day
it was closed (验收销号), with the counts below. ``office`` narrows it to the enterprises of
one section (科室).
"""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from anjian.plugin_api import SOURCES, STATES, ReportKind, context, local_now
from anjian_tianjin_hebei.campaign import PLUGIN
from anjian_tianjin_hebei.dispatch import OFFICE_FIELD, SECTOR_FIELD, _campaign, date_cn, refuse

LEDGER_KEY = "hebei_major_hazard_ledger_2023"
TITLE = "河北区商务领域重大事故隐患台账"
CRITERION_PREFIX = "检查依据/要求："
HEADERS = [("序号", 5), ("企业名称", 24), ("行业领域", 11), ("隐患描述（发现的问题）", 30),
           ("判定依据", 32), ("发现日期", 11), ("发现方式", 9), ("整改责任人", 10),
           ("整改措施", 24), ("整改资金（元）", 11), ("整改期限", 11), ("应急预案（临时措施）", 20),
           ("状态", 12), ("验收销号日期", 12)]
OFFICE_HEADER = ("负责科室", 10)


class LedgerParams(Schema):
    campaign_id = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "title": "专项行动", "description": "默认本单位最近启动的“重大事故隐患排查整治2023专项行动”"})
    office = fields.String(validate=validate.Length(min=1, max=50), metadata={
        "title": "科室", "description": "只列该科室负责企业的隐患；默认全部"})


def criterion(hazard) -> str:
    """What the hazard meets: its recorded criterion, or the requirement of the checklist
    item it was raised from (the description's "检查依据/要求：" line)."""
    recorded = (getattr(hazard, "grade_criterion", "") or "").strip()
    if recorded:
        return recorded
    for line in (hazard.description or "").splitlines():
        if line.startswith(CRITERION_PREFIX):
            return line[len(CRITERION_PREFIX):].strip()
    return ""


def _day(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return local_now(value).date().isoformat()
    return value.isoformat()


def compute(tenant, params: dict, snapshot_at: dt.datetime | None = None) -> dict:
    settings = tenant.settings[PLUGIN]
    offices = list(settings.get("offices") or ())
    office = params.get("office")
    if office is not None and office not in offices:
        refuse(f"本单位没有该科室：{office}")
    reads = context(tenant)
    campaign = _campaign(tenant, params, None)
    hazards = [h for h in reads.hazards(campaign_id=campaign.id, by_found_on=True)
               if h.grade == "major"]
    office_of: dict[int, str] = {}
    if offices:
        for name, ids in reads.enterprise_ids_by_field(OFFICE_FIELD).items():
            office_of.update(dict.fromkeys(ids, name))
    if office is not None:
        hazards = [h for h in hazards if office_of.get(h.enterprise_id) == office]
    ids = {h.enterprise_id for h in hazards}
    firms = reads.enterprises(ids)
    for missing in ids - set(firms):  # deleted since: still on the ledger, by name
        firm = reads.enterprise(missing)
        if firm is not None:
            firms[missing] = firm
    rows = []
    for n, hazard in enumerate(hazards, start=1):
        firm = firms.get(hazard.enterprise_id)
        extra = (getattr(firm, "extra", None) or {}) if firm is not None else {}
        rows.append({
            "number": n, "hazard_id": hazard.id,
            "enterprise_name": firm.name if firm is not None else "",
            "sector": extra.get(SECTOR_FIELD) or "", "office": office_of.get(hazard.enterprise_id, ""),
            "title": hazard.title, "criterion": criterion(hazard),
            "found_on": _day(hazard.found_on), "source": SOURCES.get(hazard.source, hazard.source),
            "responsible_person": hazard.responsible_person or "", "measures": hazard.measures or "",
            "funds": float(hazard.funds) if hazard.funds is not None else None,
            "deadline": _day(hazard.deadline), "contingency_plan": hazard.contingency_plan or "",
            "state": hazard.state, "state_label": STATES.get(hazard.state, hazard.state),
            "verified_on": _day(hazard.verified_at) if hazard.state == "verified" else None})
    today = local_now(snapshot_at).date()
    summary = {"total": len(rows), "verified": sum(r["state"] == "verified" for r in rows),
               "overdue": sum(r["state"] == "overdue" for r in rows),
               "referred": sum(r["state"] == "referred" for r in rows)}
    summary["open"] = summary["total"] - summary["verified"]
    return {"kind": LEDGER_KEY, "title": f"{TITLE}（截至{date_cn(today)}）",
            "unit": office or tenant.name, "office": office, "with_offices": bool(offices),
            "campaign": {"id": campaign.id, "title": campaign.title}, "as_of": today.isoformat(),
            "rows": rows, "summary": summary}


def summary_line(data: dict) -> str:
    s = data["summary"]
    return (f"共 {s['total']} 项：已验收销号 {s['verified']} 项，未销号 {s['open']} 项"
            f"（其中逾期未整改 {s['overdue']} 项，已移交执法 {s['referred']} 项）。")


def xlsx(data: dict, workbook) -> None:
    """The ledger as one sheet: title, unit and date, the headers, a row per hazard, the
    counts; A4 landscape, one page wide."""
    headers = list(HEADERS)
    if data.get("with_offices"):
        headers.insert(3, OFFICE_HEADER)
    last = len(headers) - 1
    sheet = workbook.add_worksheet("重大事故隐患台账")
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "text_wrap": True}
    title = workbook.add_format({**base, "font_size": 16, "bold": True, "align": "center"})
    plain = workbook.add_format({**base, "align": "left"})
    head = workbook.add_format({**base, "bold": True, "align": "center", "border": 1,
                                "bg_color": "#DDEBF7"})
    cell = workbook.add_format({**base, "border": 1})
    centre = workbook.add_format({**base, "border": 1, "align": "center"})
    money = workbook.add_format({**base, "border": 1, "num_format": "#,##0.00"})
    sheet.set_row(0, 30)
    sheet.merge_range(0, 0, 0, last, data["title"], title)
    sheet.merge_range(1, 0, 1, last, f"单位：{data['unit']}　　专项行动：{data['campaign']['title']}"
                                     f"　　截至：{date_cn(data['as_of'])}", plain)
    for col, (label, width) in enumerate(headers):
        sheet.set_column(col, col, width)
        sheet.write_string(2, col, label, head)
    keys = ["number", "enterprise_name", "sector", "title", "criterion", "found_on", "source",
            "responsible_person", "measures", "funds", "deadline", "contingency_plan",
            "state_label", "verified_on"]
    if data.get("with_offices"):
        keys.insert(3, "office")
    for r, row in enumerate(data["rows"], start=3):
        for col, key in enumerate(keys):
            value = row[key]
            if value is None or value == "":
                sheet.write_blank(r, col, None, cell)
            elif key == "funds":
                sheet.write_number(r, col, value, money)
            elif key == "number":
                sheet.write_number(r, col, value, centre)
            elif key in ("found_on", "deadline", "verified_on"):
                sheet.write_string(r, col, value, centre)
            else:
                sheet.write_string(r, col, str(value), cell)
    end = len(data["rows"]) + 3
    sheet.merge_range(end, 0, end, last, summary_line(data), plain)
    sheet.freeze_panes(3, 0)
    sheet.repeat_rows(2)
    sheet.set_paper(9)
    sheet.set_landscape()
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    sheet.fit_to_pages(1, 0)
    sheet.set_footer("&C第 &P 页，共 &N 页")


REPORT_KIND = ReportKind(
    key=LEDGER_KEY,
    title=TITLE,
    description="专项行动的全部重大事故隐患：发现的问题、判定依据、五落实、整改状态和销号日期（闭环管理）",
    formats=("xlsx", "json"),
    parameters=LedgerParams,
    compute=compute,
    xlsx=xlsx,
)
