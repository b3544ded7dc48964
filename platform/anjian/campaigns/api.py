"""Campaigns (专项行动) over HTTP: kinds, campaigns, targets, assignments, tasks, progress."""

from __future__ import annotations

from sqlalchemy import func, select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.auth.models import User
from anjian.campaigns import service
from anjian.campaigns.models import Campaign, CampaignTarget, CampaignTask
from anjian.campaigns.schemas import (
    AssigneeSchema,
    CampaignCreateSchema,
    CampaignKindSchema,
    CampaignQuerySchema,
    CampaignSchema,
    CampaignStatusSchema,
    CampaignSummarySchema,
    CampaignUpdateSchema,
    ProgressSchema,
    TargetQuerySchema,
    TargetsAddedSchema,
    TargetsAddSchema,
    TargetSchema,
    TaskDoneSchema,
    TaskQuerySchema,
    TaskSchema,
)
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause, require_enterprise
from anjian.extensions import db

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1/tenants/<tenant_code>/campaigns",
                description="专项行动：阶段、目标企业、指派、任务与进度")
kinds_blp = Blueprint("campaign_kinds", __name__,
                      url_prefix="/api/v1/tenants/<tenant_code>/campaign-kinds",
                      description="专项行动类型（本单位启用的插件提供）")

# Enterprise users and service organisations read campaigns, but only the targets, tasks
# and figures of the enterprises they may see.


@kinds_blp.route("")
@kinds_blp.response(200, CampaignKindSchema(many=True))
@requires("campaign.read")
def list_kinds(tenant_code):
    """本单位可用的专项行动类型（阶段、重点、时间节点）"""
    return service.kinds_for(request_context())


@blp.route("")
@blp.arguments(CampaignQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(CampaignSummarySchema))
@requires("campaign.read")
def list_campaigns(query, pages, tenant_code):
    """专项行动列表（按状态、类型筛选）"""
    stmt = select(Campaign)
    for key in ("status", "kind"):
        if key in query:
            stmt = stmt.where(getattr(Campaign, key) == query[key])
    stmt = stmt.order_by(Campaign.created_at.desc(), Campaign.id.desc())
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(CampaignCreateSchema)
@blp.response(201, CampaignSchema)
@requires("campaign.manage")
def create_campaign(data, tenant_code):
    """新建专项行动（按类型复制阶段与时间节点，或自定义阶段）"""
    campaign = service.create(request_context(), data)
    db.session.commit()
    return campaign


@blp.route("/<int:campaign_id>")
@blp.etag
@blp.response(200, CampaignSchema)
@requires("campaign.read")
def get_campaign(tenant_code, campaign_id):
    """专项行动详情（含阶段）"""
    return get_or_404(Campaign, campaign_id, "专项行动")


@blp.route("/<int:campaign_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(CampaignUpdateSchema)
@blp.response(200, CampaignSchema)
@requires("campaign.manage")
def update_campaign(data, tenant_code, campaign_id):
    """修改专项行动（需 If-Match）；阶段按 key 修改"""
    campaign = get_or_404(Campaign, campaign_id, "专项行动")
    blp.check_etag(campaign, CampaignSchema)
    service.update(request_context(), campaign, data)
    db.session.commit()
    return campaign


@blp.route("/<int:campaign_id>/status", methods=["POST"])
@blp.arguments(CampaignStatusSchema)
@blp.response(200, CampaignSchema)
@requires("campaign.manage")
def change_status(data, tenant_code, campaign_id):
    """启动或结束专项行动（草稿 → 进行中 → 已结束）"""
    campaign = get_or_404(Campaign, campaign_id, "专项行动")
    service.set_status(request_context(), campaign, data["status"])
    db.session.commit()
    return campaign


# --- targets ----------------------------------------------------------------------------------

def _target_rows(stmt):
    return [{**{c: getattr(t, c) for c in ("id", "campaign_id", "enterprise_id", "method",
                                           "reason", "assignee_user_id", "created_at")},
             "enterprise_name": name, "enterprise_credit_code": code,
             "assignee_name": assignee} for t, name, code, assignee in stmt]


def _target_statement(campaign_id: int):
    assignee = func.coalesce(func.nullif(User.display_name, ""), User.username)
    return (select(CampaignTarget, Enterprise.name, Enterprise.credit_code, assignee)
            .join(Enterprise, Enterprise.id == CampaignTarget.enterprise_id)
            .outerjoin(User, User.id == CampaignTarget.assignee_user_id)
            .where(CampaignTarget.campaign_id == campaign_id,
                   enterprise_clause(request_context(), CampaignTarget.enterprise_id)))


@blp.route("/<int:campaign_id>/targets")
@blp.arguments(TargetQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(TargetSchema))
@requires("campaign.read")
def list_targets(query, pages, tenant_code, campaign_id):
    """目标企业（企业名称、信用代码、指派人员）"""
    get_or_404(Campaign, campaign_id, "专项行动")
    stmt = _target_statement(campaign_id)
    if "assignee_user_id" in query:
        stmt = stmt.where(CampaignTarget.assignee_user_id == query["assignee_user_id"])
    if query.get("unassigned"):
        stmt = stmt.where(CampaignTarget.assignee_user_id.is_(None))
    stmt = stmt.order_by(Enterprise.name, CampaignTarget.id)
    page = paginate(stmt, pages["page"], pages["per_page"], scalars=False)
    page["items"] = _target_rows(page["items"])
    return page


@blp.route("/<int:campaign_id>/targets", methods=["POST"])
@blp.arguments(TargetsAddSchema)
@blp.response(200, TargetsAddedSchema)
@requires("campaign.manage")
def add_targets(data, tenant_code, campaign_id):
    """添加目标企业：按名单、按台账筛选条件或按插件规则（已有的不重复添加）"""
    campaign = get_or_404(Campaign, campaign_id, "专项行动")
    result = service.add_targets(request_context(), campaign, data)
    db.session.commit()
    return result


def _target(campaign_id: int, target_id: int) -> CampaignTarget:
    target = get_or_404(CampaignTarget, target_id, "目标企业")
    if target.campaign_id != campaign_id:
        problem(404, "目标企业不存在")
    return target


@blp.route("/<int:campaign_id>/targets/<int:target_id>", methods=["DELETE"])
@blp.response(204)
@requires("campaign.manage")
def remove_target(tenant_code, campaign_id, target_id):
    """移除目标企业"""
    campaign = get_or_404(Campaign, campaign_id, "专项行动")
    service.remove_target(request_context(), campaign, _target(campaign_id, target_id))
    db.session.commit()


@blp.route("/<int:campaign_id>/targets/<int:target_id>/assignee", methods=["PUT"])
@blp.arguments(AssigneeSchema)
@blp.response(200, TargetSchema)
@requires("campaign.manage")
def assign_target(data, tenant_code, campaign_id, target_id):
    """指派目标企业给监管人员或第三方服务机构人员（user_id 为 null 取消指派）"""
    campaign = get_or_404(Campaign, campaign_id, "专项行动")
    target = _target(campaign_id, target_id)
    service.assign(request_context(), campaign, target, data["user_id"])
    db.session.commit()
    return _target_rows(db.session.execute(
        _target_statement(campaign_id).where(CampaignTarget.id == target.id)))[0]


# --- tasks and progress -----------------------------------------------------------------------

@blp.route("/<int:campaign_id>/tasks")
@blp.arguments(TaskQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(TaskSchema))
@requires("campaign.read")
def list_tasks(query, pages, tenant_code, campaign_id):
    """专项行动的任务与时间节点（按期限排序）"""
    get_or_404(Campaign, campaign_id, "专项行动")
    stmt = select(CampaignTask).where(CampaignTask.campaign_id == campaign_id,
                                      enterprise_clause(request_context(), CampaignTask.enterprise_id))
    if "status" in query:
        stmt = stmt.where(CampaignTask.status == query["status"])
    stmt = stmt.order_by(CampaignTask.deadline.is_(None), CampaignTask.deadline, CampaignTask.id)
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("/<int:campaign_id>/tasks/<int:task_id>/done", methods=["POST"])
@blp.arguments(TaskDoneSchema)
@blp.response(200, TaskSchema)
@requires("campaign_task.complete")
def complete_task(_body, tenant_code, campaign_id, task_id):
    """标记任务完成（企业与服务机构只能完成本企业的任务）"""
    task = get_or_404(CampaignTask, task_id, "任务")
    if task.campaign_id != campaign_id:
        problem(404, "任务不存在")
    if service.restricted_actor(request_context()) and task.enterprise_id is None:
        problem(404, "任务不存在")  # a campaign-wide task is the bureau's
    require_enterprise(request_context(), task.enterprise_id, "任务")
    service.mark_task_done(request_context(), task)
    db.session.commit()
    return task


@blp.route("/<int:campaign_id>/progress")
@blp.response(200, ProgressSchema)
@requires("campaign.read")
def progress(tenant_code, campaign_id):
    """进度：目标企业、已检查、隐患（按等级与状态）、逾期隐患与任务"""
    get_or_404(Campaign, campaign_id, "专项行动")
    return service.campaign_progress(request_context(), campaign_id)
