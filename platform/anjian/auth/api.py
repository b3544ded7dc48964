"""Login, the caller's own tokens, users (platform) and members (tenant) over HTTP."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, request
from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.audit.service import record_event
from anjian.auth import service
from anjian.auth.models import ApiToken, Membership, User
from anjian.auth.schemas import (
    IssuedTokenSchema,
    LoginSchema,
    MemberCreateSchema,
    MembershipSchema,
    MemberUpdateSchema,
    MeSchema,
    TokenCreateSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)
from anjian.clock import utcnow
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
             "username": user.username, "role": m.role} for m, t in rows]


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

def _member_out(m: Membership) -> dict:
    user = db.session.get(User, m.user_id)
    return {"id": m.id, "tenant_code": g.tenant.code, "tenant_name": g.tenant.name,
            "user_id": m.user_id, "username": user.username, "role": m.role,
            "enterprise_id": m.enterprise_id, "area_id": m.area_id}


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
    """本租户成员"""
    page = paginate(
        select(Membership).where(Membership.tenant_id == g.tenant.id).order_by(Membership.id),
        args["page"], args["per_page"],
    )
    page["items"] = [_member_out(m) for m in page["items"]]
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
    """添加成员：带密码新建用户；已有账号的用户只能由平台管理员按用户名添加。企业用户须指定所属企业

    租户管理员按用户名添加已有账号（不论其是否存在、属于哪个租户）时一律答 422，
    既不会把其他租户的用户加入本租户，也不透露该用户名是否存在；
    带密码新建时用户名已被占用答 409（用户名全平台唯一）。"""
    enterprise_id = _member_enterprise(data)
    area_id = _member_area(data)
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
