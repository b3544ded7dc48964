"""Errors as ``application/problem+json`` (RFC 9457), with stable types and Chinese titles."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import g, request
from flask_smorest import Api as SmorestApi
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from anjian import errors as domain
from anjian.api.limits import Request
from anjian.errors import translate
from anjian.extensions import db

log = logging.getLogger(__name__)

PROBLEM_TYPE_PREFIX = "urn:anjian:problem:"

TITLES = {
    400: ("bad-request", "请求无效"),
    401: ("unauthenticated", "未登录或令牌无效"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not-found", "资源不存在"),
    405: ("method-not-allowed", "不支持该请求方法"),
    409: ("conflict", "与现有数据冲突"),
    412: ("precondition-failed", "数据已被他人修改，请刷新后重试"),
    413: ("payload-too-large", "请求内容超过大小限制"),
    415: ("unsupported-media-type", "不支持的内容类型"),
    422: ("validation-error", "请求参数校验失败"),
    428: ("precondition-required", "缺少 If-Match 请求头"),
    429: ("too-many-requests", "请求过于频繁，请稍后再试"),
    500: ("internal-error", "服务器内部错误"),
    503: ("unavailable", "服务暂不可用，请稍后再试"),
}


class ProblemSchema(ma.Schema):
    type = ma.fields.String(metadata={"description": "稳定的错误类型 URI"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "逐字段的错误说明"})
    plan = ma.fields.Dict(metadata={"description": "导入计划：找到的表头、列的对应、未能对应的列及建议"})


class ApiProblem(HTTPException):
    """An error raised by services and views with its own type slug and detail."""

    def __init__(self, status: int, slug: str | None = None, detail: str | None = None,
                 errors: dict | None = None, headers: dict | None = None, title: str | None = None,
                 members: dict | None = None):
        super().__init__(description=detail)
        self.code = status
        self.slug = slug
        self.detail = detail
        self.errors = errors
        self.extra_headers = headers or {}
        self.title = title
        self.members = members or {}


def problem(status: int, detail: str | None = None, slug: str | None = None, **kw):
    """Raise a problem+json response."""
    raise ApiProblem(status, slug=slug, detail=detail, **kw)


# The one place where a domain error becomes an HTTP status (most specific class first; a
# Defect is a fault whatever else it is).
DOMAIN_STATUSES = (
    (domain.Defect, 500),
    (domain.NotFound, 404),
    (domain.TooLarge, 413),
    (domain.UnsupportedType, 415),
    (domain.Refused, 422),
    (domain.Forbidden, 403),
    (domain.Conflict, 409),
    (domain.PreconditionFailed, 412),
    (domain.TooMany, 429),
    (domain.Unavailable, 503),
)


def status_of(error: domain.DomainError) -> int:
    for cls, status in DOMAIN_STATUSES:
        if isinstance(error, cls):
            return status
    return 500


def from_domain(error: domain.DomainError) -> ApiProblem:
    """The problem a domain error answers: its status, slug, title, message, per-field
    messages and Retry-After."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return ApiProblem(status_of(error), slug=error.slug, detail=error.message,
                      errors=error.errors, headers=headers, title=error.title,
                      members=error.members)


def problem_response(error: HTTPException):
    status = error.code or 500
    default_slug, default_title = TITLES.get(status, ("error", error.name))
    slug = getattr(error, "slug", None) or default_slug
    body = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": getattr(error, "title", None) or default_title,
        "status": status,
        "instance": request.path,
    }
    detail = getattr(error, "detail", None)
    headers = dict(getattr(error, "extra_headers", {}) or {})
    data = getattr(error, "data", None) or {}
    if isinstance(error, ApiProblem):
        body = {**error.members, **body}
        if error.errors:
            body["errors"] = error.errors
    else:
        if "message" in data:
            detail = data["message"]
        errors = data.get("errors") or data.get("messages")
        if errors:
            body["errors"] = translate(errors)
        headers.update(data.get("headers") or {})
        if detail is None and status not in (404, 500) and error.description:
            detail = None  # werkzeug's English descriptions are not shown to users
    if detail:
        body["detail"] = detail
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="anjian"')
    return body, status, {**headers, "Content-Type": "application/problem+json"}


DATABASE_RETRY_AFTER = "5"  # seconds: a PostgreSQL restart takes about one


class Api(SmorestApi):
    """flask-smorest's Api, answering every error as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def init_app(self, app, *args, **kwargs):
        # Bodies without Content-Length (chunked) are held to MAX_CONTENT_LENGTH too.
        app.request_class = Request
        super().init_app(app, *args, **kwargs)
        app.register_error_handler(OperationalError, self.handle_database_unavailable)
        app.register_error_handler(domain.DomainError, self.handle_domain_error)

    def handle_domain_error(self, error: domain.DomainError):
        """A service, a job helper or the kernel said no: nothing half-written is kept, and
        the answer is the problem the error maps to."""
        db.session.rollback()
        problem = from_domain(error)
        if problem.code >= 500:
            log.error("server error on %s %s: %s", request.method, request.path, error.message)
        return problem_response(problem)

    def handle_database_unavailable(self, error):
        """The database went away or refused the work (a restart, a failover, a lock
        timeout): 503 with Retry-After, not a bare 500. A lost connection makes
        SQLAlchemy replace the pool's connections; idle ones are pinged before use
        (``anjian.db.install_idle_ping``), so the next requests are served."""
        log.error("database unavailable on %s %s: %s", request.method, request.path,
                  str(error.orig or error).splitlines()[0][:200])
        db.session.rollback()
        return problem_response(ApiProblem(
            503, slug="database-unavailable", detail="数据库暂不可用，请稍后重试",
            headers={"Retry-After": DATABASE_RETRY_AFTER}))

    def handle_http_exception(self, error):
        if error.code and error.code >= 500:
            log.error("server error on %s %s", request.method, request.path)
        return problem_response(error)
