import marshmallow as ma
from marshmallow import validate
from marshmallow.utils import get_value

from anjian.enterprises.models import SCALES
from anjian.services.compliance import COMPLIANCE_STATUSES, PERIOD_LABELS
from anjian.services.models import (
    CONTRACT_STATUSES,
    FINDINGS,
    RECORD_KINDS,
    SERVICE_KINDS,
)
from anjian.sorting import sort_argument

PHONE = validate.Regexp(r"^[0-9+\-() ]{0,30}$", error="电话号码格式错误")
IDS = ma.fields.List(ma.fields.Integer(validate=validate.Range(min=1)),
                     validate=validate.Length(max=50), load_default=list)
MONEY = {"as_string": True, "places": 2}


# --- organisations ----------------------------------------------------------------------------

class OrganisationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    credit_code = ma.fields.String(allow_none=True)
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


def _organisation_fields(required: bool) -> dict:
    return {
        "name": ma.fields.String(required=required, validate=validate.Length(min=1, max=200)),
        "credit_code": ma.fields.String(allow_none=True, validate=validate.Length(max=40),
                                        metadata={"description": "统一社会信用代码"}),
        "contact_name": ma.fields.String(validate=validate.Length(max=50)),
        "contact_phone": ma.fields.String(validate=PHONE),
        "is_active": ma.fields.Boolean(),
    }


OrganisationCreateSchema = ma.Schema.from_dict(_organisation_fields(True),
                                               name="OrganisationCreateSchema")
OrganisationUpdateSchema = ma.Schema.from_dict(_organisation_fields(False),
                                               name="OrganisationUpdateSchema")


class OrganisationQuerySchema(ma.Schema):
    active = ma.fields.Boolean(metadata={"description": "只看启用（true）或停用（false）的机构"})
    q = ma.fields.String(validate=validate.Length(max=100), metadata={"description": "按名称搜索"})


class StaffSchema(ma.Schema):
    id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()


class StaffAddSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True, validate=validate.Range(min=1),
                                metadata={"description": "本单位角色为 service_org 的成员"})


# --- contracts --------------------------------------------------------------------------------

class ContractSchema(ma.Schema):
    id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer(allow_none=True)
    title = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    price_per_enterprise = ma.fields.Decimal(allow_none=True, **MONEY,
                                             metadata={"description": "中标单价（元/家·年）"})
    service_kinds = ma.fields.List(ma.fields.String())
    service_kind_labels = ma.fields.Function(
        lambda c: [SERVICE_KINDS.get(k, k) for k in c.service_kinds or ()])
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda c: CONTRACT_STATUSES.get(c.status))
    plugin = ma.fields.String(allow_none=True,
                              metadata={"description": "按哪个插件的规则计算服务义务和费用分担"})
    settings = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)


KINDS = ma.fields.List(ma.fields.String(validate=validate.OneOf(list(SERVICE_KINDS))),
                       validate=validate.Length(max=len(SERVICE_KINDS) * 2),
                       metadata={"description": "technical 技术服务、management 管理服务、"
                                                "training 教育培训服务、information 信息化服务"})


def _contract_fields(required: bool) -> dict:
    return {
        "organisation_id": ma.fields.Integer(required=required),
        "campaign_id": ma.fields.Integer(allow_none=True),
        "title": ma.fields.String(required=required, validate=validate.Length(min=1, max=200)),
        "starts_on": ma.fields.Date(required=required),
        "ends_on": ma.fields.Date(required=required),
        "price_per_enterprise": ma.fields.Decimal(
            allow_none=True, places=2, validate=validate.Range(min=0, max=10_000_000),
            metadata={"description": "中标单价（元/家·年）"}),
        "service_kinds": KINDS,
        "plugin": ma.fields.String(allow_none=True, validate=validate.Length(max=80)),
        "settings": ma.fields.Dict(metadata={"description": "插件读取的合同设置"}),
    }


ContractCreateSchema = ma.Schema.from_dict({
    **_contract_fields(True),
    "enterprise_ids": ma.fields.List(ma.fields.Integer(validate=validate.Range(min=1)),
                                     validate=validate.Length(max=5000), load_default=list,
                                     metadata={"description": "服务企业"}),
}, name="ContractCreateSchema")
ContractUpdateSchema = ma.Schema.from_dict({
    **_contract_fields(False),
    "status": ma.fields.String(validate=validate.OneOf(["ended"]),
                               metadata={"description": "ended: 合同履行完毕（终止用 revoke）"}),
}, name="ContractUpdateSchema")


class ContractQuerySchema(ma.Schema):
    organisation_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer(metadata={"description": "服务该企业的合同"})
    status = ma.fields.String(validate=validate.OneOf(list(CONTRACT_STATUSES)))


class RevokeSchema(ma.Schema):
    """No fields: revoking takes an empty JSON object."""


class ContractEnterpriseSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    credit_code = ma.fields.String()
    scale = ma.fields.String()
    scale_label = ma.fields.Function(lambda r: SCALES.get(r["scale"]))
    above_quota = ma.fields.Boolean()
    joined_on = ma.fields.Date(allow_none=True)
    left_on = ma.fields.Date(allow_none=True)


class ContractEnterprisesAddSchema(ma.Schema):
    enterprise_ids = ma.fields.List(ma.fields.Integer(validate=validate.Range(min=1)),
                                    required=True, validate=validate.Length(min=1, max=5000))
    joined_on = ma.fields.Date(allow_none=True, load_default=None,
                               metadata={"description": "加入日期（默认合同开始日）"})


class ContractEnterprisesAddedSchema(ma.Schema):
    added = ma.fields.Integer()
    rejoined = ma.fields.Integer()
    already = ma.fields.Integer()


class ContractEnterpriseQuerySchema(ma.Schema):
    current = ma.fields.Boolean(metadata={"description": "true 只看仍在服务的企业"})


# --- compliance -------------------------------------------------------------------------------

class ObligationOutSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    record_kind = ma.fields.String()
    topic = ma.fields.String(allow_none=True)
    count = ma.fields.Integer()
    per = ma.fields.String()
    within_months = ma.fields.Integer(allow_none=True)
    align = ma.fields.String()
    in_last_months = ma.fields.Integer(allow_none=True)


class ComplianceItemSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    record_kind = ma.fields.String()
    topic = ma.fields.String(allow_none=True)
    per = ma.fields.String()
    per_label = ma.fields.Function(lambda i: PERIOD_LABELS.get(i["per"]))
    period_index = ma.fields.Integer(metadata={"description": "第几个周期（从 1 起）"})
    period_start = ma.fields.Date()
    period_end = ma.fields.Date(metadata={"description": "截止日期"})
    required = ma.fields.Integer()
    done = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "met 已完成 / due 进行中 / missed 未完成"})
    status_label = ma.fields.Function(lambda i: COMPLIANCE_STATUSES.get(i["status"]))


class ComplianceSummarySchema(ma.Schema):
    met = ma.fields.Integer()
    due = ma.fields.Integer()
    missed = ma.fields.Integer()


class EnterpriseComplianceSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    credit_code = ma.fields.String()
    joined_on = ma.fields.Date(allow_none=True)
    left_on = ma.fields.Date(allow_none=True)
    summary = ma.fields.Nested(ComplianceSummarySchema)
    items = ma.fields.List(ma.fields.Nested(ComplianceItemSchema))


class ComplianceSchema(ma.Schema):
    contract_id = ma.fields.Integer()
    as_of = ma.fields.Date()
    obligations = ma.fields.List(ma.fields.Nested(ObligationOutSchema))
    summary = ma.fields.Nested(ComplianceSummarySchema)
    enterprises = ma.fields.List(ma.fields.Nested(EnterpriseComplianceSchema))


class ComplianceQuerySchema(ma.Schema):
    as_of = ma.fields.Date(metadata={"description": "按哪一天计算（默认今天）"})
    enterprise_id = ma.fields.Integer(metadata={"description": "只看一家企业"})
    status = ma.fields.String(validate=validate.OneOf(list(COMPLIANCE_STATUSES)),
                              metadata={"description": "只列出该状态的条目（如 missed）"})


# --- costs ------------------------------------------------------------------------------------

class CostRowSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    credit_code = ma.fields.String()
    scale = ma.fields.String()
    scale_label = ma.fields.String(allow_none=True)
    above_quota = ma.fields.Boolean()
    price = ma.fields.Decimal(allow_none=True, **MONEY)
    government = ma.fields.Decimal(allow_none=True, **MONEY,
                                   metadata={"description": "街道（政府）承担（元）"})
    enterprise = ma.fields.Decimal(allow_none=True, **MONEY,
                                   metadata={"description": "企业承担（元）"})
    counted_in = ma.fields.Dict(allow_none=True, metadata={
        "description": "同期已由较早的同一项目合同计入预算时：{contract_id, contract_title}；"
                       "本表不再计入（无服务费和分担）"})
    basis = ma.fields.String(metadata={"description": "计算依据"})


class CostTotalsSchema(ma.Schema):
    price = ma.fields.Decimal(**MONEY)
    government = ma.fields.Decimal(**MONEY, metadata={"description": "街道预算合计（元）"})
    enterprise = ma.fields.Decimal(**MONEY)


class CostTableSchema(ma.Schema):
    contract_id = ma.fields.Integer()
    contract_title = ma.fields.String()
    contract_year = ma.fields.Integer()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    price_per_enterprise = ma.fields.Decimal(allow_none=True, **MONEY)
    has_rule = ma.fields.Boolean(metadata={"description": "false：本单位插件没有费用分担规则"
                                                          "或合同未填中标单价，分担为空"})
    enterprise_count = ma.fields.Integer(metadata={"description": "计入本表预算的企业数"})
    counted_elsewhere = ma.fields.Integer(metadata={
        "description": "同期已计入其他合同、本表不重复计算的企业数"})
    rows = ma.fields.List(ma.fields.Nested(CostRowSchema))
    totals = ma.fields.Nested(CostTotalsSchema)


class CostQuerySchema(ma.Schema):
    year = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100),
                             metadata={"description": "合同年度（从 1 起）"})


# --- service records --------------------------------------------------------------------------

class RecordSchema(ma.Schema):
    id = ma.fields.Integer()
    contract_id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    kind = ma.fields.String()
    kind_label = ma.fields.Function(lambda r: RECORD_KINDS.get(get_value(r, "kind")))
    topic = ma.fields.String()
    done_on = ma.fields.Date()
    staff_user_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String()
    inspection_id = ma.fields.Integer(allow_none=True)
    report_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


class RecordEvidenceSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()


class RecordDetailSchema(RecordSchema):
    evidence = ma.fields.List(ma.fields.Nested(RecordEvidenceSchema))


class RecordCreateSchema(ma.Schema):
    contract_id = ma.fields.Integer(required=True)
    enterprise_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(RECORD_KINDS)),
                            metadata={"description": "inspection 检查、guidance 指导服务、"
                                                     "training 培训、drill 应急演练、"
                                                     "document_setup 制度建立、report 报告交付"})
    topic = ma.fields.String(load_default="", validate=validate.Length(max=120),
                             metadata={"description": "主题，如 应急预案、操作规程"})
    done_on = ma.fields.Date(required=True)
    note = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    staff_user_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "服务人员（服务机构人员登记时为其本人）"})
    inspection_id = ma.fields.Integer(allow_none=True)
    report_id = ma.fields.Integer(allow_none=True, metadata={"description": "平台生成的报告"})
    evidence_ids = IDS


class RecordQuerySchema(ma.Schema):
    contract_id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    kind = ma.fields.List(ma.fields.String(validate=validate.OneOf(list(RECORD_KINDS))),
                          metadata={"description": "可多次给出，满足其一"})
    staff_user_id = ma.fields.Integer()
    done_from = ma.fields.Date()
    done_to = ma.fields.Date()
    sort = sort_argument(("done_on", "id"), default="-done_on")


# --- spot checks ------------------------------------------------------------------------------

class SampleCreateSchema(ma.Schema):
    ratio = ma.fields.Decimal(required=True, places=4, validate=validate.Range(
        min=0, max=1, min_inclusive=False), metadata={"description": "抽查比例，如 0.2"})
    seed = ma.fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"),
                            metadata={"description": "随机种子（不填由平台生成并记录）"})
    deadline_start = ma.fields.Date(metadata={"description": "期限起算日（默认今天）"})
    deadline_workdays = ma.fields.Integer(allow_none=True, validate=validate.Range(min=0, max=250),
                                          metadata={"description": "抽查期限（工作日）；"
                                                                   "不填按插件规定"})


class SpotCheckItemSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    credit_code = ma.fields.String()
    reason = ma.fields.String()
    finding = ma.fields.String(allow_none=True)
    finding_label = ma.fields.String(allow_none=True)
    note = ma.fields.String()
    checked_by = ma.fields.Integer(allow_none=True)
    checked_at = ma.fields.DateTime(allow_none=True)


class SampleSummarySchema(ma.Schema):
    satisfactory = ma.fields.Integer()
    deficient = ma.fields.Integer()
    false = ma.fields.Integer()
    unchecked = ma.fields.Integer()


class SampleSchema(ma.Schema):
    id = ma.fields.Integer()
    contract_id = ma.fields.Integer()
    ratio = ma.fields.Decimal(as_string=True)
    seed = ma.fields.String()
    population = ma.fields.List(ma.fields.Integer(), metadata={"description": "抽取范围（企业 id）"})
    size = ma.fields.Integer()
    drawn_by = ma.fields.Integer(allow_none=True)
    drawn_at = ma.fields.DateTime()
    deadline_start = ma.fields.Date(allow_none=True)
    deadline_workdays = ma.fields.Integer(allow_none=True)
    deadline = ma.fields.Date(allow_none=True)
    deadline_provisional = ma.fields.Boolean()
    items = ma.fields.List(ma.fields.Nested(SpotCheckItemSchema))
    summary = ma.fields.Nested(SampleSummarySchema)


class FindingSchema(ma.Schema):
    finding = ma.fields.String(required=True, allow_none=True,
                               validate=validate.OneOf(list(FINDINGS)),
                               metadata={"description": "satisfactory 服务合格、deficient 服务不到位、"
                                                        "false 弄虚作假"})
    note = ma.fields.String(validate=validate.Length(max=5000))
