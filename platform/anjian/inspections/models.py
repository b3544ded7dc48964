"""Checklist templates (versioned), inspections and their item results (their evidence
files are the kernel's: ``anjian.evidence``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
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

from anjian.clock import local_today, utcnow
from anjian.db import UTCDateTime, sql_values
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned

# Where a template comes from: a plugin's catalogue (copied into the tenant when first
# used, so that an inspection always points at the exact version it was done with) or
# the tenant's own admin.
TEMPLATE_SOURCES = {"plugin": "插件", "tenant": "本单位"}
PARTS = {"document": "软件资料", "onsite": "现场"}
ANSWERS = {"yes": "是", "no": "否", "na": "不适用"}
# Who inspects: a department (supervisor), a service organisation, the enterprise itself.
INSPECTOR_KINDS = {"department": "部门检查", "service_org": "第三方服务机构", "self": "企业自查",
                   "spot_check": "抽查"}
INSPECTION_STATUSES = {"draft": "填写中", "submitted": "已提交"}



class ChecklistTemplate(TenantOwned, db.Model):
    """One version of a checklist. A version in use is never changed: edits make a new one."""

    __tablename__ = "checklist_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "key", "version"),
        CheckConstraint(f"source IN ({sql_values(TEMPLATE_SOURCES)})", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), default="tenant")
    plugin: Mapped[str | None] = mapped_column(String(80))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ChecklistItem(TenantOwned, db.Model):
    __tablename__ = "checklist_items"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "risk_control_id"], ["risk_controls.tenant_id", "risk_controls.id"]),
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "template_id", "code"),
        ForeignKeyConstraint(["tenant_id", "template_id"],
                             ["checklist_templates.tenant_id", "checklist_templates.id"],
                             ondelete="CASCADE"),
        CheckConstraint(f"part IN ({sql_values(PARTS)})", name="part"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(Integer, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100), default="")
    part: Mapped[str] = mapped_column(String(10), default="onsite")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    risk_control_id: Mapped[int | None] = mapped_column(Integer)  # a control of a risk point checked
    # A "no" here meets a criterion of a major accident hazard (重大事故隐患判定标准).
    is_major_criterion: Mapped[bool] = mapped_column(Boolean, default=False)


class Inspection(TenantOwned, db.Model):
    """One inspection of one enterprise, against one template version."""

    __tablename__ = "inspections"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["campaigns.tenant_id", "campaigns.id"]),
        ForeignKeyConstraint(["tenant_id", "template_id"],
                             ["checklist_templates.tenant_id", "checklist_templates.id"]),
        CheckConstraint(f"inspector_kind IN ({sql_values(INSPECTOR_KINDS)})", name="inspector_kind"),
        CheckConstraint(f"status IN ({sql_values(INSPECTION_STATUSES)})", name="status"),
        Index("ix_inspections_tenant_campaign", "tenant_id", "campaign_id"),
        Index("ix_inspections_tenant_enterprise", "tenant_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    template_id: Mapped[int] = mapped_column(Integer)
    inspector_kind: Mapped[str] = mapped_column(String(12))
    inspector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    summary: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str] = mapped_column(Text, default="")
    # The day the inspection was carried out (China's date), which may be before it was
    # entered; started_at and submitted_at are when it was entered.
    performed_on: Mapped[dt.date] = mapped_column(Date, default=local_today)
    started_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    submitted_at = mapped_column(UTCDateTime)


class InspectionResult(TenantOwned, db.Model):
    """The answer to one checklist item in one inspection."""

    __tablename__ = "inspection_results"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "inspection_id", "item_id"),
        ForeignKeyConstraint(["tenant_id", "inspection_id"],
                             ["inspections.tenant_id", "inspections.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "item_id"],
                             ["checklist_items.tenant_id", "checklist_items.id"]),
        CheckConstraint(f"answer IN ({sql_values(ANSWERS)})", name="answer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(Integer, index=True)
    item_id: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
