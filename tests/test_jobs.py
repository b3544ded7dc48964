"""Background jobs: the wrapper, the jobs table, the API (RELIABILITY 7, 18, 19, 20).

The job functions below are registered at import; a worker subprocess finds them
through ANJIAN_JOB_MODULES=tests.test_jobs.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask_smorest import Blueprint
from sqlalchemy import func, select, update

from anjian.api.policy import ALL_TENANT_ROLES, requires
from anjian.extensions import db
from anjian.jobs import embedded
from anjian.jobs.api import JobSchema, accepted
from anjian.jobs.models import Job
from anjian.jobs.queues import QUEUE_NAMES, connection
from anjian.jobs.service import JobError, enqueue, job_function, reap_abandoned
from anjian.tenancy.models import Area, Tenant
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- job kinds

EVENTS: dict[str, threading.Event] = {}
FLAKY = {"fail": True}

# The app of its own: its world adds a blueprint of test routes.
pytestmark = pytest.mark.own_app


@job_function("test.echo")
def echo(ctx):
    ctx.progress(50, seen=1)
    ctx.progress(90, seen=2, skipped=0)
    return {"echo": ctx.params, "tenant_id": ctx.tenant_id, "actor": ctx.actor_user_id}


@job_function("test.wait", queue="reports")
def wait(ctx):
    ctx.progress(50, done=1)
    if not EVENTS[ctx.params["event"]].wait(20):
        raise RuntimeError("never released")
    return {"released": True}


@job_function("test.flaky", queue="imports")
def flaky(ctx):
    if FLAKY["fail"]:
        raise JobError("导入失败：第 3 行企业名称为空", "ValueError: row 3 name empty")
    return {"attempt": ctx.attempt}


@job_function("test.areas")
def list_areas(ctx):
    return {"codes": sorted(db.session.scalars(select(Area.code)))}


# A route that starts a job, as an import endpoint would.
starter = Blueprint("test_jobs_starter", __name__, url_prefix="/api/v1/tenants/<tenant_code>")


@starter.route("/test-jobs/<kind>", methods=["POST"])
@starter.response(202, JobSchema)
@requires(*ALL_TENANT_ROLES)
def start_job(tenant_code, kind):
    from flask import request

    job = enqueue(kind, request.get_json(silent=True) or {})
    db.session.commit()
    return accepted(job)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def world(app, factory):
    app.extensions["anjian.api"].register_blueprint(starter)
    a = factory.tenant("ja")
    b = factory.tenant("jb")
    factory.area(a, "a-one")
    factory.area(b, "b-one")
    admin_id, admin = factory.user("ja-admin", {a: "tenant_admin"})
    _, sup = factory.user("ja-sup", {a: "supervisor"})
    viewer_id, viewer = factory.user("ja-viewer", {a: "viewer"})
    _, other_viewer = factory.user("ja-viewer2", {a: "viewer"})
    _, b_admin = factory.user("jb-admin", {b: "tenant_admin"})
    FLAKY["fail"] = True
    yield {"a": a, "b": b, "admin": bearer(admin), "admin_id": admin_id, "sup": bearer(sup),
           "viewer": bearer(viewer), "viewer_id": viewer_id, "other_viewer": bearer(other_viewer),
           "b_admin": bearer(b_admin)}
    embedded.stop(app)


def start(client, headers, kind, params=None, tenant="ja"):
    return client.post(f"/api/v1/tenants/{tenant}/test-jobs/{kind}", json=params or {},
                       headers=headers)


def row(app, tenant_id, job_id) -> Job | None:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        job = db.session.get(Job, job_id)
        if job is not None:
            db.session.expunge(job)
        return job


def queued_in_redis(app) -> int:
    from rq import Queue

    return sum(Queue(n, connection=connection(app)).count for n in QUEUE_NAMES)


def poll(client, url, headers, until, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.json
        if until(r.json) or time.monotonic() > deadline:
            return r.json
        time.sleep(0.05)


# --------------------------------------------------------------------------- tests


def test_enqueue_answers_202_then_the_job_finishes_with_result_and_counts(app, client, world):
    r = start(client, world["admin"], "test.echo", {"file": "企业.xlsx"})
    assert r.status_code == 202, r.json
    url = r.headers["Location"]
    assert url == f"/api/v1/tenants/ja/jobs/{r.json['id']}" == r.json["url"]
    assert r.json["status"] == "queued" and r.json["queue"] == "default"
    assert client.get(url, headers=world["admin"]).json["status"] == "queued"

    assert embedded.drain(app)
    body = client.get(url, headers=world["admin"]).json
    assert body["status"] == "finished" and body["status_label"] == "已完成"
    assert body["progress_percent"] == 100
    assert body["counts"] == {"seen": 2, "skipped": 0}
    assert body["result"] == {"echo": {"file": "企业.xlsx"}, "tenant_id": world["a"],
                              "actor": world["admin_id"]}
    assert body["attempts"] == 1 and body["error"] is None
    assert body["started_at"] and body["finished_at"]

    listed = client.get("/api/v1/tenants/ja/jobs?status=finished&kind=test.echo",
                        headers=world["sup"]).json
    assert [j["id"] for j in listed["items"]] == [body["id"]] and listed["total"] == 1
    assert client.get("/api/v1/tenants/ja/jobs?status=queued", headers=world["sup"]).json[
        "total"] == 0
    # Running it again (a duplicate delivery) changes nothing.
    from anjian.jobs.runner import run_job

    with app.app_context():
        assert run_job(body["id"], world["a"]) == {"status": "finished", "skipped": True}


def test_progress_is_visible_while_the_job_runs(app, client, world):
    EVENTS["mid"] = threading.Event()
    embedded.start(app)
    r = start(client, world["admin"], "test.wait", {"event": "mid"})
    assert r.status_code == 202
    url = r.headers["Location"]
    mid = poll(client, url, world["admin"], lambda j: j["progress_percent"] == 50)
    assert mid["status"] == "started" and mid["counts"] == {"done": 1}
    EVENTS["mid"].set()
    done = poll(client, url, world["admin"], lambda j: j["status"] == "finished")
    assert done["status"] == "finished" and done["result"] == {"released": True}


def test_a_failed_job_is_listed_and_a_tenant_admin_retries_it(app, client, world):
    r = start(client, world["admin"], "test.flaky")
    url = r.headers["Location"]
    embedded.drain(app)
    failed = client.get(url, headers=world["admin"]).json
    assert failed["status"] == "failed"
    assert failed["error"].startswith("导入失败：第 3 行企业名称为空")
    assert "ValueError" in failed["error"].splitlines()[1]
    listed = client.get("/api/v1/tenants/ja/jobs?status=failed", headers=world["admin"]).json
    assert [j["id"] for j in listed["items"]] == [failed["id"]]

    denied = client.post(f"{url}/retry", headers=world["sup"])
    assert denied.status_code == 403
    FLAKY["fail"] = False
    again = client.post(f"{url}/retry", headers=world["admin"])
    assert again.status_code == 202 and again.headers["Location"] == url
    assert again.json["status"] == "queued" and again.json["error"] is None
    conflict = client.post(f"{url}/retry", headers=world["admin"])
    assert conflict.status_code == 409
    assert conflict.headers["Content-Type"] == "application/problem+json"
    embedded.drain(app)
    done = client.get(url, headers=world["admin"]).json
    assert done["status"] == "finished" and done["attempts"] == 2
    assert done["result"] == {"attempt": 2}
    assert client.post(f"{url}/retry", headers=world["admin"]).status_code == 409


def test_jobs_of_other_tenants_and_of_other_users_are_not_found(app, client, world):
    r = start(client, world["viewer"], "test.echo")
    assert r.status_code == 202
    job_id = r.json["id"]
    assert client.get(f"/api/v1/tenants/ja/jobs/{job_id}", headers=world["viewer"]).status_code \
        == 200
    assert client.get(f"/api/v1/tenants/ja/jobs/{job_id}",
                      headers=world["other_viewer"]).status_code == 404
    assert client.get(f"/api/v1/tenants/ja/jobs/{job_id}", headers=world["sup"]).status_code \
        == 200
    foreign = client.get(f"/api/v1/tenants/jb/jobs/{job_id}", headers=world["b_admin"])
    assert foreign.status_code == 404
    assert client.post(f"/api/v1/tenants/jb/jobs/{job_id}/retry",
                       headers=world["b_admin"]).status_code == 404
    assert client.get("/api/v1/tenants/jb/jobs", headers=world["b_admin"]).json["total"] == 0
    assert client.get("/api/v1/tenants/ja/jobs", headers=world["viewer"]).status_code == 403


def test_a_rolled_back_transaction_enqueues_nothing(app, world):
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"], world["admin_id"])):
        job = enqueue("test.echo", {"n": 1})
        job_id = job.id
        assert queued_in_redis(app) == 0  # not before the commit
        db.session.rollback()
        assert queued_in_redis(app) == 0
        assert db.session.scalar(select(Job).where(Job.id == job_id)) is None
        db.session.commit()  # a later commit does not resurrect it
        assert queued_in_redis(app) == 0

        kept = enqueue("test.echo", {"n": 2})
        db.session.commit()
        assert queued_in_redis(app) == 1
        kept_id = kept.id
    embedded.drain(app)
    assert row(app, world["a"], kept_id).status == "finished"
    assert row(app, world["a"], job_id) is None


def test_each_job_on_one_worker_sees_only_its_own_tenant(app, client, world):
    ra = start(client, world["admin"], "test.areas")
    rb = start(client, world["b_admin"], "test.areas", tenant="jb")
    assert ra.status_code == rb.status_code == 202
    embedded.drain(app)  # one worker, both jobs, in turn
    assert row(app, world["a"], ra.json["id"]).result == {"codes": ["a-one"]}
    assert row(app, world["b"], rb.json["id"]).result == {"codes": ["b-one"]}


def test_a_job_of_an_inactive_tenant_fails_cleanly(app, client, world):
    r = start(client, world["admin"], "test.echo")
    with app.app_context(), scoped(db.session, Scope.platform_scope()):
        db.session.get(Tenant, world["a"]).is_active = False
        db.session.commit()
    embedded.drain(app)
    job = row(app, world["a"], r.json["id"])
    assert job.status == "failed" and "租户已停用" in job.error and job.result is None


def test_a_job_left_started_by_a_dead_worker_is_marked_abandoned(app, client, world):
    r = start(client, world["admin"], "test.echo")
    job_id = r.json["id"]
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        db.session.execute(update(Job).where(Job.id == job_id).values(
            status="started", started_at=old, heartbeat_at=old))
        db.session.commit()
    assert reap_abandoned(app)["abandoned"] == 1
    body = client.get(r.headers["Location"], headers=world["admin"]).json
    assert body["status"] == "abandoned" and body["error"].startswith("任务中断")
    assert client.post(f"{r.headers['Location']}/retry", headers=world["admin"]).status_code == 202
    embedded.drain(app)
    assert client.get(r.headers["Location"], headers=world["admin"]).json["status"] == "finished"


def test_redis_down_answers_503_and_leaves_no_job(app, client, world):
    app.config["ANJIAN_REDIS_URL"] = "redis://127.0.0.1:1/0"
    r = start(client, world["admin"], "test.echo")
    assert r.status_code == 503
    assert r.headers["Content-Type"] == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    assert r.json["type"].endswith("queue-unavailable")
    listed = client.get("/api/v1/tenants/ja/jobs", headers=world["admin"])  # reads still answer
    assert listed.status_code == 200 and listed.json["total"] == 0


def test_a_tenant_over_its_share_of_open_jobs_gets_429_and_others_do_not(app, client, world,
                                                                         redis_url):
    """RELIABILITY 25: one tenant's burst queues behind its own work. Over
    ANJIAN_JOBS_OPEN_PER_TENANT queued or running jobs, a request's job answers 429
    with Retry-After and leaves nothing behind; other tenants are not affected; once
    the tenant's jobs are done it may submit again."""
    app.config["ANJIAN_REDIS_URL"] = redis_url
    app.config["ANJIAN_JOBS_OPEN_PER_TENANT"] = 2
    connection(app).flushdb()
    for n in range(2):
        assert start(client, world["admin"], "test.echo", {"n": n}).status_code == 202
    r = start(client, world["sup"], "test.echo", {"n": 2})
    assert r.status_code == 429
    assert r.headers["Content-Type"] == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    assert r.json["type"].endswith("too-many-jobs") and "2" in r.json["detail"]
    assert queued_in_redis(app) == 2
    listed = client.get("/api/v1/tenants/ja/jobs", headers=world["admin"]).json
    assert listed["total"] == 2  # the refused one left no row
    assert start(client, world["b_admin"], "test.echo", tenant="jb").status_code == 202
    assert embedded.drain(app)
    assert start(client, world["admin"], "test.echo", {"n": 3}).status_code == 202
    app.config["ANJIAN_JOBS_OPEN_PER_TENANT"] = 0  # 0: no limit
    assert all(start(client, world["admin"], "test.echo").status_code == 202 for _ in range(3))


def test_two_submissions_at_once_cannot_both_take_the_last_place(app, world, monkeypatch):
    """The share is counted under a lock per tenant: two submissions that both count before
    either has written its job would each see room for one more; with the lock the
    second counts after the first has committed, and gets its 429."""
    import threading

    from anjian.jobs import service

    app.config["ANJIAN_JOBS_OPEN_PER_TENANT"] = 1
    counted = threading.Barrier(2)
    check = service._check_share

    def check_then_meet(*args, **kwargs):
        check(*args, **kwargs)
        try:  # without the lock both get here before either writes its job
            counted.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(service, "_check_share", check_then_meet)
    statuses = []

    def submit(n):
        statuses.append(start(app.test_client(), world["admin"], "test.echo",
                              {"n": n}).status_code)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [202, 429]
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1


def test_every_route_that_answers_202_declares_the_queue_refusals(client):
    """The OpenAPI of every route that queues a job (202) names its 503, and every route
    that starts a new one (not a retry) its 429."""
    spec = client.get("/api/openapi.json").json
    starting = {(path, method): op["responses"] for path, ops in spec["paths"].items()
                for method, op in ops.items()
                if isinstance(op, dict) and "202" in op.get("responses", {})}
    assert len(starting) >= 3
    for (path, method), responses in starting.items():
        wanted = {"503"} if path.endswith("/retry") else {"429", "503"}
        assert wanted <= set(responses), (method, path)


def test_real_redis_with_a_simple_worker_in_this_process(app, client, world, redis_url):
    app.config["ANJIAN_REDIS_URL"] = redis_url
    connection(app).flushdb()
    r = start(client, world["admin"], "test.echo", {"via": "redis"})
    assert r.status_code == 202
    assert queued_in_redis(app) == 1
    assert embedded.drain(app)
    body = client.get(r.headers["Location"], headers=world["admin"]).json
    assert body["status"] == "finished" and body["result"]["echo"] == {"via": "redis"}


def test_a_worker_registers_again_when_redis_lost_its_registry(app, redis_url):
    """A Redis restarted without its data forgets which workers there are: RQ's own
    heartbeat does not bring a worker back (the metric's worker count stays 0); anjian's
    worker registers again at its next heartbeat, with its queues."""
    from rq import Queue, Worker

    from anjian.jobs.queues import RegisteredWorker

    app.config["ANJIAN_REDIS_URL"] = redis_url
    conn = connection(app)
    conn.flushdb()
    queues = [Queue(name, connection=conn) for name in QUEUE_NAMES]
    ours, plain = RegisteredWorker(queues, connection=conn), Worker(queues, connection=conn)
    ours.register_birth()
    plain.register_birth()
    assert Worker.count(connection=conn) == 2
    conn.flushdb()  # what a restart without persistence leaves
    ours.heartbeat()
    plain.heartbeat()
    assert [w.name for w in Worker.all(connection=conn)] == [ours.name]
    assert Worker.count(queue=queues[0]) == 1
    [found] = Worker.all(connection=conn)
    assert found.queue_names() == list(QUEUE_NAMES)
    ours.heartbeat()  # registered: nothing more to do
    assert Worker.count(connection=conn) == 1
    ours.register_death()
    plain.register_death()


def test_real_redis_with_anjian_worker_in_a_subprocess(app, client, world, redis_url, tmp_path):
    """``anjian worker --burst`` (here as ``python -m anjian.cli``) runs the queued jobs."""
    app.config["ANJIAN_REDIS_URL"] = redis_url
    connection(app).flushdb()
    r = start(client, world["admin"], "test.echo", {"via": "anjian worker"})
    areas = start(client, world["b_admin"], "test.areas", tenant="jb")
    assert r.status_code == areas.status_code == 202
    with app.app_context():
        db.session.remove()
    env = {**os.environ, "ANJIAN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "ANJIAN_REDIS_URL": redis_url, "ANJIAN_DATA_DIR": str(tmp_path),
           "ANJIAN_JOB_MODULES": "tests.test_jobs", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "anjian.cli", "worker", "--burst"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=45)
    assert done.returncode == 0, done.stderr[-3000:]
    body = client.get(r.headers["Location"], headers=world["admin"]).json
    assert body["status"] == "finished", (body, done.stderr[-3000:])
    assert body["result"]["echo"] == {"via": "anjian worker"}
    assert row(app, world["b"], areas.json["id"]).result == {"codes": ["b-one"]}
    assert queued_in_redis(app) == 0
