"""The enterprise registry over HTTP."""

from __future__ import annotations

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.enterprises import service
from anjian.enterprises.models import Enterprise
from anjian.enterprises.queries import filtered_statement
from anjian.enterprises.schemas import (
    EnterpriseCreateSchema,
    EnterpriseQuerySchema,
    EnterpriseSchema,
    EnterpriseUpdateSchema,
)
from anjian.enterprises.visibility import enterprise_clause, require_enterprise
from anjian.extensions import db

blp = Blueprint("enterprises", __name__, url_prefix="/api/v1/tenants/<tenant_code>/enterprises",
                description="企业台账")

# Enterprise users read their own enterprise, service organisations the ones assigned to them.


@blp.route("")
@blp.arguments(EnterpriseQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(EnterpriseSchema))
@requires("enterprise.read")
def list_enterprises(query, pages, tenant_code):
    """企业列表：按区域（含下级）、行业、规模、风险标志、状态筛选，按名称或代码搜索"""
    stmt = filtered_statement(query).where(enterprise_clause(request_context(), Enterprise.id))
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(EnterpriseCreateSchema)
@blp.response(201, EnterpriseSchema)
@requires("enterprise.write")
def create_enterprise(data, tenant_code):
    """登记企业（统一社会信用代码校验；已删除的同代码企业将被恢复）"""
    enterprise = service.create(request_context(), data)
    db.session.commit()
    return enterprise


@blp.route("/<int:enterprise_id>")
@blp.etag
@blp.response(200, EnterpriseSchema)
@requires("enterprise.read")
def get_enterprise(tenant_code, enterprise_id):
    """企业详情"""
    require_enterprise(request_context(), enterprise_id, "企业")
    return get_or_404(Enterprise, enterprise_id, "企业")


@blp.route("/<int:enterprise_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(EnterpriseUpdateSchema)
@blp.response(200, EnterpriseSchema)
@requires("enterprise.write")
def update_enterprise(data, tenant_code, enterprise_id):
    """修改企业（需 If-Match，防止两人同时修改互相覆盖）"""
    enterprise = get_or_404(Enterprise, enterprise_id, "企业")
    blp.check_etag(enterprise, EnterpriseSchema)
    service.update(request_context(), enterprise, data)
    db.session.commit()
    return enterprise


@blp.route("/<int:enterprise_id>", methods=["DELETE"])
@blp.etag
@blp.response(204)
@requires("enterprise.delete")
def delete_enterprise(tenant_code, enterprise_id):
    """删除企业（软删除，保留历史；需 If-Match）"""
    enterprise = get_or_404(Enterprise, enterprise_id, "企业")
    blp.check_etag(enterprise, EnterpriseSchema)
    service.soft_delete(request_context(), enterprise)
    db.session.commit()
