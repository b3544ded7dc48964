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
from decimal import Decimal

from sqlalchemy import func, literal, or_, select

from anjian.context import Context
from anjian.enterprises.models import FLAGS, Enterprise
from anjian.errors import Refused
from anjian.extensions import db
from anjian.plugins.views import StandardisationProgramme
from anjian.standardisation.models import METRICS, Certification, Check, Target
from anjian.tenancy.models import Area

VALID = ("achieved", "renewal_due", "re_evaluating")
SMALL_MICRO = ("below", "micro")
NO_AREA = "未划分板块"
COUNTS = ("small_micro", "achieved_total", "key_industry_total", "key_industry_achieved",
          "renewed_total", "due_total", "demonstration", "lookbacks", "key_industry_lookbacks",
          "delisted")


def programme(context: Context, year: int) -> StandardisationProgramme:
    """The tenant's programme of ``year`` (its plugin's), with the targets set through
    the API over it (city-wide ones)."""
    found = context.policy("standardisation_programme", year=year) or StandardisationProgramme()
    targets = dict(found.targets or {})
    for row in db.session.scalars(select(Target).where(Target.year == year, Target.area_id.is_(None))):
        targets[row.metric] = float(row.value)
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


def _counts_by_area(start: dt.date, by: dt.date, key_flags: tuple[str, ...]) -> dict:
    """{area_id: {figure: count}} and {area_id: {flag: (total, achieved)}}: one statement
    over the enterprises, one over the certificates, one over the checks."""
    e = Enterprise
    key = or_(*(getattr(e, f).is_(True) for f in key_flags)) if key_flags else literal(False)
    in_force = (select(Certification.enterprise_id)
                .where(Certification.state.in_(VALID)).distinct().subquery())
    valid = e.id.in_(select(in_force.c.enterprise_id))
    columns = [
        func.count().filter(e.scale.in_(SMALL_MICRO)).label("small_micro"),
        func.count().filter(e.scale.in_(SMALL_MICRO), valid).label("achieved_total"),
        func.count().filter(key).label("key_industry_total"),
        func.count().filter(key, valid).label("key_industry_achieved"),
        *(func.count().filter(getattr(e, f)).label(f"flag_{f}") for f in key_flags),
        *(func.count().filter(getattr(e, f), valid).label(f"flag_{f}_achieved") for f in key_flags),
    ]
    out: dict = {}
    flags: dict = {}
    for row in db.session.execute(select(e.area_id, *columns).where(e.deleted_at.is_(None))
                                  .group_by(e.area_id)).mappings():
        out[row["area_id"]] = {k: row[k] for k in ("small_micro", "achieved_total", "key_industry_total",
                                                   "key_industry_achieved")}
        flags[row["area_id"]] = {f: (row[f"flag_{f}"], row[f"flag_{f}_achieved"]) for f in key_flags}
    c = Certification
    in_year = (c.renewed_on >= start) & (c.renewed_on <= by)
    for row in db.session.execute(
            select(e.area_id,
                   func.count().filter(in_year).label("renewed_total"),
                   func.count().filter(in_year | (c.state.in_(VALID) & (c.expires_on <= by))).label("due_total"),
                   func.count().filter(c.state.in_(VALID), c.demonstration).label("demonstration"),
                   func.count().filter(c.delisted_on >= start, c.delisted_on <= by).label("delisted"))
            .join(e, e.id == c.enterprise_id).where(e.deleted_at.is_(None)).group_by(e.area_id)).mappings():
        out.setdefault(row["area_id"], {}).update(
            {k: row[k] for k in ("renewed_total", "due_total", "demonstration", "delisted")})
    looked = (select(Check.certification_id).where(Check.checked_on >= start, Check.checked_on <= by)
              .distinct().subquery())
    for row in db.session.execute(
            select(e.area_id, func.count().label("lookbacks"),
                   func.count().filter(key).label("key_industry_lookbacks"))
            .select_from(c).join(looked, looked.c.certification_id == c.id)
            .join(e, e.id == c.enterprise_id).where(e.deleted_at.is_(None)).group_by(e.area_id)).mappings():
        out.setdefault(row["area_id"], {}).update(
            {"lookbacks": row["lookbacks"], "key_industry_lookbacks": row["key_industry_lookbacks"]})
    return out, flags


def sectors(context: Context) -> tuple[list[Area], dict[int, int]]:
    """The 板块 (top-level areas, in code order) and {area id: its 板块's id}."""
    areas = list(db.session.scalars(select(Area)))
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
    plan = programme(context, year)
    by = by or plan.due or dt.date(year, 12, 31)
    start = dt.date(year, 1, 1)
    counts, flags = _counts_by_area(start, by, plan.key_industries)
    heads, top = sectors(context)
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
    for row in db.session.scalars(select(Target).where(Target.year == year, Target.area_id.is_not(None))):
        area_targets.setdefault(top.get(row.area_id, row.area_id), {})[row.metric] = float(row.value)

    def entry(figures: dict, fl: dict, targets: dict) -> dict:
        below = [m for m, goal in targets.items() if m in figures and figures[m] is not None
                 and Decimal(str(figures[m])) < Decimal(str(goal))]
        return {**figures, "key_industries": [
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
                      **entry(_figures(groups.get(head.id, {})), fl, targets)})
    if None in groups:
        fl = {f: group_flags.get(None, {}).get(f, (0, 0)) for f in plan.key_industries}
        areas.append({"area_id": None, "code": None, "name": NO_AREA,
                      **entry(_figures(groups[None]), fl, {})})
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
