"""Invitations (邀请): how a tenant gains members with their consent.

A tenant administrator invites for a role (with the enterprise or area the membership
would have) and receives a one-time token, shown once, stored as its SHA-256. The
invitee accepts it: a logged-in person becomes a member as who they are; a new person
chooses a username and a password. The tenant never names an existing person, so it
neither attaches anyone without their consent nor learns which usernames exist.

The token names its tenant (``aji_<tenant id>_<secret>``) so that it is looked up in that
tenant's scope, under Row-Level Security like every tenant row; a made-up tenant id finds
no invitation there.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import and_, select

from anjian.audit.service import record_bulk_write, record_event
from anjian.auth.models import Invitation, Membership, User
from anjian.auth.service import create_user, password_problem, token_digest
from anjian.context import Context
from anjian.errors import Conflict, NotFound, Refused
from anjian.extensions import db
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, set_scope

INVITATION_PREFIX = "aji_"
DEFAULT_DAYS = 7
MAX_DAYS = 30

# States, with their Chinese names, as listed.
STATES = {"pending": "待接受", "accepted": "已接受", "revoked": "已撤销", "expired": "已过期"}

INVALID = "邀请链接无效"
USED = "该邀请已被接受，不能再次使用"
REVOKED = "该邀请已被撤销"
EXPIRED = "该邀请已过期，请联系管理员重新邀请"


def state_of(invitation: Invitation, now: dt.datetime) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "pending"


def state_clause(state: str, now: dt.datetime):
    """The invitations in ``state`` at ``now``, as SQL (the list's filter; ``state_of``'s twin)."""
    open_ = and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    return {
        "accepted": Invitation.accepted_at.is_not(None),
        "revoked": and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_not(None)),
        "expired": and_(open_, Invitation.expires_at <= now),
        "pending": and_(open_, Invitation.expires_at > now),
    }[state]


def invite(ctx: Context, *, role: str, enterprise_id: int | None, area_id: int | None,
           display_name: str = "", note: str = "", days: int = DEFAULT_DAYS):
    """A new invitation of the context's tenant; returns (Invitation, token). The token is
    never stored."""
    token = f"{INVITATION_PREFIX}{ctx.tenant_id}_{secrets.token_urlsafe(32)}"
    invitation = Invitation(
        token_hash=token_digest(token), role=role, enterprise_id=enterprise_id, area_id=area_id,
        display_name=display_name, note=note, invited_by=ctx.user_id,
        expires_at=ctx.now() + dt.timedelta(days=days))
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def revoke(ctx: Context, invitation: Invitation, reason: str = "") -> Invitation:
    """Revoke a pending invitation (an expired one too: nothing changes for its holder)."""
    if invitation.accepted_at is not None:
        raise Conflict("该邀请已被接受，不能撤销；如需取消其权限，请停用或移除该成员")
    if invitation.revoked_at is None:
        invitation.revoked_at = ctx.now()
        invitation.revoked_by = ctx.user_id
        record_bulk_write(db.session, tenant_id=ctx.tenant_id, actor_user_id=ctx.user_id,
                          action="invitation.revoked", entity_type="invitation",
                          entity_id=str(invitation.id), after=None, detail=reason or None)
    return invitation


def _tenant_of(token: str) -> int | None:
    """The tenant id the token names, or None for a token of no invitation's shape."""
    if not token.startswith(INVITATION_PREFIX):
        return None
    tenant, _, secret = token[len(INVITATION_PREFIX):].partition("_")
    if not (tenant.isdigit() and 0 < len(tenant) <= 9 and secret):
        return None
    return int(tenant)


def _open(token: str, user_id: int | None, now: dt.datetime) -> Invitation:
    """The pending invitation ``token`` names, locked, with the session's scope now that
    of its tenant (writing, naming ``user_id``); NotFound or Conflict otherwise."""
    tenant_id = _tenant_of(token)
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None or not tenant.is_active:
        raise NotFound(INVALID, field="token")
    set_scope(db.session, Scope.tenant(tenant.id, user_id, write=True))
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == token_digest(token))
        .with_for_update())  # two accepts of one token: the second waits, then sees it used
    if invitation is None:
        raise NotFound(INVALID, field="token")
    state = state_of(invitation, now)
    if state != "pending":
        raise Conflict({"accepted": USED, "revoked": REVOKED, "expired": EXPIRED}[state])
    return invitation


def _join(invitation: Invitation, user: User, now: dt.datetime) -> Membership:
    member = Membership(user_id=user.id, role=invitation.role,
                        enterprise_id=invitation.enterprise_id, area_id=invitation.area_id)
    db.session.add(member)
    invitation.accepted_at = now
    invitation.accepted_by = user.id
    db.session.flush()
    return member


def accept(ctx: Context, user: User, token: str) -> tuple[Membership, Tenant]:
    """A logged-in person accepts: they become a member of the invitation's tenant."""
    invitation = _open(token, user.id, ctx.now())
    if db.session.scalar(select(Membership.id).where(
            Membership.tenant_id == invitation.tenant_id, Membership.user_id == user.id)):
        raise Conflict("你已是该租户的成员，无需接受邀请")
    member = _join(invitation, user, ctx.now())
    return member, db.session.get(Tenant, invitation.tenant_id)


def register(ctx: Context, token: str, username: str, password: str,
             display_name: str = "") -> tuple[Membership, Tenant]:
    """A new person accepts: the user they name is created with their password, and becomes
    a member. A username already taken is refused (as any sign-up must); the attempt is
    in the tenant's audit log, so that probing for usernames with an invitation shows."""
    invitation = _open(token, None, ctx.now())
    problem = password_problem(password, username)
    if problem:
        raise Refused(problem, field="password")
    if db.session.scalar(select(User.id).where(User.username == username)):
        record_event(db.engine, action="invitation.username_taken", tenant_id=invitation.tenant_id,
                     entity_type="invitation", entity_id=str(invitation.id),
                     detail=username[:80], request_id=ctx.request_id)
        raise Conflict("该用户名已被占用，请换一个", field="username")
    user = create_user(username, password, display_name or invitation.display_name)
    set_scope(db.session, Scope.tenant(invitation.tenant_id, user.id, write=True))
    member = _join(invitation, user, ctx.now())
    return member, db.session.get(Tenant, invitation.tenant_id)


__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "STATES", "accept", "invite", "register", "revoke", "state_clause", "state_of"]
