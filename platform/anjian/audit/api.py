"""Reading the audit log. There is no route that changes it."""

from __future__ import annotations

import marshmallow as ma
from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.audit.models import AuditEntry

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计日志（只读）")


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    tenant_id = ma.fields.Integer(allow_none=True)
    actor_user_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    entity_type = ma.fields.String()
    entity_id = ma.fields.String(allow_none=True)
    before = ma.fields.Raw(allow_none=True)
    after = ma.fields.Raw(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    result = ma.fields.String()
    detail = ma.fields.String(allow_none=True)


class AuditQuerySchema(ma.Schema):
    action = ma.fields.String(metadata={"description": "动作前缀，如 area. 或 denied."})
    entity_type = ma.fields.String()
    entity_id = ma.fields.String()
    actor_user_id = ma.fields.Integer()
    result = ma.fields.String(validate=ma.validate.OneOf(["ok", "denied"]))
    since = ma.fields.AwareDateTime(metadata={"description": "含时区，如 2026-01-01T00:00:00+08:00"})
    until = ma.fields.AwareDateTime()


def _filtered(query, statement):
    if "action" in query:
        statement = statement.where(AuditEntry.action.startswith(query["action"], autoescape=True))
    for key in ("entity_type", "entity_id", "actor_user_id", "result"):
        if key in query:
            statement = statement.where(getattr(AuditEntry, key) == query[key])
    if "since" in query:
        statement = statement.where(AuditEntry.at >= query["since"])
    if "until" in query:
        statement = statement.where(AuditEntry.at < query["until"])
    return statement.order_by(AuditEntry.id.desc())


@blp.route("/tenants/<tenant_code>/audit")
@blp.arguments(AuditQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(AuditEntrySchema))
@requires("audit.read")
def tenant_audit(query, pages, tenant_code):
    """本租户审计日志，可按动作、对象、操作人、结果、时间筛选"""
    return paginate(_filtered(query, select(AuditEntry)), pages["page"], pages["per_page"])


@blp.route("/audit")
@blp.arguments(AuditQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(AuditEntrySchema))
@requires("platform_audit.read")
def platform_audit(query, pages):
    """平台级审计日志（租户管理、登录失败、越权访问）"""
    statement = _filtered(query, select(AuditEntry).where(AuditEntry.tenant_id.is_(None)))
    return paginate(statement, pages["page"], pages["per_page"])
