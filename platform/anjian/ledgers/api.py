"""Enterprise ledgers over HTTP: the tenant's kinds, each kind's entries (create, read,
change, delete with If-Match, history, evidence), what needs attention (expired, expiring,
review due), a kind's workbook, and whether a person is certified for special work."""

from __future__ import annotations

import io

import marshmallow as ma
from flask import Response
from flask_smorest.fields import Upload

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.list_imports import start_list_import
from anjian.api.pagination import PageArgs, page_of
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema
from anjian.enterprises.import_api import EnterpriseImportOptionsSchema, ImportFieldSchema
from anjian.enterprises.visibility import require_enterprise
from anjian.errors import NotFound
from anjian.extensions import db
from anjian.jobs.api import JobSchema, accepted, starts_a_job
from anjian.ledgers import kinds as kinds_
from anjian.ledgers import service
from anjian.ledgers.entry_import import describe, open_kind_list
from anjian.ledgers.jobs import LEDGER_IMPORT
from anjian.ledgers.models import LedgerEntry
from anjian.ledgers.schemas import (
    AttentionQuerySchema,
    CertifiedQuerySchema,
    CertifiedSchema,
    ExportQuerySchema,
    LedgerEntryCreateSchema,
    LedgerEntryDetailSchema,
    LedgerEntryQuerySchema,
    LedgerEntrySchema,
    LedgerEntryUpdateSchema,
    LedgerKindSchema,
)
from anjian.permissions import allows
from anjian.storage.backends import content_disposition

blp = Blueprint("ledgers", __name__, url_prefix="/api/v1/tenants/<tenant_code>/ledgers",
                description="企业台账：特种作业人员持证、教育培训、应急演练、相关方、安全生产责任制、企业安全检查")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 50_000  # rows of one workbook; more: filter by enterprise


def _etag(entry: LedgerEntry) -> dict:
    return {"id": entry.id, "version": entry.version}


def _shown(context, entry: LedgerEntry, kind: dict, names: dict[int, str], *, mask: bool) -> dict:
    standing = service.standing(kind, entry, context.today())
    return {"id": entry.id, "kind": entry.kind, "enterprise_id": entry.enterprise_id,
            "enterprise_name": names.get(entry.enterprise_id),
            "data": kinds_.masked(kind, entry.data or {}) if mask else dict(entry.data or {}),
            "dated_on": entry.dated_on, "expires_on": entry.expires_on,
            "review_due_on": entry.review_due_on, "standing": standing,
            "standing_label": service.STANDINGS[standing], "version": entry.version,
            "created_at": entry.created_at, "updated_at": entry.updated_at}


def _page(context, stmt, pages, kinds: dict) -> dict:
    page, per_page = pages["page"], pages["per_page"]
    total = db.session.scalar(stmt.with_only_columns(db.func.count()).order_by(None))
    rows = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    names = service.enterprise_names(e.enterprise_id for e in rows)
    items = [_shown(context, e, kinds[e.kind], names, mask=True) for e in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def _detail(context, entry: LedgerEntry) -> dict:
    kind = kinds_.kind_of(context, entry.kind)
    names = service.enterprise_names([entry.enterprise_id])
    return {**_shown(context, entry, kind, names, mask=False),
            "history": service.history(context, entry), "evidence": service.evidence_of(entry)}


@blp.route("/kinds")
@blp.response(200, LedgerKindSchema(many=True))
@requires("ledger.read")
def list_kinds(tenant_code):
    """本单位的台账类别（核心与已启用插件的）及各自的字段、到期与提醒规则"""
    return list(kinds_.kinds(request_context()).values())


@blp.route("/attention")
@blp.arguments(AttentionQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(LedgerEntrySchema))
@requires("ledger.read")
def list_attention(query, pages, tenant_code):
    """需要关注的台账记录：已过期、即将到期、待复审、逾期未复审（可按类别、企业、情形筛选）"""
    context = request_context()
    kinds = kinds_.kinds(context)
    if "kind" in query:
        kinds_.kind_of(context, query["kind"])
    stmt = service.attention(context, kinds, kind_key=query.get("kind"),
                             enterprise_id=query.get("enterprise_id"), standing=query.get("standing"))
    return _page(context, stmt, pages, kinds)


@blp.route("/special_workers/certified")
@blp.arguments(CertifiedQuerySchema, location="query")
@blp.response(200, CertifiedSchema)
@requires("ledger.read")
def certified(query, tenant_code):
    """某人在某日是否持有效的特种作业操作证（按身份证号或姓名；证书未到期且未逾期复审）"""
    context = request_context()
    return service.certified(context, enterprise_id=query["enterprise_id"], work_kind=query["work_kind"],
                             on=query.get("on") or context.today(), id_number=query.get("id_number"),
                             name=query.get("name"))


@blp.route("/<kind_key>/entries")
@blp.arguments(LedgerEntryQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(LedgerEntrySchema))
@blp.alt_response(404, schema=ProblemSchema, description="台账类别不存在")
@requires("ledger.read")
def list_entries(query, pages, tenant_code, kind_key):
    """某类台账的记录（本人可见企业的；身份证号遮蔽），按日期倒序"""
    context = request_context()
    stmt = service.list_entries(context, kind_key, **query)
    return _page(context, stmt, pages, kinds_.kinds(context))


@blp.route("/<kind_key>/entries", methods=["POST"])
@blp.arguments(LedgerEntryCreateSchema)
@blp.response(201, LedgerEntryDetailSchema)
@requires("ledger.write")
def create_entry(data, tenant_code, kind_key):
    """新增台账记录（企业用户只能为本企业新增）"""
    context = request_context()
    entry = service.create_entry(context, kind_key, **data)
    db.session.commit()
    blp.set_etag(_etag(entry))
    return _detail(context, entry)


@blp.route("/<kind_key>/entries/<int:entry_id>")
@blp.etag
@blp.response(200, LedgerEntryDetailSchema)
@requires("ledger.read")
def get_entry(tenant_code, kind_key, entry_id):
    """台账记录详情：完整内容、修改历史、证据文件（ETag 用于修改和删除）"""
    context = request_context()
    entry = service.get_entry(context, kind_key, entry_id)
    blp.set_etag(_etag(entry))
    return _detail(context, entry)


@blp.route("/<kind_key>/entries/<int:entry_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(LedgerEntryUpdateSchema)
@blp.response(200, LedgerEntryDetailSchema)
@requires("ledger.write")
def update_entry(data, tenant_code, kind_key, entry_id):
    """修改台账记录（需 If-Match；只改给出的字段，给 null 或空字符串则清空）"""
    context = request_context()
    entry = service.get_entry(context, kind_key, entry_id)
    blp.check_etag(_etag(entry))
    service.update_entry(context, entry, data.get("data"), data.get("evidence_ids"))
    db.session.commit()
    blp.set_etag(_etag(entry))
    return _detail(context, entry)


@blp.route("/<kind_key>/entries/<int:entry_id>", methods=["DELETE"])
@blp.etag
@blp.response(204)
@requires("ledger.write")
def delete_entry(tenant_code, kind_key, entry_id):
    """删除台账记录（需 If-Match；修改历史保留）"""
    context = request_context()
    entry = service.get_entry(context, kind_key, entry_id)
    blp.check_etag(_etag(entry))
    service.delete_entry(context, entry)
    db.session.commit()


@blp.route("/<kind_key>/export")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, {"format": "binary", "type": "string"}, content_type=XLSX,
              description="该类台账（本人可见企业的）.xlsx")
@requires("ledger.read")
def export_entries(query, tenant_code, kind_key):
    """导出某类台账为 Excel（身份证号遮蔽；记录过多时请按企业导出）"""
    context = request_context()
    kind = kinds_.kind_of(context, kind_key)
    stmt = service.list_entries(context, kind_key, enterprise_id=query.get("enterprise_id"))
    buffer = io.BytesIO()
    service.export_workbook(context, kind, stmt, buffer, limit=EXPORT_LIMIT)
    response = Response(buffer.getvalue(), mimetype=XLSX)
    response.headers["Content-Disposition"] = content_disposition(f"{kind['title']}台账.xlsx")
    return response


class LedgerImportOptionsSchema(EnterpriseImportOptionsSchema):
    """The enterprise import's options (dry_run, sheet, mapping) and the enterprise a list
    of one enterprise is of."""

    class Meta:
        unknown = ma.EXCLUDE
        exclude = ("profile",)

    enterprise_id = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=1),
                                      metadata={"description": "名单只含一家企业时，该企业（企业用户：本企业）；"
                                                               "不填则名单须有“企业统一社会信用代码”列"})


class LedgerImportUploadSchema(LedgerImportOptionsSchema):
    file = Upload(required=True, metadata={
        "description": ".xlsx、.xls、.ods 或 .csv（UTF-8、UTF-16 或 GB18030/GBK）"})


class LedgerImportProfileSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    fields = ma.fields.List(ma.fields.Nested(ImportFieldSchema))


def _import_enterprise(context, given: int | None) -> int | None:
    """The enterprise a list is of: an enterprise user's own whatever it names."""
    access = context.access
    if access is not None and allows(access.role, "enterprise.read_own"):
        if not access.enterprise_id:  # told as any enterprise it does not see
            raise NotFound("企业不存在：该账号未关联企业")
        if given not in (None, access.enterprise_id):
            require_enterprise(context, given, "企业")
        return access.enterprise_id
    if given is not None:
        require_enterprise(context, given, "企业")
    return given


@blp.route("/<kind_key>/imports/profile")
@blp.response(200, LedgerImportProfileSchema)
@requires("ledger.import")
def ledger_import_profile(tenant_code, kind_key):
    """该类台账名单的列：每个字段的中文标签、能识别的其他列名、是否必填"""
    context = request_context()
    kind = kinds_.kind_of(context, kind_key)
    return describe(kind, one_enterprise=_import_enterprise(context, None) is not None)


@blp.route("/<kind_key>/imports", methods=["POST"])
@blp.arguments(LedgerImportUploadSchema, location="files", content_type="multipart/form-data")
@blp.response(202, JobSchema)
@starts_a_job(blp)
@requires("ledger.import")
def import_entries(files, tenant_code, kind_key):
    """上传某类台账的名单（如市级系统导出的持证人员名单、企业的培训记录）并开始导入（或试运行）；返回任务（202）。

    多家企业的名单按“企业统一社会信用代码”列找到企业；一家企业的名单指定 enterprise_id（企业用户为本企业）。
    有唯一标识的台账（如证书编号）按标识新增或更新，其他台账内容完全相同的不重复导入。
    名单可带标题行、合并表头、序号列、合计行；无法对应的列须在 mapping 中说明，
    否则正式导入以 422 拒绝并给出导入计划。"""
    context = request_context()
    kind = kinds_.kind_of(context, kind_key)
    chosen: dict = {}

    def open_list(data, options):
        chosen["enterprise_id"] = _import_enterprise(context, options.get("enterprise_id"))
        return open_kind_list(kind, data, one_enterprise=chosen["enterprise_id"] is not None,
                              sheet=options["sheet"], mapping=options["mapping"])

    job = start_list_import(files, LedgerImportOptionsSchema, kind=LEDGER_IMPORT, open_table=open_list,
                            job_params=lambda options: {"ledger_kind": kind["key"], **chosen})
    db.session.commit()
    return accepted(job)
