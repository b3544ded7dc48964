"""The risk register (风险分级管控): risk points, their controls and the history of their
gradings."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import (
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

# 风险点 kinds, managing levels, hazard-factor categories (GB/T 13861), control kinds.
POINT_KINDS = {"place": "场所", "equipment": "设备设施", "activity": "作业活动", "post": "岗位"}
MANAGING_LEVELS = {"company": "公司", "workshop": "车间", "team": "班组", "post": "岗位"}
FACTOR_CATEGORIES = {"person": "人的因素", "thing": "物的因素", "environment": "环境因素",
                     "management": "管理因素"}
CONTROL_KINDS = {"engineering": "工程技术措施", "management": "管理措施", "ppe": "个体防护措施",
                 "emergency": "应急处置措施"}
METHODS = {"lec": "作业条件危险性分析法（LEC）", "ls": "风险矩阵法（L×S）"}
# The four levels and their colours.
LEVELS = {"major": "重大风险", "large": "较大风险", "general": "一般风险", "low": "低风险"}
COLOURS = {"major": "红", "large": "橙", "general": "黄", "low": "蓝"}
POINT_STATES = {"active": "在用", "retired": "已撤销"}


class RiskPoint(TenantOwned, db.Model):
    """A risk point (风险点) of an enterprise: a place, a piece of equipment, an activity or
    a post, with its hazard factors, its current grading and who manages it."""

    __tablename__ = "risk_points"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"], ["enterprises.tenant_id", "enterprises.id"]),
        CheckConstraint(f"kind IN ({sql_values(POINT_KINDS)})", name="kind"),
        CheckConstraint(f"managing_level IN ({sql_values(MANAGING_LEVELS)})", name="managing_level"),
        CheckConstraint(f"method IN ({sql_values(METHODS)})", name="method"),
        CheckConstraint(f"level IN ({sql_values(LEVELS)})", name="level"),
        CheckConstraint(f"status IN ({sql_values(POINT_STATES)})", name="status"),
        Index("ix_risk_points_tenant_enterprise", "tenant_id", "enterprise_id"),
        Index("ix_risk_points_tenant_level", "tenant_id", "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    location: Mapped[str] = mapped_column(String(200), default="")
    managing_level: Mapped[str] = mapped_column(String(10))
    factors: Mapped[list] = mapped_column(JSONType, default=list)  # [{category, description}]
    method: Mapped[str] = mapped_column(String(4))
    likelihood: Mapped[decimal.Decimal | None] = mapped_column(Numeric(6, 2))  # L
    exposure: Mapped[decimal.Decimal | None] = mapped_column(Numeric(6, 2))  # E (LEC only)
    consequence: Mapped[decimal.Decimal | None] = mapped_column(Numeric(6, 2))  # C (LEC) or S (matrix)
    score: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    level: Mapped[str] = mapped_column(String(8))
    catalogue_key: Mapped[str | None] = mapped_column(String(120))  # the catalogue entry picked
    status: Mapped[str] = mapped_column(String(8), default="active")
    regrade_reason: Mapped[str] = mapped_column(Text, default="")  # a re-grading asked, and why
    inspected_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class RiskControl(TenantOwned, db.Model):
    """A control measure of a risk point; it becomes a check item of the enterprise's own
    checklist (排查清单)."""

    __tablename__ = "risk_controls"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "risk_point_id"], ["risk_points.tenant_id", "risk_points.id"],
                             ondelete="CASCADE"),
        CheckConstraint(f"kind IN ({sql_values(CONTROL_KINDS)})", name="kind"),
        Index("ix_risk_controls_tenant_point", "tenant_id", "risk_point_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    measure: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class RiskGrading(TenantOwned, db.Model):
    """One grading of a risk point (the first, and each re-grading with its reason)."""

    __tablename__ = "risk_gradings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "risk_point_id"], ["risk_points.tenant_id", "risk_points.id"],
                             ondelete="CASCADE"),
        Index("ix_risk_gradings_tenant_point", "tenant_id", "risk_point_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(4))
    likelihood: Mapped[decimal.Decimal | None] = mapped_column(Numeric(6, 2))
    exposure: Mapped[decimal.Decimal | None] = mapped_column(Numeric(6, 2))
    consequence: Mapped[decimal.Decimal | None] = mapped_column(Numeric(6, 2))
    score: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    level: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
