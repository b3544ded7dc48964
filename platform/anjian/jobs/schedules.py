"""Recurring jobs (schedules): declared through ``register_schedules``, fired by RQ's cron.

A schedule is a catalogue entry (of ``register_schedules``, or made from a report
kind's ``schedule`` by ``anjian.reports.kinds``): ``key``, ``cron`` (five fields, read in
Asia/Shanghai time whatever the machine's zone), ``queue`` and ``function``, the
dotted path of a job function (``anjian.jobs.service.job_function``). Its ``id``
is a hash of that definition (Redash's lesson): the same declaration always gives
the same id, and a changed one a new id.

Firing a schedule for a time slot (``fire``) enqueues the job once per active
tenant that enabled the schedule's plugin (every active tenant for the core's
own), with params ``{"schedule": key, "slot": "2026-11-24T01:00+08:00"}``. A
tenant that already has that schedule's job for that slot (in the jobs table) is
skipped, so firing a slot twice, or two schedulers firing it, enqueues nothing
more.

Who fires:

* with Redis, ``anjian scheduler`` (or ``anjian schedules run``, ``python worker.py --scheduler``):
  RQ's cron scheduler (``rq.cron.CronScheduler``) with one ``CronJob`` per
  schedule that enqueues ``run_schedule(key, slot=...)``; a worker runs it. RQ's
  cron takes no lock, so the command holds a Redis lock and a second scheduler
  waits as a standby. RQ matches cron fields against the process's local time;
  ``ShanghaiCronJob`` reads them in Asia/Shanghai instead.
* embedded (no ``ANJIAN_REDIS_URL``): the embedded worker thread calls ``tick``,
  which fires what fell due since its last tick.

Both fire, at start, the most recent slot of the last ``CATCH_UP`` (a day) again:
a scheduler down at 01:00 still runs that night's scan when it comes back, and
the per-tenant check makes this a no-op when the slot already ran.

The RQ scheduler rides out a Redis outage: while Redis is unreachable it waits
(``REDIS_RETRY_SECONDS``), then takes the lock again and catches up; a Redis that
came back without its data (no persistence) has lost the lock too, which the
scheduler takes again unless another scheduler took it first (then it stops, as
a standby's lock wins).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import logging
import threading
import time
from dataclasses import dataclass

import click
from croniter import croniter
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from anjian.clock import CHINA, local_now, utcnow
from anjian.extensions import db
from anjian.jobs.queues import QUEUE_NAMES

log = logging.getLogger(__name__)

CORE = "anjian.defaults"
CATCH_UP = dt.timedelta(days=1)
TICK_SECONDS = 20.0  # the embedded tick checks at most this often
LOCK_KEY = "anjian:schedules:lock"
LOCK_TTL = 180  # seconds; refreshed at every scheduler heartbeat
HEARTBEAT_SECONDS = 10.0  # the scheduler's loop turns at least this often (RQ's: 60 s)
REDIS_RETRY_SECONDS = 5.0  # how often a scheduler that lost Redis looks for it again
ENTRY_KEYS = {"key", "cron", "queue", "function"}


class ScheduleError(ValueError):
    """A schedule declaration is invalid (names the plugin and the key)."""


@dataclass(frozen=True)
class Schedule:
    key: str
    cron: str
    queue: str
    function: str
    plugin: str = CORE
    title: str = ""

    @property
    def id(self) -> str:
        """Deterministic from the definition: re-running the scheduler never adds a job."""
        definition = json.dumps([self.key, self.cron, CHINA.key, self.queue, self.function,
                                 self.plugin], ensure_ascii=False)
        return f"{self.key}.{hashlib.sha256(definition.encode()).hexdigest()[:12]}"

    def _iter(self, moment: dt.datetime) -> croniter:
        if moment.tzinfo is None:
            raise ValueError("schedule times must be timezone-aware")
        return croniter(self.cron, moment.astimezone(CHINA))

    def is_due(self, moment: dt.datetime) -> bool:
        """Whether the schedule fires in ``moment``'s minute (read in Asia/Shanghai)."""
        return croniter.match(self.cron, local_now(moment))

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first slot strictly after ``moment`` (Asia/Shanghai time)."""
        return self._iter(moment).get_next(dt.datetime)

    def previous(self, moment: dt.datetime) -> dt.datetime:
        """The latest slot at or before ``moment``."""
        moment = moment.astimezone(CHINA)
        if self.is_due(moment):
            return moment.replace(second=0, microsecond=0)
        return self._iter(moment).get_prev(dt.datetime)

    def fires_between(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        """Slots in ``(start, end]``."""
        out, it = [], self._iter(start)
        while True:
            slot = it.get_next(dt.datetime)
            if slot > end:
                return out
            out.append(slot)

    def slot_on(self, day: dt.date) -> dt.datetime:
        """The first slot on ``day`` (Shanghai), or its midnight when none falls on it."""
        midnight = dt.datetime.combine(day, dt.time(), CHINA)
        first = self.next_after(midnight - dt.timedelta(microseconds=1))
        return first if first.date() == day else midnight

    def job_spec(self):
        """The job kind behind ``function`` (importing its module registers it)."""
        from anjian.jobs import service

        module, _, name = self.function.rpartition(".")
        try:
            func = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ScheduleError(f"{self.plugin}: schedule {self.key}: function "
                                f"{self.function} cannot be imported ({exc})") from exc
        for spec in service.registered().values():
            if spec.func is func:
                return spec
        raise ScheduleError(f"{self.plugin}: schedule {self.key}: {self.function} is not a "
                            "job function (anjian.jobs.service.job_function)")


def slot_key(slot: dt.datetime) -> str:
    return slot.astimezone(CHINA).isoformat(timespec="minutes")


# --------------------------------------------------------------------------- the declared list


def _validate(entry: dict) -> Schedule:
    plugin = entry.get("plugin", CORE)
    key = entry.get("key")
    where = f"{plugin}: schedule {key!r}"
    missing = ENTRY_KEYS - set(entry)
    if missing:
        raise ScheduleError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = set(entry) - ENTRY_KEYS - {"plugin", "title"}
    if unknown:
        raise ScheduleError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if not isinstance(key, str) or not key.replace("_", "").replace("-", "").isalnum():
        raise ScheduleError(f"{where}: key must be letters, digits, '_' or '-'")
    cron = entry["cron"]
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise ScheduleError(f"{where}: cron {cron!r} is not a five-field cron expression")
    if entry["queue"] not in QUEUE_NAMES:
        raise ScheduleError(f"{where}: unknown queue {entry['queue']!r} (one of {QUEUE_NAMES})")
    if not isinstance(entry["function"], str) or "." not in entry["function"]:
        raise ScheduleError(f"{where}: function must be a dotted path")
    return Schedule(key=key, cron=cron, queue=entry["queue"], function=entry["function"],
                    plugin=plugin, title=entry.get("title", ""))


def declared(app=None) -> list[Schedule]:
    """Every schedule of every loaded plugin and of the core, validated, sorted by key.

    Besides ``register_schedules``, a report kind with a ``schedule`` is a schedule
    (key ``report-<kind>``, queue ``reports``, function ``anjian.reports.jobs.report``,
    for the tenants of the kind's plugin): see ``anjian.reports.kinds.schedule_entries``.
    """
    from anjian.reports.kinds import schedule_entries

    app = app or current_app._get_current_object()
    registry = app.extensions["anjian.plugins"]
    out: dict[str, Schedule] = {}
    for entry in [*registry.catalogue_entries("register_schedules"), *schedule_entries(registry)]:
        schedule = _validate(entry)
        if schedule.key in out:
            raise ScheduleError(f"{schedule.plugin}: schedule {schedule.key!r} is already "
                                f"declared by {out[schedule.key].plugin}")
        out[schedule.key] = schedule
    return [out[k] for k in sorted(out)]


def get(key: str, app=None) -> Schedule:
    for schedule in declared(app):
        if schedule.key == key:
            return schedule
    raise KeyError(f"unknown schedule {key!r}")


# --------------------------------------------------------------------------- firing


def fire(schedule: Schedule, slot: dt.datetime) -> dict:
    """Enqueue ``schedule``'s job for ``slot`` once per tenant that has it (needs an app context).

    Returns {"schedule", "slot", "enqueued", "skipped"}. Each tenant's job is
    committed on its own, so one tenant's failure leaves the others' jobs queued.
    """
    from anjian.jobs.models import Job
    from anjian.jobs.service import enqueue
    from anjian.tenancy.models import Tenant
    from anjian.tenancy.scope import Scope, scoped

    spec = schedule.job_spec()
    key = slot_key(slot)
    session = db.session
    with scoped(session, Scope.platform_scope()):
        tenants = session.execute(select(Tenant.id, Tenant.plugins)
                                  .where(Tenant.is_active).order_by(Tenant.id)).all()
    ids = [tid for tid, plugins in tenants
           if schedule.plugin == CORE or schedule.plugin in (plugins or ())]
    done: set[int] = set()
    if ids:
        since = slot.astimezone(dt.UTC) - dt.timedelta(days=1)
        with scoped(session, Scope(frozenset(ids))):
            done = set(session.scalars(select(Job.tenant_id).where(
                Job.kind == spec.kind, Job.created_at >= since,
                Job.params["schedule"].as_string() == schedule.key,
                Job.params["slot"].as_string() == key)))
    enqueued = 0
    for tenant_id in ids:
        if tenant_id in done:
            continue
        with scoped(session, Scope.tenant(tenant_id)):
            try:
                enqueue(spec.kind, {"schedule": schedule.key, "slot": key}, tenant_id=tenant_id,
                        shared=False)
                session.commit()
            except Exception:
                session.rollback()
                raise
        enqueued += 1
    if enqueued:
        log.info("schedule %s slot %s: %d job(s) enqueued, %d already there", schedule.key, key,
                 enqueued, len(done))
    return {"schedule": schedule.key, "slot": key, "enqueued": enqueued, "skipped": len(done)}


def run_schedule(key: str, slot: str | None = None) -> dict:
    """What RQ's cron scheduler enqueues: fire one schedule for one slot in a worker."""
    from anjian.jobs.service import _job_app

    app = _job_app()
    with app.app_context():
        try:
            schedule = get(key, app)
            moment = dt.datetime.fromisoformat(slot) if slot else schedule.previous(utcnow())
            return fire(schedule, moment)
        finally:
            db.session.remove()


def tick(app, now: dt.datetime | None = None) -> list[dict]:
    """The embedded scheduler: fire every schedule's latest slot since the previous tick.

    The first tick looks back ``CATCH_UP``; a schedule whose firing fails is tried
    again at the next tick. Without ``now`` a tick closer than ``TICK_SECONDS`` to the
    previous one does nothing (the worker loop calls it often). Returns the firings
    that reached a tenant (a plugin's schedule no active tenant enabled reaches none).
    """
    state = app.extensions.setdefault("anjian.schedules.tick", {"last": {}, "checked": 0.0})
    if now is None:
        if time.monotonic() - state["checked"] < TICK_SECONDS:
            return []
        state["checked"] = time.monotonic()
        now = utcnow()
    fired = []
    with app.app_context():
        try:
            for schedule in declared(app):
                last = state["last"].get(schedule.key) or now - CATCH_UP
                slots = schedule.fires_between(last, now)
                try:
                    result = fire(schedule, slots[-1]) if slots else None
                    if result and (result["enqueued"] or result["skipped"]):
                        fired.append(result)
                except Exception:  # retried at the next tick; the other schedules go on
                    log.exception("schedule %s: firing %s failed", schedule.key, slots[-1])
                    db.session.rollback()
                    continue
                state["last"][schedule.key] = now
        finally:
            db.session.remove()
    return fired


def embedded_enabled(app) -> bool:
    """The embedded worker fires schedules: no Redis, and not under tests unless asked."""
    return (not app.config.get("ANJIAN_REDIS_URL")
            and bool(app.config.get("ANJIAN_SCHEDULES_EMBEDDED", not app.testing)))


def tick_embedded(app) -> list[dict]:
    """The embedded worker loop's call (cheap between ticks)."""
    return tick(app) if embedded_enabled(app) else []


def start_embedded(app) -> None:
    """Start the embedded worker at serve time, so schedules fire before any job is sent."""
    if embedded_enabled(app):
        from anjian.jobs import embedded

        embedded.start(app)


# --------------------------------------------------------------------------- RQ's cron


def _cron_classes():
    """RQ's cron classes, subclassed to read cron fields in Asia/Shanghai (imported lazily)."""
    from rq.cron import CronJob, CronScheduler
    from rq.exceptions import StopRequested
    from rq.utils import now as rq_now

    class ShanghaiCronJob(CronJob):
        """RQ's CronJob, with cron fields read in Asia/Shanghai and the slot passed on."""

        def get_next_enqueue_time(self) -> dt.datetime:
            if not self.cron:
                return super().get_next_enqueue_time()
            base = self.latest_enqueue_time or rq_now()
            nxt = croniter(self.cron, base.astimezone(CHINA)).get_next(dt.datetime)
            return nxt.astimezone(dt.UTC)

        def enqueue(self, connection):
            # The slot this run belongs to (not the worker's clock): the per-tenant check
            # in ``fire`` keys on it.
            slot = self.next_enqueue_time if self.cron and self.next_enqueue_time else rq_now()
            self.kwargs = {**self.kwargs, "slot": slot_key(slot)}
            return super().enqueue(connection)

    class Scheduler(CronScheduler):
        """One CronJob per declared schedule; holds the single-scheduler lock while running
        (``stop_event``, when given, stops it at its next heartbeat)."""

        lock = None
        stop_event = None

        def calculate_sleep_interval(self) -> float:
            # A lock lost with Redis's data is found (and taken again) within seconds.
            return min(super().calculate_sleep_interval(), HEARTBEAT_SECONDS)

        def _install_signal_handlers(self):
            # Only the main thread may; a scheduler in a thread is stopped by stop_event.
            if threading.current_thread() is threading.main_thread():
                super()._install_signal_handlers()

        def add(self, schedule: Schedule, timeout: int = 600) -> ShanghaiCronJob:
            job = ShanghaiCronJob(queue_name=schedule.queue, func=run_schedule,
                                  args=(schedule.key,), cron=schedule.cron, name=schedule.id,
                                  job_timeout=timeout, meta={"schedule": schedule.key})
            self._cron_jobs.append(job)
            return job

        def catch_up(self, now: dt.datetime | None = None) -> list[str]:
            """Make the latest slot of the last CATCH_UP due at once (``fire`` skips done ones)."""
            now = now or rq_now()
            caught = []
            for job in self._cron_jobs:
                if not job.cron:
                    continue
                prev = croniter(job.cron, now.astimezone(CHINA)).get_prev(dt.datetime)
                if now - prev <= CATCH_UP:
                    job.next_enqueue_time = prev.astimezone(dt.UTC)
                    caught.append(job.name)
            return caught

        def heartbeat(self) -> None:
            if self.stop_event is not None and self.stop_event.is_set():
                raise StopRequested()
            super().heartbeat()
            if self.lock is not None and not hold(self.lock):
                self.log.error("scheduler lock lost: stopping (another scheduler runs)")
                raise StopRequested()

    return ShanghaiCronJob, Scheduler


def hold(lock) -> bool:
    """Keep the one scheduler lock: refresh it while it is ours; take it when it is free
    (a first start, or gone with Redis's data after a restart without persistence).
    False when another scheduler holds it."""
    from redis.exceptions import LockError

    if lock.local.token is not None:
        try:
            lock.reacquire()
            return True
        except LockError:
            log.warning("scheduler lock %s was gone from Redis: taking it again", LOCK_KEY)
    return lock.acquire(blocking=False)


def build_scheduler(app, connection=None, schedules: list[Schedule] | None = None):
    """RQ's cron scheduler with one ShanghaiCronJob per declared schedule (not started)."""
    from anjian.jobs.queues import connection as redis_connection

    _, Scheduler = _cron_classes()
    scheduler = Scheduler(connection=connection or redis_connection(app))
    for schedule in declared(app) if schedules is None else schedules:
        schedule.job_spec()  # refuse a schedule whose function is no job before starting
        scheduler.add(schedule)
    return scheduler


def run_scheduler(app, *, wait: float = 30.0, stop: threading.Event | None = None) -> int:
    """Run the one cron scheduler of this Redis (blocks; SIGTERM/SIGINT stop it, and so
    does ``stop``). Returns 0 when stopped, 1 when ``stop`` ends a standby's wait.

    A second one waits for the lock, checking every ``wait`` seconds. When Redis goes
    away the scheduler waits for it (``REDIS_RETRY_SECONDS``), then takes the lock again
    and catches up the latest slot, as at a start.
    """
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import LockError
    from redis.exceptions import TimeoutError as RedisSlow
    from rq.exceptions import StopRequested

    from anjian.jobs.queues import connection as redis_connection

    if not app.config.get("ANJIAN_REDIS_URL"):
        raise RuntimeError("ANJIAN_REDIS_URL is not set: the embedded worker fires schedules "
                           "inside the web process")
    conn = redis_connection(app)
    with app.app_context():
        from anjian.jobs.service import load_job_modules

        load_job_modules(app)
        scheduler = build_scheduler(app, conn)
    scheduler.stop_event = stop
    lock = conn.lock(LOCK_KEY, timeout=LOCK_TTL)

    def pause(seconds: float) -> bool:
        """Wait; True when asked to stop meanwhile."""
        try:
            if stop is not None:
                return stop.wait(seconds)
            time.sleep(seconds)
        except StopRequested:  # SIGTERM between two runs of RQ's loop
            return True
        return False

    def release() -> None:
        if lock.local.token is None:
            return
        try:
            lock.release()
        except LockError:  # expired or taken over meanwhile
            log.warning("scheduler lock %s was no longer ours at exit", LOCK_KEY)
        except (RedisDown, RedisSlow):
            pass  # it expires by itself (LOCK_TTL)

    def serve() -> int:
        while True:
            try:
                while not hold(lock):
                    holder = conn.get(LOCK_KEY)
                    log.warning("another scheduler holds %s (%s): waiting", LOCK_KEY, holder)
                    if pause(wait):
                        return 1
                scheduler.lock = lock
                caught = scheduler.catch_up()
                for job in scheduler._cron_jobs:
                    log.info("schedule %s (%s Asia/Shanghai, queue %s): next %s", job.name,
                             job.cron, job.queue_name,
                             local_now(job.next_enqueue_time).isoformat())
                if caught:
                    log.info("catching up the latest slot of: %s", ", ".join(caught))
                scheduler.start()
            except (RedisDown, RedisSlow) as exc:
                # The lock is kept: a short outage finds it still ours (``hold``); a
                # Redis that lost its data has lost the lock too, and it is taken again.
                log.warning("Redis unreachable (%s): the scheduler waits for it", exc)
                if pause(REDIS_RETRY_SECONDS):
                    return 0
                continue
            release()
            return 0

    try:
        return serve()
    except StopRequested:  # SIGTERM outside RQ's own loop (RQ's handler raises it)
        release()
        return 0


__all__ = ["CATCH_UP", "Schedule", "ScheduleError", "build_scheduler", "declared",
           "fire", "get", "run_schedule", "run_scheduler", "slot_key", "tick"]


# --------------------------------------------------------------------------- command line

@click.group("schedules")
def cli():
    """Recurring jobs (schedules), in Asia/Shanghai time."""


@cli.command("list")
@with_appcontext
def list_command():
    """List the declared schedules: key, cron, queue, function, plugin, id, next run."""
    now = utcnow()
    for s in declared():
        click.echo(f"{s.key}\t{s.cron}\t{CHINA.key}\t{s.queue}\t{s.function}\t{s.plugin}\t"
                   f"{s.id}\tnext {s.next_after(now).isoformat(timespec='minutes')}"
                   + (f"\t{s.title}" if s.title else ""))


@cli.command("run")
@with_appcontext
def run_command():
    """Run the one RQ cron scheduler (needs ANJIAN_REDIS_URL; a second one waits as standby)."""
    app = current_app._get_current_object()
    if not app.config.get("ANJIAN_REDIS_URL"):
        click.echo("错误: 未设置 ANJIAN_REDIS_URL；内置队列在 Web 进程中按计划执行，无需单独启动",
                   err=True)
        raise SystemExit(2)
    raise SystemExit(run_scheduler(app))


@cli.command("fire")
@click.argument("key")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day whose slot to fire (default: the latest slot).")
@with_appcontext
def fire_command(key, day):
    """Fire schedule KEY now for one slot (tenants that already have it are skipped)."""
    try:
        schedule = get(key)
    except KeyError:
        click.echo(f"错误: 未知的计划任务 {key}", err=True)
        raise SystemExit(2) from None
    slot = schedule.slot_on(day.date()) if day else schedule.previous(utcnow())
    result = fire(schedule, slot)
    click.echo(f"{result['schedule']} {result['slot']}: enqueued {result['enqueued']}, "
               f"skipped {result['skipped']}")
