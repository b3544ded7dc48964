"""The programme's progress, live from the records: city-wide and per 板块 (a top-level
area, with its villages, parks and grids), against the targets, with the 板块 below a
target flagged.

The figures of a year up to ``by`` (31 December, or the programme's due date):

* ``small_micro``: live enterprises below scale (规下, 小微); ``achieved_total``: those
  with a certificate in force (达标, 期满换证, 复评); ``achieved_ratio`` the share;
* ``key_industry_total`` / ``key_industry_achieved`` / ``key_industry_ratio``: live
  enterprises of the key industries (the programme's flags), any scale; each key
  industry's own figures under ``key_industries``;
* ``renewed_total``: certificates renewed in the year; ``due_total``: those renewed plus
  those in force expiring by ``by``; ``renewed_ratio_of_due`` the share;
* ``demonstration``: demonstration enterprises in force;
* ``lookbacks`` / ``key_industry_lookbacks``: certifications looked back at or audited
  in the year (each once);
* ``delisted``: delisted in the year; ``delisting_ratio``: delisted ÷ (renewed + looked
  back).

One grouped statement per query, whatever the number of enterprises (grouped by
area, folded into the 板块 here).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from decimal import Decimal

from sqlalchemy import Date, Integer, and_, bindparam, func, literal, or_, select

from anjian.context import Context
from anjian.enterprises.models import FLAGS, Enterprise
from anjian.errors import Refused
from anjian.extensions import db
from anjian.plugins.views import StandardisationProgramme
from anjian.standardisation.models import METRICS, Certification, Check, EnterpriseClass, Target
from anjian.tenancy.models import Area

VALID = ("achieved", "renewal_due", "re_evaluating")
SMALL_MICRO = ("below", "micro")
NO_AREA = "未划分板块"
COUNTS = ("small_micro", "achieved_total", "key_industry_total", "key_industry_achieved",
          "renewed_total", "due_total", "demonstration", "lookbacks", "key_industry_lookbacks",
          "delisted")


# The statements are built once (per set of key industries) with the tenant and the dates
# as parameters, and name the tenant of every table they read themselves, so they are
# marked tenant-scoped rather than walked for the scope's criteria on every call (a good
# part of a small tenant's time); Row-Level Security applies as always.
SCOPED = {"tenant_scoped_sql": True}
_TENANT = bindparam("tenant", type_=Integer())
_TARGETS = select(Target.area_id, Target.metric, Target.value).where(
    Target.tenant_id == _TENANT, Target.year == bindparam("year"))
_AREAS = select(Area.id, Area.parent_id, Area.code, Area.name).where(Area.tenant_id == _TENANT)


def targets_of(context: Context, year: int) -> list[tuple[int | None, str, float]]:
    """The targets set through the API for ``year``: (area id or None, metric, value)."""
    return [(area_id, metric, float(value))
            for area_id, metric, value in db.session.execute(
                _TARGETS, {"tenant": context.tenant_id, "year": year}, execution_options=SCOPED)]


def programme(context: Context, year: int, set_targets=None) -> StandardisationProgramme:
    """The tenant's programme of ``year`` (its plugin's), with the city-wide targets set
    through the API over it (``set_targets``: ``targets_of(context, year)``, read if not given)."""
    found = context.policy("standardisation_programme", year=year) or StandardisationProgramme()
    targets = dict(found.targets or {})
    for area_id, metric, value in targets_of(context, year) if set_targets is None else set_targets:
        if area_id is None:
            targets[metric] = value
    return StandardisationProgramme(targets=targets,
                                    key_industries=tuple(f for f in found.key_industries if f in FLAGS),
                                    due=found.due)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _figures(counts: dict) -> dict:
    out = {k: int(counts.get(k) or 0) for k in COUNTS}
    out["achieved_ratio"] = _ratio(out["achieved_total"], out["small_micro"])
    out["key_industry_ratio"] = _ratio(out["key_industry_achieved"], out["key_industry_total"])
    out["renewed_ratio_of_due"] = _ratio(out["renewed_total"], out["due_total"])
    out["delisting_ratio"] = _ratio(out["delisted"], out["renewed_total"] + out["lookbacks"])
    return out


@functools.lru_cache(maxsize=32)
def _counts_statement(key_flags: tuple[str, ...]):
    """Each enterprise with its certificates' figures (one aggregate over the certificates,
    the look-backs of the period joined once), grouped by the enterprise's area; the
    period is the parameters ``start`` and ``by``."""
    e, c = Enterprise, Certification
    start, by = bindparam("start", type_=Date), bindparam("by", type_=Date)
    in_force = c.state.in_(VALID)
    renewed = (c.renewed_on >= start) & (c.renewed_on <= by)
    looked = (select(Check.certification_id).where(Check.tenant_id == _TENANT, Check.checked_on >= start,
                                                   Check.checked_on <= by)
              .distinct().subquery("looked"))
    certs = (select(c.enterprise_id,
                    func.bool_or(in_force).label("in_force"),
                    func.count().filter(renewed).label("renewed"),
                    func.count().filter(renewed | (in_force & (c.expires_on <= by))).label("due"),
                    func.count().filter(in_force, c.demonstration).label("demonstration"),
                    func.count().filter(c.delisted_on >= start, c.delisted_on <= by).label("delisted"),
                    func.count(looked.c.certification_id).label("looked"))
             .outerjoin(looked, looked.c.certification_id == c.id)
             .where(c.tenant_id == _TENANT)
             # computed once: Row-Level Security makes the planner expect one row here,
             # and a nested loop would aggregate the certificates again for each enterprise
             .group_by(c.enterprise_id).cte("certs").prefix_with("MATERIALIZED"))
    key = or_(*(getattr(e, f).is_(True) for f in key_flags)) if key_flags else literal(False)
    valid = certs.c.in_force.is_(True)
    small = e.scale.in_(SMALL_MICRO)

    def total(column, *where):
        summed = func.sum(column).filter(*where) if where else func.sum(column)
        return func.coalesce(summed, 0)

    columns = [
        func.count().filter(small).label("small_micro"),
        func.count().filter(small, valid).label("achieved_total"),
        func.count().filter(key).label("key_industry_total"),
        func.count().filter(key, valid).label("key_industry_achieved"),
        total(certs.c.renewed).label("renewed_total"),
        total(certs.c.due).label("due_total"),
        total(certs.c.demonstration).label("demonstration"),
        total(certs.c.delisted).label("delisted"),
        total(certs.c.looked).label("lookbacks"),
        total(certs.c.looked, key).label("key_industry_lookbacks"),
        *(func.count().filter(getattr(e, f)).label(f"flag_{f}") for f in key_flags),
        *(func.count().filter(getattr(e, f), valid).label(f"flag_{f}_achieved") for f in key_flags),
        # the supervision classes of the area's enterprises (one class an enterprise at most)
        func.array_agg(EnterpriseClass.code).filter(EnterpriseClass.code.is_not(None)).label("classes"),
    ]
    return (select(e.area_id, *columns).outerjoin(certs, certs.c.enterprise_id == e.id)
            .outerjoin(EnterpriseClass, and_(EnterpriseClass.tenant_id == _TENANT,
                                             EnterpriseClass.enterprise_id == e.id))
            .where(e.tenant_id == _TENANT, e.deleted_at.is_(None)).group_by(e.area_id))


def _counts_by_area(context: Context, start: dt.date, by: dt.date,
                    key_flags: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """{area_id: {figure: count}}, {area_id: {flag: (total, achieved)}} and {area_id:
    {class: count}}, in one statement."""
    out: dict = {}
    flags: dict = {}
    classes: dict = {}
    stmt = _counts_statement(tuple(key_flags))
    params = {"tenant": context.tenant_id, "start": start, "by": by}
    for row in db.session.execute(stmt, params, execution_options=SCOPED).mappings():
        out[row["area_id"]] = {k: row[k] for k in COUNTS}
        flags[row["area_id"]] = {f: (row[f"flag_{f}"], row[f"flag_{f}_achieved"]) for f in key_flags}
        classes[row["area_id"]] = Counter(row["classes"] or ())
    return out, flags, classes


def sectors(context: Context) -> tuple[list, dict[int, int]]:
    """The 板块 (top-level areas, in code order: rows with id, code and name) and
    {area id: its 板块's id}."""
    areas = db.session.execute(_AREAS, {"tenant": context.tenant_id}, execution_options=SCOPED).all()
    parent = {a.id: a.parent_id for a in areas}
    top: dict[int, int] = {}
    for area in areas:
        node, seen = area.id, set()
        while parent.get(node) is not None and node not in seen:
            seen.add(node)
            node = parent[node]
        top[area.id] = node
    return sorted((a for a in areas if a.parent_id is None), key=lambda a: a.code), top


def progress(context: Context, year: int, by: dt.date | None = None) -> dict:
    """The programme's figures of ``year`` up to ``by``, city-wide and per 板块, each with
    its targets and the targets it is below (``below``)."""
    set_targets = targets_of(context, year)
    plan = programme(context, year, set_targets)
    by = by or plan.due or dt.date(year, 12, 31)
    start = dt.date(year, 1, 1)
    counts, flags, by_area = _counts_by_area(context, start, by, plan.key_industries)
    heads, top = sectors(context)
    classes: dict[int | None, Counter] = {}  # the enterprises' supervision classes, by 板块
    for area_id, counted in by_area.items():
        classes.setdefault(top.get(area_id) if area_id is not None else None, Counter()).update(counted)
    groups: dict[int | None, dict] = {}
    group_flags: dict[int | None, dict] = {}
    for area_id, values in counts.items():
        group = top.get(area_id) if area_id is not None else None
        into = groups.setdefault(group, {})
        for k, v in values.items():
            into[k] = into.get(k, 0) + int(v or 0)
        for f, (total, achieved) in flags.get(area_id, {}).items():
            t, a = group_flags.setdefault(group, {}).get(f, (0, 0))
            group_flags[group][f] = (t + int(total or 0), a + int(achieved or 0))
    area_targets: dict[int, dict[str, float]] = {}
    for area_id, metric, value in set_targets:
        if area_id is not None:
            area_targets.setdefault(top.get(area_id, area_id), {})[metric] = value

    def entry(figures: dict, fl: dict, targets: dict, group=...) -> dict:
        below = [m for m, goal in targets.items() if m in figures and figures[m] is not None
                 and Decimal(str(figures[m])) < Decimal(str(goal))]
        if group is ...:  # the city: every 板块's
            counted = {}
            for by_code in classes.values():
                for code, n in by_code.items():
                    counted[code] = counted.get(code, 0) + n
        else:
            counted = classes.get(group, {})
        return {**figures, "classes": dict(sorted(counted.items())), "key_industries": [
                    {"flag": f, "label": FLAGS[f], "total": t, "achieved": a, "ratio": _ratio(a, t)}
                    for f, (t, a) in fl.items()],
                "targets": targets, "below": sorted(set(below), key=list(METRICS).index)}

    city_counts: dict = {}
    city_flags: dict = {}
    for group, values in groups.items():
        for k, v in values.items():
            city_counts[k] = city_counts.get(k, 0) + v
        for f, (t, a) in group_flags.get(group, {}).items():
            ct, ca = city_flags.get(f, (0, 0))
            city_flags[f] = (ct + t, ca + a)
    for f in plan.key_industries:
        city_flags.setdefault(f, (0, 0))
    ratios = {m: v for m, v in plan.targets.items() if METRICS.get(m, ("", ""))[1] == "ratio"}
    areas = []
    for head in heads:
        targets = {**ratios, **area_targets.get(head.id, {})}  # a 板块 holds the city's ratios
        fl = {f: group_flags.get(head.id, {}).get(f, (0, 0)) for f in plan.key_industries}
        areas.append({"area_id": head.id, "code": head.code, "name": head.name,
                      **entry(_figures(groups.get(head.id, {})), fl, targets, head.id)})
    if None in groups:
        fl = {f: group_flags.get(None, {}).get(f, (0, 0)) for f in plan.key_industries}
        areas.append({"area_id": None, "code": None, "name": NO_AREA,
                      **entry(_figures(groups[None]), fl, {}, None)})
    return {"year": year, "by": by, "key_industries": list(plan.key_industries),
            "city": entry(_figures(city_counts), city_flags, dict(plan.targets)), "areas": areas}


def set_target(context: Context, *, year: int, metric: str, value, area_id: int | None = None) -> Target:
    """Set (or change) a target: city-wide without an area, else that 板块's share."""
    if metric not in METRICS:
        raise Refused("未知的指标", errors={"metric": [f"须为以下之一: {', '.join(METRICS)}"]})
    if METRICS[metric][1] == "ratio" and not 0 <= float(value) <= 1:
        raise Refused("比例须在 0 到 1 之间", field="value")
    if area_id is not None and db.session.get(Area, area_id) is None:
        raise Refused("区域不存在", field="area_id")
    row = db.session.scalar(select(Target).where(Target.year == year, Target.metric == metric,
                                                 Target.area_id.is_(None) if area_id is None
                                                 else Target.area_id == area_id))
    if row is None:
        row = Target(year=year, metric=metric, area_id=area_id, value=value)
        db.session.add(row)
    else:
        row.value = value
    db.session.flush()
    return row
