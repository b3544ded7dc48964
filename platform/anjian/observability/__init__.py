"""Observability: structured logs with request/job context, Prometheus metrics.

``init_app`` (called by the app factory before the API is registered) sets up
logging for the process and the request hooks. The request guard binds the
request id, the tenant code of the URL and the user; ``job_run`` (around every
job, in ``anjian.jobs.runner.run_job``) binds the job id, kind and tenant and
counts the outcome. Nothing here runs at import.
"""

from __future__ import annotations

import contextlib
import logging
import time

import structlog
from flask import Flask, current_app, g, request

from anjian.jobs.models import FAILED, FINISHED
from anjian.jobs.service import OUTCOME_LISTENER
from anjian.observability import logs, metrics

log = logging.getLogger("anjian.request")


def bind(**values) -> None:
    """Add fields to every log line of the current request or job (None values are dropped)."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def bind_request(request_id: str, tenant_code: str | None) -> None:
    bind(request_id=request_id, tenant=tenant_code)


def init_app(app: Flask) -> None:
    logs.configure(app.config["ANJIAN_LOG_FORMAT"], app.config["ANJIAN_LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_clear_context)
    app.extensions[OUTCOME_LISTENER] = job_counted  # the reaper's "abandoned"


def _clear_context(_exc=None) -> None:
    structlog.contextvars.clear_contextvars()


def _start_request() -> None:
    _clear_context()
    g.started_at = time.perf_counter()


def _finish_request(response):
    started = g.get("started_at")
    if started is None:
        return response
    seconds = time.perf_counter() - started
    endpoint = request.url_rule.endpoint if request.url_rule is not None else None
    if current_app.config["ANJIAN_METRICS_ENABLED"]:
        metrics.observe_request(request.method, endpoint, response.status_code, seconds)
    if current_app.config["ANJIAN_LOG_FORMAT"] == "json":
        # gunicorn's access log is off in JSON mode: this line replaces it.
        log.info("request", extra={
            "method": request.method, "path": request.path, "endpoint": endpoint,
            "status": response.status_code, "duration_ms": round(seconds * 1000, 1),
        })
    return response


class JobRun:
    """What ``job_run`` yields: ``record(outcome)`` counts a job's end and returns it."""

    def __init__(self, app, started: float):
        self.app = app
        self.started = started
        self.recorded = False

    def record(self, outcome: dict) -> dict:
        self.recorded = True
        kind = structlog.contextvars.get_contextvars().get("job_kind")
        status = outcome.get("status")
        if kind and status in (FINISHED, FAILED) and not outcome.get("skipped"):
            metrics.record_job(self.app, kind, status, time.perf_counter() - self.started)
        return outcome


@contextlib.contextmanager
def job_run(app, job_id: str, tenant_id: int):
    """Around one job run: its log lines carry job_id and tenant_id (the wrapper binds
    job_kind and the tenant's code once it has loaded them); the outcome is counted."""
    saved = structlog.contextvars.get_contextvars()
    structlog.contextvars.clear_contextvars()
    bind(job_id=job_id, tenant_id=tenant_id)
    run = JobRun(app, time.perf_counter())
    try:
        yield run
    except Exception:
        kind = structlog.contextvars.get_contextvars().get("job_kind")
        if kind and not run.recorded:
            # The wrapper itself failed (database unreachable, ...): RQ marks it failed.
            metrics.record_job(app, kind, "error", time.perf_counter() - run.started)
        raise
    finally:
        # Whatever the job bound goes with it (an embedded worker thread runs the next one).
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**saved)


def job_counted(app, kind: str, status: str) -> None:
    """Count a job outcome decided outside a run (the reaper's "abandoned")."""
    metrics.record_job(app, kind, status)
