"""The one RQ cron scheduler of a Redis (``anjian scheduler``, ``anjian schedules run``)
and the ``anjian schedules`` commands.

An entry point, like the worker: the scheduler process enqueues ``run_schedule`` (in
``anjian.jobs.runner``) for each schedule's slots, read in Asia/Shanghai time; the
schedules themselves, their firing and the embedded tick are in
``anjian.jobs.schedules``. RQ's cron takes no lock, so the scheduler holds a Redis
lock and a second one waits as a standby; it rides out a Redis outage (see
``run_scheduler``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import click
from croniter import croniter
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import ConnectionError as RedisDown
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisSlow
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from rq.utils import now as rq_now

from anjian.clock import CHINA, local_now, utcnow
from anjian.jobs import embedded
from anjian.jobs.queues import connection as redis_connection
from anjian.jobs.runner import run_schedule
from anjian.jobs.schedules import CATCH_UP, Schedule, declared, fire, get, slot_key
from anjian.jobs.service import load_job_modules

log = logging.getLogger(__name__)

LOCK_KEY = "anjian:schedules:lock"
LOCK_TTL = 180  # seconds; refreshed at every scheduler heartbeat
HEARTBEAT_SECONDS = 10.0  # the scheduler's loop turns at least this often (RQ's: 60 s)
REDIS_RETRY_SECONDS = 5.0  # how often a scheduler that lost Redis looks for it again


# --------------------------------------------------------------------------- RQ's cron


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


def hold(lock) -> bool:
    """Keep the one scheduler lock: refresh it while it is ours; take it when it is free
    (a first start, or gone with Redis's data after a restart without persistence).
    False when another scheduler holds it."""
    if lock.local.token is not None:
        try:
            lock.reacquire()
            return True
        except LockError:
            log.warning("scheduler lock %s was gone from Redis: taking it again", LOCK_KEY)
    return lock.acquire(blocking=False)


def build_scheduler(app, connection=None, schedules: list[Schedule] | None = None):
    """RQ's cron scheduler with one ShanghaiCronJob per declared schedule (not started)."""
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
    if not app.config.get("ANJIAN_REDIS_URL"):
        raise RuntimeError("ANJIAN_REDIS_URL is not set: the embedded worker fires schedules "
                           "inside the web process")
    conn = redis_connection(app)
    with app.app_context():
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
    """Fire schedule KEY now for one slot (tenants that already have it are skipped).

    With the embedded queue (no ANJIAN_REDIS_URL) the queue lives in this process: the
    command runs the jobs itself before it exits, rather than leave them to the web
    process's reaper (which sends lost jobs again only after two minutes)."""
    try:
        schedule = get(key)
    except KeyError:
        click.echo(f"错误: 未知的计划任务 {key}", err=True)
        raise SystemExit(2) from None
    app = current_app._get_current_object()
    in_process = not app.config.get("ANJIAN_REDIS_URL")
    slot = schedule.slot_on(day.date()) if day else schedule.previous(utcnow())
    # No worker thread (which the exit would cut off mid-job): the jobs run below.
    unset = object()
    thread_setting = app.config.get("ANJIAN_JOBS_EMBEDDED_WORKER", unset)
    if in_process:
        app.config["ANJIAN_JOBS_EMBEDDED_WORKER"] = False
    try:
        result = fire(schedule, slot)
    finally:
        if in_process and thread_setting is unset:
            app.config.pop("ANJIAN_JOBS_EMBEDDED_WORKER", None)
        elif in_process:
            app.config["ANJIAN_JOBS_EMBEDDED_WORKER"] = thread_setting
    click.echo(f"{result['schedule']} {result['slot']}: enqueued {result['enqueued']}, "
               f"skipped {result['skipped']}")
    if in_process and result["enqueued"]:
        embedded.drain(app)
        click.echo("内置队列：任务已在本进程中执行完毕")
