"""User, Membership, Invitation, ApiToken, LoginFailure."""

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
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import UTCDateTime
from anjian.extensions import db
from anjian.permissions import TENANT_ROLES
from anjian.tenancy.scope import TenantOwned, membership_clause


class User(db.Model):
    """A person. Users are platform-wide; what they may do in a tenant is a Membership."""

    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(300))
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def _role_constraints() -> tuple:
    """A membership's role, with its enterprise or area (new objects for each table)."""
    return (
        CheckConstraint(f"role IN ({', '.join(repr(k) for k in TENANT_ROLES)})", name="role"),
        # An enterprise user belongs to one enterprise of the tenant and sees only it.
        ForeignKeyConstraint(["tenant_id", "enterprise_id"],
                             ["enterprises.tenant_id", "enterprises.id"]),
        CheckConstraint("enterprise_id IS NULL OR role = 'enterprise'", name="enterprise_role"),
        # A member given an area (a 板块, village or grid: a full-time safety officer's
        # grid) sees the enterprises of that area and the areas below it only.
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        CheckConstraint("area_id IS NULL OR role <> 'enterprise'", name="area_role"),
    )


class Membership(TenantOwned, db.Model):
    """A user's role in one tenant."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "user_id"),
        *_role_constraints(),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # A disabled member (停用) keeps the membership (role, history) but has no access to the
    # tenant from its next request: the guard's read scope leaves it out.
    disabled_at = mapped_column(UTCDateTime, nullable=True)

    @classmethod
    def scope_clause(cls, scope, entity=None):
        return membership_clause(cls if entity is None else entity, scope)


class Invitation(TenantOwned, db.Model):
    """An invitation (邀请) to become a member of a tenant with a role, accepted once with
    a token; only the token's SHA-256 is stored (the token is shown once)."""

    __tablename__ = "invitations"
    __audit_redact__ = frozenset({"token_hash"})
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "token_hash"),
        *_role_constraints(),  # what it makes: a membership
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    invited_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at = mapped_column(UTCDateTime, nullable=True)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"
    __audit_redact__ = frozenset({"token_hash"})
    __audit_ignore__ = frozenset({"last_used_at"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=True)
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    last_used_at = mapped_column(UTCDateTime, nullable=True)


class LoginFailure(db.Model):
    """A failed password login, kept to throttle guessing per account and per address."""

    __tablename__ = "login_failures"
    __audit__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
