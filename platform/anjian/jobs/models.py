"""The ``jobs`` table: one row per background job, its progress and its outcome."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import JSONType, UTCDateTime
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned

QUEUED, STARTED, FINISHED, FAILED, ABANDONED = (
    "queued", "started", "finished", "failed", "abandoned")
STATUSES = {
    QUEUED: "排队中",
    STARTED: "运行中",
    FINISHED: "已完成",
    FAILED: "失败",
    ABANDONED: "已中断",
}
DONE = frozenset({FINISHED, FAILED, ABANDONED})
RETRYABLE = frozenset({FAILED, ABANDONED})


def new_job_id() -> str:
    return uuid.uuid4().hex


class Job(TenantOwned, db.Model):
    """A background job of one tenant, started by one actor."""

    __tablename__ = "jobs"
    # Progress and heartbeats are not business changes: creation and status
    # changes are audited, the running counters are not.
    __audit_ignore__ = frozenset({"progress_percent", "counts", "heartbeat_at", "rq_job_id"})
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(f"status IN ({', '.join(repr(k) for k in STATUSES)})", name="status"),
        CheckConstraint("progress_percent BETWEEN 0 AND 100", name="progress_percent"),
        Index("ix_jobs_tenant_status", "tenant_id", "status"),
        Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_job_id)
    kind: Mapped[str] = mapped_column(String(80))
    queue: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(JSONType, default=dict)
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    result: Mapped[dict | None] = mapped_column(JSONType)
    # A Chinese message for users, then a short technical line.
    error: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rq_job_id: Mapped[str | None] = mapped_column(String(80))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at = mapped_column(UTCDateTime)
    finished_at = mapped_column(UTCDateTime)
    heartbeat_at = mapped_column(UTCDateTime)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    def __repr__(self):
        return f"<Job {self.kind} {self.id} {self.status}>"
