import marshmallow as ma
from marshmallow import validate

from anjian.enterprises.models import FLAGS, INDUSTRIES, SCALES, STATUSES
from anjian.sorting import sort_argument

GBT4754 = validate.Regexp(r"^[A-T](\d{2}|\d{3}|\d{4})?$", error="国民经济行业分类代码格式错误（如 C3011）")
PHONE = validate.Regexp(r"^[0-9+\-() ]{0,30}$", error="电话号码格式错误")
COUNT = validate.Range(min=0, max=1_000_000, error="须为 0 或正整数")


class EnterpriseSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    credit_code = ma.fields.String()
    name = ma.fields.String()
    address = ma.fields.String()
    industry = ma.fields.String(allow_none=True)
    industry_code = ma.fields.String(allow_none=True)
    scale = ma.fields.String()
    scale_label = ma.fields.Function(lambda e: SCALES.get(e.scale))
    above_quota = ma.fields.Boolean()
    employees = ma.fields.Integer(allow_none=True)
    safety_managers = ma.fields.Integer(allow_none=True)
    special_workers = ma.fields.Integer(allow_none=True)
    main_products = ma.fields.String()
    main_risk_factors = ma.fields.String()
    flags = ma.fields.Function(lambda e: [k for k in FLAGS if getattr(e, k)])
    flag_labels = ma.fields.Function(lambda e: [v for k, v in FLAGS.items() if getattr(e, k)])
    principal_name = ma.fields.String()
    principal_phone = ma.fields.String()
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    area_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda e: STATUSES.get(e.status))
    extra = ma.fields.Dict()
    deleted_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


def _write_fields(required: bool) -> dict:
    fields = {
        "credit_code": ma.fields.String(required=required, validate=validate.Length(max=40)),
        "name": ma.fields.String(required=required, validate=validate.Length(min=1, max=200)),
        "address": ma.fields.String(validate=validate.Length(max=300)),
        "industry": ma.fields.String(allow_none=True, validate=validate.OneOf(INDUSTRIES)),
        "industry_code": ma.fields.String(allow_none=True, validate=GBT4754),
        "scale": ma.fields.String(validate=validate.OneOf(list(SCALES))),
        "above_quota": ma.fields.Boolean(),
        "employees": ma.fields.Integer(allow_none=True, validate=COUNT),
        "safety_managers": ma.fields.Integer(allow_none=True, validate=COUNT),
        "special_workers": ma.fields.Integer(allow_none=True, validate=COUNT),
        "main_products": ma.fields.String(validate=validate.Length(max=2000)),
        "main_risk_factors": ma.fields.String(validate=validate.Length(max=2000)),
        "principal_name": ma.fields.String(validate=validate.Length(max=50)),
        "principal_phone": ma.fields.String(validate=PHONE),
        "contact_name": ma.fields.String(validate=validate.Length(max=50)),
        "contact_phone": ma.fields.String(validate=PHONE),
        "area_id": ma.fields.Integer(allow_none=True),
        "status": ma.fields.String(validate=validate.OneOf(list(STATUSES))),
        "extra": ma.fields.Dict(),
    }
    for flag in FLAGS:
        fields[flag] = ma.fields.Boolean()
    return fields


EnterpriseCreateSchema = ma.Schema.from_dict(_write_fields(True), name="EnterpriseCreateSchema")
EnterpriseUpdateSchema = ma.Schema.from_dict(_write_fields(False), name="EnterpriseUpdateSchema")

SORTS = ("name", "credit_code", "created_at", "employees", "id")  # each also descending


class EnterpriseQuerySchema(ma.Schema):
    q = ma.fields.String(metadata={"description": "按名称或信用代码搜索"},
                         validate=validate.Length(max=100))
    area_id = ma.fields.Integer(metadata={"description": "含下级区域"})
    industry = ma.fields.String(validate=validate.OneOf(INDUSTRIES))
    industry_code = ma.fields.String(metadata={"description": "前缀匹配，如 C30"})
    scale = ma.fields.String(validate=validate.OneOf(list(SCALES)))
    above_quota = ma.fields.Boolean()
    flag = ma.fields.List(ma.fields.String(validate=validate.OneOf(list(FLAGS))),
                          metadata={"description": "可多次给出，须全部满足"})
    status = ma.fields.String(validate=validate.OneOf(list(STATUSES)))
    include_deleted = ma.fields.Boolean(load_default=False)
    sort = sort_argument(SORTS, default="name")
