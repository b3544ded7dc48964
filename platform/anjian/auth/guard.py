"""The request guard: request id, authentication, tenant resolution, policy, scope.

Runs before every view. The tenant is resolved once from ``<tenant_code>`` in
the URL; a tenant the caller has no access to answers 404, exactly like a
tenant that does not exist, and the denial is written to the audit log.
"""

from __future__ import annotations

import logging
import uuid

from flask import current_app, g, request

from anjian import observability
from anjian.api import idempotency
from anjian.api.context import keep
from anjian.api.policy import (
    AUTHENTICATED,
    LIBRARY_ENDPOINTS,
    PLATFORM_ADMIN,
    READ_METHODS,
    policy_of,
)
from anjian.api.problems import problem
from anjian.audit.service import REQUEST_ID_KEY, record_event
from anjian.auth.service import AuthError, tenant_access, user_from_token
from anjian.context import Context
from anjian.extensions import PLUGINS_KEY, db
from anjian.links import guard as links_guard
from anjian.tenancy.scope import Scope, set_scope

log = logging.getLogger(__name__)


def _request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    if given and len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return uuid.uuid4().hex


def deny(status: int, detail: str, code: str, tenant_id=None):
    """Log a denial in its own transaction, then answer with a problem."""
    user = g.get("user")
    record_event(
        db.engine, action=f"denied.{code}", tenant_id=tenant_id,
        actor_user_id=user.id if user else None, entity_type="request",
        entity_id=None, detail=f"{request.method} {request.path}", request_id=g.request_id,
    )
    log.warning("denied %s %s: %s", request.method, request.path, code)
    problem(status, detail)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


FORMS = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def _refuse_nul(form: bool = False) -> None:
    """400 for a NUL in the path, the query string or (``form``: once the caller is known,
    so that nobody's upload is read before) a form's text fields. PostgreSQL stores no
    text with one: it would be a database error, not an answer. A JSON body's NUL is
    refused by its reader (``anjian.api.jsonio``)."""
    if form and request.mimetype not in FORMS:
        return
    given = request.form if form else request.args
    if (not form and "\x00" in request.path) or any(
            "\x00" in text for key, value in given.items(multi=True)
            for text in (key, value) if isinstance(text, str)):
        problem(400, "请求地址、查询参数和表单字段不能包含 NUL 字符（%00）", slug="nul-character")


def _plugins():
    return current_app.extensions.get(PLUGINS_KEY)


def before_request():
    g.request_id = _request_id()
    observability.bind_request(g.request_id, (request.view_args or {}).get("tenant_code"))
    db.session.info[REQUEST_ID_KEY] = g.request_id
    set_scope(db.session, None)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length and request.content_length > limit:
        problem(413, f"请求内容超过 {limit} 字节的限制")
    _refuse_nul()

    if request.endpoint is None:
        return None  # no such route: Flask answers 404 / 405
    view = current_app.view_functions.get(request.endpoint)
    policy = policy_of(view) or LIBRARY_ENDPOINTS.get(request.endpoint)
    if policy is None:
        log.error("route %s declares no policy", request.endpoint)
        problem(403, "该接口未声明访问策略")
    if policy.public:
        set_scope(db.session, Scope.platform_scope())
        return None

    reading = request.method in READ_METHODS
    if reading:
        _begin_read_only()
    secret = _bearer()
    if links_guard.is_link(secret):  # an access link, not a user: its own admission
        links_guard.admit(policy, secret, reading)
        _refuse_nul(form=True)
        return None
    code = (request.view_args or {}).get("tenant_code")
    try:  # the token, its user, the URL's tenant, its read scope (and memberships)
        user, tenant, memberships = user_from_token(secret, code)
    except AuthError as exc:
        if exc.code != "missing_token":
            record_event(db.engine, action=f"auth.{exc.code}", result="denied",
                         detail=f"{request.method} {request.path}", request_id=g.request_id)
        problem(401, exc.reason)
    g.user = user
    observability.bind(user_id=user.id)
    _refuse_nul(form=True)

    if code is None:
        set_scope(db.session, Scope.platform_scope(user.id))
        keep(Context.for_request(None, user.id, None, g.request_id, _plugins()))
        if AUTHENTICATED in policy.roles:
            return None
        if PLATFORM_ADMIN in policy.roles and user.is_platform_admin:
            return None
        deny(403, "需要平台管理员权限", "platform_role")

    # A deactivated tenant is gone for everyone but the platform admins, who must
    # still be able to read and reactivate it (PATCH is_active). The memberships that
    # decide are read in the tenant's read-only scope, which also names the user (the
    # scope ``user_from_token`` left; on PostgreSQL it read them too).
    access = tenant_access(user, tenant, memberships) if tenant is not None else None
    if access is None:
        deny(404, "租户不存在", "foreign_tenant")
    allowed = access.role in policy.roles or (
        user.is_platform_admin and PLATFORM_ADMIN in policy.roles
    ) or AUTHENTICATED in policy.roles
    if not allowed:
        deny(403, "当前角色无权执行此操作", "role", tenant_id=tenant.id)
    if not reading and not access.can_write:
        deny(403, "上级单位只能查看下级数据，不能修改", "read_only", tenant_id=tenant.id)
    g.tenant = tenant
    g.access = access
    keep(Context.for_request(tenant, user.id, access, g.request_id, _plugins()))
    # A read (GET, HEAD, OPTIONS) runs read-only whatever the role: a view that wrote
    # on a GET would fail, in the ORM and in RLS. Writes get the tenant to write to.
    if not reading:
        set_scope(db.session, Scope.tenant(tenant.id, user.id, write=True))
    return idempotency.claim()  # a repeated Idempotency-Key answers here


# An authenticated read (GET, HEAD, OPTIONS) runs in a READ ONLY
# transaction: PostgreSQL itself refuses any write in it, to any table, whatever a view
# does. psycopg says so in its BEGIN (``BEGIN READ ONLY``: no round trip more).
# Such a transaction ends with COMMIT, not ROLLBACK. Both end it alike (it wrote
# nothing; its transaction-local scope settings go either way), but psycopg forgets
# every prepared statement of a connection on ROLLBACK, so ending each read with one
# made PostgreSQL parse and plan the guard's and the page's statements on every
# request. Committed, they are prepared from their 5th run on the connection.
_READ_ONLY = {"postgresql_readonly": True}


def _begin_read_only() -> None:
    session = db.session()
    if not session.in_transaction():
        session.connection(execution_options=_READ_ONLY)


def teardown_request(exc) -> None:
    """Commit the request's transaction if PostgreSQL holds it READ ONLY (see above);
    any other is left to the session's end, which rolls it back."""
    session = db.session()
    transaction = session.get_transaction()
    if exc is not None or transaction is None or not transaction.is_active:
        return
    connection = session.connection()
    if not getattr(connection.connection.dbapi_connection, "read_only", False):
        return
    # Its objects end with the request: nothing to expire.
    session.expire_on_commit, expire = False, session.expire_on_commit
    try:
        session.commit()
    except Exception:  # the connection broke at the end of a read: nothing to keep
        log.warning("ending a read-only transaction failed", exc_info=True)
        session.rollback()
    finally:
        session.expire_on_commit = expire


def after_request(response):
    response = idempotency.settle(response)
    rid = g.get("request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
