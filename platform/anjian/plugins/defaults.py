"""The core's own policy, registered through the same hooks as any plugin (``trylast``).

Its catalogue entries are typed like a plugin's and checked with them at start-up; they
name what they run by dotted path, so this module imports no domain package (the domain
reads the plugins, which load this module). The core's import profile is not among them:
``enterprises.importing.profiles`` adds it to the plugins' profiles itself."""

from anjian.plugins.catalogue import ReportKind, Schedule
from anjian.plugins.hookspecs import hookimpl

CAMPAIGN_PROGRESS = "anjian.reports.campaign_progress"

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
        html=f"{CAMPAIGN_PROGRESS}:html")]
