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

6. the noisy neighbour (RELIABILITY 25: "one tenant running many imports does not ruin
   the others' latency"; ``--no-noisy`` skips it, ``--noisy-only`` runs only it, without
   the floor and the endpoint rounds): two ``worker.py`` processes as deployed (the
   platform's environment, a session each), then ``wrk`` on the enterprise list of every
   tenant but the first, ``--noisy-duration`` seconds per condition in ``--noisy-rounds``
   rounds alternating "quiet" (job workers idle) and "flood": the first tenant's
   supervisor submits enterprise imports back to back from a thread (``--import-rows``
   rows a file, valid credit codes, the core template's headers; 12 files, two variants
   each, so that every import after the first of a file updates every row). A 429 must
   carry Retry-After; the flood then waits min(Retry-After, ``--retry-cap``) seconds, an
   impatient client. After each flood the accepted imports are polled to their end (the
   next quiet round finds the workers idle), and each finished import must have taken
   every row. ``/proc`` gives the cores used meanwhile by web, job workers, PostgreSQL,
   wrk and the rest of the machine. ``--worker-nice`` starts the workers under ``nice``
   (what systemd's ``Nice=`` does); ``--worker-group-nice`` lowers the weight of each
   worker's scheduling group (/proc/PID/autogroup; what ``CPUWeight=`` does to a
   service's cgroup): with autogroup on, the kernel shares the CPU between sessions
   first, so a process's nice value counts only inside its own session. By default the
   workers run as deployed: group nice 10 (weight 110 against the web's 1024, as the
   worker unit's ``CPUWeight=10`` against the default 100).

Printed: requests/s, p50, p90, p99 and max per run, the ratios platform/floor of the
throughput and of the p99 per endpoint, non-200 answers and answers holding another
tenant's rows, and the CPU each answered request cost the web workers, PostgreSQL and
wrk (from /proc, over the rounds; JSON keys ``<endpoint>_<app>_<group>_cpu_ms``).
Goal, on both lists, against the floor measured in the same run, at 32 connections
with 2 workers (the defaults): throughput >= 0.5 of the floor's, and p99 <= 2 times
the floor's p99 (each app's p99 is the median of its rounds' p99). The last line is
``{"bench": "load", "ratio": <the lower of the two throughput ratios>, "p99_ratio":
<the higher of the two p99 ratios>, "goal_met": ..., ...}`` (null with
``--noisy-only``); the noisy neighbour's figures are its ``noisy_*`` keys:
the others' req/s, p50 and p99 quiet and under the flood, ``noisy_p99_ratio`` (flood /
quiet) and ``noisy_rps_ratio``, imports accepted, refused (429), finished, with a wrong
row count, rows imported, the cores used. Timings are printed, never asserted.

    .venv/bin/python bench/load.py --duration 8 --rounds 2      # both, shorter rounds
    .venv/bin/python bench/load.py --noisy-only                 # the noisy neighbour only
    .venv/bin/python bench/load.py --noisy-only --worker-group-nice 0   # workers weigh as web
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
    bulk_load,
    copy_lines,
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
GOAL_RATIO = 0.5  # platform req/s / floor req/s, at least, on each list
GOAL_P99_RATIO = 2.0  # platform p99 / floor p99, at most, on each list
GOAL_CONNECTIONS, GOAL_WORKERS = 32, 2  # where the goal is stated


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
    if all("cpu_s" in r for r in rounds):  # CPU per answered request, per process group
        out["cpu_ms"] = {k: sum(r["cpu_s"][k] for r in rounds) / out["requests"] * 1000
                         if out["requests"] else 0.0 for k in rounds[0]["cpu_s"]}
    return out


# --------------------------------------------------------------------------- the noisy neighbour


NOISY_FILES = 12  # > ANJIAN_JOBS_OPEN_PER_TENANT (6): two open imports never share a file
TERMINAL = ("finished", "failed", "abandoned")


def import_workbook(rows: int, file_no: int, variant: int) -> bytes:
    """An .xlsx of ``rows`` enterprises (tests.stack.enterprise_workbook), credit codes
    ``911201<file_no:02d>MA<n:07d><check>``; ``variant`` 0 and 1 differ in every name and
    address, so that importing them in turn updates every row."""
    from tests.stack import enterprise_workbook

    return enterprise_workbook(rows, prefix=f"911201{file_no:02d}", variant=variant)


class Client:
    """A keep-alive HTTP/1.1 connection to the platform (reconnects after an error)."""

    def __init__(self, port: int, token: str):
        self.port, self.token, self.conn = port, token, None

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None):
        import http.client

        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class ImportFlood:
    """The noisy tenant: submits enterprise imports back to back from a thread, while its
    window is open. A 429 must carry Retry-After; the flood then waits
    min(Retry-After, ``retry_cap``) seconds (an impatient client: the others' worst case)."""

    def __init__(self, port: int, code: str, token: str, books: list[list[bytes]],
                 rows: int, retry_cap: float):
        self.client = Client(port, token)  # the flood thread's
        self.poller = Client(port, token)  # the main thread's: job status
        self.code, self.books, self.rows, self.retry_cap = code, books, rows, retry_cap
        self.accepted: list[dict] = []  # {"url", "file", "variant", "window"}
        self.refused = 0
        self.refused_without_retry_after = 0
        self.other: dict[str, int] = {}
        self.errors: list[str] = []
        self.window = 0
        self._stop = None
        self._thread = None

    def start(self) -> None:
        import threading

        self.window += 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(120)

    def _loop(self, stop) -> None:
        from tests.stack import multipart_file

        path = f"/api/v1/tenants/{self.code}/enterprise-imports"
        while not stop.is_set():
            n = len(self.accepted)
            file_no, variant = n % len(self.books), (n // len(self.books)) % 2
            body, content_type = multipart_file(self.books[file_no][variant],
                                            f"台账{file_no:02d}{'AB'[variant]}.xlsx")
            try:
                status, headers, answer = self.client.request("POST", path, body, content_type)
            except Exception as exc:  # counted and shown: the flood goes on
                self.errors.append(repr(exc))
                stop.wait(0.5)
                continue
            if status == 202:
                self.accepted.append({"url": headers.get("Location") or json.loads(answer)["url"],
                                      "file": file_no, "variant": variant,
                                      "window": self.window})
            elif status == 429:
                self.refused += 1
                retry_after = headers.get("Retry-After")
                if retry_after is None:
                    self.refused_without_retry_after += 1
                stop.wait(min(float(retry_after or 1), self.retry_cap))
            else:
                self.other[str(status)] = self.other.get(str(status), 0) + 1
                if len(self.errors) < 5:
                    self.errors.append(f"{status}: {answer[:300]!r}")
                stop.wait(0.5)

    def jobs(self) -> list[dict]:
        """Every accepted import's job, as the API shows it now."""
        out = []
        for item in self.accepted:
            status, _headers, answer = self.poller.request("GET", item["url"])
            out.append(json.loads(answer) if status == 200 else {"status": f"http {status}"})
        return out

    def wait_done(self, timeout: float) -> tuple[list[dict], float]:
        """Poll the accepted imports' jobs until all are over (or ``timeout``)."""
        started = time.monotonic()
        while True:
            jobs = self.jobs()
            if all(j.get("status") in TERMINAL for j in jobs) or \
                    time.monotonic() - started > timeout:
                return jobs, time.monotonic() - started
            time.sleep(0.5)

    def first_job_started(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [a for a in self.accepted if a["window"] == self.window]
            if mine:
                status, _h, answer = self.poller.request("GET", mine[0]["url"])
                if status == 200 and json.loads(answer)["status"] != "queued":
                    return True
            time.sleep(0.2)
        return False


def start_job_workers(count: int, nice: int, group_nice: int, env: dict, logs: Path,
                      redis_url: str) -> list:
    """``worker.py`` processes as deployed (the platform's environment, a session each, as
    systemd starts a service), at ``nice`` (what systemd's ``Nice=`` does) and with their
    session's scheduling group at ``group_nice`` (/proc/PID/autogroup: the group's weight
    against the web's and PostgreSQL's groups, as ``CPUWeight=`` weighs a service's cgroup);
    returns once RQ has registered every one of them."""
    import redis
    from rq import Worker
    from tests.stack import Proc, wait_for

    prefix = ["nice", "-n", str(nice)] if nice else []  # nice execs: the pid is the worker's
    procs = [Proc(f"job-worker-{n}", [*prefix, sys.executable, "worker.py"],
                  {**env, "PYTHONUNBUFFERED": "1"}, logs).start() for n in (1, 2)[:count]]
    if group_nice:  # RQ's work horses call setpgrp, not setsid: they stay in the group
        for proc in procs:
            Path(f"/proc/{proc.pid}/autogroup").write_text(str(group_nice))

    def registered():
        for proc in procs:
            if not proc.alive:
                raise SystemExit(f"{proc.name} exited:\n{proc.tail()}")
        client = redis.Redis.from_url(redis_url)
        try:
            return {p.pid for p in procs} <= {w.pid for w in Worker.all(connection=client)}
        finally:
            client.close()

    wait_for("the job workers to register with RQ", registered, 60, 0.2,
             lambda: "\n".join(p.tail() for p in procs))
    return procs


def autogroup_state() -> str:
    """"on" when the kernel schedules each session as a group (sched(7), autogroup): a
    process's nice value then counts only against the processes of its own session."""
    try:
        return "on" if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() \
            == "1" else "off"
    except OSError:
        return "absent"


def _busy_seconds(jobs: list[dict], start: float, end: float) -> float:
    """Seconds of job run time (started_at .. finished_at) inside the window [start, end]."""
    import datetime as dt

    busy = 0.0
    for job in jobs:
        if not job.get("started_at"):
            continue
        begin = dt.datetime.fromisoformat(job["started_at"].replace("Z", "+00:00")).timestamp()
        finish = job.get("finished_at")
        finish = dt.datetime.fromisoformat(finish.replace("Z", "+00:00")).timestamp() \
            if finish else end
        busy += max(0.0, min(finish, end) - max(begin, start))
    return busy


class CpuMeter:
    """CPU seconds per process group (a root pid and its live descendants, plus what they
    reaped), of wrk (this process's reaped children) and of the whole machine, from
    /proc: who used the two cores during a measurement."""

    def __init__(self, roots: dict[str, list[int]]):
        self.roots = roots
        self.tick = os.sysconf("SC_CLK_TCK")

    def _tree_seconds(self, roots: list[int]) -> float:
        from tests.stack import descendants

        ticks = 0
        for pid in {p for root in roots for p in (root, *descendants(root))}:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            ticks += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        return ticks / self.tick

    def snapshot(self) -> dict:
        import resource

        out = {name: self._tree_seconds(roots) for name, roots in self.roots.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        out["wrk"] = children.ru_utime + children.ru_stime
        out["bench"] = me.ru_utime + me.ru_stime
        cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        out["_busy"] = (sum(cpu) - cpu[3] - cpu[4]) / self.tick  # all but idle and iowait
        out["_wall"] = time.monotonic()
        return out

    @staticmethod
    def seconds(before: dict, after: dict) -> dict:
        """CPU seconds used per group between two snapshots (web, postgres, wrk)."""
        return {k: after[k] - before[k] for k in before
                if not k.startswith("_") and k != "bench"}

    @staticmethod
    def cores(before: dict, after: dict) -> dict:
        """Cores used per group between two snapshots; "other": the rest of the machine."""
        wall = after["_wall"] - before["_wall"]
        out = {k: (after[k] - before[k]) / wall for k in before if not k.startswith("_")}
        out["other"] = (after["_busy"] - before["_busy"]) / wall - sum(out.values())
        return {k: round(v, 2) for k, v in out.items()}


def worker_memory(proc) -> dict:
    """Resident memory of a gunicorn's workers (its master's descendants), in MiB: the
    largest now (VmRSS) and the largest peak (VmHWM), from /proc."""
    from tests.stack import descendants

    now = peak = 0
    for pid in descendants(proc.pid):
        try:
            status = dict(line.split(":", 1) for line in
                          Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        now = max(now, int(status["VmRSS"].split()[0]))
        peak = max(peak, int(status["VmHWM"].split()[0]))
    return {"rss_mib": round(now / 1024, 1), "peak_mib": round(peak / 1024, 1)}


def postmaster_pid(owner_url: str) -> int | None:
    """The PostgreSQL server's pid (its data directory's postmaster.pid), if local."""
    import psycopg

    try:
        with psycopg.connect(libpq(owner_url)) as conn:
            folder = conn.execute("SELECT current_setting('data_directory')").fetchone()[0]
        return int((Path(folder) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, psycopg.Error):
        return None


def noisy_phase(options, web, port: int, base: str, users, env: dict, logs: Path,
                tmp_path: Path, redis_url: str, postgres: dict) -> dict:
    """RELIABILITY 25's last clause: wrk on the OTHER tenants' enterprise lists, once with
    the job workers idle and once while the first tenant floods the import endpoint;
    alternated over ``--noisy-rounds`` rounds, the workers drained between. ``postgres``:
    the PostgreSQL server as a CpuMeter root ({} when not local)."""
    code, token, _tid = users[0]
    others = tmp_path / "tokens-others.tsv"
    others.write_text("".join(f"{c}\t{t}\t{i}\n" for c, t, i in users[1:]))
    path = ENDPOINTS["enterprises"][0]
    started = time.perf_counter()
    books = [[import_workbook(options.import_rows, f, v) for v in (0, 1)]
             for f in range(NOISY_FILES)]
    print(f"noisy neighbour: {NOISY_FILES} x 2 workbooks of {options.import_rows:,} rows "
          f"({len(books[0][0]) / 1024:.0f} KiB each) in {time.perf_counter() - started:.1f} s; "
          f"{options.job_workers} job workers at nice {options.worker_nice}, group nice "
          f"{options.worker_group_nice} (autogroup {autogroup_state()})", flush=True)
    workers = start_job_workers(options.job_workers, options.worker_nice,
                                options.worker_group_nice, env, logs, redis_url)
    flood = ImportFlood(port, code, token, books, options.import_rows, options.retry_cap)
    meter = CpuMeter({"web": [web.pid], "job_workers": [p.pid for p in workers], **postgres})
    out: dict = {"rounds": {"quiet": [], "flood": []}, "windows": [], "drains": [],
                 "cpu": {"quiet": [], "flood": []}}
    try:
        run_wrk(base, path, "enterprises", others, options.connections, options.warmup)
        per_round = max(1, round(options.noisy_duration / options.noisy_rounds))
        for n in range(options.noisy_rounds):
            for name in (("quiet", "flood") if n % 2 == 0 else ("flood", "quiet")):
                if name == "flood":
                    flood.start()
                    busy = flood.first_job_started(30)
                    t0, before = time.time(), meter.snapshot()
                    result = run_wrk(base, path, "enterprises", others, options.connections,
                                     per_round)
                    t1, after = time.time(), meter.snapshot()
                    flood.stop()
                    out["windows"].append({"start": t0, "end": t1, "window": flood.window,
                                           "import_running_at_start": busy})
                    jobs, waited = flood.wait_done(options.drain_timeout)  # quiet again
                    out["drains"].append({"seconds": round(waited, 1), "done": all(
                        j.get("status") in TERMINAL for j in jobs)})
                else:
                    before = meter.snapshot()
                    result = run_wrk(base, path, "enterprises", others, options.connections,
                                     per_round)
                    after = meter.snapshot()
                out["rounds"][name].append(result)
                out["cpu"][name].append(CpuMeter.cores(before, after))
                print(f"{'others':12} {name:9} round {n + 1}: {result['rps']:6.0f} req/s"
                      f"  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
                      f"  max {result['max_ms']:7.1f} ms  non-200 {result['non200']}  "
                      f"wrong tenant {result['wrong_tenant']}  | cores "
                      f"{out['cpu'][name][-1]}"
                      + (f"  | imports accepted {len(flood.accepted)}, refused (429) "
                         f"{flood.refused} so far" if name == "flood" else ""), flush=True)
        jobs, _waited = flood.wait_done(options.drain_timeout)
        for proc in workers:
            if not proc.alive:
                raise SystemExit(f"{proc.name} died:\n{proc.tail()}")
    finally:
        flood.client.close()
        flood.poller.close()
        for proc in workers:
            proc.stop(30)
    for name, samples in list(out["cpu"].items()):
        out["cpu"][name] = {k: round(sum(c[k] for c in samples) / len(samples), 2)
                            for k in samples[0]}
    out["quiet"] = combine(out["rounds"]["quiet"])
    out["flood"] = combine(out["rounds"]["flood"])
    window_s = sum(w["end"] - w["start"] for w in out["windows"])
    busy = sum(_busy_seconds(jobs, w["start"], w["end"]) for w in out["windows"])
    statuses: dict[str, int] = {}
    for job in jobs:
        statuses[job.get("status", "?")] = statuses.get(job.get("status", "?"), 0) + 1
    finished = [j for j in jobs if j.get("status") == "finished"]
    results = [j.get("result") or {} for j in finished]
    wrong_rows = [j["id"] for j, r in zip(finished, results, strict=True)
                  if r.get("rejected") != 0 or r.get("total") != options.import_rows
                  or r.get("created", 0) + r.get("updated", 0) + r.get("unchanged", 0)
                  != options.import_rows]
    wrong_tenant = [j.get("id") for j in jobs if j.get("status") in TERMINAL
                    and (j.get("params") or {}).get("tenant_code") != code]
    uploads = tmp_path / "objects" / "tenants" / "1" / "imports"
    stored = len({p.name.split(".")[0] for p in uploads.iterdir()}) if uploads.is_dir() else 0
    logs_text = "".join((logs / f"{p.name}.log").read_text(errors="replace") for p in workers)
    out.update(
        noisy_code=code, other_tenants=len(users) - 1, window_s=window_s,
        worker_busy=busy / (window_s * options.job_workers) if window_s else 0.0,
        accepted=len(flood.accepted), refused=flood.refused,
        refused_without_retry_after=flood.refused_without_retry_after,
        other_status=flood.other, client_errors=flood.errors, statuses=statuses,
        finished=len(finished), unfinished=sum(j.get("status") not in TERMINAL for j in jobs),
        wrong_rows=wrong_rows, job_wrong_tenant=wrong_tenant,
        rows=sum(r.get("total", 0) for r in results),
        created=sum(r.get("created", 0) for r in results),
        updated=sum(r.get("updated", 0) for r in results),
        unchanged=sum(r.get("unchanged", 0) for r in results),
        stored_uploads=stored, worker_tracebacks=logs_text.count("Traceback"))
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
            with bulk_load(owner):  # generated data: no RI triggers, then ANALYZE
                base = generate_base(owner, options.tenants)
                hazards = generate_hazards(owner, options.tenants, 1, options.hazards, seed=1)
                users = generate_users(owner, options.tenants)
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
                # This checkout's code in every process (gunicorn, worker.py), as here.
                "PYTHONPATH": os.pathsep.join(filter(None, [
                    str(ROOT), str(ROOT / "platform"), str(ROOT / "plugins"),
                    os.environ.get("PYTHONPATH")])),
            }
            ports = {"platform": _free_port(), "floor": _free_port()}
            platform = serve("platform", "wsgi:app", ports["platform"], options.workers, env,
                             logs)
            procs.append(platform)
            code, token, _tid = users[0]
            bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            if not options.noisy_only:
                floor = serve("floor", "bench.floor_app:app", ports["floor"], options.workers,
                              env, logs)
                procs.append(floor)
                wait_answer(floor, ports["floor"], f"/floor/{code}/enterprises", token)
            wait_answer(platform, ports["platform"], f"/api/v1/tenants/{code}/enterprises",
                        token)

            # CPU meters: each app's web workers, and the PostgreSQL server when local.
            postgres = {"postgres": [pid]} if (pid := postmaster_pid(admin)) else {}
            meters = {proc.name: CpuMeter({"web": [proc.pid], **postgres}) for proc in procs}
            per_round = max(1, round(options.duration / options.rounds))
            for endpoint, (platform_path, floor_path) in \
                    ({} if options.noisy_only else ENDPOINTS).items():
                paths = {"floor": floor_path, "platform": platform_path}
                for name, path in paths.items():
                    run_wrk(bases[name], path, endpoint, tokens, options.connections,
                            options.warmup)
                rounds: dict[str, list[dict]] = {"floor": [], "platform": []}
                for n in range(options.rounds):  # alternated: both see the same machine
                    for name in (("floor", "platform") if n % 2 == 0 else ("platform", "floor")):
                        before = meters[name].snapshot()
                        result = run_wrk(bases[name], paths[name], endpoint, tokens,
                                         options.connections, per_round)
                        result["cpu_s"] = CpuMeter.seconds(before, meters[name].snapshot())
                        rounds[name].append(result)
                        print(f"{endpoint:12} {name:9} round {n + 1}: {result['rps']:6.0f} req/s"
                              f"  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
                              f"  max {result['max_ms']:7.1f} ms  non-200 {result['non200']}  "
                              f"wrong tenant {result['wrong_tenant']}", flush=True)
                for name, results in rounds.items():
                    figures["runs"][f"{endpoint}/{name}"] = combine(results)
            if not options.noisy_only:  # after both endpoints' rounds, before the imports
                figures["memory"] = {"platform": worker_memory(platform),
                                     "floor": worker_memory(floor)}
            if options.noisy:
                figures["noisy"] = noisy_phase(options, platform, ports["platform"],
                                               bases["platform"], users, env, logs, tmp_path,
                                               redis.url, postgres)
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


def noisy_report(options, noisy: dict) -> dict:
    """Print the noisy-neighbour phase; return its keys of the last JSON line."""
    quiet, flood = noisy["quiet"], noisy["flood"]
    p99_ratio = flood["p99_ms"] / quiet["p99_ms"] if quiet["p99_ms"] else 0.0
    rps_ratio = flood["rps"] / quiet["rps"] if quiet["rps"] else 0.0
    print(f"\nnoisy neighbour (RELIABILITY 25): {noisy['noisy_code']} floods the import endpoint "
          f"({options.import_rows:,}-row .xlsx back to back, 429 waited min(Retry-After, "
          f"{options.retry_cap:g} s)) while wrk reads the enterprise lists of the other "
          f"{noisy['other_tenants']} tenants; {options.job_workers} worker.py at nice "
          f"{options.worker_nice} (group nice {options.worker_group_nice}); "
          f"{options.noisy_duration} s per condition in "
          f"{options.noisy_rounds} alternated rounds")
    for name, r in (("quiet", quiet), ("flood", flood)):
        print(f"  others {name:5}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, "
              f"p99 {r['p99_ms']:.1f} ms (worst round {r['p99_worst_ms']:.1f} ms), "
              f"non-200 {r['non200']}, wrong tenant {r['wrong_tenant']}")
    print(f"  p99 flood/quiet {p99_ratio:.2f}, throughput flood/quiet {rps_ratio:.2f}; "
          f"job workers busy {noisy['worker_busy']:.0%} of the flood windows")
    print(f"  imports: {noisy['accepted']} accepted (202), {noisy['refused']} refused (429; "
          f"{noisy['refused_without_retry_after']} without Retry-After), other answers "
          f"{noisy['other_status'] or 'none'}; jobs {noisy['statuses']}; "
          f"{noisy['rows']:,} rows ({noisy['created']:,} created, {noisy['updated']:,} updated, "
          f"{noisy['unchanged']:,} unchanged); wrong row counts {noisy['wrong_rows'] or 'none'}; "
          f"stored uploads {noisy['stored_uploads']}; drains "
          f"{[d['seconds'] for d in noisy['drains']]} s")
    print(f"  cores used (mean of the rounds): quiet {noisy['cpu']['quiet']}, "
          f"flood {noisy['cpu']['flood']}")
    if noisy["client_errors"]:
        print(f"  client errors: {noisy['client_errors'][:5]}")
    return {
        "noisy_tenant": noisy["noisy_code"], "noisy_other_tenants": noisy["other_tenants"],
        "noisy_worker_nice": options.worker_nice,
        "noisy_worker_group_nice": options.worker_group_nice,
        "noisy_autogroup": autogroup_state(), "noisy_job_workers": options.job_workers,
        "noisy_import_rows": options.import_rows, "noisy_duration_s": options.noisy_duration,
        "noisy_rounds": options.noisy_rounds,
        "noisy_quiet_rps": round(quiet["rps"], 1), "noisy_quiet_p50_ms": round(quiet["p50_ms"], 1),
        "noisy_quiet_p99_ms": round(quiet["p99_ms"], 1),
        "noisy_flood_rps": round(flood["rps"], 1), "noisy_flood_p50_ms": round(flood["p50_ms"], 1),
        "noisy_flood_p99_ms": round(flood["p99_ms"], 1),
        "noisy_p99_ratio": round(p99_ratio, 2), "noisy_rps_ratio": round(rps_ratio, 2),
        "noisy_worker_busy": round(noisy["worker_busy"], 2),
        "noisy_imports_accepted": noisy["accepted"], "noisy_imports_refused_429": noisy["refused"],
        "noisy_429_without_retry_after": noisy["refused_without_retry_after"],
        "noisy_imports_other_status": noisy["other_status"],
        "noisy_imports_finished": noisy["finished"],
        "noisy_imports_not_finished": noisy["accepted"] - noisy["finished"],
        "noisy_imports_wrong_rows": len(noisy["wrong_rows"]),
        "noisy_jobs_wrong_tenant": len(noisy["job_wrong_tenant"]),
        "noisy_rows_imported": noisy["rows"], "noisy_rows_created": noisy["created"],
        "noisy_rows_updated": noisy["updated"], "noisy_stored_uploads": noisy["stored_uploads"],
        "noisy_non200": quiet["non200"] + flood["non200"],
        "noisy_empty": quiet["empty"] + flood["empty"],
        "noisy_wrk_errors": sum(quiet["errors"].values()) + sum(flood["errors"].values()),
        "noisy_checked": quiet["checked"] + flood["checked"],
        "noisy_wrong_tenant": quiet["wrong_tenant"] + flood["wrong_tenant"],
        "noisy_worker_tracebacks": noisy["worker_tracebacks"],
        "noisy_cores_quiet": noisy["cpu"]["quiet"], "noisy_cores_flood": noisy["cpu"]["flood"],
    }


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
    noisy = parser.add_argument_group("noisy neighbour (RELIABILITY 25)")
    noisy.add_argument("--noisy", action=argparse.BooleanOptionalAction, default=True,
                       help="after the endpoint rounds, the noisy-neighbour phase")
    noisy.add_argument("--noisy-only", action="store_true",
                       help="only the noisy-neighbour phase (no floor, no endpoint rounds)")
    noisy.add_argument("--noisy-duration", type=int, default=20,
                       help="measured seconds per condition (quiet, flood)")
    noisy.add_argument("--noisy-rounds", type=int, default=2,
                       help="the duration is split in rounds, quiet and flood alternated")
    noisy.add_argument("--import-rows", type=int, default=5000, help="rows per imported file")
    noisy.add_argument("--job-workers", type=int, default=2, choices=(1, 2),
                       help="worker.py processes")
    noisy.add_argument("--worker-nice", type=int, default=0,
                       help="niceness of the worker.py processes (what systemd's Nice= sets)")
    noisy.add_argument("--worker-group-nice", type=int, default=10,
                       help="niceness of each worker's scheduling group (/proc/PID/autogroup; "
                            "what CPUWeight= is to a systemd service). Default 10, as "
                            "deployed: weight 110 of the web's 1024, as CPUWeight=10 of 100 "
                            "(deploy/systemd/anjian-worker@.service) and cpu_shares 102 "
                            "(docker-compose.yml); 0: the workers weigh as much as the web")
    noisy.add_argument("--retry-cap", type=float, default=1.0,
                       help="the flood waits min(Retry-After, this) seconds after a 429")
    noisy.add_argument("--drain-timeout", type=float, default=300,
                       help="seconds to wait for the accepted imports to end")
    options = parser.parse_args()
    if options.noisy_only:
        options.noisy = True
    figures = run(options)
    runs = figures["runs"]
    result = {"bench": "load", "ratio": None, "p99_ratio": None,
              "goal": f"throughput ratio >= {GOAL_RATIO:g} and p99 ratio <= "
                      f"{GOAL_P99_RATIO:g} on both lists, at {GOAL_CONNECTIONS} connections "
                      f"and {GOAL_WORKERS} workers",
              "goal_met": None, "tenants": options.tenants,
              "enterprises": options.tenants * ENTERPRISES_PER_TENANT,
              "hazards": options.hazards, "workers": options.workers,
              "connections": options.connections}
    if runs:
        result.update(main_report(options, runs, figures))
    result.update(worker_timeouts=figures["platform_worker_timeouts"],
                  platform_tracebacks=figures["platform_tracebacks"],
                  generation_s=round(figures["generation_s"], 1))
    if "noisy" in figures:
        result.update(noisy_report(options, figures["noisy"]))
    print(json.dumps(result, ensure_ascii=False))


def main_report(options, runs: dict, figures: dict) -> dict:
    """Print the endpoint rounds (platform against floor); return their JSON keys."""
    ratios, p99_ratios = {}, {}
    print(f"\n{options.tenants} tenants, {options.tenants * ENTERPRISES_PER_TENANT:,} "
          f"enterprises, {options.hazards:,} hazards; gunicorn {options.workers} sync workers; "
          f"wrk {options.connections} connections, {options.duration} s per app and endpoint "
          f"in {options.rounds} alternated rounds")
    for endpoint in ENDPOINTS:
        ours, floor = runs[f"{endpoint}/platform"], runs[f"{endpoint}/floor"]
        ratios[endpoint] = ours["rps"] / floor["rps"] if floor["rps"] else 0.0
        p99_ratios[endpoint] = (ours["p99_ms"] / floor["p99_ms"] if floor["p99_ms"]
                                else float("inf"))
        print(f"{endpoint:12} platform {ours['rps']:.0f} req/s (p50 {ours['p50_ms']:.1f} ms, "
              f"p99 {ours['p99_ms']:.1f} ms, worst round {ours['p99_worst_ms']:.1f} ms) vs "
              f"floor {floor['rps']:.0f} req/s (p50 {floor['p50_ms']:.1f} ms, "
              f"p99 {floor['p99_ms']:.1f} ms): throughput ratio {ratios[endpoint]:.2f}, "
              f"p99 ratio {p99_ratios[endpoint]:.2f}")
        if "cpu_ms" in ours and "cpu_ms" in floor:
            print(f"{'':12} CPU per request: " + "; ".join(
                f"{app} " + ", ".join(f"{group} {ms:.2f} ms" for group, ms in r["cpu_ms"].items())
                for app, r in (("platform", ours), ("floor", floor))))
    bad = {k: {"non200": r["non200"], "wrong_tenant": r["wrong_tenant"], "empty": r["empty"],
               "errors": {e: n for e, n in r["errors"].items() if n}}
           for k, r in runs.items()
           if r["non200"] or r["wrong_tenant"] or r["empty"] or any(r["errors"].values())}
    met_ratio = min(ratios.values()) >= GOAL_RATIO
    met_p99 = max(p99_ratios.values()) <= GOAL_P99_RATIO
    stated = (options.connections, options.workers) == (GOAL_CONNECTIONS, GOAL_WORKERS)
    print(f"goal, on both lists: throughput >= {GOAL_RATIO:g} of the floor's: "
          f"{'met' if met_ratio else 'NOT met'}; p99 <= {GOAL_P99_RATIO:g} x the floor's: "
          f"{'met' if met_p99 else 'NOT met'}"
          + ("" if stated else f" (the goal is stated at {GOAL_CONNECTIONS} connections and "
             f"{GOAL_WORKERS} workers; this run had {options.connections} and "
             f"{options.workers})"))
    print(f"answers checked: {sum(r['checked'] for r in runs.values()):,}, "
          f"problems: {bad or 'none'}")
    memory = figures["memory"]
    print("worker memory (largest worker): " + "; ".join(
        f"{app} {m['rss_mib']:.0f} MiB resident, {m['peak_mib']:.0f} MiB peak"
        for app, m in memory.items()))
    result = {"ratio": round(min(ratios.values()), 2),
              "p99_ratio": round(max(p99_ratios.values()), 2),
              "goal_met": met_ratio and met_p99, "duration_s": options.duration,
              "rounds": options.rounds}
    for app, m in memory.items():
        result[f"{app}_worker_rss_mib"] = m["rss_mib"]
        result[f"{app}_worker_peak_mib"] = m["peak_mib"]
    for key, r in runs.items():
        name = key.replace("/", "_")
        result[f"{name}_rps"] = round(r["rps"], 1)
        result[f"{name}_p50_ms"] = round(r["p50_ms"], 1)
        result[f"{name}_p99_ms"] = round(r["p99_ms"], 1)
        for group, ms in r.get("cpu_ms", {}).items():
            result[f"{name}_{group}_cpu_ms"] = round(ms, 2)
    result.update({f"{k}_ratio": round(v, 2) for k, v in ratios.items()})
    result.update({f"{k}_p99_ratio": round(v, 2) for k, v in p99_ratios.items()})
    result.update(goal_ratio_met=met_ratio, goal_p99_met=met_p99,
                  wrong_tenant=sum(r["wrong_tenant"] for r in runs.values()),
                  non200=sum(r["non200"] for r in runs.values()))
    return result


if __name__ == "__main__":
    main()
