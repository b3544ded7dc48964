import marshmallow as ma
from marshmallow import validate

from anjian.campaigns.models import CAMPAIGN_STATUSES, TARGET_METHODS, TASK_STATUSES
from anjian.campaigns.service import phases_of
from anjian.enterprises.schemas import EnterpriseQuerySchema

KEY = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$",
                      error="代码只能包含字母、数字和 _ . : -，最长 80 个字符")


class PhaseSchema(ma.Schema):
    id = ma.fields.Integer()
    key = ma.fields.String()
    title = ma.fields.String()
    position = ma.fields.Integer()
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    rule = ma.fields.String()


class CampaignSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(allow_none=True)
    plugin = ma.fields.String(allow_none=True)
    title = ma.fields.String()
    description = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda c: CAMPAIGN_STATUSES.get(c.status))
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    created_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class CampaignSchema(CampaignSummarySchema):
    """One campaign with its phases, focus and milestones (the ETag covers all of it)."""

    settings = ma.fields.Dict()
    phases = ma.fields.Method("get_phases")

    def get_phases(self, campaign):
        return PhaseSchema(many=True).dump(phases_of(campaign.id))


class PhaseInSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=KEY)
    title = ma.fields.String(validate=validate.Length(min=1, max=200))
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    rule = ma.fields.String(validate=validate.Length(max=5000))


class MilestoneInSchema(ma.Schema):
    key = ma.fields.String(validate=KEY)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=300))
    due = ma.fields.Date(required=True)


class CampaignCreateSchema(ma.Schema):
    kind = ma.fields.String(allow_none=True, validate=validate.Length(max=80),
                            metadata={"description": "专项行动类型（见 campaign-kinds）；不填为自定义"})
    title = ma.fields.String(validate=validate.Length(min=1, max=200))
    description = ma.fields.String(validate=validate.Length(max=5000))
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    phases = ma.fields.List(ma.fields.Nested(PhaseInSchema), validate=validate.Length(max=50),
                            metadata={"description": "自定义阶段；按类型创建时按 key 补充日期"})
    milestones = ma.fields.List(ma.fields.Nested(MilestoneInSchema),
                                validate=validate.Length(max=100))


class CampaignUpdateSchema(ma.Schema):
    title = ma.fields.String(validate=validate.Length(min=1, max=200))
    description = ma.fields.String(validate=validate.Length(max=5000))
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    phases = ma.fields.List(ma.fields.Nested(PhaseInSchema), validate=validate.Length(max=50),
                            metadata={"description": "按 key 修改阶段（自定义专项行动可新增）"})


class CampaignStatusSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=validate.OneOf(list(CAMPAIGN_STATUSES)))


class CampaignQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(list(CAMPAIGN_STATUSES)))
    kind = ma.fields.String(validate=validate.Length(max=80))


class KindPhaseSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    start = ma.fields.String(allow_none=True)
    end = ma.fields.String(allow_none=True)
    rule = ma.fields.String()
    relative = ma.fields.Dict(allow_none=True)


class KindMilestoneSchema(ma.Schema):
    date = ma.fields.String(allow_none=True)
    rule = ma.fields.String()


class CampaignKindSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    plugin = ma.fields.String()
    year = ma.fields.Integer(allow_none=True)
    phases = ma.fields.List(ma.fields.Nested(KindPhaseSchema))
    focus = ma.fields.List(ma.fields.String())
    milestones = ma.fields.List(ma.fields.Nested(KindMilestoneSchema))


class TargetsAddSchema(ma.Schema):
    """One of: a list of enterprise ids, a registry filter, or the plugin's rule."""

    enterprise_ids = ma.fields.List(ma.fields.Integer(), validate=validate.Length(min=1, max=5000),
                                    metadata={"description": "按名单"})
    filter = ma.fields.Nested(EnterpriseQuerySchema,
                              metadata={"description": "按企业台账的筛选条件"})
    rule = ma.fields.String(validate=validate.OneOf(["plugin"]),
                            metadata={"description": "plugin：按本单位插件的规则选取"})

    @ma.validates_schema
    def _one_method(self, data, **kwargs):
        given = [k for k in ("enterprise_ids", "filter", "rule") if k in data]
        if not given:
            raise ma.ValidationError("须给出 enterprise_ids、filter 或 rule 之一", "enterprise_ids")
        if "enterprise_ids" in data and len(given) > 1:
            raise ma.ValidationError("按名单时不能同时给出 filter 或 rule", "enterprise_ids")


class TargetsAddedSchema(ma.Schema):
    method = ma.fields.String()
    added = ma.fields.Integer()
    already = ma.fields.Integer(metadata={"description": "已是目标企业（未重复添加）"})
    total = ma.fields.Integer()


class TargetSchema(ma.Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    enterprise_credit_code = ma.fields.String()
    method = ma.fields.String()
    method_label = ma.fields.Function(lambda t: TARGET_METHODS.get(t["method"]))
    reason = ma.fields.String()
    assignee_user_id = ma.fields.Integer(allow_none=True)
    assignee_name = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class TargetQuerySchema(ma.Schema):
    assignee_user_id = ma.fields.Integer()
    unassigned = ma.fields.Boolean()


class AssigneeSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True, allow_none=True,
                                metadata={"description": "监管人员或第三方服务机构人员；null 取消指派"})


class TaskSchema(ma.Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    phase_id = ma.fields.Integer(allow_none=True)
    enterprise_id = ma.fields.Integer(allow_none=True)
    key = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda t: TASK_STATUSES.get(t.status))
    deadline = ma.fields.Date(allow_none=True)
    deadline_provisional = ma.fields.Boolean()
    deadline_workdays = ma.fields.Integer(allow_none=True)
    remind_before = ma.fields.Integer()
    done_at = ma.fields.DateTime(allow_none=True)
    done_by = ma.fields.Integer(allow_none=True)
    overdue_at = ma.fields.DateTime(allow_none=True)


class TaskDoneSchema(ma.Schema):
    """No fields: marking a task done takes an empty JSON object."""


class TaskQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(list(TASK_STATUSES)))


class ProgressSchema(ma.Schema):
    targets = ma.fields.Integer(metadata={"description": "目标企业数"})
    inspected = ma.fields.Integer(metadata={"description": "已提交检查的目标企业数"})
    hazards = ma.fields.Dict(metadata={"description": "by_grade_state: 等级 → 状态 → 数量; total"})
    overdue = ma.fields.Dict(metadata={"description": "hazards: 逾期隐患数; tasks: 逾期任务数"})
