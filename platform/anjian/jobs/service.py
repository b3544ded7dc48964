"""Background jobs: the registry of job functions, enqueueing and dispatch, the job row's
bookkeeping. What RQ runs (``run_job``) is in ``anjian.jobs.runner``.

Writing a job::

    from anjian.jobs.service import JobError, job_function

    @job_function("enterprise_import", queue="imports", timeout=1800)
    def enterprise_import(ctx):              # ctx: JobContext
        rows = load(ctx.params["object_key"])
        for n, batch in enumerate(batches(rows), 1):
            upsert(batch)                    # db.session, already scoped to the job's tenant
            db.session.commit()              # commit the batch, then report it
            ctx.progress(100 * n // total, created=..., updated=..., failed=...)
        return {"created": ..., "updated": ...}   # JSON: stored as the job's result

Put job functions in a module ``anjian.<package>.jobs`` (found automatically in
every process) or name the module in ``ANJIAN_JOB_MODULES`` (comma-separated).

Starting one from a view (RELIABILITY 19: RQ hears of it only after the commit)::

    job = enqueue("enterprise_import", {"object_key": key})  # 503 if Redis is down
    db.session.commit()                                      # dispatched here
    return accepted(job)                                     # anjian.jobs.api: 202 + Location

Redis down: ``enqueue`` pings the queue first and raises ``QueueUnavailable``
(503 problem+json with Retry-After) before anything is written. Should Redis
drop between that ping and the commit, the committed row is marked failed
(retryable by a tenant admin) and ``accepted`` answers 503: nothing stays
"queued" that no worker will ever see.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import logging
import os
import pkgutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import anjian
from anjian.clock import utcnow
from anjian.context import Context
from anjian.db import jsonable
from anjian.errors import Conflict, DomainError, TooMany, Unavailable
from anjian.extensions import db, this_app
from anjian.jobs.models import (
    ABANDONED,
    FAILED,
    FINISHED,
    QUEUED,
    RETRYABLE,
    STARTED,
    Job,
    new_job_id,
)
from anjian.jobs.queues import QUEUE_NAMES, REDIS_ERRORS, connection
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, get_scope, set_scope

log = logging.getLogger(__name__)

PENDING_KEY = "anjian.jobs.pending"
FAILED_DISPATCH_KEY = "anjian.jobs.failed_dispatch"
DEFAULT_HEARTBEAT_SECONDS = 30
DEFAULT_STALE_SECONDS = 300
# What RQ runs for every job (named, not imported: the runner builds the app, which is
# above this module).
RUN_JOB = "anjian.jobs.runner.run_job"
# app.extensions key of a callable told of every dispatch (the embedded worker's wake-up).
DISPATCH_LISTENER = "anjian.jobs.dispatch_listener"
# app.extensions key of a callable(app, kind, status) told of an outcome decided outside a
# run (the reaper's "abandoned"): the metrics count it.
OUTCOME_LISTENER = "anjian.jobs.outcome_listener"


# --------------------------------------------------------------------------- errors


class QueueUnavailable(Unavailable):
    """Redis cannot take the job: 503 problem+json with Retry-After."""

    def __init__(self, detail: str = "任务队列暂不可用，请稍后再试", retry_after: int = 30):
        super().__init__(detail, slug="queue-unavailable", retry_after=retry_after)


class TooManyJobs(TooMany):
    """The tenant already has its share of open jobs: 429 problem+json with Retry-After."""

    def __init__(self, limit: int, retry_after: int = 30):
        super().__init__(f"本单位已有 {limit} 个后台任务在排队或运行，请等其完成后再提交",
                         slug="too-many-jobs", title="后台任务过多", retry_after=retry_after)


class JobError(DomainError):
    """Raised by a job function to fail with a message meant for users (Chinese). Any
    other domain error (``anjian.errors``) fails the job with its message as well."""

    def __init__(self, message: str, technical: str | None = None):
        super().__init__(message, technical=technical)


class JobStateError(Conflict):
    """An operation the job's current status does not allow (e.g. retrying a running job)."""


class UnknownJobKind(JobStateError):
    """The job's kind is no longer registered (its plugin or module was removed)."""


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class JobSpec:
    kind: str
    func: Callable
    queue: str = "default"
    timeout: int = 600  # seconds; RQ stops the job after this


_registry: dict[str, JobSpec] = {}


def job_function(kind: str, queue: str = "default", timeout: int = 600):
    """Register ``func(ctx: JobContext) -> dict | None`` as the job kind ``kind``."""
    if queue not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue!r} (one of {QUEUE_NAMES})")

    def decorator(func):
        known = _registry.get(kind)
        if known is not None and _qualname(known.func) != _qualname(func):
            raise ValueError(f"job kind {kind!r} is already registered by {_qualname(known.func)}")
        _registry[kind] = JobSpec(kind, func, queue, timeout)
        return func

    return decorator


def _qualname(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def registered() -> dict[str, JobSpec]:
    return dict(_registry)


_modules_loaded: set[str] = set()


def load_job_modules(app=None) -> None:
    """Import every ``anjian.<package>.jobs`` module and those named in ANJIAN_JOB_MODULES."""
    names = []
    for info in pkgutil.iter_modules(anjian.__path__):
        if info.ispkg:
            names.append(f"anjian.{info.name}.jobs")
    extra = (app.config.get("ANJIAN_JOB_MODULES") if app is not None else None) or os.environ.get(
        "ANJIAN_JOB_MODULES", "")
    names += [m.strip() for m in extra.split(",") if m.strip()]
    for name in names:
        if name in _modules_loaded:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but something it imports does not
                raise
        _modules_loaded.add(name)


def get_spec(kind: str, app=None) -> JobSpec:
    if kind not in _registry:
        load_job_modules(app)
    try:
        return _registry[kind]
    except KeyError:
        raise KeyError(f"unknown job kind {kind!r}") from None


# --------------------------------------------------------------------------- enqueueing


@dataclass(frozen=True)
class Dispatch:
    app: object
    job_id: str
    tenant_id: int
    kind: str
    queue: str
    rq_job_id: str
    timeout: int
    delay: float = 0.0  # seconds: RQ's scheduler (every worker runs one) puts it in the queue then


def _real(session):
    return session() if hasattr(session, "registry") else session


def check_queue(app=None) -> None:
    """Raise QueueUnavailable unless the app's Redis answers."""
    app = app or this_app()
    try:
        connection(app).ping()
    except REDIS_ERRORS as exc:
        log.warning("queue unavailable: %s", exc)
        raise QueueUnavailable() from exc


def new_rq_id(job_id: str) -> str:
    return f"{job_id}-{uuid.uuid4().hex[:8]}"


def enqueue(kind: str, params: dict | None = None, *, tenant_id: int | None = None,
            actor_user_id: int | None = None, session=None, shared: bool = True,
            delay: float = 0.0) -> Job:
    """Add a queued Job row to ``session`` (the request's by default); RQ gets it on commit.

    ``tenant_id`` and ``actor_user_id`` default to the session's scope (the request's
    tenant and user). Raises QueueUnavailable (503) when Redis does not answer,
    before writing anything; KeyError for an unknown kind; ValueError when
    ``params`` is not JSON. ``shared``: the job counts against the tenant's share of open
    jobs (``_check_share``); the schedules' jobs, the platform's own, pass False.
    ``delay``: seconds before RQ runs it (a retry's backoff), counted from the commit.
    """
    app = this_app()
    spec = get_spec(kind, app)
    session = _real(session or db.session)
    scope = get_scope(session)
    if tenant_id is None:
        tenant_id = scope.write_tenant_id if scope else None
    if tenant_id is None:
        raise ValueError("enqueue needs a tenant (a writable scope or tenant_id=)")
    if actor_user_id is None and scope is not None:
        actor_user_id = scope.user_id
    params = dict(params or {})
    json.dumps(params)  # ValueError/TypeError now rather than in the worker
    if shared:
        _check_share(session, app, tenant_id)
    check_queue(app)
    job_id = new_job_id()
    job = Job(id=job_id, tenant_id=tenant_id, kind=kind, queue=spec.queue, status=QUEUED,
              progress_percent=0, counts={}, params=params, actor_user_id=actor_user_id,
              attempts=0, rq_job_id=new_rq_id(job_id))
    session.add(job)
    session.flush()
    _schedule(session, app, job, spec, delay)
    return job


SHARE_LOCK_SPACE = 0x616A  # pg_advisory_xact_lock(SHARE_LOCK_SPACE, tenant_id): "aj"


def _check_share(session, app, tenant_id: int) -> None:
    """Refuse a request's job when its tenant already has ANJIAN_JOBS_OPEN_PER_TENANT
    jobs queued or running (RELIABILITY 25: a tenant's burst of imports queues behind
    its own work, not in front of every other tenant's). Scheduled jobs are not
    limited: they are the platform's, one per tenant and slot."""
    limit = app.config.get("ANJIAN_JOBS_OPEN_PER_TENANT", 0)
    if limit <= 0:
        return
    # Two submissions of one tenant at once would both count below the limit: the
    # second waits here until the first one's transaction has ended, then counts it.
    session.execute(text("SELECT pg_advisory_xact_lock(:space, :tenant)")
                    .execution_options(tenant_scoped_sql=True),
                    {"space": SHARE_LOCK_SPACE, "tenant": tenant_id})
    open_jobs = session.scalar(
        select(func.count()).select_from(Job)
        .where(Job.tenant_id == tenant_id, Job.status.in_((QUEUED, STARTED)))
    )
    if open_jobs >= limit:
        raise TooManyJobs(limit)


def retry(job: Job, session=None) -> Job:
    """Put a failed or abandoned job back in the queue (dispatched on commit)."""
    if job.status not in RETRYABLE:
        raise JobStateError(f"任务当前状态为「{job.status_label}」，只有失败或中断的任务可以重试",
                            technical=f"job {job.id} is {job.status}")
    app = this_app()
    try:
        spec = get_spec(job.kind, app)
    except KeyError:
        raise UnknownJobKind(f"任务类型「{job.kind}」已不可用（相关插件或模块未安装），无法重试") from None
    session = _real(session or db.session)
    check_queue(app)
    job.status = QUEUED
    job.progress_percent = 0
    # A job that commits its work in steps records a "checkpoint" in its counts
    # (e.g. the enterprise import's last committed batch): it survives a retry, so
    # the retried run continues after it instead of redoing (and miscounting) work.
    checkpoint = (job.counts or {}).get("checkpoint")
    job.counts = {"checkpoint": checkpoint} if checkpoint else {}
    job.result = None
    job.error = None
    job.started_at = None
    job.finished_at = None
    job.heartbeat_at = None
    job.queue = spec.queue
    job.rq_job_id = new_rq_id(job.id)
    session.flush()
    _schedule(session, app, job, spec)
    return job


def dispatch_failed(job: Job, session=None) -> bool:
    """Whether dispatching ``job`` after the last commit failed (Redis went away)."""
    session = _real(session or db.session)
    return job.id in session.info.get(FAILED_DISPATCH_KEY, set())


def _schedule(session, app, job: Job, spec: JobSpec, delay: float = 0.0) -> None:
    _install()
    session.info.setdefault(PENDING_KEY, []).append(Dispatch(
        app, job.id, job.tenant_id, job.kind, spec.queue, job.rq_job_id, spec.timeout, delay))
    session.info.get(FAILED_DISPATCH_KEY, set()).discard(job.id)


def send(item: Dispatch) -> None:
    queue = Queue(item.queue, connection=connection(item.app))
    options = {"job_id": item.rq_job_id, "job_timeout": item.timeout, "result_ttl": 24 * 3600,
               "failure_ttl": 7 * 24 * 3600,
               "description": f"{item.kind} {item.job_id} (tenant {item.tenant_id})"}
    try:
        if item.delay > 0:
            queue.enqueue_in(dt.timedelta(seconds=item.delay), RUN_JOB, item.job_id,
                             item.tenant_id, **options)
        else:
            queue.enqueue(RUN_JOB, item.job_id, item.tenant_id, **options)
    except REDIS_ERRORS as exc:
        raise QueueUnavailable() from exc
    listener = item.app.extensions.get(DISPATCH_LISTENER)
    if listener is not None:  # the embedded worker: wake it
        listener(item.app)


def _after_commit(session):
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    for item in pending:
        try:
            send(item)
        except QueueUnavailable:
            log.error("job %s committed but Redis refused it: marked failed", item.job_id)
            session.info.setdefault(FAILED_DISPATCH_KEY, set()).add(item.job_id)
            with item.app.app_context():
                finish(item.job_id, item.tenant_id, None, FAILED,
                       error=error_text("任务队列暂不可用，任务未能启动，请稍后重试",
                                        "QueueUnavailable: enqueue after commit failed"))


def _after_rollback(session):
    session.info.pop(PENDING_KEY, None)


_installed = False
_install_lock = threading.Lock()


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _installed = True


# --------------------------------------------------------------------------- running


def error_text(message: str, technical: str) -> str:
    technical = " ".join(technical.split())[:300]
    return f"{message}\n{technical}"


def _jsonable(value):
    """A job's result as its row keeps it (``anjian.db.jsonable``); one JSON cannot hold
    is kept as its text (the job did its work)."""
    try:
        return jsonable(value, "result")
    except (TypeError, RecursionError):  # RecursionError: it contains itself
        return {"value": str(value)}


@contextlib.contextmanager
def short_session(tenant_id: int, actor_user_id: int | None = None):
    """A session of its own, scoped to one tenant: commits independently of the job's work."""
    with Session(db.engine, expire_on_commit=False) as session:
        set_scope(session, Scope.tenant(tenant_id, actor_user_id))
        yield session


def finish(job_id, tenant_id, actor_user_id, status, *, result=None, error=None) -> None:
    with short_session(tenant_id, actor_user_id) as s:
        job = s.get(Job, job_id)
        if job is None:
            return
        job.status = status
        now = utcnow()
        job.finished_at = now
        job.heartbeat_at = now
        if status == FINISHED:
            job.progress_percent = 100
            job.result = _jsonable(result)
            job.error = None
        else:
            job.error = error
        s.commit()


class JobContext:
    """What a job function receives: its parameters and a way to report progress."""

    def __init__(self, job: Job, engine, context: Context | None = None):
        self.context = context  # the job's Context: its tenant, the actor who asked, its id
        self.job_id: str = job.id
        self.kind: str = job.kind
        self.tenant_id: int = job.tenant_id
        self.actor_user_id: int | None = job.actor_user_id
        self.params: dict = dict(job.params or {})
        self.attempt: int = job.attempts  # 1 on the first run, 2 on the first retry ...
        self.counts: dict = {}
        self.percent: int = 0
        self._engine = engine

    def progress(self, percent: float | None = None, **counts) -> None:
        """Record progress (0-100) and counts (merged) in a short transaction of its own.

        Call it between batches, after committing the batch.
        """
        if percent is not None:
            self.percent = max(0, min(100, int(percent)))
        self.counts.update(counts)
        self._write(progress=True)

    def heartbeat(self) -> None:
        """Tell the reaper this job is alive (progress() does this too)."""
        self._write(progress=False)

    def _write(self, progress: bool) -> None:
        try:
            with Session(self._engine) as s:
                set_scope(s, Scope.tenant(self.tenant_id, self.actor_user_id))
                job = s.get(Job, self.job_id)
                if job is None:
                    return
                if progress:
                    job.progress_percent = self.percent
                    job.counts = dict(self.counts)
                job.heartbeat_at = utcnow()
                s.commit()
        except OperationalError as exc:
            log.warning("job %s: progress not recorded: %s", self.job_id, exc)


# --------------------------------------------------------------------------- stale jobs


def _rq_status(app, rq_job_id: str | None):
    """RQ's status of a job: a string, None when RQ no longer knows it, "unknown" if unreachable."""
    if not rq_job_id:
        return None
    try:
        status = RQJob.fetch(rq_job_id, connection=connection(app)).get_status(refresh=False)
    except NoSuchJobError:
        return None
    except REDIS_ERRORS:
        return "unknown"
    return getattr(status, "value", status)


def reap_abandoned(app=None, stale_after: float | None = None,
                   requeue_lost_after: float | None = 120) -> dict:
    """Mark running jobs nobody works on as abandoned; re-send queued jobs Redis lost.

    A STARTED job is abandoned when its heartbeat is older than ``stale_after``
    seconds (ANJIAN_JOB_STALE_SECONDS, default 300), or when RQ says its job
    ended, failed, was stopped, or no longer exists (a killed worker, a lost
    embedded queue). A QUEUED job whose RQ job vanished (Redis flushed or the
    embedded queue lost with its process) for over ``requeue_lost_after`` seconds
    is sent again. Returns {"abandoned": n, "requeued": m}.
    """
    app = app or this_app()
    counted = app.extensions.get(OUTCOME_LISTENER)
    if stale_after is None:
        stale_after = float(app.config.get("ANJIAN_JOB_STALE_SECONDS", DEFAULT_STALE_SECONDS))
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=stale_after)
    abandoned = requeued = 0
    with app.app_context():
        with Session(db.engine) as s:
            tenant_ids = list(s.scalars(select(Tenant.id)))
        for tenant_id in tenant_ids:
            with short_session(tenant_id) as s:
                rows = list(s.scalars(select(Job).where(Job.status.in_((STARTED, QUEUED)))))
                resend = []
                for job in rows:
                    state = _rq_status(app, job.rq_job_id)
                    if job.status == STARTED:
                        beat = job.heartbeat_at or job.started_at or job.created_at
                        gone = state is None or state in ("finished", "failed", "stopped",
                                                          "canceled")
                        if beat < cutoff or gone:
                            set_scope(s, Scope.tenant(tenant_id, job.actor_user_id))
                            job.status = ABANDONED
                            job.finished_at = now
                            job.error = error_text(
                                "任务中断（处理进程已停止或失联），可由管理员重试",
                                f"abandoned: rq={state}, last heartbeat {beat.isoformat()}")
                            s.commit()
                            abandoned += 1
                            if counted is not None:
                                counted(app, job.kind, ABANDONED)
                    elif (state is None and requeue_lost_after is not None
                          and job.created_at < now - dt.timedelta(seconds=requeue_lost_after)):
                        spec = _registry.get(job.kind)
                        if spec is None:
                            continue
                        set_scope(s, Scope.tenant(tenant_id, job.actor_user_id))
                        job.rq_job_id = new_rq_id(job.id)
                        s.commit()
                        resend.append(Dispatch(app, job.id, tenant_id, job.kind, spec.queue,
                                               job.rq_job_id, spec.timeout))
                for item in resend:
                    try:
                        send(item)
                        requeued += 1
                    except QueueUnavailable:
                        break
    return {"abandoned": abandoned, "requeued": requeued}


__all__ = [
    "JobContext", "JobError", "JobSpec", "JobStateError", "QueueUnavailable", "check_queue",
    "dispatch_failed", "enqueue", "error_text", "finish", "get_spec", "job_function",
    "load_job_modules", "reap_abandoned", "registered", "retry", "short_session",
]
