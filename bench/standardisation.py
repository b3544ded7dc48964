#!/usr/bin/env python
"""Benchmark: the standardisation programme's progress per 板块 against a hand-written SQL floor.

Not a test (pytest's testpaths is ``tests/``). Run from the repository root:

    .venv/bin/python bench/standardisation.py                  # 100,000 + 500 x 200 enterprises
    .venv/bin/python bench/standardisation.py --rows 5000 --tenants 20 --repeat 2

It imports ``bench/closed_loop.py``'s helpers (migration, the app, COPY, statement
counting); a throwaway PostgreSQL cluster through ``bench/harness.py``, or
``ANJIAN_BENCH_POSTGRES_URL``. The schema is migrated as the owner; the platform runs
as the unprivileged role ``anjian_app`` (Row-Level Security on).

Data, generated with COPY as the owner, every tenant with the plugin ``anjian_changshu``
and the 2019 programme in its settings (the test suite's targets; key industries 液氨制冷,
有限空间, 劳动密集), in two shapes in the same database:

* **one tenant** with ``--rows`` enterprises (100,000) over 20 板块 of different sizes,
  each with 10 villages of 3 grids (820 areas);
* **the same spread over ``--tenants`` tenants** (500 × 200 enterprises), each with its
  own 20 板块 of 2 villages of 2 grids (140 areas).

Enterprises sit on a 板块 (10 %), a village (30 %) or a grid (59 %), 1 % on no area;
15 % above scale; about 10 % flagged with a key industry (and some with the flags that
are not, 粉尘涉爆 and 重大危险源); 1 % deleted. Of the small and micro ones, about 68 %
hold a certificate in force: achieved (a few of them issued in 2016, so due in 2019),
renewed (mostly in 2019, some in 2018), 期满换证 or 复评 with a certificate expiring in
2019 or early 2020; 3 % delisted (2019 or 2018); others applied, self-evaluated or exempt;
3 % of them hold a 三级 certificate too; a quarter of those above scale are certified
三级 or 二级; demonstration on 3 % of the certificates (a few of them delisted since).
Look-backs and audits (std_checks) on about 5 % of the certified, in 2019 (a fifth of
them twice) or only in 2018. Every live enterprise classified ABCD as the plugin's
classification leaves it (A 示范, B 期满换证, C 初评达标, D the rest). Per-板块 targets (achieved_total) and a city-wide
override (achieved_ratio) for 2019, and targets of 2018. First ``--small``
enterprises of the one tenant (and the same share of each other tenant's), then the
rest; ANALYZE after each.

Measured: ``anjian.standardisation.progress.progress(context, 2019)`` (up to the
programme's due date, 2019-12-31) under the tenant's scope, with a ``Context`` of the
tenant (its ``TenantInfo``, settings validated by the plugin), for the one tenant and
for the middle tenant of the spread, each against the floor: one hand-written statement
giving every 板块's figures (and the unassigned ones'), its targets and the city's
targets (the live enterprises by area, with their supervision classes counted, their
certificates by area, each area's figures carried up to its 板块 by a recursive CTE), on
a psycopg connection of the same role with the same RLS setting; Python then only
derives the ratios, sums the city and compares with the targets (not timed, as in the
other floors). The two answers must be equal (every 板块, the city, the flags, the
classes, the targets, the metrics below target) or the run fails. SQL statements are
counted at both sizes (they must not grow); timings are medians of alternated runs (at
least ``--repeat`` × 5 of each, and as many as fit in 5 seconds), and the platform's
statements are timed one by one. Goal: ratio <= 1.5 for both cases (the worse is
``ratio``); a statement count that grows, or answers that differ, exit non-zero. The
last line is ``{"bench": "standardisation", "ratio": ..., "goal": "ratio <= 1.5 (both
cases) and statements equal at both sizes", "goal_met": ...}``. ``--explain`` prints
EXPLAIN ANALYZE of the platform's statements and of the floor at the full size,
``--profile`` a cProfile of five platform runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT / "plugins"), str(ROOT)]

from bench.closed_loop import (  # noqa: E402
    APP_ROLE,
    bulk_load,
    copy_lines,
    make_app,
    migrate,
)
from bench.harness import Postgres, libpq  # noqa: E402

PLUGIN = "anjian_changshu"
YEAR = 2019
START, BY = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
NOW = "2019-12-20 08:00:00+00"
GOAL_RATIO = 1.5  # platform seconds / floor seconds, each case
SECONDS = 5.0  # the least time each case is measured for (alternated runs, the medians)
ONE_TENANT = 1
SECTORS = 20
# The tenant's programme: tests/test_standardisation.py's settings.
SETTINGS = {"year": YEAR, "target_achieved_total": 100, "target_achieved_ratio": 0.7,
            "target_key_industry_ratio": 1.0, "target_renewed_total": 10,
            "target_renewed_ratio_of_due": 0.5, "target_demonstration": 5,
            "target_lookbacks": 15, "target_key_industry_lookbacks": 3,
            "min_delisting_ratio": 0.05, "targets_due": "2019-12-31"}
KEY_FLAGS = ("ammonia_refrigeration", "confined_space", "labour_intensive")
# The supervision classes (anjian_changshu's ABCD: 示范, 期满换证, 初评达标, 未达标) and
# their inspections a year, as the plugin's classification job stores them.
CLASS_VISITS = {"A": 1, "B": 2, "C": 2, "D": 4}
SECTOR_NAMES = ["虞山街道", "常福街道", "琴川街道", "莫城街道", "碧溪街道", "东南街道", "梅李镇",
                "海虞镇", "古里镇", "沙家浜镇", "支塘镇", "董浜镇", "辛庄镇", "尚湖镇",
                "常熟经济技术开发区", "常熟高新技术产业开发区", "服装城", "虞山林场", "昆承湖片区",
                "滨江新区"]
VALID = ("achieved", "renewal_due", "re_evaluating")
COUNTS = ("small_micro", "achieved_total", "key_industry_total", "key_industry_achieved",
          "renewed_total", "due_total", "demonstration", "lookbacks", "key_industry_lookbacks",
          "delisted")


def _day(rnd: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rnd.randrange((end - start).days + 1))


def _years(day: dt.date, n: int) -> dt.date:
    return day.replace(year=day.year + n) if (day.month, day.day) != (2, 29) else \
        day.replace(year=day.year + n, day=28)


# --------------------------------------------------------------------------- data (COPY)


class Ids:
    """The next id of each generated table (ids are global, as the sequences give them)."""

    def __init__(self):
        self.next = {"areas": 1, "enterprises": 1, "std_certifications": 1, "std_checks": 1,
                     "std_targets": 1, "enterprise_classes": 1}

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def tenant_rows(tenants: int):
    settings = json.dumps({PLUGIN: SETTINGS}, ensure_ascii=False)
    yield (f"{ONE_TENANT}\tcs-bench-one\t常熟市应急管理局（基准，单租户）\tcounty\t"
           f'["{PLUGIN}"]\t{settings}\tt\t1\t{NOW}\t{NOW}\n')
    for t in range(2, tenants + 2):
        yield (f"{t}\tcs-bench-{t - 1:03d}\t基准县{t - 1:03d}应急管理局\tcounty\t"
               f'["{PLUGIN}"]\t{settings}\tt\t1\t{NOW}\t{NOW}\n')


def make_areas(ids: Ids, tenant: int, villages: int, grids: int, rnd: random.Random):
    """The tenant's 板块 > villages > grids: (COPY lines, layout). The layout is a list per
    板块 of (weight, 板块 id, village ids, grid ids)."""
    lines, layout = [], []
    for s in range(1, SECTORS + 1):
        sector = ids.take("areas")
        code = f"s{s:02d}"
        lines.append(f"{sector}\t{tenant}\t{code}\t{SECTOR_NAMES[s - 1]}\tsector\t\\N\tt\t{NOW}\t{NOW}\n")
        village_ids, grid_ids = [], []
        for v in range(1, villages + 1):
            village = ids.take("areas")
            village_ids.append(village)
            lines.append(f"{village}\t{tenant}\t{code}-v{v:02d}\t{SECTOR_NAMES[s - 1]}第{v}村\tvillage\t"
                         f"{sector}\tt\t{NOW}\t{NOW}\n")
            for g in range(1, grids + 1):
                grid = ids.take("areas")
                grid_ids.append(grid)
                lines.append(f"{grid}\t{tenant}\t{code}-v{v:02d}-g{g}\t{SECTOR_NAMES[s - 1]}第{v}村"
                             f"第{g}网格\tgrid\t{village}\tt\t{NOW}\t{NOW}\n")
        layout.append((rnd.uniform(0.4, 2.0), sector, village_ids, grid_ids))
    return lines, layout


def make_targets(ids: Ids, tenant: int, layout, rnd: random.Random) -> list[str]:
    lines = [f"{ids.take('std_targets')}\t{tenant}\t{YEAR}\t\\N\tachieved_ratio\t0.6800\t{NOW}\n",
             f"{ids.take('std_targets')}\t{tenant}\t{YEAR - 1}\t\\N\tachieved_total\t50\t{NOW}\n"]
    for n, (_weight, sector, _villages, _grids) in enumerate(layout):
        if n % 4 != 3:  # three 板块 in four have their own share
            lines.append(f"{ids.take('std_targets')}\t{tenant}\t{YEAR}\t{sector}\tachieved_total\t"
                         f"{rnd.randrange(5, 4000)}\t{NOW}\n")
        lines.append(f"{ids.take('std_targets')}\t{tenant}\t{YEAR - 1}\t{sector}\tachieved_total\t"
                     f"{rnd.randrange(5, 4000)}\t{NOW}\n")
    return lines


def make_enterprises(ids: Ids, tenant: int, count: int, layout, rnd: random.Random,
                     out: dict[str, list[str]]) -> None:
    """``count`` enterprises of ``tenant`` with their certifications and checks, appended
    to ``out``'s COPY lines."""
    weights = [w for w, *_ in layout]
    ents, certs, checks = out["enterprises"], out["std_certifications"], out["std_checks"]
    classes = out["enterprise_classes"]

    def cert(enterprise: int, scheme: str, state: str, *, issued=None, expires=None, first=None,
             renewed=None, renewals=0, delisted=None, demonstration=False) -> int:
        cid = ids.take("std_certifications")
        applied = (issued or _day(rnd, dt.date(2016, 1, 1), dt.date(2019, 10, 1))) - dt.timedelta(days=90)
        certified = issued is not None
        n = r"\N"
        certs.append(
            f"{cid}\t{tenant}\t{enterprise}\t{scheme}\t{state}\t{applied}\t"
            f"{'85.50' if certified or state == 'self_evaluated' else n}\t\t"
            f"{applied + dt.timedelta(days=30) if certified or state == 'self_evaluated' else n}\t"
            f"{'organisation' if certified else n}\t{'88.00' if certified else n}\t"
            f"{issued or n}\t{f'苏AQB{tenant}-{cid}' if certified else n}\t{issued or n}\t"
            f"{expires or n}\t{first or issued or n}\t{renewals}\t{renewed or n}\t"
            f'{{"address": "常熟市", "industry_code": "C3311", "main_products": "金属结构"}}\t\t'
            f"{'t' if demonstration else 'f'}\tf\t{'企业正在搬迁' if state == 'exempt' else ''}\t"
            f"{delisted or n}\t{'发生较大事故' if delisted else ''}\t1\t{NOW}\t{NOW}\n")
        return cid

    def check(cid: int, day: dt.date) -> None:
        conclusion = rnd.choices(("pass", "rectify", "recommend_delisting"), (80, 15, 5))[0]
        rectify_by = day + dt.timedelta(days=30) if conclusion == "rectify" else r"\N"
        kind = "lookback" if rnd.random() < 0.7 else "audit"
        checks.append(f"{ids.take('std_checks')}\t{tenant}\t{cid}\t{kind}\t\\N\t{day}\t{conclusion}\t"
                      f"{rectify_by}\t安全管理台账不全\t\\N\t{NOW}\n")

    for _ in range(count):
        eid = ids.take("enterprises")
        _w, sector, villages, grids = rnd.choices(layout, weights)[0]
        place = rnd.random()
        area = (r"\N" if place < 0.01 else sector if place < 0.11 else
                rnd.choice(villages) if place < 0.41 else rnd.choice(grids))
        roll = rnd.random()
        scale = "above" if roll < 0.15 else "below" if roll < 0.6 else "micro"
        flags = ["t" if rnd.random() < p else "f" for p in (0.04, 0.03, 0.05, 0.01, 0.03)]
        # dust_explosion, ammonia_refrigeration, confined_space, major_hazard, labour_intensive
        deleted = "2019-06-01 00:00:00+00" if rnd.random() < 0.01 else r"\N"
        status = rnd.choices(("active", "suspended", "closed"), (96, 2, 2))[0]
        ents.append(f"{eid}\t{tenant}\t91320581{eid:010d}\t常熟市第{eid}号企业\t常熟市{eid}号\t{scale}\tf\t"
                    f"\t\t{flags[0]}\t{flags[1]}\t{flags[2]}\t{flags[3]}\t{flags[4]}\t\t\t\t\t{area}\t"
                    f"{status}\t{{}}\t{deleted}\t{NOW}\t{NOW}\n")
        demo = rnd.random() < 0.03
        held: list[int] = []  # certificates a look-back may be about
        klass = "D"  # the plugin's ABCD, from the certificate in force (see below)
        if scale == "above":
            if rnd.random() < 0.25:
                issued = _day(rnd, dt.date(2017, 1, 1), dt.date(2019, 11, 30))
                held.append(cert(eid, "level3" if rnd.random() < 0.8 else "level2", "achieved",
                                 issued=issued, expires=_years(issued, 3), demonstration=demo))
                klass = "A" if demo else "C"
        else:
            r = rnd.random()
            klass = "D" if r >= 0.68 else "A" if demo else "B" if r >= 0.62 else "C"
            if r < 0.52:  # achieved, never renewed; a few issued in 2016, so due in 2019
                issued = (_day(rnd, dt.date(2016, 3, 1), dt.date(2016, 12, 31)) if rnd.random() < 0.05
                          else _day(rnd, dt.date(2017, 1, 1), dt.date(2019, 11, 30)))
                held.append(cert(eid, "small_micro", "achieved", issued=issued,
                                 expires=_years(issued, 3), demonstration=demo))
            elif r < 0.62:  # renewed: in 2019, some in 2018
                renewed = _day(rnd, dt.date(2018, 1, 1) if r >= 0.60 else START,
                               dt.date(2018, 12, 31) if r >= 0.60 else dt.date(2019, 12, 15))
                first = _years(renewed, -3)
                held.append(cert(eid, "small_micro", "achieved", issued=renewed, expires=_years(renewed, 3),
                                 first=first, renewed=renewed, renewals=1, demonstration=demo))
            elif r < 0.68:  # 期满换证 (or 复评): a certificate expiring in 2019 or early 2020
                expires = _day(rnd, dt.date(2019, 2, 1), dt.date(2020, 2, 28))
                held.append(cert(eid, "small_micro", "renewal_due" if r < 0.66 else "re_evaluating",
                                 issued=_years(expires, -3), expires=expires, demonstration=demo))
            elif r < 0.71:  # delisted: mostly in 2019
                issued = _day(rnd, dt.date(2016, 1, 1), dt.date(2018, 6, 30))
                delisted = _day(rnd, START if r < 0.70 else dt.date(2018, 7, 1),
                                BY if r < 0.70 else dt.date(2018, 12, 31))
                held.append(cert(eid, "small_micro", "delisted", issued=issued, expires=_years(issued, 3),
                                 delisted=delisted, demonstration=demo))
            elif r < 0.78:
                cert(eid, "small_micro", "applied" if r < 0.75 else "self_evaluated")
            elif r < 0.80:
                cert(eid, "small_micro", "exempt")
            if held and r < 0.68 and rnd.random() < 0.03:  # a second scheme
                issued = _day(rnd, dt.date(2017, 1, 1), dt.date(2019, 11, 30))
                in_force = rnd.random() < 0.7
                held.append(cert(eid, "level3", "achieved" if in_force else "applied",
                                 issued=issued if in_force else None,
                                 expires=_years(issued, 3) if in_force else None))
        if held and rnd.random() < 0.07:  # looked back at: 2019 (a fifth twice), or 2018 only
            cid = rnd.choice(held)
            if rnd.random() < 0.85:
                check(cid, _day(rnd, dt.date(2019, 3, 1), dt.date(2019, 12, 20)))
                if rnd.random() < 0.2:
                    check(cid, _day(rnd, dt.date(2019, 3, 1), dt.date(2019, 12, 20)))
            else:
                check(cid, _day(rnd, dt.date(2018, 3, 1), dt.date(2018, 12, 20)))
        if deleted == r"\N":  # classified (classify_enterprise), as the plugin's job leaves them
            classes.append(f"{ids.take('enterprise_classes')}\t{tenant}\t{eid}\t{klass}\t{klass}类\t\t"
                           f"{CLASS_VISITS[klass]}\t2019-06-30\n")


def generate(conn, ids: Ids, shape: dict, phase: int, options, rnd: random.Random) -> dict:
    """Phase 0: the tenants, areas and targets, and the first size's enterprises; phase 1:
    the rest of the enterprises."""
    out: dict[str, list[str]] = {"areas": [], "std_targets": [], "enterprises": [],
                                 "std_certifications": [], "std_checks": [], "enterprise_classes": []}
    counts = {}
    per = options.rows // options.tenants
    if phase == 0:
        counts["tenants"] = copy_lines(
            conn, "tenants", "id, code, name, level, plugins, settings, is_active, version, "
            "created_at, updated_at", tenant_rows(options.tenants))
        for t in range(1, options.tenants + 2):
            villages, grids = (10, 3) if t == ONE_TENANT else (2, 2)
            lines, shape[t] = make_areas(ids, t, villages, grids, rnd)
            out["areas"] += lines
            out["std_targets"] += make_targets(ids, t, shape[t], rnd)
    small_per = max(1, per * options.small // options.rows)
    for t in range(1, options.tenants + 2):
        if t == ONE_TENANT:
            n = options.small if phase == 0 else options.rows - options.small
        else:
            n = small_per if phase == 0 else per - small_per
        make_enterprises(ids, t, n, shape[t], rnd, out)
    columns = {
        "areas": "id, tenant_id, code, name, kind, parent_id, is_active, created_at, updated_at",
        "std_targets": "id, tenant_id, year, area_id, metric, value, updated_at",
        "enterprises": "id, tenant_id, credit_code, name, address, scale, above_quota, "
                       "main_products, main_risk_factors, dust_explosion, ammonia_refrigeration, "
                       "confined_space, major_hazard, labour_intensive, principal_name, "
                       "principal_phone, contact_name, contact_phone, area_id, status, extra, "
                       "deleted_at, created_at, updated_at",
        "std_certifications": "id, tenant_id, enterprise_id, scheme, state, applied_on, self_score, "
                              "self_report, self_evaluated_on, reviewer, review_score, reviewed_on, "
                              "certificate_no, issued_on, expires_on, first_achieved_on, renewals, "
                              "renewed_on, certified_as, rereview_reason, demonstration, "
                              "delisting_recommended, exempt_reason, delisted_on, delisting_reason, "
                              "version, created_at, updated_at",
        "std_checks": "id, tenant_id, certification_id, kind, organisation_id, checked_on, "
                      "conclusion, rectify_by, findings, actor_user_id, created_at",
        "enterprise_classes": "id, tenant_id, enterprise_id, code, label, reason, inspections_per_year, "
                              "classified_on",
    }
    for table, lines in out.items():
        if lines:
            counts[table] = copy_lines(conn, table, columns[table], lines)
    for table in columns:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))")
    return counts


# --------------------------------------------------------------------------- the platform


@contextmanager
def recording(engine):
    """Every statement the engine sends inside the block: (statement, parameters, seconds),
    from ``before_cursor_execute`` and ``after_cursor_execute`` listeners."""
    from sqlalchemy import event

    seen: list[list] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append([statement, parameters, time.perf_counter()])

    def after(conn, cursor, statement, parameters, context, executemany):
        seen[-1][2] = time.perf_counter() - seen[-1][2]

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def tenant_info(app, tenant_id: int):
    """The tenant as the request guard and the job runner give it to a Context: its row
    read once, its settings validated by the plugin's schema."""
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant

    with app.app_context():
        registry = app.extensions["anjian.plugins"]
        info = registry.tenant_info(db.session.get(Tenant, tenant_id))
        db.session.remove()
    return info


def platform_progress(app, info) -> tuple[dict, float, list]:
    """``progress(context, 2019)`` in the tenant's scope (read-only), as the API runs it."""
    from anjian.context import Context
    from anjian.extensions import db
    from anjian.standardisation.progress import progress
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context():
        with recording(db.engine) as seen:
            started = time.perf_counter()
            with scoped(db.session, Scope.tenant(info.id, write=False)):
                result = progress(Context.for_system(info, plugins=app.extensions["anjian.plugins"]),
                                  YEAR)
                db.session.rollback()
            seconds = time.perf_counter() - started
        db.session.remove()
    return result, seconds, seen


# --------------------------------------------------------------------------- the floor


FLOOR = """
WITH RECURSIVE ent AS (  -- live enterprises by area; the in-force test hashed once (OFFSET 0)
    SELECT area_id,
           count(*) FILTER (WHERE small) AS small_micro,
           count(*) FILTER (WHERE small AND ok) AS achieved_total,
           count(*) FILTER (WHERE f1 OR f2 OR f3) AS key_industry_total,
           count(*) FILTER (WHERE (f1 OR f2 OR f3) AND ok) AS key_industry_achieved,
           count(*) FILTER (WHERE f1) AS f1, count(*) FILTER (WHERE f1 AND ok) AS f1_ok,
           count(*) FILTER (WHERE f2) AS f2, count(*) FILTER (WHERE f2 AND ok) AS f2_ok,
           count(*) FILTER (WHERE f3) AS f3, count(*) FILTER (WHERE f3 AND ok) AS f3_ok,
           count(*) FILTER (WHERE code = 'A') AS ca, count(*) FILTER (WHERE code = 'B') AS cb,
           count(*) FILTER (WHERE code = 'C') AS cc, count(*) FILTER (WHERE code = 'D') AS cd
      FROM (SELECT e.area_id, e.scale IN ('below', 'micro') AS small, e.ammonia_refrigeration AS f1,
                   e.confined_space AS f2, e.labour_intensive AS f3,
                   e.id IN (SELECT enterprise_id FROM std_certifications WHERE tenant_id = %(t)s
                             AND state IN ('achieved', 'renewal_due', 're_evaluating')) AS ok, k.code
              FROM enterprises e
              LEFT JOIN enterprise_classes k ON k.tenant_id = %(t)s AND k.enterprise_id = e.id
             WHERE e.tenant_id = %(t)s AND e.deleted_at IS NULL OFFSET 0) e
     GROUP BY area_id
), crt AS (  -- their certificates by area; the looked-at test hashed once
    SELECT area_id,
           count(*) FILTER (WHERE renewed) AS renewed_total,
           count(*) FILTER (WHERE renewed OR (valid AND expires_on <= %(by)s)) AS due_total,
           count(*) FILTER (WHERE valid AND demonstration) AS demonstration,
           count(*) FILTER (WHERE delisted_on BETWEEN %(start)s AND %(by)s) AS delisted,
           count(*) FILTER (WHERE looked) AS lookbacks,
           count(*) FILTER (WHERE looked AND key) AS key_lookbacks
      FROM (SELECT e.area_id, c.renewed_on BETWEEN %(start)s AND %(by)s AS renewed,
                   c.state IN ('achieved', 'renewal_due', 're_evaluating') AS valid,
                   c.expires_on, c.demonstration, c.delisted_on,
                   e.ammonia_refrigeration OR e.confined_space OR e.labour_intensive AS key,
                   c.id IN (SELECT certification_id FROM std_checks WHERE tenant_id = %(t)s
                             AND checked_on BETWEEN %(start)s AND %(by)s) AS looked
              FROM std_certifications c
              JOIN enterprises e ON e.tenant_id = %(t)s AND e.id = c.enterprise_id
                                AND e.deleted_at IS NULL
             WHERE c.tenant_id = %(t)s OFFSET 0) c
     GROUP BY area_id
), by_area (area_id, small_micro, achieved_total, key_industry_total, key_industry_achieved,
            f1, f1_ok, f2, f2_ok, f3, f3_ok, ca, cb, cc, cd, renewed_total, due_total, demonstration,
            delisted, lookbacks, key_lookbacks) AS (
    SELECT ent.*, 0, 0, 0, 0, 0, 0 FROM ent
    UNION ALL
    SELECT area_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, renewed_total, due_total, demonstration,
           delisted, lookbacks, key_lookbacks FROM crt
), walk AS (  -- each area's figures carried up to its 板块
    SELECT a.id AS node, a.parent_id AS parent, b.small_micro, b.achieved_total,
           b.key_industry_total, b.key_industry_achieved, b.f1, b.f1_ok, b.f2, b.f2_ok, b.f3, b.f3_ok,
           b.ca, b.cb, b.cc, b.cd,
           b.renewed_total, b.due_total, b.demonstration, b.delisted, b.lookbacks, b.key_lookbacks
      FROM by_area b JOIN areas a ON a.tenant_id = %(t)s AND a.id = b.area_id
  UNION ALL
    SELECT p.id, p.parent_id, w.small_micro, w.achieved_total, w.key_industry_total,
           w.key_industry_achieved, w.f1, w.f1_ok, w.f2, w.f2_ok, w.f3, w.f3_ok, w.ca, w.cb, w.cc, w.cd,
           w.renewed_total, w.due_total, w.demonstration, w.delisted, w.lookbacks, w.key_lookbacks
      FROM walk w JOIN areas p ON p.id = w.parent
), fig AS (
    SELECT coalesce(w.node, 0) AS sector, sum(small_micro) AS small_micro,
           sum(achieved_total) AS achieved_total, sum(key_industry_total) AS key_industry_total,
           sum(key_industry_achieved) AS key_industry_achieved, sum(renewed_total) AS renewed_total,
           sum(due_total) AS due_total, sum(demonstration) AS demonstration,
           sum(lookbacks) AS lookbacks, sum(key_lookbacks) AS key_lookbacks, sum(delisted) AS delisted,
           sum(f1) AS f1, sum(f1_ok) AS f1_ok, sum(f2) AS f2, sum(f2_ok) AS f2_ok,
           sum(f3) AS f3, sum(f3_ok) AS f3_ok, sum(ca) AS ca, sum(cb) AS cb, sum(cc) AS cc, sum(cd) AS cd
      FROM (SELECT * FROM walk WHERE parent IS NULL
            UNION ALL SELECT NULL, NULL, small_micro, achieved_total, key_industry_total,
                             key_industry_achieved, f1, f1_ok, f2, f2_ok, f3, f3_ok, ca, cb, cc, cd,
                             renewed_total, due_total, demonstration, delisted, lookbacks, key_lookbacks
                        FROM by_area WHERE area_id IS NULL) w
     GROUP BY 1
), goal_walk AS (
    SELECT a.id AS node, a.parent_id AS parent, g.metric, g.value
      FROM std_targets g JOIN areas a ON a.tenant_id = %(t)s AND a.id = g.area_id
     WHERE g.tenant_id = %(t)s AND g.year = %(year)s
  UNION ALL
    SELECT p.id, p.parent_id, w.metric, w.value
      FROM goal_walk w JOIN areas p ON p.id = w.parent
), goal AS (
    SELECT node AS sector, json_object_agg(metric, value) AS targets
      FROM goal_walk WHERE parent IS NULL GROUP BY node
)
SELECT s.id, s.code, s.name,
       coalesce(f.small_micro, 0)::int, coalesce(f.achieved_total, 0)::int,
       coalesce(f.key_industry_total, 0)::int, coalesce(f.key_industry_achieved, 0)::int,
       coalesce(f.renewed_total, 0)::int, coalesce(f.due_total, 0)::int,
       coalesce(f.demonstration, 0)::int, coalesce(f.lookbacks, 0)::int,
       coalesce(f.key_lookbacks, 0)::int, coalesce(f.delisted, 0)::int,
       coalesce(f.f1, 0)::int, coalesce(f.f1_ok, 0)::int, coalesce(f.f2, 0)::int, coalesce(f.f2_ok, 0)::int,
       coalesce(f.f3, 0)::int, coalesce(f.f3_ok, 0)::int,
       coalesce(goal.targets, '{}'),
       (SELECT coalesce(json_object_agg(metric, value), '{}') FROM std_targets
         WHERE tenant_id = %(t)s AND year = %(year)s AND area_id IS NULL),
       coalesce(f.ca, 0)::int, coalesce(f.cb, 0)::int, coalesce(f.cc, 0)::int, coalesce(f.cd, 0)::int
  FROM (SELECT id, code, name FROM areas WHERE tenant_id = %(t)s AND parent_id IS NULL
        UNION ALL SELECT 0, NULL, NULL) s
  LEFT JOIN fig f ON f.sector = s.id
  LEFT JOIN goal ON goal.sector = s.id
 WHERE s.id <> 0 OR f.sector IS NOT NULL
 ORDER BY s.code COLLATE "C" NULLS LAST
"""


def floor_query(conn, tenant_id: int) -> tuple[list, float]:
    """One statement, as anjian_app in the tenant's RLS scope (set per transaction, as the
    app sets it)."""
    started = time.perf_counter()
    conn.execute("SELECT set_config('app.tenant_ids', %s, true), "
                 "set_config('app.tenant_id', '', true)", (str(tenant_id),))
    rows = conn.execute(FLOOR, {"t": tenant_id, "start": START, "by": BY, "year": YEAR}).fetchall()
    conn.rollback()
    return rows, time.perf_counter() - started


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def floor_answer(rows, programme: dict) -> dict:
    """The floor's rows as progress() answers: ratios, the city's sums, targets and the
    metrics below them (no counting here: the statement counted)."""
    from anjian.enterprises.models import FLAGS
    from anjian.standardisation.models import METRICS

    def entry(counts: dict, flags: dict, classes: dict, targets: dict) -> dict:
        figures = dict(counts)
        figures["achieved_ratio"] = _ratio(counts["achieved_total"], counts["small_micro"])
        figures["key_industry_ratio"] = _ratio(counts["key_industry_achieved"], counts["key_industry_total"])
        figures["renewed_ratio_of_due"] = _ratio(counts["renewed_total"], counts["due_total"])
        figures["delisting_ratio"] = _ratio(counts["delisted"], counts["renewed_total"] + counts["lookbacks"])
        below = [m for m in METRICS if m in targets and figures.get(m) is not None
                 and figures[m] < targets[m]]
        return {**figures, "classes": {k: n for k, n in classes.items() if n}, "key_industries": [
                    {"flag": f, "label": FLAGS[f], "total": t, "achieved": a, "ratio": _ratio(a, t)}
                    for f, (t, a) in flags.items()], "targets": targets, "below": below}

    city_targets = {**programme, **{m: float(v) for m, v in (rows[0][20] if rows else {}).items()}}
    ratios = {m: v for m, v in city_targets.items() if METRICS[m][1] == "ratio"}
    areas, city, city_flags = [], dict.fromkeys(COUNTS, 0), {f: (0, 0) for f in KEY_FLAGS}
    city_classes = dict.fromkeys(CLASS_VISITS, 0)
    for row in rows:
        counts = dict(zip(COUNTS, row[3:13], strict=True))
        flags = {f: (row[13 + 2 * n], row[14 + 2 * n]) for n, f in enumerate(KEY_FLAGS)}
        classes = dict(zip(CLASS_VISITS, row[21:25], strict=True))
        for k in COUNTS:
            city[k] += counts[k]
        for k, n in classes.items():
            city_classes[k] += n
        for f, (t, a) in flags.items():
            city_flags[f] = (city_flags[f][0] + t, city_flags[f][1] + a)
        if row[0] == 0:
            areas.append({"area_id": None, "code": None, "name": "未划分板块", **entry(counts, flags, classes, {})})
        else:
            targets = {**ratios, **{m: float(v) for m, v in row[19].items()}}
            areas.append({"area_id": row[0], "code": row[1], "name": row[2],
                          **entry(counts, flags, classes, targets)})
    return {"year": YEAR, "by": BY, "key_industries": list(KEY_FLAGS),
            "city": entry(city, city_flags, city_classes, city_targets), "areas": areas}


def programme_targets() -> dict:
    """The settings' 2019 targets, by metric (what the plugin's programme hook answers)."""
    return {"achieved_total": SETTINGS["target_achieved_total"],
            "achieved_ratio": SETTINGS["target_achieved_ratio"],
            "key_industry_ratio": SETTINGS["target_key_industry_ratio"],
            "renewed_total": SETTINGS["target_renewed_total"],
            "renewed_ratio_of_due": SETTINGS["target_renewed_ratio_of_due"],
            "demonstration": SETTINGS["target_demonstration"],
            "lookbacks": SETTINGS["target_lookbacks"],
            "key_industry_lookbacks": SETTINGS["target_key_industry_lookbacks"],
            "delisting_ratio": SETTINGS["min_delisting_ratio"]}


# --------------------------------------------------------------------------- measuring


def _differences(ours: dict, floor: dict) -> list[str]:
    out = []
    for key in ("year", "by", "key_industries", "city"):
        if ours.get(key) != floor.get(key):
            out.append(f"{key}: platform {ours.get(key)!r}\n      floor    {floor.get(key)!r}")
    mine = {a["area_id"]: a for a in ours["areas"]}
    theirs = {a["area_id"]: a for a in floor["areas"]}
    for area_id in sorted(set(mine) | set(theirs), key=lambda a: (a is None, a or 0)):
        a, b = mine.get(area_id), theirs.get(area_id)
        if a != b:
            keys = sorted(set(a or {}) | set(b or {}))
            diff = {k: ((a or {}).get(k), (b or {}).get(k)) for k in keys
                    if (a or {}).get(k) != (b or {}).get(k)}
            out.append(f"板块 {area_id}: {diff}")
    if [a["area_id"] for a in ours["areas"]] != [a["area_id"] for a in floor["areas"]]:
        out.append(f"order: {[a['area_id'] for a in ours['areas']]} != "
                   f"{[a['area_id'] for a in floor['areas']]}")
    return out


def _spread(seconds: list) -> dict:
    """The runs' deciles 1, 3, 5 (the median), 7 and 9, in ms."""
    cuts = statistics.quantiles(seconds, n=10)
    return {f"p{10 * i}": round(cuts[i - 1] * 1000, 2) for i in (1, 3, 5, 7, 9)}


def _statements(seen) -> list:
    return [s for s in seen if "set_config" not in s[0]]


def measure(label: str, app, app_conn, info, repeat: int, timed: bool) -> dict:
    ours, _, seen = platform_progress(app, info)
    rows, _ = floor_query(app_conn, info.id)
    floor = floor_answer(rows, programme_targets())
    differences = _differences(ours, floor)
    if differences:
        print(f"\n{label}: the platform's progress differs from the floor's:", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(1)
    if len(ours["areas"]) < SECTORS or ours["city"]["small_micro"] == 0:
        raise SystemExit(f"{label}: an empty answer proves nothing: {ours['city']}")
    out = {"statements": len(_statements(seen)), "all_statements": len(seen),
           "city": {k: ours["city"][k] for k in (*COUNTS, "achieved_ratio", "below", "classes")},
           "areas": len(ours["areas"])}
    if timed:
        mine, base, per_statement = [], [], []
        # alternated, so that both see the same cache; at least --repeat x 5 runs each, and
        # as many as fit in SECONDS (the spread tenant's runs take milliseconds, and a
        # median of 25 of them moved by a quarter from one run of the script to the next)
        until = time.perf_counter() + SECONDS
        while len(mine) < max(repeat, 1) * 5 or time.perf_counter() < until:
            _, seconds, seen = platform_progress(app, info)
            mine.append(seconds)
            per_statement.append([s[2] for s in seen])
            base.append(floor_query(app_conn, info.id)[1])
        out["platform_s"] = statistics.median(mine)
        out["floor_s"] = statistics.median(base)
        out["runs"] = len(mine)
        out["platform_runs_ms"] = _spread(mine)
        out["floor_runs_ms"] = _spread(base)
        out["statement_ms"] = [round(statistics.median(col) * 1000, 2) for col in zip(*per_statement,
                                                                                    strict=True)]
        out["statement_text"] = [" ".join(s[0].split())[:110] for s in seen]
        out["seen"] = seen
    return out


def explain(app_conn, tenant_id: int, seen) -> None:
    """EXPLAIN ANALYZE of the platform's statements (with their parameters) and the floor's,
    as anjian_app in the tenant's scope."""
    def run(sql: str, params) -> str:
        app_conn.execute("SELECT set_config('app.tenant_ids', %s, true), "
                         "set_config('app.tenant_id', '', true)", (str(tenant_id),))
        plan = app_conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        app_conn.rollback()
        return "\n".join(f"    {line}" for (line,) in plan)

    for statement, params, _ in _statements(seen):
        print(f"\n  platform: {' '.join(statement.split())[:300]}\n{run(statement, params)}")
    print(f"\n  floor:\n{run(FLOOR, {'t': tenant_id, 'start': START, 'by': BY, 'year': YEAR})}")


# --------------------------------------------------------------------------- the run


def run(options) -> dict:
    import psycopg

    with tempfile.TemporaryDirectory(prefix="anjian-bench-") as tmp, Postgres() as admin:
        app_url = admin.replace("//postgres@", f"//{APP_ROLE}@", 1)
        started = time.perf_counter()
        migrate(admin, app_url, tmp)
        owner = psycopg.connect(libpq(admin))
        ids, shape, rnd = Ids(), {}, random.Random(2019)
        with bulk_load(owner):  # generated data: no RI triggers, then ANALYZE
            first = generate(owner, ids, shape, 0, options, rnd)
        print(f"generated in {time.perf_counter() - started:.1f} s: {first}", flush=True)
        app = make_app(app_url, tmp)
        probe = 2 + options.tenants // 2
        infos = {"one": tenant_info(app, ONE_TENANT), "spread": tenant_info(app, probe)}
        app_conn = psycopg.connect(libpq(app_url))
        small = {case: measure(f"{case} (first size)", app, app_conn, info, options.repeat, timed=False)
                 for case, info in infos.items()}

        t1 = time.perf_counter()
        with bulk_load(owner):
            more = generate(owner, ids, shape, 1, options, rnd)
        print(f"generated the rest in {time.perf_counter() - t1:.1f} s: {more}", flush=True)
        full = {case: measure(f"{case} (full size)", app, app_conn, info, options.repeat, timed=True)
                for case, info in infos.items()}
        totals = {table: owner.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("enterprises", "std_certifications", "std_checks", "areas")}
        per_tenant = {case: dict(zip(("enterprises", "certifications", "checks"), owner.execute(
            "SELECT (SELECT count(*) FROM enterprises WHERE tenant_id = %(t)s), "
            "(SELECT count(*) FROM std_certifications WHERE tenant_id = %(t)s), "
            "(SELECT count(*) FROM std_checks WHERE tenant_id = %(t)s)", {"t": info.id}).fetchone(),
            strict=True)) for case, info in infos.items()}
        per_tenant_small = {case: max(1, options.small) if case == "one" else
                            max(1, (options.rows // options.tenants) * options.small // options.rows)
                            for case in infos}
        if options.profile:
            import cProfile
            import pstats

            for case, info in infos.items():
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(5):
                    platform_progress(app, info)
                profiler.disable()
                print(f"\nprofile of 5 platform runs, {case} (tenant {info.id}), by own time:")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        if options.explain:
            for case, info in infos.items():
                print(f"\nEXPLAIN ANALYZE, {case} (tenant {info.id}):")
                explain(app_conn, info.id, full[case]["seen"])
        for case in full:
            full[case].pop("seen", None)
        app_conn.close()
        owner.close()
        with app.app_context():
            from anjian.extensions import db

            db.engine.dispose()
    return {"small": small, "full": full, "totals": totals, "per_tenant": per_tenant,
            "per_tenant_small": per_tenant_small, "probe": probe,
            "generation_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="enterprises of the one tenant, and of the spread tenants together")
    parser.add_argument("--tenants", type=int, default=500, help="tenants of the spread")
    parser.add_argument("--small", type=int, default=None,
                        help="enterprises of the one tenant at the first size (default: --rows / 10; "
                             "the spread tenants get the same share)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (x5, median)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of the platform's statements and the floor")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the platform's runs at the full size")
    options = parser.parse_args()
    options.small = options.small or options.rows // 10
    if not 0 < options.small < options.rows:
        parser.error("--small must be between 0 and --rows")
    if options.tenants < 1 or options.rows // options.tenants < 10:
        parser.error("--tenants: at least 10 enterprises each")
    figures = run(options)
    small, full = figures["small"], figures["full"]
    totals = figures["totals"]
    print(f"\n{totals['enterprises']:,} enterprises, {totals['std_certifications']:,} certifications, "
          f"{totals['std_checks']:,} checks, {totals['areas']:,} areas; progress of {YEAR} "
          f"up to {BY}")
    ratios, statements_equal = {}, True
    names = {"one": f"one tenant ({ONE_TENANT})",
             "spread": f"a tenant of the spread ({figures['probe']}, one of {options.tenants})"}
    for case in ("one", "spread"):
        f, s = full[case], small[case]
        ratios[case] = f["platform_s"] / f["floor_s"]
        statements_equal &= s["statements"] == f["statements"]
        tenant = figures["per_tenant"][case]
        city = f["city"]
        print(f"\n{names[case]}: {tenant['enterprises']:,} enterprises (first size "
              f"{figures['per_tenant_small'][case]:,}), {tenant['certifications']:,} certifications, "
              f"{tenant['checks']:,} checks; {f['areas']} 板块 rows")
        print(f"  answer (equal to the floor's for every 板块 and the city): small/micro "
              f"{city['small_micro']:,}, achieved {city['achieved_total']:,} "
              f"({city['achieved_ratio']}), key industry {city['key_industry_achieved']:,}/"
              f"{city['key_industry_total']:,}, renewed {city['renewed_total']:,} of "
              f"{city['due_total']:,} due, demonstration {city['demonstration']:,}, looked back "
              f"{city['lookbacks']:,} ({city['key_industry_lookbacks']:,} key), delisted "
              f"{city['delisted']:,}; classes {city['classes']}; below target: {city['below']}")
        print(f"  progress: platform {f['platform_s'] * 1000:.1f} ms, floor (one statement, "
              f"{APP_ROLE}) {f['floor_s'] * 1000:.1f} ms, ratio {ratios[case]:.2f}")
        print(f"    {f['runs']} runs each, alternated (ms): platform {f['platform_runs_ms']}\n"
              f"                                       floor    {f['floor_runs_ms']}")
        print(f"  SQL statements: {s['statements']} at the first size, {f['statements']} at the full "
              f"size ({s['all_statements']} and {f['all_statements']} with the scope's set_config)")
        print("  the platform's statements (median ms, cursor execute to return):")
        for ms, text in zip(f["statement_ms"], f["statement_text"], strict=True):
            print(f"    {ms:8.2f}  {text}")
        print(f"    {sum(f['statement_ms']):8.2f}  in all; the rest of "
              f"{f['platform_s'] * 1000:.1f} ms is Python (the session, SQLAlchemy, the plugin hook, the answer)")
    if not statements_equal:
        print("\nthe number of SQL statements grew with the rows", file=sys.stderr)
    ratio = max(ratios.values())
    goal_met = ratio <= GOAL_RATIO and statements_equal
    print(f"\ngoal ratio <= {GOAL_RATIO:g} in both cases, statements equal at both sizes: "
          f"{'met' if goal_met else 'NOT met'}")
    print(json.dumps({
        "bench": "standardisation", "ratio": round(ratio, 2),
        "goal": f"ratio <= {GOAL_RATIO:g} (both cases) and statements equal at both sizes",
        "goal_met": goal_met, "rows": options.rows, "tenants": options.tenants,
        "ratio_one": round(ratios["one"], 2), "ratio_spread": round(ratios["spread"], 2),
        "one_ms": round(full["one"]["platform_s"] * 1000, 2),
        "one_floor_ms": round(full["one"]["floor_s"] * 1000, 2),
        "spread_ms": round(full["spread"]["platform_s"] * 1000, 2),
        "spread_floor_ms": round(full["spread"]["floor_s"] * 1000, 2),
        "statements_one": [small["one"]["statements"], full["one"]["statements"]],
        "statements_spread": [small["spread"]["statements"], full["spread"]["statements"]],
        "generation_s": round(figures["generation_s"], 1)}, ensure_ascii=False))
    if not statements_equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
