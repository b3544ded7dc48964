"""AuditEntry: one row per write, denial and failed login; never updated or deleted."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, or_
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import JSONType, UTCDateTime
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned


class AuditEntry(TenantOwned, db.Model):
    __tablename__ = "audit_log"
    __tenant_nullable__ = True  # platform-level events (tenant changes, failed logins)
    __audit__ = False
    # No RETURNING: under RLS a returned row must also be readable, and the writer of a
    # platform-level row (a denial, a failed login) may not read it back.
    __table_args__ = (
        Index("ix_audit_log_tenant_at", "tenant_id", "at"),
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[str | None] = mapped_column(String(80))
    before = mapped_column(JSONType, nullable=True)
    after = mapped_column(JSONType, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[str | None] = mapped_column(String(500))

    @classmethod
    def scope_clause(cls, scope, entity=None):
        entity = cls if entity is None else entity
        ids = tuple(sorted(scope.tenant_ids))
        if scope.platform:
            return or_(entity.tenant_id.in_(ids), entity.tenant_id.is_(None))
        return entity.tenant_id.in_(ids)
