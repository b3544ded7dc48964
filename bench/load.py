#!/usr/bin/env python
"""Benchmark: the API under load over loopback, against a bare Flask floor.

Not a test (pytest's testpaths is ``tests/``). Run from the repository root:

    scripts/ensure-services.sh --bench          # wrk from Debian, when missing
    .venv/bin/python bench/load.py              # 500 tenants, 100,000 enterprises, 20 s a run
    .venv/bin/python bench/load.py --duration 10 --connections 16 --hazards 50000

What one run does:

1. a throwaway PostgreSQL (``bench/harness.py``; or ``ANJIAN_BENCH_POSTGRES_URL``),
   migrated as the owner; the data of ``bench/closed_loop.py`` generated with COPY
   (``--tenants`` tenants of 200 enterprises each: 100,000 for 500; campaigns, tasks,
   inspections; ``--hazards`` hazards spread over the tenants), plus one user per
   tenant (a supervisor) with a real API token;
2. a private Redis (``tests/services.py``), so that the web processes run as deployed
   (no embedded queue);
3. the platform: gunicorn with ``deploy/gunicorn.conf.py`` and ``--workers`` sync
   workers on 127.0.0.1, connected as ``anjian_app`` (row-level security on);
4. the floor: ``bench/floor_app.py`` under the same gunicorn settings and worker
   count: per request one SQL statement giving the same page (50 rows, same order,
   every column), as the owner, without authentication, ORM, scope or schema;
5. for the enterprise list and the hazard list, ``wrk`` with ``--connections``
   connections (as many threads, one connection each) for ``--duration`` seconds,
   in ``--rounds`` rounds alternating floor and platform (the machine's other load
   falls on both alike), after a short warm-up of each.
   ``bench/load.lua`` rotates over all tenants and their tokens and checks every
   answer: a 200 holding only the asked tenant's rows (RELIABILITY 25).

Printed: requests/s, p50, p90, p99 and max per run, the ratio platform/floor of the
throughput per endpoint, non-200 answers and answers holding another tenant's rows.
Goal: p99 <= 100 ms at 32 connections and throughput >= 50 % of the floor. The last
line is ``{"bench": "load", "ratio": <the lower of the two throughput ratios>, ...}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT / "plugins"), str(ROOT)]

from bench.closed_loop import (  # noqa: E402
    APP_ROLE,
    ENTERPRISES_PER_TENANT,
    NOW,
    copy_lines,
    finish_load,
    generate_base,
    generate_hazards,
    migrate,
)
from bench.harness import Postgres, libpq  # noqa: E402

LUA = ROOT / "bench" / "load.lua"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
ENDPOINTS = {
    "enterprises": ("/api/v1/tenants/%s/enterprises", "/floor/%s/enterprises"),
    "hazards": ("/api/v1/tenants/%s/hazards", "/floor/%s/hazards"),
}
GOAL_P99_MS = 100
GOAL_RATIO = 0.5


# --------------------------------------------------------------------------- data


def generate_users(conn, tenants: int) -> list[tuple[str, str, int]]:
    """One supervisor per tenant with an API token; returns (code, token, tenant_id)."""
    tokens = [f"ajt_{secrets.token_urlsafe(32)}" for _ in range(tenants)]
    copy_lines(conn, "users", "id, username, display_name, password_hash, is_platform_admin, "
               "is_active, created_at",
               (f"{t}\tbench-{t:03d}\t基准用户{t:03d}\t\\N\tf\tt\t{NOW}\n"
                for t in range(1, tenants + 1)))
    copy_lines(conn, "memberships", "id, user_id, role, created_at, tenant_id, enterprise_id",
               (f"{t}\t{t}\tsupervisor\t{NOW}\t{t}\t\\N\n" for t in range(1, tenants + 1)))
    copy_lines(conn, "api_tokens", "id, user_id, name, prefix, token_hash, created_at",
               (f"{t}\t{t}\tbench\t{tokens[t - 1][:12]}\t"
                f"{hashlib.sha256(tokens[t - 1].encode()).hexdigest()}\t{NOW}\n"
                for t in range(1, tenants + 1)))
    for table in ("users", "memberships", "api_tokens"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))")
    return [(f"bench-{t:03d}", tokens[t - 1], t) for t in range(1, tenants + 1)]


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    from tests.services import _free_port as free

    return free()


def serve(name: str, target: str, port: int, workers: int, env: dict, logs: Path):
    from tests.stack import Proc

    return Proc(name, [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                       "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                       "--no-control-socket", target], env, logs).start()


def wait_answer(proc, port: int, path: str, token: str, timeout: float = 60) -> None:
    import http.client

    from tests.stack import wait_for

    def answers():
        if not proc.alive:
            raise SystemExit(f"{proc.name} exited:\n{proc.tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            return conn.getresponse().status == 200
        finally:
            conn.close()

    wait_for(f"{proc.name} to answer {path}", answers, timeout, 0.2, proc.tail)


def run_wrk(base: str, path: str, kind: str, tokens: Path, connections: int,
            duration: int) -> dict:
    cmd = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
           "-s", str(LUA), base, "--", str(tokens), path, kind, str(ENTERPRISES_PER_TENANT)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    out = json.loads(lines[-1])
    seconds = out["duration_us"] / 1e6
    out["rps"] = out["requests"] / seconds if seconds else 0.0
    for key in ("p50", "p90", "p99", "max"):
        out[f"{key}_ms"] = out.pop(f"{key}_us") / 1000
    return out


def combine(rounds: list[dict]) -> dict:
    """Rounds of one app on one endpoint: throughput over all of them, the median round's
    latency percentiles (wrk's histograms cannot be merged) and the worst round's p99."""
    import statistics

    seconds = sum(r["duration_us"] for r in rounds) / 1e6
    out = {"requests": sum(r["requests"] for r in rounds), "seconds": seconds,
           "rounds": len(rounds)}
    out["rps"] = out["requests"] / seconds if seconds else 0.0
    for key in ("p50_ms", "p90_ms", "p99_ms"):
        out[key] = statistics.median(r[key] for r in rounds)
    out["p99_worst_ms"] = max(r["p99_ms"] for r in rounds)
    out["max_ms"] = max(r["max_ms"] for r in rounds)
    for key in ("non200", "wrong_tenant", "checked", "empty"):
        out[key] = sum(r[key] for r in rounds)
    out["errors"] = {k: sum(r["errors"][k] for r in rounds) for k in rounds[0]["errors"]}
    return out


# --------------------------------------------------------------------------- the run


def run(options) -> dict:
    import psycopg
    from tests import services

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run scripts/ensure-services.sh --bench "
                         "(Debian's wrk package)")
    redis_binary = services._redis_binary()
    if redis_binary is None:
        raise SystemExit("redis-server is not installed: run scripts/ensure-services.sh")
    figures: dict = {"runs": {}}
    procs = []
    redis = None
    with tempfile.TemporaryDirectory(prefix="anjian-bench-load-") as tmp, \
            Postgres() as admin:
        tmp_path = Path(tmp)
        logs = tmp_path / "logs"
        logs.mkdir()
        app_url = admin.replace("//postgres@", f"//{APP_ROLE}@", 1)
        started = time.perf_counter()
        migrate(admin, app_url, tmp)
        with psycopg.connect(libpq(admin)) as owner:
            owner.execute("SET session_replication_role = replica")  # generated: no RI triggers
            base = generate_base(owner, options.tenants)
            hazards = generate_hazards(owner, options.tenants, 1, options.hazards, seed=1)
            users = generate_users(owner, options.tenants)
            owner.execute("SET session_replication_role = DEFAULT")
            finish_load(owner)
        figures["generation_s"] = time.perf_counter() - started
        print(f"generated in {figures['generation_s']:.1f} s: {base}, {hazards:,} hazards, "
              f"{len(users)} users with tokens", flush=True)
        tokens = tmp_path / "tokens.tsv"
        tokens.write_text("".join(f"{code}\t{token}\t{tid}\n" for code, token, tid in users))

        try:
            redis = services.RedisServer(redis_binary)
            error = redis.start()
            if error:
                raise SystemExit(f"could not start redis-server: {error}")
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("ANJIAN_")},
                "ANJIAN_DATABASE_URL": app_url, "ANJIAN_REDIS_URL": redis.url,
                "ANJIAN_DATA_DIR": str(tmp_path / "data"),
                "ANJIAN_STORAGE_URL": (tmp_path / "objects").as_uri(),
                "ANJIAN_TENANTS_DIR": str(ROOT / "tenants"),
                "ANJIAN_SECRET_KEY": secrets.token_urlsafe(48),
                "ANJIAN_FLOOR_DATABASE_URL": libpq(admin),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                            os.environ.get("PYTHONPATH")])),
            }
            ports = {"platform": _free_port(), "floor": _free_port()}
            platform = serve("platform", "wsgi:app", ports["platform"], options.workers, env,
                             logs)
            procs.append(platform)
            floor = serve("floor", "bench.floor_app:app", ports["floor"], options.workers, env,
                          logs)
            procs.append(floor)
            code, token, _tid = users[0]
            bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            wait_answer(platform, ports["platform"], f"/api/v1/tenants/{code}/enterprises",
                        token)
            wait_answer(floor, ports["floor"], f"/floor/{code}/enterprises", token)

            per_round = max(1, round(options.duration / options.rounds))
            for endpoint, (platform_path, floor_path) in ENDPOINTS.items():
                paths = {"floor": floor_path, "platform": platform_path}
                for name, path in paths.items():
                    run_wrk(bases[name], path, endpoint, tokens, options.connections,
                            options.warmup)
                rounds: dict[str, list[dict]] = {"floor": [], "platform": []}
                for n in range(options.rounds):  # alternated: both see the same machine
                    for name in (("floor", "platform") if n % 2 == 0 else ("platform", "floor")):
                        result = run_wrk(bases[name], paths[name], endpoint, tokens,
                                         options.connections, per_round)
                        rounds[name].append(result)
                        print(f"{endpoint:12} {name:9} round {n + 1}: {result['rps']:6.0f} req/s"
                              f"  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
                              f"  max {result['max_ms']:7.1f} ms  non-200 {result['non200']}  "
                              f"wrong tenant {result['wrong_tenant']}", flush=True)
                for name, results in rounds.items():
                    figures["runs"][f"{endpoint}/{name}"] = combine(results)
            for proc in procs:
                if not proc.alive:
                    raise SystemExit(f"{proc.name} died under load:\n{proc.tail()}")
            log = (logs / "platform.log").read_text(errors="replace")
            figures["platform_worker_timeouts"] = log.count("WORKER TIMEOUT")
            figures["platform_tracebacks"] = log.count("Traceback")
        finally:
            for proc in procs:
                proc.stop()
            if redis is not None:
                redis.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--hazards", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, both apps")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20,
                        help="measured seconds per app and endpoint")
    parser.add_argument("--rounds", type=int, default=4,
                        help="the duration is split in rounds, floor and platform alternated")
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of warm-up per app and endpoint")
    options = parser.parse_args()
    figures = run(options)
    runs = figures["runs"]
    ratios, p99 = {}, {}
    print(f"\n{options.tenants} tenants, {options.tenants * ENTERPRISES_PER_TENANT:,} "
          f"enterprises, {options.hazards:,} hazards; gunicorn {options.workers} sync workers; "
          f"wrk {options.connections} connections, {options.duration} s per app and endpoint "
          f"in {options.rounds} alternated rounds")
    for endpoint in ENDPOINTS:
        ours, floor = runs[f"{endpoint}/platform"], runs[f"{endpoint}/floor"]
        ratios[endpoint] = ours["rps"] / floor["rps"] if floor["rps"] else 0.0
        p99[endpoint] = ours["p99_ms"]
        print(f"{endpoint:12} platform {ours['rps']:.0f} req/s (p50 {ours['p50_ms']:.1f} ms, "
              f"p99 {ours['p99_ms']:.1f} ms, worst round {ours['p99_worst_ms']:.1f} ms) vs "
              f"floor {floor['rps']:.0f} req/s (p50 {floor['p50_ms']:.1f} ms, "
              f"p99 {floor['p99_ms']:.1f} ms): ratio {ratios[endpoint]:.2f}")
    bad = {k: {"non200": r["non200"], "wrong_tenant": r["wrong_tenant"], "empty": r["empty"],
               "errors": {e: n for e, n in r["errors"].items() if n}}
           for k, r in runs.items()
           if r["non200"] or r["wrong_tenant"] or r["empty"] or any(r["errors"].values())}
    met_p99 = max(p99.values()) <= GOAL_P99_MS
    met_ratio = min(ratios.values()) >= GOAL_RATIO
    print(f"goal p99 <= {GOAL_P99_MS} ms: {'met' if met_p99 else 'NOT met'}; "
          f"throughput >= {GOAL_RATIO:.0%} of the floor: {'met' if met_ratio else 'NOT met'}; "
          f"answers checked: {sum(r['checked'] for r in runs.values()):,}, "
          f"problems: {bad or 'none'}")
    result = {"bench": "load", "ratio": round(min(ratios.values()), 2),
              "tenants": options.tenants,
              "enterprises": options.tenants * ENTERPRISES_PER_TENANT,
              "hazards": options.hazards, "workers": options.workers,
              "connections": options.connections, "duration_s": options.duration,
              "rounds": options.rounds}
    for key, r in runs.items():
        name = key.replace("/", "_")
        result[f"{name}_rps"] = round(r["rps"], 1)
        result[f"{name}_p50_ms"] = round(r["p50_ms"], 1)
        result[f"{name}_p99_ms"] = round(r["p99_ms"], 1)
    result.update({f"{k}_ratio": round(v, 2) for k, v in ratios.items()})
    result.update(goal_p99_met=met_p99, goal_ratio_met=met_ratio,
                  wrong_tenant=sum(r["wrong_tenant"] for r in runs.values()),
                  non200=sum(r["non200"] for r in runs.values()),
                  worker_timeouts=figures["platform_worker_timeouts"],
                  generation_s=round(figures["generation_s"], 1))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
