"""The core's report kind ``campaign_progress`` (专项行动进度报表): a campaign's targets,
inspected targets, hazards by grade and state, overdue hazards and tasks, as .xlsx,
PDF or JSON. Registered from ``anjian.plugins.defaults`` exactly as a plugin
registers its kinds (a ``ReportKind`` naming this module's functions by path); the
figures are ``campaigns.service.campaign_progress`` (one aggregate statement)."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma

from anjian.campaigns.models import CAMPAIGN_STATUSES, Campaign
from anjian.campaigns.service import campaign_progress
from anjian.clock import local_now
from anjian.context import Context
from anjian.extensions import db
from anjian.hazards.models import GRADES, STATES
from anjian.jobs.service import JobError
from anjian.reports.pdf import escape, table

SUMMARY = [("targets", "目标企业数"), ("inspected", "已检查企业数"), ("hazards_total", "隐患总数"),
           ("overdue_hazards", "逾期隐患数"), ("overdue_tasks", "逾期任务数")]


class CampaignProgressParams(ma.Schema):
    campaign_id = ma.fields.Integer(required=True, strict=True,
                                    metadata={"title": "专项行动", "description": "专项行动编号"})
    on = ma.fields.Date(metadata={"title": "统计日期",
                                  "description": "判断逾期的日期（默认为生成当天，北京时间）"})

    @ma.validates("campaign_id")
    def _campaign_exists(self, value, **_kwargs):
        if db.session.get(Campaign, value) is None:  # the tenant scope makes foreign ids absent
            raise ma.ValidationError("专项行动不存在")


def compute(tenant, params, snapshot_at):
    """The kind's figures, computed as the system for ``tenant`` (a TenantInfo: the report
    kinds' contract, the same for the core's kind as for a plugin's)."""
    campaign = db.session.get(Campaign, params["campaign_id"])
    if campaign is None:
        raise JobError("专项行动不存在（可能已被删除）", f"campaign {params['campaign_id']} not found")
    on = params.get("on") or local_now(snapshot_at).date()
    progress = campaign_progress(Context.for_system(tenant), campaign.id, on)
    return {
        "title": f"{campaign.title}进度报表",
        "tenant": tenant.name,
        "campaign": {"id": campaign.id, "title": campaign.title, "status": campaign.status,
                     "status_label": CAMPAIGN_STATUSES.get(campaign.status),
                     "starts_on": campaign.starts_on, "ends_on": campaign.ends_on},
        "on": on,
        "snapshot_at": snapshot_at,
        "targets": progress["targets"],
        "inspected": progress["inspected"],
        "hazards_total": progress["hazards"]["total"],
        "hazards": progress["hazards"]["by_grade_state"],
        "overdue_hazards": progress["overdue"]["hazards"],
        "overdue_tasks": progress["overdue"]["tasks"],
        "grades": dict(GRADES),
        "states": dict(STATES),
    }


def _local(iso: str) -> str:
    return local_now(dt.datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")


def _meta(data) -> str:
    return (f"单位：{data['tenant']}　　统计日期：{data['on']}　　"
            f"数据时间：{_local(data['snapshot_at'])}（北京时间）")


def _grade_rows(data):
    """[label, count per state ..., total] per grade, then the totals row."""
    states = list(data["states"])
    rows, totals = [], [0] * (len(states) + 1)
    for grade, label in data["grades"].items():
        counts = [data["hazards"].get(grade, {}).get(state, 0) for state in states]
        row = [*counts, sum(counts)]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        rows.append([label, *row])
    rows.append(["合计", *totals])
    return rows


def xlsx(data, workbook):
    """One sheet in the layout of a printed progress table (A4 landscape, one page wide)."""
    states = list(data["states"].values())
    width = len(states) + 2  # label, states, total
    sheet = workbook.add_worksheet("专项行动进度")
    title = workbook.add_format({"bold": True, "font_size": 16, "align": "center",
                                 "valign": "vcenter"})
    meta = workbook.add_format({"align": "left", "valign": "vcenter", "font_size": 10})
    section = workbook.add_format({"bold": True, "font_size": 11})
    head = workbook.add_format({"bold": True, "border": 1, "align": "center",
                                "valign": "vcenter", "text_wrap": True, "bg_color": "#DDEBF7"})
    cell = workbook.add_format({"border": 1, "align": "center", "valign": "vcenter"})
    label = workbook.add_format({"border": 1, "bold": True, "valign": "vcenter"})

    sheet.set_column(0, 0, 16)
    sheet.set_column(1, width - 1, 13)
    sheet.set_row(0, 30)
    sheet.merge_range(0, 0, 0, width - 1, data["title"], title)
    sheet.merge_range(1, 0, 1, width - 1, _meta(data), meta)

    sheet.write_string(3, 0, "一、总体情况", section)
    for col, (key, text) in enumerate(SUMMARY):
        sheet.write_string(4, col, text, head)
        sheet.write_number(5, col, data[key], cell)

    sheet.write_string(7, 0, "二、隐患按等级和状态", section)
    sheet.set_row(8, 30)
    for col, text in enumerate(["隐患等级", *states, "合计"]):
        sheet.write_string(8, col, text, head)
    for n, row in enumerate(_grade_rows(data)):
        sheet.write_string(9 + n, 0, row[0], label)
        for col, value in enumerate(row[1:], 1):
            sheet.write_number(9 + n, col, value, cell)

    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    sheet.center_horizontally()
    sheet.fit_to_pages(1, 0)
    sheet.print_area(0, 0, 9 + len(data["grades"]), width - 1)
    sheet.set_footer("&C第 &P 页，共 &N 页")


def html(data):
    states = list(data["states"].values())
    return "".join([
        f"<h1>{escape(data['title'])}</h1>",
        f"<p class=\"meta\">{escape(_meta(data))}</p>",
        "<h2>一、总体情况</h2>",
        table([text for _key, text in SUMMARY], [[data[key] for key, _text in SUMMARY]],
              numeric_from=0),
        "<h2>二、隐患按等级和状态</h2>",
        table(["隐患等级", *states, "合计"], _grade_rows(data), numeric_from=1),
    ])
