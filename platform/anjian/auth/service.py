"""Passwords, tokens, login throttling, and what a user may do in a tenant."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from anjian.audit.service import record_bulk_write, record_event
from anjian.auth.models import ApiToken, LoginFailure, Membership, User
from anjian.clock import utcnow
from anjian.context import Context, NoContext
from anjian.errors import Forbidden, Refused
from anjian.extensions import db
from anjian.permissions import TENANT_ROLES, allows
from anjian.tenancy.models import Tenant
from anjian.tenancy.rls import READ_SCOPE_FUNCTION
from anjian.tenancy.scope import Scope, adopt, scoped

TOKEN_PREFIX = "ajt_"  # noqa: S105 (a prefix, not a secret)


class AuthError(Exception):
    """Authentication failed; ``reason`` is safe to show, ``code`` is for the audit log."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Throttled(Exception):
    def __init__(self, retry_after: int):
        super().__init__("too many failed logins")
        self.retry_after = retry_after


def hash_password(password: str) -> str:
    # scrypt: memory-hard, Werkzeug's default; the salt and parameters live in the string.
    return generate_password_hash(password, method="scrypt")


def token_digest(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash cannot be brute-forced; it only
    # keeps a database dump from holding a usable token.
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(user: User, name: str = "", expires_at: dt.datetime | None = None):
    """Create a token for ``user``; returns (ApiToken, secret). The secret is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=secret[:12], token_hash=token_digest(secret),
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


# The guard's statements, built once (every request runs them; building one anew costs
# about as much as the scope's work on it): the token and its user, with or without the
# tenant the URL names; the user's memberships. The one with the tenant
# also calls ``anjian_read_scope`` (made by migration 0009): it gives the
# transaction the read scope of that tenant and user, then reads the user's memberships
# under it, so that the whole guard is one round trip.
# The token is read as the two columns that decide (an entity more to load on every
# request was ~10 % of the statement's time).
_TOKEN_USER = (select(User, ApiToken.revoked_at, ApiToken.expires_at).select_from(ApiToken)
               .join(User, User.id == ApiToken.user_id)
               .where(ApiToken.token_hash == bindparam("token_hash")))
_TOKEN_USER_TENANT = _TOKEN_USER.add_columns(Tenant).outerjoin(
    Tenant, Tenant.code == bindparam("tenant_code"))
_TOKEN_USER_TENANT_SCOPED = _TOKEN_USER_TENANT.add_columns(
    getattr(func, READ_SCOPE_FUNCTION)(Tenant.id, User.id))
_MEMBERSHIPS = select(Membership).where(Membership.user_id == bindparam("user_id"),
                                        Membership.disabled_at.is_(None))


class Bearer(NamedTuple):
    """Who a request's token says it is: the user, the URL's tenant (None: no such
    tenant) and, when already read with them, the user's memberships."""

    user: User
    tenant: Tenant | None
    memberships: list[tuple[int, str, int | None]] | None = None  # (tenant, role, enterprise)


def user_from_token(secret: str | None, tenant_code: str | None = None) -> Bearer:
    """The token's user, and the tenant named ``tenant_code``, read with the token in
    one statement (tenants are a platform table).

    With a tenant, the session's scope is then that tenant's, read-only, naming the
    user; the same statement gave it to the transaction and read the
    user's memberships under it. A refused token ends the transaction instead."""
    if not secret:
        raise AuthError("缺少访问令牌", "missing_token")
    params = {"token_hash": token_digest(secret)}
    if tenant_code is None:
        row = db.session.execute(_TOKEN_USER, params).first()
    else:
        params["tenant_code"] = tenant_code
        row = db.session.execute(_TOKEN_USER_TENANT_SCOPED, params).first()
    if row is None:
        raise AuthError("访问令牌无效", "invalid_token")
    user, revoked_at, expires_at = row[0], row[1], row[2]
    now = utcnow()
    refused = None
    if revoked_at is not None:
        refused = AuthError("访问令牌已被撤销", "revoked_token")
    elif expires_at is not None and expires_at <= now:
        refused = AuthError("访问令牌已过期", "expired_token")
    elif not user.is_active:
        refused = AuthError("用户已停用", "disabled_user")
    if refused is not None:
        db.session.rollback()  # its settings name a refused user
        raise refused
    if tenant_code is None:
        return Bearer(user, None)
    tenant = row[3]
    read = row[4]
    adopt(db.session, Scope.tenant(tenant.id, user.id, write=False) if tenant else None,
          read["settings"])
    memberships = [(m["tenant_id"], m["role"], m["enterprise_id"], m.get("area_id"))
                   for m in read["memberships"]]
    return Bearer(user, tenant, memberships)


def _recent_failures(column, value, since):
    return db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(column == value, LoginFailure.at >= since)
    )


def check_throttle(username: str, address: str, config) -> None:
    window = config["ANJIAN_LOGIN_WINDOW_SECONDS"]
    since = utcnow() - dt.timedelta(seconds=window)
    if (
        _recent_failures(LoginFailure.username, username, since)
        >= config["ANJIAN_LOGIN_MAX_FAILURES_PER_USER"]
        or _recent_failures(LoginFailure.address, address, since)
        >= config["ANJIAN_LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        raise Throttled(retry_after=window)


_dummy_hash: str | None = None


def _dummy_password_hash() -> str:
    """A real scrypt hash to check against when there is no user, made once per process."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def password_login(username: str, password: str, address: str, config):
    """Check a password; returns (user, token, secret). Failures are recorded for throttling.

    An unknown, disabled or password-less user costs the same scrypt check as a wrong
    password, so that response times do not tell which usernames exist.
    """
    check_throttle(username, address, config)
    user = db.session.scalar(select(User).where(User.username == username))
    usable = user is not None and user.is_active and user.password_hash is not None
    matches = check_password_hash(user.password_hash if usable else _dummy_password_hash(),
                                  password)
    ok = usable and matches
    if not ok:
        db.session.add(LoginFailure(username=username[:80], address=address[:64]))
        db.session.commit()
        raise AuthError("用户名或密码错误", "bad_password")
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    hours = config["ANJIAN_LOGIN_TOKEN_HOURS"]
    token, secret = issue_token(user, name="login", expires_at=utcnow() + dt.timedelta(hours=hours))
    return user, token, secret


def create_user(username: str, password: str | None = None, display_name: str = "",
                platform_admin: bool = False) -> User:
    user = User(
        username=username, display_name=display_name or username,
        password_hash=hash_password(password) if password else None,
        is_platform_admin=platform_admin,
    )
    db.session.add(user)
    db.session.flush()
    return user


# --- passwords people set and reset -------------------------------------------------

PASSWORD_MIN = 10
PASSWORD_MAX = 200


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` may not be chosen by ``username`` (Chinese), or None: 10–200
    characters, at least two of letters, digits and other characters, not containing
    the username. Checked wherever a person sets a password through the accounts
    routes (their own, a reset, an invitation)."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return f"密码长度须为 {PASSWORD_MIN}–{PASSWORD_MAX} 个字符"
    kinds = (any(c.isalpha() for c in password) + any(c.isdigit() for c in password)
             + any(not c.isalnum() for c in password))
    if kinds < 2:
        return "密码须包含字母、数字、符号中的至少两类"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名"
    return None


def _check_new_password(password: str, username: str, field: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise Refused(problem, field=field)


def _revoke_tokens(user_id: int, keep_hash: str | None = None) -> int:
    """Revoke the user's live tokens but the one ``keep_hash`` names; how many."""
    now = utcnow()
    tokens = db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))).all()
    count = 0
    for token in tokens:
        if token.token_hash != keep_hash and (token.expires_at is None or token.expires_at > now):
            token.revoked_at = now
            count += 1
    return count


def change_password(ctx: Context, user: User, current: str, new: str, address: str, config,
                    keep_token: str | None) -> int:
    """The user changes their own password; the current one is required. Every other token
    of theirs is revoked (the one this request came with stays); returns how many.

    A wrong current password counts as a failed login of that account and address (so a
    stolen token cannot guess it faster than a login can) and is committed as such."""
    check_throttle(user.username, address, config)
    if user.password_hash is None or not check_password_hash(user.password_hash, current):
        db.session.rollback()
        db.session.add(LoginFailure(username=user.username[:80], address=address[:64]))
        db.session.commit()
        record_event(db.engine, action="account.password_change_failed", actor_user_id=user.id,
                     entity_type="user", entity_id=str(user.id), detail="当前密码不正确",
                     request_id=ctx.request_id)
        raise Refused("当前密码不正确", field="current_password")
    if new == current:
        raise Refused("新密码不能与当前密码相同", field="new_password")
    _check_new_password(new, user.username, "new_password")
    user.password_hash = hash_password(new)
    revoked = _revoke_tokens(user.id, token_digest(keep_token) if keep_token else None)
    record_bulk_write(db.session, tenant_id=None, actor_user_id=ctx.user_id,
                      action="account.password_changed", entity_type="user",
                      entity_id=str(user.id), after={"tokens_revoked": revoked},
                      detail=f"{user.username} 修改了自己的密码")
    return revoked


OTHER_TENANT = "该用户还属于其他租户，请联系平台管理员"


def _belongs_elsewhere(user_id: int, tenant_id: int) -> bool:
    """Whether the user is a member (enabled or not) of a tenant other than ``tenant_id``.
    Read under a scope naming that user (RLS shows a user's own memberships): the answer
    only decides, and is told as OTHER_TENANT; no row of another tenant is loaded."""
    with scoped(db.session, Scope(frozenset({tenant_id}), None, user_id)):
        return bool(db.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.user_id == user_id, Membership.tenant_id != tenant_id)))


def reset_member_password(ctx: Context, member: Membership, new: str) -> int:
    """A tenant administrator sets a member's password; every token of the member is
    revoked (returns how many). Only for a member who belongs to this tenant alone and is
    no platform administrator; a platform administrator may always. One's own password is
    changed with the current one instead."""
    user = db.session.get(User, member.user_id)
    if user.id == ctx.user_id:
        raise Refused("请在“我的账号”中修改自己的密码（需提供当前密码）")
    by_platform = ctx.access is not None and ctx.access.via == "platform"
    if not by_platform:
        if user.is_platform_admin:
            raise Forbidden("该用户是平台管理员，其密码只能由本人或平台管理员修改")
        if _belongs_elsewhere(user.id, ctx.tenant_id):
            raise Forbidden(OTHER_TENANT)
    _check_new_password(new, user.username, "new_password")
    user.password_hash = hash_password(new)
    revoked = _revoke_tokens(user.id)
    record_bulk_write(db.session, tenant_id=ctx.tenant_id, actor_user_id=ctx.user_id,
                      action="member.password_reset", entity_type="membership",
                      entity_id=str(member.id), after={"user_id": user.id, "tokens_revoked": revoked},
                      detail=f"重置了成员 {user.username} 的密码")
    return revoked


def set_member_disabled(ctx: Context, member: Membership, disabled: bool,
                        reason: str = "") -> Membership:
    """Disable (停用) or re-enable a member of this tenant; from the member's next request
    the guard no longer (or again) gives them access. Nobody disables themselves; doing
    what is done already changes nothing (and logs nothing)."""
    if disabled and member.user_id == ctx.user_id:
        raise Refused("不能停用自己")
    if disabled == (member.disabled_at is not None):
        return member
    member.disabled_at = utcnow() if disabled else None
    record_bulk_write(db.session, tenant_id=ctx.tenant_id, actor_user_id=ctx.user_id,
                      action="member.disabled" if disabled else "member.enabled",
                      entity_type="membership", entity_id=str(member.id),
                      after={"user_id": member.user_id}, detail=reason or None)
    return member


@dataclass(frozen=True)
class Access:
    """What a user may do in one tenant: an effective role, and whether it may write."""

    role: str
    can_write: bool
    via: str  # "platform", "member" or "ancestor"
    enterprise_id: int | None = None  # the one enterprise an enterprise user acts for
    area_id: int | None = None  # the area (with those below it) a member's enterprises are in


def ancestors(tenant: Tenant, limit: int = 16) -> list[Tenant]:
    out, seen, current = [], {tenant.id}, tenant
    while current.parent_id is not None and len(out) < limit:
        current = db.session.get(Tenant, current.parent_id)
        if current is None or current.id in seen:
            break
        seen.add(current.id)
        out.append(current)
    return out


def tenant_access(user: User, tenant: Tenant,
                  memberships: list[tuple[int, str, int | None, int | None]] | None = None
                  ) -> Access | None:
    """A user's access to a tenant; None means the tenant does not exist for them.

    Platform admins act as tenant admins everywhere (to bootstrap a tenant), also in
    a deactivated tenant, which is gone for everyone else. A member of an ancestor
    tenant reads as a viewer and never writes. The user's memberships, (tenant, role,
    enterprise, area), are those the guard's statement read, or read here in one
    statement, under a scope that names the user (RLS lets a user see its own).
    """
    if user.is_platform_admin:
        return Access("tenant_admin", True, "platform")
    if not tenant.is_active:
        return None
    if memberships is None:
        memberships = [(m.tenant_id, m.role, m.enterprise_id, m.area_id)
                       for m in db.session.scalars(_MEMBERSHIPS, {"user_id": user.id})]
    own = {tenant_id: (role, enterprise_id, area_id)
           for tenant_id, role, enterprise_id, area_id in memberships}
    if tenant.id in own:
        role, enterprise_id, area_id = own[tenant.id]
        return Access(role, True, "member", enterprise_id, area_id)
    for ancestor in ancestors(tenant):
        if ancestor.id in own and allows(own[ancestor.id][0], "tenant.read_descendants"):
            return Access("viewer", False, "ancestor")
    return None


def acting_in(tenant, user_id: int | None) -> Context:
    """The context of ``user_id`` acting in ``tenant`` (a Tenant or its TenantInfo) where no
    guard built one (a plugin writing for the user a hook named): their access as the guard
    reads it; no user is the system. A user without access has no context (fails closed)."""
    if user_id is None:
        return Context.for_system(tenant)
    user = db.session.get(User, user_id)
    row = db.session.get(Tenant, tenant.id)
    access = tenant_access(user, row) if user is not None and row is not None else None
    if access is None:
        raise NoContext(f"user {user_id} has no access to tenant {tenant.id}")
    return Context(tenant.id, user_id, access, source=tenant)


__all__ = ["TENANT_ROLES", "Access", "AuthError", "Throttled"]
