import marshmallow as ma
from marshmallow import validate

from anjian.hazards.models import (
    DECISIONS,
    GRADES,
    REFERRAL_REASONS,
    REFERRAL_STATUSES,
    SOURCES,
    STATES,
)
from anjian.hazards.service import ACTION_LABELS, API_ACTIONS
from anjian.sorting import sort_argument
from anjian.workdays.service import MAX_WORKDAYS

MONEY = {"places": 2, "as_string": True, "allow_nan": False}
IDS = ma.fields.List(ma.fields.Integer(validate=validate.Range(min=1)),
                     validate=validate.Length(max=50), load_default=list)


class HazardSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    enterprise_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer(allow_none=True)
    inspection_id = ma.fields.Integer(allow_none=True)
    inspection_result_id = ma.fields.Integer(allow_none=True)
    source = ma.fields.String()
    source_label = ma.fields.Function(lambda h: SOURCES.get(h.source))
    grade = ma.fields.String()
    grade_label = ma.fields.Function(lambda h: GRADES.get(h.grade))
    grade_criterion = ma.fields.String(metadata={"description": "重大事故隐患的判定依据"})
    state = ma.fields.String()
    state_label = ma.fields.Function(lambda h: STATES.get(h.state))
    title = ma.fields.String()
    description = ma.fields.String()
    location = ma.fields.String()
    found_on = ma.fields.Date()
    found_by = ma.fields.Integer(allow_none=True)
    immediate = ma.fields.Boolean()
    responsible_person = ma.fields.String()
    measures = ma.fields.String()
    funds = ma.fields.Decimal(allow_none=True, **MONEY)
    contingency_plan = ma.fields.String()
    deadline = ma.fields.Date(allow_none=True)
    deadline_start = ma.fields.Date(allow_none=True)
    deadline_workdays = ma.fields.Integer(allow_none=True)
    deadline_provisional = ma.fields.Boolean()
    rectified_at = ma.fields.DateTime(allow_none=True)
    verified_at = ma.fields.DateTime(allow_none=True)
    verified_by = ma.fields.Integer(allow_none=True)
    overdue_at = ma.fields.DateTime(allow_none=True)
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class HazardCreateSchema(ma.Schema):
    enterprise_id = ma.fields.Integer(metadata={"description": "企业用户可省略（本企业）"})
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = ma.fields.String(validate=validate.Length(max=5000))
    location = ma.fields.String(validate=validate.Length(max=300))
    found_on = ma.fields.Date(metadata={"description": "默认今天"})
    campaign_id = ma.fields.Integer(allow_none=True)
    source = ma.fields.String(
        validate=validate.OneOf(["spot_check"]),
        metadata={"description": "来源由角色决定；监管人员可注明 spot_check（抽查）"})
    immediate = ma.fields.Boolean(load_default=False,
                                  metadata={"description": "立即整改（仅一般隐患）"})
    evidence_ids = IDS
    grade = ma.fields.String(validate=validate.OneOf(list(GRADES)), metadata={
        "description": "隐患等级（默认按本单位的分级规则）；major 须同时写明判定依据"})
    grade_criterion = ma.fields.String(validate=validate.Length(max=2000), metadata={
        "description": "重大事故隐患的判定依据：符合判定标准的哪一条"})


class HazardRegradeSchema(ma.Schema):
    grade = ma.fields.String(required=True, validate=validate.OneOf(list(GRADES)),
                             metadata={"description": "新的等级：general 一般隐患 / major 重大事故隐患"})
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000),
                              metadata={"description": "重新定级的理由（记入处理记录）"})
    grade_criterion = ma.fields.String(validate=validate.Length(max=2000), metadata={
        "description": "定为重大事故隐患时必填：符合判定标准的哪一条"})


class HazardUpdateSchema(ma.Schema):
    description = ma.fields.String(validate=validate.Length(max=5000))
    location = ma.fields.String(validate=validate.Length(max=300))


SORTS = ("deadline", "created_at", "id")  # each also descending


class HazardQuerySchema(ma.Schema):
    state = ma.fields.List(ma.fields.String(validate=validate.OneOf(list(STATES))),
                           metadata={"description": "可多次给出，满足其一"})
    grade = ma.fields.String(validate=validate.OneOf(list(GRADES)))
    source = ma.fields.String(validate=validate.OneOf(list(SOURCES)))
    enterprise_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    overdue = ma.fields.Boolean(metadata={"description": "只看已过整改期限仍未整改的"})
    deadline_before = ma.fields.Date(metadata={"description": "整改期限早于该日"})
    sort = sort_argument(SORTS, default="-created_at")


class TransitionSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(API_ACTIONS),
                              metadata={"description": "、".join(
                                  f"{k}（{ACTION_LABELS[k]}）" for k in API_ACTIONS)})
    note = ma.fields.String(validate=validate.Length(max=5000))
    evidence_ids = ma.fields.List(ma.fields.Integer(validate=validate.Range(min=1)),
                                  validate=validate.Length(max=50))
    # 五落实 (plan)
    responsible_person = ma.fields.String(validate=validate.Length(max=100))
    measures = ma.fields.String(validate=validate.Length(max=5000))
    funds = ma.fields.Decimal(places=2, allow_nan=False,
                              validate=validate.Range(min=0, max=10**12), metadata={"description": "元"})
    deadline = ma.fields.Date()
    deadline_workdays = ma.fields.Integer(validate=validate.Range(min=1, max=MAX_WORKDAYS))
    contingency_plan = ma.fields.String(validate=validate.Length(max=5000))
    # refer
    reason = ma.fields.String(validate=validate.OneOf(list(REFERRAL_REASONS)))


class HazardEventSchema(ma.Schema):
    id = ma.fields.Integer()
    hazard_id = ma.fields.Integer()
    action = ma.fields.String()
    action_label = ma.fields.Function(lambda e: ACTION_LABELS.get(e.action, "上报隐患"))
    from_state = ma.fields.String(allow_none=True)
    from_state_label = ma.fields.Function(lambda e: STATES.get(e.from_state))
    to_state = ma.fields.String()
    to_state_label = ma.fields.Function(lambda e: STATES.get(e.to_state))
    actor_user_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String()
    data = ma.fields.Dict()
    evidence_ids = ma.fields.Function(lambda e: (e.data or {}).get("evidence_ids", []))
    at = ma.fields.DateTime()


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    hazard_id = ma.fields.Integer(allow_none=True)
    task_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)
    read = ma.fields.Function(lambda n: n.read_at is not None)


class NotificationReadSchema(ma.Schema):
    """Marking read takes no fields (an empty JSON object, or no body)."""


class NotificationQuerySchema(ma.Schema):
    unread = ma.fields.Boolean(metadata={"description": "只看未读"})


class ReferralSchema(ma.Schema):
    id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    hazard_id = ma.fields.Integer(allow_none=True)
    campaign_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String()
    reason_label = ma.fields.Function(lambda r: REFERRAL_REASONS.get(r.reason))
    reason_text = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda r: REFERRAL_STATUSES.get(r.status))
    decision = ma.fields.String(allow_none=True)
    decision_label = ma.fields.Function(lambda r: DECISIONS.get(r.decision))
    penalty_amount = ma.fields.Decimal(allow_none=True, **MONEY)
    decision_note = ma.fields.String()
    decided_at = ma.fields.DateTime(allow_none=True)
    decided_by = ma.fields.Integer(allow_none=True)
    outcome = ma.fields.String()
    closed_at = ma.fields.DateTime(allow_none=True)
    referred_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ReferralCreateSchema(ma.Schema):
    hazard_id = ma.fields.Integer(metadata={"description": "从隐患移交（隐患随之转为已移交执法）"})
    enterprise_id = ma.fields.Integer(metadata={"description": "不针对隐患时必填"})
    campaign_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(required=True, validate=validate.OneOf(list(REFERRAL_REASONS)))
    reason_text = ma.fields.String(load_default="", validate=validate.Length(max=5000))


class ReferralDecisionSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(list(DECISIONS)))
    penalty_amount = ma.fields.Decimal(places=2, allow_nan=False, allow_none=True,
                                       validate=validate.Range(min=0, max=10**12),
                                       metadata={"description": "元；行政处罚必填"})
    decision_note = ma.fields.String(load_default="", validate=validate.Length(max=5000))


class ReferralCloseSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ReferralQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(list(REFERRAL_STATUSES)))
    reason = ma.fields.String(validate=validate.OneOf(list(REFERRAL_REASONS)))
    decision = ma.fields.String(validate=validate.OneOf(list(DECISIONS)))
    enterprise_id = ma.fields.Integer()
    hazard_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()


class CandidateQuerySchema(ma.Schema):
    campaign_id = ma.fields.Integer(required=True, metadata={"description": "专项行动"})


class CandidateReferralSchema(ma.Schema):
    id = ma.fields.Integer()
    reason = ma.fields.String()
    reason_label = ma.fields.Function(lambda r: REFERRAL_REASONS.get(r.reason))
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda r: REFERRAL_STATUSES.get(r.status))


class EnforcementCandidateSchema(ma.Schema):
    enterprise_id = ma.fields.Function(lambda c: c["enterprise"].id)
    enterprise_name = ma.fields.Function(lambda c: c["enterprise"].name)
    credit_code = ma.fields.Function(lambda c: c["enterprise"].credit_code)
    reasons = ma.fields.List(ma.fields.String(), metadata={"description": "插件给出的移交理由"})
    referrals = ma.fields.List(ma.fields.Nested(CandidateReferralSchema),
                               metadata={"description": "本专项行动中已对该企业作出的移交"})
