"""The request guard's part for access links: a request whose bearer secret is a link
(``ajl_...``) is admitted here, never as a user.

The link is looked up in the tenant its URL names (the links are that tenant's rows, RLS
applying); only routes that admit link holders (``link.use``) take one; the holder
declares a name (header ``X-Anjian-Holder-Name``, percent-encoded UTF-8); each link has
its requests per minute (``ANJIAN_LINK_REQUESTS_PER_MINUTE``, counted in Redis); and
every use, refused or not, is written to the tenant's audit log with the link and the
declared name. The request then gets a Context acting for the link's enterprise only.
"""

from __future__ import annotations

import logging
import math
import time
import urllib.parse

from flask import current_app, g, request
from sqlalchemy import select

from anjian.api.context import keep
from anjian.api.problems import problem
from anjian.audit.service import record_event
from anjian.auth.service import Access, AuthError
from anjian.context import Context
from anjian.extensions import PLUGINS_KEY, db
from anjian.jobs.queues import REDIS_ERRORS, connection
from anjian.links import service
from anjian.permissions import LINK_ACTS_AS, LINK_HOLDER
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, set_scope

log = logging.getLogger(__name__)

HOLDER_HEADER = "X-Anjian-Holder-Name"
HOLDER_MAX = 50  # characters, once decoded
WINDOW = 60  # seconds: the rate limit counts per link and minute
_seconds = time.time  # the rate limit's clock (a test sets it)


def is_link(secret: str | None) -> bool:
    return bool(secret) and secret.startswith(service.LINK_PREFIX)


def _audit(action: str, tenant_id: int | None, link_id: int | None, holder: str | None,
           result: str) -> None:
    record_event(db.engine, action=action, tenant_id=tenant_id, entity_type="access_link",
                 entity_id=str(link_id) if link_id is not None else None, result=result,
                 detail=f"{holder or '（未声明）'}：{request.method} {request.path}",
                 request_id=g.request_id,
                 after={"declared_name": holder, "endpoint": request.endpoint,
                        "method": request.method})


def _holder() -> str | None:
    """The declared name, decoded; None if missing, blank, too long or not text."""
    raw = request.headers.get(HOLDER_HEADER, "")
    try:
        name = urllib.parse.unquote(raw, errors="strict").strip()
    except UnicodeDecodeError:
        return None
    if not name or len(name) > HOLDER_MAX or not name.isprintable():
        return None
    return name


def _rate_limited(link_id: int, tenant_id: int) -> int | None:
    """Seconds to wait when the link used its share of this minute, else None."""
    limit = current_app.config.get("ANJIAN_LINK_REQUESTS_PER_MINUTE", 60)
    if not limit:
        return None
    now = _seconds()
    window = int(now // WINDOW)
    key = f"anjian:link-rate:{tenant_id}:{link_id}:{window}"
    try:
        redis = connection(current_app)
        with redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW * 2)
            count = pipe.execute()[0]
    except REDIS_ERRORS:
        log.warning("link rate limit: Redis unavailable", exc_info=True)
        problem(503, "暂时无法核验访问频率，请稍后再试", headers={"Retry-After": "30"})
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW - now))


def admit(policy, secret: str, reading: bool):
    """Admit a request carrying a link's secret, or answer it with a problem."""
    code = (request.view_args or {}).get("tenant_code")
    if LINK_HOLDER not in policy.roles or code is None:
        _audit("denied.link_route", None, None, None, "denied")
        problem(403, "企业访问链接只能用于链接办理的接口（查看隐患、上传整改证据、提交整改完成、填写自查）",
                slug="link-route")
    tenant = db.session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None or not tenant.is_active:
        _audit("auth.invalid_link", None, None, None, "denied")
        problem(401, "访问链接无效", slug="invalid-link")
    set_scope(db.session, Scope.tenant(tenant.id, None, write=False))
    try:
        link = service.admit(secret)
    except AuthError as exc:
        _audit(f"auth.{exc.code}", tenant.id, None, _holder(), "denied")
        problem(401, exc.reason, slug=exc.code.replace("_", "-"))
    holder = _holder()
    if holder is None:
        _audit("denied.link_holder_name", tenant.id, link.id, None, "denied")
        problem(422, f"请在请求头 {HOLDER_HEADER} 中填写您的姓名（URL 编码，最长 {HOLDER_MAX} 个字）",
                errors={HOLDER_HEADER: ["必填：办理人姓名"]})
    wait = _rate_limited(link.id, tenant.id)
    if wait is not None:
        _audit("denied.link_rate", tenant.id, link.id, holder, "denied")
        problem(429, f"该访问链接请求过于频繁，请 {wait} 秒后再试", slug="link-rate-limited",
                headers={"Retry-After": str(wait)})
    _audit("link.use", tenant.id, link.id, holder, "ok")
    access = Access(LINK_ACTS_AS, True, "link", link.enterprise_id)
    g.tenant, g.access, g.link, g.link_holder = tenant, access, link, holder
    keep(Context.for_request(tenant, None, access, g.request_id,
                             current_app.extensions.get(PLUGINS_KEY)))
    if not reading:
        set_scope(db.session, Scope.tenant(tenant.id, None, write=True))
    return None
