"""The hazard closed loop (隐患闭环): reporting, grading, deadlines, the state machine,
notifications of major hazards and referrals to enforcement.

Callable from the API, jobs and the CLI alike. The tenant is the scope's write
tenant; ``access`` is the caller's ``anjian.auth.service.Access`` (None: the system,
e.g. the scheduled overdue scan). Every change of state writes exactly one
``HazardEvent`` and calls the tenant's ``on_hazard_transition`` hook before the
caller commits, so a plugin that raises rolls the change back.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from flask import g, has_app_context
from sqlalchemy import select

from anjian.auth.models import Membership, User
from anjian.extensions import db
from anjian.hazards.models import (
    GRADES,
    SOURCES,
    STATES,
    Hazard,
    HazardEvent,
    Notification,
)
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import TenantScopeError, get_scope

CHINA = ZoneInfo("Asia/Shanghai")
# Who hears of a major hazard at once (重大事故隐患): the tenant's supervisors and admins.
NOTIFIED_ROLES = ("supervisor", "tenant_admin")


class HazardError(Exception):
    """A rule refused the change; ``errors`` maps fields to reasons (problem+json ``errors``)."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


def today() -> dt.date:
    """Today in China: deadlines and "found on" dates are Beijing dates."""
    return dt.datetime.now(CHINA).date()


def current_tenant() -> Tenant:
    """The tenant being written (the scope's write tenant)."""
    scope = get_scope(db.session)
    if scope is None or scope.write_tenant_id is None:
        raise TenantScopeError("hazards are written inside a writable tenant scope")
    tenant = g.get("tenant") if has_app_context() else None
    if tenant is None or tenant.id != scope.write_tenant_id:
        tenant = db.session.get(Tenant, scope.write_tenant_id)
    return tenant


def call_hook(tenant: Tenant, hook: str, **kwargs):
    """Call one of the tenant's policy hooks (its enabled plugins, then the core default)."""
    from anjian.tenancy.service import registry, tenant_info

    plugins = registry()
    return plugins.call(tenant_info(tenant, plugins), hook, **kwargs)


def _user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def _plain(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def attach_evidence(evidence_ids: Iterable[int], *, hazard_id: int, hazard_event_id: int) -> None:
    """Attach uploaded evidence files to a hazard and the event that brought them."""
    ids = list(evidence_ids or ())
    if not ids:
        return
    from anjian.inspections import service as inspections

    try:
        inspections.attach_evidence(ids, hazard_id=hazard_id, hazard_event_id=hazard_event_id)
    except HazardError:
        raise
    except Exception as exc:
        status = getattr(exc, "status", None)
        if not isinstance(status, int) or status >= 500:
            raise
        message = getattr(exc, "message", None) or str(exc)
        raise HazardError(status, message, {"evidence_ids": [message]}) from exc


def _event(hazard: Hazard, action: str, from_state: str | None, actor_id: int | None,
           note: str = "", data: dict | None = None) -> HazardEvent:
    event = HazardEvent(hazard_id=hazard.id, action=action, from_state=from_state,
                        to_state=hazard.state, actor_user_id=actor_id, note=note or "",
                        data={k: _plain(v) for k, v in (data or {}).items()})
    db.session.add(event)
    db.session.flush()
    return event


# --- reporting ----------------------------------------------------------------------------

def _check_enterprise(enterprise_id: int):
    from anjian.enterprises.models import Enterprise

    enterprise = db.session.get(Enterprise, enterprise_id)  # scoped: foreign ids are absent
    if enterprise is None or enterprise.deleted_at is not None:
        raise HazardError(422, "企业不存在", {"enterprise_id": ["企业不存在"]})
    return enterprise


def _check_campaign(campaign_id: int | None) -> None:
    if campaign_id is None:
        return
    from anjian.campaigns.models import Campaign

    if db.session.get(Campaign, campaign_id) is None:
        raise HazardError(422, "专项行动不存在", {"campaign_id": ["专项行动不存在"]})


def report_hazard(*, enterprise_id: int, source: str, title: str, description: str = "",
                  location: str = "", campaign_id: int | None = None,
                  inspection_id: int | None = None, inspection_result_id: int | None = None,
                  checklist_item=None, found_on: dt.date | None = None, immediate: bool = False,
                  evidence_ids: Iterable[int] = (), actor_user_id: int | None) -> Hazard:
    """Record a newly found hazard in the current tenant; the caller commits.

    The tenant's ``grade_hazard`` hook grades it (``checklist_item``: the item whose
    "no" raised it, if any) and ``rectification_deadline`` gives its default period
    in working days after ``found_on`` (None: no deadline yet; a major hazard gets
    its deadline in the five-in-place plan). ``immediate`` (立即整改) applies to
    general hazards only: the deadline is the day it was found. A major hazard
    notifies the tenant's supervisors and admins at once.
    """
    if source not in SOURCES:
        raise HazardError(422, "隐患来源无效", {"source": [f"须为以下之一: {', '.join(SOURCES)}"]})
    title = (title or "").strip()
    if not title:
        raise HazardError(422, "隐患名称不能为空", {"title": ["必填项"]})
    tenant = current_tenant()
    enterprise = _check_enterprise(enterprise_id)
    _check_campaign(campaign_id)
    found_on = found_on or today()
    if found_on > today():
        raise HazardError(422, "发现日期不能晚于今天", {"found_on": ["发现日期不能晚于今天"]})
    hazard = Hazard(enterprise_id=enterprise.id, source=source, title=title,
                    description=description or "", location=location or "",
                    campaign_id=campaign_id, inspection_id=inspection_id,
                    inspection_result_id=inspection_result_id, found_on=found_on,
                    found_by=actor_user_id, state="reported", grade="general")
    grade = call_hook(tenant, "grade_hazard", hazard=hazard, checklist_item=checklist_item)
    if grade not in GRADES:
        raise HazardError(500, f"隐患分级插件返回了无效的等级: {grade!r}")
    hazard.grade = grade
    hazard.immediate = bool(immediate) and grade == "general"

    from anjian.workdays.service import set_deadline

    if hazard.immediate:
        set_deadline(hazard, found_on, 0)
    else:
        days = call_hook(tenant, "rectification_deadline", hazard=hazard, found_on=found_on)
        if days is not None:
            set_deadline(hazard, found_on, int(days))
    db.session.add(hazard)
    db.session.flush()
    ids = list(evidence_ids or ())
    data = {"grade": grade, "source": source, "evidence_ids": ids}
    if immediate and not hazard.immediate:
        data["immediate_refused"] = True  # a major hazard is never rectified "at once"
    if hazard.deadline is not None:
        data["deadline"] = hazard.deadline
    event = _event(hazard, "report", None, actor_user_id, data=data)
    attach_evidence(ids, hazard_id=hazard.id, hazard_event_id=event.id)
    if grade == "major":
        notify_major(tenant, hazard, enterprise)
    call_hook(tenant, "on_hazard_transition", hazard=hazard, from_state=None,
              to_state=hazard.state, actor=_user(actor_user_id))
    return hazard


def notify_major(tenant: Tenant, hazard: Hazard, enterprise) -> list[Notification]:
    """One notification per active supervisor and admin of the tenant."""
    users = db.session.scalars(
        select(Membership.user_id).join(User, User.id == Membership.user_id).where(
            Membership.tenant_id == tenant.id,  # not the actor's memberships elsewhere
            Membership.role.in_(NOTIFIED_ROLES),
            User.is_active.is_(True),
        ).order_by(Membership.user_id)
    ).all()
    where = f"（{hazard.location}）" if hazard.location else ""
    body = (f"{enterprise.name}{where}于 {hazard.found_on.isoformat()} 发现"
            f"{GRADES[hazard.grade]}：{hazard.title}。来源：{SOURCES[hazard.source]}。")
    out = []
    for user_id in dict.fromkeys(users):
        note = Notification(user_id=user_id, kind="major_hazard",
                            title=f"重大事故隐患：{enterprise.name} {hazard.title}"[:300],
                            body=body, hazard_id=hazard.id)
        db.session.add(note)
        out.append(note)
    db.session.flush()
    return out


__all__ = ["STATES", "HazardError", "report_hazard", "today"]
