"""Enterprise: one registered enterprise of a tenant, keyed by its unified social credit code."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import JSONType, UTCDateTime
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned

# 规模: above designated size, below it, small and micro. 限上 is a separate flag.
SCALES = {"above": "规上", "below": "规下", "micro": "小微"}
STATUSES = {"active": "在营", "suspended": "停产", "closed": "关闭"}
# Sector tags the seeds use; the GB/T 4754 code carries the precise industry.
INDUSTRIES = ("建材", "机械", "轻工", "冶金", "商贸", "化工", "纺织", "有色", "建筑",
              "交通运输", "住宿餐饮", "仓储物流", "其他")
# Risk flags: the column name and its Chinese label.
FLAGS = {
    "dust_explosion": "粉尘涉爆",
    "ammonia_refrigeration": "液氨制冷",
    "confined_space": "有限空间",
    "major_hazard": "重大危险源",
    "labour_intensive": "劳动密集",
}


class Enterprise(TenantOwned, db.Model):
    __tablename__ = "enterprises"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "credit_code"),
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        CheckConstraint(f"scale IN ({', '.join(repr(k) for k in SCALES)})", name="scale"),
        CheckConstraint(f"status IN ({', '.join(repr(k) for k in STATUSES)})", name="status"),
        Index("ix_enterprises_tenant_name", "tenant_id", "name"),
        Index("ix_enterprises_tenant_area", "tenant_id", "area_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    industry: Mapped[str | None] = mapped_column(String(20))
    industry_code: Mapped[str | None] = mapped_column(String(5))  # GB/T 4754, e.g. C3011
    scale: Mapped[str] = mapped_column(String(10), default="below")
    above_quota: Mapped[bool] = mapped_column(Boolean, default=False)  # 限上
    employees: Mapped[int | None] = mapped_column(Integer)
    safety_managers: Mapped[int | None] = mapped_column(Integer)
    special_workers: Mapped[int | None] = mapped_column(Integer)  # 特种作业人员
    main_products: Mapped[str] = mapped_column(Text, default="")
    main_risk_factors: Mapped[str] = mapped_column(Text, default="")
    dust_explosion: Mapped[bool] = mapped_column(Boolean, default=False)
    ammonia_refrigeration: Mapped[bool] = mapped_column(Boolean, default=False)
    confined_space: Mapped[bool] = mapped_column(Boolean, default=False)
    major_hazard: Mapped[bool] = mapped_column(Boolean, default=False)
    labour_intensive: Mapped[bool] = mapped_column(Boolean, default=False)
    principal_name: Mapped[str] = mapped_column(String(50), default="")  # 主要负责人
    principal_phone: Mapped[str] = mapped_column(String(30), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    area_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="active")
    extra: Mapped[dict] = mapped_column(JSONType, default=dict)  # plugin fields, validated
    deleted_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
