"""Notifications (通知): a message to one user of the tenant, and reading it.

A kernel concept: the hazard closed loop tells of a major hazard, the campaigns of a
task coming due; whoever sends one names its recipients (``notify``), and a user
marks their own as read (``mark_read``). The caller commits.

Beyond the in-app list (issue 21): every ``notify`` and every ``announce`` (an event with
no in-app row: a report ready, a job failed, hazards found overdue) is handed, as an
``Event``, to the subscribers the app was given at start (``subscribe``: the channels
package, ``anjian.channels.service``, which writes its deliveries in the caller's
transaction and enqueues their sending at commit). This module imports nothing above
the kernel: the subscribers live on the app (``app.extensions[SUBSCRIBERS]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.context import Context
from anjian.db import UTCDateTime
from anjian.extensions import db, this_app
from anjian.tenancy.scope import TenantOwned


class Notification(TenantOwned, db.Model):
    """A message to one user of the tenant (a major hazard reported, a task overdue)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "hazard_id"], ["hazards.tenant_id", "hazards.id"]),
        ForeignKeyConstraint(["tenant_id", "task_id"],
                             ["campaign_tasks.tenant_id", "campaign_tasks.id"]),
        Index("ix_notifications_tenant_user", "tenant_id", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    hazard_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    read_at = mapped_column(UTCDateTime)


# app.extensions key: the callables(context, event) told of every event (``subscribe``).
SUBSCRIBERS = "anjian.notifications.subscribers"


@dataclass(frozen=True)
class Event:
    """Something the platform tells of: its kind (``major_hazard``, ``hazard_assigned``,
    ``hazard_rejected``, ``task_reminder``, ``overdue``, ``report_ready``, ``job_failed``), a
    Chinese title and body, the users it is addressed to, and what it is about."""

    kind: str
    title: str
    body: str = ""
    user_ids: tuple[int, ...] = ()
    hazard_id: int | None = None
    task_id: int | None = None
    enterprise_id: int | None = None
    report_id: int | None = None
    job_id: str | None = None


def subscribe(app, subscriber: Callable[[Context, Event], None]) -> None:
    """Tell ``subscriber`` of every event of ``app`` (once, however often it is given)."""
    subscribers = app.extensions.setdefault(SUBSCRIBERS, [])
    if subscriber not in subscribers:
        subscribers.append(subscriber)


def announce(context: Context, event: Event) -> None:
    """Hand ``event`` to the app's subscribers, in the caller's transaction (the caller
    commits: a rolled-back change tells nobody)."""
    for subscriber in this_app().extensions.get(SUBSCRIBERS, ()):
        subscriber(context, event)


def notify(context: Context, user_ids: Iterable[int], *, kind: str, title: str, body: str = "",
           hazard_id: int | None = None, task_id: int | None = None,
           enterprise_id: int | None = None) -> list[Notification]:
    """One notification per user (each once, in the order given), in the context's tenant
    scope; the title is cut to its column; the event is announced to the subscribers
    (``enterprise_id``: the enterprise it concerns, whose contacts a channel may tell).
    Not flushed: the caller flushes or commits."""
    out = []
    users = tuple(dict.fromkeys(user_ids))
    for user_id in users:
        note = Notification(user_id=user_id, kind=kind, title=title[:300], body=body,
                            hazard_id=hazard_id, task_id=task_id)
        db.session.add(note)
        out.append(note)
    announce(context, Event(kind=kind, title=title, body=body, user_ids=users,
                            hazard_id=hazard_id, task_id=task_id, enterprise_id=enterprise_id))
    return out


def mark_read(context: Context, notification: Notification) -> Notification:
    """Mark a notification read (once: reading it again keeps the first time)."""
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


__all__ = ["SUBSCRIBERS", "Event", "Notification", "announce", "mark_read", "notify", "subscribe"]
