"""The core's own policy, registered through the same hooks as any plugin (``trylast``).

Its catalogue entries are typed like a plugin's and checked with them at start-up; they
name what they run by dotted path, so this module imports no domain package (the domain
reads the plugins, which load this module; the core's ledger kinds are kernel
entries, ``anjian.ledgers.core_kinds``, and so are its permit kinds and approval steps,
``anjian.permits.core_kinds``). The core's import profile is not among them:
``enterprises.importing.profiles`` adds it to the plugins' profiles itself."""

from anjian.channels.senders import CORE_KINDS as CHANNEL_KINDS
from anjian.ledgers.core_kinds import CORE_KINDS
from anjian.permits import core_kinds as permit_kinds
from anjian.plugins.catalogue import ReportKind, Schedule
from anjian.plugins.hookspecs import hookimpl

CAMPAIGN_PROGRESS = "anjian.reports.campaign_progress"
STANDARDISATION = "anjian.reports.standardisation"

# The safety standardisation reports (anjian/reports/standardisation.py): (key, the prefix of
# its functions, title, parameters, description).
STANDARDISATION_KINDS = (
    ("standardisation_progress", "progress", "标准化目标进度（按板块）", "ProgressParams",
     "安全生产标准化年度目标进度：各板块与全市的达标、换证、示范、“回头看”、摘牌数及其目标，标出未达标指标"),
    ("standardisation_renewals_due", "renewals_due", "期满换证企业名单", "RenewalsDueParams",
     "证书在有效期内、到指定日期前到期的企业，及其换证障碍（事故、重大隐患、需重新评审等）"),
    ("standardisation_exemptions", "exemptions", "暂不创建企业名单", "NoParams", "暂不创建安全生产标准化的企业及原因"),
    ("standardisation_delisting", "delisting", "摘牌名单", "DelistingParams",
     "期间内摘牌的企业及原因；“回头看”或审计建议摘牌、待主管部门决定的企业"),
    ("standardisation_achieved_public", "achieved_public", "达标企业公布名单", "PublicParams",
     "证书在有效期内的达标企业（名称、信用代码、板块、等级、证书编号、有效期），供公布"),
)

# Days (Chinese working days) a general hazard gets when nobody set a deadline.
DEFAULT_RECTIFICATION_WORKDAYS = 10


@hookimpl(trylast=True)
def grade_hazard(checklist_item):
    if checklist_item is not None and getattr(checklist_item, "is_major_criterion", False):
        return "major"
    return "general"


@hookimpl(trylast=True)
def rectification_deadline(hazard):
    if getattr(hazard, "grade", None) == "major":
        return None  # a major hazard's deadline is set in its five-in-place plan
    return DEFAULT_RECTIFICATION_WORKDAYS


@hookimpl(trylast=True)
def register_schedules():
    # 01:00 Beijing time: deadlines are dates, so yesterday's are past by then.
    return [Schedule(key="overdue_scan", title="逾期扫描", cron="0 1 * * *", queue="default",
                     function="anjian.hazards.jobs.overdue_scan")]


@hookimpl
def register_report_kinds():
    return [ReportKind(
        key="campaign_progress", title="专项行动进度报表",
        description="目标企业、已检查企业、隐患（按等级与状态）、逾期隐患与任务",
        formats=("xlsx", "pdf", "json"), parameters=f"{CAMPAIGN_PROGRESS}:CampaignProgressParams",
        compute=f"{CAMPAIGN_PROGRESS}:compute", xlsx=f"{CAMPAIGN_PROGRESS}:xlsx",
        html=f"{CAMPAIGN_PROGRESS}:html"),
        *(ReportKind(key=key, title=title, description=description,
                     formats=("xlsx", "pdf", "json"), parameters=f"{STANDARDISATION}:{params}",
                     compute=f"{STANDARDISATION}:{name}_compute", xlsx=f"{STANDARDISATION}:{name}_xlsx",
                     html=f"{STANDARDISATION}:{name}_html")
          for key, name, title, params, description in STANDARDISATION_KINDS)]


@hookimpl
def register_ledger_kinds():
    return list(CORE_KINDS)


@hookimpl(trylast=True)
def register_channel_kinds():
    return list(CHANNEL_KINDS)


@hookimpl
def register_permit_kinds():
    return list(permit_kinds.CORE_KINDS)


@hookimpl(trylast=True)
def permit_approvals(permit, key_time):
    # One approval by the principal or his delegate, one guardian, one acceptance; at a key
    # time (the core's judgement, passed in) double approval, supervision and acceptance.
    return list(permit_kinds.KEY_TIME_STEPS if key_time else permit_kinds.CORE_STEPS)
