"""Dual prevention (双重预防) over HTTP: risk points (create, read, change with If-Match,
re-grade, retire), the grading tables, the tenant's risk catalogues, the inspections
overdue by managing level, the enterprise's own checklist, its register ("一表") as a
workbook, the four-colour picture and the export for the city's risk-reporting system."""

from __future__ import annotations

import contextlib
import io

from flask import Response
from sqlalchemy.orm.exc import StaleDataError

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema, problem
from anjian.extensions import db
from anjian.inspections.service import items_of
from anjian.risks import catalogue as catalogues_
from anjian.risks import service
from anjian.risks.feedback import checklist_key
from anjian.risks.models import (
    COLOURS,
    LEVELS,
    MANAGING_LEVELS,
    METHODS,
    POINT_KINDS,
    POINT_STATES,
    RiskPoint,
)
from anjian.risks.schemas import (
    RiskCatalogueQuerySchema,
    RiskCatalogueSchema,
    RiskChecklistRegenerateSchema,
    RiskChecklistSchema,
    RiskCityExportQuerySchema,
    RiskInspectionTaskQuerySchema,
    RiskInspectionTaskSchema,
    RiskPictureQuerySchema,
    RiskPictureSchema,
    RiskPointCreateSchema,
    RiskPointDetailSchema,
    RiskPointQuerySchema,
    RiskPointSchema,
    RiskPointUpdateSchema,
    RiskRegradeSchema,
    RiskRetireSchema,
    RiskScalesSchema,
    scales,
)
from anjian.storage.backends import content_disposition

blp = Blueprint("risks", __name__, url_prefix="/api/v1/tenants/<tenant_code>/risks",
                description="双重预防：风险点、危险有害因素、风险评价与分级、管控措施、四色分布")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 50_000  # rows of one workbook; more: by area or enterprise
IF_MATCH = {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
            "description": "读取风险点时得到的 ETag"}


def _etag(point: RiskPoint) -> dict:
    return {"id": point.id, "version": point.version}


@contextlib.contextmanager
def _rules():
    """A lost race as a problem; nothing half-written is kept."""
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        problem(409, "该风险点刚被他人修改，本次操作未生效，请刷新后重试", slug="concurrent-change")


def _check_if_match(point: RiskPoint) -> None:
    blp.check_if_match_on_post(_etag(point), "风险点")


def _shown(context, point: RiskPoint, names: dict[int, str]) -> dict:
    due = service.due_on(point)
    return {
        "id": point.id, "enterprise_id": point.enterprise_id, "enterprise_name": names.get(point.enterprise_id),
        "name": point.name, "kind": point.kind, "kind_label": POINT_KINDS[point.kind],
        "location": point.location or "", "managing_level": point.managing_level,
        "managing_level_label": MANAGING_LEVELS[point.managing_level],
        "inspection_cycle": service.INSPECTION_CYCLES[point.managing_level],
        "factors": list(point.factors or ()), "method": point.method, "method_label": METHODS[point.method],
        "likelihood": point.likelihood, "exposure": point.exposure, "consequence": point.consequence,
        "score": point.score, "level": point.level, "level_label": LEVELS[point.level],
        "colour": COLOURS[point.level], "catalogue_key": point.catalogue_key, "status": point.status,
        "status_label": POINT_STATES[point.status], "regrade_reason": point.regrade_reason or "",
        "regrade_asked": bool(point.regrade_reason), "inspected_on": point.inspected_on,
        "next_inspection_on": due,
        "inspection_overdue": point.status == "active" and due < context.today(),
        "version": point.version, "created_at": point.created_at, "updated_at": point.updated_at,
    }


def _detail(context, point: RiskPoint) -> dict:
    names = service.enterprise_names([point.enterprise_id])
    return {**_shown(context, point, names), "controls": service.controls_of(point),
            "gradings": service.gradings_of(point), "hazards": service.hazards_of(point),
            "catalogue_entry": service.catalogue_entry_of(context, point),
            "checklist_key": checklist_key(point.enterprise_id)}


def _page(stmt, pages) -> tuple[list, int]:
    page, per_page = pages["page"], pages["per_page"]
    total = db.session.scalar(stmt.with_only_columns(db.func.count()).order_by(None))
    rows = list(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all())
    return rows, total


def _workbook(buffer: io.BytesIO, filename: str) -> Response:
    response = Response(buffer.getvalue(), mimetype=XLSX)
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response


# --- reference: the grading tables and the catalogues ---------------------------------------

@blp.route("/grading-scales")
@blp.response(200, RiskScalesSchema)
@requires("risk.read")
def grading_scales(tenant_code):
    """风险评价取值表：LEC 的 L、E、C 与风险矩阵的 L、S，分级标准，颜色，各管控层级的排查周期"""
    return scales()


@blp.route("/catalogues")
@blp.arguments(RiskCatalogueQuerySchema, location="query")
@blp.response(200, RiskCatalogueSchema(many=True))
@requires("risk.read")
def list_catalogues(query, tenant_code):
    """本单位可选用的风险目录（已启用插件提供的）及其条目：类别、典型风险点、默认等级、典型管控措施"""
    out = []
    q, level = query.get("q"), query.get("level")
    for catalogue in catalogues_.catalogues(request_context()):
        entries = [{**e, "full_key": catalogues_.entry_key(catalogue["key"], e["key"])}
                   for e in catalogue.get("entries") or ()
                   if (not q or q in e.get("name", "") or q in e.get("category", ""))
                   and (not level or e.get("level") == level)]
        out.append({**catalogue, "entries": entries})
    return out


# --- risk points ----------------------------------------------------------------------------

@blp.route("/points")
@blp.arguments(RiskPointQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RiskPointSchema))
@requires("risk.read")
def list_points(query, pages, tenant_code):
    """风险点列表（本人可见企业的），按风险等级从高到低；可按企业、等级、管控层级、是否需重新评价、是否排查逾期筛选"""
    context = request_context()
    rows, total = _page(service.list_points(context, **query), pages)
    points = [row[0] for row in rows]
    names = service.enterprise_names(p.enterprise_id for p in points)
    return {"items": [_shown(context, p, names) for p in points], "page": pages["page"],
            "per_page": pages["per_page"], "total": total}


@blp.route("/points", methods=["POST"])
@blp.arguments(RiskPointCreateSchema)
@blp.response(201, RiskPointDetailSchema)
@blp.alt_response(404, schema=ProblemSchema, description="企业或风险目录条目不存在")
@requires("risk.write")
def create_point(data, tenant_code):
    """辨识风险点并评价分级（可选用风险目录条目预填；其管控措施进入本企业的排查清单）"""
    context = request_context()
    point = service.create_point(context, data)
    db.session.commit()
    blp.set_etag(_etag(point))
    return _detail(context, point)


@blp.route("/points/<int:point_id>")
@blp.etag
@blp.response(200, RiskPointDetailSchema)
@blp.alt_response(404, schema=ProblemSchema, description="风险点不存在")
@requires("risk.read")
def get_point(tenant_code, point_id):
    """风险点详情：危险有害因素、管控措施、历次评价、在此发现的隐患（ETag 用于修改、重新评价、撤销）"""
    context = request_context()
    point = service.get_point(context, point_id)
    blp.set_etag(_etag(point))
    return _detail(context, point)


@blp.route("/points/<int:point_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(RiskPointUpdateSchema)
@blp.response(200, RiskPointDetailSchema)
@blp.alt_response(404, schema=ProblemSchema, description="风险点不存在")
@blp.alt_response(409, schema=ProblemSchema, description="风险点已撤销，或刚被他人修改")
@requires("risk.write")
def update_point(data, tenant_code, point_id):
    """修改风险点（需 If-Match）：名称、类型、位置、管控层级、危险有害因素、管控措施（排查清单随之更新）"""
    context = request_context()
    point = service.get_point(context, point_id)
    blp.check_etag(_etag(point))
    with _rules():
        service.update_point(context, point, data)
        db.session.commit()
    blp.set_etag(_etag(point))
    return _detail(context, point)


@blp.route("/points/<int:point_id>/regrade", methods=["POST"])
@blp.etag
@blp.arguments(RiskRegradeSchema)
@blp.response(200, RiskPointDetailSchema)
@blp.doc(parameters=[IF_MATCH])
@blp.alt_response(404, schema=ProblemSchema, description="风险点不存在")
@blp.alt_response(409, schema=ProblemSchema, description="风险点已撤销，或刚被他人修改")
@blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：风险点已被他人修改")
@blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("risk.write")
def regrade_point(data, tenant_code, point_id):
    """重新评价风险点（需 If-Match，须说明理由）：记入评价历史，并消除“需重新评价”"""
    context = request_context()
    point = service.get_point(context, point_id)
    _check_if_match(point)
    with _rules():
        service.regrade(context, point, data)
        db.session.commit()
    blp.set_etag(_etag(point))
    return _detail(context, point)


@blp.route("/points/<int:point_id>/retire", methods=["POST"])
@blp.etag
@blp.arguments(RiskRetireSchema)
@blp.response(200, RiskPointDetailSchema)
@blp.doc(parameters=[IF_MATCH])
@blp.alt_response(404, schema=ProblemSchema, description="风险点不存在")
@blp.alt_response(409, schema=ProblemSchema, description="风险点已撤销，或刚被他人修改")
@blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：风险点已被他人修改")
@blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("risk.write")
def retire_point(data, tenant_code, point_id):
    """撤销风险点（需 If-Match）：移出列表、四色分布和排查清单，历史保留"""
    context = request_context()
    point = service.get_point(context, point_id)
    _check_if_match(point)
    with _rules():
        service.retire(context, point)
        db.session.commit()
    blp.set_etag(_etag(point))
    return _detail(context, point)


# --- inspections owed, the enterprise's checklist and register -----------------------------

@blp.route("/inspection-tasks")
@blp.arguments(RiskInspectionTaskQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RiskInspectionTaskSchema))
@requires("risk.read")
def inspection_tasks(query, pages, tenant_code):
    """逾期未排查的风险点（按管控层级的排查频次：公司每月、车间每周、班组每日、岗位每班），逾期最久的在前"""
    context = request_context()
    rows, total = _page(service.inspection_tasks(context, **query), pages)
    names = service.enterprise_names(point.enterprise_id for point, _due in rows)
    today = context.today()
    items = [{"point": _shown(context, point, names), "due_on": due, "overdue_days": (today - due).days,
              "managing_level": point.managing_level,
              "managing_level_label": MANAGING_LEVELS[point.managing_level],
              "inspection_cycle": service.INSPECTION_CYCLES[point.managing_level],
              "checklist_key": checklist_key(point.enterprise_id)} for point, due in rows]
    return {"items": items, "page": pages["page"], "per_page": pages["per_page"], "total": total}


@blp.route("/enterprises/<int:enterprise_id>/checklist", methods=["POST"])
@blp.arguments(RiskChecklistRegenerateSchema)
@blp.response(200, RiskChecklistSchema)
@blp.alt_response(404, schema=ProblemSchema, description="企业不存在")
@requires("risk.write")
def regenerate_checklist(data, tenant_code, enterprise_id):
    """按现有风险点的管控措施重新生成本企业的排查清单（检查表代码 risk-企业编号；有变化才出新版本）"""
    context = request_context()
    service.enterprise_of(context, enterprise_id)
    template = service.sync_checklist(context, enterprise_id)
    db.session.commit()
    items = len(items_of(template.id)) if template is not None else 0
    return {"key": checklist_key(enterprise_id), "version": template.version if template else None,
            "title": template.title if template else None, "items": items}


@blp.route("/enterprises/<int:enterprise_id>/register")
@blp.response(200, {"format": "binary", "type": "string"}, content_type=XLSX,
              description="企业风险分级管控清单（一表）.xlsx")
@blp.alt_response(404, schema=ProblemSchema, description="企业不存在")
@requires("risk.read")
def enterprise_register(tenant_code, enterprise_id):
    """导出企业的风险分级管控清单（“一表”）为 Excel：每个在用风险点一行，风险等级从高到低"""
    context = request_context()
    buffer = io.BytesIO()
    enterprise, _rows = service.register_workbook(context, enterprise_id, buffer)
    return _workbook(buffer, f"{enterprise.name}风险分级管控清单.xlsx")


# --- the bureau's picture -------------------------------------------------------------------

@blp.route("/picture")
@blp.arguments(RiskPictureQuerySchema, location="query")
@blp.response(200, RiskPictureSchema)
@blp.alt_response(404, schema=ProblemSchema, description="区域不存在")
@requires("risk.picture")
def risk_picture(query, tenant_code):
    """四色分布：按区域（含下级）、网格或企业统计各等级风险点数（红橙黄蓝）、排查逾期数、已登记企业数"""
    return service.picture(request_context(), query["by"], query.get("area_id"))


@blp.route("/city-export")
@blp.arguments(RiskCityExportQuerySchema, location="query")
@blp.response(200, {"format": "binary", "type": "string"}, content_type=XLSX,
              description="按市风险报告系统格式导出的风险点 .xlsx")
@blp.alt_response(404, schema=ProblemSchema, description="风险目录、区域或企业不存在")
@requires("risk.picture")
def city_export(query, tenant_code):
    """按市风险报告系统的格式（插件规定的列；未规定则用平台默认列）导出风险点为 Excel，可按区域或企业"""
    context = request_context()
    buffer = io.BytesIO()
    service.city_export(context, buffer, catalogue_key=query.get("catalogue"), area_id=query.get("area_id"),
                        enterprise_id=query.get("enterprise_id"), limit=EXPORT_LIMIT)
    return _workbook(buffer, "风险点上报.xlsx")
