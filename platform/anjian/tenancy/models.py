"""Tenant (a jurisdiction) and Area (板块 > 村/工业小区 > 网格, inside one tenant)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anjian.clock import utcnow
from anjian.db import JSONType, UTCDateTime
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned

LEVELS = {
    "province": "省",
    "city": "市",
    "county": "县/县级市",
    "district": "区",
    "street": "街道",
    "zone": "开发区",
    "department": "部门",
}

AREA_KINDS = {
    "sector": "板块",
    "village": "村",
    "industrial_park": "工业小区",
    "grid": "网格",
}


class Tenant(db.Model):
    """A jurisdiction sharing the platform (区, 街道, 开发区, 局 ...). A platform table."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(f"level IN ({', '.join(repr(k) for k in LEVELS)})", name="level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    division_code: Mapped[str | None] = mapped_column(String(12))
    plugins: Mapped[list] = mapped_column(JSONType, default=list)
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on every change so that cached per-tenant plugin callers are rebuilt.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    # Loaded when read (only the tenant API shows it): every request reads its tenant, and
    # a join to the parent on each of those reads was work for nothing. A parent already
    # in the session (a list of siblings) comes from the identity map without SQL.
    parent = relationship("Tenant", remote_side=[id], lazy="select")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self):
        return f"<Tenant {self.code}>"


class Area(TenantOwned, db.Model):
    """An area inside a tenant: 板块 (sector) > 村/工业小区 (village, park) > 网格 (grid)."""

    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["areas.tenant_id", "areas.id"]),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in AREA_KINDS)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
