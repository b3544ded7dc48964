"""Shenyang street: small industrial enterprises crackdown, spring 2024.

Seed 004, "小微工业企业安全生产集中攻坚整治专项行动方案" of a street emergency
management office (街道应急管理办公室) in Shenyang. The seed names neither the
street nor its district. It covers building materials (建材), machinery (机械)
and light industry (轻工) with four tasks:

1. rules: self-check against the district's 271 template rules (规章制度模板)
   and post responsibility lists; the 16 enterprises in the 2024 inspection plan
   by 30 April, the 33 others by 15 May, evaluation by the end of May;
2. dual control (双控): all-post risk identification, a hazard-factor ledger,
   entry into Shenyang's risk catalogues and its dynamic risk reporting system
   (沈阳市风险报告动态管理系统);
3. dangerous work (危险作业): ledgers for hot work/blasting, confined space,
   lifting at height, temporary power, excavation and maintenance; permits
   (作业票) approved by the principal or someone he authorises, with double
   approval, double supervision and double acceptance (双审批、双监督、双验收) at
   key times and when needed; certified special workers; one drill a year;
4. related parties (相关方): contracts or safety agreements stating areas,
   duties and terms; a person on site to command and supervise.

Three phases: mobilisation (until 30 April), crackdown (1-20 May: orders to
rectify within a deadline, penalties when overdue), consolidation (21-31 May).

The hooks live here; each delegates to the module that holds the rule:

- ``checklist``: the annex's ten yes/no items (基础管理方面); every "否" raises a hazard;
- ``ledgers``: the dangerous-work ledger (危险作业台账) and the duties over the ledgers
  from the settings (drills a year, related-party agreements in force, certified
  special workers, the principal's quarterly major-hazard checks);
- ``crackdown``: the targets (建材, 机械, 轻工) with their planned mark and deadline, the
  rules self-check by group (route ``rules-progress``), and the crackdown rule (an
  order to rectify given in 1–20 May and overdue: an enforcement candidate);
- ``permits``: the seed's own dangerous-work kinds (爆破, 检维修) and the approvals: the
  principal or his delegate, doubled (approval, supervision, acceptance) at key times;
- ``risk_catalogue``: the city's two industrial risk catalogues (一般; 较大级以上) as data
  users pick from, and the layout of the export to its risk-reporting system;
- ``report``: the progress report per enterprise and per sector (xlsx, PDF).
"""

import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from anjian.plugin_api import CampaignKind, Milestone, Phase, Route, hookimpl, local_today
from anjian_shenyang import checklist, crackdown, ledgers, permits, report, risk_catalogue

# The plugin contract this plugin is written for (anjian.plugin_api.CONTRACT_VERSION).
PLUGIN_CONTRACT = 1

PLUGIN = crackdown.PLUGIN
CAMPAIGN_KEY = crackdown.CAMPAIGN_KEY

FOCUS_SECTORS = ("建材", "机械", "轻工")
DANGEROUS_WORK_KINDS = ledgers.DANGEROUS_WORK_KINDS


class KeyPeriod(Schema):
    """A key time (重点时段) in which dangerous work needs double approval."""

    start = fields.Date(required=True)
    end = fields.Date(required=True)
    reason = fields.String(load_default="")

    @validates_schema
    def _in_order(self, data, **kwargs):
        if data["start"] > data["end"]:
            raise ValidationError("重点时段开始日期晚于结束日期", "end")


class ShenyangSettings(Schema):
    """Tenant settings of the street's 2024 crackdown."""

    planned_enterprise_count = fields.Integer(load_default=16, validate=validate.Range(min=0))
    planned_enterprises_deadline = fields.Date(load_default=datetime.date(2024, 4, 30))
    other_enterprise_count = fields.Integer(load_default=33, validate=validate.Range(min=0))
    other_enterprises_deadline = fields.Date(load_default=datetime.date(2024, 5, 15))
    evaluation_deadline = fields.Date(load_default=datetime.date(2024, 5, 31))
    crackdown_start = fields.Date(load_default=datetime.date(2024, 5, 1))
    crackdown_end = fields.Date(load_default=datetime.date(2024, 5, 20))
    template_rule_count = fields.Integer(load_default=271, validate=validate.Range(min=1))
    focus_sectors = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=lambda: list(FOCUS_SECTORS)
    )
    dangerous_work_kinds = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=lambda: list(DANGEROUS_WORK_KINDS),
    )
    # Double approval, supervision and acceptance at key times and when needed.
    double_approval_key_periods = fields.List(fields.Nested(KeyPeriod), load_default=list)
    drills_per_year = fields.Integer(load_default=1, validate=validate.Range(min=1, max=12))
    # Ledger duties (anjian_shenyang.ledgers): related-party agreements in force, certified
    # special workers, the principal's major-hazard checks a quarter (0: not asked).
    related_party_agreements = fields.Boolean(load_default=True)
    certified_special_workers = fields.Boolean(load_default=True)
    principal_checks_per_quarter = fields.Integer(load_default=1, validate=validate.Range(min=0, max=13))

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data["planned_enterprises_deadline"] > data["other_enterprises_deadline"]:
            raise ValidationError(
                "计划内企业期限应早于计划外企业期限", "other_enterprises_deadline"
            )
        if data["crackdown_start"] > data["crackdown_end"]:
            raise ValidationError("集中攻坚开始日期晚于结束日期", "crackdown_end")


@hookimpl
def settings_schema():
    return ShenyangSettings


@hookimpl
def register_campaign_kinds():
    return [CampaignKind(
        key=CAMPAIGN_KEY,
        title="小微工业企业安全生产集中攻坚整治专项行动",
        year=2024,
        phases=(
            # "从即日起": the seed's own date is not given.
            Phase(key="mobilisation", title="动员部署阶段", start=None, end="2024-04-30",
                  rule="盯紧粉尘涉爆、建材、机械、轻工重点企业；制定工作方案，明确目标任务"
                  "和时间进度，宣传发动"),
            Phase(key="crackdown", title="集中攻坚阶段", start="2024-05-01", end="2024-05-20",
                  rule="对发现的隐患依法责令限期整改，未按期整改的依法行政处罚；聘请专家帮扶指导"),
            Phase(key="consolidation", title="巩固提升阶段", start="2024-05-21",
                  end="2024-05-31", rule="总结经验做法，选树标杆企业，曝光典型案例"),
        ),
        focus=(*FOCUS_SECTORS, "粉尘涉爆场所", "安全生产规章制度", "双控机制", "危险作业",
               "相关方安全管理"),
        milestones=(
            Milestone(date="2024-04-30", rule="计划内16家企业建立完善规章制度、录入风险报告系统"),
            Milestone(date="2024-05-15", rule="计划外33家企业建立完善规章制度和操作规程"),
            Milestone(date="2024-05-31", rule="评估总结，全街道工业企业依托系统自查自报自改"),
        ),
    )]


# --- the plugin's own API ---------------------------------------------------------------------

DEADLINES = (
    ("planned_enterprises_deadline", "计划内企业建立完善规章制度、录入风险报告系统",
     "planned_enterprise_count"),
    ("other_enterprises_deadline", "计划外企业建立完善规章制度和操作规程", "other_enterprise_count"),
    ("crackdown_start", "集中攻坚开始", None),
    ("crackdown_end", "集中攻坚结束", None),
    ("evaluation_deadline", "评估总结", None),
)


def deadlines(tenant) -> dict:
    """``GET .../plugins/anjian_shenyang/deadlines``: the crackdown's dates as the tenant set
    them, each with whether it has passed (today in China)."""
    settings = tenant.settings[PLUGIN]
    today = local_today()
    items = []
    for key, title, count in DEADLINES:
        due = settings[key]
        item = {"key": key, "title": title, "due": due.isoformat(), "passed": due < today,
                "days_left": max((due - today).days, 0)}
        if count is not None:
            item["enterprises"] = settings[count]
        items.append(item)
    return {"today": today.isoformat(), "items": items}


@hookimpl
def register_routes():
    return [Route(name="deadlines", rule="deadlines", view=deadlines,
                  roles=("tenant_admin", "supervisor", "viewer"),
                  summary="集中攻坚整治的时间节点（本单位设置）及是否已过"),
            Route(name="rules_progress", rule="rules-progress", view=crackdown.rules_progress_route,
                  roles=("tenant_admin", "supervisor", "viewer"),
                  summary="规章制度自查进度：计划内、计划外企业按期限完成、进行中、逾期的情况")]


@hookimpl
def enterprise_extra_fields(tenant):
    return crackdown.extra_fields()


@hookimpl
def register_checklist_templates():
    return [checklist.TEMPLATE]


@hookimpl
def register_ledger_kinds():
    return [ledgers.DANGEROUS_WORK_LEDGER]


@hookimpl
def ledger_duties(tenant):
    return ledgers.duties(tenant.settings[PLUGIN])


@hookimpl
def select_campaign_targets(tenant, campaign, enterprises):
    """The crackdown's targets: its sectors' enterprises, planned or not (its own campaigns only)."""
    if getattr(campaign, "kind", None) != CAMPAIGN_KEY:
        return None
    return crackdown.select_targets(tenant, enterprises)


@hookimpl
def enforcement_candidates(tenant, campaign):
    return crackdown.enforcement(tenant, campaign)


@hookimpl
def register_report_kinds():
    return [report.REPORT]


@hookimpl
def register_permit_kinds():
    return list(permits.KINDS)


@hookimpl
def permit_approvals(tenant, permit, key_time):
    """"必须由主要负责人审定或授权，重点时段和必要时实行双审批、双监督、双验收"."""
    return permits.approvals(bool(key_time))


@hookimpl
def register_risk_catalogues():
    return list(risk_catalogue.CATALOGUES)
