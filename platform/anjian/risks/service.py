"""The risk register (风险分级管控) of dual prevention: an enterprise's risk points, their
hazard factors, gradings and controls; its own checklist made of those controls; the
inspections each managing level owes; the four-colour picture; the register ("一表") and
the export for the city's risk-reporting system.

Whose points an actor reaches is the enterprise visibility rule
(``anjian.enterprises.visibility``): an enterprise user its own, a service organisation
the enterprises it serves, the bureau all; a hidden point or enterprise is "not found".
The caller commits.

**Gradings.** Every grading, the first and each re-grading, is a ``RiskGrading`` row with
its reason (``anjian.risks.grading`` computes the score and the level). The level may be
set above what the score gives (直接判定), never below; a point made from a catalogue
entry is graded at least the entry's default level unless its user names the level.

**The checklist.** The controls of an enterprise's active points are the items of its own
checklist, the tenant template ``feedback.checklist_key(enterprise_id)`` (``risk-<id>``):
item text the measure, category the point's name, ``risk_control_id`` the control. It is
made again whenever the points or their controls change (a version some inspection used
stays as it was: a new version becomes current), so an inspection of the enterprise with
that template works like any other; a "no" raises a hazard on the point
(``anjian.risks.feedback``).

**Inspections by managing level** (``INSPECTION_DAYS``): 公司 monthly (30 days), 车间 weekly
(7), 班组 daily (1), 岗位 every shift, counted as daily (1). A point is due that many days
after its last inspection (``inspected_on``; never inspected: the day it was registered)
and overdue the day after it is due.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable

from sqlalchemy import Date, and_, bindparam, case, cast, func, or_, select, update

from anjian.clock import CHINA, utcnow
from anjian.context import Context
from anjian.db import subtree_ids
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import actor, enterprise_clause, require_enterprise, sees_every_enterprise
from anjian.errors import Conflict, NotFound, Refused
from anjian.extensions import db
from anjian.hazards.models import STATES as HAZARD_STATES
from anjian.hazards.models import Hazard
from anjian.inspections.models import ChecklistItem, ChecklistTemplate
from anjian.inspections.service import items_of, template_in_use, template_rows
from anjian.risks import catalogue as catalogues_
from anjian.risks import grading
from anjian.risks.feedback import checklist_key
from anjian.risks.models import (
    COLOURS,
    CONTROL_KINDS,
    FACTOR_CATEGORIES,
    LEVELS,
    MANAGING_LEVELS,
    METHODS,
    POINT_KINDS,
    RiskControl,
    RiskGrading,
    RiskPoint,
)
from anjian.tenancy.models import Area
from anjian.xlsx import write_table

# How often each managing level inspects its points, in days (岗位: every shift, counted
# as every day), and how a person reads it.
INSPECTION_DAYS = {"company": 30, "workshop": 7, "team": 1, "post": 1}
INSPECTION_CYCLES = {"company": "每月", "workshop": "每周", "team": "每日", "post": "每班"}
FACTORS_LIMIT = 50
CONTROLS_LIMIT = 100
FIRST_REASON = "首次评价"


# --- what a point is made of --------------------------------------------------------------


def _text(value, field: str, label: str, limit: int, required: bool = True) -> str:
    if value is not None and not isinstance(value, str):
        raise Refused(f"{label}须为文字", field=field)
    text = (value or "").strip()
    if required and not text:
        raise Refused(f"{label}不能为空", field=field)
    if len(text) > limit:
        raise Refused(f"{label}至多 {limit} 字", field=field)
    return text


def _choice(value, choices: dict, field: str, label: str) -> str:
    if value not in choices:
        options = "、".join(f"{k}（{v}）" for k, v in choices.items())
        raise Refused(f"{label}须为以下之一：{options}", field=field)
    return value


def _factors(values) -> list[dict]:
    """Hazard factors: [{category (GB/T 13861: person, thing, environment, management),
    description}]."""
    if not isinstance(values, (list, tuple)):
        raise Refused("危险有害因素须为列表", field="factors")
    if len(values) > FACTORS_LIMIT:
        raise Refused(f"危险有害因素至多 {FACTORS_LIMIT} 项", field="factors")
    out = []
    for i, value in enumerate(values):
        value = value if isinstance(value, dict) else {}
        out.append({"category": _choice(value.get("category"), FACTOR_CATEGORIES, f"factors[{i}].category",
                                        "危险有害因素类别"),
                    "description": _text(value.get("description"), f"factors[{i}].description",
                                         "危险有害因素", 500)})
    return out


def _controls(values) -> list[dict]:
    """Controls: [{id (an existing control of the point, kept), kind, measure}]."""
    if not isinstance(values, (list, tuple)):
        raise Refused("管控措施须为列表", field="controls")
    if len(values) > CONTROLS_LIMIT:
        raise Refused(f"管控措施至多 {CONTROLS_LIMIT} 项", field="controls")
    out = []
    for i, value in enumerate(values):
        value = value if isinstance(value, dict) else {}
        out.append({"id": value.get("id"),
                    "kind": _choice(value.get("kind"), CONTROL_KINDS, f"controls[{i}].kind", "管控措施类别"),
                    "measure": _text(value.get("measure"), f"controls[{i}].measure", "管控措施", 2000)})
    return out


def _pairs_of(pairs, first: str, second: str) -> list[dict]:
    return [{first: a, second: b} for a, b in pairs or ()]


def _final_level(graded: grading.Grading, given: str | None, floor: str | None) -> str:
    """The point's level: the one given (never below the score's), else the score's,
    raised to the catalogue's default level ``floor``."""
    if given is not None:
        _choice(given, LEVELS, "level", "风险等级")
        if grading.higher(given, graded.level) != given:
            raise Refused(f"风险等级不能低于评价结果（{LEVELS[graded.level]}）", field="level")
        return given
    return grading.higher(graded.level, floor) if floor else graded.level


def _grade(data: dict) -> grading.Grading:
    return grading.grade(data.get("method"), data.get("likelihood"), data.get("exposure"),
                         data.get("consequence"))


def _apply_grading(context: Context, point: RiskPoint, graded: grading.Grading, level: str,
                   reason: str) -> RiskGrading:
    point.method, point.likelihood, point.exposure = graded.method, graded.likelihood, graded.exposure
    point.consequence, point.score, point.level = graded.consequence, graded.score, level
    row = RiskGrading(risk_point_id=point.id, method=graded.method, likelihood=graded.likelihood,
                      exposure=graded.exposure, consequence=graded.consequence, score=graded.score,
                      level=level, reason=reason, actor_user_id=context.user_id)
    db.session.add(row)
    return row


def enterprise_of(context: Context, enterprise_id: int) -> Enterprise:
    require_enterprise(context, enterprise_id, "企业")
    enterprise = db.session.get(Enterprise, enterprise_id)  # scoped: another tenant's is absent
    if enterprise is None or enterprise.deleted_at is not None:
        raise NotFound("企业不存在", field="enterprise_id")
    return enterprise


def _set_controls(point: RiskPoint, given: list[dict]) -> bool:
    """Make the point's controls ``given`` (an ``id`` keeps that control); whether any
    changed. A control dropped leaves the checklist items that checked it unlinked."""
    existing = {c.id: c for c in controls_of(point)}
    kept: set[int] = set()
    changed = False
    for position, value in enumerate(given):
        control_id = value.get("id")
        if control_id is not None:
            control = existing.get(control_id)
            if control is None or control_id in kept:
                raise Refused("管控措施不属于该风险点", field=f"controls[{position}].id")
            kept.add(control_id)
            if (control.kind, control.measure, control.position) != (value["kind"], value["measure"], position):
                control.kind, control.measure, control.position = value["kind"], value["measure"], position
                changed = True
        else:
            db.session.add(RiskControl(risk_point_id=point.id, kind=value["kind"], measure=value["measure"],
                                       position=position))
            changed = True
    dropped = [c for c_id, c in existing.items() if c_id not in kept]
    if dropped:
        ids = [c.id for c in dropped]
        db.session.execute(update(ChecklistItem).where(ChecklistItem.risk_control_id.in_(ids))
                           .values(risk_control_id=None))
        for control in dropped:
            db.session.delete(control)
        changed = True
    db.session.flush()
    return changed


# --- risk points ----------------------------------------------------------------------------


def create_point(context: Context, data: dict) -> RiskPoint:
    """A new risk point of an enterprise the actor sees, graded (the first ``RiskGrading``,
    reason ``data["reason"]`` or 首次评价), with its factors and controls; the enterprise's
    checklist is made again. ``catalogue_key`` (``<catalogue>:<entry>``) prefills what is
    not given: name, point kind, managing level, factors, controls, and the level as a
    floor."""
    enterprise = enterprise_of(context, data["enterprise_id"])
    entry = catalogues_.entry_of(context, data["catalogue_key"]) if data.get("catalogue_key") else {}

    def given(key, fallback=None):
        value = data.get(key)
        return fallback if value is None else value

    name = _text(given("name", entry.get("name")), "name", "风险点名称", 200)
    kind = _choice(given("kind", entry.get("point_kind")), POINT_KINDS, "kind", "风险点类型")
    managing_level = _choice(given("managing_level", entry.get("managing_level")), MANAGING_LEVELS,
                             "managing_level", "管控层级")
    factors = _factors(given("factors", _pairs_of(entry.get("factors"), "category", "description")))
    controls = _controls(given("controls", _pairs_of(entry.get("controls"), "kind", "measure")))
    if any(c["id"] is not None for c in controls):
        raise Refused("新风险点的管控措施不能指定 id", field="controls")
    graded = _grade(data)
    level = _final_level(graded, data.get("level"), entry.get("level"))
    reason = _text(data.get("reason"), "reason", "评价说明", 2000, required=False) or FIRST_REASON
    point = RiskPoint(enterprise_id=enterprise.id, name=name, kind=kind,
                      location=_text(data.get("location"), "location", "所在位置", 200, required=False),
                      managing_level=managing_level, factors=factors, method=graded.method,
                      score=graded.score, level=level, catalogue_key=entry.get("full_key"),
                      status="active", regrade_reason="", created_by=context.user_id)
    db.session.add(point)
    db.session.flush()
    _apply_grading(context, point, graded, level, reason)
    _set_controls(point, controls)
    sync_checklist(context, enterprise.id)
    return point


def _its_enterprise():
    """The join of a point to its enterprise."""
    return and_(Enterprise.tenant_id == RiskPoint.tenant_id, Enterprise.id == RiskPoint.enterprise_id)


def _visible():
    return select(RiskPoint).join(Enterprise, _its_enterprise()) \
        .where(Enterprise.deleted_at.is_(None))


def get_point(context: Context, point_id: int) -> RiskPoint:
    """A risk point the actor sees; NotFound otherwise (another tenant's, a hidden
    enterprise's)."""
    point = db.session.scalar(_visible().where(RiskPoint.id == point_id,
                                               enterprise_clause(context, RiskPoint.enterprise_id)))
    if point is None:
        raise NotFound("风险点不存在")
    return point


def list_points(context: Context, *, enterprise_id: int | None = None, level: str | None = None,
                managing_level: str | None = None, regrade: bool | None = None,
                status: str | None = "active", overdue: bool | None = None, q: str | None = None):
    """The statement of the points the actor sees, the most severe first, then by
    enterprise and name. ``regrade``: those asking (or not) for a re-grading."""
    stmt = _visible().where(enterprise_clause(context, RiskPoint.enterprise_id))
    if enterprise_id is not None:
        stmt = stmt.where(RiskPoint.enterprise_id == enterprise_id)
    if level is not None:
        stmt = stmt.where(RiskPoint.level == level)
    if managing_level is not None:
        stmt = stmt.where(RiskPoint.managing_level == managing_level)
    if regrade is not None:
        stmt = stmt.where(RiskPoint.regrade_reason != "" if regrade else RiskPoint.regrade_reason == "")
    if status is not None:
        stmt = stmt.where(RiskPoint.status == status)
    if overdue is not None:
        clause = overdue_clause(context.today())
        stmt = stmt.where(clause if overdue else ~clause)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(RiskPoint.name.ilike(like), RiskPoint.location.ilike(like)))
    return stmt.order_by(_severity(), RiskPoint.enterprise_id, RiskPoint.name, RiskPoint.id)


def _severity():
    return case({level: n for n, level in enumerate(grading.LEVEL_ORDER)}, value=RiskPoint.level)


def _bump(point: RiskPoint) -> None:
    """A change of the point's parts (controls) is a change of the point: its version moves."""
    point.updated_at = utcnow()


def update_point(context: Context, point: RiskPoint, data: dict) -> RiskPoint:
    """Change what is given of name, kind, location, managing level, factors and controls
    (the whole list: an ``id`` keeps that control); the checklist is made again. A retired
    point does not change."""
    if point.status != "active":
        raise Conflict("风险点已撤销，不能修改")
    if "name" in data:
        point.name = _text(data["name"], "name", "风险点名称", 200)
    if "kind" in data:
        point.kind = _choice(data["kind"], POINT_KINDS, "kind", "风险点类型")
    if "location" in data:
        point.location = _text(data["location"], "location", "所在位置", 200, required=False)
    if "managing_level" in data:
        point.managing_level = _choice(data["managing_level"], MANAGING_LEVELS, "managing_level", "管控层级")
    if "factors" in data:
        factors = _factors(data["factors"])
        if factors != (point.factors or []):
            point.factors = factors
    if "controls" in data and _set_controls(point, _controls(data["controls"])):
        _bump(point)
    db.session.flush()
    sync_checklist(context, point.enterprise_id)
    return point


def regrade(context: Context, point: RiskPoint, data: dict) -> RiskGrading:
    """Grade the point again, with its reason (required); the re-grading it asked for, if
    any, is done."""
    if point.status != "active":
        raise Conflict("风险点已撤销，不能重新评价")
    reason = _text(data.get("reason"), "reason", "重新评价的理由", 2000)
    graded = _grade(data)
    floor = None
    if data.get("level") is None and point.catalogue_key:
        floor = catalogues_.entries(context).get(point.catalogue_key, {}).get("level")
    level = _final_level(graded, data.get("level"), floor)
    row = _apply_grading(context, point, graded, level, reason)
    point.regrade_reason = ""
    _bump(point)
    db.session.flush()
    return row


def retire(context: Context, point: RiskPoint) -> RiskPoint:
    """Retire a point (撤销: the place, equipment or activity is gone): it leaves the lists,
    the picture and the checklist; its history stays."""
    if point.status != "active":
        raise Conflict("风险点已撤销")
    point.status = "retired"
    db.session.flush()
    sync_checklist(context, point.enterprise_id)
    return point


def controls_of(point: RiskPoint) -> list[RiskControl]:
    return list(db.session.scalars(select(RiskControl).where(RiskControl.risk_point_id == point.id)
                                   .order_by(RiskControl.position, RiskControl.id)))


def gradings_of(point: RiskPoint) -> list[RiskGrading]:
    return list(db.session.scalars(select(RiskGrading).where(RiskGrading.risk_point_id == point.id)
                                   .order_by(RiskGrading.at, RiskGrading.id)))


def hazards_of(point: RiskPoint, limit: int = 50) -> list[dict]:
    """The hazards found on the point, newest first."""
    rows = db.session.execute(select(Hazard.id, Hazard.title, Hazard.grade, Hazard.state, Hazard.found_on)
                              .where(Hazard.risk_point_id == point.id)
                              .order_by(Hazard.found_on.desc(), Hazard.id.desc()).limit(limit))
    return [{"id": h.id, "title": h.title, "grade": h.grade, "state": h.state,
             "state_label": HAZARD_STATES[h.state], "found_on": h.found_on} for h in rows]


def catalogue_entry_of(context: Context, point: RiskPoint) -> dict | None:
    if not point.catalogue_key:
        return None
    return catalogues_.entries(context).get(point.catalogue_key)


def enterprise_names(ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))).all())


# --- the enterprise's own checklist ---------------------------------------------------------


def _wanted_items(enterprise_id: int) -> list[dict]:
    points = list(db.session.scalars(select(RiskPoint).where(RiskPoint.enterprise_id == enterprise_id,
                                                             RiskPoint.status == "active")))
    points.sort(key=lambda p: (grading.LEVEL_ORDER.index(p.level), p.name, p.id))
    by_point: dict[int, list[RiskControl]] = {}
    if points:
        for control in db.session.scalars(select(RiskControl).where(
                RiskControl.risk_point_id.in_([p.id for p in points]))
                .order_by(RiskControl.position, RiskControl.id)):
            by_point.setdefault(control.risk_point_id, []).append(control)
    items = []
    for point in points:
        for n, control in enumerate(by_point.get(point.id, ()), 1):
            items.append({"code": f"{point.id}-{n}", "text": control.measure, "category": point.name[:100],
                          "part": "onsite", "legal_basis": "", "is_major_criterion": False,
                          "risk_control_id": control.id})
    return items


def _shape(items) -> list[tuple]:
    return [(i["code"], i["text"], i["category"], i["risk_control_id"]) if isinstance(i, dict)
            else (i.code, i.text, i.category, i.risk_control_id) for i in items]


def sync_checklist(context: Context, enterprise_id: int) -> ChecklistTemplate | None:
    """Make the enterprise's checklist (``risk-<id>``) the controls of its active points,
    most severe point first: unchanged, it stays; an unused current version is edited in
    place; else a new version becomes current. None: no checklist and nothing to check."""
    key = checklist_key(enterprise_id)
    wanted = _wanted_items(enterprise_id)
    rows = template_rows(key)
    current = next((r for r in rows if r.is_current), rows[-1] if rows else None)
    if current is None and not wanted:
        return None
    enterprise = db.session.get(Enterprise, enterprise_id)
    title = f"{enterprise.name}风险管控措施排查清单"[:200]
    if current is not None and current.title == title and _shape(items_of(current.id)) == _shape(wanted):
        return current
    if current is not None and not template_in_use(current.id):
        template = current
        template.title = title
        for item in items_of(template.id):
            db.session.delete(item)
        db.session.flush()
    else:
        newest = max((r.version for r in rows), default=0)
        template = ChecklistTemplate(key=key, version=newest + 1, title=title, source="tenant",
                                     is_current=True, created_by=context.user_id)
        db.session.add(template)
        db.session.flush()
        for row in rows:
            row.is_current = False
    for position, item in enumerate(wanted):
        db.session.add(ChecklistItem(template_id=template.id, position=position, **item))
    db.session.flush()
    return template


# --- inspections owed by managing level -----------------------------------------------------


def registered_on_expr():
    """The day a point was registered (China's date), in SQL."""
    return cast(func.timezone(str(CHINA), RiskPoint.created_at), Date)


def due_on_expr():
    """The day a point's next inspection is due, in SQL: its last inspection (never: the
    day it was registered) plus its managing level's days."""
    days = case(INSPECTION_DAYS, value=RiskPoint.managing_level, else_=1)
    return func.coalesce(RiskPoint.inspected_on, registered_on_expr()) + days


def overdue_clause(today: dt.date):
    """An active point whose inspection was due before ``today``."""
    return and_(RiskPoint.status == "active", due_on_expr() < today)


def due_on(point: RiskPoint) -> dt.date:
    """``due_on_expr`` for one loaded point."""
    last = point.inspected_on or point.created_at.astimezone(CHINA).date()
    return last + dt.timedelta(days=INSPECTION_DAYS[point.managing_level])


def inspection_tasks(context: Context, *, enterprise_id: int | None = None,
                     managing_level: str | None = None, level: str | None = None):
    """The statement of (point, due day) of the overdue inspections the actor sees, the
    longest overdue first."""
    due = due_on_expr().label("due_on")
    stmt = (select(RiskPoint, due)
            .join(Enterprise, _its_enterprise())
            .where(Enterprise.deleted_at.is_(None), enterprise_clause(context, RiskPoint.enterprise_id),
                   overdue_clause(context.today())))
    if enterprise_id is not None:
        stmt = stmt.where(RiskPoint.enterprise_id == enterprise_id)
    if managing_level is not None:
        stmt = stmt.where(RiskPoint.managing_level == managing_level)
    if level is not None:
        stmt = stmt.where(RiskPoint.level == level)
    return stmt.order_by(due, RiskPoint.id)


# --- the four-colour picture ----------------------------------------------------------------

COUNT_KEYS = ("points", *LEVELS, "overdue_inspections")


def _count_columns(today) -> list:
    """The figures of a group of points: how many, how many of each level, how many
    overdue for inspection on ``today`` (a date, or a bound parameter)."""
    return [func.count().label("points"),
            *(func.count().filter(RiskPoint.level == level).label(level) for level in LEVELS),
            func.count().filter(overdue_clause(today)).label("overdue_inspections")]


def counts_by_enterprise(context: Context, enterprise_ids: Iterable[int] | None = None) -> dict[int, dict]:
    """{enterprise id: {points, major, large, general, low, overdue_inspections}} of the
    active points of the live enterprises the context sees (those among
    ``enterprise_ids`` when given), in one grouped statement; an enterprise without a
    point is absent."""
    stmt = (select(RiskPoint.enterprise_id, *_count_columns(context.today()))
            .join(Enterprise, _its_enterprise())
            .where(RiskPoint.status == "active", Enterprise.deleted_at.is_(None),
                   enterprise_clause(context, RiskPoint.enterprise_id))
            .group_by(RiskPoint.enterprise_id))
    if enterprise_ids is not None:
        stmt = stmt.where(RiskPoint.enterprise_id.in_(list(enterprise_ids)))
    return {row.enterprise_id: {key: int(getattr(row, key)) for key in COUNT_KEYS}
            for row in db.session.execute(stmt)}


# A row of the picture: its enterprises, those of them with a point, and their points' counts.
FIGURE_KEYS = ("enterprises", "registered", *COUNT_KEYS)


def _sum(a: list[int], b) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def _chain(areas: dict, area_id: int | None) -> list[int]:
    """The area and every area above it (none for an enterprise without a known area)."""
    chain, node = [], area_id
    while node is not None and node in areas and node not in chain:
        chain.append(node)
        node = areas[node].parent_id
    return chain


def _picture_statements():
    """The picture's statements, built once (the tenant scope then walks each once per
    scope, not on every call), with the day as the parameter ``today``: every live
    enterprise of the tenant outer-joined to its active points' figures (grouped per
    enterprise first), per enterprise (by name) and summed per area; and the areas."""
    counts = (select(RiskPoint.enterprise_id, *_count_columns(bindparam("today", type_=Date)))
              .where(RiskPoint.status == "active")
              .group_by(RiskPoint.enterprise_id)
              # computed once: Row-Level Security makes the planner expect one enterprise,
              # and a nested loop would count the tenant's points again for each one
              .cte("counts").prefix_with("MATERIALIZED"))

    def live(*columns):
        # joined by the enterprise's id alone: both sides are the scope's rows already, and
        # a condition on the tenant too made the planner expect one row here and loop
        return (select(*columns).select_from(Enterprise)
                .outerjoin(counts, counts.c.enterprise_id == Enterprise.id)
                .where(Enterprise.deleted_at.is_(None)))

    by_enterprise = live(Enterprise.id, Enterprise.name, Enterprise.area_id,
                         counts.c.enterprise_id.is_not(None).label("registered"),
                         *(func.coalesce(counts.c[key], 0).label(key) for key in COUNT_KEYS))
    by_area = live(Enterprise.area_id, func.count().label("enterprises"),
                   func.count(counts.c.enterprise_id).label("registered"),
                   *(func.coalesce(func.sum(counts.c[key]), 0).label(key) for key in COUNT_KEYS))
    return (by_enterprise.order_by(Enterprise.name, Enterprise.id), by_area.group_by(Enterprise.area_id),
            select(Area.id, Area.name, Area.kind, Area.parent_id, Area.code))


_BY_ENTERPRISE, _BY_AREA, _AREAS = _picture_statements()


def _seen_by(context: Context, stmt):
    """``stmt`` (of every enterprise of the tenant) as the actor sees it: unchanged for
    whoever sees every enterprise (the bureau, the system), else limited by
    ``enterprise_clause``."""
    access, _user_id = actor(context)
    return stmt if sees_every_enterprise(access) else stmt.where(enterprise_clause(context, Enterprise.id))


PICTURES = {"area": "按区域（含下级区域）", "grid": "按网格", "enterprise": "按企业"}


def picture(context: Context, by: str, area_id: int | None = None) -> dict:
    """The four-colour picture: active points by level, and overdue inspections, per area
    (each with every area below it), per grid, or per enterprise, of the live enterprises
    the actor sees (those of ``area_id`` and below when given); with the totals and, per
    row, how many enterprises it holds and how many of them registered a point.

    One statement counts (per enterprise, or per area for the areas' rows), one reads the
    areas (not needed for the enterprises' rows of every area)."""
    areas, within = {}, None
    if by != "enterprise" or area_id is not None:
        areas = {a.id: a for a in db.session.execute(_AREAS)}
    if area_id is not None:
        if area_id not in areas:
            raise NotFound("区域不存在", field="area_id")
        within = subtree_ids(Area.id, Area.parent_id, area_id)
    today, total = {"today": context.today()}, [0] * len(FIGURE_KEYS)
    if by == "enterprise":
        items = []
        for enterprise_id, name, area, registered, *counts in db.session.execute(
                _seen_by(context, _BY_ENTERPRISE), today):
            if within is not None and area not in within:
                continue
            # the enterprise itself, whether it registered a point, its points' counts
            items.append({"id": enterprise_id, "name": name, "kind": "enterprise", "area_id": area,
                          "parent_id": None, "enterprises": 1, "registered": int(registered),
                          **dict(zip(COUNT_KEYS, counts, strict=True))})
        return {"by": by, "totals": {key: sum(item[key] for item in items) for key in FIGURE_KEYS}, "items": items}
    sums: dict[int | None, list[int]] = {}  # per area, its enterprises' and those below it
    for area, *values in db.session.execute(_seen_by(context, _BY_AREA), today):
        if within is not None and area not in within:
            continue
        values = [int(v) for v in values]
        total = _sum(total, values)
        for key in _chain(areas, area) or [None]:
            sums[key] = _sum(sums[key], values) if key in sums else values

    def row(key):
        area, figures = areas.get(key), sums.get(key, [0] * len(FIGURE_KEYS))
        return {"id": key, "name": area.name if area else "未划分区域", "kind": area.kind if area else "none",
                "area_id": None, "parent_id": area.parent_id if area else None,
                **dict(zip(FIGURE_KEYS, figures, strict=True))}

    wanted = [a for a in areas.values() if (within is None or a.id in within)
              and (by == "area" or a.kind == "grid")]
    items = [row(a.id) for a in sorted(wanted, key=lambda a: (a.code, a.id))]
    if by == "area" and within is None and None in sums:
        items.append(row(None))
    return {"by": by, "totals": dict(zip(FIGURE_KEYS, total, strict=True)), "items": items}


# --- the register and the city's export -----------------------------------------------------

REGISTER_SHEET = "风险分级管控清单"
# The register ("一表") of one enterprise: (header, field) in ``point_values``' fields.
REGISTER_COLUMNS = (
    ("序号", "n"), ("风险点名称", "point_name"), ("风险点类型", "point_kind"), ("所在位置", "location"),
    ("风险类别", "category"), ("危险有害因素", "factors"), ("可能导致的事故类型", "accident_type"),
    ("评价方法", "method"), ("L", "likelihood"), ("E", "exposure"), ("C/S", "consequence"),
    ("风险值", "score"), ("风险等级", "level"), ("风险颜色", "colour"), ("工程技术措施", "engineering"),
    ("管理措施", "management"), ("个体防护措施", "ppe"), ("应急处置措施", "emergency"),
    ("管控层级", "managing_level"), ("排查频次", "inspection_cycle"), ("最近排查日期", "inspected_on"),
    ("下次排查日期", "next_inspection_on"), ("评价日期", "graded_on"), ("待重新评价原因", "regrade_reason"),
)


def _number(value: decimal.Decimal | None):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _area_paths() -> tuple[dict[int, str], dict[int, str]]:
    """{area id: its name}, {area id: 板块/村/网格 names joined by /}."""
    areas = {a.id: a for a in db.session.execute(select(Area.id, Area.name, Area.parent_id)).all()}
    paths = {}
    for area_id in areas:
        names, node, seen = [], area_id, set()
        while node is not None and node in areas and node not in seen:
            seen.add(node)
            names.append(areas[node].name)
            node = areas[node].parent_id
        paths[area_id] = "/".join(reversed(names))
    return {a: areas[a].name for a in areas}, paths


def _details(point_ids: list[int]) -> tuple[dict[int, list[RiskControl]], dict[int, dt.datetime]]:
    """The controls and the last grading moment of each point."""
    controls: dict[int, list[RiskControl]] = {}
    graded: dict[int, dt.datetime] = {}
    for start in range(0, len(point_ids), 5000):
        chunk = point_ids[start:start + 5000]
        for control in db.session.scalars(select(RiskControl).where(RiskControl.risk_point_id.in_(chunk))
                                          .order_by(RiskControl.position, RiskControl.id)):
            controls.setdefault(control.risk_point_id, []).append(control)
        graded.update(db.session.execute(select(RiskGrading.risk_point_id, func.max(RiskGrading.at))
                                         .where(RiskGrading.risk_point_id.in_(chunk))
                                         .group_by(RiskGrading.risk_point_id)).all())
    return controls, graded


def point_values(point: RiskPoint, enterprise, controls: list[RiskControl], entry: dict | None,
                 area_names: dict, area_paths: dict, graded_at: dt.datetime | None) -> dict:
    """One point as the values of ``RISK_EXPORT_FIELDS`` (and the register's own)."""
    by_kind: dict[str, list[str]] = {kind: [] for kind in CONTROL_KINDS}
    for control in controls:
        by_kind[control.kind].append(control.measure)
    factors = [f"【{FACTOR_CATEGORIES.get(f.get('category'), '')}】{f.get('description', '')}"
               for f in point.factors or ()]
    entry = entry or {}
    return {
        "enterprise_name": enterprise.name, "credit_code": enterprise.credit_code,
        "area": area_names.get(enterprise.area_id), "area_path": area_paths.get(enterprise.area_id),
        "point_name": point.name, "point_kind": POINT_KINDS[point.kind], "location": point.location or None,
        "category": entry.get("category"), "accident_type": entry.get("accident_type"),
        "factors": "\n".join(factors) or None, "method": METHODS[point.method],
        "likelihood": _number(point.likelihood), "exposure": _number(point.exposure),
        "consequence": _number(point.consequence), "score": _number(point.score),
        "level": LEVELS[point.level], "colour": COLOURS[point.level],
        "controls": "\n".join(f"【{CONTROL_KINDS[c.kind]}】{c.measure}" for c in controls) or None,
        **{kind: _numbered(measures) for kind, measures in by_kind.items()},
        "managing_level": MANAGING_LEVELS[point.managing_level],
        "inspection_cycle": INSPECTION_CYCLES[point.managing_level], "inspected_on": point.inspected_on,
        "next_inspection_on": due_on(point),
        "graded_on": graded_at.astimezone(CHINA).date() if graded_at is not None else None,
        "regrade_reason": point.regrade_reason or None,
    }


def _numbered(items: list[str]) -> str | None:
    return "\n".join(f"{n}. {text}" for n, text in enumerate(items, 1)) or None


def _rows(context: Context, stmt, columns) -> Iterable[list]:
    points = list(db.session.execute(stmt).all())
    controls, graded = _details([p.id for p, _e in points])
    names, paths = _area_paths()
    entries = catalogues_.entries(context)
    for n, (point, enterprise) in enumerate(points, 1):
        values = point_values(point, enterprise, controls.get(point.id, []), entries.get(point.catalogue_key),
                              names, paths, graded.get(point.id))
        values["n"] = n
        yield [values[field] for _header, field in columns]


def register_workbook(context: Context, enterprise_id: int, buffer) -> tuple[Enterprise, int]:
    """The register ("一表") of an enterprise the actor sees: its active points, the most
    severe first, as one sheet (``REGISTER_COLUMNS``)."""
    enterprise = enterprise_of(context, enterprise_id)
    stmt = (select(RiskPoint, Enterprise)
            .join(Enterprise, _its_enterprise())
            .where(RiskPoint.enterprise_id == enterprise.id, RiskPoint.status == "active")
            .order_by(_severity(), RiskPoint.name, RiskPoint.id))
    rows = write_table(buffer, REGISTER_SHEET, [(h, 40 if f in CONTROL_KINDS or f == "factors" else None)
                                                for h, f in REGISTER_COLUMNS],
                       _rows(context, stmt, REGISTER_COLUMNS))
    return enterprise, rows


def city_export(context: Context, buffer, *, catalogue_key: str | None = None, area_id: int | None = None,
                enterprise_id: int | None = None, limit: int = 50_000) -> int:
    """The active points of the live enterprises the actor sees (of ``area_id`` and below,
    or of one enterprise) in the shape of the city's risk-reporting system: the columns of
    the tenant's catalogue (``catalogues_.export_format``). Refused over ``limit`` rows."""
    sheet, columns = catalogues_.export_format(context, catalogue_key)
    stmt = (select(RiskPoint, Enterprise)
            .join(Enterprise, _its_enterprise())
            .where(RiskPoint.status == "active", Enterprise.deleted_at.is_(None),
                   enterprise_clause(context, RiskPoint.enterprise_id)))
    if enterprise_id is not None:
        enterprise_of(context, enterprise_id)
        stmt = stmt.where(RiskPoint.enterprise_id == enterprise_id)
    if area_id is not None:
        if db.session.get(Area, area_id) is None:
            raise NotFound("区域不存在", field="area_id")
        stmt = stmt.where(Enterprise.area_id.in_(subtree_ids(Area.id, Area.parent_id, area_id)))
    total = db.session.scalar(stmt.with_only_columns(func.count()))
    if total > limit:
        raise Refused(f"风险点过多（{total} 个，一次至多导出 {limit} 个），请按区域或企业分别导出", field="area_id")
    stmt = stmt.order_by(Enterprise.name, Enterprise.id, _severity(), RiskPoint.name, RiskPoint.id)
    return write_table(buffer, sheet, [header for header, _field in columns], _rows(context, stmt, columns))

