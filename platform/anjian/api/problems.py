"""Errors as ``application/problem+json`` (RFC 9457), with stable types and Chinese titles."""

from __future__ import annotations

import http
import logging

import marshmallow as ma
from flask import g, request
from flask_smorest import Api as SmorestApi
from flask_smorest import etag as smorest_etag
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from anjian import errors as domain
from anjian.api.limits import Request
from anjian.errors import translate
from anjian.extensions import db

log = logging.getLogger(__name__)

PROBLEM_TYPE_PREFIX = "urn:anjian:problem:"
PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: ("bad-request", "请求无效"),
    401: ("unauthenticated", "未登录或令牌无效"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not-found", "资源不存在"),
    405: ("method-not-allowed", "不支持该请求方法"),
    409: ("conflict", "与现有数据冲突"),
    410: ("gone", "资源已不存在"),
    411: ("length-required", "缺少 Content-Length 请求头"),
    412: ("precondition-failed", "数据已被他人修改，请刷新后重试"),
    413: ("payload-too-large", "请求内容超过大小限制"),
    414: ("uri-too-long", "请求地址过长"),
    415: ("unsupported-media-type", "不支持的内容类型"),
    416: ("range-not-satisfiable", "请求的范围无效"),
    422: ("validation-error", "请求参数校验失败"),
    428: ("precondition-required", "缺少 If-Match 请求头"),
    429: ("too-many-requests", "请求过于频繁，请稍后再试"),
    431: ("request-header-fields-too-large", "请求头过大"),
    500: ("internal-error", "服务器内部错误"),
    501: ("not-implemented", "不支持该操作"),
    503: ("unavailable", "服务暂不可用，请稍后再试"),
}
# Any other status: a Chinese title all the same (werkzeug's names are English).
OTHER_TITLE = ("error", "请求出错")
# The detail of an answer that brings none of its own (werkzeug's descriptions are English
# and are never shown to users).
DETAILS = {
    400: "请求无法解析，请检查请求的格式",
    401: "请先登录，或提供有效的访问令牌（Authorization: Bearer ...）",
    403: "当前用户无权执行此操作",
    404: "请求的资源不存在",
    405: "该接口不支持此请求方法",
    406: "无法提供所要求的响应格式",
    409: "请求与现有数据冲突",
    410: "请求的资源已不存在",
    411: "请求须带 Content-Length 请求头",
    412: "数据已被他人修改，请重新读取后再提交",
    413: "请求内容超过大小限制",
    414: "请求地址过长",
    415: "不支持该请求内容类型",
    416: "请求的范围无效",
    422: "请求参数校验失败，详见 errors",
    428: "请先读取该资源，带上其 ETag 作为 If-Match 请求头再提交",
    429: "请求过于频繁，请稍后再试",
    431: "请求头过大",
    500: "服务器内部错误，请稍后重试；问题持续时请联系管理员并提供 request_id",
    501: "服务器不支持该操作",
    503: "服务暂不可用，请稍后再试",
}


def title_of(status: int) -> tuple[str, str]:
    """The problem type slug and the Chinese title of a status."""
    return TITLES.get(status, OTHER_TITLE)


def detail_of(status: int) -> str:
    return DETAILS.get(status) or ("服务器出错，请稍后再试" if status >= 500 else "请求出错，请检查后重试")


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
    """The problem+json answer to ``error``: a Chinese title and detail whatever raised it
    (a domain error, a view's problem, webargs' validation, werkzeug), per-field messages
    in Chinese, the request id."""
    status = error.code or 500
    default_slug, default_title = title_of(status)
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
            body["errors"] = translate(error.errors)
    else:
        if isinstance(data.get("message"), str):
            detail = data["message"]
        errors = data.get("errors") or data.get("messages")
        if errors:
            body["errors"] = translate(errors)
        headers.update(data.get("headers") or {})
        # werkzeug's descriptions (error.description) are English: never shown to users.
    body["detail"] = translate(detail) if detail else detail_of(status)
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="anjian"')
    return body, status, {**headers, "Content-Type": "application/problem+json"}


DATABASE_RETRY_AFTER = "5"  # seconds: a PostgreSQL restart takes about one


class Api(SmorestApi):
    """flask-smorest's Api, answering every error as problem+json and documenting so.

    The OpenAPI document: error answers as ``application/problem+json`` with Chinese
    descriptions (the app adds ``anjian.api.openapi.OperationsPlugin``, which completes
    each operation: operationId, description, public routes, Idempotency-Key)."""

    ERROR_SCHEMA = ProblemSchema

    def init_app(self, app, *args, **kwargs):
        # Bodies without Content-Length (chunked) are held to MAX_CONTENT_LENGTH too, and
        # JSON bodies are read by the bounded reader.
        app.request_class = Request
        super().init_app(app, *args, **kwargs)
        app.register_error_handler(OperationalError, self.handle_database_unavailable)
        app.register_error_handler(domain.DomainError, self.handle_domain_error)

    def _register_responses(self):
        """The error answers of the document: problem+json, described in Chinese."""
        for status in http.HTTPStatus:
            response = {"description": title_of(status)[1] if status >= 400 else status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "错误（problem+json：type、title、status、detail、errors）",
                     "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_etag_headers(self):
        self.spec.components.parameter("IF_NONE_MATCH", "header", {
            **smorest_etag.IF_NONE_MATCH_HEADER,
            "description": "上次读取时得到的 ETag：未变化时答 304，不再传输内容"}, lazy=True)
        self.spec.components.parameter("IF_MATCH", "header", {
            **smorest_etag.IF_MATCH_HEADER,
            "description": "读取时得到的 ETag：数据已被他人修改时答 412，缺少时答 428"}, lazy=True)
        self.spec.components.header("ETAG", {**smorest_etag.ETAG_HEADER,
                                             "description": "当前数据的 ETag（修改时作为 If-Match）"},
                                    lazy=True)

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
