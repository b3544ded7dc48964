"""Reminders of dated campaign tasks (milestones such as a stage report due 29 July).

A task with ``remind_before`` N (working days) is reminded once, on the first daily
scan when N or fewer working days are left before its deadline: a notification to
the tenant's supervisors and admins, and to the enterprise users of an
enterprise-bound task. ``reminded_at`` makes it once only (the scan is idempotent).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from anjian import notifications
from anjian.campaigns.models import Campaign, CampaignTask
from anjian.clock import utcnow
from anjian.context import Context
from anjian.extensions import db
from anjian.hazards.service import notified_users
from anjian.workdays.service import workdays_between


def working_days_left(today: dt.date, deadline: dt.date) -> int:
    """Working days after ``today`` up to and including the deadline (0 on the day)."""
    if deadline <= today:
        return 0
    return workdays_between(today + dt.timedelta(days=1), deadline)


def remind_due_tasks(context: Context, today: dt.date) -> int:
    """Send the reminders due ``today`` in the context's tenant (the current writable
    scope); the caller commits. Returns how many tasks were reminded."""
    candidates = db.session.execute(
        select(CampaignTask, Campaign.title)
        .join(Campaign, Campaign.id == CampaignTask.campaign_id)
        .where(CampaignTask.status == "open", CampaignTask.remind_before > 0,
               CampaignTask.reminded_at.is_(None), CampaignTask.deadline.is_not(None),
               CampaignTask.deadline >= today)
    ).all()
    left_of = {task.id: working_days_left(today, task.deadline) for task, _ in candidates}
    due = [(task, title) for task, title in candidates if left_of[task.id] <= task.remind_before]
    if not due:
        return 0
    users = notified_users(context, {t.enterprise_id for t, _ in due if t.enterprise_id})
    now = utcnow()
    for task, campaign_title in due:
        left = left_of[task.id]
        when = "今天到期" if left == 0 else f"还有 {left} 个工作日到期"
        body = (f"“{campaign_title}”的任务“{task.title}”将于 {task.deadline.isoformat()} "
                f"到期（{when}），请按时完成。")
        recipients = users[None] + users.get(task.enterprise_id, []) if task.enterprise_id \
            else users[None]
        notifications.notify(context, recipients, kind="task_reminder", task_id=task.id,
                             title=f"任务提醒：{task.title}", body=body)
        task.reminded_at = now
    db.session.flush()
    return len(due)
