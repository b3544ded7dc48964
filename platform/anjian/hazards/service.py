"""The hazard closed loop (隐患闭环): reporting, grading, deadlines, the state machine,
notifications of major hazards and referrals to enforcement.

Callable from the API, jobs and the CLI alike: each service takes the Context first
(its tenant is the one written, its user the actor, its access the caller's; no access:
the system, e.g. the scheduled overdue scan). Every change of state writes exactly one
``HazardEvent`` and calls the tenant's ``on_hazard_transition`` hook before the
caller commits, so a plugin that raises rolls the change back.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select

from anjian import evidence, notifications
from anjian.auth.models import TENANT_ROLES, Membership, User
from anjian.campaigns.models import Campaign
from anjian.clock import local_today as today  # today in China: Beijing dates
from anjian.clock import utcnow
from anjian.context import Context
from anjian.db import jsonable, one_of
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import can_see_enterprise
from anjian.errors import Conflict, Defect, Forbidden, NotFound, Refused
from anjian.extensions import db
from anjian.hazards.models import (
    DECISIONS,
    GRADES,
    REFERRAL_REASONS,
    REFERRAL_STATUSES,
    SOURCES,
    STATES,
    EnforcementReferral,
    Hazard,
    HazardEvent,
)
from anjian.permissions import allows, roles_allowed
from anjian.risks import feedback as risk_feedback
from anjian.workdays.service import set_deadline, set_deadline_date


def _user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def attach_evidence(context: Context, evidence_ids: Iterable[int], hazard: Hazard,
                    event: HazardEvent) -> None:
    """Attach uploaded evidence files to a hazard and the event that brought them."""
    evidence.attach(context, evidence_ids, can_see_enterprise, hazard_id=hazard.id,
                    hazard_event_id=event.id, enterprise_id=hazard.enterprise_id)


def _event(hazard: Hazard, action: str, from_state: str | None, actor_id: int | None,
           note: str = "", data: dict | None = None) -> HazardEvent:
    event = HazardEvent(hazard_id=hazard.id, action=action, from_state=from_state,
                        to_state=hazard.state, actor_user_id=actor_id, note=note or "",
                        data=jsonable(data or {}))
    db.session.add(event)
    db.session.flush()
    return event


# --- reporting ----------------------------------------------------------------------------

def _check_enterprise(enterprise_id: int) -> Enterprise:
    enterprise = db.session.get(Enterprise, enterprise_id)  # scoped: foreign ids are absent
    if enterprise is None or enterprise.deleted_at is not None:
        raise Refused("企业不存在", errors={"enterprise_id": ["企业不存在"]})
    return enterprise


def _check_campaign(campaign_id: int | None) -> None:
    if campaign_id is None:
        return
    if db.session.get(Campaign, campaign_id) is None:
        raise Refused("专项行动不存在", errors={"campaign_id": ["专项行动不存在"]})


def report_hazard(context: Context, *, enterprise_id: int, source: str, title: str,
                  description: str = "", location: str = "", campaign_id: int | None = None,
                  inspection_id: int | None = None, inspection_result_id: int | None = None,
                  checklist_item=None, found_on: dt.date | None = None, immediate: bool = False,
                  evidence_ids: Iterable[int] = (), grade: str | None = None,
                  grade_criterion: str = "") -> Hazard:
    """Record a newly found hazard in the context's tenant, found by its actor; the caller
    commits.

    The tenant's ``grade_hazard`` hook grades it (``checklist_item``: the item whose
    "no" raised it, if any), unless the reporter gives the ``grade``: a major hazard
    reported as such names its criterion (``grade_criterion``, the clause of the
    判定标准 it meets); one graded major by a checklist item cites the item. A reporter
    cannot report as general what the rules grade major (regrade it, with a reason).
    ``rectification_deadline`` gives its default period
    in working days after ``found_on`` (None: no deadline yet; a major hazard gets
    its deadline in the five-in-place plan). ``immediate`` (立即整改) applies to
    general hazards only: the deadline is the day it was found. A major hazard
    notifies the tenant's supervisors and admins at once.
    """
    if source not in SOURCES:
        raise Refused("隐患来源无效", errors={"source": [f"须为以下之一: {', '.join(SOURCES)}"]})
    title = (title or "").strip()
    if not title:
        raise Refused("隐患名称不能为空", errors={"title": ["必填项"]})
    actor_user_id = context.user_id
    enterprise = _check_enterprise(enterprise_id)
    _check_campaign(campaign_id)
    found_on = found_on or today()
    if found_on > today():
        raise Refused("发现日期不能晚于今天", errors={"found_on": ["发现日期不能晚于今天"]})
    hazard = Hazard(enterprise_id=enterprise.id, source=source, title=title,
                    description=description or "", location=location or "",
                    campaign_id=campaign_id, inspection_id=inspection_id,
                    inspection_result_id=inspection_result_id, found_on=found_on,
                    found_by=actor_user_id, state="reported", grade="general",
                    risk_point_id=risk_feedback.point_of_item(checklist_item))
    graded = context.policy("grade_hazard", hazard=hazard, checklist_item=checklist_item)
    if graded not in GRADES:
        raise Defect(f"隐患分级插件返回了无效的等级: {graded!r}")
    grade, criterion = _reported_grade(graded, grade, grade_criterion, checklist_item)
    hazard.grade, hazard.grade_criterion = grade, criterion
    hazard.immediate = bool(immediate) and grade == "general"
    if hazard.immediate:
        set_deadline(hazard, found_on, 0)
    else:
        days = context.policy("rectification_deadline", hazard=hazard, found_on=found_on)
        if days is not None:
            set_deadline(hazard, found_on, int(days))
    db.session.add(hazard)
    db.session.flush()
    ids = list(evidence_ids or ())
    data = {"grade": grade, "source": source, "evidence_ids": ids}
    if criterion:
        data["grade_criterion"] = criterion
    if immediate and not hazard.immediate:
        data["immediate_refused"] = True  # a major hazard is never rectified "at once"
    if hazard.deadline is not None:
        data["deadline"] = hazard.deadline
    event = _event(hazard, "report", None, actor_user_id, data=data)
    attach_evidence(context, ids, hazard, event)
    told = notified_users(context, {enterprise.id})  # who hears of it, read once
    if grade == "major":
        notify_major(context, hazard, enterprise, told=told)
    notify_assigned(context, hazard, enterprise, told)
    risk_feedback.hazard_changed(context, hazard)  # repeated on a risk point: re-grade it
    context.policy("on_hazard_transition", hazard=hazard, from_state=None,
                   to_state=hazard.state, actor=_user(actor_user_id))
    return hazard


def _item_criterion(item) -> str:
    """A checklist item as the criterion it meets: its requirement and legal basis."""
    text = (getattr(item, "text", "") or "").strip()
    basis = (getattr(item, "legal_basis", "") or "").strip()
    return f"{text}（{basis}）" if text and basis else (text or basis)


def _reported_grade(graded: str, requested: str | None, criterion: str,
                    checklist_item) -> tuple[str, str]:
    """(grade, criterion) of a new hazard: the rules' grade ``graded``, or the reporter's
    ``requested`` one; a major hazard always has its criterion."""
    criterion = (criterion or "").strip()
    if requested is not None and requested not in GRADES:
        raise Refused("隐患等级无效", errors={"grade": [f"须为以下之一: {', '.join(GRADES)}"]})
    if requested == "general" and graded == "major":
        message = "按判定标准为重大事故隐患，不能上报为一般隐患；如确不构成，请上报后重新定级并说明理由"
        raise Refused(message, errors={"grade": [message]})
    grade = requested or graded
    if grade != "major":
        if criterion:
            message = "判定依据只用于重大事故隐患"
            raise Refused(message, errors={"grade_criterion": [message]})
        return grade, ""
    if not criterion and checklist_item is not None and graded == "major":
        criterion = _item_criterion(checklist_item)
    if not criterion and requested == "major":
        message = "上报重大事故隐患须写明判定依据（符合重大事故隐患判定标准的哪一条）"
        raise Refused(message, errors={"grade_criterion": [message]})
    return grade, criterion[:2000]


def hearers(tenant_id, enterprise_ids):
    """Who hears of what happens in a tenant, a statement of (``user_id``,
    ``enterprise_id``, ``bureau``): its active members (the user, and its membership here,
    not disabled) of the roles told of major hazards (``bureau``), and the active users of
    the enterprises ``enterprise_ids`` (a list or a subquery); ``tenant_id`` a value or a
    bound parameter. It names its tenant: run it marked ``tenant_scoped_sql``. The one
    rule: ``notified_users`` reads it, the ledgers' reminders write from it in SQL."""
    member, user = Membership.__table__, User.__table__
    bureau = one_of(member.c.role, roles_allowed("hazard.notified_of_major"))
    return (select(member.c.user_id, member.c.enterprise_id, bureau.label("bureau"))
            .join_from(member, user, user.c.id == member.c.user_id)
            .where(member.c.tenant_id == tenant_id,  # not the actor's memberships elsewhere
                   or_(bureau, member.c.enterprise_id.in_(enterprise_ids)),
                   member.c.disabled_at.is_(None),  # a disabled member hears of nothing
                   user.c.is_active.is_(True)))


def notified_users(context: Context, enterprise_ids=()) -> dict[int, list[int]]:
    """Who hears of what happens in the context's tenant (``hearers``): its active
    supervisors and admins (key None), and the active enterprise users of each of
    ``enterprise_ids`` (keyed by enterprise)."""
    rows = db.session.execute(hearers(context.tenant_id, list(enterprise_ids) or [-1]).order_by("user_id"),
                              execution_options={"tenant_scoped_sql": True}).all()
    out: dict[int | None, list[int]] = {None: []}
    for user_id, enterprise_id, bureau in rows:
        out.setdefault(None if bureau else enterprise_id, []).append(user_id)
    return out


def notify_major(context: Context, hazard: Hazard, enterprise: Enterprise,
                 regraded: str | None = None, told: dict | None = None
                 ) -> list[notifications.Notification]:
    """One notification per active supervisor and admin of the tenant (``regraded``: the
    reason a hazard was made major after it was reported; ``told``: ``notified_users``
    when the caller has read it already)."""
    where = f"（{hazard.location}）" if hazard.location else ""
    body = (f"{enterprise.name}{where}于 {hazard.found_on.isoformat()} 发现"
            f"{GRADES[hazard.grade]}：{hazard.title}。来源：{SOURCES[hazard.source]}。")
    if hazard.grade_criterion:
        body += f"判定依据：{hazard.grade_criterion}。"
    if regraded is not None:
        body += f"由一般隐患重新定级为重大事故隐患，理由：{regraded}。"
    told = told if told is not None else notified_users(context)
    out = notifications.notify(context, told[None], kind="major_hazard",
                               title=f"重大事故隐患：{enterprise.name} {hazard.title}",
                               body=body, hazard_id=hazard.id, enterprise_id=enterprise.id)
    db.session.flush()
    return out


def notify_assigned(context: Context, hazard: Hazard, enterprise: Enterprise,
                    told: dict) -> None:
    """Tell the enterprise a hazard of it was found and is its to rectify, by when (its
    active users, ``told`` by ``notified_users``, but the one who reported it; its
    contacts through the tenant's channels)."""
    users = [user_id for user_id in told.get(enterprise.id, []) if user_id != context.user_id]
    deadline = ""
    if hazard.deadline is not None:
        deadline = f"，整改期限 {hazard.deadline.isoformat()}" + ("（暂定）" if hazard.deadline_provisional else "")
    body = (f"{enterprise.name}于 {hazard.found_on.isoformat()} 被发现{GRADES[hazard.grade]}："
            f"{hazard.title}{deadline}。请按期整改并上传整改证据。")
    notifications.notify(context, users, kind="hazard_assigned",
                         title=f"隐患待整改：{hazard.title}", body=body, hazard_id=hazard.id,
                         enterprise_id=enterprise.id)


def notify_rejected(context: Context, hazard: Hazard, note: str) -> None:
    """Tell the enterprise whose hazard failed its acceptance (its active users; its
    contacts through the tenant's channels)."""
    enterprise = db.session.get(Enterprise, hazard.enterprise_id)
    users = notified_users(context, {hazard.enterprise_id}).get(hazard.enterprise_id, [])
    body = f"{enterprise.name}的隐患“{hazard.title}”验收不通过，已退回整改。"
    if note:
        body += f"意见：{note}"
    notifications.notify(context, users, kind="hazard_rejected", title=f"隐患退回整改：{hazard.title}",
                         body=body, hazard_id=hazard.id, enterprise_id=hazard.enterprise_id)


# --- the state machine ------------------------------------------------------------------

# 五落实: the plan a hazard needs before rectifying (unless rectified at once).
FIVE_IN_PLACE = {
    "responsible_person": "整改责任人",
    "measures": "整改措施",
    "funds": "整改资金",
    "deadline": "整改期限",
    "contingency_plan": "安全防范措施和应急预案",
}


@dataclass(frozen=True)
class Action:
    """One transition: from which states, to which, who may move it (``hazard.<name>`` in
    ``anjian.permissions``), what data it takes."""

    label: str  # completes "不能…" / "无权…"
    sources: tuple[str, ...]
    target: str
    fields: frozenset[str] = frozenset()  # accepted besides note and evidence_ids
    system: bool = False  # only the system (the scheduled scan) moves it


ACTIONS: dict[str, Action] = {
    "plan": Action("制定五落实整改方案", ("reported", "overdue"), "rectifying",
                   frozenset({*FIVE_IN_PLACE, "deadline_workdays"})),
    "rectify_now": Action("立即整改", ("reported",), "rectified"),
    "rectified": Action("提交整改完成", ("rectifying", "overdue"), "rectified"),
    "verify": Action("验收销号", ("rectified",), "verified"),
    "reject": Action("退回整改（验收不通过）", ("rectified",), "rectifying"),
    "refer": Action("移交执法", ("reported", "rectifying", "overdue"), "referred",
                    frozenset({"reason"})),
    "overdue": Action("标记逾期", ("reported", "rectifying"), "overdue", system=True),
}
ACTION_LABELS = {name: action.label for name, action in ACTIONS.items()}
ACTION_LABELS["regrade"] = "重新定级"  # not a transition: the state stays (see ``regrade``)
API_ACTIONS = tuple(name for name, action in ACTIONS.items() if not action.system)


def _role_allows(name: str, action: Action, access) -> bool:
    if access is None:
        return True  # the system: jobs, the CLI
    return not action.system and allows(access.role, f"hazard.{name}")


def _required(errors: dict, field: str, message: str = "必填项") -> None:
    errors.setdefault(field, []).append(message)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _plan(hazard: Hazard, data: dict, actor_id, now) -> dict:
    errors: dict[str, list[str]] = {}
    for field in ("responsible_person", "measures", "funds", "contingency_plan"):
        if _blank(data.get(field)):
            _required(errors, field, "五落实必填项")
    date, workdays = data.get("deadline"), data.get("deadline_workdays")
    if date is None and workdays is None:
        _required(errors, "deadline", "五落实必填项（给出整改期限日期或 deadline_workdays 工作日数）")
    elif date is not None and workdays is not None:
        _required(errors, "deadline", "整改期限日期与工作日数只能给出其一")
    elif date is not None and date < today():
        _required(errors, "deadline", "整改期限不能早于今天")
    funds = data.get("funds")
    if funds is not None and funds < 0:
        _required(errors, "funds", "整改资金不能为负数")
    if errors:
        missing = [FIVE_IN_PLACE[f] for f in FIVE_IN_PLACE if f in errors]
        message = ("五落实不完整，缺少：" + "、".join(missing)) if missing else "五落实内容有误"
        raise Refused(message, errors=errors)
    hazard.responsible_person = data["responsible_person"].strip()
    hazard.measures = data["measures"].strip()
    hazard.funds = funds
    hazard.contingency_plan = data["contingency_plan"].strip()
    if workdays is not None:
        set_deadline(hazard, today(), workdays)
    else:
        set_deadline_date(hazard, date)
    return {"responsible_person": hazard.responsible_person, "measures": hazard.measures,
            "funds": funds, "contingency_plan": hazard.contingency_plan,
            "deadline": hazard.deadline, "deadline_workdays": workdays,
            "deadline_provisional": hazard.deadline_provisional}


def _need_evidence(data: dict, message: str) -> None:
    if not data.get("evidence_ids"):
        raise Refused(message, errors={"evidence_ids": [message]})


def _need_note(data: dict, message: str) -> None:
    if _blank(data.get("note")):
        raise Refused(message, errors={"note": [message]})


def _rectify_now(hazard: Hazard, data: dict, actor_id, now) -> dict:
    if hazard.grade != "general":
        raise Conflict("重大事故隐患不能立即整改，须先制定五落实整改方案")
    _need_note(data, "立即整改须说明整改情况")
    _need_evidence(data, "立即整改须上传整改后的证据（照片或文件）")
    hazard.immediate = True
    hazard.rectified_at = now
    return {}


def _rectified(hazard: Hazard, data: dict, actor_id, now) -> dict:
    _need_evidence(data, "提交整改完成须上传整改后的证据（照片或文件）")
    hazard.rectified_at = now
    return {}


def _verify(hazard: Hazard, data: dict, actor_id, now) -> dict:
    hazard.verified_at, hazard.verified_by = now, actor_id
    return {}


def _reject(hazard: Hazard, data: dict, actor_id, now) -> dict:
    _need_note(data, "验收不通过须说明原因")
    hazard.rectified_at = None
    return {}


def _refer(hazard: Hazard, data: dict, actor_id, now) -> dict:
    reason = data.get("reason") or ("overdue" if hazard.state == "overdue" else None)
    if reason is None:
        raise Refused("移交执法须说明原因", errors={"reason": ["必填项"]})
    if reason not in REFERRAL_REASONS:
        raise Refused("移交原因无效", errors={"reason": [f"须为以下之一: {', '.join(REFERRAL_REASONS)}"]})
    referral = EnforcementReferral(enterprise_id=hazard.enterprise_id, hazard_id=hazard.id,
                                   campaign_id=hazard.campaign_id, reason=reason,
                                   reason_text=(data.get("note") or "").strip(), status="open",
                                   referred_by=actor_id)
    db.session.add(referral)
    return {"reason": reason, "referral": referral}


def _overdue(hazard: Hazard, data: dict, actor_id, now) -> dict:
    hazard.overdue_at = now
    return {"deadline": hazard.deadline}


APPLY: dict[str, Callable[..., dict]] = {
    "plan": _plan, "rectify_now": _rectify_now, "rectified": _rectified, "verify": _verify,
    "reject": _reject, "refer": _refer, "overdue": _overdue,
}


def _refuse_role(action_name: str, action: Action, access) -> None:
    role = TENANT_ROLES.get(access.role, access.role)
    if action_name in ("verify", "reject") and allows(access.role, "enterprise.read_own"):
        raise Forbidden("企业用户不能验收隐患（包括本企业的隐患）")
    if action.system:
        raise Forbidden(f"{ACTION_LABELS[action_name]}由系统定时检查完成")
    raise Forbidden(f"{role}无权{action.label}")


def transition(context: Context, hazard: Hazard, action: str,
               data: dict | None = None) -> HazardEvent:
    """Move ``hazard`` by ``action`` (see ``ACTIONS``); the caller commits.

    The context names the actor and its access (the system's: none). ``data``: ``note``,
    ``evidence_ids`` and the action's own fields. Refusals are domain errors: Forbidden
    for a role that may not, Conflict for a state that does not allow it, Refused for
    missing or wrong data. A concurrent change of the same hazard fails at the
    flush with StaleDataError (the model's version column).
    """
    data = dict(data or {})
    access = context.access
    spec = ACTIONS.get(action)
    if spec is None:
        raise Refused("未知的操作", errors={"action": [f"须为以下之一: {', '.join(API_ACTIONS)}"]})
    if not _role_allows(action, spec, access):
        _refuse_role(action, spec, access)
    if (access is not None and allows(access.role, "enterprise.read_own")
            and hazard.enterprise_id != access.enterprise_id):
        raise NotFound("隐患不存在")
    if hazard.state not in spec.sources:
        raise Conflict(f"隐患当前状态为「{STATES[hazard.state]}」，不能{spec.label}")
    extra = set(data) - spec.fields - {"note", "evidence_ids"}
    if extra:
        raise Refused("该操作不接受这些字段",
                      errors={field: [f"「{spec.label}」不接受此字段"] for field in sorted(extra)})
    actor_id = context.user_id
    from_state, now = hazard.state, utcnow()
    details = APPLY[action](hazard, data, actor_id, now)
    referral = details.pop("referral", None)
    hazard.state = spec.target
    db.session.flush()  # the version check: a concurrent change fails here
    evidence_ids = list(data.get("evidence_ids") or ())
    if referral is not None:
        details["referral_id"] = referral.id
    event = _event(hazard, action, from_state, actor_id, note=(data.get("note") or "").strip(),
                   data={**details, "evidence_ids": evidence_ids})
    attach_evidence(context, evidence_ids, hazard, event)
    actor_user = _user(actor_id)
    if action == "reject":
        notify_rejected(context, hazard, (data.get("note") or "").strip())
    risk_feedback.hazard_changed(context, hazard)  # closed on a risk point: re-grade it
    context.policy("on_hazard_transition", hazard=hazard,
                   from_state=from_state, to_state=hazard.state, actor=actor_user)
    return event


# --- regrading (重新定级) ------------------------------------------------------------------

# A hazard is regraded while it is being dealt with; a closed one (verified, referred) not.
REGRADE_STATES = ("reported", "rectifying", "overdue", "rectified")


def regrade(context: Context, hazard: Hazard, *, grade: str, reason: str,
            grade_criterion: str = "") -> HazardEvent:
    """Change a hazard's grade, by the context's actor, with a reason (the history's
    ``regrade`` event: from which grade to which, the criterion, the reason; the state
    stays); the caller commits.

    Made major, it needs its criterion, loses 立即整改 and notifies the tenant's
    supervisors and admins at once; made general (the bureau only), it gets the tenant's
    default rectification period from today when it had no deadline."""
    access = context.access
    if access is not None:
        if not allows(access.role, "hazard.regrade"):
            raise Forbidden(f"{TENANT_ROLES.get(access.role, access.role)}无权重新定级隐患")
        if (grade == "general" and hazard.grade == "major"
                and not allows(access.role, "hazard.regrade_down")):
            raise Forbidden("只有监管部门可以将重大事故隐患改为一般隐患")
        if (allows(access.role, "enterprise.read_own")
                and hazard.enterprise_id != access.enterprise_id):
            raise NotFound("隐患不存在")
    if grade not in GRADES:
        raise Refused("隐患等级无效", errors={"grade": [f"须为以下之一: {', '.join(GRADES)}"]})
    if hazard.state not in REGRADE_STATES:
        raise Conflict(f"隐患当前状态为「{STATES[hazard.state]}」，不能重新定级")
    if grade == hazard.grade:
        raise Conflict(f"隐患已是{GRADES[grade]}，无需重新定级")
    reason = (reason or "").strip()
    if not reason:
        raise Refused("重新定级须说明理由", errors={"reason": ["重新定级须说明理由"]})
    criterion = (grade_criterion or "").strip()
    if grade == "major" and not criterion:
        message = "定为重大事故隐患须写明判定依据（符合重大事故隐患判定标准的哪一条）"
        raise Refused(message, errors={"grade_criterion": [message]})
    if grade == "general" and criterion:
        raise Refused("判定依据只用于重大事故隐患",
                      errors={"grade_criterion": ["判定依据只用于重大事故隐患"]})
    details = {"from_grade": hazard.grade, "to_grade": grade}
    hazard.grade, hazard.grade_criterion = grade, criterion[:2000]
    if grade == "major":
        hazard.immediate = False
        details["grade_criterion"] = hazard.grade_criterion
    elif hazard.deadline is None:
        days = context.policy("rectification_deadline", hazard=hazard, found_on=today())
        if days is not None:
            set_deadline(hazard, today(), int(days))
            details["deadline"] = hazard.deadline
    db.session.flush()  # the version check: a concurrent change fails here
    event = _event(hazard, "regrade", hazard.state, context.user_id, note=reason, data=details)
    if grade == "major":
        notify_major(context, hazard, db.session.get(Enterprise, hazard.enterprise_id),
                     regraded=reason)
    return event


def mark_overdue(context: Context, hazard: Hazard, today: dt.date) -> bool:
    """Mark one hazard overdue if it is still open past its deadline (the scan's step), as
    the system of the context's tenant.

    Idempotent: an overdue, rectified, closed or undated hazard is left alone and
    False returned. Calls ``on_hazard_transition``; ``on_overdue`` is the scan's to call.
    """
    if (hazard.state not in ACTIONS["overdue"].sources or hazard.deadline is None
            or hazard.deadline >= today):
        return False
    transition(Context.for_system(context.tenant, context.plugins), hazard, "overdue", {})
    return True


# --- enforcement referrals (移交执法) -----------------------------------------------------

# Without a hazard, a referral is about the enterprise's conduct.
ENTERPRISE_REASONS = ("uncooperative", "other")


def refer(context: Context, *, reason: str, reason_text: str = "", hazard_id: int | None = None,
          enterprise_id: int | None = None, campaign_id: int | None = None,
          hazard: Hazard | None = None) -> EnforcementReferral:
    """Refer a hazard (through the state machine: it becomes ``referred``) or an
    uncooperative enterprise to enforcement; the caller commits."""
    actor_id = context.user_id
    if hazard is None and hazard_id is not None:
        hazard = db.session.get(Hazard, hazard_id)
        if hazard is None:
            raise Refused("隐患不存在", errors={"hazard_id": ["隐患不存在"]})
    if hazard is not None:
        if enterprise_id is not None and enterprise_id != hazard.enterprise_id:
            raise Refused("企业与隐患不符", errors={"enterprise_id": ["须为该隐患所属企业"]})
        if campaign_id is not None and campaign_id != hazard.campaign_id:
            raise Refused("专项行动与隐患不符", errors={"campaign_id": ["须为该隐患所属专项行动"]})
        event = transition(context, hazard, "refer", {"reason": reason, "note": reason_text})
        return db.session.get(EnforcementReferral, event.data["referral_id"])
    if enterprise_id is None:
        raise Refused("须指明隐患或企业", errors={"enterprise_id": ["必填项（或给出 hazard_id）"]})
    if reason not in ENTERPRISE_REASONS:
        raise Refused("逾期或拒不整改须从隐患移交", errors={
                      "reason": ["不针对隐患的移交，原因须为 uncooperative（不配合检查）或 other（其他）"]})
    _check_enterprise(enterprise_id)
    _check_campaign(campaign_id)
    if reason == "other" and _blank(reason_text):
        raise Refused("原因为其他时须说明", errors={"reason_text": ["必填项"]})
    referral = EnforcementReferral(enterprise_id=enterprise_id, campaign_id=campaign_id,
                                   reason=reason, reason_text=(reason_text or "").strip(),
                                   status="open", referred_by=actor_id)
    db.session.add(referral)
    db.session.flush()
    return referral


def enforcement_candidates(context: Context, campaign: Campaign) -> list[dict]:
    """Whom the tenant's plugins propose to refer to enforcement in ``campaign`` (hook
    ``enforcement_candidates``): one entry per enterprise, with every reason any plugin
    gave and the referrals already made for it in the campaign, by enterprise name."""
    found: dict[int, dict] = {}
    for answer in context.policy("enforcement_candidates", campaign=campaign):
        for enterprise, reason in answer or ():
            entry = found.setdefault(enterprise.id, {"enterprise": enterprise, "reasons": [],
                                                     "referrals": []})
            if reason and reason not in entry["reasons"]:
                entry["reasons"].append(reason)
    if found:
        for referral in db.session.scalars(select(EnforcementReferral).where(
                EnforcementReferral.campaign_id == campaign.id,
                EnforcementReferral.enterprise_id.in_(list(found)))
                .order_by(EnforcementReferral.id)):
            found[referral.enterprise_id]["referrals"].append(referral)
    return sorted(found.values(), key=lambda e: (e["enterprise"].name, e["enterprise"].id))


def _status_conflict(referral: EnforcementReferral, doing: str) -> Conflict:
    return Conflict(f"移交记录当前状态为「{REFERRAL_STATUSES[referral.status]}」，不能{doing}")


def decide(context: Context, referral: EnforcementReferral, *, decision: str,
           penalty_amount: decimal.Decimal | None = None,
           decision_note: str = "") -> EnforcementReferral:
    """Record the context's actor's enforcement decision (open → decided); a penalty needs
    its amount (yuan)."""
    if referral.status != "open":
        raise _status_conflict(referral, "作出处理决定")
    if decision not in DECISIONS:
        raise Refused("处理决定无效", errors={"decision": [f"须为以下之一: {', '.join(DECISIONS)}"]})
    if decision == "penalty":
        if penalty_amount is None:
            raise Refused("行政处罚须填写罚款金额（元）", errors={"penalty_amount": ["必填项"]})
        if penalty_amount <= 0:
            raise Refused("罚款金额须大于 0", errors={"penalty_amount": ["须大于 0"]})
    elif penalty_amount is not None:
        raise Refused("只有行政处罚填写罚款金额",
                      errors={"penalty_amount": [f"「{DECISIONS[decision]}」不填写罚款金额"]})
    referral.decision, referral.penalty_amount = decision, penalty_amount
    referral.decision_note = (decision_note or "").strip()
    referral.decided_at, referral.decided_by = utcnow(), context.user_id
    referral.status = "decided"
    db.session.flush()
    return referral


def close_referral(context: Context, referral: EnforcementReferral, *,
                   outcome: str) -> EnforcementReferral:
    """Close a decided referral with its outcome (decided → closed, 办结)."""
    if referral.status != "decided":
        raise _status_conflict(referral, "办结")
    if _blank(outcome):
        raise Refused("办结须填写处理结果", errors={"outcome": ["必填项"]})
    referral.outcome, referral.closed_at, referral.status = outcome.strip(), utcnow(), "closed"
    db.session.flush()
    return referral


__all__ = ["ACTIONS", "API_ACTIONS", "mark_overdue", "refer", "regrade", "report_hazard",
           "today", "transition"]
