"""Dangerous-work permits (作业票, GB 30871-2022): the flow and its refusals, the ledger.

The flow, one step at a time (``transition``), each step kept in the permit's history:

    requested ─identify→ identified ─approve→ approving ─approve→ approved ─issue→ issued
    ─start→ in_progress (resume) ─accept→ accepting ─accept→ accepted ─close→ closed

with ``gas_analysis`` recorded whenever it is taken, ``refuse`` (驳回, by an approver)
before the issue and ``cancel`` until the work is accepted. The steps a permit needs
(approvals, guardians, acceptances) are the tenant's ``permit_approvals`` answer, asked
once when the permit is requested with whether its planned start is a key time
(``key_time_reasons``: nights, days off, plugins' key periods).

What stops a step is told as a list of Chinese reasons (``Conflict`` with ``reasons``,
or ``Refused`` for the request itself): a worker without a valid special work certificate
for the work on its day (the ledgers' ``certified``), a validity run out (no start or
resume after ``valid_until``), an approver approving their own request (or twice), a
gas analysis missing, failed or older than the kind's bound.

Times are stored in UTC and reasoned about in China's time; the time is the Context's
clock. Whose permits an actor reaches is the enterprise visibility rule; a hidden permit
is "not found". The caller commits.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, func, or_, select, text

from anjian.auth.models import User
from anjian.clock import CHINA
from anjian.context import Context
from anjian.db import one_of
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import actor, enterprise_clause, require_enterprise, sees_every_enterprise
from anjian.errors import Conflict, Forbidden, NotFound, Refused
from anjian.extensions import db
from anjian.ledgers import kinds as ledger_kinds
from anjian.ledgers import service as ledgers
from anjian.ledgers.models import LedgerEntry
from anjian.permissions import TENANT_ROLES, allows
from anjian.permits import kinds as kinds_
from anjian.permits.core_kinds import KEY_PERIODS_SETTING, NIGHT_FROM, NIGHT_UNTIL
from anjian.permits.models import Permit, PermitEvent
from anjian.workdays.service import is_workday
from anjian.xlsx import write_table

STATES = {
    "requested": "已申请",
    "identified": "已辨识",  # hazards identified, every safety measure confirmed (JSA)
    "approving": "审批中",
    "approved": "已审批",
    "issued": "已签发",
    "in_progress": "作业中",
    "accepting": "验收中",
    "accepted": "已验收",
    "closed": "已关闭",
    "cancelled": "已取消",
    "refused": "已驳回",
}
ENDED_STATES = ("closed", "cancelled", "refused")
OPEN_STATES = tuple(state for state in STATES if state not in ENDED_STATES)
# The states in which the work may go on (a validity runs out only in them).
WORKING_STATES = ("issued", "in_progress")
DRILLS = "drills"
DANGEROUS_WORK_FIELD = "dangerous_work"  # the drills ledger's 危险作业应急演练
# pg_advisory_xact_lock(NUMBER_LOCK_SPACE, tenant_id): one permit number at a time ("pt").
NUMBER_LOCK_SPACE = 0x7074
NUMBER_PREFIX = "ZYP"  # 作业票


@dataclass(frozen=True)
class Step:
    label: str
    permission: str
    sources: tuple[str, ...]


_BEFORE_ISSUE = ("requested", "identified", "approving", "approved")
STEPS = {
    "identify": Step("危害辨识与安全措施确认", "permit.request", ("requested", "identified")),
    "gas_analysis": Step("记录气体分析", "permit.request", (*_BEFORE_ISSUE, "issued", "in_progress")),
    "approve": Step("审批", "permit.approve", ("identified", "approving")),
    "refuse": Step("驳回", "permit.approve", _BEFORE_ISSUE),
    "issue": Step("签发", "permit.approve", ("approved",)),
    "start": Step("开始作业", "permit.request", ("issued",)),
    "resume": Step("继续作业", "permit.request", ("in_progress",)),
    "accept": Step("验收", "permit.approve", ("in_progress", "accepting")),
    "close": Step("关闭", "permit.request", ("accepted",)),
    "cancel": Step("取消", "permit.request", (*_BEFORE_ISSUE, "issued", "in_progress")),
}
EVENT_ACTIONS = {"request": "申请", **{key: step.label for key, step in STEPS.items()}}


# --- time ----------------------------------------------------------------------------------


def iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _moment(value) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def local_text(moment: dt.datetime) -> str:
    """2024-05-08 17:00 (China's time)."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def day_start(day: dt.date) -> dt.datetime:
    """The moment a China date begins (in UTC)."""
    return dt.datetime.combine(day, dt.time(), CHINA).astimezone(dt.UTC)


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


# --- key times -----------------------------------------------------------------------------


def key_periods(tenant) -> list[dict]:
    """The key periods the tenant's enabled plugins name in their settings
    (``double_approval_key_periods``: ``[{start, end, reason}]``), each with its plugin."""
    if tenant is None:
        return []
    out = []
    for plugin in tenant.plugins:
        settings = (tenant.settings or {}).get(plugin)
        periods = settings.get(KEY_PERIODS_SETTING) if isinstance(settings, dict) else None
        for raw in periods or ():
            if not isinstance(raw, dict):
                continue
            start, end = _date(raw.get("start")), _date(raw.get("end"))
            if start is not None and end is not None:
                out.append({"start": start, "end": end, "reason": str(raw.get("reason") or "").strip(),
                            "plugin": plugin})
    return out


def key_time_reasons(context: Context, moment: dt.datetime) -> list[str]:
    """Why ``moment`` is a key time (重点时段), in China's time; empty when it is not: a
    night (22:00–06:00), a day off of the platform's calendar (a weekend: 公休日; a weekday
    off: 法定节假日; a make-up working day is not one), a key period of an enabled plugin's
    settings (dates inclusive)."""
    local = moment.astimezone(CHINA)
    reasons = []
    if local.hour >= NIGHT_FROM or local.hour < NIGHT_UNTIL:
        reasons.append(f"夜间（{NIGHT_FROM}:00 至次日 {NIGHT_UNTIL:02d}:00）")
    day = local.date()
    if not is_workday(day):
        reasons.append(f"{'公休日' if day.weekday() >= 5 else '法定节假日'}（{day.isoformat()}）")
    for period in key_periods(context.tenant):
        if period["start"] <= day <= period["end"]:
            reasons.append(f"重点时段：{period['reason'] or '插件设置的重点时段'}"
                           f"（{period['start'].isoformat()} 至 {period['end'].isoformat()}）")
    return reasons


# --- the rules the steps check -------------------------------------------------------------


def _refuse(label: str, reasons: list[str]):
    raise Conflict(f"不能{label}：" + "；".join(reasons), slug="permit-refused",
                   members={"reasons": reasons})


def _may(context: Context, permission: str, label: str) -> None:
    access = context.access
    if access is not None and not allows(access.role, permission):
        raise Forbidden(f"{TENANT_ROLES.get(access.role, access.role)}无权{label}")


def _need(data: dict, *fields: str) -> None:
    missing = {f: ["必填项"] for f in fields if data.get(f) in (None, "", [])}
    if missing:
        raise Refused("缺少必填项：" + "、".join(missing), errors=missing)


def _past_validity(permit: Permit, now: dt.datetime) -> bool:
    """No work starts or goes on after ``valid_until``."""
    return permit.valid_until is not None and now > permit.valid_until


def expired_reasons(permit: Permit, now: dt.datetime) -> list[str]:
    """The validity run out (``_past_validity``), said."""
    if _past_validity(permit, now):
        return [f"作业票已过有效期（有效期至 {local_text(permit.valid_until)}）"]
    return []


def is_expired(permit: Permit, now: dt.datetime) -> bool:
    """A permit whose work may go on (issued, in progress) past its validity."""
    return permit.state in WORKING_STATES and _past_validity(permit, now)


def gas_reasons(kind: dict, permit: Permit, now: dt.datetime, *, fresh: bool = True) -> list[str]:
    """What is wrong with the gas analysis of a kind that needs one: none taken by
    ``now``, the latest failed, or (``fresh``) the latest older than the kind's bound."""
    if not kind.get("gas_analysis"):
        return []
    bound = kind.get("gas_analysis_minutes") or 30
    taken = sorted((a for a in permit.gas_analyses or () if _moment(a["at"]) <= now),
                   key=lambda a: _moment(a["at"]))
    if not taken:
        return [f"缺少气体分析：{kind['title']}须在作业前 {bound} 分钟内气体分析合格"]
    latest = taken[-1]
    at = _moment(latest["at"])
    if not latest.get("passed"):
        return [f"最近一次气体分析不合格（{local_text(at)}，分析人：{latest.get('analyst')}），须重新分析合格"]
    if fresh and now - at > dt.timedelta(minutes=bound):
        return [f"气体分析已超过 {bound} 分钟（{local_text(at)} 分析），须重新分析"]
    return []


def certificate_reasons(context: Context, kind: dict, enterprise_id: int, workers: list[dict],
                        on: dt.date) -> tuple[list[str], dict[str, list[str]]]:
    """Each worker naming a special work holds a valid certificate for it on ``on`` (the
    ledgers' ``certified``: issued by then, not expired, its review not overdue), and a
    kind that names ``certificates`` has a worker validly holding one of them. (reasons,
    per field)."""
    reasons: list[str] = []
    errors: dict[str, list[str]] = {}
    held = set()
    for i, worker in enumerate(workers):
        if not worker.get("work_kind"):
            continue
        found = ledgers.certified(context, enterprise_id=enterprise_id, work_kind=worker["work_kind"],
                                  on=on, id_number=worker.get("id_number"), name=worker.get("name"))
        if found["certified"]:
            held.add(found["work_kind"])
            continue
        mine = [f"{worker['name']}（{found['work_kind']}）：{reason}" for reason in found["reasons"]]
        reasons += mine
        errors[f"workers[{i}]"] = mine
    needed = tuple(kind.get("certificates") or ())
    if needed and not held & set(needed):
        why = f"{kind['title']}须有持{'或'.join(needed)}操作证的作业人员"
        reasons.append(why)
        errors.setdefault("workers", []).append(why)
    return reasons, errors


def _workers(context: Context, workers) -> list[dict]:
    """The workers as a permit keeps them: name, ID number (upper case) or None, the
    special work they do (a name of the special workers' ledger; 焊接 is read as
    焊接与热切割作业) or None."""
    if not workers:
        raise Refused("至少须有一名作业人员", field="workers")
    special = ledger_kinds.kind_of(context, ledgers.SPECIAL_WORKERS)
    choices = ledger_kinds.field_map(special)["work_kind"]["choices"]
    out, errors = [], {}
    for i, worker in enumerate(workers):
        work_kind = (worker.get("work_kind") or "").strip() or None
        if work_kind is not None:
            found = ledger_kinds.choice_of(choices, work_kind)
            if found is None:
                errors[f"workers[{i}].work_kind"] = [f"须为特种作业类别之一：{'、'.join(choices)}"]
            work_kind = found
        out.append({"name": worker["name"].strip(),
                    "id_number": (worker.get("id_number") or "").strip().upper() or None,
                    "work_kind": work_kind})
    if errors:
        raise Refused("作业人员的特种作业类别无效", errors=errors)
    return out


def _kind(context: Context, permit: Permit) -> dict:
    """The permit's kind; a kind whose plugin the tenant no longer enables is told by its
    key (its permit may still be cancelled, accepted and closed, not issued)."""
    return kinds_.kinds(context).get(permit.kind) or {
        "key": permit.kind, "title": permit.kind, "grades": [], "validity_hours": None,
        "gas_analysis": False, "certificates": []}


def approval_steps(context: Context, permit: Permit) -> list[dict]:
    """The steps the tenant's policy asks of ``permit`` (``permit_approvals``, given the
    key time the core judged), checked."""
    answer = context.policy("permit_approvals", permit=permit, key_time=bool(permit.key_time))
    return kinds_.checked_steps(answer)


def _next_number(context: Context, now: dt.datetime) -> str:
    """ZYP-20240508-0001: the tenant's permits of a China day, numbered in turn."""
    db.session.execute(text("SELECT pg_advisory_xact_lock(:space, :tenant)")
                       .execution_options(tenant_scoped_sql=True),
                       {"space": NUMBER_LOCK_SPACE, "tenant": context.tenant_id or 0})
    prefix = f"{NUMBER_PREFIX}-{now.astimezone(CHINA):%Y%m%d}-"
    last = db.session.scalar(select(func.max(Permit.number)).where(Permit.number.like(prefix + "%")))
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def _event(context: Context, permit: Permit, action: str, from_state: str | None, data: dict,
           now: dt.datetime) -> PermitEvent:
    event = PermitEvent(permit_id=permit.id, action=action, from_state=from_state,
                        to_state=permit.state, data=data, actor_user_id=context.user_id, at=now)
    db.session.add(event)
    return event


# --- the request ---------------------------------------------------------------------------


def create_permit(context: Context, *, enterprise_id: int, kind: str, location: str,
                  planned_start: dt.datetime, workers: list[dict], grade: str | None = None,
                  content: str = "", planned_end: dt.datetime | None = None,
                  guardian: str = "") -> Permit:
    """A permit requested for an enterprise the actor sees: its kind (and grade), where and
    what, the workers (each naming the special work they do, if any: certified on the
    planned day, or refused), the planned start (which decides the key time) and end. The
    steps it needs are asked of the tenant's policy now."""
    _may(context, "permit.request", "申请作业票")
    kind_ = kinds_.kind_of(context, kind)
    grade_ = kinds_.grade_of(kind_, grade)
    require_enterprise(context, enterprise_id, "企业")
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None or enterprise.deleted_at is not None:
        raise NotFound("企业不存在", field="enterprise_id")
    if planned_end is not None and planned_end <= planned_start:
        raise Refused("计划结束时间须晚于计划开始时间", field="planned_end")
    people = _workers(context, workers)
    reasons, errors = certificate_reasons(context, kind_, enterprise_id, people,
                                          planned_start.astimezone(CHINA).date())
    if reasons:
        raise Refused("作业人员不符合持证上岗要求：" + "；".join(reasons), errors=errors,
                      slug="permit-refused", members={"reasons": reasons})
    now = context.clock()
    key = key_time_reasons(context, planned_start)
    permit = Permit(
        enterprise_id=enterprise_id, number=_next_number(context, now), kind=kind_["key"],
        grade=grade_["key"] if grade_ else None, location=location.strip(),
        content=(content or "").strip(), state="requested", workers=people,
        guardian=(guardian or "").strip(), second_guardian="", hazards_identified=[], gas_analyses=[],
        approvals=[], acceptances=[], key_time=bool(key), key_time_reason="；".join(key)[:200],
        planned_start=planned_start.astimezone(dt.UTC),
        planned_end=planned_end.astimezone(dt.UTC) if planned_end is not None else None,
        refusal="", requested_by=context.user_id, created_at=now)
    permit.required_steps = approval_steps(context, permit)
    db.session.add(permit)
    db.session.flush()
    _event(context, permit, "request", None,
           {"key_time": permit.key_time, "key_time_reasons": key,
            "steps": [step["key"] for step in permit.required_steps]}, now)
    return permit


# --- the steps -----------------------------------------------------------------------------


def transition(context: Context, permit: Permit, action: str, data: dict | None = None) -> PermitEvent:
    """Take ``action`` (``STEPS``) on the permit and record it in its history. Refusals are
    domain errors: Forbidden (the role), Conflict (the state; a rule, with ``reasons``),
    Refused (the input)."""
    data = dict(data or {})
    step = STEPS.get(action)
    if step is None:
        raise Refused("未知的操作", errors={"action": [f"须为以下之一: {', '.join(STEPS)}"]})
    _may(context, step.permission, step.label)
    if permit.state not in step.sources:
        raise Conflict(f"作业票当前状态为「{STATES.get(permit.state, permit.state)}」，不能{step.label}")
    now = context.clock()
    from_state = permit.state
    details = _APPLY[action](context, permit, _kind(context, permit), data, now)
    note = (data.get("note") or "").strip()
    if note:
        details["note"] = note
    db.session.flush()  # the version check: a concurrent change fails here
    return _event(context, permit, action, from_state, details, now)


def _identify(context, permit, kind, data, now) -> dict:
    items = data.get("hazards") or []
    if not items:
        raise Refused("须列出辨识出的危害及其安全措施", field="hazards")
    unconfirmed = [item["measure"] for item in items if not item.get("confirmed")]
    if unconfirmed:
        _refuse("完成危害辨识", [f"安全措施未确认：{measure}" for measure in unconfirmed])
    permit.hazards_identified = [
        {"hazard": item["hazard"].strip(), "measure": item["measure"].strip(), "confirmed": True,
         "confirmed_by": context.user_id, "confirmed_at": iso_utc(now)} for item in items]
    permit.state = "identified"
    return {"hazards": len(items)}


def _gas_analysis(context, permit, kind, data, now) -> dict:
    _need(data, "analyst", "passed")
    at = (data.get("at") or now).astimezone(dt.UTC)
    if at > now:
        raise Refused("分析时间不能晚于现在", field="at")
    analysis = {"at": iso_utc(at), "analyst": data["analyst"].strip(), "passed": bool(data["passed"]),
                "values": dict(data.get("values") or {}), "point": (data.get("point") or "").strip(),
                "recorded_by": context.user_id}
    permit.gas_analyses = [*(permit.gas_analyses or []), analysis]
    return {"at": analysis["at"], "passed": analysis["passed"], "analyst": analysis["analyst"]}


def _signer_reasons(context, done: list[dict], again: str) -> list[str]:
    if context.user_id is not None and any(item.get("user_id") == context.user_id for item in done):
        return [again]
    return []


def _pick(label: str, steps: list[dict], done: list[dict], wanted: str | None) -> tuple[dict, int]:
    """The step to sign (``wanted``, else the first open one) and how many stay open."""
    signed = {item["step"] for item in done}
    open_steps = [step for step in steps if step["key"] not in signed]
    if wanted:
        chosen = next((step for step in open_steps if step["key"] == wanted), None)
        if chosen is None:
            raise Conflict(f"{label}步骤不存在或已完成：{wanted}")
        return chosen, len(open_steps)
    return open_steps[0], len(open_steps)


def _signed(context, step: dict, now, data) -> dict:
    return {"step": step["key"], "title": step["title"], "user_id": context.user_id, "at": iso_utc(now),
            "note": (data.get("note") or "").strip()}


def _approve(context, permit, kind, data, now) -> dict:
    reasons = []
    if context.user_id is not None and context.user_id == permit.requested_by:
        reasons.append("不能审批本人申请的作业票")
    reasons += _signer_reasons(context, permit.approvals or [],
                               "已审批过本作业票：双审批须由不同的人分别审批")
    reasons += gas_reasons(kind, permit, now, fresh=False)
    if reasons:
        _refuse("审批", reasons)
    step, left = _pick("审批", kinds_.of_stage(permit.required_steps, "approve"), permit.approvals or [],
                       data.get("step"))
    permit.approvals = [*(permit.approvals or []), _signed(context, step, now, data)]
    permit.state = "approved" if left == 1 else "approving"
    return {"step": step["key"]}


def _refuse_permit(context, permit, kind, data, now) -> dict:
    _need(data, "reason")
    permit.refusal = data["reason"].strip()
    permit.state = "refused"
    permit.closed_at = now
    return {"reason": permit.refusal}


def _issue(context, permit, kind, data, now) -> dict:
    reasons = []
    if context.user_id is not None and context.user_id == permit.requested_by:
        reasons.append("签发人不能是作业票的申请人")
    reasons += gas_reasons(kind, permit, now)
    on = max(permit.planned_start.astimezone(CHINA).date(), context.today())
    reasons += certificate_reasons(context, kind, permit.enterprise_id, permit.workers or [], on)[0]
    known = bool(kind.get("grades") or kind.get("validity_hours"))
    if not known:
        reasons.append(f"作业类别 {permit.kind} 已不再提供，无法确定有效期")
    if reasons:
        _refuse("签发", reasons)
    hours = kinds_.validity_hours(kind, permit.grade)
    permit.issued_at = now
    permit.valid_until = now + dt.timedelta(hours=hours)
    permit.state = "issued"
    return {"valid_until": iso_utc(permit.valid_until), "validity_hours": hours}


def _start(context, permit, kind, data, now) -> dict:
    reasons = expired_reasons(permit, now)
    guardian = (data.get("guardian") or permit.guardian or "").strip()
    second = (data.get("second_guardian") or permit.second_guardian or "").strip()
    guardians = kinds_.of_stage(permit.required_steps, "supervise")
    if not guardian:
        reasons.append(f"须指定监护人（{guardians[0]['title']}）" if guardians else "须指定监护人")
    if len(guardians) > 1:
        if not second:
            reasons.append(f"须指定第二监护人（{guardians[1]['title']}）")
        elif second == guardian:
            reasons.append("两名监护人不能是同一人")
    reasons += gas_reasons(kind, permit, now)
    reasons += certificate_reasons(context, kind, permit.enterprise_id, permit.workers or [],
                                   context.today())[0]
    if reasons:
        _refuse("开始作业", reasons)
    permit.guardian, permit.second_guardian = guardian[:60], second[:60]
    permit.started_at = now
    permit.state = "in_progress"
    return {"guardian": permit.guardian, "second_guardian": permit.second_guardian}


def _resume(context, permit, kind, data, now) -> dict:
    reasons = expired_reasons(permit, now) + gas_reasons(kind, permit, now)
    if reasons:
        _refuse("继续作业", reasons)
    return {}


def _accept(context, permit, kind, data, now) -> dict:
    reasons = _signer_reasons(context, permit.acceptances or [],
                              "已验收过本作业票：双验收须由不同的人分别验收")
    if reasons:
        _refuse("验收", reasons)
    step, left = _pick("验收", kinds_.of_stage(permit.required_steps, "accept"), permit.acceptances or [],
                       data.get("step"))
    permit.acceptances = [*(permit.acceptances or []), _signed(context, step, now, data)]
    permit.state = "accepted" if left == 1 else "accepting"
    return {"step": step["key"]}


def _close(context, permit, kind, data, now) -> dict:
    permit.state = "closed"
    permit.closed_at = now
    return {}


def _cancel(context, permit, kind, data, now) -> dict:
    _need(data, "reason")
    permit.state = "cancelled"
    permit.closed_at = now
    return {"reason": data["reason"].strip()}


_APPLY: dict[str, Callable] = {
    "identify": _identify, "gas_analysis": _gas_analysis, "approve": _approve,
    "refuse": _refuse_permit, "issue": _issue, "start": _start, "resume": _resume,
    "accept": _accept, "close": _close, "cancel": _cancel,
}


# --- reading -------------------------------------------------------------------------------


def _visible(context: Context):
    return select(Permit).where(enterprise_clause(context, Permit.enterprise_id))


def get_permit(context: Context, permit_id: int) -> Permit:
    permit = db.session.scalar(_visible(context).where(Permit.id == permit_id))
    if permit is None:
        raise NotFound("作业票不存在")
    return permit


def history(context: Context, permit: Permit) -> list[PermitEvent]:
    return list(db.session.scalars(select(PermitEvent).where(PermitEvent.permit_id == permit.id)
                                   .order_by(PermitEvent.at, PermitEvent.id)))


def list_permits(context: Context, *, enterprise_id: int | None = None, kind: str | None = None,
                 state: str | None = None, open: bool | None = None,
                 planned_from: dt.date | None = None, planned_until: dt.date | None = None,
                 key_time: bool | None = None, q: str | None = None):
    """The statement of the permits the actor sees, matching every filter given (planned
    dates are China dates, both included), the latest planned first."""
    stmt = _visible(context)
    if enterprise_id is not None:
        stmt = stmt.where(Permit.enterprise_id == enterprise_id)
    if kind is not None:
        stmt = stmt.where(Permit.kind == kind)
    if state is not None:
        stmt = stmt.where(Permit.state == state)
    if open is not None:
        stmt = stmt.where(Permit.state.in_(OPEN_STATES) if open else Permit.state.in_(ENDED_STATES))
    if planned_from is not None:
        stmt = stmt.where(Permit.planned_start >= day_start(planned_from))
    if planned_until is not None:
        stmt = stmt.where(Permit.planned_start < day_start(planned_until + dt.timedelta(days=1)))
    if key_time is not None:
        stmt = stmt.where(Permit.key_time.is_(key_time))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Permit.number.ilike(like), Permit.location.ilike(like),
                              Permit.content.ilike(like)))
    return stmt.order_by(Permit.planned_start.desc().nulls_last(), Permit.id.desc())


# A permit's own record (identification, gas analyses, the steps asked and signed): JSON
# lists a list of permits does not show; read with the permit, not with a page of them.
RECORDS = (Permit.hazards_identified, Permit.gas_analyses, Permit.required_steps, Permit.approvals,
           Permit.acceptances)


# Built once (the tenant scope and SQLAlchemy's cache then meet the same statement on
# every page): the tenant's permits not yet ended, the soonest planned first, as rows of
# what a list shows (the permit's columns but its records, its enterprise's name): no
# entity to build per row, no second statement for the names. Core, as the overdue scan
# (``anjian.hazards.scan``): it names the tenant of both tables itself (the parameter
# ``tenant``) and is marked tenant-scoped rather than walked for the scope's criteria on
# every page; Row-Level Security applies as always, and an actor's enterprise visibility
# is added to it.
_PERMIT, _FIRM = Permit.__table__.c, Enterprise.__table__.c
_OPEN = (select(*(column for column in Permit.__table__.c
                  if column.key not in {record.key for record in RECORDS}),
                select(_FIRM.name).where(_FIRM.tenant_id == _PERMIT.tenant_id,
                                         _FIRM.id == _PERMIT.enterprise_id)
                .scalar_subquery().label("enterprise_name"))
         .where(_PERMIT.tenant_id == bindparam("tenant", type_=Integer()),
                one_of(_PERMIT.state, OPEN_STATES))
         .order_by(_PERMIT.planned_start.nulls_last(), _PERMIT.id)
         .execution_options(tenant_scoped_sql=True))


@functools.lru_cache(maxsize=1024)
def _open_of(tenant_id: int):
    """``_OPEN`` of one tenant, kept: every page of its list meets the same statement
    (its cache key computed once, its page statements derived once by ``paginate``)."""
    return _OPEN.params(tenant=tenant_id)


def open_permits(context: Context, *, enterprise_id: int | None = None, kind: str | None = None):
    """The statement of the permits not yet ended (closed, cancelled, refused) the actor
    sees, the soonest planned first: rows of their columns but the records (``RECORDS``),
    with ``enterprise_name``."""
    access, _user_id = actor(context)
    stmt = _open_of(context.tenant_id)
    if not sees_every_enterprise(access):
        stmt = stmt.where(enterprise_clause(context, _PERMIT.enterprise_id))
    if enterprise_id is not None:
        stmt = stmt.where(_PERMIT.enterprise_id == enterprise_id)
    if kind is not None:
        stmt = stmt.where(_PERMIT.kind == kind)
    return stmt


def user_names(ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    return {user_id: display or username for user_id, display, username in db.session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(ids)))}


# Built once, the ids an expanding parameter: the tenant scope walks it once per scope,
# not on every page of a list.
_ENTERPRISE_NAMES = (select(Enterprise.id, Enterprise.name)
                     .where(Enterprise.id.in_(bindparam("ids", expanding=True))))


def enterprise_names(ids: Iterable[int]) -> dict[int, str]:
    """{id: name} of those enterprises (deleted ones too: a permit keeps its enterprise)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    return dict(db.session.execute(_ENTERPRISE_NAMES, {"ids": ids}).all())


# --- the ledger: counts per enterprise, drills, the workbook ----------------------------------


def counts_by_enterprise(context: Context, enterprise_ids: Iterable[int] | None = None, *,
                         since: dt.date | None = None, until: dt.date | None = None) -> dict[int, dict]:
    """{enterprise id: {"total", "open", "closed", "refused", "cancelled", "key_time",
    "by_kind": {kind: n}}} of the permits the actor sees planned from ``since`` to
    ``until`` (China dates, both included), in one grouped statement."""
    stmt = (select(Permit.enterprise_id, Permit.kind, Permit.state, Permit.key_time, func.count())
            .where(enterprise_clause(context, Permit.enterprise_id))
            .group_by(Permit.enterprise_id, Permit.kind, Permit.state, Permit.key_time))
    if enterprise_ids is not None:
        stmt = stmt.where(Permit.enterprise_id.in_(list(enterprise_ids)))
    if since is not None:
        stmt = stmt.where(Permit.planned_start >= day_start(since))
    if until is not None:
        stmt = stmt.where(Permit.planned_start < day_start(until + dt.timedelta(days=1)))
    out: dict[int, dict] = {}
    for enterprise_id, kind, state, key_time, n in db.session.execute(stmt):
        counts = out.setdefault(enterprise_id, {"total": 0, "open": 0, "closed": 0, "refused": 0,
                                                "cancelled": 0, "key_time": 0, "by_kind": {}})
        counts["total"] += n
        if state in OPEN_STATES:
            counts["open"] += n
        elif state in counts:
            counts[state] += n
        if key_time:
            counts["key_time"] += n
        counts["by_kind"][kind] = counts["by_kind"].get(kind, 0) + n
    return out


def dangerous_work_drills(context: Context, year: int,
                          enterprise_ids: Iterable[int] | None = None) -> dict[int, int]:
    """{enterprise id: drills of ``year`` in its drills ledger marked 危险作业应急演练}
    (seed 004: 企业每年至少组织一次危险作业应急演练), of the enterprises the actor sees."""
    stmt = (select(LedgerEntry.enterprise_id, func.count())
            .where(LedgerEntry.kind == DRILLS, LedgerEntry.deleted_at.is_(None),
                   LedgerEntry.data[DANGEROUS_WORK_FIELD].astext == "true",
                   LedgerEntry.dated_on >= dt.date(year, 1, 1), LedgerEntry.dated_on <= dt.date(year, 12, 31),
                   enterprise_clause(context, LedgerEntry.enterprise_id))
            .group_by(LedgerEntry.enterprise_id))
    if enterprise_ids is not None:
        stmt = stmt.where(LedgerEntry.enterprise_id.in_(list(enterprise_ids)))
    return dict(db.session.execute(stmt).all())


def summary(context: Context, *, year: int, enterprise_id: int | None = None) -> list[dict]:
    """The permit ledger per enterprise the actor sees: its permits planned in ``year``
    (by state, kind, at key times) and its dangerous-work drills of the year, for each
    enterprise with either, by name."""
    ids = [enterprise_id] if enterprise_id is not None else None
    counts = counts_by_enterprise(context, ids, since=dt.date(year, 1, 1), until=dt.date(year, 12, 31))
    drills = dangerous_work_drills(context, year, ids)
    names = enterprise_names(set(counts) | set(drills))
    empty = {"total": 0, "open": 0, "closed": 0, "refused": 0, "cancelled": 0, "key_time": 0, "by_kind": {}}
    rows = [{"enterprise_id": e, "enterprise_name": names.get(e), "year": year, **counts.get(e, empty),
             "dangerous_work_drills": drills.get(e, 0)} for e in set(counts) | set(drills)]
    return sorted(rows, key=lambda row: (row["enterprise_name"] or "", row["enterprise_id"]))


EXPORT_HEADERS = (("作业票编号", 20), ("企业名称", 30), ("作业类别", 14), ("级别", 12), ("作业地点", 24),
                  ("作业内容", 30), ("作业人员", 30), ("监护人", 10), ("第二监护人", 10),
                  ("计划开始", 17), ("计划结束", 17), ("重点时段", 24), ("审批人", 18), ("签发时间", 17),
                  ("有效期至", 17), ("开始作业", 17), ("验收人", 18), ("结束时间", 17), ("状态", 8))


def export_workbook(context: Context, stmt, buffer, *, limit: int) -> int:
    """Write the permits of ``stmt`` as one sheet (the permit ledger: 作业票台账), times in
    China's time, ID numbers left out; refused over ``limit``."""
    total = db.session.scalar(stmt.with_only_columns(func.count()).order_by(None))
    if total > limit:
        raise Refused(f"作业票过多（{total} 张，一次至多导出 {limit} 张），请按企业或日期分别导出",
                      field="enterprise_id")
    permits = list(db.session.scalars(stmt))
    names = enterprise_names(p.enterprise_id for p in permits)
    people = user_names(item.get("user_id") for p in permits
                        for item in (*(p.approvals or ()), *(p.acceptances or ())))
    known = kinds_.kinds(context)

    def local(moment):
        return moment.astimezone(CHINA) if moment is not None else None

    def signers(items):
        return "、".join(people.get(item.get("user_id"), "") for item in items or ()) or None

    def workers(items):
        return "、".join(f"{w['name']}（{w['work_kind']}）" if w.get("work_kind") else w["name"]
                        for w in items or ()) or None

    def rows():
        for p in permits:
            kind = known.get(p.kind)
            yield [p.number, names.get(p.enterprise_id), kind["title"] if kind else p.kind,
                   kinds_.grade_title(kind, p.grade), p.location, p.content or None, workers(p.workers),
                   p.guardian or None, p.second_guardian or None, local(p.planned_start),
                   local(p.planned_end), p.key_time_reason if p.key_time else "否", signers(p.approvals),
                   local(p.issued_at), local(p.valid_until), local(p.started_at), signers(p.acceptances),
                   local(p.closed_at), STATES.get(p.state, p.state)]

    return write_table(buffer, "作业票台账", EXPORT_HEADERS, rows())
