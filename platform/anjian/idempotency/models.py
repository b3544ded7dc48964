from __future__ import annotations

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import JSONType, UTCDateTime
from anjian.extensions import db
from anjian.tenancy.scope import TenantOwned


class IdempotencyKey(TenantOwned, db.Model):
    """One client-chosen key of one user in one tenant, and the first answer given for it.

    Keys are per user and tenant: the same key sent by two users is two keys, so that
    nobody is answered with what another user's request made. ``access`` is the caller's
    access when the answer was made (role, enterprise, area, write): a replay to a caller
    whose access has changed since is refused, not answered."""

    __tablename__ = "idempotency_keys"
    __audit__ = False  # the write it protects is audited itself
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "user_id", "key"),
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(Integer)
    access: Mapped[str | None] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body
    state: Mapped[str] = mapped_column(String(12), default="in_progress")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body = mapped_column(JSONType, nullable=True)
    response_location: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
