"""Safety standardisation (安全生产标准化): an enterprise's certification under a scheme,
its history, the look-backs and audits of it, the accidents that bar its renewal, the
programme's targets, and the supervision class of each enterprise."""

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

# The schemes a tenant may certify under (key → label); a tenant names its own subset.
SCHEMES = {"small_micro": "小微企业标准化", "level3": "三级", "level2": "二级", "level1": "一级"}
STATES = {
    "applied": "申报创建",
    "self_evaluated": "已自评",
    "achieved": "达标",
    "renewal_due": "期满换证",
    "re_evaluating": "复评",
    "delisted": "摘牌",
    "exempt": "暂不创建",
}
REVIEWERS = {"organisation": "第三方机构", "bureau": "主管部门"}
CHECK_KINDS = {"lookback": "回头看", "audit": "运行质量审计"}
CONCLUSIONS = {"pass": "合格", "rectify": "限期整改", "recommend_delisting": "建议摘牌"}
SEVERITIES = {"minor": "轻伤", "serious": "重伤", "fatal": "死亡"}
# What a certificate holder may not renew after (《企业安全生产标准化建设定级办法》).
BARRING_SEVERITIES = ("serious", "fatal")
# The programme figures a target may be set for (key → label, "count" or "ratio").
METRICS = {
    "achieved_total": ("累计达标企业数", "count"),
    "achieved_ratio": ("小微企业达标率", "ratio"),
    "key_industry_ratio": ("重点行业达标率", "ratio"),
    "renewed_total": ("期满换证企业数", "count"),
    "renewed_ratio_of_due": ("到期企业换证率", "ratio"),
    "demonstration": ("示范企业数", "count"),
    "lookbacks": ("“回头看”及质量审计企业数", "count"),
    "key_industry_lookbacks": ("重点行业“回头看”企业数", "count"),
    "delisting_ratio": ("摘牌率（摘牌 ÷（换证 + 回头看））", "ratio"),
}


class Certification(TenantOwned, db.Model):
    """An enterprise's standardisation under one scheme, from application to delisting."""

    __tablename__ = "std_certifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "enterprise_id", "scheme"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "reviewer_organisation_id"],
                             ["service_organisations.tenant_id", "service_organisations.id"]),
        CheckConstraint(f"scheme IN ({sql_values(SCHEMES)})", name="scheme"),
        CheckConstraint(f"state IN ({sql_values(STATES)})", name="state"),
        CheckConstraint(f"reviewer IS NULL OR reviewer IN ({sql_values(REVIEWERS)})", name="reviewer"),
        Index("ix_std_certifications_tenant_state", "tenant_id", "state"),
        Index("ix_std_certifications_tenant_expires", "tenant_id", "expires_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16), default="applied")
    applied_on: Mapped[dt.date] = mapped_column(Date)
    self_score: Mapped[decimal.Decimal | None] = mapped_column(Numeric(5, 2))
    self_report: Mapped[str] = mapped_column(Text, default="")
    self_evaluated_on: Mapped[dt.date | None] = mapped_column(Date)
    reviewer: Mapped[str | None] = mapped_column(String(12))
    reviewer_organisation_id: Mapped[int | None] = mapped_column(Integer)
    review_score: Mapped[decimal.Decimal | None] = mapped_column(Numeric(5, 2))
    reviewed_on: Mapped[dt.date | None] = mapped_column(Date)
    certificate_no: Mapped[str | None] = mapped_column(String(60))
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    first_achieved_on: Mapped[dt.date | None] = mapped_column(Date)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    renewed_on: Mapped[dt.date | None] = mapped_column(Date)
    # What the enterprise was when certified (address, industry code, products): a change
    # of any means relocation, rebuilding or a wider scope, and a new review (需重新评审).
    certified_as: Mapped[dict] = mapped_column(JSONType, default=dict)
    rereview_reason: Mapped[str] = mapped_column(String(300), default="")
    demonstration: Mapped[bool] = mapped_column(Boolean, default=False)
    delisting_recommended: Mapped[bool] = mapped_column(Boolean, default=False)
    exempt_reason: Mapped[str] = mapped_column(String(500), default="")
    delisted_on: Mapped[dt.date | None] = mapped_column(Date)
    delisting_reason: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class CertificationEvent(TenantOwned, db.Model):
    """One step of a certification's history."""

    __tablename__ = "std_certification_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "certification_id"],
                             ["std_certifications.tenant_id", "std_certifications.id"]),
        Index("ix_std_events_tenant_certification", "tenant_id", "certification_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certification_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    on: Mapped[dt.date] = mapped_column(Date)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Check(TenantOwned, db.Model):
    """A look-back (回头看) or a quality audit (运行质量审计) of a certified enterprise."""

    __tablename__ = "std_checks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "certification_id"],
                             ["std_certifications.tenant_id", "std_certifications.id"]),
        ForeignKeyConstraint(["tenant_id", "organisation_id"],
                             ["service_organisations.tenant_id", "service_organisations.id"]),
        CheckConstraint(f"kind IN ({sql_values(CHECK_KINDS)})", name="kind"),
        CheckConstraint(f"conclusion IN ({sql_values(CONCLUSIONS)})", name="conclusion"),
        Index("ix_std_checks_tenant_certification", "tenant_id", "certification_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certification_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    organisation_id: Mapped[int | None] = mapped_column(Integer)  # else the bureau
    checked_on: Mapped[dt.date] = mapped_column(Date)
    conclusion: Mapped[str] = mapped_column(String(20))
    rectify_by: Mapped[dt.date | None] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Accident(TenantOwned, db.Model):
    """A production safety accident of an enterprise (the core record; the ledgers add the
    investigation)."""

    __tablename__ = "accidents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        CheckConstraint(f"severity IN ({sql_values(SEVERITIES)})", name="severity"),
        CheckConstraint("injured >= 0 AND deaths >= 0", name="counts"),
        Index("ix_accidents_tenant_enterprise", "tenant_id", "enterprise_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(8))
    injured: Mapped[int] = mapped_column(Integer, default=0)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    # The investigation (事故调查, the ledgers'): causes, measures taken, who was held
    # accountable, when it was concluded; the report file is evidence attached to it.
    causes: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    accountability: Mapped[str] = mapped_column(Text, default="")
    investigated_on: Mapped[dt.date | None] = mapped_column(Date)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Target(TenantOwned, db.Model):
    """A programme target of a year: city-wide (no area) or an area's share."""

    __tablename__ = "std_targets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        CheckConstraint(f"metric IN ({sql_values(METRICS)})", name="metric"),
        CheckConstraint("value >= 0", name="value"),
        UniqueConstraint("tenant_id", "year", "area_id", "metric", postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(30))
    value: Mapped[decimal.Decimal] = mapped_column(Numeric(12, 4))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class EnterpriseClass(TenantOwned, db.Model):
    """An enterprise's supervision class (ABCD), as the tenant's plugin classified it."""

    __tablename__ = "enterprise_classes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "enterprise_id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        Index("ix_enterprise_classes_tenant_code", "tenant_id", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(300), default="")
    inspections_per_year: Mapped[int | None] = mapped_column(Integer)
    classified_on: Mapped[dt.date] = mapped_column(Date)
