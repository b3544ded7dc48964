"""Login, the caller's own tokens, users (platform) and members (tenant) over HTTP."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, request
from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.context import keep, request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.audit.service import record_event
from anjian.auth import invitations, service
from anjian.auth.models import ApiToken, Invitation, Membership, User
from anjian.auth.schemas import (
    InvitationAcceptSchema,
    InvitationCreateSchema,
    InvitationQuerySchema,
    InvitationRegisterSchema,
    InvitationSchema,
    IssuedInvitationSchema,
    IssuedTokenSchema,
    LoginSchema,
    MemberCreateSchema,
    MemberPasswordSchema,
    MembershipSchema,
    MemberUpdateSchema,
    MeSchema,
    PasswordChangedSchema,
    PasswordChangeSchema,
    ReasonSchema,
    TokenCreateSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)
from anjian.clock import utcnow
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.permissions import allows
from anjian.tenancy.models import Area, Tenant
from anjian.tenancy.scope import Scope, set_scope

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="登录、令牌、用户与成员")


def _issued(token, secret):
    token.token = secret  # transient: answered once, never stored
    return token


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(201, IssuedTokenSchema)
@requires("session.login")
def login(data):
    """用户名密码登录，返回访问令牌（只显示一次）"""
    address = request.remote_addr or "unknown"
    try:
        user, token, secret = service.password_login(
            data["username"], data["password"], address, current_app.config
        )
    except service.Throttled as exc:
        record_event(db.engine, action="auth.login_throttled", detail=data["username"][:80],
                     request_id=g.request_id)
        problem(429, "登录失败次数过多，请稍后再试", headers={"Retry-After": str(exc.retry_after)})
    except service.AuthError as exc:
        record_event(db.engine, action="auth.login_failed", detail=data["username"][:80],
                     request_id=g.request_id)
        problem(401, exc.reason)
    set_scope(db.session, Scope.platform_scope(user.id))
    db.session.commit()
    return _issued(token, secret)


def _memberships(user: User) -> list[dict]:
    rows = db.session.execute(
        select(Membership, Tenant).join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user.id).order_by(Tenant.code)
    ).all()
    return [{"id": m.id, "tenant_code": t.code, "tenant_name": t.name, "user_id": user.id,
             "username": user.username, "role": m.role, "disabled_at": m.disabled_at}
            for m, t in rows]


@blp.route("/me")
@blp.response(200, MeSchema)
@requires("account.read")
def me():
    """当前用户及其所属租户"""
    g.user.memberships = _memberships(g.user)  # transient, for the response only
    return g.user


@blp.route("/me/tokens")
@blp.response(200, TokenSchema(many=True))
@requires("token.manage")
def my_tokens():
    """我的访问令牌（不含明文）"""
    return db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == g.user.id).order_by(ApiToken.id)
    ).all()


@blp.route("/me/tokens", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, IssuedTokenSchema)
@requires("token.manage")
def create_token(data):
    """新建 API 令牌（明文只显示一次）"""
    days = data.get("expires_in_days")
    expires = utcnow() + dt.timedelta(days=days) if days else None
    token, secret = service.issue_token(g.user, data["name"], expires)
    db.session.commit()
    return _issued(token, secret)


@blp.route("/me/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@requires("token.manage")
def revoke_token(token_id):
    """撤销我的一个令牌，立即生效"""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != g.user.id:
        problem(404, "令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()


def _request_token() -> str | None:
    """The bearer token this request came with (the guard checked it)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


@blp.route("/me/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(200, PasswordChangedSchema)
@requires("account.password")
def change_password(data):
    """修改我的密码：须提供当前密码；新密码 10–200 个字符，至少包含字母、数字、符号中的两类，
    不能包含用户名。成功后本次请求所用令牌继续有效，我的其他令牌（其他设备的登录）全部撤销。
    当前密码错误计入登录失败次数，过多时答 429。"""
    address = request.remote_addr or "unknown"
    try:
        revoked = service.change_password(request_context(), g.user, data["current_password"],
                                          data["new_password"], address, current_app.config,
                                          _request_token())
    except service.Throttled as exc:
        record_event(db.engine, action="auth.password_change_throttled", actor_user_id=g.user.id,
                     detail=g.user.username, request_id=g.request_id)
        problem(429, "密码错误次数过多，请稍后再试", headers={"Retry-After": str(exc.retry_after)})
    db.session.commit()
    return {"tokens_revoked": revoked,
            "detail": f"密码已修改；已撤销其他令牌 {revoked} 个，本次使用的令牌仍然有效"}


@blp.route("/users")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(UserSchema))
@requires("user.manage")
def list_users(args):
    """所有用户（平台管理员）"""
    return paginate(select(User).order_by(User.username), args["page"], args["per_page"])


@blp.route("/users", methods=["POST"])
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@requires("user.manage")
def create_user(data):
    """新建用户（平台管理员）"""
    if db.session.scalar(select(User.id).where(User.username == data["username"])):
        problem(409, "用户名已存在", errors={"username": ["用户名已存在"]})
    user = service.create_user(data["username"], data["password"], data["display_name"],
                               data["is_platform_admin"])
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@requires("user.manage")
def update_user(data, user_id):
    """修改用户：停用后其全部令牌立即失效（平台管理员）"""
    user = get_or_404(User, user_id, "用户")
    if "password" in data:
        user.password_hash = service.hash_password(data.pop("password"))
    for key, value in data.items():
        setattr(user, key, value)
    db.session.commit()
    return user


# --- members of a tenant ------------------------------------------------------

def _member_out(m: Membership, tenant: Tenant | None = None, username: str | None = None) -> dict:
    """A membership as answered (``username``: its user's, when the caller read it along)."""
    tenant = tenant or g.tenant
    if username is None:
        username = db.session.get(User, m.user_id).username
    return {"id": m.id, "tenant_code": tenant.code, "tenant_name": tenant.name,
            "user_id": m.user_id, "username": username, "role": m.role,
            "enterprise_id": m.enterprise_id, "area_id": m.area_id, "disabled_at": m.disabled_at}


def _member_enterprise(data) -> int | None:
    """An enterprise user names the enterprise of this tenant it acts for; nobody else does."""
    enterprise_id = data.get("enterprise_id")
    if not allows(data["role"], "enterprise.read_own"):  # the role acting for one enterprise
        if enterprise_id is not None:
            problem(422, "只有企业用户可以关联企业", errors={"enterprise_id": ["只有企业用户可以关联企业"]})
        return None
    if enterprise_id is None:
        problem(422, "企业用户须指定所属企业", errors={"enterprise_id": ["企业用户须指定所属企业"]})
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None or enterprise.deleted_at is not None:
        problem(422, "所属企业不存在", errors={"enterprise_id": ["所属企业不存在"]})
    return enterprise_id


def _member_area(data) -> int | None:
    """A member may be given an area of this tenant (a safety officer's grid); an
    enterprise user acts for its enterprise instead."""
    area_id = data.get("area_id")
    if area_id is None:
        return None
    if allows(data["role"], "enterprise.read_own"):
        problem(422, "企业用户不能指定负责区域", errors={"area_id": ["企业用户不能指定负责区域"]})
    if db.session.get(Area, area_id) is None:
        problem(422, "区域不存在", errors={"area_id": ["区域不存在"]})
    return area_id


@blp.route("/tenants/<tenant_code>/members")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(MembershipSchema))
@requires("member.manage")
def list_members(args, tenant_code):
    """本租户成员，含停用状态（state_label：在用 / 已停用）"""
    page = paginate(
        select(Membership, User.username).join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == g.tenant.id).order_by(Membership.id),
        args["page"], args["per_page"], scalars=False,
    )
    page["items"] = [_member_out(m, username=username) for m, username in page["items"]]
    return page


# What a tenant admin is told when the username names no user it may add: the same for a
# username nobody has and for a user of another tenant (neither is attached, and whether
# the username exists is not told).
NOT_ADDABLE = "没有可添加的该用户：新用户请同时设置密码；已有账号的用户由平台管理员添加"


@blp.route("/tenants/<tenant_code>/members", methods=["POST"])
@blp.arguments(MemberCreateSchema)
@blp.response(201, MembershipSchema)
@requires("member.manage")
def add_member(data, tenant_code):
    """添加成员：带密码新建用户；已有账号的用户只能由平台管理员按用户名添加，其他情况请发送邀请。企业用户须指定所属企业

    租户管理员按用户名添加已有账号（不论其是否存在、属于哪个租户）时一律答 422，
    既不会把其他租户的用户加入本租户，也不透露该用户名是否存在。租户管理员新建的账号，
    用户名须以本单位代码和“-”开头（如 hbs-zhangsan）：用户名全平台唯一，被占用时答 409，
    而这只可能是本单位名下的用户名，不会透露其他单位有哪些用户。"""
    enterprise_id = _member_enterprise(data)
    area_id = _member_area(data)
    if data.get("password") and not g.user.is_platform_admin:
        prefix = f"{g.tenant.code}-"
        if not data["username"].lower().startswith(prefix.lower()):
            message = (f"本单位新建的账号，用户名须以“{prefix}”开头（如 {prefix}zhangsan）；"
                       "已有账号的人员请发送邀请")
            problem(422, message, errors={"username": [message]})
    user = db.session.scalar(select(User).where(User.username == data["username"]))
    if user is not None and db.session.scalar(select(Membership.id).where(
            Membership.user_id == user.id, Membership.tenant_id == g.tenant.id)):
        problem(409, "该用户已是本租户成员")  # this tenant's members: the admin lists them anyway
    if data.get("password"):
        if user is not None:
            problem(409, "该用户名已被占用，请换一个", errors={"username": ["用户名已被占用"]})
        user = service.create_user(data["username"], data["password"], data["display_name"])
    elif user is None or not g.user.is_platform_admin:
        problem(422, NOT_ADDABLE, errors={"username": [NOT_ADDABLE]})
    member = Membership(user_id=user.id, role=data["role"], enterprise_id=enterprise_id, area_id=area_id)
    db.session.add(member)
    db.session.commit()
    return _member_out(member)


def _tenant_member(member_id) -> Membership:
    member = get_or_404(Membership, member_id, "成员")
    if member.tenant_id != g.tenant.id:  # the caller's own membership elsewhere
        problem(404, "成员不存在")
    return member


@blp.route("/tenants/<tenant_code>/members/<int:member_id>", methods=["PATCH"])
@blp.arguments(MemberUpdateSchema)
@blp.response(200, MembershipSchema)
@requires("member.manage")
def update_member(data, tenant_code, member_id):
    """修改成员角色及负责区域"""
    member = _tenant_member(member_id)
    member.enterprise_id = _member_enterprise(data)
    member.area_id = _member_area(data)
    member.role = data["role"]
    db.session.commit()
    return _member_out(member)


@blp.route("/tenants/<tenant_code>/members/<int:member_id>", methods=["DELETE"])
@blp.response(204)
@requires("member.manage")
def remove_member(tenant_code, member_id):
    """移除成员，下一次请求起生效"""
    member = _tenant_member(member_id)
    db.session.delete(member)
    db.session.commit()


@blp.route("/tenants/<tenant_code>/members/<int:member_id>/password", methods=["POST"])
@blp.arguments(MemberPasswordSchema)
@blp.response(204)
@requires("member.reset_password")
def reset_member_password(data, tenant_code, member_id):
    """重置成员密码：仅限只属于本租户、且不是平台管理员的成员（其他情况由平台管理员处理）；
    该成员的全部令牌随之撤销。自己的密码请用“修改我的密码”。"""
    member = _tenant_member(member_id)
    service.reset_member_password(request_context(), member, data["new_password"])
    db.session.commit()


@blp.route("/tenants/<tenant_code>/members/<int:member_id>/disable", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, MembershipSchema)
@requires("member.manage")
def disable_member(data, tenant_code, member_id):
    """停用成员：保留其角色与记录，自其下一次请求起不能访问本租户（不能停用自己）"""
    member = service.set_member_disabled(request_context(), _tenant_member(member_id), True,
                                         data.get("reason", ""))
    db.session.commit()
    return _member_out(member)


@blp.route("/tenants/<tenant_code>/members/<int:member_id>/enable", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, MembershipSchema)
@requires("member.manage")
def enable_member(data, tenant_code, member_id):
    """重新启用已停用的成员"""
    member = service.set_member_disabled(request_context(), _tenant_member(member_id), False,
                                         data.get("reason", ""))
    db.session.commit()
    return _member_out(member)


# --- invitations ------------------------------------------------------------------------

def _with_state(invitation: Invitation, now) -> Invitation:
    invitation.state = invitations.state_of(invitation, now)  # transient, for the response
    return invitation


@blp.route("/tenants/<tenant_code>/invitations")
@blp.arguments(InvitationQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(InvitationSchema))
@requires("invitation.manage")
def list_invitations(query, pages, tenant_code):
    """本租户的邀请及其状态：待接受、已接受、已撤销、已过期（令牌不再显示）"""
    now = request_context().now()
    stmt = select(Invitation).order_by(Invitation.id.desc())
    if query.get("state"):
        stmt = stmt.where(invitations.state_clause(query["state"], now))
    page = paginate(stmt, pages["page"], pages["per_page"])
    page["items"] = [_with_state(i, now) for i in page["items"]]
    return page


@blp.route("/tenants/<tenant_code>/invitations", methods=["POST"])
@blp.arguments(InvitationCreateSchema)
@blp.response(201, IssuedInvitationSchema)
@requires("invitation.manage")
def create_invitation(data, tenant_code):
    """邀请成员：指定角色（企业用户须指定所属企业，可指定负责区域），得到一次性邀请令牌
    （只显示这一次，默认 7 天内有效）。被邀请人登录后接受，或凭令牌自行设置用户名和密码加入。"""
    enterprise_id = _member_enterprise(data)
    area_id = _member_area(data)
    ctx = request_context()
    invitation, token = invitations.invite(
        ctx, role=data["role"], enterprise_id=enterprise_id, area_id=area_id,
        display_name=data["display_name"], note=data["note"], days=data["expires_in_days"])
    db.session.commit()
    invitation.token = token  # transient: answered once, never stored
    return _with_state(invitation, ctx.now())


@blp.route("/tenants/<tenant_code>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, InvitationSchema)
@requires("invitation.manage")
def revoke_invitation(data, tenant_code, invitation_id):
    """撤销邀请：其令牌从此不能再用（已接受的邀请不能撤销）"""
    ctx = request_context()
    invitation = invitations.revoke(ctx, get_or_404(Invitation, invitation_id, "邀请"),
                                    data.get("reason", ""))
    db.session.commit()
    return _with_state(invitation, ctx.now())


@blp.route("/invitations/accept", methods=["POST"])
@blp.arguments(InvitationAcceptSchema)
@blp.response(201, MembershipSchema)
@requires("invitation.accept")
def accept_invitation(data):
    """接受邀请（已登录）：以当前账号成为邀请所在租户的成员。每个邀请只能接受一次。"""
    member, tenant = invitations.accept(request_context(), g.user, data["token"])
    db.session.commit()
    return _member_out(member, tenant)


@blp.route("/invitations/register", methods=["POST"])
@blp.arguments(InvitationRegisterSchema)
@blp.response(201, MembershipSchema)
@requires("invitation.register")
def register_with_invitation(data):
    """凭邀请注册（无需登录）：设置新的用户名和密码，成为邀请所在租户的成员，之后用该用户名登录。
    每个邀请只能使用一次；用户名已被占用时请换一个。"""
    ctx = keep(Context.for_request(None, None, None, g.request_id))
    member, tenant = invitations.register(ctx, data["token"], data["username"], data["password"],
                                          data["display_name"])
    db.session.commit()
    return _member_out(member, tenant)
