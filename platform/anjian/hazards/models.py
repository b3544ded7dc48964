"""Hazards (隐患) in closed loop, their history and enforcement referrals (notifications
are the kernel's: ``anjian.notifications``)."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
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

SOURCES = {"self": "企业自查", "department": "部门检查", "service_org": "第三方服务机构",
           "spot_check": "抽查"}
GRADES = {"general": "一般隐患", "major": "重大事故隐患"}
STATES = {
    "reported": "已上报",
    "rectifying": "整改中",
    "rectified": "已整改待验收",
    "verified": "已验收销号",
    "overdue": "逾期未整改",
    "referred": "已移交执法",
}
OPEN_STATES = ("reported", "rectifying", "overdue")
REFERRAL_REASONS = {"overdue": "逾期未整改", "refused": "拒不整改", "uncooperative": "不配合检查",
                    "other": "其他"}
DECISIONS = {"order_rectify": "责令限期整改", "penalty": "行政处罚", "suspension": "停产停业整顿",
             "transfer": "移送司法机关"}
REFERRAL_STATUSES = {"open": "待处理", "decided": "已决定", "closed": "已办结"}



class Hazard(WorkdayDeadline, TenantOwned, db.Model):
    __tablename__ = "hazards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["campaigns.tenant_id", "campaigns.id"]),
        ForeignKeyConstraint(["tenant_id", "inspection_id"],
                             ["inspections.tenant_id", "inspections.id"]),
        ForeignKeyConstraint(["tenant_id", "risk_point_id"], ["risk_points.tenant_id", "risk_points.id"]),
        ForeignKeyConstraint(["tenant_id", "inspection_result_id"],
                             ["inspection_results.tenant_id", "inspection_results.id"]),
        CheckConstraint(f"source IN ({sql_values(SOURCES)})", name="source"),
        CheckConstraint(f"grade IN ({sql_values(GRADES)})", name="grade"),
        CheckConstraint(f"state IN ({sql_values(STATES)})", name="state"),
        # Campaign progress and the overdue scan read these, tenant first.
        Index("ix_hazards_tenant_campaign_grade_state", "tenant_id", "campaign_id", "grade",
              "state"),
        Index("ix_hazards_tenant_state_deadline", "tenant_id", "state", "deadline"),
        Index("ix_hazards_tenant_enterprise", "tenant_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    inspection_id: Mapped[int | None] = mapped_column(Integer)
    inspection_result_id: Mapped[int | None] = mapped_column(Integer)
    risk_point_id: Mapped[int | None] = mapped_column(Integer)  # the risk point it was found on
    source: Mapped[str] = mapped_column(String(12))
    grade: Mapped[str] = mapped_column(String(8), default="general")
    # What makes it major (重大事故隐患判定标准, the clause met); "" for a general hazard.
    grade_criterion: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="reported")
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    found_on: Mapped[dt.date] = mapped_column(Date)
    found_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    immediate: Mapped[bool] = mapped_column(Boolean, default=False)  # 立即整改
    # 五落实 (five in place), required before rectifying unless rectified at once.
    responsible_person: Mapped[str] = mapped_column(String(100), default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    funds: Mapped[decimal.Decimal | None] = mapped_column(Numeric(14, 2))
    contingency_plan: Mapped[str] = mapped_column(Text, default="")
    rectified_at = mapped_column(UTCDateTime)
    verified_at = mapped_column(UTCDateTime)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overdue_at = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    # Two writers of one hazard: the second flush fails instead of overwriting.
    __mapper_args__ = {"version_id_col": version}


class HazardEvent(TenantOwned, db.Model):
    """One step of a hazard's history: who moved it, when, from which state to which."""

    __tablename__ = "hazard_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "hazard_id"], ["hazards.tenant_id", "hazards.id"]),
        Index("ix_hazard_events_tenant_hazard", "tenant_id", "hazard_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class EnforcementReferral(TenantOwned, db.Model):
    """A referral to enforcement (移交执法): why, the decision, and its outcome."""

    __tablename__ = "enforcement_referrals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "hazard_id"], ["hazards.tenant_id", "hazards.id"]),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["campaigns.tenant_id", "campaigns.id"]),
        CheckConstraint(f"reason IN ({sql_values(REFERRAL_REASONS)})", name="reason"),
        CheckConstraint(f"decision IS NULL OR decision IN ({sql_values(DECISIONS)})", name="decision"),
        CheckConstraint(f"status IN ({sql_values(REFERRAL_STATUSES)})", name="status"),
        Index("ix_referrals_tenant_campaign", "tenant_id", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    hazard_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(14))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    decision: Mapped[str | None] = mapped_column(String(14))
    penalty_amount: Mapped[decimal.Decimal | None] = mapped_column(Numeric(14, 2))  # yuan
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_at = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(Text, default="")
    closed_at = mapped_column(UTCDateTime)
    referred_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
