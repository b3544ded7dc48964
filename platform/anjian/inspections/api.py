"""Checklist templates, inspections and evidence files over HTTP."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask_smorest.fields import Upload
from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate, paginate_list
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.enterprises.visibility import can_see_enterprise, enterprise_clause, require_enterprise
from anjian.evidence import Evidence, download_url, visible
from anjian.extensions import db
from anjian.inspections import service
from anjian.inspections.models import ChecklistTemplate, Inspection
from anjian.inspections.schemas import (
    BulkResultsInSchema,
    EvidenceDownloadSchema,
    EvidenceSchema,
    EvidenceUploadOptionsSchema,
    InspectionCreateSchema,
    InspectionDetailSchema,
    InspectionQuerySchema,
    InspectionSchema,
    ResultInSchema,
    ResultSchema,
    SubmitSchema,
    TemplateCreateSchema,
    TemplateQuerySchema,
    TemplateSchema,
    TemplateSummarySchema,
    TemplateUpdateSchema,
)
from anjian.storage.service import storage_for

PREFIX = "/api/v1/tenants/<tenant_code>"
templates_blp = Blueprint("checklist_templates", __name__,
                          url_prefix=f"{PREFIX}/checklist-templates",
                          description="检查表（版本化；插件提供或本单位编制）")
blp = Blueprint("inspections", __name__, url_prefix=f"{PREFIX}/inspections",
                description="检查：部门检查、第三方服务机构检查、企业自查、抽查")
evidence_blp = Blueprint("evidence", __name__, url_prefix=f"{PREFIX}/evidence",
                         description="证据文件（照片、PDF）")

# Who inspects: departments (supervisors, admins), service organisations, the enterprise.
URL_SECONDS = 300


# --- checklist templates ----------------------------------------------------------------------

@templates_blp.route("")
@templates_blp.arguments(PageArgs, location="query")
@templates_blp.response(200, page_of(TemplateSummarySchema))
@requires("checklist.read")
def list_templates(pages, tenant_code):
    """检查表列表：本单位的检查表（当前版本）及已启用插件提供的检查表"""
    return paginate_list(service.list_templates(request_context()), pages["page"], pages["per_page"])


@templates_blp.route("", methods=["POST"])
@templates_blp.arguments(TemplateCreateSchema)
@templates_blp.response(201, TemplateSchema)
@requires("checklist.manage")
def create_template(data, tenant_code):
    """编制本单位检查表（检查项编号在表内唯一）"""
    context = request_context()
    template = service.create_template(context, data)
    db.session.commit()
    return service.template_view(template, service.template_versions(context, template.key))


def _template(key: str, version: int | None = None):
    if not service.template_visible(request_context(), key):
        problem(404, "检查表不存在")
    if version is not None:
        row = db.session.scalar(select(ChecklistTemplate).where(
            ChecklistTemplate.key == key, ChecklistTemplate.version == version))
        if row is not None:
            return row
        entry = service.plugin_templates(request_context()).get(key)
        if entry is not None and entry["version"] == version:
            return entry
        problem(404, "检查表版本不存在")
    template = service.current_template(request_context(), key, materialise_plugin=False)
    if template is None:
        problem(404, "检查表不存在")
    return template


@templates_blp.route("/<template_key>")
@templates_blp.etag
@templates_blp.arguments(TemplateQuerySchema, location="query")
@templates_blp.response(200, TemplateSchema)
@requires("checklist.read")
def get_template(query, tenant_code, template_key):
    """检查表及其检查项（默认当前版本，version 指定历史版本）"""
    template = _template(template_key, query.get("version"))
    return service.template_view(template, service.template_versions(request_context(), template_key))


@templates_blp.route("/<template_key>", methods=["PUT"])
@templates_blp.etag
@templates_blp.arguments(TemplateUpdateSchema)
@templates_blp.response(200, TemplateSchema)
@requires("checklist.manage")
def update_template(data, tenant_code, template_key):
    """修改检查表（需 If-Match）：已被检查使用的版本不变，另存为新版本"""
    template = _template(template_key)
    versions = service.template_versions(request_context(), template_key)
    templates_blp.check_etag(service.template_view(template, versions), TemplateSchema)
    if isinstance(template, dict):
        problem(409, "插件提供的检查表不能修改；可新建本单位的检查表")
    saved = service.edit_template(request_context(), template, data)
    db.session.commit()
    return service.template_view(saved, service.template_versions(request_context(), template_key))


@templates_blp.route("/<template_key>/versions")
@templates_blp.response(200, TemplateSummarySchema(many=True))
@requires("checklist.read")
def list_versions(tenant_code, template_key):
    """检查表的全部版本"""
    versions = service.template_versions(request_context(), template_key)
    if not versions:
        problem(404, "检查表不存在")
    rows = {r.version: r for r in service.template_rows(template_key)}
    entry = service.plugin_templates(request_context()).get(template_key)
    return [service.template_summary(rows.get(v) or entry, versions) for v in versions]


# --- inspections ------------------------------------------------------------------------------

def _inspection(inspection_id: int) -> Inspection:
    inspection = get_or_404(Inspection, inspection_id, "检查")
    require_enterprise(request_context(), inspection.enterprise_id, "检查")
    return inspection


@blp.route("")
@blp.arguments(InspectionQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(InspectionSchema))
@requires("inspection.read")
def list_inspections(query, pages, tenant_code):
    """检查列表（按企业、专项行动、状态、检查类型筛选）"""
    stmt = select(Inspection).where(enterprise_clause(request_context(), Inspection.enterprise_id))
    for key in ("enterprise_id", "campaign_id", "status", "inspector_kind"):
        if key in query:
            stmt = stmt.where(getattr(Inspection, key) == query[key])
    stmt = stmt.order_by(Inspection.started_at.desc(), Inspection.id.desc())
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(InspectionCreateSchema)
@blp.response(201, InspectionDetailSchema)
@requires("inspection.conduct")
def create_inspection(data, tenant_code):
    """开始一次检查（检查类型由角色决定；监管人员可选抽查）"""
    inspection = service.create_inspection(request_context(), data)
    db.session.commit()
    return service.inspection_view(inspection)


@blp.route("/<int:inspection_id>")
@blp.etag
@blp.response(200, InspectionDetailSchema)
@requires("inspection.read")
def get_inspection(tenant_code, inspection_id):
    """检查详情：每个检查项的回答、说明、证据和登记的隐患"""
    return service.inspection_view(_inspection(inspection_id))


@blp.route("/<int:inspection_id>/results/<int:item_id>", methods=["PUT"])
@blp.arguments(ResultInSchema)
@blp.response(200, ResultSchema)
@requires("inspection.conduct")
def put_result(data, tenant_code, inspection_id, item_id):
    """填写一个检查项（是 / 否 / 不适用、说明、证据）；“否”可一并登记隐患"""
    inspection = _inspection(inspection_id)
    result = service.set_result(request_context(), inspection, item_id, data)
    db.session.commit()
    return result


@blp.route("/<int:inspection_id>/results", methods=["PUT"])
@blp.arguments(BulkResultsInSchema)
@blp.response(200, InspectionDetailSchema)
@requires("inspection.conduct")
def put_results(data, tenant_code, inspection_id):
    """批量填写检查项（results: [{item_id, answer, ...}]）"""
    inspection = _inspection(inspection_id)
    service.set_results(request_context(), inspection, data["results"])
    db.session.commit()
    return service.inspection_view(inspection)


@blp.route("/<int:inspection_id>/submit", methods=["POST"])
@blp.arguments(SubmitSchema)
@blp.response(200, InspectionDetailSchema)
@requires("inspection.conduct")
def submit_inspection(data, tenant_code, inspection_id):
    """提交检查（全部检查项须已填写；提交后不能再修改）"""
    inspection = _inspection(inspection_id)
    service.submit(request_context(), inspection, data)
    db.session.commit()
    return service.inspection_view(inspection)


# --- evidence ---------------------------------------------------------------------------------

class EvidenceUploadSchema(EvidenceUploadOptionsSchema):
    file = Upload(required=True, metadata={"description": "照片（JPEG、PNG）或 PDF"})


@evidence_blp.route("", methods=["POST"])
@evidence_blp.arguments(EvidenceUploadSchema, location="files",
                        content_type="multipart/form-data")
@evidence_blp.response(201, EvidenceSchema)
@requires("evidence.upload")
def upload_evidence(files, tenant_code):
    """上传证据文件（照片或 PDF），再在检查项或隐患中引用其 id"""
    try:  # webargs reads the "files" location only: the options come from the form fields
        options = EvidenceUploadOptionsSchema().load(request.form.to_dict())
    except ma.ValidationError as exc:
        problem(422, "上传选项无效", errors=exc.messages)
    upload = files["file"]
    try:
        evidence = service.upload_evidence(request_context(), storage_for(current_app),
                                           upload.stream, upload.mimetype, upload.filename,
                                           options["enterprise_id"])
    finally:
        upload.close()
    db.session.commit()
    return evidence


@evidence_blp.route("/<int:evidence_id>")
@evidence_blp.response(200, EvidenceDownloadSchema)
@requires("evidence.read")
def get_evidence(tenant_code, evidence_id):
    """证据文件信息及限时下载链接"""
    evidence = get_or_404(Evidence, evidence_id, "证据文件")
    context = request_context()
    if not visible(context, evidence, can_see_enterprise):
        problem(404, "证据文件不存在")
    data = {name: getattr(evidence, name) for name in EvidenceSchema().fields}
    data["download_url"] = download_url(context, storage_for(current_app), evidence, URL_SECONDS)
    data["expires_in"] = URL_SECONDS
    return data
