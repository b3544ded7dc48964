"""Campaign (专项行动 / 服务项目), its phases, targets and tasks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import JSONType, UTCDateTime, sql_values
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned
from anjian.workdays.models import WorkdayDeadline

CAMPAIGN_STATUSES = {"draft": "草稿", "active": "进行中", "closed": "已结束"}
# How an enterprise became a target: a registry filter, a list, or a plugin's rule.
TARGET_METHODS = {"filter": "按条件筛选", "list": "按名单", "plugin": "按规则选取"}
TASK_STATUSES = {"open": "未完成", "done": "已完成", "overdue": "已逾期"}



class Campaign(TenantOwned, db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(f"status IN ({sql_values(CAMPAIGN_STATUSES)})", name="status"),
        Index("ix_campaigns_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(80))  # a catalogue key, or None (custom)
    plugin: Mapped[str | None] = mapped_column(String(80))  # the plugin that defines the kind
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class CampaignPhase(TenantOwned, db.Model):
    """A phase with its date window and its rule (阶段: 动员部署, 自查自改, ...)."""

    __tablename__ = "campaign_phases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "campaign_id", "key"),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["campaigns.tenant_id", "campaigns.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, index=True)
    key: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(Text, default="")


class CampaignTarget(TenantOwned, db.Model):
    """An enterprise a campaign covers, and who is assigned to it (a supervisor or a
    service organisation's user)."""

    __tablename__ = "campaign_targets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "campaign_id", "enterprise_id"),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["campaigns.tenant_id", "campaigns.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        CheckConstraint(f"method IN ({sql_values(TARGET_METHODS)})", name="method"),
        Index("ix_campaign_targets_tenant_assignee", "tenant_id", "assignee_user_id"),
        Index("ix_campaign_targets_tenant_enterprise", "tenant_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10), default="list")
    reason: Mapped[str] = mapped_column(Text, default="")
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CampaignTask(WorkdayDeadline, TenantOwned, db.Model):
    """A dated duty inside a campaign (a phase's task, a milestone, a recurring duty of an
    enterprise); the overdue scan marks the unfinished ones past their deadline."""

    __tablename__ = "campaign_tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "campaign_id", "key", "enterprise_id"),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["campaigns.tenant_id", "campaigns.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "phase_id"],
                             ["campaign_phases.tenant_id", "campaign_phases.id"]),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        CheckConstraint(f"status IN ({sql_values(TASK_STATUSES)})", name="status"),
        Index("ix_campaign_tasks_tenant_status_deadline", "tenant_id", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, index=True)
    phase_id: Mapped[int | None] = mapped_column(Integer)
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default="open")
    remind_before: Mapped[int] = mapped_column(Integer, default=0)  # working days
    done_at = mapped_column(UTCDateTime)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overdue_at = mapped_column(UTCDateTime)
    reminded_at = mapped_column(UTCDateTime)  # when its reminder went out (once)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
