#!/usr/bin/env python
"""Benchmark: the Tianjin Hebei weekly dispatch table (调度表) against a hand-written SQL floor.

Not a test (pytest's testpaths is ``tests/``). Run from the repository root:

    .venv/bin/python bench/dispatch.py                     # 100,000 enterprises, 1,000,000 hazards
    .venv/bin/python bench/dispatch.py --hazards 200000 --small 20000 --repeat 5

It imports ``bench/closed_loop.py``'s helpers (migration, the app, COPY, statement
counting); a throwaway PostgreSQL cluster through ``bench/harness.py``, or
``ANJIAN_BENCH_POSTGRES_URL``. The schema is migrated as the owner; the platform runs
as the unprivileged role ``anjian_app`` (Row-Level Security on).

Data, generated with COPY as the owner, all in **one tenant** with the plugin
``anjian_tianjin_hebei``: ``--enterprises`` enterprises (sectors spread over the focus,
high-risk and other sectors), the 2023 campaign of the plugin's kind and an older one,
the plugin's spot-check template and a department template, inspections (20 % spot
checks, 50 % department, 30 % self; a few drafts and some in the older campaign) with
every item answered (about 8 % "no"), referrals with decisions and fines, the
figures staff enter for every week and key, and hazards spread over both campaigns
and none, sources, grades (5 % major), states and found dates (May to December 2023),
verified ones with their verification time. First ``--small`` hazards, then up to
``--hazards``; ANALYZE after each.

Measured: the table for the week of 11 September 2023 (cumulative since 1 May):
``anjian_tianjin_hebei.dispatch.compute`` under the tenant's scope inside the core's
report snapshot (one read-only REPEATABLE READ transaction), against the floor: one
hand-written query giving the same figures, on a psycopg connection of the same role
with the same RLS setting. Answers are compared before timing; SQL statements are
counted at both sizes (they must not grow); timings are medians of ``--repeat`` × 5
alternated runs. Goal: ratio <= 1.5 (against the floor in the same run). The last
line is ``{"bench": "dispatch", "ratio": ..., "goal": "ratio <= 1.5", "goal_met": ...}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT / "plugins"), str(ROOT)]

from bench.closed_loop import (  # noqa: E402
    APP_ROLE,
    bulk_load,
    copy_lines,
    counting,
    make_app,
    migrate,
)
from bench.harness import Postgres, libpq  # noqa: E402

PLUGIN = "anjian_tianjin_hebei"
TENANT = 1
CAMPAIGN, OLD_CAMPAIGN = 1, 2
SPOT_TEMPLATE, DEPT_TEMPLATE = 1, 2
WEEK = dt.date(2023, 9, 11)
NOW = "2023-05-01 00:00:00+00"
START, END = dt.date(2023, 5, 1), dt.date(2023, 12, 31)
SECTORS = ["大型商超", "标准化菜市场", "非星级酒店", "商业综合体", "建筑施工", "危险物品经营储存",
           "其他", None]
STATES = [("reported", 10), ("rectifying", 20), ("rectified", 10), ("verified", 50),
          ("overdue", 7), ("referred", 3)]
SOURCES = [("self", 40), ("department", 30), ("spot_check", 15), ("service_org", 15)]
DECISIONS = [(None, 20), ("order_rectify", 30), ("penalty", 30), ("suspension", 15),
             ("transfer", 5)]
INSPECTIONS_PER_ENTERPRISE = 1.2
REFERRALS = 10_000
GOAL_RATIO = 1.5  # platform seconds / floor seconds


def _moment(day: dt.date, rnd: random.Random) -> str:
    """A time of ``day`` in China, as UTC text for COPY."""
    local = dt.datetime.combine(day, dt.time(8), dt.timezone(dt.timedelta(hours=8)))
    return (local + dt.timedelta(minutes=rnd.randrange(600))).astimezone(dt.UTC).isoformat()


def _day(rnd: random.Random, start=START, end=END) -> dt.date:
    return start + dt.timedelta(days=rnd.randrange((end - start).days + 1))


# --------------------------------------------------------------------------- data (COPY)


def generate_base(conn, enterprises: int) -> dict:
    from anjian_tianjin_hebei.campaign import CAMPAIGN_KEY
    from anjian_tianjin_hebei.checklists import FIRE_ITEMS, SPOT_CHECK_ITEMS, SPOT_CHECK_TEMPLATE
    from anjian_tianjin_hebei.dispatch import DISPATCH_KEY, ENTERED

    rnd = random.Random(11)
    counts = {}
    counts["tenants"] = copy_lines(
        conn, "tenants", "id, code, name, level, plugins, settings, is_active, version, "
        "created_at, updated_at",
        [f"{TENANT}\ttj-hebei-bench\t天津市河北区商务局（基准）\tdepartment\t"
         f'["{PLUGIN}"]\t{{}}\tt\t1\t{NOW}\t{NOW}\n'])

    def enterprise_rows():
        for k in range(1, enterprises + 1):
            sector = SECTORS[k % len(SECTORS)]
            extra = json.dumps({"hebei_sector": sector}, ensure_ascii=False) if sector else "{}"
            yield (f"{k}\t{TENANT}\t91120105{k:010d}\t河北区第{k}号企业\t河北区{k}号\tbelow\tf\t\t\t"
                   f"f\tf\tf\tf\tf\t\t\t\t\tactive\t{extra}\t{NOW}\t{NOW}\n")

    counts["enterprises"] = copy_lines(
        conn, "enterprises", "id, tenant_id, credit_code, name, address, scale, above_quota, "
        "main_products, main_risk_factors, dust_explosion, ammonia_refrigeration, "
        "confined_space, major_hazard, labour_intensive, principal_name, principal_phone, "
        "contact_name, contact_phone, status, extra, created_at, updated_at", enterprise_rows())
    counts["campaigns"] = copy_lines(
        conn, "campaigns", "id, tenant_id, kind, plugin, title, description, status, starts_on, "
        "ends_on, settings, created_at, updated_at",
        [f"{CAMPAIGN}\t{TENANT}\t{CAMPAIGN_KEY}\t{PLUGIN}\t河北区商务局重大事故隐患排查整治2023专项行动"
         f"\t\tactive\t{START}\t{END}\t{{}}\t{NOW}\t{NOW}\n",
         f"{OLD_CAMPAIGN}\t{TENANT}\t\\N\t\\N\t2022年安全生产大检查\t\tclosed\t2022-05-01\t"
         f"2022-12-31\t{{}}\t{NOW}\t{NOW}\n"])
    counts["checklist_templates"] = copy_lines(
        conn, "checklist_templates", "id, tenant_id, key, version, title, source, plugin, "
        "is_current, created_at",
        [f"{SPOT_TEMPLATE}\t{TENANT}\t{SPOT_CHECK_TEMPLATE}\t1\t企业自查自改抽查检查表\tplugin\t"
         f"{PLUGIN}\tt\t{NOW}\n",
         f"{DEPT_TEMPLATE}\t{TENANT}\thebei_fire_safety_2023\t1\t消防安全重点检查表\tplugin\t"
         f"{PLUGIN}\tt\t{NOW}\n"])
    items = [(SPOT_TEMPLATE, i) for i in SPOT_CHECK_ITEMS] + [(DEPT_TEMPLATE, i) for i in FIRE_ITEMS]
    counts["checklist_items"] = copy_lines(
        conn, "checklist_items", "id, tenant_id, template_id, position, code, text, category, "
        "part, legal_basis, is_major_criterion",
        (f"{n}\t{TENANT}\t{template}\t{n}\t{item.code}\t{item.text}\t{item.category or ''}\t"
         f"{item.part or ''}\t\t{'t' if item.is_major_criterion else 'f'}\n"
         for n, (template, item) in enumerate(items, 1)))
    item_ids = {SPOT_TEMPLATE: [n for n, (t, _) in enumerate(items, 1) if t == SPOT_TEMPLATE],
                DEPT_TEMPLATE: [n for n, (t, _) in enumerate(items, 1) if t == DEPT_TEMPLATE]}

    inspections = int(enterprises * INSPECTIONS_PER_ENTERPRISE)
    chosen = []  # (id, template) of each inspection, for the results

    def inspection_rows():
        for n in range(1, inspections + 1):
            roll = rnd.random()
            kind, template = (("spot_check", SPOT_TEMPLATE) if roll < 0.2 else
                              ("department", DEPT_TEMPLATE) if roll < 0.7 else
                              ("self", DEPT_TEMPLATE))
            campaign = CAMPAIGN if rnd.random() < 0.95 else OLD_CAMPAIGN
            draft = rnd.random() < 0.05
            day = None if draft else _day(rnd, dt.date(2023, 6, 1))
            submitted = "\\N" if draft else _moment(day, rnd)
            performed = START if draft else day  # the China date it was submitted (or started)
            chosen.append((n, template))
            yield (f"{n}\t{TENANT}\t{rnd.randrange(enterprises) + 1}\t{campaign}\t{template}\t"
                   f"{kind}\t{'draft' if draft else 'submitted'}\t\t\t{NOW}\t{submitted}\t"
                   f"{performed}\n")

    counts["inspections"] = copy_lines(
        conn, "inspections", "id, tenant_id, enterprise_id, campaign_id, template_id, "
        "inspector_kind, status, summary, conclusion, started_at, submitted_at, performed_on",
        inspection_rows())

    def result_rows():
        rid = 0
        for inspection, template in chosen:
            for item in item_ids[template]:
                rid += 1
                roll = rnd.random()
                answer = "no" if roll < 0.08 else "na" if roll < 0.10 else "yes"
                yield f"{rid}\t{TENANT}\t{inspection}\t{item}\t{answer}\t\t{NOW}\n"

    counts["inspection_results"] = copy_lines(
        conn, "inspection_results", "id, tenant_id, inspection_id, item_id, answer, note, "
        "answered_at", result_rows())

    names, weights = zip(*DECISIONS, strict=True)

    def referral_rows():
        for n in range(1, REFERRALS + 1):
            decision = rnd.choices(names, weights)[0]
            campaign = CAMPAIGN if rnd.random() < 0.9 else "\\N"
            amount = f"{rnd.randrange(100, 5_000_000) / 100:.2f}" if decision == "penalty" else "\\N"
            decided = _moment(_day(rnd, dt.date(2023, 6, 1)), rnd) if decision else "\\N"
            yield (f"{n}\t{TENANT}\t{rnd.randrange(enterprises) + 1}\t{campaign}\tuncooperative\t\t"
                   f"{'decided' if decision else 'open'}\t{decision or chr(92) + 'N'}\t{amount}\t\t"
                   f"{decided}\t\t{NOW}\t{NOW}\n")

    counts["enforcement_referrals"] = copy_lines(
        conn, "enforcement_referrals", "id, tenant_id, enterprise_id, campaign_id, reason, "
        "reason_text, status, decision, penalty_amount, decision_note, decided_at, outcome, "
        "created_at, updated_at", referral_rows())

    def figure_rows():
        n, monday = 0, START - dt.timedelta(days=START.weekday())
        while monday <= END:
            for key, value in ENTERED.items():
                if rnd.random() < 0.3:
                    continue  # not every key is entered every week
                n += 1
                number = (rnd.randrange(2) if value.aggregate == "flag" else
                          rnd.randrange(5, 40) if value.aggregate == "latest" else
                          rnd.randrange(0, 500) / 100 if value.unit == "万元" else
                          rnd.randrange(0, 6))
                yield f"{n}\t{TENANT}\t{DISPATCH_KEY}\t{monday}\t{key}\t{number}\t\t{NOW}\n"
            monday += dt.timedelta(days=7)

    counts["entered_figures"] = copy_lines(
        conn, "entered_figures", "id, tenant_id, report_kind, period, key, value, note, "
        "updated_at", figure_rows())
    return counts


def generate_hazards(conn, enterprises: int, first_id: int, count: int, seed: int) -> int:
    rnd = random.Random(seed)
    state_names, state_weights = zip(*STATES, strict=True)
    source_names, source_weights = zip(*SOURCES, strict=True)

    def rows():
        states = rnd.choices(state_names, state_weights, k=count)
        sources = rnd.choices(source_names, source_weights, k=count)
        for n in range(count):
            roll = rnd.random()
            campaign = CAMPAIGN if roll < 0.85 else OLD_CAMPAIGN if roll < 0.9 else "\\N"
            grade = "major" if rnd.random() < 0.05 else "general"
            found = _day(rnd)
            state = states[n]
            verified = (_moment(found + dt.timedelta(days=rnd.randrange(1, 60)), rnd)
                        if state == "verified" else "\\N")
            deadline = found + dt.timedelta(days=14)
            yield (f"{first_id + n}\t{TENANT}\t{rnd.randrange(enterprises) + 1}\t{campaign}\t"
                   f"{sources[n]}\t{grade}\t{state}\t隐患{n % 97}\t\t\t{found}\tf\t\t\t\t"
                   f"{deadline}\tf\t{verified}\t1\t{NOW}\t{NOW}\t\n")  # no criterion

    return copy_lines(
        conn, "hazards", "id, tenant_id, enterprise_id, campaign_id, source, grade, state, title, "
        "description, location, found_on, immediate, responsible_person, measures, "
        "contingency_plan, deadline, deadline_provisional, verified_at, version, created_at, "
        "updated_at, grade_criterion", rows())


# --------------------------------------------------------------------------- measuring


def tenant_info(app):
    from anjian.plugins.views import TenantInfo

    settings = app.extensions["anjian.plugins"].validate_settings(PLUGIN, {})
    return TenantInfo(TENANT, "tj-hebei-bench", "天津市河北区商务局（基准）", "department",
                      (PLUGIN,), {PLUGIN: settings})


def platform_table(app, info) -> tuple[dict, float, int]:
    """The plugin's compute, as the report job runs it: tenant scope, one snapshot."""
    from anjian.context import Context
    from anjian.extensions import db
    from anjian.reports.service import snapshot
    from anjian.tenancy.scope import Scope, scoped
    from anjian_tianjin_hebei.dispatch import compute

    with app.app_context():
        with counting(db.engine) as seen:
            started = time.perf_counter()
            with scoped(db.session, Scope.tenant(TENANT, write=False)):
                with snapshot(Context.for_system(info), db.session) as snapshot_at:
                    data = compute(tenant=info, params={"week": WEEK, "campaign_id": CAMPAIGN},
                                   snapshot_at=snapshot_at)
            seconds = time.perf_counter() - started
        db.session.remove()
    statements = [s for s in seen if "set_config" not in s]
    return data["figures"], seconds, len(statements)


FLOOR = """
SELECT
 (SELECT json_build_array(
    count(*) FILTER (WHERE source = 'self'),
    count(*) FILTER (WHERE source = 'self' AND state = 'verified' AND verified_at < %(cutoff)s),
    count(*) FILTER (WHERE source <> 'self'),
    count(*) FILTER (WHERE source <> 'self' AND state = 'verified' AND verified_at < %(cutoff)s))
    FROM hazards WHERE tenant_id = %(t)s AND campaign_id = %(c)s AND grade = 'major'
     AND found_on <= %(end)s),
 (SELECT json_build_array(
    count(DISTINCT i.enterprise_id) FILTER (WHERE i.inspector_kind = 'spot_check'),
    count(*) FILTER (WHERE i.inspector_kind = 'department'
                       AND e.extra ->> 'hebei_sector' = ANY(%(focus)s)))
    FROM inspections i JOIN enterprises e ON e.tenant_id = i.tenant_id AND e.id = i.enterprise_id
   WHERE i.tenant_id = %(t)s AND i.campaign_id = %(c)s AND i.status = 'submitted'
     AND i.submitted_at < %(cutoff)s AND i.inspector_kind IN ('spot_check', 'department')),
 (SELECT coalesce(json_object_agg(failing, n), '{}') FROM (
    SELECT substr(ci.code, 5, 1) AS failing, count(DISTINCT i.enterprise_id) AS n
      FROM inspection_results r
      JOIN inspections i ON i.tenant_id = r.tenant_id AND i.id = r.inspection_id
      JOIN checklist_items ci ON ci.tenant_id = r.tenant_id AND ci.id = r.item_id
      JOIN checklist_templates ct ON ct.tenant_id = ci.tenant_id AND ct.id = ci.template_id
     WHERE r.tenant_id = %(t)s AND i.campaign_id = %(c)s AND i.inspector_kind = 'spot_check'
       AND i.status = 'submitted' AND i.submitted_at < %(cutoff)s AND r.answer = 'no'
       AND ct.key = 'hebei_spot_check_2023' AND ci.code LIKE 'HB-S_%%'
     GROUP BY 1) f),
 (SELECT json_build_array(
    count(*) FILTER (WHERE decision = 'penalty'),
    sum(penalty_amount) FILTER (WHERE decision = 'penalty'),
    count(*) FILTER (WHERE decision = 'transfer'),
    count(DISTINCT enterprise_id) FILTER (WHERE decision = 'suspension'))
    FROM enforcement_referrals WHERE tenant_id = %(t)s AND campaign_id = %(c)s
     AND decision IS NOT NULL AND decided_at < %(cutoff)s),
 (SELECT coalesce(json_object_agg(key, total), '{}') FROM (
    SELECT key, sum(value) AS total FROM entered_figures
     WHERE tenant_id = %(t)s AND report_kind = %(kind)s AND period BETWEEN %(first)s AND %(week)s
     GROUP BY key) s),
 (SELECT coalesce(json_object_agg(key, value), '{}') FROM (
    SELECT DISTINCT ON (key) key, value FROM entered_figures
     WHERE tenant_id = %(t)s AND report_kind = %(kind)s AND key = ANY(%(latest)s)
       AND period BETWEEN %(first)s AND %(week)s
     ORDER BY key, period DESC) l)
"""


def floor_table(conn, info) -> tuple[dict, float]:
    """One query, as anjian_app in the tenant's RLS scope; its JSON turned into the table's
    figures (formatting only: no counting in Python)."""
    from anjian_tianjin_hebei.checklists import FAILINGS
    from anjian_tianjin_hebei.dispatch import (
        DISPATCH_KEY,
        ENTERED,
        _number,
        _wan,
        week_cutoff,
        week_of,
    )

    settings = info.settings[PLUGIN]
    start, end = week_of(WEEK)
    params = {"t": TENANT, "c": CAMPAIGN, "end": end, "cutoff": week_cutoff(end),
              "focus": list(settings["focus_sectors"]), "kind": DISPATCH_KEY,
              "first": week_of(START)[0], "week": start,
              "latest": [k for k, v in ENTERED.items() if v.aggregate != "sum"]}
    started = time.perf_counter()
    conn.execute("SELECT set_config('app.tenant_ids', %s, true), "
                 "set_config('app.tenant_id', %s, true)", (str(TENANT), str(TENANT)))
    hazards, inspections, failings, referrals, sums, latest = conn.execute(FLOOR, params).fetchone()
    conn.rollback()
    seconds = time.perf_counter() - started
    out = dict(zip(("self_found", "self_fixed", "department_found", "department_fixed"), hazards,
                   strict=True))
    out["spot_checked"], out["guided_enterprises"] = inspections
    for number, (key, _label) in FAILINGS.items():
        out[key] = failings.get(str(number), 0)
    out["penalties"], amount, out["judiciary_transfers"], out["suspensions"] = referrals
    out["penalty_amount"] = _wan(decimal.Decimal(str(amount)) if amount is not None else None)
    for key, value in ENTERED.items():
        if value.aggregate == "flag":
            out[key] = bool(latest.get(key))
        elif value.aggregate == "latest":
            out[key] = _number(decimal.Decimal(str(latest[key])) if key in latest else None)
        else:
            out[key] = _number(decimal.Decimal(str(sums.get(key, 0))).normalize())
    return out, seconds


def measure(app, app_conn, info, repeat: int, timed: bool) -> dict:
    ours, _, statements = platform_table(app, info)
    floor, _ = floor_table(app_conn, info)
    if ours != floor:
        diff = {k: (ours.get(k), floor.get(k)) for k in set(ours) | set(floor)
                if ours.get(k) != floor.get(k)}
        raise SystemExit(f"the dispatch table differs from the floor: {diff}")
    out = {"statements": statements, "answer": ours}
    if timed:
        mine, base = [], []
        for _ in range(max(repeat, 1) * 5):  # alternated, so that both see the same cache
            mine.append(platform_table(app, info)[1])
            base.append(floor_table(app_conn, info)[1])
        out["platform_s"] = statistics.median(mine)
        out["floor_s"] = statistics.median(base)
        out["platform_runs_ms"] = sorted(round(s * 1000, 1) for s in mine)
        out["floor_runs_ms"] = sorted(round(s * 1000, 1) for s in base)
    return out


# --------------------------------------------------------------------------- the run


def run(options) -> dict:
    import psycopg

    with tempfile.TemporaryDirectory(prefix="anjian-bench-") as tmp, Postgres() as admin:
        app_url = admin.replace("//postgres@", f"//{APP_ROLE}@", 1)
        started = time.perf_counter()
        migrate(admin, app_url, tmp)
        owner = psycopg.connect(libpq(admin))
        with bulk_load(owner):  # generated data: no RI triggers, then ANALYZE
            base = generate_base(owner, options.enterprises)
            small = generate_hazards(owner, options.enterprises, 1, options.small, seed=1)
        print(f"generated in {time.perf_counter() - started:.1f} s: {base} + {small:,} hazards",
              flush=True)
        app = make_app(app_url, tmp)
        info = tenant_info(app)
        app_conn = psycopg.connect(libpq(app_url))
        at_small = measure(app, app_conn, info, options.repeat, timed=False)

        t1 = time.perf_counter()
        with bulk_load(owner):  # generated data: no RI triggers, then ANALYZE
            more = generate_hazards(owner, options.enterprises, options.small + 1,
                                    options.hazards - options.small, seed=2)
        print(f"generated {more:,} more hazards in {time.perf_counter() - t1:.1f} s", flush=True)
        at_full = measure(app, app_conn, info, options.repeat, timed=True)
        app_conn.close()
        owner.close()
        with app.app_context():
            from anjian.extensions import db

            db.engine.dispose()
    return {"small": at_small, "full": at_full, "base": base,
            "generation_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--hazards", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000,
                        help="hazards at the first size (statement count and answer only)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds (x5, median)")
    options = parser.parse_args()
    if not 0 < options.small < options.hazards:
        parser.error("--small must be between 0 and --hazards")
    figures = run(options)
    small, full = figures["small"], figures["full"]
    ratio = full["platform_s"] / full["floor_s"]
    answer = full["answer"]
    print(f"\none tenant, {options.enterprises:,} enterprises, {options.small:,} then "
          f"{options.hazards:,} hazards; {figures['base']['inspections']:,} inspections, "
          f"{figures['base']['inspection_results']:,} answers, "
          f"{figures['base']['enforcement_referrals']:,} referrals; week of {WEEK}")
    print(f"answer (equal to the floor's): major hazards self {answer['self_found']:,} "
          f"(fixed {answer['self_fixed']:,}), department {answer['department_found']:,} "
          f"(fixed {answer['department_fixed']:,}); spot-checked {answer['spot_checked']:,}; "
          f"penalties {answer['penalties']:,} = {answer['penalty_amount']} 万元")
    print(f"dispatch table: platform {full['platform_s'] * 1000:.1f} ms, floor (one query, "
          f"{APP_ROLE}) {full['floor_s'] * 1000:.1f} ms, ratio {ratio:.2f}")
    print(f"  runs (ms, sorted): platform {full['platform_runs_ms']}\n"
          f"                    floor    {full['floor_runs_ms']}")
    print(f"SQL statements: {small['statements']} at {options.small:,} hazards, "
          f"{full['statements']} at {options.hazards:,}")
    goal_met = ratio <= GOAL_RATIO
    print(f"goal ratio <= {GOAL_RATIO:g}: {'met' if goal_met else 'NOT met'}")
    print(json.dumps({"bench": "dispatch", "ratio": round(ratio, 2),
                      "goal": f"ratio <= {GOAL_RATIO:g}", "goal_met": goal_met,
                      "enterprises": options.enterprises, "hazards": options.hazards,
                      "platform_ms": round(full["platform_s"] * 1000, 2),
                      "floor_ms": round(full["floor_s"] * 1000, 2),
                      "statements": [small["statements"], full["statements"]],
                      "generation_s": round(figures["generation_s"], 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
