"""Dual prevention's way back: what the hazards and the inspections tell the risk register.

The hazards service calls ``point_of_item`` when a "no" on a checklist item raises a
hazard (the hazard is found on the risk point whose control the item checks) and
``hazard_changed`` after every report and transition; the inspections service calls
``inspected`` when an inspection is submitted. This module sits under both (it reads
and writes the models only), so neither imports the risk register's service.

A risk point asks for a re-grading (``RiskPoint.regrade_reason``, cleared by the next
grading) when a hazard found on it is verified (closed: the situation changed), or when
``REPEAT_HAZARDS`` hazards were found on it within ``REPEAT_WINDOW_DAYS`` days (its
controls do not hold). The enterprise's own checklist (排查清单) is the template
``checklist_key(enterprise_id)``; submitting an inspection of it marks the points its
answered items cover (yes or no; "not applicable" covers nothing) inspected the day it
was carried out.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from anjian.context import Context
from anjian.extensions import db
from anjian.hazards.models import Hazard
from anjian.inspections.models import ChecklistItem, ChecklistTemplate, Inspection, InspectionResult
from anjian.risks.models import RiskControl, RiskPoint

# Two hazards found on one risk point within 90 days (the day of the latest included) ask
# for its re-grading.
REPEAT_HAZARDS = 2
REPEAT_WINDOW_DAYS = 90
REPEAT_PREFIX = f"{REPEAT_WINDOW_DAYS} 日内发现隐患"
REASON_LIMIT = 2000
_SEPARATOR = "；"


CHECKLIST_PREFIX = "risk-"


def checklist_key(enterprise_id: int) -> str:
    """The key of an enterprise's own checklist, made of its risk points' controls."""
    return f"{CHECKLIST_PREFIX}{enterprise_id}"


def checklist_enterprise(key: str) -> int | None:
    """The enterprise whose own checklist ``key`` is (``checklist_key``); None: a checklist
    of the tenant or of a plugin, for everyone."""
    number = key.removeprefix(CHECKLIST_PREFIX)
    return int(number) if number != key and number.isdigit() and len(number) < 10 else None


def point_of_item(checklist_item) -> int | None:
    """The risk point whose control ``checklist_item`` checks (None: not a control's item)."""
    control_id = getattr(checklist_item, "risk_control_id", None)
    if control_id is None:
        return None
    return db.session.scalar(select(RiskControl.risk_point_id).where(RiskControl.id == control_id))


def ask_regrade(point: RiskPoint, reason: str, *, replacing: str | None = None) -> None:
    """Add ``reason`` to the reasons the point asks for a re-grading (once; a reason that
    starts with ``replacing`` gives way to it)."""
    reasons = [r for r in (point.regrade_reason or "").split(_SEPARATOR) if r]
    if replacing is not None:
        reasons = [r for r in reasons if not r.startswith(replacing)]
    if reason not in reasons:
        reasons.append(reason)
    text = _SEPARATOR.join(reasons)
    if text != point.regrade_reason:
        point.regrade_reason = text[:REASON_LIMIT]


def hazard_changed(context: Context, hazard: Hazard) -> None:
    """After a hazard was reported or moved: a hazard verified on a risk point, or the
    ``REPEAT_HAZARDS``-th within ``REPEAT_WINDOW_DAYS``, asks for the point's re-grading."""
    if hazard.risk_point_id is None:
        return
    point = db.session.get(RiskPoint, hazard.risk_point_id)
    if point is None or point.status != "active":
        return
    if hazard.state == "verified":
        ask_regrade(point, f"隐患“{hazard.title}”（编号 {hazard.id}）已验收销号")
    elif hazard.state == "reported":
        since = hazard.found_on - dt.timedelta(days=REPEAT_WINDOW_DAYS - 1)
        found = db.session.scalar(select(func.count()).select_from(Hazard).where(
            Hazard.risk_point_id == point.id, Hazard.found_on >= since,
            Hazard.found_on <= hazard.found_on))
        if found >= REPEAT_HAZARDS:
            ask_regrade(point, f"{REPEAT_PREFIX} {found} 项", replacing=REPEAT_PREFIX)


def inspected(context: Context, inspection: Inspection) -> int:
    """After an inspection was submitted: if it used its enterprise's own checklist, the
    active points its answered items cover were inspected the day it was carried out
    (today when it names none; a later inspection already recorded stays); how many."""
    template = db.session.get(ChecklistTemplate, inspection.template_id)
    if template is None or template.key != checklist_key(inspection.enterprise_id):
        return 0
    covered = (select(RiskControl.risk_point_id)
               .join(ChecklistItem, ChecklistItem.risk_control_id == RiskControl.id)
               .join(InspectionResult, InspectionResult.item_id == ChecklistItem.id)
               .where(InspectionResult.inspection_id == inspection.id,
                      InspectionResult.answer != "na"))
    day = getattr(inspection, "performed_on", None) or context.today()
    points = list(db.session.scalars(select(RiskPoint).where(
        RiskPoint.id.in_(covered), RiskPoint.enterprise_id == inspection.enterprise_id,
        RiskPoint.status == "active")))
    for point in points:
        if point.inspected_on is None or point.inspected_on < day:
            point.inspected_on = day
    return len(points)
