#!/usr/bin/env python
"""Benchmark: the four-colour picture of risks and the open-permit list against hand-written SQL.

Not a test (pytest's testpaths is ``tests/``). Run from the repository root:

    .venv/bin/python bench/risks.py                        # 500 tenants x 200 risk points
    .venv/bin/python bench/risks.py --tenants 20 --repeat 2   # quick
    .venv/bin/python bench/risks.py --explain --profile       # and where the time goes

It imports ``bench/closed_loop.py``'s helpers (migration, the app, COPY) and
``bench/standardisation.py``'s (statement recording, the tenant's ``TenantInfo``); a
throwaway PostgreSQL cluster through ``bench/harness.py``, or
``ANJIAN_BENCH_POSTGRES_URL``. The schema is migrated as the owner; the platform runs as
the unprivileged role ``anjian_app`` (Row-Level Security on).

Data, generated with COPY as the owner, ``--tenants`` tenants (500), each with the plugin
``anjian_shenyang`` (``tenants/shenyang-street.toml``'s settings), 10 板块 of 2 villages of
2 grids (70 areas), 100 enterprises (on a grid 60 %, a village 25 %, a 板块 10 %, no area
4 %; 1 % deleted), and per tenant:

* ``--points`` risk points (200: 100,000 for 500 tenants) on 85 of its enterprises, by
  level about 3 % 重大, 12 % 较大, 35 % 一般, 50 % 低, 4 % retired, managed by 公司, 车间,
  班组 or 岗位, last inspected 0-40 days ago or never (registered up to half a year ago),
  so that some inspections are overdue; two controls and one grading each; and their
  hazards (0-2 a point, one on average), in every state of the loop, linked to the point;
* ``--permits`` dangerous-work permits (200), of the core's eight kinds and the plugin's
  two, about 35 % not ended (requested to accepted), planned from 60 days before to 10
  days after the day of the run (3 % without a plan), some past their validity.

First a quarter of every tenant's points (with their hazards) and permits, then the rest;
ANALYZE after each. The day of the run is fixed (``NOW``), given to the platform as its
``Context``'s clock.

Measured, for the middle tenant, as the API runs a GET (``anjian.auth.guard``): a READ
ONLY transaction in the tenant's read scope, ended with COMMIT, with a system ``Context``
(the bureau sees every enterprise, and so does the system):

(a) the four-colour picture, ``anjian.risks.service.picture(context, by)`` for ``by`` in
    area (each area with every area below it), grid and enterprise, against the floor:
    one hand-written statement per ``by`` giving the same rows (active points by level
    and overdue inspections per enterprise, counted once in a MATERIALIZED CTE, the live
    enterprises with them, for area and grid each area's figures carried up its parents
    by a recursive CTE, the unassigned enterprises and the totals), on a psycopg
    connection of the same role, READ ONLY, with the same RLS setting; Python then only
    shapes the rows as the platform answers (not timed, as in the other floors);
(b) the open-permit list, its first page (50) as ``GET .../permits/open`` gets its data:
    ``open_permits``'s statement through ``anjian.api.pagination.paginate``, the
    enterprises' names (``enterprise_names``), which permit is past its validity; against
    one hand-written statement giving the same page (the columns a page shows), total,
    names and flags.

The answers must be equal (every row, every count; every shown column of every permit
of the page) or the run exits non-zero, as it does when the platform's statement count
differs between the two sizes (``before_cursor_execute``, the scope's ``set_config``
apart). Timings: medians of alternated runs, at least ``--repeat`` x 10 of each and as
many as fit in 5 seconds for each case; each platform statement is timed on its own
(cursor execute to return). Goal: ratio <= 1.5 for the picture (its
three ``by`` together) and for the open permits; ``ratio`` is the worse of the two, and
each ``by`` has its own ratio in the output too. The last line is ``{"bench": "risks",
"ratio": ..., "goal": ..., "goal_met": ..., ...}``. ``--explain`` prints EXPLAIN ANALYZE of
the platform's statements and of the floors at the full size, ``--profile`` a cProfile of
20 platform runs of each case.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT / "plugins"), str(ROOT)]

from bench.closed_loop import APP_ROLE, bulk_load, copy_lines, make_app, migrate  # noqa: E402
from bench.harness import Postgres, libpq  # noqa: E402
from bench.standardisation import recording, tenant_info  # noqa: E402

PLUGIN = "anjian_shenyang"
GOAL_RATIO = 1.5  # platform seconds / floor seconds, the picture and the permit list each
SECONDS = 5.0  # the least time each case is measured for (alternated runs, the medians)
NOW = dt.datetime(2026, 12, 8, 2, 0, tzinfo=dt.UTC)  # 10:00 in China
TODAY = dt.date(2026, 12, 8)
STAMP = "2026-12-01 02:00:00+00"
ENTERPRISES_PER_TENANT = 100
REGISTERING = 85  # of them hold points
SECTORS, VILLAGES, GRIDS = 10, 2, 2
PER_PAGE = 50  # the list's default page
BYS = ("area", "grid", "enterprise")
LEVELS = (("major", 3), ("large", 12), ("general", 35), ("low", 50))
SCORES = {"major": (10, 6, 7), "large": (6, 6, 7), "general": (3, 6, 7), "low": (3, 6, 3)}
MANAGING = (("company", 25), ("workshop", 30), ("team", 30), ("post", 15))
INSPECTION_DAYS = {"company": 30, "workshop": 7, "team": 1, "post": 1}
POINT_KINDS = ("place", "equipment", "activity", "post")
POINT_NAMES = ("冲压车间", "液氨储罐", "配电室", "喷漆房", "有限空间（污水池）", "叉车作业", "焊接岗位",
               "粉尘除尘系统", "危化品库房", "行车吊装")
CONTROL_KINDS = ("engineering", "management", "ppe", "emergency")
HAZARD_STATES = (("reported", 10), ("rectifying", 20), ("rectified", 10), ("verified", 50),
                 ("overdue", 7), ("referred", 3))
# (kind, grade or None, validity hours): the core's eight kinds and the plugin's two.
PERMIT_KINDS = (("hot_work", "special", 8), ("hot_work", "level1", 8), ("hot_work", "level2", 72),
                ("confined_space", None, 24), ("blind_plate", None, 24),
                ("work_at_height", "class2", 168), ("lifting", "level3", 24),
                ("temporary_power", None, 360), ("excavation", None, 72), ("road_closure", None, 72),
                ("blasting", None, 8), ("maintenance", None, 72))
PERMIT_STATES = (("requested", 5), ("identified", 4), ("approving", 5), ("approved", 3),
                 ("issued", 6), ("in_progress", 8), ("accepting", 2), ("accepted", 2),
                 ("closed", 55), ("cancelled", 5), ("refused", 5))
WORKERS = ('[{"name": "张建国", "id_number": "210102198001011234", "work_kind": "焊接与热切割作业"}, '
           '{"name": "李卫东", "id_number": "21010219850505123X", "work_kind": "电工作业"}]')


# --------------------------------------------------------------------------- data (COPY)


class Ids:
    """The next id of each generated table (ids are global, as the sequences give them)."""

    TABLES = ("areas", "enterprises", "risk_points", "risk_controls", "risk_gradings", "hazards",
              "permits")

    def __init__(self):
        self.next = dict.fromkeys(self.TABLES, 1)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ")


def tenant_rows(tenants: int):
    with open(ROOT / "tenants" / "shenyang-street.toml", "rb") as f:
        settings = tomllib.load(f)["settings"]
    text = json.dumps(settings, ensure_ascii=False, default=lambda d: d.isoformat())
    for t in range(1, tenants + 1):
        yield (f"{t}\tsy-bench-{t:03d}\t沈阳基准街道{t:03d}应急管理办公室\tstreet\t"
               f'["{PLUGIN}"]\t{text}\tt\t1\t{STAMP}\t{STAMP}\n')


def make_tenant_base(ids: Ids, t: int, rnd: random.Random, out: dict, shape: dict) -> None:
    """The tenant's areas and enterprises; ``shape[t]``: its live enterprise ids."""
    sectors, villages, grids = [], [], []
    for s in range(1, SECTORS + 1):
        sector = ids.take("areas")
        sectors.append(sector)
        code = f"s{s:02d}"
        out["areas"].append(f"{sector}\t{t}\t{code}\t第{s}板块\tsector\t\\N\tt\t{STAMP}\t{STAMP}\n")
        for v in range(1, VILLAGES + 1):
            village = ids.take("areas")
            villages.append(village)
            out["areas"].append(f"{village}\t{t}\t{code}-v{v}\t第{s}板块第{v}村\tvillage\t{sector}\tt\t"
                                f"{STAMP}\t{STAMP}\n")
            for g in range(1, GRIDS + 1):
                grid = ids.take("areas")
                grids.append(grid)
                out["areas"].append(f"{grid}\t{t}\t{code}-v{v}-g{g}\t第{s}板块第{v}村第{g}网格\tgrid\t"
                                    f"{village}\tt\t{STAMP}\t{STAMP}\n")
    live = []
    for k in range(1, ENTERPRISES_PER_TENANT + 1):
        eid = ids.take("enterprises")
        roll = rnd.random()
        area = (rnd.choice(grids) if roll < 0.60 else rnd.choice(villages) if roll < 0.85
                else rnd.choice(sectors) if roll < 0.96 else None)
        area_text = r"\N" if area is None else area
        deleted = "2026-10-01 00:00:00+00" if rnd.random() < 0.01 else "\\N"
        if deleted == "\\N":
            live.append(eid)
        out["enterprises"].append(
            f"{eid}\t{t}\t91{t:04d}{k:012d}\t{rnd.choice('沈和铁皇浑苏')}城第{eid}号企业\t沈阳市{k}号\tbelow\tf\t"
            f"\t\tf\tf\tf\tf\tf\t\t\t\t\t{area_text}\tactive\t{{}}\t"
            f"{deleted}\t{STAMP}\t{STAMP}\n")
    shape[t] = live


def make_points(ids: Ids, t: int, count: int, live: list[int], rnd: random.Random, out: dict) -> None:
    """``count`` risk points of tenant ``t`` with their controls, gradings and hazards."""
    holders = live[:REGISTERING]
    levels, level_w = zip(*LEVELS, strict=True)
    managing, managing_w = zip(*MANAGING, strict=True)
    states, state_w = zip(*HAZARD_STATES, strict=True)
    for _ in range(count):
        pid = ids.take("risk_points")
        enterprise = rnd.choice(holders)
        level = rnd.choices(levels, level_w)[0]
        manager = rnd.choices(managing, managing_w)[0]
        status = "retired" if rnd.random() < 0.04 else "active"
        created = NOW - dt.timedelta(days=rnd.randrange(1, 180), minutes=rnd.randrange(1440))
        inspected = (r"\N" if rnd.random() < 0.1 else
                     str(TODAY - dt.timedelta(days=rnd.randrange(0, 41))))
        l_, e_, c_ = SCORES[level]
        name = f"{POINT_NAMES[pid % len(POINT_NAMES)]}{pid % 7 + 1}号"
        out["risk_points"].append(
            f"{pid}\t{t}\t{enterprise}\t{name}\t{POINT_KINDS[pid % 4]}\t{pid % 5 + 1}号厂房\t{manager}\t"
            f'[{{"category": "thing", "description": "设备防护装置缺失"}}]\tlec\t{l_}\t{e_}\t{c_}\t'
            f"{l_ * e_ * c_}\t{level}\t\\N\t{status}\t\t{inspected}\t\\N\t1\t{_stamp(created)}\t"
            f"{_stamp(created)}\n")
        for position in range(2):
            out["risk_controls"].append(
                f"{ids.take('risk_controls')}\t{t}\t{pid}\t{CONTROL_KINDS[(pid + position) % 4]}\t"
                f"定期检查{name}的防护装置并记录（第{position + 1}项）\t{position}\n")
        out["risk_gradings"].append(
            f"{ids.take('risk_gradings')}\t{t}\t{pid}\tlec\t{l_}\t{e_}\t{c_}\t{l_ * e_ * c_}\t{level}\t"
            f"首次评价\t\\N\t{_stamp(created)}\n")
        for _ in range(rnd.choice((0, 1, 2))):
            hid = ids.take("hazards")
            state = rnd.choices(states, state_w)[0]
            found = TODAY - dt.timedelta(days=rnd.randrange(1, 90))
            deadline = found + dt.timedelta(days=rnd.randrange(7, 60))
            overdue_at = STAMP if state in ("overdue", "referred") else r"\N"
            out["hazards"].append(
                f"{hid}\t{t}\t{enterprise}\tself\t{'major' if rnd.random() < 0.05 else 'general'}\t{state}\t"
                f"{name}防护装置缺失\t\t{pid % 5 + 1}号厂房\t{found}\tf\t\t\t\t{deadline}\tf\t{overdue_at}\t1\t"
                f"{STAMP}\t{STAMP}\t{pid}\t\n")


def make_permits(ids: Ids, t: int, count: int, live: list[int], rnd: random.Random, out: dict) -> None:
    states, state_w = zip(*PERMIT_STATES, strict=True)
    n = r"\N"
    for _ in range(count):
        pid = ids.take("permits")
        kind, grade, hours = rnd.choice(PERMIT_KINDS)
        state = rnd.choices(states, state_w)[0]
        planned = None if rnd.random() < 0.03 else (
            NOW + dt.timedelta(days=rnd.randrange(-60, 11), hours=rnd.randrange(-12, 12)))
        start = planned or NOW - dt.timedelta(days=rnd.randrange(1, 30))
        issued = start - dt.timedelta(hours=1) if state not in (
            "requested", "identified", "approving", "approved", "refused", "cancelled") else None
        started = start if issued is not None and state != "issued" else None
        closed = start + dt.timedelta(hours=hours // 2) if state == "closed" else None
        key_time = "t" if planned is not None and planned.hour >= 14 else "f"
        out["permits"].append(
            f"{pid}\t{t}\t{rnd.choice(live)}\tZYP{t:03d}{pid:08d}\t{kind}\t{grade or n}\t"
            f"{pid % 5 + 1}号厂房{pid % 3 + 1}层\t检修管线第{pid % 9 + 1}段\t{state}\t{WORKERS}\t张监护\t\t"
            f'[{{"hazard": "可燃气体泄漏", "measure": "作业前置换吹扫", "confirmed": true}}]\t[]\t'
            f'[{{"key": "principal", "title": "主要负责人审批", "stage": "approve"}}]\t[]\t[]\t'
            f"{key_time}\t{'夜间作业' if key_time == 't' else ''}\t"
            f"{_stamp(planned) if planned else n}\t"
            f"{_stamp(planned + dt.timedelta(hours=hours)) if planned else n}\t"
            f"{_stamp(issued) if issued else n}\t"
            f"{_stamp(issued + dt.timedelta(hours=hours)) if issued else n}\t"
            f"{_stamp(started) if started else n}\t{_stamp(closed) if closed else n}\t"
            f"{'安全措施不全' if state == 'refused' else ''}\t\\N\t1\t{STAMP}\t{STAMP}\n")


COLUMNS = {
    "areas": "id, tenant_id, code, name, kind, parent_id, is_active, created_at, updated_at",
    "enterprises": "id, tenant_id, credit_code, name, address, scale, above_quota, main_products, "
                   "main_risk_factors, dust_explosion, ammonia_refrigeration, confined_space, "
                   "major_hazard, labour_intensive, principal_name, principal_phone, contact_name, "
                   "contact_phone, area_id, status, extra, deleted_at, created_at, updated_at",
    "risk_points": "id, tenant_id, enterprise_id, name, kind, location, managing_level, factors, "
                   "method, likelihood, exposure, consequence, score, level, catalogue_key, status, "
                   "regrade_reason, inspected_on, created_by, version, created_at, updated_at",
    "risk_controls": "id, tenant_id, risk_point_id, kind, measure, position",
    "risk_gradings": "id, tenant_id, risk_point_id, method, likelihood, exposure, consequence, "
                     "score, level, reason, actor_user_id, at",
    "hazards": "id, tenant_id, enterprise_id, source, grade, state, title, description, location, "
               "found_on, immediate, responsible_person, measures, contingency_plan, deadline, "
               "deadline_provisional, overdue_at, version, created_at, updated_at, risk_point_id, "
               "grade_criterion",
    "permits": "id, tenant_id, enterprise_id, number, kind, grade, location, content, state, workers, "
               "guardian, second_guardian, hazards_identified, gas_analyses, required_steps, "
               "approvals, acceptances, key_time, key_time_reason, planned_start, planned_end, "
               "issued_at, valid_until, started_at, closed_at, refusal, requested_by, version, "
               "created_at, updated_at",
}


def generate(conn, ids: Ids, shape: dict, phase: int, options, rnd: random.Random) -> dict:
    """Phase 0: the tenants, their areas and enterprises, the first share of points and
    permits; phase 1: the rest."""
    out: dict[str, list[str]] = {table: [] for table in COLUMNS}
    counts = {}
    if phase == 0:
        counts["tenants"] = copy_lines(
            conn, "tenants", "id, code, name, level, plugins, settings, is_active, version, "
            "created_at, updated_at", tenant_rows(options.tenants))
        for t in range(1, options.tenants + 1):
            make_tenant_base(ids, t, rnd, out, shape)
    points_first, permits_first = options.points // 4, options.permits // 4
    for t in range(1, options.tenants + 1):
        points = points_first if phase == 0 else options.points - points_first
        permits = permits_first if phase == 0 else options.permits - permits_first
        make_points(ids, t, points, shape[t], rnd, out)
        make_permits(ids, t, permits, shape[t], rnd, out)
    for table, lines in out.items():
        if lines:
            counts[table] = copy_lines(conn, table, COLUMNS[table], lines)
    for table in COLUMNS:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))")
    return counts


# --------------------------------------------------------------------------- the platform


def context_of(app, info):
    """A system Context of the tenant, on the run's fixed clock."""
    from anjian.context import Context

    return dataclasses.replace(Context.for_system(info, plugins=app.extensions["anjian.plugins"]),
                               clock=lambda: NOW)


@contextmanager
def read_request(info):
    """As the API runs a GET (``anjian.auth.guard``): a READ ONLY transaction in the
    tenant's read scope, ended with COMMIT (psycopg then keeps its prepared statements);
    the session is removed afterwards, outside the timing, as at the request's end."""
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, set_scope

    session = db.session()
    session.connection(execution_options={"postgresql_readonly": True})
    set_scope(session, Scope.tenant(info.id, write=False))
    yield
    session.expire_on_commit = False
    session.commit()


def platform_picture(app, info, by: str) -> tuple[dict, float, list]:
    """``picture(context, by)`` in the tenant's read-only scope, as the API runs it."""
    from anjian.extensions import db
    from anjian.risks.service import picture

    context = context_of(app, info)
    with app.app_context():
        with recording(db.engine) as seen:
            started = time.perf_counter()
            with read_request(info):
                result = picture(context, by)
            seconds = time.perf_counter() - started
        db.session.remove()
    return result, seconds, seen


def platform_permits(app, info) -> tuple[dict, float, list]:
    """The open-permit list's first page as ``GET .../permits/open`` gets it: the service's
    statement paginated, the enterprises' names, which permit is past its validity."""
    from anjian.api.pagination import paginate
    from anjian.extensions import db
    from anjian.permits import service

    context = context_of(app, info)
    with app.app_context():
        with recording(db.engine) as seen:
            started = time.perf_counter()
            with read_request(info):
                page = paginate(service.open_permits(context), 1, PER_PAGE, scalars=False)
                names = {p.enterprise_id: p.enterprise_name for p in page["items"]}
                now = context.clock()
                expired = [service.is_expired(p, now) for p in page["items"]]
            seconds = time.perf_counter() - started
        items = [(_permit_values(p), names.get(p.enterprise_id), late)
                 for p, late in zip(page["items"], expired, strict=True)]
        db.session.remove()
    return {"total": page["total"], "items": items}, seconds, seen


# What a page of permits shows of each (``PermitSchema``'s stored fields, in its order).
PERMIT_FIELDS = ("id", "number", "enterprise_id", "kind", "grade", "location", "content", "state", "workers",
                 "guardian", "second_guardian", "key_time", "key_time_reason", "planned_start", "planned_end",
                 "issued_at", "valid_until", "started_at", "closed_at", "refusal", "requested_by", "version",
                 "created_at", "updated_at")


def _permit_values(permit) -> tuple:
    return tuple(getattr(permit, field) for field in PERMIT_FIELDS)


# --------------------------------------------------------------------------- the floors


POINTS = """
    SELECT enterprise_id, count(*) AS points,
           count(*) FILTER (WHERE level = 'major') AS major,
           count(*) FILTER (WHERE level = 'large') AS large,
           count(*) FILTER (WHERE level = 'general') AS general,
           count(*) FILTER (WHERE level = 'low') AS low,
           count(*) FILTER (WHERE coalesce(inspected_on, (created_at AT TIME ZONE 'Asia/Shanghai')::date)
                                  + CASE managing_level WHEN 'company' THEN 30 WHEN 'workshop' THEN 7
                                                        ELSE 1 END < %(today)s) AS overdue
      FROM risk_points WHERE tenant_id = %(t)s AND status = 'active'
     GROUP BY enterprise_id
"""

FLOOR_AREAS = f"""
WITH RECURSIVE pts AS MATERIALIZED ({POINTS}
), ent AS (  -- the live enterprises by area, with their points
    SELECT e.area_id, count(*) AS enterprises, count(p.enterprise_id) AS registered,
           coalesce(sum(p.points), 0) AS points, coalesce(sum(p.major), 0) AS major,
           coalesce(sum(p.large), 0) AS large, coalesce(sum(p.general), 0) AS general,
           coalesce(sum(p.low), 0) AS low, coalesce(sum(p.overdue), 0) AS overdue
      FROM enterprises e LEFT JOIN pts p ON p.enterprise_id = e.id
     WHERE e.tenant_id = %(t)s AND e.deleted_at IS NULL
     GROUP BY e.area_id
), walk AS (  -- each area's figures carried up its parents
    SELECT a.id AS node, a.parent_id AS parent, n.enterprises, n.registered, n.points, n.major,
           n.large, n.general, n.low, n.overdue
      FROM ent n JOIN areas a ON a.tenant_id = %(t)s AND a.id = n.area_id
  UNION ALL
    SELECT p.id, p.parent_id, w.enterprises, w.registered, w.points, w.major, w.large, w.general,
           w.low, w.overdue
      FROM walk w JOIN areas p ON p.tenant_id = %(t)s AND p.id = w.parent
), fig AS (
    SELECT node, sum(enterprises) AS enterprises, sum(registered) AS registered, sum(points) AS points,
           sum(major) AS major, sum(large) AS large, sum(general) AS general, sum(low) AS low,
           sum(overdue) AS overdue
      FROM walk GROUP BY node
)
SELECT 0 AS part, a.code COLLATE "C" AS code, a.id, a.name, a.kind, a.parent_id,
       coalesce(f.enterprises, 0)::int, coalesce(f.registered, 0)::int, coalesce(f.points, 0)::int,
       coalesce(f.major, 0)::int, coalesce(f.large, 0)::int, coalesce(f.general, 0)::int,
       coalesce(f.low, 0)::int, coalesce(f.overdue, 0)::int
  FROM areas a LEFT JOIN fig f ON f.node = a.id
 WHERE a.tenant_id = %(t)s {{kind}}
UNION ALL
SELECT CASE WHEN grouping(area_id) = 1 THEN 2 ELSE 1 END, NULL, NULL, NULL, NULL, NULL,
       sum(enterprises)::int, sum(registered)::int, sum(points)::int, sum(major)::int,
       sum(large)::int, sum(general)::int, sum(low)::int, sum(overdue)::int
  FROM ent GROUP BY GROUPING SETS ((area_id), ()) HAVING {{unassigned}}
 ORDER BY 1, 2, 3
"""
FLOORS = {
    # the unassigned enterprises' row (part 1) and the totals (part 2)
    "area": FLOOR_AREAS.format(kind="", unassigned="grouping(area_id) = 1 OR area_id IS NULL"),
    "grid": FLOOR_AREAS.format(kind="AND a.kind = 'grid'", unassigned="grouping(area_id) = 1"),
    "enterprise": f"""
WITH pts AS MATERIALIZED ({POINTS})
SELECT e.id, e.name, e.area_id, (p.enterprise_id IS NOT NULL)::int, coalesce(p.points, 0)::int,
       coalesce(p.major, 0)::int, coalesce(p.large, 0)::int, coalesce(p.general, 0)::int,
       coalesce(p.low, 0)::int, coalesce(p.overdue, 0)::int
  FROM enterprises e LEFT JOIN pts p ON p.enterprise_id = e.id
 WHERE e.tenant_id = %(t)s AND e.deleted_at IS NULL
 ORDER BY e.name, e.id
""",
}
FLOOR_PERMITS = f"""
SELECT {', '.join(f'p.{c}' for c in PERMIT_FIELDS)}, e.name,
       coalesce(p.state IN ('issued', 'in_progress') AND p.valid_until < %(now)s, false),
       count(*) OVER ()
  FROM permits p JOIN enterprises e ON e.tenant_id = p.tenant_id AND e.id = p.enterprise_id
 WHERE p.tenant_id = %(t)s
   AND p.state IN ('requested', 'identified', 'approving', 'approved', 'issued', 'in_progress',
                   'accepting', 'accepted')
 ORDER BY p.planned_start NULLS LAST, p.id
 LIMIT %(limit)s
"""


def _scoped(conn, tenant_id: int) -> None:
    """The tenant's read scope, set per transaction as the app sets it (the connection is
    READ ONLY, as the API's reads are)."""
    conn.execute("SELECT set_config('app.tenant_ids', %s, true), "
                 "set_config('app.tenant_id', '', true)", (str(tenant_id),))


def floor_picture(conn, tenant_id: int, by: str) -> tuple[list, float]:
    started = time.perf_counter()
    _scoped(conn, tenant_id)
    rows = conn.execute(FLOORS[by], {"t": tenant_id, "today": TODAY}).fetchall()
    conn.commit()
    return rows, time.perf_counter() - started


def floor_permits(conn, tenant_id: int) -> tuple[list, float]:
    started = time.perf_counter()
    _scoped(conn, tenant_id)
    rows = conn.execute(FLOOR_PERMITS, {"t": tenant_id, "now": NOW, "limit": PER_PAGE}).fetchall()
    conn.commit()
    return rows, time.perf_counter() - started


COUNT_KEYS = ("enterprises", "registered", "points", "major", "large", "general", "low",
              "overdue_inspections")


def picture_answer(by: str, rows) -> dict:
    """The floor's rows shaped as ``picture`` answers (no counting here)."""
    if by == "enterprise":
        items = [{"id": r[0], "name": r[1], "kind": "enterprise", "area_id": r[2], "parent_id": None,
                  **dict(zip(COUNT_KEYS, (1, *r[3:]), strict=True))} for r in rows]
        totals = {k: sum(item[k] for item in items) for k in COUNT_KEYS}
        return {"by": by, "totals": totals, "items": items}
    items, totals = [], dict.fromkeys(COUNT_KEYS, 0)
    for part, _code, area_id, name, kind, parent_id, *counts in rows:
        figures = dict(zip(COUNT_KEYS, counts, strict=True))
        if part == 2:
            totals = figures
        elif part == 1:
            items.append({"id": None, "name": "未划分区域", "kind": "none", "area_id": None,
                          "parent_id": None, **figures})
        else:
            items.append({"id": area_id, "name": name, "kind": kind, "area_id": None,
                          "parent_id": parent_id, **figures})
    return {"by": by, "totals": totals, "items": items}


def permits_answer(rows) -> dict:
    width = len(PERMIT_FIELDS)
    return {"total": rows[0][-1] if rows else 0,
            "items": [(tuple(r[:width]), r[width], r[width + 1]) for r in rows]}


# --------------------------------------------------------------------------- measuring


def _statements(seen) -> list:
    return [s for s in seen if "set_config" not in s[0]]


def _differences(ours: dict, floor: dict) -> list[str]:
    out = []
    if ours.get("totals") != floor.get("totals"):
        out.append(f"totals: platform {ours.get('totals')}\n        floor    {floor.get('totals')}")
    if ours.get("total") != floor.get("total"):
        out.append(f"total: platform {ours.get('total')}, floor {floor.get('total')}")
    mine, theirs = ours["items"], floor["items"]
    if len(mine) != len(theirs):
        out.append(f"{len(mine)} items against the floor's {len(theirs)}")
    for n, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            out.append(f"item {n}:\n  platform {a}\n  floor    {b}")
            if len(out) > 10:
                break
    return out


def _check(label: str, ours: dict, floor: dict) -> None:
    differences = _differences(ours, floor)
    if differences:
        print(f"\n{label}: the platform's answer differs from the floor's:", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(1)


def measure(label: str, app, app_conn, info, repeat: int, timed: bool) -> dict:
    cases = {by: (lambda by=by: platform_picture(app, info, by),
                  lambda by=by: floor_picture(app_conn, info.id, by),
                  lambda rows, by=by: picture_answer(by, rows)) for by in BYS}
    cases["permits"] = (lambda: platform_permits(app, info), lambda: floor_permits(app_conn, info.id),
                        permits_answer)
    out = {}
    for case, (mine, base, shape) in cases.items():
        ours, _, seen = mine()
        rows, _ = base()
        _check(f"{label}, {case}", ours, shape(rows))
        figures = {"statements": len(_statements(seen)), "all_statements": len(seen)}
        if case == "permits":
            if not ours["items"]:
                raise SystemExit(f"{label}: no open permit: an empty page proves nothing")
            figures["answer"] = {"total": ours["total"], "page": len(ours["items"]),
                                 "expired": sum(1 for item in ours["items"] if item[2])}
        else:
            if not ours["totals"]["points"]:
                raise SystemExit(f"{label}: no risk point: an empty picture proves nothing")
            figures["answer"] = {"rows": len(ours["items"]), **ours["totals"]}
        if timed:
            mine_s, base_s, per_statement = [], [], []
            # milliseconds each: many rounds, alternated, for at least SECONDS (a median of
            # 50 runs moved by a fifth from one run of the script to the next)
            until = time.perf_counter() + SECONDS
            while len(mine_s) < max(repeat, 1) * 10 or time.perf_counter() < until:
                _, seconds, seen = mine()
                mine_s.append(seconds)
                per_statement.append([s[2] for s in seen])
                base_s.append(base()[1])
            figures["runs"] = len(mine_s)
            figures["platform_s"] = statistics.median(mine_s)
            figures["floor_s"] = statistics.median(base_s)
            figures["statement_ms"] = [round(statistics.median(col) * 1000, 2)
                                       for col in zip(*per_statement, strict=True)]
            figures["statement_text"] = [" ".join(s[0].split())[:110] for s in seen]
            figures["seen"] = seen
        out[case] = figures
    return out


def explain(app_conn, tenant_id: int, case: str, seen) -> None:
    """EXPLAIN ANALYZE of the platform's statements (with their parameters) and the
    floor's, as anjian_app in the tenant's scope."""
    def run(sql: str, params) -> str:
        _scoped(app_conn, tenant_id)
        plan = app_conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        app_conn.rollback()
        return "\n".join(f"    {line}" for (line,) in plan)

    for statement, params, _ in _statements(seen):
        print(f"\n  platform: {' '.join(statement.split())[:300]}\n{run(statement, params)}")
    if case == "permits":
        print(f"\n  floor:\n{run(FLOOR_PERMITS, {'t': tenant_id, 'now': NOW, 'limit': PER_PAGE})}")
    else:
        print(f"\n  floor:\n{run(FLOORS[case], {'t': tenant_id, 'today': TODAY})}")


# --------------------------------------------------------------------------- the run


def run(options) -> dict:
    import psycopg

    with tempfile.TemporaryDirectory(prefix="anjian-bench-") as tmp, Postgres() as admin:
        app_url = admin.replace("//postgres@", f"//{APP_ROLE}@", 1)
        started = time.perf_counter()
        migrate(admin, app_url, tmp)
        owner = psycopg.connect(libpq(admin))
        ids, shape, rnd = Ids(), {}, random.Random(2026)
        with bulk_load(owner):  # generated data: no RI triggers, then ANALYZE
            first = generate(owner, ids, shape, 0, options, rnd)
        print(f"generated in {time.perf_counter() - started:.1f} s: {first}", flush=True)
        app = make_app(app_url, tmp)
        probe = options.tenants // 2 + 1
        info = tenant_info(app, probe)
        app_conn = psycopg.connect(libpq(app_url))
        app_conn.read_only = True  # as the API's reads: BEGIN READ ONLY ... COMMIT
        small = measure("first size", app, app_conn, info, options.repeat, timed=False)

        t1 = time.perf_counter()
        with bulk_load(owner):
            more = generate(owner, ids, shape, 1, options, rnd)
        print(f"generated the rest in {time.perf_counter() - t1:.1f} s: {more}", flush=True)
        full = measure("full size", app, app_conn, info, options.repeat, timed=True)
        totals = {table: owner.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("tenants", "areas", "enterprises", "risk_points", "risk_controls",
                                "risk_gradings", "hazards", "permits")}
        linked = owner.execute("SELECT count(*) FROM hazards WHERE risk_point_id IS NOT NULL").fetchone()[0]
        if options.profile:
            import cProfile
            import pstats

            for case in (*BYS, "permits"):
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(20):
                    if case == "permits":
                        platform_permits(app, info)
                    else:
                        platform_picture(app, info, case)
                profiler.disable()
                print(f"\nprofile of 20 platform runs, {case}, by own time:")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        if options.explain:
            for case in (*BYS, "permits"):
                print(f"\nEXPLAIN ANALYZE, {case} (tenant {probe}):")
                explain(app_conn, probe, case, full[case]["seen"])
        for figures in full.values():
            figures.pop("seen", None)
        app_conn.close()
        owner.close()
        with app.app_context():
            from anjian.extensions import db

            db.engine.dispose()
    return {"small": small, "full": full, "totals": totals, "linked_hazards": linked, "probe": probe,
            "generation_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--points", type=int, default=200, help="risk points of each tenant")
    parser.add_argument("--permits", type=int, default=200, help="permits of each tenant")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (x10, median)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of the platform's statements and the floors")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the platform's runs at the full size")
    options = parser.parse_args()
    if options.tenants < 1 or options.points < 8 or options.permits < 8:
        parser.error("at least one tenant, 8 points and 8 permits each")
    figures = run(options)
    small, full, totals = figures["small"], figures["full"], figures["totals"]
    print(f"\n{totals['tenants']:,} tenants: {totals['areas']:,} areas, {totals['enterprises']:,} "
          f"enterprises, {totals['risk_points']:,} risk points ({totals['risk_controls']:,} controls, "
          f"{totals['risk_gradings']:,} gradings), {totals['hazards']:,} hazards "
          f"({figures['linked_hazards']:,} on a point), {totals['permits']:,} permits; "
          f"tenant {figures['probe']} measured, on {TODAY}")
    statements_equal = True
    for case in (*BYS, "permits"):
        f, s = full[case], small[case]
        statements_equal &= s["statements"] == f["statements"]
        title = f"picture by {case}" if case in BYS else "open permits, first page"
        print(f"\n{title}: {f['answer']} (equal to the floor's)")
        print(f"  platform {f['platform_s'] * 1000:.2f} ms, floor (one statement, {APP_ROLE}) "
              f"{f['floor_s'] * 1000:.2f} ms, ratio {f['platform_s'] / f['floor_s']:.2f} "
              f"(medians of {f['runs']} alternated runs each)")
        print(f"  SQL statements: {s['statements']} at the first size, {f['statements']} at the full "
              f"size ({s['all_statements']} and {f['all_statements']} with the scope's set_config)")
        for ms, text in zip(f["statement_ms"], f["statement_text"], strict=True):
            print(f"    {ms:8.2f}  {text}")
        print(f"    {sum(f['statement_ms']):8.2f}  in all; the rest of "
              f"{f['platform_s'] * 1000:.2f} ms is Python")
    picture_s = sum(full[by]["platform_s"] for by in BYS)
    picture_floor_s = sum(full[by]["floor_s"] for by in BYS)
    ratios = {"picture": picture_s / picture_floor_s,
              "permits": full["permits"]["platform_s"] / full["permits"]["floor_s"]}
    if not statements_equal:
        print("\nthe number of SQL statements changed with the rows", file=sys.stderr)
    ratio = max(ratios.values())
    goal_met = ratio <= GOAL_RATIO and statements_equal
    print(f"\nthe picture (area, grid and enterprise together): platform {picture_s * 1000:.2f} ms, "
          f"floor {picture_floor_s * 1000:.2f} ms, ratio {ratios['picture']:.2f}; open permits "
          f"ratio {ratios['permits']:.2f}")
    print(f"goal ratio <= {GOAL_RATIO:g} for both, statements equal at both sizes: "
          f"{'met' if goal_met else 'NOT met'}")
    print(json.dumps({
        "bench": "risks", "ratio": round(ratio, 2),
        "goal": f"ratio <= {GOAL_RATIO:g} (the picture and the open permits) and statements equal "
                f"at both sizes",
        "goal_met": goal_met, "tenants": options.tenants, "risk_points": totals["risk_points"],
        "hazards": totals["hazards"], "permits": totals["permits"],
        "ratio_picture": round(ratios["picture"], 2), "ratio_permits": round(ratios["permits"], 2),
        **{f"ratio_{by}": round(full[by]["platform_s"] / full[by]["floor_s"], 2) for by in BYS},
        "picture_ms": round(picture_s * 1000, 2), "picture_floor_ms": round(picture_floor_s * 1000, 2),
        "permits_ms": round(full["permits"]["platform_s"] * 1000, 2),
        "permits_floor_ms": round(full["permits"]["floor_s"] * 1000, 2),
        "statements": {case: [small[case]["statements"], full[case]["statements"]]
                       for case in (*BYS, "permits")},
        "generation_s": round(figures["generation_s"], 1)}, ensure_ascii=False))
    if not statements_equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
