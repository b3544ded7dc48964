"""The risk register over HTTP: what goes in and out (Chinese labels beside keys)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anjian.db import ID
from anjian.hazards.models import GRADES
from anjian.risks import grading
from anjian.risks.models import (
    COLOURS,
    CONTROL_KINDS,
    FACTOR_CATEGORIES,
    LEVELS,
    MANAGING_LEVELS,
    METHODS,
    POINT_KINDS,
    POINT_STATES,
)
from anjian.risks.service import INSPECTION_CYCLES, INSPECTION_DAYS, PICTURES


def _options(choices: dict) -> str:
    return "、".join(f"{k}（{v}）" for k, v in choices.items())


def _number(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


class Number(ma.fields.Field):
    """A value of a grading table: given as a number (or its text), shown as a number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"] = {"type": "number", **kwargs["metadata"]}
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return _number(value)


VALUE_HELP = ("LEC：L 取 10、6、3、1、0.5、0.2、0.1，E 取 10、6、3、2、1、0.5，C 取 100、40、15、7、3、1；"
              "风险矩阵：L、S 取 1–5（S 填在 consequence）")


class RiskFactorSchema(ma.Schema):
    category = ma.fields.String(required=True, validate=validate.OneOf(list(FACTOR_CATEGORIES)),
                                metadata={"description": _options(FACTOR_CATEGORIES)})
    description = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class RiskFactorOutSchema(RiskFactorSchema):
    category_label = ma.fields.Function(lambda f: FACTOR_CATEGORIES.get(f.get("category")))


class RiskControlInSchema(ma.Schema):
    id = ma.fields.Integer(validate=ID, metadata={"description": "已有的管控措施（保留其编号）；新措施不填"})
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(CONTROL_KINDS)),
                            metadata={"description": _options(CONTROL_KINDS)})
    measure = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RiskControlSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    kind_label = ma.fields.Function(lambda c: CONTROL_KINDS.get(c.kind))
    measure = ma.fields.String()
    position = ma.fields.Integer()


class RiskGradingValuesSchema(ma.Schema):
    method = ma.fields.String(required=True, validate=validate.OneOf(list(METHODS)),
                              metadata={"description": _options(METHODS)})
    likelihood = Number(required=True, metadata={"description": f"L。{VALUE_HELP}"})
    exposure = Number(allow_none=True, metadata={"description": "E（仅 LEC）"})
    consequence = Number(required=True, metadata={"description": "C（LEC）或 S（风险矩阵）"})
    level = ma.fields.String(allow_none=True, validate=validate.OneOf(list(LEVELS)), metadata={
        "description": ("直接判定的风险等级（不低于评价结果）；不填则按评价结果"
                        "（来自风险目录的取目录等级与评价结果中较高者）")})


class RiskPointCreateSchema(RiskGradingValuesSchema):
    enterprise_id = ma.fields.Integer(required=True, validate=ID)
    catalogue_key = ma.fields.String(validate=validate.Length(min=3, max=120), metadata={
        "description": ("选用的风险目录条目（目录代码:条目代码），"
                        "预填名称、类型、管控层级、危险有害因素、管控措施和等级")})
    name = ma.fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "风险点名称"})
    kind = ma.fields.String(validate=validate.OneOf(list(POINT_KINDS)), metadata={"description": _options(POINT_KINDS)})
    location = ma.fields.String(validate=validate.Length(max=200))
    managing_level = ma.fields.String(validate=validate.OneOf(list(MANAGING_LEVELS)),
                                      metadata={"description": _options(MANAGING_LEVELS)})
    factors = ma.fields.List(ma.fields.Nested(RiskFactorSchema), validate=validate.Length(max=50),
                             metadata={"description": "危险有害因素（GB/T 13861）"})
    controls = ma.fields.List(ma.fields.Nested(RiskControlInSchema), validate=validate.Length(max=100),
                              metadata={"description": "管控措施（工程技术、管理、个体防护、应急处置）"})
    reason = ma.fields.String(validate=validate.Length(max=2000),
                              metadata={"description": "评价说明（默认：首次评价）"})


class RiskPointUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    kind = ma.fields.String(validate=validate.OneOf(list(POINT_KINDS)), metadata={"description": _options(POINT_KINDS)})
    location = ma.fields.String(validate=validate.Length(max=200))
    managing_level = ma.fields.String(validate=validate.OneOf(list(MANAGING_LEVELS)),
                                      metadata={"description": _options(MANAGING_LEVELS)})
    factors = ma.fields.List(ma.fields.Nested(RiskFactorSchema), validate=validate.Length(max=50))
    controls = ma.fields.List(ma.fields.Nested(RiskControlInSchema), validate=validate.Length(max=100), metadata={
        "description": "全部管控措施（带 id 的保留原措施，不在列表中的删除）"})


class RiskRegradeSchema(RiskGradingValuesSchema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000),
                              metadata={"description": "重新评价的理由"})


class RiskRetireSchema(ma.Schema):
    pass


class RiskPointQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)
    level = ma.fields.String(validate=validate.OneOf(list(LEVELS)))
    managing_level = ma.fields.String(validate=validate.OneOf(list(MANAGING_LEVELS)))
    regrade = ma.fields.Boolean(metadata={"description": "true：需要重新评价的；false：不需要的"})
    overdue = ma.fields.Boolean(metadata={"description": "true：排查已逾期的"})
    status = ma.fields.String(load_default="active", validate=validate.OneOf(list(POINT_STATES)),
                              metadata={"description": _options(POINT_STATES)})
    q = ma.fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "按名称、位置搜索"})


def _label(choices: dict, attribute: str):
    return ma.fields.Function(lambda obj: choices.get(getattr(obj, attribute)))


class RiskPointSchema(ma.Schema):
    id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    kind = ma.fields.String()
    kind_label = ma.fields.String()
    location = ma.fields.String()
    managing_level = ma.fields.String()
    managing_level_label = ma.fields.String()
    inspection_cycle = ma.fields.String(metadata={"description": "排查频次"})
    factors = ma.fields.List(ma.fields.Nested(RiskFactorOutSchema))
    method = ma.fields.String()
    method_label = ma.fields.String()
    likelihood = Number(allow_none=True)
    exposure = Number(allow_none=True)
    consequence = Number(allow_none=True)
    score = Number(metadata={"description": "风险值（D = L×E×C 或 R = L×S）"})
    level = ma.fields.String(metadata={"description": _options(LEVELS)})
    level_label = ma.fields.String()
    colour = ma.fields.String(metadata={"description": "红、橙、黄、蓝"})
    catalogue_key = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    status_label = ma.fields.String()
    regrade_reason = ma.fields.String(metadata={"description": "需要重新评价的原因（空：不需要）"})
    regrade_asked = ma.fields.Boolean()
    inspected_on = ma.fields.Date(allow_none=True, metadata={"description": "最近排查日期"})
    next_inspection_on = ma.fields.Date(metadata={"description": "下次排查日期"})
    inspection_overdue = ma.fields.Boolean()
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class RiskGradingSchema(ma.Schema):
    id = ma.fields.Integer()
    method = ma.fields.String()
    likelihood = Number(allow_none=True)
    exposure = Number(allow_none=True)
    consequence = Number(allow_none=True)
    score = Number()
    level = ma.fields.String()
    level_label = _label(LEVELS, "level")
    colour = _label(COLOURS, "level")
    reason = ma.fields.String()
    actor_user_id = ma.fields.Integer(allow_none=True)
    at = ma.fields.DateTime()


class RiskPointHazardSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    grade = ma.fields.String(metadata={"description": _options(GRADES)})
    state = ma.fields.String()
    state_label = ma.fields.String()
    found_on = ma.fields.Date()


class RiskCatalogueRefSchema(ma.Schema):
    full_key = ma.fields.String()
    catalogue = ma.fields.String()
    catalogue_title = ma.fields.String()
    category = ma.fields.String()
    name = ma.fields.String()
    level = ma.fields.String()
    accident_type = ma.fields.String(allow_none=True)


class RiskPointDetailSchema(RiskPointSchema):
    controls = ma.fields.List(ma.fields.Nested(RiskControlSchema))
    gradings = ma.fields.List(ma.fields.Nested(RiskGradingSchema), metadata={"description": "历次评价（最早的在前）"})
    hazards = ma.fields.List(ma.fields.Nested(RiskPointHazardSchema), metadata={"description": "在该风险点发现的隐患"})
    catalogue_entry = ma.fields.Nested(RiskCatalogueRefSchema, allow_none=True)
    checklist_key = ma.fields.String(metadata={"description": "本企业排查清单（检查表代码）"})


class RiskInspectionTaskQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)
    managing_level = ma.fields.String(validate=validate.OneOf(list(MANAGING_LEVELS)))
    level = ma.fields.String(validate=validate.OneOf(list(LEVELS)))


class RiskInspectionTaskSchema(ma.Schema):
    point = ma.fields.Nested(RiskPointSchema)
    due_on = ma.fields.Date(metadata={"description": "应排查日期"})
    overdue_days = ma.fields.Integer()
    managing_level = ma.fields.String()
    managing_level_label = ma.fields.String()
    inspection_cycle = ma.fields.String()
    checklist_key = ma.fields.String()


class RiskCatalogueEntrySchema(ma.Schema):
    key = ma.fields.String()
    full_key = ma.fields.String(metadata={"description": "建风险点时填 catalogue_key"})
    category = ma.fields.String()
    name = ma.fields.String()
    level = ma.fields.String()
    level_label = ma.fields.Function(lambda e: LEVELS.get(e.get("level")))
    point_kind = ma.fields.String(allow_none=True)
    accident_type = ma.fields.String(allow_none=True)
    managing_level = ma.fields.String(allow_none=True)
    factors = ma.fields.List(ma.fields.List(ma.fields.String()), metadata={"description": "[类别, 描述]"})
    controls = ma.fields.List(ma.fields.List(ma.fields.String()), metadata={"description": "[类别, 措施]"})


class RiskCatalogueSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    plugin = ma.fields.String()
    entries = ma.fields.List(ma.fields.Nested(RiskCatalogueEntrySchema))
    export_columns = ma.fields.List(ma.fields.List(ma.fields.String()), metadata={
        "description": "市风险报告系统导出的列：[表头, 字段]"})
    export_sheet = ma.fields.String(allow_none=True)


class RiskCatalogueQuerySchema(ma.Schema):
    q = ma.fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "按类别、名称搜索条目"})
    level = ma.fields.String(validate=validate.OneOf(list(LEVELS)))


class RiskScaleValueSchema(ma.Schema):
    value = ma.fields.String()
    label = ma.fields.String()


class RiskScaleSchema(ma.Schema):
    label = ma.fields.String()
    values = ma.fields.List(ma.fields.Nested(RiskScaleValueSchema))


class RiskBandSchema(ma.Schema):
    level = ma.fields.String()
    rule = ma.fields.String()


class RiskScalesSchema(ma.Schema):
    lec = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(RiskScaleSchema),
                         metadata={"description": "LEC 的 L、E、C 取值表"})
    ls = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(RiskScaleSchema),
                        metadata={"description": "风险矩阵的 L、S 取值表（S 为 consequence）"})
    bands = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.Nested(RiskBandSchema)))
    levels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    colours = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    inspection_days = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                                     metadata={"description": "各管控层级的排查周期（天）"})
    inspection_cycles = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


def scales() -> dict:
    return {**grading.scales(), "levels": LEVELS, "colours": COLOURS, "inspection_days": INSPECTION_DAYS,
            "inspection_cycles": INSPECTION_CYCLES}


class RiskPictureQuerySchema(ma.Schema):
    by = ma.fields.String(load_default="area", validate=validate.OneOf(list(PICTURES)),
                          metadata={"description": _options(PICTURES)})
    area_id = ma.fields.Integer(validate=ID, metadata={"description": "只看该区域及其下级区域"})


class RiskPictureCountsSchema(ma.Schema):
    enterprises = ma.fields.Integer()
    registered = ma.fields.Integer(metadata={"description": "已登记风险点的企业数"})
    points = ma.fields.Integer()
    major = ma.fields.Integer(metadata={"description": "重大风险（红）"})
    large = ma.fields.Integer(metadata={"description": "较大风险（橙）"})
    general = ma.fields.Integer(metadata={"description": "一般风险（黄）"})
    low = ma.fields.Integer(metadata={"description": "低风险（蓝）"})
    overdue_inspections = ma.fields.Integer(metadata={"description": "排查逾期的风险点"})


class RiskPictureRowSchema(RiskPictureCountsSchema):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "区域或企业；未划分区域的为空"})
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "区域类别（sector、village、industrial_park、grid）、"
                                                     "enterprise 或 none（未划分区域）"})
    parent_id = ma.fields.Integer(allow_none=True)
    area_id = ma.fields.Integer(allow_none=True)


class RiskPictureSchema(ma.Schema):
    by = ma.fields.String()
    totals = ma.fields.Nested(RiskPictureCountsSchema)
    items = ma.fields.List(ma.fields.Nested(RiskPictureRowSchema))


class RiskCityExportQuerySchema(ma.Schema):
    catalogue = ma.fields.String(validate=validate.Length(min=1, max=80),
                                 metadata={"description": "规定上报格式的风险目录（默认第一个规定了格式的）"})
    area_id = ma.fields.Integer(validate=ID)
    enterprise_id = ma.fields.Integer(validate=ID)


class RiskChecklistRegenerateSchema(ma.Schema):
    pass


class RiskChecklistSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "检查表代码：新建检查时填 template_key"})
    version = ma.fields.Integer(allow_none=True)
    title = ma.fields.String(allow_none=True)
    items = ma.fields.Integer(metadata={"description": "检查项数"})
