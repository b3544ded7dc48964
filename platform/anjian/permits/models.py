"""Dangerous-work permits (作业票) and their history."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
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
from anjian.db import JSONType, UTCDateTime
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned


class Permit(TenantOwned, db.Model):
    """A permit for one piece of dangerous work of an enterprise. Its kind (and grade) is
    the core's or a plugin's (``anjian.permits.kinds``); what was identified, analysed and
    approved is kept as the permit's own record (JSON lists)."""

    __tablename__ = "permits"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"], ["enterprises.tenant_id", "enterprises.id"]),
        Index("ix_permits_tenant_enterprise_state", "tenant_id", "enterprise_id", "state"),
        Index("ix_permits_tenant_state", "tenant_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str | None] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="requested")
    workers: Mapped[list] = mapped_column(JSONType, default=list)  # [{name, id_number, work_kind}]
    guardian: Mapped[str] = mapped_column(String(60), default="")
    second_guardian: Mapped[str] = mapped_column(String(60), default="")  # 双监督
    hazards_identified: Mapped[list] = mapped_column(JSONType, default=list)  # JSA: [{hazard, measure, confirmed}]
    gas_analyses: Mapped[list] = mapped_column(JSONType, default=list)  # [{at, values, analyst, passed}]
    required_steps: Mapped[list] = mapped_column(JSONType, default=list)  # approvals asked (permit_approvals)
    approvals: Mapped[list] = mapped_column(JSONType, default=list)  # [{step, user_id, at, note}]
    acceptances: Mapped[list] = mapped_column(JSONType, default=list)  # [{user_id, at, note}]
    key_time: Mapped[bool] = mapped_column(Boolean, default=False)
    key_time_reason: Mapped[str] = mapped_column(String(200), default="")
    planned_start = mapped_column(UTCDateTime, nullable=True)
    planned_end = mapped_column(UTCDateTime, nullable=True)
    issued_at = mapped_column(UTCDateTime, nullable=True)
    valid_until = mapped_column(UTCDateTime, nullable=True)
    started_at = mapped_column(UTCDateTime, nullable=True)
    closed_at = mapped_column(UTCDateTime, nullable=True)
    refusal: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class PermitEvent(TenantOwned, db.Model):
    """One step of a permit's history."""

    __tablename__ = "permit_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "permit_id"], ["permits.tenant_id", "permits.id"]),
        Index("ix_permit_events_tenant_permit", "tenant_id", "permit_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    permit_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
