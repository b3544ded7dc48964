"""The ``overdue_scan`` job (one tenant) and ``scan_all_tenants`` (one job per active tenant).

The core's schedule ``overdue_scan`` (``anjian.plugins.defaults``) fires daily at
01:00 Asia/Shanghai and enqueues this job for every active tenant, once per day.
"""

from __future__ import annotations

import datetime as dt

from anjian.campaigns.reminders import remind_due_tasks
from anjian.channels.service import dispatch_stranded
from anjian.clock import local_today
from anjian.hazards.scan import scan_overdue
from anjian.jobs import schedules
from anjian.jobs.service import JobError, job_function
from anjian.ledgers.reminders import remind_expiring

KIND = "overdue_scan"


def scan_day(params: dict) -> dt.date:
    """The day a scan judges by: ``today`` if given, else its slot's day, else today in China."""
    raw = params.get("today") or (params.get("slot") or "")[:10]
    if not raw:
        return local_today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise JobError("逾期扫描的日期无效", f"bad date {raw!r}") from None


@job_function(KIND, queue="default", timeout=1800)
def overdue_scan(ctx):
    """Mark the tenant's open hazards and tasks past their deadline overdue, and send the
    reminders of tasks coming due and of ledger entries expiring (all idempotent); and the
    notifications the queue could not take when they were written."""
    today = scan_day(ctx.params)
    counts = scan_overdue(ctx.context, today)  # the wrapper commits
    reminded = remind_due_tasks(ctx.context, today)
    ledger_reminders = remind_expiring(ctx.context, today)
    stranded = dispatch_stranded(ctx.context)
    return {"today": today.isoformat(), **counts, "reminded": reminded,
            "ledger_reminders": ledger_reminders, "notifications_requeued": stranded}


def scan_all_tenants(today: dt.date | None = None) -> dict:
    """Enqueue one ``overdue_scan`` job per active tenant for ``today`` (default: today in
    China); a tenant that already has that day's job gets none. Needs an app context."""
    schedule = schedules.get(KIND)
    return schedules.fire(schedule, schedule.slot_on(today or local_today()))
