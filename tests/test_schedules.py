"""Schedules: declared through register_schedules, read in Asia/Shanghai, fired by RQ's cron
(with Redis) or by the embedded worker's tick; each slot reaches each tenant once."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from anjian.clock import local_today
from anjian.extensions import db
from anjian.hazards.models import Hazard
from anjian.jobs import embedded, runner, scheduler, schedules
from anjian.jobs.models import Job
from anjian.jobs.queues import connection
from anjian.jobs.scheduler import build_scheduler
from anjian.jobs.schedules import Schedule, ScheduleError, declared, fire, tick
from anjian.jobs.service import job_function
from anjian.plugin_api import hookimpl
from anjian.tenancy.scope import Scope, scoped
from tests.test_overdue_scan import PAST, seed

ROOT = Path(__file__).resolve().parents[1]
SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
CORE = Schedule("overdue_scan", "0 1 * * *", "default", "anjian.hazards.jobs.overdue_scan",
                "anjian.defaults", "逾期扫描")
MONDAY_NOON = Schedule("weekly_dispatch", "0 12 * * 1", "reports",
                       "tests.test_schedules.weekly_dispatch", "test_weekly")


@job_function("test.weekly_dispatch", queue="reports")
def weekly_dispatch(ctx):
    return {"slot": ctx.params["slot"]}


class Weekly:
    """A plugin with a Monday-noon schedule (like the Tianjin dispatch table)."""

    def __init__(self, **entry):
        self.entry = {"key": "weekly_dispatch", "cron": "0 12 * * 1", "queue": "reports",
                      "function": "tests.test_schedules.weekly_dispatch", **entry}

    @hookimpl
    def register_schedules(self):
        return [self.entry]


@pytest.fixture(autouse=True)
def _stop_embedded(app):
    yield
    embedded.stop(app)


def jobs(app, tenant_ids, kind="overdue_scan") -> dict:
    with app.app_context(), scoped(db.session, Scope(frozenset(tenant_ids))):
        rows = db.session.execute(select(Job.tenant_id, Job.params)
                                  .where(Job.kind == kind).order_by(Job.created_at)).all()
    out: dict = {}
    for tenant_id, params in rows:
        out.setdefault(tenant_id, []).append(params["slot"])
    return out


# --------------------------------------------------------------------------- the declared list


def test_the_core_declares_the_overdue_scan_daily_at_one(app):
    with app.app_context():
        found = declared()
        assert CORE in found
        assert CORE.job_spec().kind == "overdue_scan"
        assert declared() == found  # the same list, the same ids, every time


def test_ids_come_from_the_definition_alone():
    assert CORE.id == "overdue_scan.56ca1f8cc7c1"  # stable across processes and restarts
    same = Schedule(**{k: getattr(CORE, k) for k in
                       ("key", "cron", "queue", "function", "plugin", "title")})
    assert same.id == CORE.id
    assert Schedule("overdue_scan", "0 2 * * *", "default", CORE.function).id != CORE.id
    assert Schedule("overdue_scan", CORE.cron, "reports", CORE.function).id != CORE.id


@pytest.mark.parametrize(("entry", "message"), [
    ({"cron": "0 25 * * *"}, "cron"),
    ({"cron": "0 12 * *"}, "cron"),
    ({"queue": "urgent"}, "queue"),
    ({"key": "overdue_scan"}, "already declared"),
    ({"function": "tests.test_schedules.Weekly"}, "not a job function"),
    ({"function": "tests.no_such_module.f"}, "cannot be imported"),
    ({"every": "monday"}, "unknown keys"),
])
def test_bad_declarations_are_refused(app, entry, message):
    app.extensions["anjian.plugins"].register("test_bad", Weekly(**entry))
    with app.app_context(), pytest.raises(ScheduleError, match=message):
        for schedule in declared():
            schedule.job_spec()


# --------------------------------------------------------------------------- Asia/Shanghai


def test_daily_one_oclock_is_due_at_one_beijing_time_only():
    assert CORE.is_due(dt.datetime(2026, 11, 24, 1, 0, tzinfo=SH))
    assert not CORE.is_due(dt.datetime(2026, 11, 24, 0, 59, tzinfo=SH))
    assert CORE.is_due(dt.datetime(2026, 11, 23, 17, 0, tzinfo=UTC))  # the same instant
    assert not CORE.is_due(dt.datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # 09:00 in Beijing
    assert CORE.next_after(dt.datetime(2026, 11, 24, 0, 59, tzinfo=SH)) == dt.datetime(
        2026, 11, 24, 1, 0, tzinfo=SH)
    assert CORE.previous(dt.datetime(2026, 11, 24, 0, 59, tzinfo=SH)) == dt.datetime(
        2026, 11, 23, 1, 0, tzinfo=SH)
    assert CORE.fires_between(dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
                              dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)) == [
        dt.datetime(2026, 11, 24, 1, 0, tzinfo=SH), dt.datetime(2026, 11, 25, 1, 0, tzinfo=SH)]
    assert CORE.slot_on(dt.date(2026, 11, 24)) == dt.datetime(2026, 11, 24, 1, 0, tzinfo=SH)


def test_a_monday_schedule_fires_on_monday_not_on_sunday():
    monday, sunday = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SH), dt.datetime(
        2026, 11, 22, 12, 0, tzinfo=SH)
    assert monday.weekday() == 0 and sunday.weekday() == 6
    assert MONDAY_NOON.is_due(monday) and not MONDAY_NOON.is_due(sunday)
    assert MONDAY_NOON.next_after(sunday) == monday
    # Monday 01:00 in Beijing is still Sunday in UTC: the weekday is Beijing's.
    early = Schedule("early", "0 1 * * 1", "default", CORE.function)
    assert early.is_due(dt.datetime(2026, 11, 22, 17, 0, tzinfo=UTC))
    assert not early.is_due(dt.datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    assert MONDAY_NOON.slot_on(dt.date(2026, 11, 22)) == dt.datetime(2026, 11, 22, tzinfo=SH)


@pytest.fixture
def new_york_local_time():
    """The process's local zone set to New York (RQ's cron reads cron fields in local time)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_rq_cron_jobs_read_cron_in_shanghai_whatever_the_local_zone(new_york_local_time):
    from rq.cron import CronJob

    ShanghaiCronJob = scheduler.ShanghaiCronJob
    base = dt.datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 2026-11-24 00:00 in Beijing
    ours = ShanghaiCronJob(queue_name="default", func=runner.run_schedule,
                           args=("overdue_scan",), cron="0 1 * * *")
    plain = CronJob(queue_name="default", func=runner.run_schedule, cron="0 1 * * *")
    for job in (ours, plain):
        job.latest_enqueue_time = base
    assert ours.get_next_enqueue_time() == dt.datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    # RQ alone would fire at 01:00 New York time: why the subclass exists.
    assert plain.get_next_enqueue_time() == dt.datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    monday = ShanghaiCronJob(queue_name="reports", func=runner.run_schedule,
                             args=("weekly_dispatch",), cron="0 12 * * 1")
    monday.latest_enqueue_time = dt.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # a Saturday
    assert monday.get_next_enqueue_time() == dt.datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- firing


def test_a_plugins_schedule_reaches_only_the_tenants_that_enabled_it(app, factory):
    app.extensions["anjian.plugins"].register("test_weekly", Weekly())
    with_plugin, plain = factory.tenant("swk", plugins=["test_weekly"]), factory.tenant("spl")
    with app.app_context():
        [schedule] = [s for s in declared() if s.key == "weekly_dispatch"]
        assert schedule == MONDAY_NOON
        monday = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SH)
        assert fire(schedule, monday)["enqueued"] == 1
        assert fire(schedule, monday) == {"schedule": "weekly_dispatch",
                                          "slot": "2026-11-23T12:00+08:00", "enqueued": 0,
                                          "skipped": 1}
    assert jobs(app, [with_plugin, plain], "test.weekly_dispatch") == {
        with_plugin: ["2026-11-23T12:00+08:00"]}
    assert embedded.drain(app)
    with app.app_context(), scoped(db.session, Scope.tenant(with_plugin)):
        job = db.session.scalar(select(Job).where(Job.kind == "test.weekly_dispatch"))
        assert (job.status, job.queue, job.result) == (
            "finished", "reports", {"slot": "2026-11-23T12:00+08:00"})


def test_the_embedded_tick_fires_each_slot_once_and_catches_up_one(app, factory):
    a, b = factory.tenant("ta"), factory.tenant("tb")
    seed(app, a, [("late", "reported", PAST)])
    assert schedules.tick_embedded(app) == []  # off under tests unless asked
    at = dt.datetime(2026, 11, 24, 0, 30, tzinfo=SH)
    first = tick(app, now=at)  # looks back a day: yesterday's 01:00 slot
    assert [(f["slot"], f["enqueued"]) for f in first] == [("2026-11-23T01:00+08:00", 2)]
    assert tick(app, now=at + dt.timedelta(minutes=20)) == []
    second = tick(app, now=dt.datetime(2026, 11, 24, 1, 0, 30, tzinfo=SH))
    assert [(f["slot"], f["enqueued"]) for f in second] == [("2026-11-24T01:00+08:00", 2)]
    assert tick(app, now=dt.datetime(2026, 11, 24, 1, 5, tzinfo=SH)) == []
    slots = ["2026-11-23T01:00+08:00", "2026-11-24T01:00+08:00"]
    assert jobs(app, [a, b]) == {a: slots, b: slots}
    assert embedded.drain(app)
    with app.app_context(), scoped(db.session, Scope.tenant(a)):
        assert db.session.scalar(select(Hazard.state)) == "overdue"


def test_the_embedded_worker_thread_ticks_when_enabled(app, factory):
    a = factory.tenant("te")
    app.config["ANJIAN_SCHEDULES_EMBEDDED"] = True
    embedded.start(app)
    deadline = time.monotonic() + 15
    while not jobs(app, [a]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(jobs(app, [a])[a]) == 1  # the catch-up of the latest 01:00 slot


# --------------------------------------------------------------------------- RQ's cron on Redis


def rq_jobs(app, queue="default"):
    from rq import Queue

    return Queue(queue, connection=connection(app)).get_jobs()


def test_the_rq_cron_scheduler_enqueues_the_schedule_on_real_redis(app, factory, redis_url):
    app.config["ANJIAN_REDIS_URL"] = redis_url
    connection(app).flushdb()
    a = factory.tenant("ra")
    seed(app, a, [("late", "reported", local_today() - dt.timedelta(days=5))])
    with app.app_context():
        cron = build_scheduler(app, schedules=[CORE])
    [cron_job] = cron._cron_jobs
    assert (cron_job.name, cron_job.cron, cron_job.queue_name) == (CORE.id, "0 1 * * *",
                                                                    "default")
    assert cron_job.next_enqueue_time > dt.datetime.now(UTC)  # RQ waits for the next 01:00
    assert cron.enqueue_jobs() == []
    assert cron.catch_up() == [CORE.id]  # the latest 01:00 is due again at start
    expected = CORE.previous(dt.datetime.now(UTC))
    assert cron.enqueue_jobs() == [cron_job]
    assert cron.enqueue_jobs() == []  # next: tomorrow 01:00 Beijing time
    assert cron_job.next_enqueue_time == CORE.next_after(dt.datetime.now(UTC))
    [rq_job] = rq_jobs(app)
    assert rq_job.func_name == "anjian.jobs.runner.run_schedule"
    assert rq_job.args == ("overdue_scan",)
    assert rq_job.kwargs == {"slot": schedules.slot_key(expected)}

    assert embedded.drain(app)  # a worker runs it: one overdue_scan job per tenant, run too
    assert jobs(app, [a]) == {a: [schedules.slot_key(expected)]}
    with app.app_context(), scoped(db.session, Scope.tenant(a)):
        assert db.session.scalar(select(Hazard.state)) == "overdue"


def scheduler_thread(app):
    """``run_scheduler`` in a thread (standby checks every 0.1 s): (thread, stop, outcome)."""
    stop = threading.Event()
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.setdefault(
        "code", scheduler.run_scheduler(app, wait=0.1, stop=stop)), daemon=True)
    runner.start()
    return runner, stop, outcome


def until(what, check, outcome, timeout=20.0):
    """Wait for ``check()`` (errors count as not yet: Redis may be starting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; scheduler outcome {outcome}")


def test_a_second_scheduler_waits_for_the_lock(app, redis_url):
    app.config["ANJIAN_REDIS_URL"] = redis_url
    conn = connection(app)
    conn.flushdb()
    held = conn.lock(scheduler.LOCK_KEY, timeout=30)
    assert held.acquire(blocking=False)
    runner, stop, outcome = scheduler_thread(app)
    time.sleep(0.5)
    stop.set()
    runner.join(10)
    assert outcome == {"code": 1}
    assert rq_jobs(app) == []
    held.release()


def test_the_scheduler_rides_out_redis_going_away_and_coming_back_empty(
        app, redis_url, redis_server, monkeypatch):
    """The scheduler does not exit when Redis goes away: it waits for it, and when Redis
    comes back without its data (no persistence: the lock is gone too) it takes the one
    lock again, catches up and goes on; a stop ends it and frees the lock. A lock that
    another scheduler took meanwhile is not taken from it."""
    if redis_server is None:
        pytest.skip("ANJIAN_TEST_REDIS_URL names a server these tests cannot stop")
    app.config["ANJIAN_REDIS_URL"] = redis_url
    conn = connection(app)
    conn.flushdb()
    monkeypatch.setattr(scheduler, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(scheduler, "REDIS_RETRY_SECONDS", 0.1)
    runner, stop, outcome = scheduler_thread(app)
    try:
        until("the lock", lambda: conn.get(scheduler.LOCK_KEY) is not None, outcome)
        first = conn.get(scheduler.LOCK_KEY)
        redis_server.stop()
        time.sleep(0.5)  # several heartbeats and retries without Redis
        assert runner.is_alive(), outcome
        assert not redis_server.start()
        until("the lock taken again", lambda: conn.get(scheduler.LOCK_KEY) is not None,
              outcome)
        assert runner.is_alive(), outcome
        assert conn.get(scheduler.LOCK_KEY) != first  # a new lock, of the same scheduler
        until("the catch-up enqueued again", lambda: rq_jobs(app), outcome)

        # Another scheduler holds the lock when this one finds its own gone: it stops.
        # One SET puts the other's token in place: a delete then an acquire would leave a
        # moment in which this scheduler's heartbeat takes the free lock back.
        assert conn.set(scheduler.LOCK_KEY, "another-scheduler", px=30_000)
        runner.join(10)
        assert outcome == {"code": 0}
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()


def test_a_stopped_scheduler_frees_the_lock(app, redis_url, monkeypatch):
    app.config["ANJIAN_REDIS_URL"] = redis_url
    conn = connection(app)
    conn.flushdb()
    monkeypatch.setattr(scheduler, "HEARTBEAT_SECONDS", 0.05)
    runner, stop, outcome = scheduler_thread(app)
    until("the lock", lambda: conn.get(scheduler.LOCK_KEY) is not None, outcome)
    stop.set()
    runner.join(10)
    assert outcome == {"code": 0}
    assert conn.get(scheduler.LOCK_KEY) is None


def test_anjian_scheduler_runs_rq_cron_until_sigterm(app, factory, redis_url, tmp_path):
    """``anjian scheduler`` (here as ``python -m anjian.cli``) in a process of its own."""
    app.config["ANJIAN_REDIS_URL"] = redis_url
    conn = connection(app)
    conn.flushdb()
    env = {**os.environ, "ANJIAN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "ANJIAN_REDIS_URL": redis_url, "ANJIAN_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "anjian.cli", "scheduler"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not rq_jobs(app) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        found = rq_jobs(app)
        assert conn.get(scheduler.LOCK_KEY) is not None  # it holds the one lock
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    # One job per schedule whose latest slot it caught up (the overdue scan, and on a Monday
    # also a weekly report's), each through run_schedule.
    assert found and {j.func_name for j in found} == {"anjian.jobs.runner.run_schedule"}, \
        output[-3000:]
    assert proc.returncode == 0, output[-3000:]
    assert conn.get(scheduler.LOCK_KEY) is None  # released at exit


# --------------------------------------------------------------------------- command line


def test_schedules_list_and_fire_from_the_command_line(app, runner, factory):
    a = factory.tenant("ca")
    thread_setting = app.config.get("ANJIAN_JOBS_EMBEDDED_WORKER", "unset")
    listed = runner.invoke(args=["schedules", "list"])
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.output.splitlines() if x.startswith("overdue_scan\t"))
    assert "0 1 * * *\tAsia/Shanghai\tdefault\tanjian.hazards.jobs.overdue_scan" in line
    assert CORE.id in line and "next 20" in line and line.endswith("+08:00\t逾期扫描")
    fired = runner.invoke(args=["schedules", "fire", "overdue_scan", "--day", "2026-11-24"])
    assert fired.exit_code == 0, fired.output
    assert "overdue_scan 2026-11-24T01:00+08:00: enqueued 1, skipped 0" in fired.output
    # Issue 22 (all seeds): with the embedded queue the command runs the job at once, in its
    # own process, instead of leaving it queued for the web process's reaper (2 minutes).
    assert "任务已在本进程中执行完毕" in fired.output
    with app.app_context(), scoped(db.session, Scope(frozenset([a]))):
        assert db.session.execute(select(Job.status).where(Job.kind == "overdue_scan")
                                  ).scalars().all() == ["finished"]
    assert app.config.get("ANJIAN_JOBS_EMBEDDED_WORKER", "unset") == thread_setting  # as it was
    again = runner.invoke(args=["schedules", "fire", "overdue_scan", "--day", "2026-11-24"])
    assert "enqueued 0, skipped 1" in again.output
    assert jobs(app, [a]) == {a: ["2026-11-24T01:00+08:00"]}
    unknown = runner.invoke(args=["schedules", "fire", "nope"])
    assert unknown.exit_code == 2 and "未知的计划任务" in unknown.output
    no_redis = runner.invoke(args=["schedules", "run"])
    assert no_redis.exit_code == 2 and "ANJIAN_REDIS_URL" in no_redis.output
