"""Rules (规章制度) over HTTP: the tenant's rule templates and their load from the
district's list, each enterprise's checklist against them, and the counts per
enterprise (``anjian.ledgers.rules``, ``anjian.ledgers.importing``)."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest.fields import Upload
from marshmallow import validate

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema, problem
from anjian.db import ID
from anjian.enterprises.import_api import EnterpriseImportOptionsSchema
from anjian.errors import DomainError, Refused
from anjian.extensions import db
from anjian.ledgers import rules
from anjian.ledgers.importing import RULE_TEMPLATE_FILE_MAX, import_rule_templates

blp = Blueprint("rules", __name__, url_prefix="/api/v1/tenants/<tenant_code>/rules",
                description="规章制度：模板清单与各企业的建立情况")

_STATUSES = "、".join(f"{k}（{v}）" for k, v in rules.STATUS_LABELS.items())


# --------------------------------------------------------------------------- schemas


class RuleTemplateSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "编号（清单中的编号，或仅有序号时的序号）"})
    title = ma.fields.String(metadata={"description": "制度名称"})
    category = ma.fields.String(metadata={"description": "类别"})
    seq = ma.fields.Integer(metadata={"description": "在清单中的顺序"})
    created_at = ma.fields.DateTime()


class RuleTemplateQuerySchema(ma.Schema):
    category = ma.fields.String(validate=validate.Length(max=100), metadata={"description": "类别"})
    q = ma.fields.String(validate=validate.Length(max=100), metadata={"description": "编号或名称中的文字"})


class RuleCountsSchema(ma.Schema):
    templates = ma.fields.Integer(metadata={"description": "模板总数"})
    present = ma.fields.Integer(metadata={"description": "已建立"})
    missing = ma.fields.Integer(metadata={"description": "缺失"})
    outdated = ma.fields.Integer(metadata={"description": "需修订"})
    unassessed = ma.fields.Integer(metadata={"description": "未自查（模板总数减去以上三项）"})
    met = ma.fields.Integer(metadata={"description": "达到要求的条数，即已建立（present）；需修订的不计"})


class RuleItemSchema(ma.Schema):
    template_id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()
    category = ma.fields.String()
    seq = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": _STATUSES})
    status_label = ma.fields.Function(lambda item: rules.STATUS_LABELS[item["status"]])
    revised_on = ma.fields.Date(allow_none=True, metadata={"description": "最近修订日期"})
    note = ma.fields.String()
    updated_by = ma.fields.Integer(allow_none=True)
    updated_at = ma.fields.DateTime(allow_none=True)


class RuleChecklistSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    counts = ma.fields.Nested(RuleCountsSchema, metadata={"description": "按全部模板计数（不受筛选影响）"})
    items = ma.fields.List(ma.fields.Nested(RuleItemSchema))


class RuleChecklistQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(list(rules.STATUS_LABELS)),
                              metadata={"description": _STATUSES})
    category = ma.fields.String(validate=validate.Length(max=100), metadata={"description": "类别"})


class RuleStatusSchema(ma.Schema):
    template_id = ma.fields.Integer(required=True, validate=ID)
    status = ma.fields.String(required=True, validate=validate.OneOf(list(rules.STATUS_LABELS)),
                              metadata={"description": f"{_STATUSES}；unassessed 即撤销该项的自查结果"})
    revised_on = ma.fields.Date(load_default=None, allow_none=True,
                                metadata={"description": "最近修订日期，不能晚于今天；缺失的制度不填"})
    note = ma.fields.String(load_default="", validate=validate.Length(max=rules.NOTE_MAX))


class RuleStatusesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RuleStatusSchema), required=True,
                           validate=validate.Length(max=rules.SET_MAX),
                           metadata={"description": "要填写的各项；未列出的模板不变"})


class RuleSummaryQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)
    area_id = ma.fields.Integer(validate=ID, metadata={"description": "区域（含下级区域）"})


class RuleSummaryItemSchema(RuleCountsSchema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    area_id = ma.fields.Integer(allow_none=True)


class RuleTotalsSchema(RuleCountsSchema):
    enterprises = ma.fields.Integer(metadata={"description": "企业数；templates 为企业数乘以模板数"})


class RuleSummarySchema(page_of(RuleSummaryItemSchema)):
    totals = ma.fields.Nested(RuleTotalsSchema, metadata={"description": "筛选范围内全部企业（不只本页）的合计"})


class RuleTemplateImportOptionsSchema(EnterpriseImportOptionsSchema):
    """The enterprise import's options (dry_run, sheet, mapping) without its profiles."""

    class Meta:
        unknown = ma.EXCLUDE
        exclude = ("profile",)

    sheet = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=31),
                             metadata={"description": "工作表名称；不填则自动找出含模板清单的工作表"})


class RuleTemplateUploadSchema(RuleTemplateImportOptionsSchema):
    """The multipart body: the file, plus the options as form fields."""

    file = Upload(required=True, metadata={
        "description": f".xlsx、.xls、.ods 或 .csv，不超过 {RULE_TEMPLATE_FILE_MAX // (1024 * 1024)} MB"})


class RuleTemplateImportSchema(ma.Schema):
    """What a load did (or, in a dry run, would do): the plan, the rows, the counts."""

    dry_run = ma.fields.Boolean()
    profile = ma.fields.String()
    file_name = ma.fields.String(allow_none=True)
    sheet = ma.fields.String(allow_none=True)
    header_rows = ma.fields.List(ma.fields.Integer())
    columns = ma.fields.List(ma.fields.Raw(), metadata={"description": "每列对应的字段"})
    ignored = ma.fields.List(ma.fields.Raw())
    unmapped = ma.fields.List(ma.fields.Raw())
    total = ma.fields.Integer(metadata={"description": "数据行数"})
    blank_rows = ma.fields.Integer()
    skipped = ma.fields.List(ma.fields.Raw(), metadata={"description": "跳过的合计、说明、落款行"})
    skipped_count = ma.fields.Integer()
    rejected = ma.fields.Integer()
    rejections = ma.fields.List(ma.fields.Raw(), metadata={"description": "未导入的行：行号、列、原因"})
    conversions = ma.fields.List(ma.fields.Raw())
    preview = ma.fields.List(ma.fields.Raw())
    created = ma.fields.Integer(metadata={"description": "新增的模板"})
    updated = ma.fields.Integer(metadata={"description": "名称、类别有变化的模板"})
    unchanged = ma.fields.Integer()
    not_in_list = ma.fields.List(ma.fields.String(), metadata={
        "description": "已有但不在本次清单中的模板编号（保留，企业的自查记录不变）"})
    warnings = ma.fields.List(ma.fields.String())
    changes = ma.fields.List(ma.fields.Raw(), metadata={"description": "试运行：将发生的变化（前 200 条）"})
    changes_truncated = ma.fields.Boolean()


# --------------------------------------------------------------------------- routes


@blp.route("/templates")
@blp.arguments(RuleTemplateQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RuleTemplateSchema))
@requires("rule.read")
def list_templates(query, pages, tenant_code):
    """规章制度模板清单（按清单顺序），可按类别、编号或名称筛选"""
    return paginate(rules.list_templates(request_context(), **query), pages["page"], pages["per_page"])


@blp.route("/templates/imports", methods=["POST"])
@blp.arguments(RuleTemplateUploadSchema, location="files", content_type="multipart/form-data")
@blp.response(200, RuleTemplateImportSchema)
@blp.alt_response(413, schema=ProblemSchema, description="文件过大")
@blp.alt_response(415, schema=ProblemSchema, description="无法读取的文件")
@blp.alt_response(422, schema=ProblemSchema, description="找不到模板清单，或有无法对应的列（附导入计划）")
@requires("rule_template.manage")
def import_templates(files, tenant_code):
    """上传规章制度模板清单（如区应急管理局的 271 项）并导入，或试运行（dry_run）只返回导入计划。

    按编号新增或更新（名称、类别、顺序）；清单可带标题行、合并表头、合计行，只有序号而无编号列时以序号作编号。
    已有而不在本次清单中的模板保留并列出（not_in_list），企业对其的自查记录不变。
    无法对应的列须在 mapping 中说明（指定字段或忽略），否则正式导入以 422 拒绝并给出导入计划。"""
    try:
        options = RuleTemplateImportOptionsSchema().load(request.form.to_dict())
    except ma.ValidationError as exc:
        problem(422, "导入选项无效", errors=exc.messages)
    upload = files["file"]
    try:
        data = upload.read(RULE_TEMPLATE_FILE_MAX + 1)  # one byte past the bound tells it is over
    finally:
        upload.close()
    try:
        result = import_rule_templates(request_context(), data, dry_run=options["dry_run"],
                                       sheet=options["sheet"], mapping=options["mapping"],
                                       file_name=upload.filename or None)
    except DomainError as exc:  # told on the form's file field unless it names its own
        exc.on("file")
        raise
    if options["dry_run"]:
        db.session.rollback()  # nothing was written
    else:
        db.session.commit()
    return result


@blp.route("/enterprises/<int:enterprise_id>")
@blp.arguments(RuleChecklistQuerySchema, location="query")
@blp.response(200, RuleChecklistSchema)
@requires("rule.read")
def get_enterprise_rules(query, tenant_code, enterprise_id):
    """一家企业对照模板的自查清单：每项模板的状态（已建立、缺失、需修订、未自查）、最近修订日期、备注，及计数"""
    return rules.checklist(request_context(), enterprise_id, **query)


@blp.route("/enterprises/<int:enterprise_id>", methods=["PUT"])
@blp.arguments(RuleStatusesSchema)
@blp.response(200, RuleChecklistSchema)
@blp.alt_response(422, schema=ProblemSchema, description="有错误时全部不保存，errors 按“items.序号.字段”列出")
@requires("rule.write")
def set_enterprise_rules(data, tenant_code, enterprise_id):
    """填写一项或多项模板的自查结果（items），全部成功或全部不保存；返回更新后的清单"""
    try:
        checklist = rules.set_statuses(request_context(), enterprise_id, data["items"])
    except Refused as exc:  # the faults by item, as the body names them
        exc.within("items")
        raise
    db.session.commit()
    return checklist


@blp.route("/summary")
@blp.arguments(RuleSummaryQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RuleSummarySchema)
@requires("rule.read")
def rules_summary(query, pages, tenant_code):
    """各企业规章制度建立情况的计数（按企业名称），及筛选范围内全部企业的合计"""
    return rules.summary(request_context(), **query, page=pages["page"], per_page=pages["per_page"])
