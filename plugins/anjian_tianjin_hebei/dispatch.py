"""The weekly dispatch table (调度表): "河北区重大事故隐患专项排查整治2023行动进展情况调度表".

The annex of the plan: four sections, 31 rows, every figure cumulative "自专项行动开展以来"
up to the end of the chosen week (Monday–Sunday, Asia/Shanghai), reported every Monday
before noon. Figures the platform holds are computed from live data of the campaign:

* (一) major hazards (重大事故隐患) of the campaign found up to the week's end, by who found
  them — the enterprise itself (source ``self``) or a department (``department``,
  ``spot_check``, and ``service_org``: a service organisation inspects on the
  department's behalf) — and of those the ones fixed: verified (验收销号) before the
  week's end;
* (二) the spot checks (inspections of inspector kind ``spot_check`` submitted in the
  campaign): the enterprises checked, and for each failing the enterprises with a "no"
  on one of its items of the spot-check template (``checklists.FAILING_OF_CODE``);
* (三) from enforcement referrals decided before the week's end: administrative
  penalties (times, and the sum of the fines in 10,000 yuan), transfers to the
  judiciary (one person per transfer decision), suspensions (enterprises); and the
  department's guidance visits to key enterprises: submitted department inspections of
  enterprises whose sector (``hebei_sector``) is one of the tenant's focus sectors.

Staff enter the rest per week (the core's entered figures, kept per week and audited):
flows are summed over the campaign's weeks; a stock (technical inspectors) is the latest
value entered; so is the yes/no of the media column. What they enter is checked as an
office fills the form: counts (people, times, enterprises) are whole numbers, the media
column takes only 是 or 否, a 其中 never exceeds its total (published cases, rewards), and
only weeks of the campaign that have begun take figures (``figures_check``).

Amounts are shown as an office writes them, in 10,000 yuan to two decimals (2.35万元,
not 2.35005万元). The table's 截至 is the last day its data covers (the week's Sunday, or
today for the week under way), its 时间 the day it is due (the dispatch weekday after the
week; today when that is still to come). The schedule follows the tenant's dispatch
weekday: it runs daily at 09:00 and makes the table only on that weekday.

Where the tenant has sections (科室, the setting ``offices``; an enterprise's section is
its plugin field ``hebei_office``), the report holds the bureau's table and one table per
section (``by_office``), each with the platform's figures of the section's enterprises
and the figures the section entered itself (``figure_offices``: each section enters its
own, "请科室……上报"); the bureau's table adds up its own entries and all its sections'
(a yes/no: 是 when any says so). ``office`` asks for one section's table alone.

``compute`` reads everything in a fixed number of statements whatever the number of
rows: the campaign, then six aggregates (hazards; inspections; spot-check failings;
referrals; entered sums; latest entered values); with sections, one more statement (the
enterprises by section) and four aggregates per section.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import NoReturn

from marshmallow import Schema, ValidationError, fields, validate, validates

from anjian.plugin_api import (
    CHINA,
    EnteredFigure,
    InspectionCount,
    JobError,
    ReportKind,
    ReportSchedule,
    context,
    local_now,
    local_today,
)
from anjian_tianjin_hebei.campaign import CAMPAIGN_KEY, PLUGIN
from anjian_tianjin_hebei.checklists import FAILING_OF_CODE, FAILINGS, SPOT_CHECK_TEMPLATE

DISPATCH_KEY = "hebei_dispatch_2023"
TITLE = "河北区重大事故隐患专项排查整治2023行动进展情况调度表"
SECTOR_FIELD = "hebei_sector"
OFFICE_FIELD = "hebei_office"

DEPARTMENT_SOURCES = ("department", "spot_check", "service_org")
WAN = decimal.Decimal(10000)


# The schedule: at 09:00 Asia/Shanghai on the tenant's dispatch weekday (Monday by default),
# before the noon deadline ("于每周一中午前上报"); a tenant's own deadline must fall after it
# (settings). The cron runs daily; ``scheduled_params`` makes the table on that weekday only.
SCHEDULE_CRON = "0 9 * * *"
SCHEDULE_TIME = "09:00"
CENT = decimal.Decimal("0.01")


def refuse(message: str) -> NoReturn:
    """The table cannot be made for these parameters: the report fails with this Chinese
    message (the plugin API's ``JobError``)."""
    raise JobError(message, f"dispatch table refused: {message}")


class DispatchParams(Schema):
    """What a request (or the Monday schedule) asks for: a week, and a campaign."""

    week = fields.Date(metadata={
        "title": "统计周", "description": "该周内任一日期（周一至周日）；默认上一个完整的周，"
                                         "且不晚于专项行动结束所在的周"})
    campaign_id = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "title": "专项行动", "description": "默认本单位最近启动的“重大事故隐患排查整治2023专项行动”"})
    office = fields.String(validate=validate.Length(min=1, max=50), metadata={
        "title": "科室", "description": "只生成该科室的调度表；默认生成全局汇总表，设有科室的单位另附"
                                       "每个科室一张"})

    @validates("week")
    def _not_in_the_future(self, value, **_kwargs):
        if value > local_today():
            raise ValidationError("不能生成未来周的调度表")

    @validates("campaign_id")
    def _campaign_of_this_kind(self, value, **_kwargs):
        campaign = context().campaign(value)  # the tenant scope: a foreign id is absent
        if campaign is None or campaign.kind != CAMPAIGN_KEY:
            raise ValidationError("专项行动不存在或不是重大事故隐患排查整治2023专项行动")


@dataclass(frozen=True)
class Value:
    key: str
    unit: str
    entered: bool = False
    # Entered figures: "sum" over the weeks (flows), "latest" value entered (a stock),
    # "flag" (是/否: the latest answer entered).
    aggregate: str = "sum"
    part_of: str | None = None  # 其中: the figure it never exceeds

    @property
    def kind(self) -> str:
        """What staff may enter (the core's figure kinds): 是/否, an amount, or a count."""
        if self.aggregate == "flag":
            return "yes_no"
        return "amount" if self.unit == "万元" else "count"


@dataclass(frozen=True)
class Row:
    number: int
    label: str
    values: tuple[Value, ...]

    @property
    def key(self) -> str:
        return self.values[0].key

    @property
    def entered(self) -> bool:
        return all(v.entered for v in self.values)


def _computed(number, key, label, unit):
    return Row(number, label, (Value(key, unit),))


def _entered(number, key, label, unit, aggregate="sum"):
    return Row(number, label, (Value(key, unit, True, aggregate),))


SECTIONS = [
    ("overall", "（一）", "总体情况", [
        _computed(1, "self_found", "企业自查发现的重大事故隐患（个）", "个"),
        _computed(2, "self_fixed", "企业自查发现重大事故隐患中已完成整改的（个）", "个"),
        _computed(3, "department_found", "部门检查发现的重大事故隐患（个）（行业主管部门填写）", "个"),
        _computed(4, "department_fixed",
                  "部门检查发现重大事故隐患中已完成整改的（个）（行业主管部门填写）", "个"),
    ]),
    ("spot_checks", "（二）", "对企业自查自改进行抽查检查情况", [
        _computed(1, "spot_checked", "抽查检查的企业总数（家）", "家"),
        *[_computed(number, key, label, "家") for number, (key, label) in FAILINGS.items()],
    ]),
    ("enforcement", "（三）", "区级部门精准严格执法情况（执法部门填写）", [
        _entered(1, "guided_streets", "帮扶指导重点街道（个次）", "个次"),
        _computed(2, "guided_enterprises", "帮扶指导重点企业（家次）", "家次"),
        Row(3, "行政处罚（次，万元）", (Value("penalties", "次"), Value("penalty_amount", "万元"))),
        _entered(4, "double_penalties", "企业和企业主要负责人“一案双罚”（次）", "次"),
        _computed(5, "judiciary_transfers", "移送司法机关（人）", "人"),
        _computed(6, "suspensions", "责令停产整顿（家）", "家"),
        _entered(7, "exposed_enterprises", "曝光、约谈、联合惩戒企业（家）", "家"),
        Row(8, "公布典型执法案例（个），其中危险作业罪案例（个）",
            (Value("cases_published", "个", True),
             Value("dangerous_work_cases", "个", True, part_of="cases_published"))),
        _entered(9, "accountability", "责任倒查追责问责（人）", "人"),
        _entered(10, "interviews", "约谈通报街道及部门（次）", "次"),
    ]),
    ("leadership", "（四）", "区级部门、各街道组织领导情况", [
        _entered(1, "study_sessions", "组织专题学习安全生产十五条硬措施（次）", "次"),
        _entered(2, "leadership_studies", "党政主要负责同志专题研究（次）", "次"),
        _entered(3, "onsite_supervision", "有关负责同志现场督导检查（次）", "次"),
        _entered(4, "enterprise_briefings", "有关负责同志到企业宣讲（次）", "次"),
        Row(5, "举报奖励（万元），其中匿名举报查实奖励（万元）",
            (Value("report_rewards", "万元", True),
             Value("anonymous_rewards", "万元", True, part_of="report_rewards"))),
        _entered(6, "media_column", "是否依托媒体设置并播放安全生产专题栏目", "是/否", "flag"),
        _entered(7, "technical_inspectors", "配备专兼职技术检查员数量（人）", "人", "latest"),
        _entered(8, "supervision_checks", "组织开展督导检查（次）", "次"),
    ]),
]

VALUES = {v.key: v for _k, _n, _t, rows in SECTIONS for row in rows for v in row.values}
ENTERED = {key: v for key, v in VALUES.items() if v.entered}
# What staff see when entering: a one-figure row's own label, except where the entry needs
# saying more; a two-figure row's figures each get their own.
ENTERED_LABELS = {
    **{row.key: row.label for _k, _n, _t, rows in SECTIONS for row in rows
       if row.entered and len(row.values) == 1},
    "cases_published": "公布典型执法案例（个）",
    "dangerous_work_cases": "其中危险作业罪案例（个）",
    "report_rewards": "举报奖励（万元）",
    "anonymous_rewards": "其中匿名举报查实奖励（万元）",
    "media_column": "是否依托媒体设置并播放安全生产专题栏目（填“是”或“否”）",
    "technical_inspectors": "配备专兼职技术检查员数量（人，填当周实有数）",
}
assert set(ENTERED_LABELS) == set(ENTERED)

NOTES = [
    "备注：1.区安委会办公室持续对工作进展情况进行调度，调度表自5月25日开始上报，"
    "每周一上报自专项行动开展以来累计数据。（政务邮箱：hbqanwb@tj.gov.cn）",
    "2.调度表内容应围绕排查整治工作并对照方案具体要求如实填报，特别是对企业自查情况进行抽查检查时，"
    "要深挖细查，查出真问题。如：电焊等人员无证上岗作业，既要通过现场检查发现问题，"
    "也要通过对企业动火等特种作业存单进行检查核实来发现问题；外包外租管理混乱，是指符合以下情形之一的："
    "承包承租方不具备安全生产条件、未取得相应资质，双方未签订安全生产协议，安全生产管理职责不清，"
    "未纳入本企业统一管理。",
]


# --- weeks -----------------------------------------------------------------------------------

def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The Monday and the Sunday of ``day``'s week."""
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=6)


def week_cutoff(week_end: dt.date) -> dt.datetime:
    """The end of the week's Sunday in China, as an aware datetime."""
    return dt.datetime.combine(week_end + dt.timedelta(days=1), dt.time(), CHINA)


def report_date(week_start: dt.date, settings: dict) -> dt.date:
    """The day the week's table is due: the next dispatch weekday after the week."""
    return week_start + dt.timedelta(days=7 + settings["dispatch_weekday"] - 1)


def scheduled_params(tenant, slot: dt.datetime) -> dict | None:
    """The schedule's parameters on the tenant's dispatch weekday: the last full week
    before the slot (Shanghai).

    On another weekday, or outside the reporting period (from the first dispatch date to
    the week after the campaign's end), there is no table to make: None, and the core
    skips the slot."""
    settings = tenant.settings[PLUGIN]
    day = local_now(slot).date()
    if day.isoweekday() != settings["dispatch_weekday"]:
        return None
    last = week_of(settings["campaign_end"])[0] + dt.timedelta(days=7 + 6)
    if not settings["dispatch_first_date"] <= day <= last:
        return None
    return {"week": (week_of(day)[0] - dt.timedelta(days=7)).isoformat()}


def campaign_span(campaign, settings: dict) -> tuple[dt.date, dt.date]:
    """The campaign's first and last day (the tenant's settings where it gives none)."""
    start = getattr(campaign, "starts_on", None) or settings["campaign_start"]
    end = getattr(campaign, "ends_on", None) or settings["campaign_end"]
    return start, end


def figure_offices(tenant) -> list[str]:
    """The sections that enter their own figures: the tenant's ``offices`` ("请科室……上报")."""
    return list(tenant.settings[PLUGIN].get("offices") or ())


def figures_check(tenant, period: dt.date, values: dict) -> dict:
    """The kind's own rule on entered figures (the core checks kinds, parts and future
    weeks): only a week of the campaign takes figures (the latest campaign of this kind
    started by the week's end, else the tenant's campaign dates)."""
    settings = tenant.settings[PLUGIN]
    start, end = week_of(period)
    campaign = context(tenant).latest_campaign(CAMPAIGN_KEY, statuses=("active", "closed"),
                                               started_by=end)
    first, last = campaign_span(campaign, settings)
    if end < first or start > last:
        return {"period": f"该周不在专项行动期间（{date_cn(first)}至{date_cn(last)}），不能填报"}
    return {}


def date_cn(day: dt.date | str) -> str:
    """``2023年5月1日`` (a date, or an ISO date string as in the table's JSON)."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return f"{day.year}年{day.month}月{day.day}日"


def _as_date(value, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return local_now(value).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        refuse(f"{field} 须为日期（YYYY-MM-DD）")


# --- compute ---------------------------------------------------------------------------------

def _campaign(tenant, params: dict, week: dt.date | None):
    reads = context(tenant)
    campaign_id = params.get("campaign_id")
    if campaign_id is not None:
        campaign = reads.campaign(int(campaign_id))  # scoped: foreign is absent
        if campaign is None or campaign.kind != CAMPAIGN_KEY:
            refuse(f"专项行动不存在或不是本调度表所属的专项行动: {campaign_id}")
        return campaign
    campaign = reads.latest_campaign(CAMPAIGN_KEY, statuses=("active", "closed"),
                                     started_by=week_of(week)[1] if week is not None else None)
    if campaign is None:
        refuse("本单位尚无已启动的“重大事故隐患排查整治2023专项行动”")
    return campaign


def _number(value):
    """An int when whole, else a float (JSON)."""
    if value is None:
        return 0
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _wan(yuan) -> float | int:
    """Yuan as 10,000 yuan (万元) as an office writes them: to two decimals (23,500.50 yuan
    is 2.35万元, not 2.35005万元), half up."""
    if yuan is None:
        return 0
    return _number((decimal.Decimal(yuan) / WAN).quantize(CENT, decimal.ROUND_HALF_UP).normalize())


def figures(reads, campaign, settings: dict, week_start: dt.date, week_end: dt.date,
            cutoff: dt.datetime, enterprise_ids: list[int] | None = None,
            office: str | None = None) -> dict:
    """Every figure of the table, by value key: six aggregate reads of the plugin API. A
    section's table (``office``, ``enterprise_ids`` its enterprises) counts its enterprises
    and reads the figures the section entered; the bureau's counts every enterprise and
    reads the figures entered by the bureau and by its sections, added up."""
    out: dict = {}
    of = {} if enterprise_ids is None else {"enterprise_ids": enterprise_ids}

    # (一) major hazards of the campaign, by finder; fixed = verified before the cutoff.
    by_source = reads.hazard_tally(campaign_id=campaign.id, grade="major", found_until=week_end,
                                   verified_before=cutoff, **of)
    department = [by_source.get(source, (0, 0)) for source in DEPARTMENT_SOURCES]
    out["self_found"], out["self_fixed"] = by_source.get("self", (0, 0))
    out["department_found"] = sum(found for found, _ in department)
    out["department_fixed"] = sum(fixed for _, fixed in department)

    # (二) row 1 and (三) row 2: submitted inspections of the campaign before the cutoff.
    out.update(reads.count_inspections(campaign_id=campaign.id, submitted_before=cutoff, counts={
        "spot_checked": InspectionCount("spot_check", distinct_enterprises=True),
        "guided_enterprises": InspectionCount(
            "department", enterprise_field=(SECTOR_FIELD, settings["focus_sectors"])),
    }, **of))

    # (二) rows 2-9: enterprises with a "no" on a failing's item in a spot check.
    counted = dict.fromkeys(FAILINGS, 0)
    counted.update(reads.answer_tally(
        campaign_id=campaign.id, template_key=SPOT_CHECK_TEMPLATE, groups=FAILING_OF_CODE,
        answer="no", inspector_kind="spot_check", submitted_before=cutoff, **of))
    for number, (key, _label) in FAILINGS.items():
        out[key] = counted[number]

    # (三) enforcement decisions of the campaign's referrals before the cutoff.
    decided = reads.referral_tally(campaign_id=campaign.id, decided_before=cutoff, **of)
    out["penalties"] = decided["penalties"]
    out["judiciary_transfers"] = decided["transfers"]
    out["suspensions"] = decided["suspended_enterprises"]
    out["penalty_amount"] = _wan(decided["penalty_amount"])

    # Entered figures of the campaign's weeks up to this one: sums (flows), and the latest
    # value entered (a stock, or the yes/no of the media column: 是 when any says so).
    first_week = week_of(campaign.starts_on or settings["campaign_start"])[0]
    totals = reads.entered_totals(DISPATCH_KEY, since=first_week, until=week_start,
                                  office=office)
    latest = reads.entered_latest(DISPATCH_KEY,
                            [key for key, value in ENTERED.items() if value.aggregate != "sum"],
                            since=first_week, until=week_start, office=office)
    for key, value in ENTERED.items():
        if value.aggregate == "flag":
            out[key] = bool(latest.get(key))
        elif value.aggregate == "latest":
            out[key] = _number(latest.get(key))
        else:
            out[key] = _number(decimal.Decimal(totals.get(key, 0)).normalize())
    return {key: _number(v) for key, v in out.items()}


def _table(values: dict) -> list[dict]:
    """The form's four parts, row by row, with one table's ``values``."""
    sections = []
    for key, number, title, rows in SECTIONS:
        sections.append({"key": key, "number": number, "title": title, "rows": [
            {"key": row.key, "number": row.number, "label": row.label,
             "source": "entered" if row.entered else "computed",
             "values": [{"key": v.key, "unit": v.unit, "value": values[v.key]}
                        for v in row.values],
             "text": cell_text(row, values)}
            for row in rows]})
    return sections


def compute(tenant, params: dict, snapshot_at: dt.datetime | None = None) -> dict:
    """The table as JSON: sections → rows → values, for one week of one campaign.

    ``params``: ``week`` (any date in it; default the last full week, and never past the
    campaign's end), ``campaign_id`` (default the tenant's latest started campaign of
    this plugin's kind) and ``office`` (one section's table only). Runs under the
    tenant's scope. Where the tenant has sections and none is asked for, ``by_office``
    holds one table per section after the bureau's (``unit``, ``office``, ``sections``,
    ``figures`` each).
    """
    settings = tenant.settings[PLUGIN]
    offices = list(settings.get("offices") or ())
    office = params.get("office")
    if office is not None and office not in offices:
        refuse(f"本单位没有该科室：{office}")
    now = local_now(snapshot_at)
    today = now.date()
    week = _as_date(params.get("week"), "week")
    if week is not None and week > today:
        refuse("不能生成未来周的调度表")
    campaign = _campaign(tenant, params, week)
    if week is None:
        week = week_of(today)[0] - dt.timedelta(days=7)
        if campaign.ends_on is not None:
            week = min(week, campaign.ends_on)
    week_start, week_end = week_of(week)
    cutoff = min(week_cutoff(week_end), now)
    # The table's dates follow its data: 截至 the last day the data covers (the Sunday, or
    # today for the week under way), 时间 the day the week's table is due (today when that
    # day is still to come: a table made early is dated the day it is made).
    through = local_now(cutoff).date() if cutoff < week_cutoff(week_end) else week_end
    due = report_date(week_start, settings)
    reads = context(tenant)
    by_office = reads.enterprise_ids_by_field(OFFICE_FIELD) if offices else {}
    units = [office] if office is not None else [None, *offices]
    tables = []
    for unit in units:
        ids = None if unit is None else by_office.get(unit, [])
        values = figures(reads, campaign, settings, week_start, week_end, cutoff, ids, unit)
        tables.append({"unit": unit or tenant.name, "office": unit, "sections": _table(values),
                       "figures": values})
    main, *per_office = tables
    return {
        "kind": DISPATCH_KEY, "title": f"{TITLE}（截至{date_cn(through)}）",
        "unit": main["unit"], "office": main["office"],
        "campaign": {"id": campaign.id, "title": campaign.title,
                     "starts_on": _iso(campaign.starts_on), "ends_on": _iso(campaign.ends_on)},
        "week": {"start": week_start.isoformat(), "end": week_end.isoformat()},
        "through": through.isoformat(),
        "report_date": min(due, today).isoformat(),
        "as_of": local_now(cutoff).isoformat(timespec="minutes"),
        "sections": main["sections"],
        "figures": main["figures"],
        "by_office": per_office,
    }


def _iso(day):
    return day.isoformat() if day is not None else None


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:f}".rstrip("0").rstrip(".")
    return str(value)


def cell_text(row: Row, values: dict) -> str:
    """The one cell of the form: "3", or "2次，1.5万元" for a row with two figures."""
    if len(row.values) == 1:
        return _plain(values[row.values[0].key])
    first, second = row.values
    if values[first.key] is None:
        return ""
    if row.number == 3:  # 行政处罚（次，万元）
        return f"{_plain(values[first.key])}次，{_plain(values[second.key])}万元"
    return f"{_plain(values[first.key])}{first.unit}，其中{_plain(values[second.key])}{second.unit}"


# The report kind (``register_report_kinds``).
REPORT_KIND = ReportKind(
    key=DISPATCH_KEY,
    title=TITLE,
    description="每周一中午前上报自专项行动开展以来的累计数据（附件调度表）；"
                "平台已有的数据自动统计，其余由工作人员按周填报",
    formats=("xlsx", "pdf", "json"),
    parameters=DispatchParams,
    compute=compute,
    xlsx="anjian_tianjin_hebei.form:write",
    html="anjian_tianjin_hebei.form:html",
    entered_figures=tuple(EnteredFigure(key=key, label=ENTERED_LABELS[key], kind=value.kind,
                                        unit=value.unit, part_of=value.part_of)
                          for key, value in ENTERED.items()),
    figures_period="week",
    figures_check=figures_check,
    figure_offices=figure_offices,
    schedule=ReportSchedule(cron=SCHEDULE_CRON, params=scheduled_params, format="xlsx",
                            title="每周上报调度表（上周累计数据，本单位设定的上报日）"),
)
