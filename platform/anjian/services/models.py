"""Third-party safety service organisations (安全生产社会化服务): contracts, the enterprises
they serve, service records, and the bureau's spot checks of their results."""

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

SERVICE_KINDS = {"technical": "技术服务", "management": "管理服务", "training": "教育培训服务",
                 "information": "信息化服务"}
RECORD_KINDS = {"inspection": "检查", "guidance": "指导服务", "training": "培训",
                "drill": "应急演练", "document_setup": "制度建立", "report": "报告交付"}
CONTRACT_STATUSES = {"active": "履行中", "ended": "已结束", "revoked": "已终止"}
FINDINGS = {"satisfactory": "服务合格", "deficient": "服务不到位", "false": "弄虚作假"}


class ServiceOrganisation(TenantOwned, db.Model):
    __tablename__ = "service_organisations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ServiceOrgStaff(TenantOwned, db.Model):
    """A user (role service_org in this tenant) working for one service organisation."""

    __tablename__ = "service_org_staff"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(["tenant_id", "organisation_id"],
                             ["service_organisations.tenant_id", "service_organisations.id"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ServiceContract(TenantOwned, db.Model):
    __tablename__ = "service_contracts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "organisation_id"],
                             ["service_organisations.tenant_id", "service_organisations.id"]),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["campaigns.tenant_id", "campaigns.id"]),
        CheckConstraint(f"status IN ({sql_values(CONTRACT_STATUSES)})", name="status"),
        CheckConstraint("starts_on <= ends_on", name="period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    price_per_enterprise: Mapped[decimal.Decimal | None] = mapped_column(Numeric(14, 2))  # yuan/yr
    service_kinds: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(8), default="active")
    plugin: Mapped[str | None] = mapped_column(String(80))  # whose obligations and costs apply
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    revoked_at = mapped_column(UTCDateTime)


class ContractEnterprise(TenantOwned, db.Model):
    """An enterprise a contract serves (from ``joined_on`` to ``left_on``)."""

    __tablename__ = "contract_enterprises"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "contract_id", "enterprise_id"),
        ForeignKeyConstraint(["tenant_id", "contract_id"],
                             ["service_contracts.tenant_id", "service_contracts.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        Index("ix_contract_enterprises_tenant_enterprise", "tenant_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)


class ServiceRecord(TenantOwned, db.Model):
    """A service delivered: an inspection, a guidance visit, a training, a drill, a document
    set-up, a report delivered."""

    __tablename__ = "service_records"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "contract_id"],
                             ["service_contracts.tenant_id", "service_contracts.id"]),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "inspection_id"],
                             ["inspections.tenant_id", "inspections.id"]),
        ForeignKeyConstraint(["tenant_id", "report_id"], ["reports.tenant_id", "reports.id"]),
        CheckConstraint(f"kind IN ({sql_values(RECORD_KINDS)})", name="kind"),
        Index("ix_service_records_tenant_contract_enterprise", "tenant_id", "contract_id",
              "enterprise_id", "kind", "done_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(120), default="")  # e.g. 应急预案, 操作规程
    done_on: Mapped[dt.date] = mapped_column(Date)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    inspection_id: Mapped[int | None] = mapped_column(Integer)
    report_id: Mapped[int | None] = mapped_column(Integer)  # a delivered report, kept
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class SpotCheckSample(WorkdayDeadline, TenantOwned, db.Model):
    """A random sample of served enterprises drawn for the bureau's spot check (抽查),
    reproducible from its recorded seed."""

    __tablename__ = "spot_check_samples"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "contract_id"],
                             ["service_contracts.tenant_id", "service_contracts.id"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(Integer, index=True)
    ratio: Mapped[decimal.Decimal] = mapped_column(Numeric(5, 4))
    seed: Mapped[str] = mapped_column(String(64))
    population: Mapped[list] = mapped_column(JSONType, default=list)  # ids drawn from, in order
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The deadline of the checks (Qinhuangdao: 20 working days after acceptance).


class SpotCheck(TenantOwned, db.Model):
    """One enterprise of a sample and the bureau's finding about the service given to it."""

    __tablename__ = "spot_checks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "sample_id", "enterprise_id"),
        ForeignKeyConstraint(["tenant_id", "sample_id"],
                             ["spot_check_samples.tenant_id", "spot_check_samples.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        CheckConstraint(f"finding IS NULL OR finding IN ({sql_values(FINDINGS)})", name="finding"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(Integer, index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    finding: Mapped[str | None] = mapped_column(String(14))
    note: Mapped[str] = mapped_column(Text, default="")
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at = mapped_column(UTCDateTime)
