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

One statement, whatever the number of enterprises and areas: the figures counted by
area, carried up the areas to their 板块 and summed there, with the targets set through
the API (the plugin's programme gives the key industries and its own targets).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter

from sqlalchemy import Date, Integer, and_, bindparam, false, func, literal_column, null, or_, select, true, union_all

from anjian.context import Context
from anjian.db import one_of
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


# The programme's statement is built once (per set of key industries) with the tenant and
# the dates as parameters, on the tables (Core, not the ORM's classes), and names the
# tenant of every table it reads itself, so it is marked tenant-scoped rather than given
# the scope's criteria; Row-Level Security applies as always. Its lists of values are
# literals of its text (``one_of``), not ``IN`` lists expanded into it on every call.
SCOPED = {"tenant_scoped_sql": True}
_TENANT = bindparam("tenant", type_=Integer())
_A, _E, _C = Area.__table__, Enterprise.__table__, Certification.__table__


def _up_to_sectors(rows, area_id, carried: list, name: str):
    """``rows`` carried up the areas to their 板块: a recursive CTE of ``node`` (an area),
    ``parent`` and the ``carried`` columns, where ``parent IS NULL`` marks a 板块 (``node``)
    or, with no node, the rows without an area. One parent a step (the API refuses
    cycles); an area is looked up by its id alone, its tenant being the child's (the
    foreign key): a lookup in the primary key, where naming the tenant leads the
    planner, which Row-Level Security makes expect one area of it, to scan them all
    for every step."""
    area, up = _A.alias(f"{name}_area"), _A.alias(f"{name}_up")
    walk = (select(area.c.id.label("node"), area.c.parent_id.label("parent"), *carried)
            .select_from(rows).outerjoin(area, area.c.id == area_id).cte(name, recursive=True))
    return walk.union_all(select(up.c.id, up.c.parent_id, *(walk.c[c.name] for c in carried))
                          .join(walk, up.c.id == walk.c.parent))


# The targets set through the API for the year (parameter ``year``), carried up to their
# 板块; a city-wide target (no area) stays at no node.
_T = Target.__table__
_SET = (select(_T.c.area_id, _T.c.metric, _T.c.value)
        .where(_T.c.tenant_id == _TENANT, _T.c.year == bindparam("year")).cte("set_targets"))
_TARGET_WALK = _up_to_sectors(_SET, _SET.c.area_id, [_SET.c.area_id, _SET.c.metric, _SET.c.value],
                              "target_walk")


# Every area of the tenant (``area_id``) with its 板块 (``id``, ``code``, ``name``).
_ORIGIN = select(_A.c.id.label("area_id")).where(_A.c.tenant_id == _TENANT).subquery("origin")
_SECTOR_WALK = _up_to_sectors(_ORIGIN, _ORIGIN.c.area_id, [_ORIGIN.c.area_id], "sector_walk")
_SECTORS = (select(_A.c.id, _A.c.code, _A.c.name, _SECTOR_WALK.c.area_id)
            .join_from(_SECTOR_WALK, _A, _A.c.id == _SECTOR_WALK.c.node)
            .where(_SECTOR_WALK.c.parent.is_(None)))


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _figures(counts: dict) -> dict:
    out = {k: counts[k] for k in COUNTS}
    out["achieved_ratio"] = _ratio(out["achieved_total"], out["small_micro"])
    out["key_industry_ratio"] = _ratio(out["key_industry_achieved"], out["key_industry_total"])
    out["renewed_ratio_of_due"] = _ratio(out["renewed_total"], out["due_total"])
    out["delisting_ratio"] = _ratio(out["delisted"], out["renewed_total"] + out["lookbacks"])
    return out


@functools.lru_cache(maxsize=32)
def _counts_statement(key_flags: tuple[str, ...]):
    """The programme's one statement: the figures of each 板块 (every top-level area, in
    code order) with its targets set through the API (``targets``), then a row of no
    area, whose figures are those of the enterprises without one (``enterprises`` None:
    there are none); every row has the city-wide targets set through the API
    (``city_targets``). The period is the parameters ``year``, ``start`` and ``by``.

    The live enterprises are counted by area, and their certificates by area; those
    figures are carried up the areas to their 板块 and summed there. Whether an
    enterprise has a certificate in force, and whether a certificate was looked back at,
    are ``IN`` tests against a set hashed once: Row-Level Security makes the planner
    expect one row of every table, and a join would scan the other side once per row.
    """
    e, c, checks, classed = _E.c, _C.c, Check.__table__.c, EnterpriseClass.__table__
    start, by = bindparam("start", type_=Date), bindparam("by", type_=Date)
    key = or_(*(e[f].is_(True) for f in key_flags)) if key_flags else false()
    # Each test once a row, in a subquery kept apart (OFFSET 0), so that the set is hashed
    # once, not once for every count that uses it. Constants are written into the text
    # (``zero``), not sent as parameters.
    zero = literal_column("0")
    firms = (select(e.area_id, one_of(e.scale, SMALL_MICRO).label("small"), key.label("key"),
                    *(e[f].label(f) for f in key_flags),
                    e.id.in_(select(c.enterprise_id).where(c.tenant_id == _TENANT, one_of(c.state, VALID)))
                    .label("ok"), classed.c.code)
             .outerjoin(classed, and_(classed.c.tenant_id == _TENANT, classed.c.enterprise_id == e.id))
             .where(e.tenant_id == _TENANT, e.deleted_at.is_(None)).offset(zero).subquery("firms"))
    in_force = one_of(c.state, VALID)
    renewed = (c.renewed_on >= start) & (c.renewed_on <= by)
    certs = (select(e.area_id, key.label("key"), renewed.label("renewed"),
                    (renewed | (in_force & (c.expires_on <= by))).label("due"),
                    (in_force & c.demonstration).label("demonstration"),
                    ((c.delisted_on >= start) & (c.delisted_on <= by)).label("delisted"),
                    c.id.in_(select(checks.certification_id).where(
                        checks.tenant_id == _TENANT, checks.checked_on >= start, checks.checked_on <= by))
                    .label("looked"))
             .select_from(_C).join(_E, and_(e.tenant_id == _TENANT, e.id == c.enterprise_id, e.deleted_at.is_(None)))
             .where(c.tenant_id == _TENANT).offset(zero).subquery("certs"))
    f, k = firms.c, certs.c
    enterprises = {
        "small_micro": func.count().filter(f.small),
        "achieved_total": func.count().filter(f.small, f.ok),
        "key_industry_total": func.count().filter(f.key),
        "key_industry_achieved": func.count().filter(f.key, f.ok),
        **{f"flag_{flag}": func.count().filter(f[flag]) for flag in key_flags},
        **{f"flag_{flag}_achieved": func.count().filter(f[flag], f.ok) for flag in key_flags},
    }
    certificates = {
        "renewed_total": func.count().filter(k.renewed),
        "due_total": func.count().filter(k.due),
        "demonstration": func.count().filter(k.demonstration),
        "delisted": func.count().filter(k.delisted),
        "lookbacks": func.count().filter(k.looked),
        "key_industry_lookbacks": func.count().filter(k.looked, k.key),
    }
    counted = [*enterprises, *certificates]  # the figures (NULL where nothing counts)
    enterprises["enterprises"] = func.count()  # and how many: none at no 板块, no 未划分板块
    names = [*enterprises, *certificates]
    by_area = union_all(
        select(f.area_id, *(v.label(n) for n, v in enterprises.items()), *(zero.label(n) for n in certificates),
               # the supervision classes of the area's enterprises (one an enterprise at most)
               func.array_agg(f.code).filter(f.code.is_not(None)).label("classes"))
        .group_by(f.area_id),
        select(k.area_id, *(zero.label(n) for n in enterprises), *(v.label(n) for n, v in certificates.items()),
               null().label("classes"))
        .group_by(k.area_id),
    ).cte("by_area")
    walk = _up_to_sectors(by_area, by_area.c.area_id, [*(by_area.c[k] for k in names), by_area.c.classes],
                          "walk")
    figures = (select(walk.c.node.label("sector"), *(func.sum(walk.c[k]).cast(Integer).label(k) for k in names))
               .where(walk.c.parent.is_(None)).group_by(walk.c.node).cte("figures"))
    codes = func.unnest(walk.c.classes).table_valued("code").render_derived(name="codes")
    classes = (select(walk.c.node.label("sector"), func.array_agg(codes.c.code).label("classes"))
               .select_from(walk).join(codes, true()).where(walk.c.parent.is_(None))
               .group_by(walk.c.node).cte("classes"))
    walked = _TARGET_WALK.c
    targets = (select(walked.node.label("sector"), func.jsonb_object_agg(walked.metric, walked.value).label("targets"))
               .where(walked.parent.is_(None), walked.node.is_not(None)).group_by(walked.node).cte("targets"))
    city = (select(func.jsonb_object_agg(walked.metric, walked.value))
            .where(walked.parent.is_(None), walked.area_id.is_(None)).scalar_subquery())
    heads = union_all(select(_A.c.id, _A.c.code, _A.c.name)
                      .where(_A.c.tenant_id == _TENANT, _A.c.parent_id.is_(None)),
                      select(null(), null(), null())).subquery("heads")
    return (select(heads.c.id.label("area_id"), heads.c.code, heads.c.name, figures.c.enterprises,
                   *(figures.c[k] for k in counted), classes.c.classes,
                   targets.c.targets, city.label("city_targets"))
            .select_from(heads)
            .outerjoin(figures, figures.c.sector.is_not_distinct_from(heads.c.id))
            .outerjoin(classes, classes.c.sector.is_not_distinct_from(heads.c.id))
            .outerjoin(targets, targets.c.sector == heads.c.id)
            .order_by(heads.c.code.collate("C").nulls_last()))


def sectors(context: Context) -> tuple[list, dict[int, int]]:
    """The 板块 (top-level areas, in code order: rows with id, code and name) and
    {area id: its 板块's id}: every area of the tenant carried up to its 板块, as the
    progress's figures are (``_up_to_sectors``)."""
    rows = db.session.execute(_SECTORS, {"tenant": context.tenant_id}, execution_options=SCOPED).all()
    heads = {row.id: row for row in rows if row.id == row.area_id}
    return sorted(heads.values(), key=lambda head: head.code), {row.area_id: row.id for row in rows}


def progress(context: Context, year: int, by: dt.date | None = None) -> dict:
    """The programme's figures of ``year`` up to ``by``, city-wide and per 板块, each with
    its targets and the targets it is below (``below``): the tenant's programme (its
    plugin's), with the targets set through the API over it."""
    found = context.policy("standardisation_programme", year=year) or StandardisationProgramme()
    key_flags = tuple(f for f in found.key_industries if f in FLAGS)
    by = by or found.due or dt.date(year, 12, 31)
    params = {"tenant": context.tenant_id, "year": year, "start": dt.date(year, 1, 1), "by": by}
    result = db.session.execute(_counts_statement(key_flags), params, execution_options=SCOPED)
    names = tuple(result.keys())
    rows = [dict(zip(names, row, strict=True)) for row in result.all()]
    city_targets = {**(found.targets or {}),
                    **{m: float(v) for m, v in (rows[-1]["city_targets"] or {}).items()}}
    ratios = {m: v for m, v in city_targets.items() if METRICS.get(m, ("", ""))[1] == "ratio"}

    def entry(counts: dict, flags: dict, classes: Counter, targets: dict) -> dict:
        figures = _figures(counts)
        # floats both (a ratio rounded to 4 places, a target as set): 0.68 is not below 0.68
        below = [m for m in METRICS if m in targets and figures.get(m) is not None and figures[m] < targets[m]]
        return {**figures, "classes": dict(sorted(classes.items())), "key_industries": [
                    {"flag": f, "label": FLAGS[f], "total": t, "achieved": a, "ratio": _ratio(a, t)}
                    for f, (t, a) in flags.items()],
                "targets": targets, "below": below}

    areas = []
    city, city_flags, city_classes = dict.fromkeys(COUNTS, 0), dict.fromkeys(key_flags, (0, 0)), Counter()
    for row in rows:
        if row["area_id"] is None and row["enterprises"] is None:
            continue  # every enterprise has its 板块
        counts = {k: row[k] or 0 for k in COUNTS}
        flags = {f: (row[f"flag_{f}"] or 0, row[f"flag_{f}_achieved"] or 0) for f in key_flags}
        classes = Counter(row["classes"] or ())
        for k, v in counts.items():
            city[k] += v
        for f, (t, a) in flags.items():
            city_flags[f] = (city_flags[f][0] + t, city_flags[f][1] + a)
        city_classes.update(classes)
        if row["area_id"] is None:
            areas.append({"area_id": None, "code": None, "name": NO_AREA, **entry(counts, flags, classes, {})})
        else:  # a 板块 holds the city's ratios, and its own targets
            targets = {**ratios, **{m: float(v) for m, v in (row["targets"] or {}).items()}}
            areas.append({"area_id": row["area_id"], "code": row["code"], "name": row["name"],
                          **entry(counts, flags, classes, targets)})
    return {"year": year, "by": by, "key_industries": list(key_flags),
            "city": entry(city, city_flags, city_classes, city_targets), "areas": areas}


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
