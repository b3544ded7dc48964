"""Prometheus metrics, served at ``/metrics``.

* Requests: ``anjian_http_requests_total{method, endpoint, status}`` and
  ``anjian_http_request_duration_seconds{method, endpoint}``. ``endpoint`` is the
  Flask endpoint name (``enterprises.list_enterprises``), never the raw path, so no
  tenant code or object id becomes a label value. Kept per process by
  prometheus_client; under gunicorn each worker writes its own files in
  ``PROMETHEUS_MULTIPROC_DIR`` and whichever worker answers a scrape adds them up
  (see deploy/gunicorn.conf.py).
* Jobs: ``anjian_jobs_total{kind, status}`` and
  ``anjian_job_duration_seconds{kind, status}``. Jobs run in worker processes (RQ
  forks one per job) on other machines, so these are counted in Redis (a few hash
  fields under ``anjian:metrics:``) and read at scrape time: every web process shows
  the same platform-wide figures, and no file per forked job piles up.
* Queues, read from Redis at scrape time: ``anjian_queue_depth{queue}`` (waiting),
  ``anjian_queue_started{queue}`` (running), ``anjian_workers``, ``anjian_queue_up``.

No label carries a tenant, a user or an object id: the route is public (see
docs/operations.md, "Logs and metrics").
"""

from __future__ import annotations

import logging
import math
import os
import threading

from flask import Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from rq import Queue, Worker

from anjian.api.blueprint import Blueprint
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.jobs.queues import QUEUE_NAMES, REDIS_ERRORS, connection

log = logging.getLogger(__name__)

blp = Blueprint("metrics", __name__, description="Prometheus 监控指标")

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, math.inf)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

JOBS_KEY = "anjian:metrics:jobs"
DURATIONS_KEY = "anjian:metrics:job_seconds"

_lock = threading.Lock()
_http: tuple | None = None
_http_pid: int | None = None


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _http_metrics():
    """(registry, requests counter, latency histogram) of this process, made on first use."""
    global _http, _http_pid
    with _lock:
        if _http is None or _http_pid != os.getpid():
            registry = CollectorRegistry(auto_describe=True)
            requests = Counter("anjian_http_requests", "HTTP requests answered",
                               ("method", "endpoint", "status"), registry=registry)
            latency = Histogram("anjian_http_request_duration_seconds",
                                "Time to answer an HTTP request", ("method", "endpoint"),
                                buckets=REQUEST_BUCKETS, registry=registry)
            _http, _http_pid = (registry, requests, latency), os.getpid()
        return _http


def observe_request(method: str, endpoint: str | None, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    endpoint = endpoint or "unmatched"
    _, requests, latency = _http_metrics()
    requests.labels(method, endpoint, str(status)).inc()
    latency.labels(method, endpoint).observe(seconds)


# --------------------------------------------------------------------------- jobs



def _le(bound: float) -> str:
    return "+Inf" if bound == math.inf else repr(float(bound))


def record_job(app, kind: str, status: str, seconds: float | None = None) -> None:
    """Count one job outcome (and its duration) in Redis; never fails the job."""
    try:
        pipe = connection(app).pipeline(transaction=False)
        pipe.hincrby(JOBS_KEY, f"{kind}\t{status}", 1)
        if seconds is not None:
            bound = next(b for b in JOB_BUCKETS if seconds <= b)
            pipe.hincrby(DURATIONS_KEY, f"{kind}\t{status}\t{_le(bound)}", 1)
            pipe.hincrbyfloat(DURATIONS_KEY, f"{kind}\t{status}\tsum", seconds)
        pipe.execute()
    except REDIS_ERRORS as exc:
        log.warning("job metrics not recorded (%s %s): %s", kind, status, exc)


class RedisCollector:
    """Queue depth, workers and job outcomes, read from the app's Redis at scrape time."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        up = GaugeMetricFamily("anjian_queue_up", "1 when Redis answered this scrape")
        try:
            conn = connection(self.app)
            depth = GaugeMetricFamily("anjian_queue_depth", "Jobs waiting in the queue",
                                      labels=["queue"])
            started = GaugeMetricFamily("anjian_queue_started", "Jobs being worked on",
                                        labels=["queue"])
            for name in QUEUE_NAMES:
                queue = Queue(name, connection=conn)
                depth.add_metric([name], queue.count)
                started.add_metric([name], queue.started_job_registry.get_job_count(cleanup=False))
            workers = GaugeMetricFamily("anjian_workers", "RQ workers registered in Redis",
                                        value=Worker.count(connection=conn))
            counts = conn.hgetall(JOBS_KEY)
            durations = conn.hgetall(DURATIONS_KEY)
        except REDIS_ERRORS as exc:
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, depth, started, workers)

        jobs = CounterMetricFamily("anjian_jobs", "Jobs ended, by kind and status",
                                   labels=["kind", "status"])
        for field, value in sorted(counts.items()):
            kind, _, status = field.decode().partition("\t")
            jobs.add_metric([kind, status], int(value))
        yield jobs

        buckets: dict[tuple[str, str], dict[str, float]] = {}
        for field, value in durations.items():
            kind, status, bound = field.decode().split("\t")
            buckets.setdefault((kind, status), {})[bound] = float(value)
        histogram = HistogramMetricFamily("anjian_job_duration_seconds",
                                          "Time a job ran, by kind and status",
                                          labels=["kind", "status"])
        for (kind, status), values in sorted(buckets.items()):
            running, cumulative = 0.0, []
            for bound in JOB_BUCKETS:
                running += values.get(_le(bound), 0.0)
                cumulative.append((_le(bound), running))
            histogram.add_metric([kind, status], cumulative, values.get("sum", 0.0))
        yield histogram


class _Forward:
    """Exposes this process's request metrics in a scrape's registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


@blp.route("/metrics")
@blp.response(200, {"type": "string"}, content_type="text/plain",
              description="Prometheus text format")
@requires("metrics.read")
def metrics_view():
    """Prometheus 指标：请求、后台任务、队列（仅汇总数据，不含租户）"""
    if not current_app.config["ANJIAN_METRICS_ENABLED"]:
        problem(404, "监控指标未启用")
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(_http_metrics()[0]))
    registry.register(RedisCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                         "Cache-Control": "no-store"})
