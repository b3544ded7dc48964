"""Notifications (通知): a message to one user of the tenant, and reading it.

A kernel concept: the hazard closed loop tells of a major hazard, the campaigns of a
task coming due; whoever sends one names its recipients (``notify``), and a user
marks their own as read (``mark_read``). The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.context import Context
from anjian.db import UTCDateTime
from anjian.extensions import db
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


def notify(context: Context, user_ids: Iterable[int], *, kind: str, title: str, body: str = "",
           hazard_id: int | None = None, task_id: int | None = None) -> list[Notification]:
    """One notification per user (each once, in the order given), in the context's tenant
    scope; the title is cut to its column. Not flushed: the caller flushes or commits."""
    out = []
    for user_id in dict.fromkeys(user_ids):
        note = Notification(user_id=user_id, kind=kind, title=title[:300], body=body,
                            hazard_id=hazard_id, task_id=task_id)
        db.session.add(note)
        out.append(note)
    return out


def mark_read(context: Context, notification: Notification) -> Notification:
    """Mark a notification read (once: reading it again keeps the first time)."""
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


__all__ = ["Notification", "mark_read", "notify"]
