"""Tenants (platform admins) and areas (tenant admins) over HTTP."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.auth.service import ancestors
from anjian.extensions import db, plugin_registry
from anjian.tenancy import service
from anjian.tenancy.models import Area, Tenant
from anjian.tenancy.schemas import (
    AreaCreateSchema,
    AreaQuerySchema,
    AreaSchema,
    AreaUpdateSchema,
    TenantSchema,
    TenantUpdateSchema,
    TenantWriteSchema,
)

blp = Blueprint("tenants", __name__, url_prefix="/api/v1/tenants",
                description="租户（辖区）与区域（板块 > 村/工业小区 > 网格）")


def _spec_or_422(raw: dict, source: str):
    try:
        return service.validate_spec(raw, source, plugin_registry())
    except service.TenantConfigError as exc:
        problem(422, exc.message, errors={exc.key: [exc.message]})


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(TenantSchema))
@requires("tenant.list")
def list_tenants(args):
    """所有租户（平台管理员）"""
    return paginate(select(Tenant).order_by(Tenant.code), args["page"], args["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(TenantWriteSchema)
@blp.response(201, TenantSchema)
@requires("tenant.create")
def create_tenant(data):
    """新建租户（平台管理员）"""
    if db.session.scalar(select(Tenant.id).where(Tenant.code == data["code"])):
        problem(409, f"租户代码已存在: {data['code']}", errors={"code": ["租户代码已存在"]})
    spec = _spec_or_422({k: v for k, v in data.items() if v is not None}, "api")
    report = service.SyncReport()
    try:
        tenant = service.apply_spec(spec, report)
    except service.TenantConfigError as exc:
        problem(422, exc.message, errors={exc.key: [exc.message]})
    db.session.commit()
    return tenant


@blp.route("/<tenant_code>")
@blp.etag
@blp.response(200, TenantSchema)
@requires("tenant.read")
def get_tenant(tenant_code):
    """租户详情"""
    return g.tenant


@blp.route("/<tenant_code>", methods=["PATCH"])
@blp.etag
@blp.arguments(TenantUpdateSchema)
@blp.response(200, TenantSchema)
@requires("tenant.update")
def update_tenant(data, tenant_code):
    """修改租户（平台管理员，需 If-Match）"""
    tenant = g.tenant
    blp.check_etag(tenant, TenantSchema)
    raw = {
        "code": tenant.code, "name": tenant.name, "level": tenant.level,
        "parent": tenant.parent.code if tenant.parent else None,
        "division_code": tenant.division_code, "plugins": tenant.plugins,
        "settings": tenant.settings,
    }
    is_active = data.pop("is_active", None)
    raw.update(data)
    if "plugins" in data and "settings" not in data:
        # Settings of plugins being switched off go with them.
        raw["settings"] = {k: v for k, v in raw["settings"].items() if k in data["plugins"]}
    spec = _spec_or_422({k: v for k, v in raw.items() if v is not None}, "api")
    if spec.parent:
        parent = db.session.scalar(select(Tenant).where(Tenant.code == spec.parent))
        if parent is None:
            problem(422, "上级租户不存在", errors={"parent": ["上级租户不存在"]})
        if parent.id == tenant.id or tenant.id in {a.id for a in ancestors(parent)}:
            problem(422, "上级租户层级存在循环", errors={"parent": ["上级租户层级存在循环"]})
    service.apply_spec(spec, service.SyncReport())
    if is_active is not None:
        tenant.is_active = is_active
    db.session.commit()
    return tenant


@blp.route("/<tenant_code>/areas")
@blp.arguments(AreaQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(AreaSchema))
@requires("area.read")
def list_areas(query, pages, tenant_code):
    """区域列表"""
    stmt = select(Area).order_by(Area.code)
    if not query["include_inactive"]:
        stmt = stmt.where(Area.is_active)
    if "kind" in query:
        stmt = stmt.where(Area.kind == query["kind"])
    if "parent_id" in query:
        stmt = stmt.where(Area.parent_id == query["parent_id"])
    return paginate(stmt, pages["page"], pages["per_page"])


def _check_parent(parent_id, area_id=None):
    if parent_id is None:
        return
    parent = db.session.get(Area, parent_id)
    if parent is None:  # a foreign area is as absent as a missing one
        problem(422, "上级区域不存在", errors={"parent_id": ["上级区域不存在"]})
    seen = {area_id}
    while parent is not None:
        if parent.id in seen:
            problem(422, "区域层级存在循环", errors={"parent_id": ["区域层级存在循环"]})
        seen.add(parent.id)
        parent = db.session.get(Area, parent.parent_id) if parent.parent_id else None


@blp.route("/<tenant_code>/areas", methods=["POST"])
@blp.arguments(AreaCreateSchema)
@blp.response(201, AreaSchema)
@requires("area.manage")
def create_area(data, tenant_code):
    """新建区域"""
    if db.session.scalar(select(Area.id).where(Area.code == data["code"])):
        problem(409, f"区域代码已存在: {data['code']}", errors={"code": ["区域代码已存在"]})
    _check_parent(data.get("parent_id"))
    area = Area(**data)
    db.session.add(area)
    db.session.commit()
    return area


@blp.route("/<tenant_code>/areas/<int:area_id>")
@blp.etag
@blp.response(200, AreaSchema)
@requires("area.read")
def get_area(tenant_code, area_id):
    """区域详情"""
    return get_or_404(Area, area_id, "区域")


@blp.route("/<tenant_code>/areas/<int:area_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(AreaUpdateSchema)
@blp.response(200, AreaSchema)
@requires("area.manage")
def update_area(data, tenant_code, area_id):
    """修改区域（需 If-Match）"""
    area = get_or_404(Area, area_id, "区域")
    blp.check_etag(area, AreaSchema)
    if "parent_id" in data:
        _check_parent(data["parent_id"], area.id)
    for key, value in data.items():
        setattr(area, key, value)
    db.session.commit()
    return area


@blp.route("/<tenant_code>/areas/<int:area_id>", methods=["DELETE"])
@blp.etag
@blp.response(204)
@requires("area.manage")
def delete_area(tenant_code, area_id):
    """停用区域（保留历史，不物理删除；需 If-Match）"""
    area = get_or_404(Area, area_id, "区域")
    blp.check_etag(area, AreaSchema)
    area.is_active = False
    db.session.commit()
