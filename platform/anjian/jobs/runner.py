"""What RQ executes: one job (``run_job``) or one schedule's firing (``run_schedule``), and
the reaper of jobs nobody works on.

This is an entry point, like ``anjian worker``: a work horse forked by RQ enters the
code here and builds the app of its process (no connection crosses the fork); the
embedded worker and the tests run it inside the app they have.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading

from flask import current_app, has_app_context

from anjian import notifications, observability
from anjian.app import create_app
from anjian.clock import utcnow
from anjian.context import Context
from anjian.errors import DomainError
from anjian.extensions import db, plugin_registry
from anjian.jobs import schedules
from anjian.jobs.models import DONE, FAILED, FINISHED, STARTED, Job
from anjian.jobs.service import (
    DEFAULT_HEARTBEAT_SECONDS,
    JobContext,
    error_text,
    finish,
    get_spec,
    short_session,
)
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, set_scope

log = logging.getLogger(__name__)


class _Heartbeat(threading.Thread):
    def __init__(self, ctx: JobContext, interval: float):
        super().__init__(daemon=True, name=f"job-heartbeat-{ctx.job_id[:8]}")
        self.ctx = ctx
        self.interval = interval
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.interval):
            with contextlib.suppress(Exception):
                self.ctx.heartbeat()


_process_apps: dict[int, object] = {}


def _job_app():
    """The app of the serving process (embedded worker, tests), or one built per process."""
    if has_app_context():
        return current_app._get_current_object()
    pid = os.getpid()
    app = _process_apps.get(pid)
    if app is None:
        app = create_app()
        _process_apps.clear()  # an app inherited through fork() is never reused
        _process_apps[pid] = app
    return app


def run_job(job_id: str, tenant_id: int) -> dict:
    """What RQ executes: run one Job row's function in its tenant, recording the outcome.

    Idempotent: a job already finished, failed or abandoned is left alone (a retry
    puts it back to queued first); a job found "started" (its worker died and RQ
    delivers it again) runs again, which job functions must tolerate.
    """
    app = _job_app()
    with app.app_context(), observability.job_run(app, job_id, tenant_id) as run:
        return run.record(_run(app, job_id, tenant_id))


def _run(app, job_id: str, tenant_id: int) -> dict:
    with short_session(tenant_id) as s:
        job = s.get(Job, job_id)
        if job is None:
            log.warning("job %s (tenant %s) not found: nothing to run", job_id, tenant_id)
            return {"status": "missing"}
        if job.status in DONE:
            log.info("job %s is already %s: not run again", job_id, job.status)
            return {"status": job.status, "skipped": True}
        actor = job.actor_user_id
        set_scope(s, Scope.tenant(tenant_id, actor))
        tenant = s.get(Tenant, tenant_id)
        observability.bind(job_kind=job.kind, tenant=tenant.code if tenant else None)
        now = utcnow()
        job.attempts = (job.attempts or 0) + 1
        if tenant is None or not tenant.is_active:
            job.status = FAILED
            job.error = error_text("所属租户已停用或不存在，任务未执行",
                                   f"tenant {tenant_id} inactive or missing")
            job.finished_at = now
            s.commit()
            return {"status": FAILED}
        job.status = STARTED
        job.started_at = now
        job.heartbeat_at = now
        job.finished_at = None
        s.commit()
        plugins = plugin_registry()
        context = Context.for_job(plugins.tenant_info(tenant), actor, job_id, plugins)
        ctx = JobContext(job, db.engine, context)

    try:
        spec = get_spec(ctx.kind, app)
    except KeyError:
        finish(job_id, tenant_id, actor, FAILED,
               error=error_text("未知的任务类型，无法执行", f"unknown job kind {ctx.kind!r}"))
        return {"status": FAILED}

    heartbeat = _Heartbeat(ctx, float(app.config.get("ANJIAN_JOB_HEARTBEAT_SECONDS",
                                                     DEFAULT_HEARTBEAT_SECONDS)))
    heartbeat.start()
    set_scope(db.session, Scope.tenant(tenant_id, actor))
    try:
        result = spec.func(ctx)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, DomainError):  # a rule said no: its message is the job's
            error = error_text(exc.message, exc.technical or type(exc).__name__)
        else:
            log.exception("job %s (%s) failed", job_id, ctx.kind)
            error = error_text("任务执行失败", f"{type(exc).__name__}: {exc}")
        heartbeat.stopped.set()
        finish(job_id, tenant_id, actor, FAILED, error=error)
        _announce_failure(context, ctx.kind, job_id, actor, error)
        return {"status": FAILED}
    finally:
        heartbeat.stopped.set()
        set_scope(db.session, None)
        db.session.remove()
    finish(job_id, tenant_id, actor, FINISHED, result=result)
    return {"status": FINISHED}


# Jobs whose failures are not news: a delivery keeps its own log (telling of a failed
# notice by another notice would loop).
QUIET_KINDS = frozenset({"channel_delivery"})


def _announce_failure(context: Context, kind: str, job_id: str, actor: int | None,
                      error: str) -> None:
    """Tell of a failed job (the user who started it; the tenant's rules): the channels
    write their deliveries in the job's session, committed here."""
    if kind in QUIET_KINDS:
        return
    try:
        notifications.announce(context, notifications.Event(
            kind="job_failed", title=f"后台任务失败：{kind}", body=error.split("\n", 1)[0],
            user_ids=(actor,) if actor else (), job_id=job_id))
        db.session.commit()
    except Exception:
        log.exception("job %s: its failure could not be announced", job_id)
        db.session.rollback()


def run_schedule(key: str, slot: str | None = None) -> dict:
    """What RQ's cron scheduler enqueues: fire one schedule for one slot in a worker."""
    app = _job_app()
    with app.app_context():
        try:
            schedule = schedules.get(key, app)
            moment = dt.datetime.fromisoformat(slot) if slot else schedule.previous(utcnow())
            return schedules.fire(schedule, moment)
        finally:
            db.session.remove()
