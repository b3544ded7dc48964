"""Reports kept for download, and the figures staff enter where the platform cannot know them."""

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

FORMATS = {"xlsx": "Excel", "pdf": "PDF", "json": "JSON"}
REPORT_STATUSES = {"queued": "排队中", "running": "生成中", "ready": "已生成", "failed": "失败"}



class Report(TenantOwned, db.Model):
    """One generated (or generating) report: its kind, parameters, who asked, the data
    snapshot time, and the stored file (or JSON body)."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(f"format IN ({sql_values(FORMATS)})", name="format"),
        CheckConstraint(f"status IN ({sql_values(REPORT_STATUSES)})", name="status"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        Index("ix_reports_tenant_kind_created", "tenant_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    plugin: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(5))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    job_id: Mapped[str | None] = mapped_column(String(32))
    schedule_key: Mapped[str | None] = mapped_column(String(120))  # set when a schedule made it
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The enterprise a report is about (its kind's ``enterprise``), if one: the service
    # organisations serving it read it.
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    snapshot_at = mapped_column(UTCDateTime)  # the moment the figures were read
    object_key: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict | None] = mapped_column(JSONType)  # the JSON form, for dashboards
    error: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    finished_at = mapped_column(UTCDateTime)


class EnteredFigure(TenantOwned, db.Model):
    """A figure entered by staff for one report row and one period (e.g. the dispatch
    table's media programmes in the week of 2023-06-05), by the unit (``office`` "") or
    by one of its sections (科室) where the report kind has them. Each change is audited."""

    __tablename__ = "entered_figures"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "report_kind", "period", "key", "office"),
        Index("ix_entered_figures_tenant_kind_period", "tenant_id", "report_kind", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_kind: Mapped[str] = mapped_column(String(80))
    period: Mapped[dt.date] = mapped_column(Date)  # the period's first day (a week's Monday)
    key: Mapped[str] = mapped_column(String(120))
    office: Mapped[str] = mapped_column(String(80), default="", server_default="")
    value: Mapped[decimal.Decimal] = mapped_column(Numeric(16, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
