"""The core's own policy, registered through the same hooks as any plugin (``trylast``)."""

from anjian.plugins.hookspecs import hookimpl

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
def register_import_profiles():
    from anjian.enterprises.importing.profiles import core_profile

    return [core_profile()]


@hookimpl(trylast=True)
def register_schedules():
    # 01:00 Beijing time: deadlines are dates, so yesterday's are past by then.
    return [{"key": "overdue_scan", "title": "逾期扫描", "cron": "0 1 * * *", "queue": "default",
             "function": "anjian.hazards.jobs.overdue_scan"}]


@hookimpl
def register_report_kinds():
    from anjian.reports.campaign_progress import KIND

    return [KIND]
