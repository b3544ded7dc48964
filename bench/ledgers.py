#!/usr/bin/env python
"""Benchmark: a tenant's daily ledger scan (duty status and expiry reminders) against one hand-written statement.

Not a test (pytest's testpaths is ``tests/``). Run from the repository root:

    .venv/bin/python bench/ledgers.py                  # 500 tenants x 2,000 entries + one of 100,000
    .venv/bin/python bench/ledgers.py --entries 100000 --tenants 50 --big 10000 --repeat 2

It imports ``bench/closed_loop.py``'s helpers (migration, the app, COPY) and
``bench/standardisation.py``'s (statement recording, the tenant's ``TenantInfo``); a
throwaway PostgreSQL cluster through ``bench/harness.py``, or ``ANJIAN_BENCH_POSTGRES_URL``.
The schema is migrated as the owner; the platform runs as the unprivileged role
``anjian_app`` (Row-Level Security on).

Data, generated with COPY as the owner, every tenant with the plugin ``anjian_shenyang``
and its default settings, so that its four ledger duties apply (a drill a year; related-party
agreements in force, standing, 0 expired; certified special workers in force, standing, 0
expired; a principal's 重大事故隐患专项检查 each quarter, ``where`` on the entry's data), in
two shapes in the same database:

* **the spread**: ``--tenants`` tenants (500) of ``--enterprises`` enterprises each (200),
  holding ``--entries`` ledger entries together (1,000,000: 2,000 a tenant, 10 an
  enterprise);
* **one big tenant** of ``--big`` entries (100,000) over ``--big`` / 10 enterprises
  (``--big 0``: none).

Entries fall on random enterprises of their tenant: 25 % certified special workers (issued
2017 to November 2024, valid 6 years, so about a quarter expired; most reviewed), 18 %
trainings, 8 % drills, 10 % related parties (agreements of 1 to 3 years signed 2021 to 2024),
15 % responsibility lists, 22 % self-inspections (40 % of them 重大事故隐患专项检查), 2 % the
plugin's dangerous work; the dated kinds 60 % in 2024 up to the scan day, the rest in 2022-23;
2 % deleted, and 1 % of the enterprises. The expiring entries' ``reminded_days`` are as
yesterday's scan left them, except 7 % entered since (never reminded); and each tenant's
share of each size holds one certificate 7 days from expiry (crossing the 7-day stage today)
and one agreement that ended yesterday (crossing into "expired"), so that every tenant has
reminders due at both sizes. Users: an admin, two supervisors and a viewer per tenant; one
enterprise user for 60 % of the enterprises, a second for 6 %; 3 % of all users inactive.
First ``--small`` entries (and the same share of the big tenant's), then the rest; ANALYZE
after each.

Measured, for the middle tenant of the spread and for the big tenant: **the scan**, a tenant's
daily ledger work on 2024-11-20, in one transaction under the tenant's scope with a
``Context`` of the tenant (its ``TenantInfo``, settings validated by the plugin), as the
daily job runs it: ``anjian.ledgers.duties.duty_status(context, as_of)`` (every live
enterprise x duty x period of 2024, met / due / missed) then
``anjian.ledgers.reminders.remind_expiring(context, today)`` (the reminders due: each
entry's stage moved, a notification per recipient), committed. The floor: one hand-written
statement, as ``anjian_app`` with the same RLS setting, that gives the same per-enterprise
duty counts and statuses (the live enterprises and their entries grouped in one pass) and
does the same reminders (data-modifying CTEs: the stages of the live enterprises' entries
updated, the version and ``updated_at`` left as they are, and the same notifications,
titles and recipients, inserted), committed; it writes no audit rows (the platform writes
one summary row per scan; it is printed). Both answers must be equal (every enterprise's
items in order; the entries whose stage moved, with their stage, version and
``updated_at``, and the notifications written, compared in the database) or the run
fails. State is restored between runs (not timed). SQL statements are counted at both sizes (they must not
grow; an executemany is one); timings are medians of ``--repeat`` x 5 alternated runs, and
the platform's statements are timed one by one. Goal: ratio <= 2 for
both cases (the worse is ``ratio``); a statement count that grows, or answers that differ,
exit non-zero. The last line is ``{"bench": "ledgers", "ratio": ..., "goal": "ratio <= 2
(both cases) and statements equal at both sizes", "goal_met": ...}``. ``--explain`` prints
EXPLAIN ANALYZE of the platform's SELECTs and of the floor at the full size, ``--profile``
a cProfile of five platform runs.
"""

from __future__ import annotations

import argparse
import calendar
import cProfile
import datetime as dt
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT / "plugins"), str(ROOT)]

import psycopg  # noqa: E402
from bench.closed_loop import APP_ROLE, bulk_load, copy_lines, make_app, migrate  # noqa: E402
from bench.harness import Postgres, libpq  # noqa: E402
from bench.standardisation import recording, tenant_info  # noqa: E402

from anjian.context import Context  # noqa: E402
from anjian.extensions import db  # noqa: E402
from anjian.ledgers import kinds as kinds_  # noqa: E402
from anjian.ledgers.core_kinds import CORE_KINDS, RELATED_PARTY_KINDS, SPECIAL_WORK_KINDS  # noqa: E402
from anjian.ledgers.duties import duty_status  # noqa: E402
from anjian.ledgers.reminders import remind_expiring, stage  # noqa: E402
from anjian.tenancy.scope import Scope, scoped  # noqa: E402
from anjian_shenyang.ledgers import DANGEROUS_WORK_KINDS, DANGEROUS_WORK_LEDGER  # noqa: E402

PLUGIN = "anjian_shenyang"
TODAY = dt.date(2024, 11, 20)  # the scan day, and the duties' as_of
YESTERDAY = TODAY - dt.timedelta(days=1)
SINCE = dt.date(TODAY.year, 1, 1)  # duty_status's default start
NOW = "2024-11-19 08:00:00+00"
GOAL_RATIO = 2.0  # platform seconds / floor seconds, each case
BIG = 1  # the big tenant's id; the spread's are 2 .. tenants + 1
MAJOR_CHECK = "重大事故隐患专项检查"
BODY = "请及时办理复审、换证或续签，并更新台账。"  # remind_expiring's body
# The calendar quarters of the scan's year (the plugin's quarterly duty): first and last day.
QUARTERS = [(dt.date(TODAY.year, m, 1), dt.date(TODAY.year, m + 2, calendar.monthrange(TODAY.year, m + 2)[1]))
            for m in (1, 4, 7, 10)]
YEAR_END = dt.date(TODAY.year, 12, 31)
KINDS = {kind.key: kind.as_entry() for kind in (*CORE_KINDS, DANGEROUS_WORK_LEDGER)}
KIND_WEIGHTS = {"special_workers": 25, "trainings": 18, "drills": 8, "related_parties": 10,
                "responsibilities": 15, "self_inspections": 22, "dangerous_work": 2}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
         "明", "超", "秀兰", "霞"]
TOWNS = ["沈河", "和平", "大东", "皇姑", "铁西", "浑南", "于洪", "沈北", "苏家屯", "辽中"]
SECTORS = ["建材", "机械", "轻工"]
POSTS = ["主要负责人", "安全管理人员", "车间主任", "班组长", "电工", "焊工", "叉车司机", "仓库管理员"]
INSPECTIONS = ["主要负责人带队检查", "日常检查", "专项检查", "特种作业人员持证检查", "相关方检查"]
TRAININGS = ["新员工三级教育", "主要负责人", "安全管理人员", "转岗", "四新", "全员"]


def _day(rnd: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rnd.randrange((end - start).days + 1))


def _dated(rnd: random.Random) -> dt.date:
    """A training's, drill's or inspection's day: 60 % in the scan's year up to the scan day."""
    if rnd.random() < 0.6:
        return _day(rnd, SINCE, TODAY)
    return _day(rnd, dt.date(2022, 1, 1), SINCE - dt.timedelta(days=1))


def _person(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + rnd.choice(GIVEN)


# --------------------------------------------------------------------------- data (COPY)


class Ids:
    """The next id of each generated table (ids are global, as the sequences give them)."""

    def __init__(self):
        self.next = {"enterprises": 1, "ledger_entries": 1, "users": 1, "memberships": 1}

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def tenant_rows(tenants: int, big: bool):
    settings = json.dumps({PLUGIN: {}})
    if big:
        yield (f"{BIG}\tsy-bench-big\t沈阳市基准街道（大租户）\tstreet\t"
               f'["{PLUGIN}"]\t{settings}\tt\t1\t{NOW}\t{NOW}\n')
    for t in range(2, tenants + 2):
        yield (f"{t}\tsy-bench-{t - 1:03d}\t沈阳市基准街道{t - 1:03d}\tstreet\t"
               f'["{PLUGIN}"]\t{settings}\tt\t1\t{NOW}\t{NOW}\n')


def make_enterprises(ids: Ids, tenant: int, count: int, rnd: random.Random, out: dict) -> list[int]:
    """``count`` enterprises of ``tenant`` (1 % deleted), their users and memberships, appended to
    ``out``'s COPY lines; returns their ids."""
    made = []

    def user(role: str, enterprise=r"\N") -> None:
        uid = ids.take("users")
        active = "f" if rnd.random() < 0.03 else "t"
        out["users"].append(f"{uid}\tsy-bench-u{uid}\t{_person(rnd)}\t\\N\tf\t{active}\t{NOW}\n")
        out["memberships"].append(f"{ids.take('memberships')}\t{uid}\t{role}\t{NOW}\t{tenant}\t{enterprise}\n")

    for role in ("tenant_admin", "supervisor", "supervisor", "viewer"):
        user(role)
    for _ in range(count):
        eid = ids.take("enterprises")
        made.append(eid)
        deleted = "2024-06-01 00:00:00+00" if rnd.random() < 0.01 else r"\N"
        town, sector = rnd.choice(TOWNS), rnd.choice(SECTORS)
        out["enterprises"].append(
            f"{eid}\t{tenant}\t912101{eid:012d}\t沈阳市{town}{sector}第{eid}号有限公司\t沈阳市{town}区{eid}号\t"
            f"micro\tf\t\t\tf\tf\tf\tf\tf\t{_person(rnd)}\t\t\t\tactive\t{{}}\t{deleted}\t{NOW}\t{NOW}\n")
        roll = rnd.random()
        if roll < 0.6:
            user("enterprise", eid)
            if roll < 0.06:
                user("enterprise", eid)
    return made


def _entry_data(kind: str, rnd: random.Random, forced: str | None) -> dict:
    """An entry's data (as ``kinds.stored`` keeps it); ``forced``: "seven" (a certificate 7
    days from expiry) or "ended" (an agreement that ended yesterday)."""
    if kind == "special_workers":
        issued = (kinds_.add_years(TODAY + dt.timedelta(days=7), -6) if forced
                  else _day(rnd, dt.date(2017, 1, 1), dt.date(2024, 11, 15)))
        number = f"2101{rnd.randrange(10**13, 10**14)}"
        data = {"name": _person(rnd), "id_number": number, "work_kind": rnd.choice(SPECIAL_WORK_KINDS[:4]),
                "certificate_no": f"T{number}", "issued_on": issued.isoformat(), "authority": "沈阳市应急管理局"}
        review = kinds_.add_years(issued, 3)
        if review < TODAY and rnd.random() < 0.7:
            data["reviewed_on"] = (review - dt.timedelta(days=rnd.randrange(50))).isoformat()
        return data
    if kind == "related_parties":
        if forced:
            ends = YESTERDAY
            signed = ends - dt.timedelta(days=729)
        else:
            signed = _day(rnd, dt.date(2021, 1, 1), dt.date(2024, 11, 10))
            ends = signed + dt.timedelta(days=rnd.choice((365, 730, 1095)) - 1)
        return {"name": f"沈阳{rnd.choice(TOWNS)}建筑安装工程有限公司{rnd.randrange(1000)}",
                "kind": rnd.choice(RELATED_PARTY_KINDS), "agreement_signed_on": signed.isoformat(),
                "agreement_ends_on": ends.isoformat(), "site_supervisor": _person(rnd)}
    if kind == "trainings":
        return {"held_on": _dated(rnd).isoformat(), "kind": rnd.choice(TRAININGS), "topic": "安全生产法律法规",
                "hours": rnd.choice((2, 4, 8)), "attendees": rnd.randrange(3, 60)}
    if kind == "drills":
        return {"held_on": _dated(rnd).isoformat(), "scenario": "有限空间作业中毒窒息",
                "participants": rnd.randrange(5, 40), "evaluation": "达到预期"}
    if kind == "responsibilities":
        return {"post": rnd.choice(POSTS), "person": _person(rnd),
                "signed_on": _day(rnd, dt.date(2020, 1, 1), TODAY).isoformat(), "signed_by_principal": True}
    if kind == "self_inspections":
        check = MAJOR_CHECK if rnd.random() < 0.4 else rnd.choice(INSPECTIONS)
        return {"checked_on": _dated(rnd).isoformat(), "kind": check, "leader": _person(rnd),
                "hazards_found": rnd.randrange(4)}
    return {"work_on": _dated(rnd).isoformat(), "work_kind": rnd.choice(DANGEROUS_WORK_KINDS),
            "location": "一号车间", "approved_by": _person(rnd), "guardian": _person(rnd)}


def entry_lines(ids: Ids, tenant: int, enterprises: list[int], count: int, rnd: random.Random):
    """``count`` entries of ``tenant`` on random enterprises; the first two are due today."""
    names, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    n_ = r"\N"
    for n in range(count):
        forced = "seven" if n == 0 else "ended" if n == 1 else None
        kind = ("special_workers" if n == 0 else "related_parties" if n == 1
                else rnd.choices(names, weights)[0])
        spec = KINDS[kind]
        data = _entry_data(kind, rnd, forced)
        dated_on, expires_on, review_due_on = kinds_.dates(spec, data)
        reminded = None
        if expires_on is not None and (forced or rnd.random() >= 0.07):  # as yesterday's scan left it
            reminded = stage(spec["remind_days"], (expires_on - YESTERDAY).days)
        deleted = "2024-09-01 00:00:00+00" if not forced and rnd.random() < 0.02 else n_
        yield (f"{ids.take('ledger_entries')}\t{tenant}\t{enterprises[rnd.randrange(len(enterprises))]}\t"
               f"{kind}\t{json.dumps(data, ensure_ascii=False)}\t{dated_on or n_}\t{expires_on or n_}\t"
               f"{review_due_on or n_}\t{n_ if reminded is None else reminded}\t\\N\t1\t{NOW}\t{NOW}\t{deleted}\n")


COLUMNS = {
    "enterprises": "id, tenant_id, credit_code, name, address, scale, above_quota, main_products, "
                   "main_risk_factors, dust_explosion, ammonia_refrigeration, confined_space, major_hazard, "
                   "labour_intensive, principal_name, principal_phone, contact_name, contact_phone, status, "
                   "extra, deleted_at, created_at, updated_at",
    "users": "id, username, display_name, password_hash, is_platform_admin, is_active, created_at",
    "memberships": "id, user_id, role, created_at, tenant_id, enterprise_id",
    "ledger_entries": "id, tenant_id, enterprise_id, kind, data, dated_on, expires_on, review_due_on, "
                      "reminded_days, created_by, version, created_at, updated_at, deleted_at",
}


def generate(conn, ids: Ids, shape: dict, phase: int, options, rnd: random.Random) -> dict:
    """Phase 0: the tenants, enterprises, users, and the first size's entries; phase 1: the
    rest of the entries."""
    counts = {}
    tenants = list(range(2, options.tenants + 2))
    if phase == 0:
        counts["tenants"] = copy_lines(
            conn, "tenants", "id, code, name, level, plugins, settings, is_active, version, "
            "created_at, updated_at", tenant_rows(options.tenants, options.big > 0))
        out = {"enterprises": [], "users": [], "memberships": []}
        if options.big:
            shape[BIG] = make_enterprises(ids, BIG, max(1, options.big // 10), rnd, out)
        for t in tenants:
            shape[t] = make_enterprises(ids, t, options.enterprises, rnd, out)
        for table, lines in out.items():
            counts[table] = copy_lines(conn, table, COLUMNS[table], lines)
    per = options.entries // options.tenants
    small_per = options.small // options.tenants
    big_small = options.big * options.small // options.entries
    plan = [(t, small_per if phase == 0 else per - small_per) for t in tenants]
    if options.big:
        plan.insert(0, (BIG, big_small if phase == 0 else options.big - big_small))
    counts["ledger_entries"] = copy_lines(
        conn, "ledger_entries", COLUMNS["ledger_entries"],
        (line for t, n in plan for line in entry_lines(ids, t, shape[t], n, rnd)))
    for table in COLUMNS:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))")
    return counts


# --------------------------------------------------------------------------- the platform


def platform_scan(app, info) -> tuple[dict, int, dict, list]:
    """The tenant's daily ledger work: ``duty_status`` then ``remind_expiring``, one
    transaction, committed (as the daily job does)."""
    with app.app_context():
        registry = app.extensions["anjian.plugins"]
        with recording(db.engine) as seen:
            started = time.perf_counter()
            with scoped(db.session, Scope.tenant(info.id)):
                context = Context.for_system(info, plugins=registry)
                status = duty_status(context, TODAY)
                middle = time.perf_counter()
                told = remind_expiring(context, TODAY)
                db.session.commit()
            ended = time.perf_counter()
        db.session.remove()
    return status, told, {"total": ended - started, "duties": middle - started,
                          "reminders": ended - middle}, seen


# --------------------------------------------------------------------------- the floor


FLOOR = """
WITH due AS MATERIALIZED (  -- the reminders due today: each expiring entry's stage, if below the last told
    SELECT l.id, l.enterprise_id, e.name, l.kind, l.data, l.expires_on, l.expires_on - %(today)s AS days_left,
           s.stage
      FROM ledger_entries l
      JOIN enterprises e ON e.tenant_id = l.tenant_id AND e.id = l.enterprise_id AND e.deleted_at IS NULL
     CROSS JOIN LATERAL (SELECT CASE WHEN l.expires_on < %(today)s THEN 0
                                     WHEN l.expires_on - %(today)s <= 7 THEN 7
                                     WHEN l.expires_on - %(today)s <= 30 THEN 30
                                     WHEN l.kind = 'related_parties' THEN 60 ELSE 90 END AS stage) s
     WHERE l.tenant_id = %(t)s AND l.deleted_at IS NULL AND l.expires_on IS NOT NULL
       AND ((l.kind = 'special_workers' AND l.expires_on <= %(today)s + 90)
            OR (l.kind = 'related_parties' AND l.expires_on <= %(today)s + 60))
       AND (l.reminded_days IS NULL OR s.stage < l.reminded_days)
), moved AS (
    UPDATE ledger_entries l SET reminded_days = d.stage  -- bookkeeping: no version, no updated_at
      FROM due d WHERE l.tenant_id = %(t)s AND l.id = d.id
    RETURNING l.id
), members AS MATERIALIZED (  -- who hears: the users of those enterprises, the supervisors and admins
    SELECT m.user_id, m.role, m.enterprise_id
      FROM memberships m JOIN users u ON u.id = m.user_id AND u.is_active
     WHERE m.tenant_id = %(t)s AND (m.role IN ('tenant_admin', 'supervisor')
                                     OR m.enterprise_id = ANY (ARRAY(SELECT enterprise_id FROM due)))
), told AS (
    INSERT INTO notifications (tenant_id, user_id, kind, title, body, created_at)
    SELECT %(t)s, m.user_id, 'ledger_expiry',
           left(d.name || '的' || CASE d.kind WHEN 'special_workers' THEN '特种作业人员持证' ELSE '相关方' END
                || '「' || coalesce(nullif(d.data ->> 'name', ''), nullif(d.data ->> 'certificate_no', ''),
                                   nullif(d.data ->> 'post', ''), '#' || d.id) || '」'
                || CASE WHEN d.stage = 0 THEN '已于 ' || to_char(d.expires_on, 'YYYY-MM-DD') || ' 到期'
                        ELSE '将于 ' || to_char(d.expires_on, 'YYYY-MM-DD') || ' 到期（还有 ' || d.days_left
                             || ' 天）' END, 300),
           %(body)s, now()
      FROM due d
      JOIN members m ON m.enterprise_id = d.enterprise_id
                     OR (d.stage = 0 AND m.role IN ('tenant_admin', 'supervisor'))
    RETURNING 1
), counted AS (  -- the live enterprises and the live entries of the duties' kinds, grouped by enterprise
    SELECT enterprise_id, max(name) AS name, max(credit_code) AS credit_code,
           count(*) FILTER (WHERE kind = 'drills' AND dated) AS drills,
           count(*) FILTER (WHERE kind = 'related_parties' AND present AND NOT lapsed) AS rp_valid,
           count(*) FILTER (WHERE kind = 'related_parties' AND present AND lapsed) AS rp_expired,
           count(*) FILTER (WHERE kind = 'special_workers' AND present AND NOT lapsed) AS sw_valid,
           count(*) FILTER (WHERE kind = 'special_workers' AND present AND lapsed) AS sw_expired,
           count(*) FILTER (WHERE major AND dated_on <= %(q1)s) AS q1,
           count(*) FILTER (WHERE major AND dated_on > %(q1)s AND dated_on <= %(q2)s) AS q2,
           count(*) FILTER (WHERE major AND dated_on > %(q2)s AND dated_on <= %(q3)s) AS q3,
           count(*) FILTER (WHERE major AND dated_on > %(q3)s) AS q4
      FROM (SELECT id AS enterprise_id, name, credit_code, NULL AS kind, NULL::date AS dated_on,
                   false AS dated, false AS present, false AS lapsed, false AS major
              FROM enterprises WHERE tenant_id = %(t)s AND deleted_at IS NULL
            UNION ALL
            SELECT enterprise_id, NULL, NULL, kind, dated_on,
                   dated_on BETWEEN %(since)s AND %(as_of)s,
                   dated_on IS NULL OR dated_on <= %(as_of)s,
                   coalesce(expires_on < %(as_of)s, false),
                   kind = 'self_inspections' AND dated_on BETWEEN %(since)s AND %(as_of)s
                       AND data @> %(major)s::jsonb
              FROM ledger_entries
             WHERE tenant_id = %(t)s AND deleted_at IS NULL
               AND kind IN ('drills', 'related_parties', 'special_workers', 'self_inspections')) x
     GROUP BY enterprise_id
    HAVING count(name) > 0  -- a live enterprise
)
SELECT enterprise_id, name, credit_code,
       drills::int,
       CASE WHEN drills >= 1 THEN 'met' WHEN %(as_of)s > %(year_end)s THEN 'missed' ELSE 'due' END,
       rp_valid::int, rp_expired::int, CASE WHEN rp_expired > 0 THEN 'missed' ELSE 'met' END,
       sw_valid::int, sw_expired::int, CASE WHEN sw_expired > 0 THEN 'missed' ELSE 'met' END,
       q1::int, CASE WHEN q1 >= 1 THEN 'met' WHEN %(as_of)s > %(q1)s THEN 'missed' ELSE 'due' END,
       q2::int, CASE WHEN q2 >= 1 THEN 'met' WHEN %(as_of)s > %(q2)s THEN 'missed' ELSE 'due' END,
       q3::int, CASE WHEN q3 >= 1 THEN 'met' WHEN %(as_of)s > %(q3)s THEN 'missed' ELSE 'due' END,
       q4::int, CASE WHEN q4 >= 1 THEN 'met' WHEN %(as_of)s > %(q4)s THEN 'missed' ELSE 'due' END,
       (SELECT count(*) FROM moved)::int, (SELECT count(*) FROM told)::int
  FROM counted
 ORDER BY name, enterprise_id
"""


def floor_params(tenant_id: int) -> dict:
    return {"t": tenant_id, "since": SINCE, "as_of": TODAY, "today": TODAY, "year_end": YEAR_END,
            "q1": QUARTERS[0][1], "q2": QUARTERS[1][1], "q3": QUARTERS[2][1], "q4": QUARTERS[3][1],
            "major": json.dumps({"kind": MAJOR_CHECK}, ensure_ascii=False), "body": BODY}


def floor_scan(conn, tenant_id: int) -> tuple[list, float]:
    """One statement, as anjian_app in the tenant's RLS scope (read and write, set per
    transaction, as the app sets it), committed."""
    started = time.perf_counter()
    conn.execute("SELECT set_config('app.tenant_ids', %s, true), "
                 "set_config('app.tenant_id', %s, true)", (str(tenant_id), str(tenant_id)))
    rows = conn.execute(FLOOR, floor_params(tenant_id)).fetchall()
    conn.commit()
    return rows, time.perf_counter() - started


def floor_answer(rows) -> tuple[list, int, int]:
    """The floor's rows in the platform's shape (the items of each enterprise, in the
    plugin's duty order; the quarters up to the one holding the scan day): (enterprises,
    entries told, notifications)."""
    quarters = (TODAY.month - 1) // 3 + 1
    out = []
    for row in rows:
        (eid, name, code, drills, drills_state, rp_valid, rp_expired, rp_state, sw_valid, sw_expired,
         sw_state, *q) = row[:-2]
        items = [("drills_per_year", SINCE, YEAR_END, drills, 0, drills_state),
                 ("related_party_agreements", TODAY, TODAY, rp_valid, rp_expired, rp_state),
                 ("certified_special_workers", TODAY, TODAY, sw_valid, sw_expired, sw_state)]
        for n in range(quarters):
            start, end = QUARTERS[n]
            items.append(("principal_major_hazard_checks", start, end, q[2 * n], 0, q[2 * n + 1]))
        out.append((eid, name, code, tuple(items)))
    moved, notes = (rows[0][-2], rows[0][-1]) if rows else (0, 0)
    return out, moved, notes


def platform_answer(status: dict) -> list:
    return [(e["enterprise_id"], e["enterprise_name"], e["credit_code"],
             tuple((i["key"], i["period_start"], i["period_end"], i["done"], i["expired"], i["status"])
                   for i in e["items"])) for e in status["enterprises"]]


# --------------------------------------------------------------------------- state


def snapshot(conn, tenant_ids: list[int]) -> None:
    """The expiring entries' reminder state, kept aside so that every run starts from it."""
    conn.execute("DROP TABLE IF EXISTS bench_reminded")
    conn.execute("CREATE TABLE bench_reminded AS SELECT tenant_id, id, reminded_days, version, updated_at "
                 "FROM ledger_entries WHERE tenant_id = ANY(%s) AND expires_on IS NOT NULL "
                 "AND expires_on <= %s", (tenant_ids, TODAY + dt.timedelta(days=366)))
    conn.execute("ALTER TABLE bench_reminded ADD PRIMARY KEY (tenant_id, id)")
    conn.execute("DROP TABLE IF EXISTS bench_audited")
    conn.execute("CREATE TABLE bench_audited AS SELECT coalesce(max(id), 0) AS id FROM audit_log")
    conn.commit()


def reset(conn) -> None:
    conn.execute("UPDATE ledger_entries l SET reminded_days = s.reminded_days, version = s.version, "
                 "updated_at = s.updated_at FROM bench_reminded s "
                 "WHERE l.tenant_id = s.tenant_id AND l.id = s.id "
                 "AND (l.reminded_days IS DISTINCT FROM s.reminded_days OR l.version <> s.version "
                 "OR l.updated_at <> s.updated_at)")
    conn.execute("DELETE FROM notifications WHERE kind = 'ledger_expiry'")
    conn.execute("DELETE FROM audit_log WHERE id > (SELECT id FROM bench_audited)")  # the platform's row
    conn.commit()


def state(conn, tenant_id: int) -> dict:
    """What a scan left: the entries whose stage moved or that were otherwise touched (id,
    stage, version, updated_at) and the notifications written (user, kind, title, body),
    sorted; notifications of other tenants, and the audit rows written (action, entity,
    detail: the platform's summary row; the floor writes none, as the other floors)."""
    moved = conn.execute(
        "SELECT l.id, l.reminded_days, l.version, l.updated_at FROM ledger_entries l JOIN bench_reminded s "
        "USING (tenant_id, id) WHERE l.tenant_id = %s AND (l.reminded_days IS DISTINCT FROM s.reminded_days "
        "OR l.version <> s.version OR l.updated_at <> s.updated_at) ORDER BY l.id",
        (tenant_id,)).fetchall()
    notes = conn.execute(
        "SELECT user_id, kind, title, body, hazard_id, task_id, read_at FROM notifications "
        "WHERE tenant_id = %s ORDER BY user_id, title", (tenant_id,)).fetchall()
    others = conn.execute("SELECT count(*) FROM notifications WHERE tenant_id <> %s",
                          (tenant_id,)).fetchone()[0]
    audited = conn.execute("SELECT action, entity_type, entity_id, detail FROM audit_log "
                           "WHERE id > (SELECT id FROM bench_audited) ORDER BY id").fetchall()
    conn.commit()
    return {"moved": moved, "notes": notes, "elsewhere": others, "audited": audited}


# --------------------------------------------------------------------------- measuring


def _statements(seen) -> list:
    return [s for s in seen if "set_config" not in s[0]]


def _differences(ours: list, floor: list) -> list[str]:
    out = []
    mine = {e[0]: e for e in ours}
    theirs = {e[0]: e for e in floor}
    for eid in sorted(set(mine) | set(theirs)):
        if mine.get(eid) != theirs.get(eid):
            out.append(f"enterprise {eid}: platform {mine.get(eid)}\n      floor    {theirs.get(eid)}")
        if len(out) > 10:
            break
    if not out and [e[0] for e in ours] != [e[0] for e in floor]:
        out.append("the enterprises' order differs")
    return out


def _fail(label: str, what: str, lines) -> None:
    print(f"\n{label}: {what}", file=sys.stderr)
    for line in lines:
        print(f"  {line}", file=sys.stderr)
    raise SystemExit(1)


def measure(label: str, app, owner, app_conn, info, repeat: int, timed: bool) -> dict:
    status, told, _, seen = platform_scan(app, info)
    ours, after_ours = platform_answer(status), state(owner, info.id)
    reset(owner)
    rows, _ = floor_scan(app_conn, info.id)
    floor, moved, notes = floor_answer(rows)
    after_floor = state(owner, info.id)
    reset(owner)
    differences = _differences(ours, floor)
    if differences:
        _fail(label, "the platform's duty status differs from the floor's:", differences)
    same = ("moved", "notes", "elsewhere")
    if any(after_ours[k] != after_floor[k] for k in same) or told != moved or len(after_ours["moved"]) != told \
            or len(after_ours["notes"]) != notes or after_ours["elsewhere"]:
        _fail(label, "the reminders differ (platform, then floor):",
              [f"told {told}, moved {len(after_ours['moved'])}, notifications {len(after_ours['notes'])}",
               f"told {moved}, moved {len(after_floor['moved'])}, notifications {len(after_floor['notes'])}",
               *(f"{a} | {b}" for a, b in zip(after_ours["notes"], after_floor["notes"], strict=False)
                 if a != b)][:12])
    summary = status["summary"]
    if not ours or told == 0 or not all(summary.values()):
        raise SystemExit(f"{label}: an answer this empty proves nothing: {summary}, {told} told")
    by_duty: dict[str, dict[str, int]] = {}
    for _eid, _name, _code, items in ours:
        for key, _s, _e, _done, _expired, item_state in items:
            by_duty.setdefault(key, dict.fromkeys(("met", "due", "missed"), 0))[item_state] += 1
    out = {"statements": len(_statements(seen)), "all_statements": len(seen), "enterprises": len(ours),
           "summary": summary, "by_duty": by_duty, "told": told, "notifications": notes,
           "stages": _stages(after_ours["moved"]), "audited": after_ours["audited"]}
    if timed:
        mine, base, duties_s, reminders_s, per_statement = [], [], [], [], []
        for _ in range(max(repeat, 1) * 5):  # alternated, so that both see the same cache
            _, _, seconds, seen = platform_scan(app, info)
            reset(owner)
            mine.append(seconds["total"])
            duties_s.append(seconds["duties"])
            reminders_s.append(seconds["reminders"])
            per_statement.append([s[2] for s in seen])
            base.append(floor_scan(app_conn, info.id)[1])
            reset(owner)
        out["platform_s"] = statistics.median(mine)
        out["floor_s"] = statistics.median(base)
        out["duties_s"] = statistics.median(duties_s)
        out["reminders_s"] = statistics.median(reminders_s)
        out["platform_runs_ms"] = sorted(round(s * 1000, 1) for s in mine)
        out["floor_runs_ms"] = sorted(round(s * 1000, 1) for s in base)
        out["statement_ms"] = [round(statistics.median(col) * 1000, 2)
                               for col in zip(*per_statement, strict=True)]
        out["statement_text"] = [" ".join(s[0].split())[:110] for s in seen]
        out["seen"] = seen
    return out


def _stages(moved) -> dict[str, int]:
    out: dict[str, int] = {}
    for _id, reminded, _version, _updated in moved:
        key = "expired" if reminded == 0 else f"{reminded} days"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def _runs(ms: list[float], texts: list[str]) -> list[tuple[float, int, str]]:
    """Consecutive statements of the same text as one line: (ms in all, how many, text)."""
    out: list[list] = []
    for value, text in zip(ms, texts, strict=True):
        if out and out[-1][2] == text:
            out[-1][0] += value
            out[-1][1] += 1
        else:
            out.append([value, 1, text])
    return [(round(a, 2), n, t) for a, n, t in out]


def explain(owner, app_conn, tenant_id: int, seen) -> None:
    """EXPLAIN ANALYZE of the platform's SELECTs and WITH statements (with their
    parameters) and of the floor, as anjian_app in the tenant's scope (rolled back)."""
    def run(sql: str, params) -> str:
        app_conn.execute("SELECT set_config('app.tenant_ids', %s, true), "
                         "set_config('app.tenant_id', %s, true)", (str(tenant_id), str(tenant_id)))
        plan = app_conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        app_conn.rollback()
        return "\n".join(f"    {line}" for (line,) in plan)

    for statement, params, _ in _statements(seen):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and isinstance(params, dict):
            print(f"\n  platform: {' '.join(statement.split())[:300]}\n{run(statement, params)}")
    print(f"\n  floor:\n{run(FLOOR, floor_params(tenant_id))}")
    reset(owner)


def profile(app, owner, info) -> None:
    profiler = cProfile.Profile()
    for _ in range(5):
        profiler.enable()
        platform_scan(app, info)
        profiler.disable()
        reset(owner)
    print(f"\nprofile of 5 platform runs (tenant {info.id}), by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


# --------------------------------------------------------------------------- the run


def run(options) -> dict:
    with tempfile.TemporaryDirectory(prefix="anjian-bench-") as tmp, Postgres() as admin:
        app_url = admin.replace("//postgres@", f"//{APP_ROLE}@", 1)
        started = time.perf_counter()
        migrate(admin, app_url, tmp)
        owner = psycopg.connect(libpq(admin))
        ids, shape, rnd = Ids(), {}, random.Random(2024)
        with bulk_load(owner):  # generated data: no RI triggers, then ANALYZE
            first = generate(owner, ids, shape, 0, options, rnd)
        print(f"generated in {time.perf_counter() - started:.1f} s: {first}", flush=True)
        app = make_app(app_url, tmp)
        probe = 2 + options.tenants // 2
        cases = {"spread": probe, **({"one": BIG} if options.big else {})}
        infos = {case: tenant_info(app, tenant_id) for case, tenant_id in cases.items()}
        snapshot(owner, list(cases.values()))
        app_conn = psycopg.connect(libpq(app_url))
        small = {case: measure(f"{case} (first size)", app, owner, app_conn, info, options.repeat, timed=False)
                 for case, info in infos.items()}
        per_tenant_small = {case: owner.execute(
            "SELECT count(*) FROM ledger_entries WHERE tenant_id = %s", (info.id,)).fetchone()[0]
            for case, info in infos.items()}
        owner.commit()

        t1 = time.perf_counter()
        with bulk_load(owner):
            more = generate(owner, ids, shape, 1, options, rnd)
        print(f"generated the rest in {time.perf_counter() - t1:.1f} s: {more}", flush=True)
        snapshot(owner, list(cases.values()))
        full = {case: measure(f"{case} (full size)", app, owner, app_conn, info, options.repeat, timed=True)
                for case, info in infos.items()}
        totals = {table: owner.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("tenants", "enterprises", "ledger_entries", "users")}
        per_tenant = {case: dict(zip(("entries", "live", "enterprises", "expiring"), owner.execute(
            "SELECT (SELECT count(*) FROM ledger_entries WHERE tenant_id = %(t)s), "
            "(SELECT count(*) FROM ledger_entries WHERE tenant_id = %(t)s AND deleted_at IS NULL), "
            "(SELECT count(*) FROM enterprises WHERE tenant_id = %(t)s), "
            "(SELECT count(*) FROM ledger_entries WHERE tenant_id = %(t)s AND deleted_at IS NULL "
            " AND expires_on IS NOT NULL)", {"t": info.id}).fetchone(), strict=True))
            for case, info in infos.items()}
        owner.commit()
        if options.profile:
            for info in infos.values():
                profile(app, owner, info)
        if options.explain:
            for case, info in infos.items():
                print(f"\nEXPLAIN ANALYZE, {case} (tenant {info.id}):")
                explain(owner, app_conn, info.id, full[case]["seen"])
        for case in full:
            full[case].pop("seen", None)
        app_conn.close()
        owner.close()
        with app.app_context():
            db.engine.dispose()
    return {"small": small, "full": full, "totals": totals, "per_tenant": per_tenant,
            "per_tenant_small": per_tenant_small, "probe": probe,
            "generation_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000,
                        help="ledger entries of the spread tenants together")
    parser.add_argument("--tenants", type=int, default=500, help="tenants of the spread")
    parser.add_argument("--enterprises", type=int, default=200, help="enterprises of each spread tenant")
    parser.add_argument("--big", type=int, default=100_000,
                        help="entries of the one big tenant (with a tenth as many enterprises; 0: none)")
    parser.add_argument("--small", type=int, default=None,
                        help="entries of the spread at the first size (default: --entries / 10; the big "
                             "tenant gets the same share)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (x5, median)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of the platform's SELECTs and the floor")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the platform's runs at the full size")
    options = parser.parse_args()
    options.small = options.small or options.entries // 10
    if not 0 < options.small < options.entries:
        parser.error("--small must be between 0 and --entries")
    if options.tenants < 1 or options.small // options.tenants < 2:
        parser.error("--tenants: at least 2 entries each at the first size")
    if options.enterprises < 1 or options.big < 0:
        parser.error("--enterprises must be positive, --big not negative")
    figures = run(options)
    small, full = figures["small"], figures["full"]
    totals = figures["totals"]
    print(f"\n{totals['tenants']:,} tenants, {totals['enterprises']:,} enterprises, "
          f"{totals['ledger_entries']:,} ledger entries, {totals['users']:,} users; duties as of {TODAY} "
          f"(from {SINCE}), reminders of {TODAY}")
    ratios, statements_equal = {}, True
    names = {"spread": f"a tenant of the spread ({figures['probe']}, one of {options.tenants})",
             "one": f"the big tenant ({BIG})"}
    for case in full:
        f, s = full[case], small[case]
        ratios[case] = f["platform_s"] / f["floor_s"]
        statements_equal &= s["statements"] == f["statements"]
        tenant = figures["per_tenant"][case]
        print(f"\n{names[case]}: {tenant['enterprises']:,} enterprises, {tenant['entries']:,} entries "
              f"({tenant['live']:,} live, {tenant['expiring']:,} of them expiring; first size "
              f"{figures['per_tenant_small'][case]:,})")
        print(f"  answer (equal to the floor's for every enterprise and item, and the same entries moved "
              f"and notifications written): {f['enterprises']:,} enterprises, items {f['summary']}; "
              f"by duty {f['by_duty']}")
        print(f"  reminders: {f['told']} entries told ({f['stages']}), {f['notifications']} notifications "
              f"(first size: {s['told']} told, {s['notifications']} notifications); the platform also "
              f"wrote {len(f['audited'])} audit row(s) (the floor none; first size {len(s['audited'])}):")
        for action, entity_type, entity_id, detail in f["audited"][:3]:
            print(f"    {action} {entity_type} {entity_id}: {detail}")
        print(f"  scan: platform {f['platform_s'] * 1000:.1f} ms (duty_status {f['duties_s'] * 1000:.1f} ms, "
              f"remind_expiring and commit {f['reminders_s'] * 1000:.1f} ms), floor (one statement, "
              f"{APP_ROLE}) {f['floor_s'] * 1000:.1f} ms, ratio {ratios[case]:.2f}")
        print(f"    runs (ms, sorted): platform {f['platform_runs_ms']}\n"
              f"                       floor    {f['floor_runs_ms']}")
        print(f"  SQL statements: {s['statements']} at the first size, {f['statements']} at the full "
              f"size ({s['all_statements']} and {f['all_statements']} with the scope's set_config)")
        print("  the platform's statements (median ms, cursor execute to return; a run of the same "
              "statement on one line):")
        for ms, times, text in _runs(f["statement_ms"], f["statement_text"]):
            print(f"    {ms:8.2f}  {f'{times} x ' if times > 1 else ''}{text}")
        print(f"    {sum(f['statement_ms']):8.2f}  in all; the rest of {f['platform_s'] * 1000:.1f} ms is "
              f"Python (plugin hooks, periods per enterprise) and the commit")
    if not statements_equal:
        print("\nthe number of SQL statements grew with the rows", file=sys.stderr)
    ratio = max(ratios.values())
    goal_met = ratio <= GOAL_RATIO and statements_equal
    print(f"\ngoal ratio <= {GOAL_RATIO:g} in both cases, statements equal at both sizes: "
          f"{'met' if goal_met else 'NOT met'}")
    result = {"bench": "ledgers", "ratio": round(ratio, 2),
              "goal": f"ratio <= {GOAL_RATIO:g} (both cases) and statements equal at both sizes",
              "goal_met": goal_met, "entries": options.entries, "tenants": options.tenants,
              "big": options.big}
    for case in full:
        result.update({f"ratio_{case}": round(ratios[case], 2),
                       f"{case}_ms": round(full[case]["platform_s"] * 1000, 2),
                       f"{case}_floor_ms": round(full[case]["floor_s"] * 1000, 2),
                       f"statements_{case}": [small[case]["statements"], full[case]["statements"]]})
    result["generation_s"] = round(figures["generation_s"], 1)
    print(json.dumps(result, ensure_ascii=False))
    if not statements_equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
