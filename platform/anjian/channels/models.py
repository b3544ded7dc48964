"""The tables of notification channels: a tenant's channels, who hears of which event on
which channel (the tenant's rules and each user's preferences), and the delivery log."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from anjian.channels.kinds import EVENTS
from anjian.clock import utcnow
from anjian.db import JSONType, UTCDateTime, sql_values
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned

QUEUED, SENT, RETRYING, FAILED = "queued", "sent", "retrying", "failed"
DELIVERY_STATUSES = {QUEUED: "排队中", SENT: "已发送", RETRYING: "待重试", FAILED: "失败"}


class Channel(TenantOwned, db.Model):
    """A channel of one tenant: its kind (``email``, ``wecom``, a plugin's ...), its settings
    (validated by the kind) and secrets (used by the sender, never answered in full)."""

    __tablename__ = "channels"
    __audit_redact__ = frozenset({"secrets"})
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    secrets: Mapped[dict] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class ChannelRule(TenantOwned, db.Model):
    """One event on one channel: the tenant's (``user_id`` None: to the channel's own
    recipients, and with ``enterprise_contacts`` to the enterprise concerned) or one
    user's preference (to their ``address`` on a personal channel)."""

    __tablename__ = "channel_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"],
                             ondelete="CASCADE"),
        CheckConstraint(f"event IN ({sql_values(EVENTS)})", name="event"),
        Index("ix_channel_rules_tenant_event", "tenant_id", "event"),
        Index("ix_channel_rules_tenant_user", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    event: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200), default="")
    enterprise_contacts: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Delivery(TenantOwned, db.Model):
    """One message on one channel to one address (or the channel's recipients): the
    delivery log. Its attempts and errors are the log itself, not audited row by row."""

    __tablename__ = "channel_deliveries"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"],
                             ondelete="CASCADE"),
        CheckConstraint(f"status IN ({sql_values(DELIVERY_STATUSES)})", name="status"),
        Index("ix_channel_deliveries_tenant_created", "tenant_id", "created_at"),
        Index("ix_channel_deliveries_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    recipient: Mapped[str] = mapped_column(String(200), default="")
    # Who or what it is for: "user:<id>", "enterprise:<id>" or "channel" (its recipients).
    audience: Mapped[str] = mapped_column(String(40), default="channel")
    data: Mapped[dict] = mapped_column(JSONType, default=dict)  # hazard_id, report_id, ...
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(32))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_attempt_at = mapped_column(UTCDateTime)
    next_attempt_at = mapped_column(UTCDateTime)
    sent_at = mapped_column(UTCDateTime)

    @property
    def status_label(self) -> str:
        return DELIVERY_STATUSES.get(self.status, self.status)
