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
the cumulative dispatch table (调度表); the stage report is due by 29 July and
the final summary by 28 November.
"""

import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from anjian.plugins import hookimpl

CAMPAIGN_KEY = "hebei_major_hazards_2023"

FOCUS_SECTORS = ("大型商超", "标准化菜市场", "非星级酒店", "商业综合体")
# Principal-led inspection monthly instead of quarterly (任务1).
HIGH_RISK_SECTORS = ("建筑施工", "危险物品经营储存")
# Drills quarterly instead of once (任务6): the seed adds road transport here.
HIGH_RISK_DRILL_SECTORS = ("建筑施工", "道路运输", "危险物品经营储存")

_time = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="时间格式应为 HH:MM")


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

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data["campaign_start"] > data["campaign_end"]:
            raise ValidationError("专项行动开始日期晚于结束日期", "campaign_end")
        if not data["campaign_start"] <= data["dispatch_first_date"] <= data["campaign_end"]:
            raise ValidationError("调度表首次上报日期不在专项行动期间", "dispatch_first_date")


@hookimpl
def settings_schema():
    return TianjinHebeiSettings


@hookimpl
def register_campaign_kinds():
    return [
        {
            "key": CAMPAIGN_KEY,
            "title": "河北区商务局重大事故隐患排查整治2023专项行动",
            "year": 2023,
            "phases": [
                {
                    "key": "mobilisation",
                    "title": "动员部署",
                    "start": "2023-05-01",
                    "end": "2023-05-31",
                    "rule": "召开动员部署会议，印发方案，下发重大事故隐患判定标准和重点检查事项；"
                    "5月23日前传达部署到企业，24日前报送部署情况",
                },
                {
                    "key": "self_inspection",
                    "title": "企业自查自改",
                    "start": "2023-06-01",
                    "end": "2023-06-30",
                    "rule": "企业对照判定标准自查自改，建立重大事故隐患台账清单，实行闭环管理",
                },
                {
                    "key": "supervision",
                    "title": "部门督导",
                    "start": "2023-07-01",
                    "end": "2023-11-30",
                    "rule": "聚焦判定标准和主要负责人履职精准督促检查，移交或配合执法部门联合执法",
                },
                {
                    "key": "summary",
                    "title": "总结提高",
                    "start": "2023-12-01",
                    "end": "2023-12-31",
                    "rule": "总结成效，梳理经验做法，健全长效工作机制",
                },
            ],
            "focus": [*FOCUS_SECTORS, "消防安全", "电气焊等动火作业", "燃气报警器", "燃气设施"],
            "milestones": [
                {"date": "2023-05-23", "rule": "方案传达部署到相关企业"},
                {"date": "2023-05-24", "rule": "动员部署情况报送企业服务科"},
                {"date": "2023-05-25", "rule": "起每周一中午前上报调度表（累计数据）"},
                {"date": "2023-07-29", "rule": "行动阶段进展报送企业服务科"},
                {"date": "2023-11-28", "rule": "工作总结报送企业服务科"},
            ],
        }
    ]
