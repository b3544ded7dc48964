import marshmallow as ma
from marshmallow import validate

from anjian.hazards.models import GRADES
from anjian.inspections.models import (
    ANSWERS,
    INSPECTION_STATUSES,
    INSPECTOR_KINDS,
    PARTS,
    TEMPLATE_SOURCES,
)
from anjian.inspections.service import hazard_of_result

TEMPLATE_KEY = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{1,79}$",
                               error="代码只能包含小写字母、数字、_ 和 -，2–80 个字符")
PART_VALUES = [*PARTS, *PARTS.values()]


# --- checklist templates ----------------------------------------------------------------------

class ItemSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True)
    position = ma.fields.Integer()
    code = ma.fields.String()
    text = ma.fields.String()
    category = ma.fields.String()
    part = ma.fields.String()
    part_label = ma.fields.Function(lambda i: PARTS.get(i["part"] if isinstance(i, dict)
                                                         else i.part))
    legal_basis = ma.fields.String()
    is_major_criterion = ma.fields.Boolean()


class TemplateSummarySchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "未使用过的插件检查表为空"})
    key = ma.fields.String()
    title = ma.fields.String()
    version = ma.fields.Integer()
    source = ma.fields.String()
    source_label = ma.fields.Function(lambda t: TEMPLATE_SOURCES.get(t["source"]))
    plugin = ma.fields.String(allow_none=True)
    is_current = ma.fields.Boolean()
    materialised = ma.fields.Boolean(metadata={"description": "是否已复制到本单位（已被使用）"})
    versions = ma.fields.List(ma.fields.Integer())
    created_at = ma.fields.DateTime(allow_none=True)


class TemplateSchema(TemplateSummarySchema):
    items = ma.fields.List(ma.fields.Nested(ItemSchema))


class ItemInSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000))
    category = ma.fields.String(validate=validate.Length(max=100))
    part = ma.fields.String(validate=validate.OneOf(PART_VALUES),
                            metadata={"description": "document（软件资料）或 onsite（现场）"})
    legal_basis = ma.fields.String(validate=validate.Length(max=5000))
    is_major_criterion = ma.fields.Boolean(metadata={"description": "“否”即构成重大事故隐患"})


class TemplateCreateSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=TEMPLATE_KEY)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    items = ma.fields.List(ma.fields.Nested(ItemInSchema), required=True,
                           validate=validate.Length(min=1, max=1000,
                                                    error="检查项须有 1 到 1000 项"))


class TemplateUpdateSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    items = ma.fields.List(ma.fields.Nested(ItemInSchema), required=True,
                           validate=validate.Length(min=1, max=1000,
                                                    error="检查项须有 1 到 1000 项"))


class TemplateQuerySchema(ma.Schema):
    version = ma.fields.Integer(validate=validate.Range(min=1),
                                metadata={"description": "指定版本（默认当前版本）"})


# --- evidence ---------------------------------------------------------------------------------

class EvidenceSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    enterprise_id = ma.fields.Integer(allow_none=True)
    inspection_result_id = ma.fields.Integer(allow_none=True)
    hazard_id = ma.fields.Integer(allow_none=True)
    hazard_event_id = ma.fields.Integer(allow_none=True)
    uploaded_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


class EvidenceDownloadSchema(EvidenceSchema):
    download_url = ma.fields.String(metadata={"description": "限时下载链接"})
    expires_in = ma.fields.Integer()


class EvidenceUploadOptionsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    enterprise_id = ma.fields.Integer(load_default=None, allow_none=True)


# --- inspections ------------------------------------------------------------------------------

class InspectionSchema(ma.Schema):
    id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer(allow_none=True)
    template_id = ma.fields.Integer()
    inspector_kind = ma.fields.String()
    inspector_kind_label = ma.fields.Function(lambda i: INSPECTOR_KINDS.get(i.inspector_kind))
    inspector_user_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda i: INSPECTION_STATUSES.get(i.status))
    summary = ma.fields.String()
    conclusion = ma.fields.String()
    performed_on = ma.fields.Date(metadata={"description": "检查实施日期（北京时间）"})
    started_at = ma.fields.DateTime(metadata={"description": "录入时间"})
    submitted_at = ma.fields.DateTime(allow_none=True)


class ResultViewSchema(ma.Schema):
    item_id = ma.fields.Integer()
    code = ma.fields.String()
    text = ma.fields.String()
    category = ma.fields.String()
    part = ma.fields.String()
    legal_basis = ma.fields.String()
    is_major_criterion = ma.fields.Boolean()
    result_id = ma.fields.Integer(allow_none=True)
    answer = ma.fields.String(allow_none=True)
    answer_label = ma.fields.Function(lambda r: ANSWERS.get(r["answer"]) if r["answer"] else None)
    note = ma.fields.String()
    answered_by = ma.fields.Integer(allow_none=True)
    answered_at = ma.fields.DateTime(allow_none=True)
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema))
    hazard_id = ma.fields.Integer(allow_none=True)


class TemplateRefSchema(ma.Schema):
    id = ma.fields.Integer()
    key = ma.fields.String()
    version = ma.fields.Integer()
    title = ma.fields.String()


class InspectionDetailSchema(ma.Schema):
    """An inspection with every item of its template version and the answers given."""

    inspection = ma.fields.Nested(InspectionSchema)
    template = ma.fields.Nested(TemplateRefSchema)
    enterprise_name = ma.fields.String(allow_none=True)
    results = ma.fields.List(ma.fields.Nested(ResultViewSchema))


class InspectionCreateSchema(ma.Schema):
    enterprise_id = ma.fields.Integer(required=True)
    campaign_id = ma.fields.Integer(allow_none=True)
    template_id = ma.fields.Integer(metadata={"description": "指定检查表版本"})
    template_key = ma.fields.String(validate=validate.Length(min=1, max=80),
                                    metadata={"description": "检查表代码（使用当前版本）"})
    inspector_kind = ma.fields.String(
        validate=validate.OneOf(list(INSPECTOR_KINDS)),
        metadata={"description": "默认按角色：监管人员为部门检查（可选抽查），服务机构、企业自查"})
    summary = ma.fields.String(validate=validate.Length(max=5000))
    performed_on = ma.fields.Date(metadata={
        "description": "检查实施日期（默认今天；补录纸质检查时填实际检查日期，不能晚于今天）"})

    @ma.validates_schema
    def _one_template(self, data, **kwargs):
        if ("template_id" in data) == ("template_key" in data):
            raise ma.ValidationError("须给出 template_id 或 template_key 之一", "template_id")


class InspectionQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    status = ma.fields.String(validate=validate.OneOf(list(INSPECTION_STATUSES)))
    inspector_kind = ma.fields.String(validate=validate.OneOf(list(INSPECTOR_KINDS)))


class RaiseHazardSchema(ma.Schema):
    title = ma.fields.String(validate=validate.Length(max=300),
                             metadata={"description": "默认为检查项内容"})
    description = ma.fields.String(validate=validate.Length(max=5000))
    location = ma.fields.String(validate=validate.Length(max=300))
    found_on = ma.fields.Date(metadata={"description": "默认为检查实施日期"})
    immediate = ma.fields.Boolean(metadata={"description": "立即整改（仅一般隐患）"})
    evidence_ids = ma.fields.List(ma.fields.Integer(), validate=validate.Length(max=50))
    grade = ma.fields.String(validate=validate.OneOf(list(GRADES)), metadata={
        "description": "隐患等级（默认按检查项和本单位的分级规则）；major 须写明判定依据"})
    grade_criterion = ma.fields.String(validate=validate.Length(max=2000), metadata={
        "description": "重大事故隐患的判定依据"})


class ResultInSchema(ma.Schema):
    answer = ma.fields.String(required=True, validate=validate.OneOf(list(ANSWERS)),
                              metadata={"description": "yes 是 / no 否 / na 不适用"})
    note = ma.fields.String(validate=validate.Length(max=5000))
    evidence_ids = ma.fields.List(ma.fields.Integer(), validate=validate.Length(max=50),
                                  metadata={"description": "已上传的证据文件（替换原有的）"})
    raise_hazard = ma.fields.Nested(RaiseHazardSchema,
                                    metadata={"description": "回答“否”时一并登记隐患"})


class BulkResultInSchema(ResultInSchema):
    item_id = ma.fields.Integer(required=True)


class BulkResultsInSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(BulkResultInSchema), required=True,
                             validate=validate.Length(max=1000))


class ResultSchema(ma.Schema):
    id = ma.fields.Integer()
    inspection_id = ma.fields.Integer()
    item_id = ma.fields.Integer()
    answer = ma.fields.String()
    answer_label = ma.fields.Function(lambda r: ANSWERS.get(r.answer))
    note = ma.fields.String()
    answered_by = ma.fields.Integer(allow_none=True)
    answered_at = ma.fields.DateTime()
    hazard_id = ma.fields.Method("get_hazard_id")

    def get_hazard_id(self, result):
        return hazard_of_result(result.id)


class SubmitSchema(ma.Schema):
    summary = ma.fields.String(validate=validate.Length(max=5000))
    conclusion = ma.fields.String(validate=validate.Length(max=5000),
                                  metadata={"description": "结论性意见"})
    performed_on = ma.fields.Date(metadata={"description": "检查实施日期（可在提交时更正，不能晚于今天）"})
