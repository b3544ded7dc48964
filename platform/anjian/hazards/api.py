"""The hazard closed loop, notifications and enforcement referrals over HTTP."""

from __future__ import annotations

import contextlib

from flask import g
from sqlalchemy import case, select
from sqlalchemy.orm.exc import StaleDataError

from anjian import notifications, permissions
from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate, paginate_list
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema, problem
from anjian.audit.service import record_event
from anjian.campaigns.models import Campaign
from anjian.enterprises.visibility import enterprise_clause, require_enterprise
from anjian.extensions import db
from anjian.hazards import service
from anjian.hazards.models import EnforcementReferral, Hazard, HazardEvent
from anjian.hazards.rules import overdue_clause
from anjian.hazards.schemas import (
    CandidateQuerySchema,
    EnforcementCandidateSchema,
    HazardCreateSchema,
    HazardEventSchema,
    HazardQuerySchema,
    HazardRegradeSchema,
    HazardSchema,
    HazardUpdateSchema,
    NotificationQuerySchema,
    NotificationReadSchema,
    NotificationSchema,
    ReferralCloseSchema,
    ReferralCreateSchema,
    ReferralDecisionSchema,
    ReferralQuerySchema,
    ReferralSchema,
    TransitionSchema,
)
from anjian.notifications import Notification
from anjian.sorting import order_by

blp = Blueprint("hazards", __name__, url_prefix="/api/v1/tenants/<tenant_code>/hazards",
                description="隐患闭环：上报、五落实、整改、验收销号、逾期与移交执法")
notifications_blp = Blueprint("notifications", __name__,
                              url_prefix="/api/v1/tenants/<tenant_code>/notifications",
                              description="我的通知")
referrals_blp = Blueprint("enforcement_referrals", __name__,
                          url_prefix="/api/v1/tenants/<tenant_code>/enforcement-referrals",
                          description="移交执法")

IF_MATCH = {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
            "description": "读取隐患时得到的 ETag"}
# Enterprise users reach their own enterprise's hazards, service organisations the hazards
# of the enterprises assigned to them; which transition each may move is the service's rule.
CLOSED_STATES = ("verified", "referred")


@contextlib.contextmanager
def _rules():
    """Lost races as problems; nothing half-written is kept (the service's refusals are
    domain errors, answered by the app's handler, which rolls back too)."""
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        problem(409, "该隐患刚被他人修改，本次操作未生效，请刷新后重试", slug="concurrent-change")


def _hazard(hazard_id: int) -> Hazard:
    hazard = get_or_404(Hazard, hazard_id, "隐患")
    require_enterprise(request_context(), hazard.enterprise_id, "隐患")
    return hazard


def _check_if_match(hazard: Hazard) -> None:
    blp.check_if_match_on_post(HazardSchema().dump(hazard), "隐患")


# --- hazards ------------------------------------------------------------------------------

@blp.route("")
@blp.arguments(HazardQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(HazardSchema))
@requires("hazard.read")
def list_hazards(query, pages, tenant_code):
    """隐患列表：按状态、等级、来源、企业、专项行动、逾期、整改期限筛选"""
    stmt = select(Hazard).where(enterprise_clause(request_context(), Hazard.enterprise_id))
    if query.get("state"):
        stmt = stmt.where(Hazard.state.in_(query["state"]))
    for key in ("grade", "source", "enterprise_id", "campaign_id"):
        if key in query:
            stmt = stmt.where(getattr(Hazard, key) == query[key])
    if query.get("overdue") is not None:
        late = overdue_clause(Hazard, service.today())
        stmt = stmt.where(late if query["overdue"] else ~late)
    if "deadline_before" in query:
        stmt = stmt.where(Hazard.deadline < query["deadline_before"])
    stmt = stmt.order_by(*order_by(Hazard, query["sort"], nulls_last=("deadline",)))
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(HazardCreateSchema)
@blp.response(201, HazardSchema)
@requires("hazard.report")
def report_hazard(data, tenant_code):
    """上报隐患（来源由角色决定：监管人员为部门检查或抽查，服务机构为第三方，企业为自查）"""
    access = g.access
    data = dict(data)
    if permissions.allows(access.role, "hazard.report_as_department"):
        source = data.pop("source", None) or "department"
    elif "source" in data:
        problem(422, "隐患来源由角色决定", errors={"source": ["只有监管人员可注明抽查"]})
    else:
        source = ("service_org" if permissions.allows(access.role, "hazard.report_as_service_org")
                  else "self")
    if permissions.allows(access.role, "enterprise.read_own"):
        data.setdefault("enterprise_id", access.enterprise_id)
    if data.get("enterprise_id") is None:
        problem(422, "须指明企业", errors={"enterprise_id": ["必填项"]})
    require_enterprise(request_context(), data["enterprise_id"], "企业")
    with _rules():
        hazard = service.report_hazard(request_context(), **data, source=source)
    db.session.commit()
    return hazard


@blp.route("/<int:hazard_id>")
@blp.etag
@blp.response(200, HazardSchema)
@requires("hazard.read")
def get_hazard(tenant_code, hazard_id):
    """隐患详情（ETag 用于之后的修改与状态变更）"""
    return _hazard(hazard_id)


@blp.route("/<int:hazard_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(HazardUpdateSchema)
@blp.response(200, HazardSchema)
@requires("hazard.update")
def update_hazard(data, tenant_code, hazard_id):
    """修改隐患描述或位置（需 If-Match；已销号或已移交的隐患不能修改）"""
    hazard = _hazard(hazard_id)
    blp.check_etag(hazard, HazardSchema)
    if hazard.state in CLOSED_STATES:
        problem(409, f"隐患当前状态为「{service.STATES[hazard.state]}」，不能修改")
    with _rules():
        for key, value in data.items():
            setattr(hazard, key, value.strip())
        db.session.flush()
    db.session.commit()
    return hazard


@blp.route("/<int:hazard_id>/transitions", methods=["POST"])
@blp.etag
@blp.arguments(TransitionSchema)
@blp.response(200, HazardSchema)
@blp.doc(parameters=[IF_MATCH])
@blp.alt_response(403, schema=ProblemSchema, description="当前角色无权执行该操作")
@blp.alt_response(409, schema=ProblemSchema,
                  description="当前状态不允许该操作，或隐患刚被他人同时修改")
@blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：隐患已被他人修改")
@blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("hazard.transition")
def transition_hazard(data, tenant_code, hazard_id):
    """隐患状态变更（需 If-Match）：plan 五落实、rectify_now 立即整改、rectified 整改完成、
    verify 验收销号、reject 验收不通过、refer 移交执法"""
    hazard = _hazard(hazard_id)
    _check_if_match(hazard)
    data = dict(data)
    action = data.pop("action")
    with _rules():
        service.transition(request_context(), hazard, action, data)
        db.session.commit()
    return hazard


@blp.route("/<int:hazard_id>/grade", methods=["POST"])
@blp.etag
@blp.arguments(HazardRegradeSchema)
@blp.response(200, HazardSchema)
@blp.doc(parameters=[IF_MATCH])
@blp.alt_response(403, schema=ProblemSchema, description="当前角色无权重新定级（重大改一般只限监管部门）")
@blp.alt_response(409, schema=ProblemSchema,
                  description="已销号或已移交的隐患、等级未变，或隐患刚被他人同时修改")
@blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：隐患已被他人修改")
@blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("hazard.regrade")
def regrade_hazard(data, tenant_code, hazard_id):
    """隐患重新定级（需 If-Match）：说明理由，记入处理记录和审计日志；定为重大事故隐患须写明判定依据，
    并立即通知监管部门"""
    hazard = _hazard(hazard_id)
    _check_if_match(hazard)
    with _rules():
        service.regrade(request_context(), hazard, **data)
        db.session.commit()
    return hazard


@blp.route("/<int:hazard_id>/history")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(HazardEventSchema))
@requires("hazard.read")
def hazard_history(pages, tenant_code, hazard_id):
    """隐患处理记录：谁、何时、从何状态到何状态、说明与证据"""
    hazard = _hazard(hazard_id)
    stmt = (select(HazardEvent).where(HazardEvent.hazard_id == hazard.id)
            .order_by(HazardEvent.at, HazardEvent.id))
    return paginate(stmt, pages["page"], pages["per_page"])


# --- notifications ------------------------------------------------------------------------

@notifications_blp.route("")
@notifications_blp.arguments(NotificationQuerySchema, location="query")
@notifications_blp.arguments(PageArgs, location="query")
@notifications_blp.response(200, page_of(NotificationSchema))
@requires("notification.read")
def list_notifications(query, pages, tenant_code):
    """我的通知（未读在前）"""
    stmt = select(Notification).where(Notification.user_id == g.user.id)
    if query.get("unread") is not None:
        unread = Notification.read_at.is_(None)
        stmt = stmt.where(unread if query["unread"] else ~unread)
    stmt = stmt.order_by(case((Notification.read_at.is_(None), 0), else_=1),
                         Notification.created_at.desc(), Notification.id.desc())
    return paginate(stmt, pages["page"], pages["per_page"])


@notifications_blp.route("/<int:notification_id>/read", methods=["POST"])
@notifications_blp.arguments(NotificationReadSchema)
@notifications_blp.response(200, NotificationSchema)
@requires("notification.read")
def read_notification(_body, tenant_code, notification_id):
    """标记通知为已读（只能是自己的通知）"""
    notification = get_or_404(Notification, notification_id, "通知")
    if notification.user_id != g.user.id:
        # Someone else's notification is as absent as a missing one, and logged alike.
        record_event(db.engine, action="denied.not_found", tenant_id=g.tenant.id,
                     actor_user_id=g.user.id, entity_type=Notification.__tablename__,
                     entity_id=str(notification_id), request_id=g.get("request_id"))
        problem(404, "通知不存在")
    notifications.mark_read(request_context(), notification)
    db.session.commit()
    return notification


# --- enforcement referrals ----------------------------------------------------------------


def _referral(referral_id: int, *, lock: bool = False) -> EnforcementReferral:
    if lock:
        # Two people deciding at once: the second waits here for the first to commit,
        # then its If-Match no longer matches.
        db.session.get(EnforcementReferral, referral_id, with_for_update=True)
    return get_or_404(EnforcementReferral, referral_id, "移交记录")


@referrals_blp.route("")
@referrals_blp.arguments(ReferralQuerySchema, location="query")
@referrals_blp.arguments(PageArgs, location="query")
@referrals_blp.response(200, page_of(ReferralSchema))
@requires("referral.read")
def list_referrals(query, pages, tenant_code):
    """移交执法记录列表"""
    stmt = select(EnforcementReferral)
    for key in ("status", "reason", "decision", "enterprise_id", "hazard_id", "campaign_id"):
        if key in query:
            stmt = stmt.where(getattr(EnforcementReferral, key) == query[key])
    stmt = stmt.order_by(EnforcementReferral.created_at.desc(), EnforcementReferral.id.desc())
    return paginate(stmt, pages["page"], pages["per_page"])


@referrals_blp.route("/candidates")
@referrals_blp.arguments(CandidateQuerySchema, location="query")
@referrals_blp.arguments(PageArgs, location="query")
@referrals_blp.response(200, page_of(EnforcementCandidateSchema))
@requires("referral.read")
def list_enforcement_candidates(query, pages, tenant_code):
    """拟移交执法的企业：本单位启用的插件按其政策给出的名单和理由（如秦皇岛执法检查阶段的不配合、
    逾期不改、拒不整改），以及本专项行动中已作出的移交"""
    campaign = get_or_404(Campaign, query["campaign_id"], "专项行动")
    return paginate_list(service.enforcement_candidates(request_context(), campaign), pages["page"],
                         pages["per_page"])


@referrals_blp.route("", methods=["POST"])
@referrals_blp.arguments(ReferralCreateSchema)
@referrals_blp.response(201, ReferralSchema)
@requires("referral.manage")
def create_referral(data, tenant_code):
    """移交执法：从隐患移交（逾期、拒不整改），或移交不配合检查的企业"""
    with _rules():
        referral = service.refer(request_context(), **data)
        db.session.commit()
    return referral


@referrals_blp.route("/<int:referral_id>")
@referrals_blp.etag
@referrals_blp.response(200, ReferralSchema)
@requires("referral.read")
def get_referral(tenant_code, referral_id):
    """移交记录详情"""
    return _referral(referral_id)


@referrals_blp.route("/<int:referral_id>", methods=["PATCH"])
@referrals_blp.etag
@referrals_blp.arguments(ReferralDecisionSchema)
@referrals_blp.response(200, ReferralSchema)
@requires("referral.manage")
def decide_referral(data, tenant_code, referral_id):
    """作出处理决定（需 If-Match）：责令整改、行政处罚（罚款金额必填）、停产整顿、移送司法"""
    referral = _referral(referral_id, lock=True)
    referrals_blp.check_etag(referral, ReferralSchema)
    with _rules():
        service.decide(request_context(), referral, **data)
        db.session.commit()
    return referral


@referrals_blp.route("/<int:referral_id>/close", methods=["POST"])
@referrals_blp.arguments(ReferralCloseSchema)
@referrals_blp.response(200, ReferralSchema)
@requires("referral.manage")
def close_referral(data, tenant_code, referral_id):
    """办结：记录处理结果（已决定 → 已办结）"""
    referral = _referral(referral_id, lock=True)
    with _rules():
        service.close_referral(request_context(), referral, **data)
        db.session.commit()
    return referral
