"""The overdue scan (逾期扫描): open hazards and tasks past their deadline become overdue.

Set-based: a fixed number of SQL statements per tenant whatever the number of rows
(one statement moves the hazards and writes their history). Runs in the current tenant
scope (``db.session``); the caller commits, so a plugin that raises in
``on_overdue`` rolls the whole scan back and the next run finds the same rows.

Idempotent: a hazard moved to ``overdue`` is no longer ``reported`` or
``rectifying``, a task no longer ``open``; a second run changes nothing and writes
no event and no audit row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from anjian import notifications
from anjian.audit.service import record_bulk_write
from anjian.campaigns.models import CampaignTask
from anjian.clock import utcnow
from anjian.context import Context
from anjian.db import UTCDateTime
from anjian.extensions import db
from anjian.hazards.models import Hazard, HazardEvent
from anjian.hazards.rules import hazard_due, task_due
from anjian.plugins.views import view_of
from anjian.tenancy.scope import TenantScopeError, get_scope

SCOPED = {"tenant_scoped_sql": True}
NOTE = "自动逾期扫描"


@dataclass(frozen=True, slots=True)
class OverdueItem:
    """What ``on_overdue`` receives: a hazard or a campaign task found overdue (read-only)."""

    kind: str  # "hazard" or "task"
    id: int
    enterprise_id: int | None
    campaign_id: int | None
    deadline: dt.date
    grade: str | None  # hazards only: "general" or "major"
    from_state: str | None = None  # hazards only: "reported" or "rectifying"


_HAZARD, _EVENT, _TASK = Hazard.__table__, HazardEvent.__table__, CampaignTask.__table__
_TENANT = bindparam("tenant", type_=Integer())
_TODAY = bindparam("today", type_=Date())
_NOW = bindparam("now", type_=UTCDateTime())

# Lock the due rows (a concurrent transition waits or wins; FOR UPDATE re-reads
# the row, so the recorded from_state is the one actually left), move them, and write one
# event per moved row, in one statement.
_DUE = (select(_HAZARD.c.id, _HAZARD.c.state)
        .where(_HAZARD.c.tenant_id == _TENANT, hazard_due(_HAZARD.c, _TODAY))
        .with_for_update().cte("due"))
_MOVED = (update(_HAZARD)
          .where(_HAZARD.c.tenant_id == _TENANT, _HAZARD.c.id == _DUE.c.id)
          .values(state="overdue", overdue_at=_NOW, updated_at=_NOW,
                  version=_HAZARD.c.version + 1)
          .returning(_HAZARD.c.id, _DUE.c.state.label("from_state"), _HAZARD.c.enterprise_id,
                     _HAZARD.c.campaign_id, _HAZARD.c.deadline, _HAZARD.c.grade)
          .cte("moved"))
_EVENTS = (insert(_EVENT).from_select(
    ["tenant_id", "hazard_id", "action", "from_state", "to_state", "actor_user_id", "note",
     "data", "at"],
    select(_TENANT, _MOVED.c.id, literal("overdue"), _MOVED.c.from_state, literal("overdue"),
           null(), bindparam("note", type_=String()),
           func.jsonb_build_object(literal("deadline"),
                                   func.to_char(_MOVED.c.deadline, literal("YYYY-MM-DD")),
                                   literal("evidence_ids"), cast(literal("[]"), JSONB)),
           _NOW))
    .cte("events"))
_HAZARDS = select(_MOVED.c.id, _MOVED.c.enterprise_id, _MOVED.c.campaign_id,
                  _MOVED.c.deadline, _MOVED.c.grade, _MOVED.c.from_state).add_cte(_EVENTS)

_TASKS = (update(_TASK)
          .where(_TASK.c.tenant_id == _TENANT, task_due(_TASK.c, _TODAY))
          .values(status="overdue", overdue_at=_NOW)
          .returning(_TASK.c.id, _TASK.c.enterprise_id, _TASK.c.campaign_id, _TASK.c.deadline))


def _move_hazards(session, params: dict) -> list[OverdueItem]:
    rows = session.execute(_HAZARDS, params, execution_options=SCOPED).all()
    return [OverdueItem("hazard", r.id, r.enterprise_id, r.campaign_id, r.deadline, r.grade,
                        r.from_state) for r in rows]


def scan_overdue(context: Context, today: dt.date) -> dict:
    """Mark the context's tenant's open hazards and tasks with a deadline before ``today``
    overdue.

    Runs in the session's current scope, which must write the context's tenant. Writes one
    HazardEvent per hazard (action ``overdue``, no actor), one summary audit row
    (``hazard.overdue_scan``) when anything changed, then calls the tenant's
    ``on_hazard_transition`` (per hazard) and ``on_overdue`` (per hazard and task)
    hooks. Does not commit. Returns {"hazards": n, "tasks": m}.
    """
    tenant_id = context.tenant_id
    scope = get_scope(db.session)
    if scope is None or scope.write_tenant_id != tenant_id:
        raise TenantScopeError(f"the overdue scan of tenant {tenant_id} needs its writable scope")
    session = db.session
    now = utcnow()
    params = {"tenant": tenant_id, "today": today, "now": now, "note": NOTE}
    hazards = _move_hazards(session, params)
    tasks = [OverdueItem("task", r.id, r.enterprise_id, r.campaign_id, r.deadline, None)
             for r in session.execute(_TASKS, params, execution_options=SCOPED)]
    if hazards or tasks:
        _audit(tenant_id, scope.user_id, today, hazards, tasks, now)
        _call_hooks(context, hazards, tasks, now)
        _announce(context, today, hazards, tasks)
    return {"hazards": len(hazards), "tasks": len(tasks)}


def _audit(tenant_id: int, actor: int | None, today: dt.date, hazards: list[OverdueItem],
           tasks: list[OverdueItem], now: dt.datetime) -> None:
    """One summary row for the scan (a bulk Core update is not seen by the flush audit)."""
    record_bulk_write(
        db.session, tenant_id=tenant_id, actor_user_id=actor, action="hazard.overdue_scan",
        entity_type="overdue_scan", entity_id=today.isoformat(), at=now,
        after={"today": today.isoformat(), "hazards": sorted(i.id for i in hazards),
               "tasks": sorted(i.id for i in tasks)},
        detail=f"逾期扫描：隐患 {len(hazards)} 条、任务 {len(tasks)} 条标记为逾期",
    )


def _announce(context: Context, today: dt.date, hazards: list[OverdueItem],
              tasks: list[OverdueItem]) -> None:
    """One event for the scan (the tenant's channel rules; its supervising members'
    preferences): how many became overdue, major hazards counted apart."""
    major = sum(1 for item in hazards if item.grade == "major")
    body = (f"{today.isoformat()} 逾期扫描：隐患 {len(hazards)} 条（其中重大事故隐患 {major} 条）、"
            f"任务 {len(tasks)} 条逾期未完成，请督促整改。")
    notifications.announce(context, notifications.Event(
        kind="overdue", title=f"逾期提醒：隐患 {len(hazards)} 条、任务 {len(tasks)} 条", body=body))


def _call_hooks(context: Context, hazards: list[OverdueItem], tasks: list[OverdueItem],
                now: dt.datetime) -> None:
    """The tenant's hooks, only when one of its plugins listens (no per-row SQL here)."""
    listening = context.registry.catalogue.hook
    if not (listening.on_overdue.get_hookimpls()
            or (hazards and listening.on_hazard_transition.get_hookimpls())):
        return  # no loaded plugin listens: no tenant to load, no caller to build
    info = context.tenant
    hook = context.caller.hook
    if hazards and hook.on_hazard_transition.get_hookimpls():
        # The hazards service's contract: every change of state reaches on_hazard_transition
        # with the hazard itself. One query loads exactly the rows this scan moved.
        from_states = {item.id: item.from_state for item in hazards}
        moved = db.session.scalars(select(Hazard).where(Hazard.state == "overdue",
                                                        Hazard.overdue_at == now))
        for hazard in moved:
            hook.on_hazard_transition(tenant=info, hazard=view_of(hazard),
                                      from_state=from_states.get(hazard.id),
                                      to_state="overdue", actor=None)
    if hook.on_overdue.get_hookimpls():
        for item in (*hazards, *tasks):
            hook.on_overdue(tenant=info, item=item)


__all__ = ["OverdueItem", "scan_overdue"]
