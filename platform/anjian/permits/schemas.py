"""Dangerous-work permits over HTTP: what goes in and out (Chinese labels beside keys).

A time given without a zone is China's (2024-05-08T09:00 is 09:00 Beijing time); times
come back in UTC with their zone."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from anjian.clock import CHINA
from anjian.db import ID
from anjian.permits.service import EVENT_ACTIONS, STATES, STEPS
from anjian.plugins.views import APPROVAL_STAGES

TEXT = validate.Length(max=2000)


def _aware(**kwargs) -> ma.fields.AwareDateTime:
    return ma.fields.AwareDateTime(default_timezone=CHINA, **kwargs)


def _valid_id_number(value: str) -> None:
    try:
        ric.validate(value)
    except StdnumError:
        raise ma.ValidationError("身份证号无效") from None


class PermitGradeSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    validity_hours = ma.fields.Integer(metadata={"description": "签发后的有效小时数"})
    description = ma.fields.String(allow_none=True)


class PermitKindSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    plugin = ma.fields.String()
    grades = ma.fields.List(ma.fields.Nested(PermitGradeSchema))
    validity_hours = ma.fields.Integer(allow_none=True, metadata={"description": "不分级作业的有效小时数"})
    gas_analysis = ma.fields.Boolean(metadata={"description": "须气体分析合格方可签发、开始和继续作业"})
    gas_analysis_minutes = ma.fields.Integer(metadata={"description": "气体分析至作业的最长间隔（分钟）"})
    certificates = ma.fields.List(ma.fields.String(), metadata={
        "description": "至少一名作业人员须持有的特种作业操作证（作业类别）"})
    description = ma.fields.String(allow_none=True)
    basis = ma.fields.String(allow_none=True, metadata={"description": "依据"})


class PermitWorkerSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    id_number = ma.fields.String(load_default=None, allow_none=True, validate=_valid_id_number,
                                 metadata={"description": "身份证号（用于核对特种作业操作证）"})
    work_kind = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40),
                                 metadata={"description": "所从事的特种作业（如 焊接与热切割作业，可简写：焊接）；"
                                                          "普通作业人员不填"})


class PermitCreateSchema(ma.Schema):
    enterprise_id = ma.fields.Integer(required=True, validate=ID)
    kind = ma.fields.String(required=True, validate=validate.Length(min=1, max=40),
                            metadata={"description": "作业类别（见 /permits/kinds）"})
    grade = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20),
                             metadata={"description": "级别（分级作业必填）"})
    location = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = ma.fields.String(load_default="", validate=TEXT)
    workers = ma.fields.List(ma.fields.Nested(PermitWorkerSchema), required=True,
                             validate=validate.Length(min=1, max=50))
    planned_start = _aware(required=True, metadata={"description": "计划开始时间（不带时区按北京时间）；"
                                                                   "据此判断是否重点时段"})
    planned_end = _aware(load_default=None, allow_none=True)
    guardian = ma.fields.String(load_default="", validate=validate.Length(max=60),
                                metadata={"description": "监护人（开始作业前须指定）"})


class PermitHazardItemSchema(ma.Schema):
    hazard = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    measure = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))
    confirmed = ma.fields.Boolean(load_default=False, metadata={"description": "安全措施已落实确认"})


class PermitTransitionSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(list(STEPS)),
                              metadata={"description": "、".join(f"{k}（{s.label}）" for k, s in STEPS.items())})
    note = ma.fields.String(validate=TEXT)
    reason = ma.fields.String(validate=validate.Length(min=1, max=2000),
                              metadata={"description": "驳回或取消的原因"})
    hazards = ma.fields.List(ma.fields.Nested(PermitHazardItemSchema), validate=validate.Length(max=100),
                             metadata={"description": "identify：危害及安全措施，每项措施须确认"})
    at = _aware(metadata={"description": "gas_analysis：采样分析时间，默认现在"})
    analyst = ma.fields.String(validate=validate.Length(min=1, max=60), metadata={"description": "分析人"})
    passed = ma.fields.Boolean(metadata={"description": "gas_analysis：分析结论是否合格"})
    values = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(min=1, max=40)),
                            values=ma.fields.Raw(), validate=validate.Length(max=20),
                            metadata={"description": "分析数据，如 {\"氧含量%\": 20.9, \"可燃气体%LEL\": 0}"})
    point = ma.fields.String(validate=validate.Length(max=200), metadata={"description": "采样点"})
    step = ma.fields.String(validate=validate.Length(min=1, max=40),
                            metadata={"description": "approve、accept：签署的步骤（默认下一个未完成的）"})
    guardian = ma.fields.String(validate=validate.Length(min=1, max=60), metadata={"description": "start：监护人"})
    second_guardian = ma.fields.String(validate=validate.Length(min=1, max=60),
                                       metadata={"description": "start：第二监护人（重点时段双监督）"})

    @ma.validates("values")
    def _scalars(self, value, **kwargs):
        for name, item in value.items():
            if isinstance(item, (dict, list)) or (isinstance(item, str) and len(item) > 100):
                raise ma.ValidationError(f"{name} 的值须为数字或简短文本")


class PermitWorkerOutSchema(ma.Schema):
    name = ma.fields.String()
    id_number = ma.fields.String(allow_none=True)
    work_kind = ma.fields.String(allow_none=True)


class PermitStepStateSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    stage = ma.fields.String(metadata={"description": "、".join(f"{k}（{v}）" for k, v in APPROVAL_STAGES.items())})
    done = ma.fields.Boolean()
    by = ma.fields.String(allow_none=True, metadata={"description": "签署人或监护人"})
    at = ma.fields.String(allow_none=True)


class PermitSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String(metadata={"description": "作业票编号"})
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    kind_title = ma.fields.String()
    grade = ma.fields.String(allow_none=True)
    grade_title = ma.fields.String(allow_none=True)
    location = ma.fields.String()
    content = ma.fields.String()
    state = ma.fields.String(metadata={"description": "、".join(f"{k}（{v}）" for k, v in STATES.items())})
    state_label = ma.fields.String()
    workers = ma.fields.List(ma.fields.Nested(PermitWorkerOutSchema), metadata={
        "description": "作业人员（列表中身份证号已遮蔽）"})
    guardian = ma.fields.String()
    second_guardian = ma.fields.String()
    key_time = ma.fields.Boolean(metadata={"description": "计划开始时间处于重点时段（须双审批、双监督、双验收）"})
    key_time_reason = ma.fields.String()
    planned_start = ma.fields.DateTime(allow_none=True)
    planned_end = ma.fields.DateTime(allow_none=True)
    issued_at = ma.fields.DateTime(allow_none=True)
    valid_until = ma.fields.DateTime(allow_none=True, metadata={"description": "有效期至"})
    expired = ma.fields.Boolean(metadata={"description": "已签发或作业中而已过有效期"})
    started_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    refusal = ma.fields.String(metadata={"description": "驳回原因"})
    requested_by = ma.fields.Integer(allow_none=True)
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class PermitEventSchema(ma.Schema):
    id = ma.fields.Integer()
    action = ma.fields.String()
    action_label = ma.fields.Function(lambda e: EVENT_ACTIONS.get(e.action, e.action))
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String()
    to_state_label = ma.fields.Function(lambda e: STATES.get(e.to_state))
    data = ma.fields.Dict()
    actor_user_id = ma.fields.Integer(allow_none=True)
    at = ma.fields.DateTime()


class PermitDetailSchema(PermitSchema):
    requested_by_name = ma.fields.String(allow_none=True)
    hazards_identified = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "危害辨识与安全措施（JSA）：hazard、measure、confirmed、confirmed_by、confirmed_at"})
    gas_analyses = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "气体分析：at、analyst、passed、values、point"})
    steps = ma.fields.List(ma.fields.Nested(PermitStepStateSchema), metadata={
        "description": "本作业票须完成的审批、监护、验收步骤（permit_approvals）及其完成情况"})
    approvals = ma.fields.List(ma.fields.Dict())
    acceptances = ma.fields.List(ma.fields.Dict())
    history = ma.fields.List(ma.fields.Nested(PermitEventSchema))


class PermitQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)
    kind = ma.fields.String(validate=validate.Length(min=1, max=40))
    state = ma.fields.String(validate=validate.OneOf(list(STATES)))
    open = ma.fields.Boolean(metadata={"description": "true：未结束的（未关闭、取消、驳回）；false：已结束的"})
    planned_from = ma.fields.Date(metadata={"description": "计划开始日期起（含）"})
    planned_until = ma.fields.Date(metadata={"description": "计划开始日期止（含）"})
    key_time = ma.fields.Boolean(metadata={"description": "是否重点时段作业"})
    q = ma.fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "按编号、地点、内容搜索"})

    @ma.validates_schema
    def _in_order(self, data, **kwargs):
        if data.get("planned_from") and data.get("planned_until") and data["planned_from"] > data["planned_until"]:
            raise ma.ValidationError("开始日期晚于结束日期", "planned_until")


class PermitOpenQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)
    kind = ma.fields.String(validate=validate.Length(min=1, max=40))


class PermitSummaryQuerySchema(ma.Schema):
    year = ma.fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"description": "年度，默认今年"})
    enterprise_id = ma.fields.Integer(validate=ID)


class PermitEnterpriseSummarySchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String(allow_none=True)
    year = ma.fields.Integer()
    total = ma.fields.Integer(metadata={"description": "当年计划开始的作业票"})
    open = ma.fields.Integer(metadata={"description": "未结束"})
    closed = ma.fields.Integer()
    refused = ma.fields.Integer()
    cancelled = ma.fields.Integer()
    key_time = ma.fields.Integer(metadata={"description": "重点时段作业"})
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    dangerous_work_drills = ma.fields.Integer(metadata={
        "description": "应急演练台账中当年的危险作业应急演练次数（企业每年至少组织一次）"})


class PermitKeyTimeQuerySchema(ma.Schema):
    at = _aware(required=True, metadata={"description": "时刻（不带时区按北京时间）"})


class PermitKeyTimeSchema(ma.Schema):
    at = ma.fields.DateTime()
    key_time = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.String(),
                             metadata={"description": "夜间、公休日、法定节假日、插件设置的重点时段"})
