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
import time
from dataclasses import dataclass

from croniter import croniter
from flask import current_app
from sqlalchemy import select

from anjian.clock import CHINA, local_now, utcnow
from anjian.extensions import PLUGINS_KEY, db
from anjian.jobs import service
from anjian.jobs.models import Job
from anjian.jobs.queues import QUEUE_NAMES
from anjian.jobs.service import enqueue
from anjian.reports.kinds import schedule_entries
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, scoped

log = logging.getLogger(__name__)

CORE = "anjian.defaults"
CATCH_UP = dt.timedelta(days=1)
TICK_SECONDS = 20.0  # the embedded tick checks at most this often
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
    app = app or current_app._get_current_object()
    registry = app.extensions[PLUGINS_KEY]
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


__all__ = ["CATCH_UP", "Schedule", "ScheduleError", "declared",
           "fire", "get", "slot_key", "tick"]
