"""Access links (企业访问链接): a secret link an enterprise contact without an account uses
to deal with one enterprise's hazards and a self-inspection, and the tenant's link policy."""

from __future__ import annotations

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import UTCDateTime
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned

DEFAULT_VALID_DAYS = 14
MAX_VALID_DAYS = 90


class AccessLink(TenantOwned, db.Model):
    """One link: its scope is one enterprise, optionally one campaign or one hazard, and the
    self-inspection checklist (``template_key``) it names; the secret is stored as its
    digest only, like an API token's."""

    __tablename__ = "access_links"
    __audit_redact__ = frozenset({"token_hash"})
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "token_hash"),
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        ForeignKeyConstraint(["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"]),
        ForeignKeyConstraint(["tenant_id", "hazard_id"], ["hazards.tenant_id", "hazards.id"]),
        ForeignKeyConstraint(["tenant_id", "inspection_id"],
                             ["inspections.tenant_id", "inspections.id"]),
        Index("ix_access_links_tenant_enterprise", "tenant_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(12))  # shown, to tell links apart
    enterprise_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    hazard_id: Mapped[int | None] = mapped_column(Integer)
    # The checklist of the self-inspection the link names, and that inspection once started.
    template_key: Mapped[str | None] = mapped_column(String(80))
    inspection_id: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str] = mapped_column(String(50), default="")  # whom it was given to
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AccessLinkPolicy(TenantOwned, db.Model):
    """A tenant's rules for its links (one row at most; none: the defaults)."""

    __tablename__ = "access_link_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    valid_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_VALID_DAYS)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
