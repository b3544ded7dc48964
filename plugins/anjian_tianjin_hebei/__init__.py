"""Tianjin Hebei District commerce bureau: major accident hazards special action 2023.

Seed 002, "河北区商务局重大事故隐患排查整治2023专项行动方案" (dated 22 May 2023).
河北区 is a district of Tianjin, not Hebei province. The commerce bureau (商务局)
runs a special action on major accident hazards (重大事故隐患) in commerce: large
supermarkets (大型商超), standard vegetable markets (标准化菜市场), non-star
hotels (非星级酒店) and commercial complexes (商业综合体): fire safety, hot work
(动火作业) by tenants' decorators, gas alarms (燃气报警器).

Enterprises keep a major hazard ledger in closed loop; the principal leads an
inspection at least quarterly (monthly in high-risk sectors: construction,
storage and sale of dangerous goods) and at least one drill (quarterly in
high-risk sectors, which for drills also include road transport). Four phases:
mobilisation (May), self-inspection (June), supervision (July-November),
summary (December). From 25 May, every Monday before noon, each section reports
the cumulative dispatch table (调度表; ``dispatch``, as xlsx, PDF and JSON, one table
per section where the tenant has sections); the stage report is due by 29 July and
the final summary by 28 November. The major hazard ledger (台账) is a report of its
own (``ledger``).
"""

import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from anjian.plugin_api import hookimpl
from anjian_tianjin_hebei import checklists, dispatch, ledger
from anjian_tianjin_hebei.campaign import (
    CAMPAIGN_KEY,
    FOCUS_SECTORS,
    HIGH_RISK_DRILL_SECTORS,
    HIGH_RISK_SECTORS,
    KIND,
    PLUGIN,
    milestones,
)

# The plugin contract this plugin is written for (anjian.plugin_api.CONTRACT_VERSION).
PLUGIN_CONTRACT = 1

__all__ = ["CAMPAIGN_KEY", "PLUGIN", "TianjinHebeiSettings"]

_time = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="时间格式应为 HH:MM")
# Other sectors an enterprise may be filed under besides the configured ones.
OTHER_SECTORS = ("规上工业企业", "其他")


class TianjinHebeiSettings(Schema):
    """Tenant settings of the Hebei District commerce bureau's 2023 action."""

    focus_sectors = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=lambda: list(FOCUS_SECTORS)
    )
    high_risk_sectors = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=lambda: list(HIGH_RISK_SECTORS),
    )
    high_risk_drill_sectors = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=lambda: list(HIGH_RISK_DRILL_SECTORS),
    )
    campaign_start = fields.Date(load_default=datetime.date(2023, 5, 1))
    campaign_end = fields.Date(load_default=datetime.date(2023, 12, 31))
    # The weekly dispatch table: Mondays (ISO weekday 1) before noon, from 25 May.
    dispatch_first_date = fields.Date(load_default=datetime.date(2023, 5, 25))
    dispatch_weekday = fields.Integer(load_default=1, validate=validate.Range(min=1, max=7))
    dispatch_before = fields.String(load_default="12:00", validate=_time)
    dispatch_recipient = fields.String(load_default="企业服务科")
    stage_report_due = fields.Date(load_default=datetime.date(2023, 7, 29))
    final_report_due = fields.Date(load_default=datetime.date(2023, 11, 28))
    # The bureau's sections (科室) that each report a dispatch table ("请科室……上报"); none:
    # the bureau reports one table. An enterprise's section is its field hebei_office.
    offices = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                          load_default=list, validate=validate.Length(max=50))

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data["campaign_start"] > data["campaign_end"]:
            raise ValidationError("专项行动开始日期晚于结束日期", "campaign_end")
        if not data["campaign_start"] <= data["dispatch_first_date"] <= data["campaign_end"]:
            raise ValidationError("调度表首次上报日期不在专项行动期间", "dispatch_first_date")
        for key in ("stage_report_due", "final_report_due"):
            if not data["campaign_start"] <= data[key] <= data["campaign_end"]:
                raise ValidationError("报送日期不在专项行动期间", key)
        if data["stage_report_due"] > data["final_report_due"]:
            raise ValidationError("阶段进展报送日期晚于工作总结报送日期", "stage_report_due")
        if not data["focus_sectors"]:
            raise ValidationError("至少须有一个重点行业领域", "focus_sectors")
        if data["dispatch_before"] <= dispatch.SCHEDULE_TIME:
            raise ValidationError(f"调度表于上报日{dispatch.SCHEDULE_TIME}定时生成，"
                                  "上报截止时间须晚于此", "dispatch_before")
        if len(set(data["offices"])) != len(data["offices"]):
            raise ValidationError("科室名称重复", "offices")


@hookimpl
def settings_schema():
    return TianjinHebeiSettings


# --- catalogue --------------------------------------------------------------------------------

@hookimpl
def register_campaign_kinds():
    return [KIND]


@hookimpl
def register_checklist_templates():
    return checklists.templates()


@hookimpl
def register_report_kinds():
    return [dispatch.REPORT_KIND, ledger.REPORT_KIND]


# --- policy -----------------------------------------------------------------------------------

@hookimpl
def enterprise_extra_fields(tenant):
    """行业领域: the focus sectors get the fire, hot-work and gas checks and count as key
    enterprises in the dispatch table; high-risk sectors inspect and drill more often.
    负责科室 (where the tenant has sections): the section whose dispatch table counts it."""
    settings = tenant.settings.get(PLUGIN) or {}
    sectors = list(dict.fromkeys([*settings.get("focus_sectors", FOCUS_SECTORS),
                                  *settings.get("high_risk_sectors", HIGH_RISK_SECTORS),
                                  *settings.get("high_risk_drill_sectors",
                                                HIGH_RISK_DRILL_SECTORS),
                                  *OTHER_SECTORS]))
    out = {dispatch.SECTOR_FIELD: fields.String(
        allow_none=True, validate=validate.OneOf(sectors),
        metadata={"description": "行业领域（河北区商务局专项行动）：" + "、".join(sectors)})}
    offices = settings.get("offices") or []
    if offices:
        out[dispatch.OFFICE_FIELD] = fields.String(
            allow_none=True, validate=validate.OneOf(offices),
            metadata={"description": "负责科室（调度表按科室分别统计）：" + "、".join(offices)})
    return out


@hookimpl
def grade_hazard(hazard, checklist_item):
    return checklists.grade(checklist_item, hazard)


@hookimpl
def campaign_milestones(tenant, campaign):
    """The enterprises' recurring duties and the two reports, as dated tasks."""
    return milestones(tenant.settings[PLUGIN], campaign)
