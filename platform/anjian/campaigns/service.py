"""Campaign rules (专项行动): kinds from the plugins' catalogue, phases, targets, assignments,
tasks and progress. The caller commits."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import and_, bindparam, case, distinct, func, literal, select, true
from sqlalchemy.exc import IntegrityError

from anjian.auth.models import Membership
from anjian.campaigns.models import (
    CAMPAIGN_STATUSES,
    Campaign,
    CampaignPhase,
    CampaignTarget,
    CampaignTask,
)
from anjian.clock import local_today as today  # today in China: Beijing dates
from anjian.clock import utcnow
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.queries import filtered_statement
from anjian.enterprises.visibility import actor, enterprise_clause, sees_every_enterprise
from anjian.errors import Conflict, Defect, Refused
from anjian.extensions import db
from anjian.hazards.models import GRADES, STATES, Hazard
from anjian.hazards.rules import overdue_clause, task_overdue_clause
from anjian.inspections.models import Inspection
from anjian.permissions import allows
from anjian.tenancy.scope import TenantScopeError, get_scope
from anjian.workdays.service import set_deadline, set_deadline_date

log = logging.getLogger(__name__)

# draft → active → closed, nothing else.
TRANSITIONS = {("draft", "active"), ("active", "closed")}
# Who may be assigned to a targeted enterprise: anjian.permissions' campaign.be_assigned.
PHASE_TASK_PREFIX = "phase:"
MILESTONE_PREFIX = "milestone-"


def _date(value, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise Defect(f"插件给出的日期无效: {value!r}", field=field) from exc


# --- kinds ------------------------------------------------------------------------------------

def kinds_for(context: Context) -> list[dict]:
    """Campaign kinds of the core and the context's tenant's enabled plugins."""
    return context.catalogue("register_campaign_kinds")


def find_kind(context: Context, key: str) -> dict | None:
    return next((k for k in kinds_for(context) if k.get("key") == key), None)


def _kind_phases(kind: dict) -> list[dict]:
    return [{"key": p["key"], "title": p.get("title") or p["key"],
             "starts_on": _date(p.get("start"), "phases"), "ends_on": _date(p.get("end"), "phases"),
             "rule": p.get("rule") or ""} for p in kind.get("phases") or ()]


def _kind_milestones(kind: dict) -> list[dict]:
    out = []
    for n, m in enumerate(kind.get("milestones") or (), start=1):
        out.append({"key": m.get("key") or f"{MILESTONE_PREFIX}{n}",
                    "title": m.get("title") or m.get("rule") or f"节点{n}",
                    "due": _date(m.get("due") or m.get("date"), "milestones")})
    return out


# --- create and update ------------------------------------------------------------------------

def _check_phases(phases: list[dict]) -> None:
    seen = set()
    for i, phase in enumerate(phases):
        if phase["key"] in seen:
            raise Refused(f"阶段代码重复: {phase['key']}", field=f"phases[{i}].key")
        seen.add(phase["key"])
        if not phase.get("title"):
            raise Refused("阶段须有名称", field=f"phases[{i}].title")
        start, end = phase.get("starts_on"), phase.get("ends_on")
        if start and end and start > end:
            raise Refused("阶段开始日期晚于结束日期", field=f"phases[{i}].ends_on")


def _window(campaign: Campaign, phases: list[dict]) -> None:
    starts = [p["starts_on"] for p in phases if p.get("starts_on")]
    ends = [p["ends_on"] for p in phases if p.get("ends_on")]
    if campaign.starts_on is None and starts:
        campaign.starts_on = min(starts)
    if campaign.ends_on is None and ends:
        campaign.ends_on = max(ends)
    if campaign.starts_on and campaign.ends_on and campaign.starts_on > campaign.ends_on:
        raise Refused("开始日期晚于结束日期", field="ends_on")


def _milestones_json(milestones: list[dict]) -> list[dict]:
    return [{"key": m["key"], "title": m["title"],
             "due": m["due"].isoformat() if m.get("due") else None} for m in milestones]


def create(context: Context, data: dict) -> Campaign:
    """A campaign of a catalogue kind (its phases and milestones copied) or a custom one."""
    actor_id = context.user_id
    data = dict(data)
    given_phases = [dict(p) for p in data.pop("phases", None) or ()]
    given_milestones = data.pop("milestones", None) or []
    settings: dict = {}
    kind_key = data.pop("kind", None)
    plugin = None
    if kind_key:
        kind = find_kind(context, kind_key)
        if kind is None:
            raise Refused(f"本单位没有此专项行动类型: {kind_key}", field="kind")
        plugin = kind["plugin"]
        phases = _kind_phases(kind)
        by_key = {p["key"]: p for p in phases}
        for i, override in enumerate(given_phases):  # the tenant fixes dates the kind leaves open
            if override["key"] not in by_key:
                raise Refused(f"该类型没有此阶段: {override['key']}",
                              field=f"phases[{i}].key")
            by_key[override["key"]].update(override)
        milestones = _kind_milestones(kind)
        data.setdefault("title", kind.get("title") or kind_key)
        settings = {"focus": list(kind.get("focus") or ()), "year": kind.get("year")}
        relative = {p["key"]: p["relative"] for p in kind.get("phases") or () if p.get("relative")}
        if relative:
            settings["relative_phases"] = relative
    else:
        if not (data.get("title") or "").strip():
            raise Refused("自定义专项行动须填写标题", field="title")
        phases = given_phases
        milestones = []
    for n, m in enumerate(given_milestones, start=len(milestones) + 1):
        milestones.append({"key": m.get("key") or f"{MILESTONE_PREFIX}{n}", "title": m["title"],
                           "due": m["due"]})
    if len({m["key"] for m in milestones}) != len(milestones):
        raise Refused("节点代码重复", field="milestones")
    _check_phases(phases)
    settings["milestones"] = _milestones_json(milestones)
    campaign = Campaign(kind=kind_key or None, plugin=plugin, title=data["title"].strip(),
                        description=data.get("description") or "", status="draft",
                        starts_on=data.get("starts_on"), ends_on=data.get("ends_on"),
                        settings=settings, created_by=actor_id)
    _window(campaign, phases)
    db.session.add(campaign)
    db.session.flush()
    for position, phase in enumerate(phases):
        db.session.add(CampaignPhase(
            campaign_id=campaign.id, key=phase["key"], title=phase["title"], position=position,
            starts_on=phase.get("starts_on"), ends_on=phase.get("ends_on"),
            rule=phase.get("rule") or ""))
    db.session.flush()
    lay_out_tasks(context, campaign)
    return campaign


def phases_of(campaign_id: int) -> list[CampaignPhase]:
    return list(db.session.scalars(select(CampaignPhase)
                                   .where(CampaignPhase.campaign_id == campaign_id)
                                   .order_by(CampaignPhase.position, CampaignPhase.id)))


def _writable(campaign: Campaign) -> None:
    if campaign.status == "closed":
        raise Conflict("专项行动已结束，不能修改")


def update(context: Context, campaign: Campaign, data: dict) -> Campaign:
    """Change title, description, dates; phases given are matched by key (new keys added)."""
    _writable(campaign)
    data = dict(data)
    given_phases = data.pop("phases", None)
    for key in ("title", "description", "starts_on", "ends_on"):
        if key in data:
            value = data[key]
            if key == "title":
                value = (value or "").strip()
                if not value:
                    raise Refused("标题不能为空", field="title")
            setattr(campaign, key, value if key != "description" else value or "")
    if campaign.starts_on and campaign.ends_on and campaign.starts_on > campaign.ends_on:
        raise Refused("开始日期晚于结束日期", field="ends_on")
    if given_phases is not None:
        existing = {p.key: p for p in phases_of(campaign.id)}
        merged = []
        for phase in existing.values():
            merged.append({"key": phase.key, "title": phase.title, "starts_on": phase.starts_on,
                           "ends_on": phase.ends_on, "rule": phase.rule})
        index = {p["key"]: p for p in merged}
        for given in given_phases:
            if given["key"] in index:
                index[given["key"]].update(given)
            else:
                if campaign.kind:
                    raise Refused(f"该类型没有此阶段: {given['key']}", field="phases")
                merged.append(dict(given))
                index[given["key"]] = merged[-1]
        _check_phases(merged)
        position = len(existing)
        for phase in merged:
            row = existing.get(phase["key"])
            if row is None:
                row = CampaignPhase(campaign_id=campaign.id, key=phase["key"], position=position)
                position += 1
                db.session.add(row)
            row.title, row.rule = phase["title"], phase.get("rule") or ""
            row.starts_on, row.ends_on = phase.get("starts_on"), phase.get("ends_on")
    db.session.flush()
    lay_out_tasks(context, campaign)
    return campaign


def set_status(context: Context, campaign: Campaign, status: str) -> Campaign:
    if status == campaign.status:
        return campaign
    if (campaign.status, status) not in TRANSITIONS:
        raise Conflict(f"不能从“{CAMPAIGN_STATUSES[campaign.status]}”变为"
                       f"“{CAMPAIGN_STATUSES[status]}”", field="status")
    campaign.status = status
    db.session.flush()
    if status == "active":
        lay_out_tasks(context, campaign)
    return campaign


# --- tasks ------------------------------------------------------------------------------------

def lay_out_tasks(context: Context, campaign: Campaign) -> list[CampaignTask]:
    """The campaign-wide tasks (idempotent): one per dated phase (its end, or the tenant's
    ``task_deadline`` in working days after its start), the kind's milestones, and the
    ``campaign_milestones`` hook's. Done tasks are left alone."""
    wanted: dict[str, dict] = {}
    for phase in phases_of(campaign.id):
        entry = {"title": phase.title, "phase_id": phase.id, "due": phase.ends_on,
                 "workdays": None, "start": phase.starts_on, "remind_before": 0}
        if phase.ends_on is None and phase.starts_on is not None:
            days = context.policy("task_deadline", task_kind=phase.key, start=phase.starts_on)
            if isinstance(days, int) and not isinstance(days, bool) and days >= 0:
                entry["workdays"] = days
        if entry["due"] is not None or entry["workdays"] is not None:
            wanted[PHASE_TASK_PREFIX + phase.key] = entry
    for m in (campaign.settings or {}).get("milestones") or ():
        wanted[m["key"]] = {"title": m["title"], "phase_id": None, "workdays": None,
                            "due": _date(m.get("due"), "milestones"), "remind_before": 0}
    for result in context.policy("campaign_milestones", campaign=campaign) or ():
        for m in result or ():
            if not m.get("key") or not m.get("title"):
                raise Defect("插件给出的节点缺少 key 或 title", field="milestones")
            wanted[str(m["key"])[:120]] = {
                "title": str(m["title"])[:300], "phase_id": None, "workdays": None,
                "due": _date(m.get("due"), "milestones"),
                "remind_before": int(m.get("remind_before") or 0)}
    existing = {t.key: t for t in db.session.scalars(
        select(CampaignTask).where(CampaignTask.campaign_id == campaign.id,
                                   CampaignTask.enterprise_id.is_(None)))}
    out = []
    for key, entry in wanted.items():
        task = existing.get(key)
        if task is None:
            task = CampaignTask(campaign_id=campaign.id, key=key, status="open")
            db.session.add(task)
        elif task.status == "done":
            out.append(task)
            continue
        task.title, task.phase_id = entry["title"], entry["phase_id"]
        task.remind_before = entry["remind_before"]
        if entry["workdays"] is not None:
            set_deadline(task, entry["start"], entry["workdays"])
        else:
            set_deadline_date(task, entry["due"])
        if task.status == "overdue" and task.deadline and task.deadline >= today():
            task.status, task.overdue_at = "open", None  # a later deadline reopens it
        out.append(task)
    db.session.flush()
    return out


def mark_task_done(context: Context, task: CampaignTask) -> CampaignTask:
    """The task done by the context's actor (once: a done task stays as it was)."""
    if task.status != "done":
        task.status, task.done_at, task.done_by = "done", utcnow(), context.user_id
        db.session.flush()
    return task


# --- targets ----------------------------------------------------------------------------------

def _targeted(campaign_id: int) -> set[int]:
    return set(db.session.scalars(select(CampaignTarget.enterprise_id)
                                  .where(CampaignTarget.campaign_id == campaign_id)))


def _candidates(context: Context, query: dict | None):
    """Live enterprises of the tenant (narrowed by a registry filter, if given)."""
    stmt = filtered_statement(dict(query or {}))
    return stmt.where(enterprise_clause(context, Enterprise.id))


def add_targets(context: Context, campaign: Campaign, data: dict) -> dict:
    """Target enterprises by list, by registry filter, or by the tenant's plugin rule;
    idempotent: an enterprise already targeted stays as it was."""
    _writable(campaign)
    chosen: list[tuple[int, str]] = []
    if data.get("rule") is not None:
        method = "plugin"
        enterprises = list(db.session.scalars(_candidates(context, data.get("filter"))))
        picked = context.policy("select_campaign_targets", campaign=campaign,
                                enterprises=enterprises)
        if picked is None:
            raise Refused("本单位启用的插件没有选取目标企业的规则", field="rule")
        allowed = {e.id for e in enterprises}
        for enterprise, reason in picked:
            if enterprise.id not in allowed:  # a plugin chooses among the candidates only
                log.warning("plugin chose enterprise %s outside the candidates", enterprise.id)
                continue
            chosen.append((enterprise.id, str(reason or "")[:2000]))
    elif data.get("filter") is not None:
        method = "filter"
        chosen = [(e.id, "") for e in db.session.scalars(_candidates(context, data["filter"]))]
    else:
        method = "list"
        ids = list(dict.fromkeys(data.get("enterprise_ids") or ()))
        found = set(db.session.scalars(
            select(Enterprise.id).where(Enterprise.id.in_(ids), Enterprise.deleted_at.is_(None),
                                        enterprise_clause(context, Enterprise.id))))
        missing = [i for i in ids if i not in found]
        if missing:  # another tenant's id is as absent as a missing one
            raise Refused("企业不存在: " + "、".join(map(str, missing)),
                          field="enterprise_ids")
        chosen = [(i, "") for i in ids]
    already = _targeted(campaign.id)
    added = 0
    for enterprise_id, reason in dict(chosen).items():
        if enterprise_id in already:
            continue
        db.session.add(CampaignTarget(campaign_id=campaign.id, enterprise_id=enterprise_id,
                                      method=method, reason=reason))
        added += 1
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same enterprise added by another request meanwhile
        raise Conflict("目标企业正在被他人同时添加，请重试") from exc
    return {"method": method, "added": added, "already": len(dict(chosen)) - added,
            "total": len(already) + added}


def remove_target(context: Context, campaign: Campaign, target: CampaignTarget) -> None:
    _writable(campaign)
    db.session.delete(target)
    db.session.flush()


def assign(context: Context, campaign: Campaign, target: CampaignTarget,
           user_id: int | None) -> CampaignTarget:
    """Assign a targeted enterprise to a supervisor or a service organisation's user
    (None: unassign)."""
    tenant = context.tenant
    _writable(campaign)
    if user_id is not None:
        # Memberships are also visible to their own user in other tenants: name this one.
        role = db.session.scalar(select(Membership.role).where(
            Membership.tenant_id == tenant.id, Membership.user_id == user_id,
            Membership.disabled_at.is_(None)))
        if not allows(role, "campaign.be_assigned"):
            raise Refused("只能指派给本单位的监管人员或第三方服务机构人员", field="user_id")
    target.assignee_user_id = user_id
    db.session.flush()
    return target


# --- progress ---------------------------------------------------------------------------------

_progress_statements: dict[str, object] = {}


def _progress_statement(visible):
    """The progress statement; ``visible`` limits each enterprise id column (the actor's
    enterprise clause). Parameters: ``tenants`` (the scope's, by hand: the statement is
    Core SQL marked ``tenant_scoped_sql``, and RLS checks it again on PostgreSQL),
    ``campaign_id`` and ``on``."""
    hazard, target = Hazard.__table__, CampaignTarget.__table__
    inspection, task = Inspection.__table__, CampaignTask.__table__
    campaign_id, on = bindparam("campaign_id"), bindparam("on")

    def of_campaign(table):
        return and_(table.c.tenant_id.in_(bindparam("tenants", expanding=True)),
                    table.c.campaign_id == campaign_id)

    targets = (select(func.count())
               .where(of_campaign(target), visible(target.c.enterprise_id)).scalar_subquery())
    inspected = (select(func.count(distinct(inspection.c.enterprise_id)))
                 .where(of_campaign(inspection), inspection.c.status == "submitted",
                        inspection.c.enterprise_id.in_(
                            select(target.c.enterprise_id).where(of_campaign(target))),
                        visible(inspection.c.enterprise_id))
                 .scalar_subquery())
    late_tasks = (select(func.count())
                  .where(of_campaign(task),
                         task_overdue_clause(task.c, on),
                         visible(task.c.enterprise_id))
                  .scalar_subquery())
    one = select(literal(1).label("one")).subquery("one")
    return (
        select(hazard.c.grade, hazard.c.state, func.count(hazard.c.id),
               func.coalesce(func.sum(case((overdue_clause(hazard.c, on), 1), else_=0)), 0),
               targets.label("targets"), inspected.label("inspected"),
               late_tasks.label("late_tasks"))
        .select_from(one.outerjoin(hazard, and_(of_campaign(hazard),
                                                visible(hazard.c.enterprise_id))))
        .group_by(hazard.c.grade, hazard.c.state)
        .execution_options(tenant_scoped_sql=True))


def campaign_progress(context: Context, campaign_id: int, on: dt.date | None = None) -> dict:
    """Targets, inspected targets, hazards by grade and state, overdue hazards and tasks.

    One aggregate statement whatever the number of rows: the campaign's hazards grouped
    by grade and state (the ``(tenant_id, campaign_id, grade, state)`` index),
    outer-joined to one row so that the three counts beside them (targets, inspected
    targets, late tasks) come back even without hazards. Overdue: marked overdue by the
    scan, or still open past the deadline (``on``, default today in China).
    """
    scope = get_scope(db.session)
    if scope is None or not scope.tenant_ids:
        raise TenantScopeError("campaign progress without a tenant context")
    if restricted_actor(context):
        statement = _progress_statement(lambda column: enterprise_clause(context, column))
    else:  # built once: the ORM scope would otherwise rebuild its criteria on every call
        statement = _progress_statements.get("all")
        if statement is None:
            statement = _progress_statements.setdefault("all", _progress_statement(
                lambda column: true()))
    rows = db.session.execute(statement, {"tenants": sorted(scope.tenant_ids),
                                          "campaign_id": campaign_id,
                                          "on": on or today()}).all()
    by_grade_state = {grade: dict.fromkeys(STATES, 0) for grade in GRADES}
    total = hazards_overdue = 0
    for grade, state, count, overdue, *_ in rows:  # at most grades x states rows
        if grade is None:
            continue  # the one row of a campaign without hazards
        by_grade_state.setdefault(grade, dict.fromkeys(STATES, 0))[state] = count
        total += count
        hazards_overdue += int(overdue or 0)
    _, _, _, _, targets_count, inspected_count, tasks_overdue = rows[0]
    return {"targets": targets_count, "inspected": inspected_count,
            "hazards": {"by_grade_state": by_grade_state, "total": total},
            "overdue": {"hazards": hazards_overdue, "tasks": tasks_overdue}}


def restricted_actor(context: Context) -> bool:
    """Whether the context's actor sees only some enterprises (an enterprise or service org
    user)."""
    access, _user_id = actor(context)
    return not sees_every_enterprise(access)
