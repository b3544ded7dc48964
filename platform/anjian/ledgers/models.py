"""Enterprise ledgers (台账): the entries of each ledger kind, their history, the tenant's
rule templates and each enterprise's state against them, and the hazards raised for a
ledger duty not met.

An entry's fields live in ``data`` (the kind declares them, ``anjian.ledgers.kinds``);
what the core reasons about is kept in columns: the date that dates the entry
(``dated_on``: a training's or a drill's day, a certificate's issue), its expiry
(``expires_on``), the next review (``review_due_on``) and the reminder already sent.
"""

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

# An enterprise's state against one rule template (规章制度).
RULE_STATUSES = {"present": "已建立", "missing": "缺失", "outdated": "需修订"}
# The history of an entry (or of an accident's investigation).
EVENT_ACTIONS = {"create": "新建", "update": "修改", "delete": "删除", "import": "导入"}


class LedgerEntry(TenantOwned, db.Model):
    """One entry of an enterprise's ledger of one kind (a certified worker, a training, a
    drill, a related party, a post's responsibility list, ...)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        Index("ix_ledger_entries_tenant_kind_enterprise", "tenant_id", "kind", "enterprise_id",
              "dated_on"),
        Index("ix_ledger_entries_tenant_expires", "tenant_id", "expires_on",
              postgresql_where="deleted_at IS NULL AND expires_on IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    dated_on: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    review_due_on: Mapped[dt.date | None] = mapped_column(Date)
    # The smallest "days before" of the kind's reminders already sent for this expiry
    # (reset when the expiry changes), so a reminder is sent once even if a scan is missed.
    reminded_days: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    deleted_at = mapped_column(UTCDateTime, nullable=True)

    __mapper_args__ = {"version_id_col": version}


class LedgerEvent(TenantOwned, db.Model):
    """One change of a ledger entry or of an accident's record: what changed, by whom."""

    __tablename__ = "ledger_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "entry_id"],
                             ["ledger_entries.tenant_id", "ledger_entries.id"]),
        ForeignKeyConstraint(["tenant_id", "accident_id"], ["accidents.tenant_id", "accidents.id"]),
        CheckConstraint("(entry_id IS NULL) <> (accident_id IS NULL)", name="one_subject"),
        CheckConstraint(f"action IN ({sql_values(EVENT_ACTIONS)})", name="action"),
        Index("ix_ledger_events_tenant_entry", "tenant_id", "entry_id"),
        Index("ix_ledger_events_tenant_accident", "tenant_id", "accident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(Integer)
    accident_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    changes: Mapped[dict] = mapped_column(JSONType, default=dict)  # field: [before, after]
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class RuleTemplate(TenantOwned, db.Model):
    """One of the tenant's rule templates (规章制度模板), e.g. the district's 271."""

    __tablename__ = "rule_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(100), default="")
    seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class EnterpriseRule(TenantOwned, db.Model):
    """An enterprise's state against one rule template: present, missing or outdated, with
    the date it was last revised."""

    __tablename__ = "enterprise_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "enterprise_id", "template_id"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "template_id"],
                             ["rule_templates.tenant_id", "rule_templates.id"]),
        CheckConstraint(f"status IN ({sql_values(RULE_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    revised_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class LedgerFinding(TenantOwned, db.Model):
    """A hazard raised because an enterprise missed a ledger duty in one period: one per
    enterprise, duty and period, so raising again raises nothing twice."""

    __tablename__ = "ledger_findings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "enterprise_id", "duty_key", "period_start"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "hazard_id"], ["hazards.tenant_id", "hazards.id"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    duty_key: Mapped[str] = mapped_column(String(80))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    hazard_id: Mapped[int] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
