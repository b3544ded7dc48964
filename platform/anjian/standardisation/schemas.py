"""Safety standardisation over HTTP: what goes in and out (Chinese labels beside keys)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anjian.db import ID
from anjian.ledgers.models import EVENT_ACTIONS
from anjian.standardisation.models import (
    CHECK_KINDS,
    CONCLUSIONS,
    METRICS,
    REVIEWERS,
    SCHEMES,
    SEVERITIES,
    STATES,
)
from anjian.standardisation.service import STEPS

ACCIDENT_TEXT_MAX = 20000  # an accident's description
INVESTIGATION_TEXT_MAX = 10000  # each of the investigation's texts
SCORE = {"places": 2, "as_string": True, "allow_nan": False, "validate": validate.Range(min=0, max=100)}


class CertificationSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    enterprise_id = ma.fields.Integer()
    scheme = ma.fields.String()
    scheme_label = ma.fields.Function(lambda c: SCHEMES.get(c.scheme))
    state = ma.fields.String()
    state_label = ma.fields.Function(lambda c: STATES.get(c.state))
    applied_on = ma.fields.Date()
    self_score = ma.fields.Decimal(allow_none=True, places=2, as_string=True)
    self_report = ma.fields.String()
    self_evaluated_on = ma.fields.Date(allow_none=True)
    reviewer = ma.fields.String(allow_none=True)
    reviewer_organisation_id = ma.fields.Integer(allow_none=True)
    review_score = ma.fields.Decimal(allow_none=True, places=2, as_string=True)
    reviewed_on = ma.fields.Date(allow_none=True)
    certificate_no = ma.fields.String(allow_none=True)
    issued_on = ma.fields.Date(allow_none=True)
    expires_on = ma.fields.Date(allow_none=True)
    first_achieved_on = ma.fields.Date(allow_none=True)
    renewals = ma.fields.Integer()
    renewed_on = ma.fields.Date(allow_none=True)
    rereview_reason = ma.fields.String(metadata={"description": "需重新评审的原因（空：无需）"})
    demonstration = ma.fields.Boolean()
    delisting_recommended = ma.fields.Boolean(metadata={"description": "“回头看”或审计建议摘牌，待主管部门决定"})
    exempt_reason = ma.fields.String()
    delisted_on = ma.fields.Date(allow_none=True)
    delisting_reason = ma.fields.String()
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class CertificationCreateSchema(ma.Schema):
    enterprise_id = ma.fields.Integer(required=True, validate=ID)
    scheme = ma.fields.String(load_default="small_micro", validate=validate.OneOf(list(SCHEMES)),
                              metadata={"description": "、".join(f"{k}（{v}）" for k, v in SCHEMES.items())})
    applied_on = ma.fields.Date(metadata={"description": "申报日期，默认今天"})
    note = ma.fields.String(validate=validate.Length(max=2000))


class CertificationQuerySchema(ma.Schema):
    state = ma.fields.String(validate=validate.OneOf(list(STATES)))
    scheme = ma.fields.String(validate=validate.OneOf(list(SCHEMES)))
    enterprise_id = ma.fields.Integer(validate=ID)
    area_id = ma.fields.Integer(validate=ID, metadata={"description": "区域（含下级区域）"})
    due_by = ma.fields.Date(metadata={"description": "证书在此日期前到期（有效证书）"})
    demonstration = ma.fields.Boolean()
    delisting_recommended = ma.fields.Boolean()


class StepSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(list(STEPS)),
                              metadata={"description": "、".join(f"{k}（{s.label}）" for k, s in STEPS.items())})
    on = ma.fields.Date(metadata={"description": "发生日期，默认今天"})
    note = ma.fields.String(validate=validate.Length(max=2000))
    score = ma.fields.Decimal(**SCORE, metadata={"description": "自评或评审得分（0-100）"})
    report = ma.fields.String(validate=validate.Length(max=20000), metadata={"description": "自评报告"})
    reviewer = ma.fields.String(validate=validate.OneOf(list(REVIEWERS)))
    organisation_id = ma.fields.Integer(validate=ID, metadata={"description": "评审的第三方机构"})
    passed = ma.fields.Boolean(metadata={"description": "评审是否通过"})
    certificate_no = ma.fields.String(validate=validate.Length(min=1, max=60))
    reason = ma.fields.String(validate=validate.Length(min=1, max=500),
                              metadata={"description": "摘牌、暂不创建或重新评审的原因"})


class CertificationEventSchema(ma.Schema):
    id = ma.fields.Integer()
    action = ma.fields.String()
    action_label = ma.fields.Function(lambda e: STEPS[e.action].label if e.action in STEPS else {
        "create": "申报创建", "import": "导入证书", **CHECK_KINDS}.get(e.action, e.action))
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String()
    to_state_label = ma.fields.Function(lambda e: STATES.get(e.to_state))
    on = ma.fields.Date()
    actor_user_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String()
    data = ma.fields.Dict()
    at = ma.fields.DateTime()


class CertificationCheckSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    certification_id = ma.fields.Integer(dump_only=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(CHECK_KINDS)),
                            metadata={"description": "lookback（回头看）、audit（运行质量审计）"})
    kind_label = ma.fields.Function(lambda c: CHECK_KINDS.get(c.kind), dump_only=True)
    organisation_id = ma.fields.Integer(allow_none=True, validate=ID,
                                        metadata={"description": "第三方机构；空为主管部门"})
    checked_on = ma.fields.Date(required=True)
    conclusion = ma.fields.String(required=True, validate=validate.OneOf(list(CONCLUSIONS)),
                                  metadata={"description": "、".join(f"{k}（{v}）" for k, v in CONCLUSIONS.items())})
    conclusion_label = ma.fields.Function(lambda c: CONCLUSIONS.get(c.conclusion), dump_only=True)
    rectify_by = ma.fields.Date(allow_none=True, metadata={"description": "限期整改的期限"})
    findings = ma.fields.String(load_default="", validate=validate.Length(max=20000))


class CertificationDetailSchema(CertificationSchema):
    history = ma.fields.List(ma.fields.Nested(CertificationEventSchema))
    checks = ma.fields.List(ma.fields.Nested(CertificationCheckSchema))
    blockers = ma.fields.List(ma.fields.String(), metadata={"description": "现在换证会被阻止的原因"})


class AccidentSchema(ma.Schema):
    """An accident: its record (recorded by the bureau) and its investigation (事故调查)."""

    id = ma.fields.Integer(dump_only=True)
    enterprise_id = ma.fields.Integer(required=True, validate=ID)
    occurred_on = ma.fields.Date(required=True)
    severity = ma.fields.String(required=True, validate=validate.OneOf(list(SEVERITIES)),
                                metadata={"description": "、".join(f"{k}（{v}）" for k, v in SEVERITIES.items())})
    severity_label = ma.fields.Function(lambda a: SEVERITIES.get(a.severity), dump_only=True)
    injured = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))
    deaths = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))
    description = ma.fields.String(load_default="", validate=validate.Length(max=ACCIDENT_TEXT_MAX))
    causes = ma.fields.String(dump_only=True, metadata={"description": "原因分析"})
    measures = ma.fields.String(dump_only=True, metadata={"description": "整改措施"})
    accountability = ma.fields.String(dump_only=True, metadata={"description": "责任追究"})
    investigated_on = ma.fields.Date(dump_only=True, allow_none=True, metadata={"description": "调查结论日期"})
    investigation_complete = ma.fields.Boolean(dump_only=True, metadata={
        "description": "事故调查是否完成：原因分析、整改措施、责任追究均已填写，且已附调查报告文件"})
    report_files = ma.fields.Integer(dump_only=True, metadata={"description": "所附文件（调查报告）数"})
    actor_user_id = ma.fields.Integer(dump_only=True, allow_none=True, metadata={"description": "登记人"})
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class AccidentUpdateSchema(ma.Schema):
    """A change of an accident: its investigation (the enterprise's and the bureau's) or a
    correction of its record (the bureau's only). Only the fields given change."""

    occurred_on = ma.fields.Date(metadata={"description": "事故日期（仅监管部门可更正）"})
    severity = ma.fields.String(validate=validate.OneOf(list(SEVERITIES)),
                                metadata={"description": "事故等级（仅监管部门可更正）"})
    injured = ma.fields.Integer(validate=validate.Range(min=0, max=100000),
                                metadata={"description": "受伤人数（仅监管部门可更正）"})
    deaths = ma.fields.Integer(validate=validate.Range(min=0, max=100000),
                               metadata={"description": "死亡人数（仅监管部门可更正）"})
    description = ma.fields.String(validate=validate.Length(max=ACCIDENT_TEXT_MAX),
                                   metadata={"description": "事故经过（仅监管部门可更正）"})
    causes = ma.fields.String(validate=validate.Length(max=INVESTIGATION_TEXT_MAX),
                              metadata={"description": "原因分析"})
    measures = ma.fields.String(validate=validate.Length(max=INVESTIGATION_TEXT_MAX),
                                metadata={"description": "整改措施"})
    accountability = ma.fields.String(validate=validate.Length(max=INVESTIGATION_TEXT_MAX),
                                      metadata={"description": "责任追究"})
    investigated_on = ma.fields.Date(allow_none=True, metadata={
        "description": "调查结论日期：不早于事故日期，不晚于今天；空为未完成"})
    evidence_ids = ma.fields.List(ma.fields.Integer(validate=ID), validate=validate.Length(max=20),
                                  metadata={"description": "要附上的文件（调查报告，先上传为证据文件）"})


class AccidentEventSchema(ma.Schema):
    id = ma.fields.Integer()
    action = ma.fields.String()
    action_label = ma.fields.Function(lambda e: EVENT_ACTIONS.get(e.action, e.action))
    changes = ma.fields.Dict(metadata={"description": "修改的字段：{字段: [修改前, 修改后]}"})
    actor_user_id = ma.fields.Integer(allow_none=True)
    at = ma.fields.DateTime()


class AccidentFileSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    uploaded_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


class AccidentDetailSchema(AccidentSchema):
    history = ma.fields.List(ma.fields.Nested(AccidentEventSchema), dump_only=True)
    files = ma.fields.List(ma.fields.Nested(AccidentFileSchema), dump_only=True,
                           metadata={"description": "所附文件（调查报告），下载见证据文件"})


class AccidentQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)


class StandardisationProgressQuerySchema(ma.Schema):
    year = ma.fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    by = ma.fields.Date(metadata={"description": "统计截止日期，默认为计划的完成日期或12月31日"})


class StandardisationTargetSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    year = ma.fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    area_id = ma.fields.Integer(allow_none=True, load_default=None, validate=ID,
                                metadata={"description": "板块；空为全市（全辖区）"})
    metric = ma.fields.String(required=True, validate=validate.OneOf(list(METRICS)),
                              metadata={"description": "、".join(f"{k}（{v[0]}）" for k, v in METRICS.items())})
    value = ma.fields.Decimal(required=True, places=4, as_string=True, allow_nan=False,
                              validate=validate.Range(min=0, max=10**7))


class StandardisationTargetQuerySchema(ma.Schema):
    year = ma.fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class KeyIndustrySchema(ma.Schema):
    flag = ma.fields.String()
    label = ma.fields.String()
    total = ma.fields.Integer()
    achieved = ma.fields.Integer()
    ratio = ma.fields.Float(allow_none=True)


class StandardisationFiguresSchema(ma.Schema):
    small_micro = ma.fields.Integer(metadata={"description": "规下及小微企业数"})
    achieved_total = ma.fields.Integer(metadata={"description": "其中证书有效的达标企业数"})
    achieved_ratio = ma.fields.Float(allow_none=True)
    key_industry_total = ma.fields.Integer()
    key_industry_achieved = ma.fields.Integer()
    key_industry_ratio = ma.fields.Float(allow_none=True)
    key_industries = ma.fields.List(ma.fields.Nested(KeyIndustrySchema))
    renewed_total = ma.fields.Integer()
    due_total = ma.fields.Integer()
    renewed_ratio_of_due = ma.fields.Float(allow_none=True)
    demonstration = ma.fields.Integer()
    lookbacks = ma.fields.Integer()
    key_industry_lookbacks = ma.fields.Integer()
    delisted = ma.fields.Integer()
    delisting_ratio = ma.fields.Float(allow_none=True)
    targets = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    below = ma.fields.List(ma.fields.String(), metadata={"description": "未达到目标的指标"})
    classes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                             metadata={"description": "企业分类（如 ABCD）的企业数"})


class StandardisationAreaFiguresSchema(StandardisationFiguresSchema):
    area_id = ma.fields.Integer(allow_none=True)
    code = ma.fields.String(allow_none=True)
    name = ma.fields.String()


class StandardisationProgressSchema(ma.Schema):
    year = ma.fields.Integer()
    by = ma.fields.Date()
    key_industries = ma.fields.List(ma.fields.String())
    city = ma.fields.Nested(StandardisationFiguresSchema)
    areas = ma.fields.List(ma.fields.Nested(StandardisationAreaFiguresSchema))


class EnterpriseClassSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "类别（如 A、B、C、D）"})
    label = ma.fields.String()
    reason = ma.fields.String()
    inspections_per_year = ma.fields.Integer(allow_none=True, metadata={"description": "每年检查次数"})
    classified_on = ma.fields.Date()


class ClassQuerySchema(ma.Schema):
    code = ma.fields.String(validate=validate.Length(min=1, max=8))


class WorkItemSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    area_id = ma.fields.Integer(allow_none=True)
    certification_id = ma.fields.Integer(allow_none=True)
    state = ma.fields.String(allow_none=True)
    state_label = ma.fields.String()
    next_step = ma.fields.String(metadata={"description": "下一步要推动的事"})
    due = ma.fields.Date(allow_none=True, metadata={"description": "何时（换证窗口开启、证书到期、整改期限）"})
    stage = ma.fields.Integer(metadata={"description": "已到第几步（0 未创建 … 4 复评）"})
    stages = ma.fields.Integer()
    expires_on = ma.fields.Date(allow_none=True)


class ClassifySchema(ma.Schema):
    campaign_id = ma.fields.Integer(validate=ID, metadata={
        "description": "给出专项行动时，按各类的每年检查次数在该行动中为每家企业生成带日期的监督检查任务"})
    year = ma.fields.Integer(validate=validate.Range(min=2000, max=2100),
                             metadata={"description": "检查年度，默认今年"})
