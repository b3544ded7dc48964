"""Observability: JSON log lines with request and job context, Prometheus metrics at /metrics."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import structlog
from flask_smorest import Blueprint
from prometheus_client.parser import text_string_to_metric_families

from anjian.api.policy import ALL_TENANT_ROLES, AUTHENTICATED, requires
from anjian.extensions import db
from anjian.jobs import embedded
from anjian.jobs.service import JobError, enqueue, job_function
from anjian.observability import logs
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

ROOT = Path(__file__).resolve().parents[1]
library_log = logging.getLogger("tests.some_library")

# The app of its own: its world adds a blueprint of test routes.
pytestmark = pytest.mark.own_app


@job_function("test.obs_ok")
def obs_ok(ctx):
    library_log.info("working on %s", ctx.params.get("n"))
    return {"n": ctx.params.get("n")}


@job_function("test.obs_fail", queue="imports")
def obs_fail(ctx):
    raise JobError("失败", "ValueError: on purpose")


probe = Blueprint("test_obs", __name__, url_prefix="/api/v1")


@probe.route("/tenants/<tenant_code>/test-obs/log")
@requires(*ALL_TENANT_ROLES)
def log_something(tenant_code):
    library_log.warning("a library speaks in %s", tenant_code)
    structlog.get_logger("tests.structlog").info("our own line", answer=42)
    return {"ok": True}


@probe.route("/test-obs/untenanted")
@requires(AUTHENTICATED)
def log_untenanted():
    library_log.warning("no tenant here")
    return {"ok": True}


@pytest.fixture
def world(app, factory):
    app.extensions["anjian.api"].register_blueprint(probe)
    a = factory.tenant("obs-a")
    _, admin = factory.user("obs-admin", {a: "tenant_admin"})
    yield {"a": a, "admin": bearer(admin)}
    embedded.stop(app)


@pytest.fixture
def captured():
    """Every log line of the process, rendered by the JSON formatter the deployment uses."""
    buffer = io.StringIO()
    handler = logs.handler("json", stream=buffer)
    handler._anjian = False  # not replaced by a create_app() during the test
    root = logging.getLogger()
    root.addHandler(handler)

    def lines():
        out = [json.loads(line) for line in buffer.getvalue().splitlines()]
        buffer.seek(0)
        buffer.truncate()
        return out

    yield lines
    root.removeHandler(handler)


# --------------------------------------------------------------------------- logs


def test_every_line_of_a_request_is_json_with_its_request_id_and_tenant(app, client, world,
                                                                         captured):
    app.config["ANJIAN_LOG_FORMAT"] = "json"
    captured()
    response = client.get("/api/v1/tenants/obs-a/test-obs/log", headers={
        **world["admin"], "X-Request-ID": "req-obs-1"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-obs-1"
    lines = captured()
    assert len(lines) >= 3
    for line in lines:
        assert line["request_id"] == "req-obs-1", line
        assert line["tenant"] == "obs-a", line
        assert "timestamp" in line and "level" in line
    library = next(x for x in lines if x["logger"] == "tests.some_library")
    assert (library["event"], library["level"]) == ("a library speaks in obs-a", "warning")
    ours = next(x for x in lines if x["logger"] == "tests.structlog")
    assert (ours["event"], ours["answer"]) == ("our own line", 42)
    finished = next(x for x in lines if x["event"] == "request")
    assert finished["endpoint"] == "test_obs.log_something"
    assert (finished["status"], finished["method"]) == (200, "GET")
    assert finished["path"] == "/api/v1/tenants/obs-a/test-obs/log"
    assert isinstance(finished["duration_ms"], float)
    assert isinstance(finished["user_id"], int)

    # The next request has its own id and, on a route without a tenant, no tenant at all.
    client.get("/api/v1/test-obs/untenanted", headers=world["admin"])
    later = captured()
    assert later and all("tenant" not in x for x in later), later
    ids = {x["request_id"] for x in later}
    assert len(ids) == 1 and "req-obs-1" not in ids


def test_a_denied_request_is_logged_with_its_request_id(app, client, world, factory, captured):
    _, stranger = factory.user("obs-stranger")
    captured()
    response = client.get("/api/v1/tenants/obs-a/test-obs/log", headers={
        **bearer(stranger), "X-Request-ID": "req-obs-2"})
    assert response.status_code == 404
    denial = [x for x in captured() if x["event"].startswith("denied")]
    assert denial and denial[0]["request_id"] == "req-obs-2"
    assert denial[0]["tenant"] == "obs-a"  # the tenant asked for


def test_a_job_logs_with_its_job_id_kind_and_tenant(app, world, captured):
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        job = enqueue("test.obs_ok", {"n": 7})
        db.session.commit()
        job_id = job.id
    captured()
    embedded.drain(app)
    line = next(x for x in captured() if x["event"] == "working on 7")
    assert (line["job_id"], line["job_kind"], line["tenant"], line["tenant_id"]) == (
        job_id, "test.obs_ok", "obs-a", world["a"])
    # The job's context goes with it.
    library_log.warning("after the job")
    after = next(x for x in captured() if x["event"] == "after the job")
    assert "job_id" not in after and "tenant" not in after


def test_the_app_installs_one_handler_in_the_configured_format(database, tmp_path):
    from anjian.app import create_app

    def make(fmt):
        return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database.fresh(tmp_path),
                           "ANJIAN_DATA_DIR": str(tmp_path), "ANJIAN_LOG_FORMAT": fmt})

    def ours():
        return [h for h in logging.getLogger().handlers if getattr(h, "_anjian", False)]

    try:
        make("json")
        make("json")
        assert len(ours()) == 1
        record = logging.LogRecord("tests.x", logging.INFO, __file__, 1, "中文 %s", ("ok",), None)
        rendered = json.loads(ours()[0].format(record))
        assert (rendered["event"], rendered["logger"], rendered["level"]) == (
            "中文 ok", "tests.x", "info")
        make("console")
        assert len(ours()) == 1
        assert not ours()[0].format(record).startswith("{")
        with pytest.raises(ValueError, match="ANJIAN_LOG_FORMAT"):
            make("xml")
    finally:
        logs.configure("console")


def test_gunicorn_json_logconfig_renders_its_lines_as_json(tmp_path):
    import logging.config

    config = logs.gunicorn_logconfig("INFO")
    logging.config.dictConfig(config)
    try:
        root = logging.getLogger()
        handler = next(h for h in root.handlers if isinstance(h, logs.StderrHandler))
        record = logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1,
                                   "Booting worker with pid: %s", (123,), None)
        assert json.loads(handler.format(record))["event"] == "Booting worker with pid: 123"
        assert logging.getLogger("gunicorn.error").propagate is True
        assert not logging.getLogger("gunicorn.access").isEnabledFor(logging.INFO)
    finally:
        logs.configure("console")


# --------------------------------------------------------------------------- metrics


def scrape(client) -> dict:
    """{(name, frozenset(labels)): value} of one /metrics answer."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_by_endpoint_never_by_path(app, client, world):
    label = {"method": "GET", "endpoint": "tenants.get_tenant", "status": "200"}
    before = scrape(client)
    for _ in range(2):
        assert client.get("/api/v1/tenants/obs-a", headers=world["admin"]).status_code == 200
    assert client.get("/api/v1/tenants/obs-a").status_code == 401
    after = scrape(client)
    assert value(after, "anjian_http_requests_total", **label) == value(
        before, "anjian_http_requests_total", **label) + 2
    denied = {**label, "status": "401"}
    assert value(after, "anjian_http_requests_total", **denied) == value(
        before, "anjian_http_requests_total", **denied) + 1
    latency = {"method": "GET", "endpoint": "tenants.get_tenant"}
    assert value(after, "anjian_http_request_duration_seconds_count", **latency) >= 3
    # No tenant code, path or id is ever a label value.
    text = client.get("/metrics").get_data(as_text=True)
    assert "obs-a" not in text and "/api/v1" not in text
    client.get("/api/v1/no/such/route")
    assert value(scrape(client), "anjian_http_requests_total", method="GET",
                 endpoint="unmatched", status="404") >= 1


def test_queue_depth_and_job_outcomes(app, client, world):
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        for n in range(2):
            enqueue("test.obs_ok", {"n": n})
        enqueue("test.obs_fail")
        db.session.commit()
    samples = scrape(client)
    assert value(samples, "anjian_queue_up") == 1
    assert value(samples, "anjian_queue_depth", queue="default") == 2
    assert value(samples, "anjian_queue_depth", queue="imports") == 1
    assert value(samples, "anjian_queue_depth", queue="reports") == 0

    embedded.drain(app)
    samples = scrape(client)
    assert value(samples, "anjian_queue_depth", queue="default") == 0
    assert value(samples, "anjian_queue_depth", queue="imports") == 0
    assert value(samples, "anjian_jobs_total", kind="test.obs_ok", status="finished") == 2
    assert value(samples, "anjian_jobs_total", kind="test.obs_fail", status="failed") == 1
    ok = {"kind": "test.obs_ok", "status": "finished"}
    assert value(samples, "anjian_job_duration_seconds_count", **ok) == 2
    assert value(samples, "anjian_job_duration_seconds_bucket", **ok, le="+Inf") == 2
    assert 0 < value(samples, "anjian_job_duration_seconds_sum", **ok) < 60


def test_an_abandoned_job_is_counted(app, client, world):
    from sqlalchemy import update

    from anjian.jobs.models import Job
    from anjian.jobs.service import reap_abandoned

    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        job = enqueue("test.obs_ok", {"n": 1})
        db.session.commit()
        db.session.execute(update(Job).where(Job.id == job.id).values(status="started"))
        db.session.commit()
    assert reap_abandoned(app, stale_after=0)["abandoned"] == 1
    assert value(scrape(client), "anjian_jobs_total", kind="test.obs_ok", status="abandoned") == 1


def test_metrics_answer_when_redis_is_down(app, client, world):
    app.config["ANJIAN_REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    first = scrape(client)
    samples = scrape(client)
    assert value(samples, "anjian_queue_up") == 0
    assert ("anjian_queue_depth", frozenset({("queue", "default")})) not in samples
    # A request is counted once answered: the second scrape shows the first.
    scrapes = {"method": "GET", "endpoint": "metrics.metrics_view", "status": "200"}
    assert value(samples, "anjian_http_requests_total", **scrapes) == \
        value(first, "anjian_http_requests_total", **scrapes) + 1


def test_metrics_can_be_turned_off(database, tmp_path):
    from anjian.app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database.fresh(tmp_path),
                      "ANJIAN_DATA_DIR": str(tmp_path), "ANJIAN_METRICS_ENABLED": False})
    assert app.test_client().get("/metrics").status_code == 404


MULTIPROCESS = textwrap.dedent("""
    import os, sys
    sys.path[:0] = ["platform", "plugins"]
    from anjian.app import create_app

    app = create_app({"TESTING": True, "ANJIAN_DATA_DIR": sys.argv[1],
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@/none?host=/nonexistent"})
    client = app.test_client()
    pid = os.fork()
    if pid == 0:  # a second gunicorn worker
        for _ in range(2):
            client.get("/healthz")
        os._exit(0)
    os.waitpid(pid, 0)
    client.get("/healthz")
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
""")


def test_metrics_of_several_worker_processes_add_up(tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    done = subprocess.run([sys.executable, "-c", MULTIPROCESS, str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    samples = {}
    for family in text_string_to_metric_families(done.stdout):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    assert value(samples, "anjian_http_requests_total", method="GET", endpoint="health.healthz",
                 status="200") == 3
    assert len(list(metrics_dir.glob("*.db"))) >= 2  # one set of files per process
