"""The platform admins' job view: every tenant's jobs through an explicit read scope, retry."""

from __future__ import annotations

from sqlalchemy import select

from anjian.audit.models import AuditEntry
from anjian.extensions import db
from anjian.jobs import embedded
from anjian.jobs.models import Job
from anjian.jobs.service import JobError, enqueue, job_function
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

BROKEN = {"fail": True}


@job_function("test.admin_flaky", queue="imports")
def admin_flaky(ctx):
    if BROKEN["fail"]:
        raise JobError("导入失败：文件无法读取", "ValueError: broken file")
    return {"attempt": ctx.attempt}


@job_function("test.admin_ok")
def admin_ok(ctx):
    return {"ok": True}


def _start(app, tenant_id, kind) -> str:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        job = enqueue(kind, {"n": 1})
        db.session.commit()
        return job.id


def _job(app, tenant_id, job_id) -> Job:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def _world(app, factory):
    BROKEN["fail"] = True
    a = factory.tenant("adm-a", name="甲区")
    b = factory.tenant("adm-b", name="乙区")
    c = factory.tenant("adm-c", name="丙区")
    root_id, root = factory.user("adm-root", platform_admin=True)
    _, a_admin = factory.user("adm-a-admin", {a: "tenant_admin"})
    failed_a = _start(app, a, "test.admin_flaky")
    failed_b = _start(app, b, "test.admin_flaky")
    done_c = _start(app, c, "test.admin_ok")
    embedded.drain(app)
    return {"a": a, "b": b, "c": c, "root": bearer(root), "root_id": root_id,
            "a_admin": bearer(a_admin),
            "failed_a": failed_a, "failed_b": failed_b, "done_c": done_c}


def test_platform_admin_sees_failed_jobs_of_every_tenant_and_retries_one(app, client, factory):
    w = _world(app, factory)

    everything = client.get("/api/v1/admin/jobs", headers=w["root"])
    assert everything.status_code == 200, everything.json
    assert everything.json["total"] == 3

    failed = client.get("/api/v1/admin/jobs?status=failed", headers=w["root"]).json
    assert failed["total"] == 2
    by_id = {item["id"]: item for item in failed["items"]}
    assert set(by_id) == {w["failed_a"], w["failed_b"]}
    assert by_id[w["failed_a"]]["tenant_code"] == "adm-a"
    assert by_id[w["failed_b"]]["tenant_name"] == "乙区"
    assert by_id[w["failed_b"]]["error"].startswith("导入失败：文件无法读取")
    # Each job links to its tenant's own job resource.
    assert by_id[w["failed_a"]]["url"] == f"/api/v1/tenants/adm-a/jobs/{w['failed_a']}"

    only_b = client.get("/api/v1/admin/jobs?tenant=adm-b", headers=w["root"]).json
    assert [item["id"] for item in only_b["items"]] == [w["failed_b"]]
    by_kind = client.get("/api/v1/admin/jobs?kind=test.admin_ok", headers=w["root"]).json
    assert [item["id"] for item in by_kind["items"]] == [w["done_c"]]
    paged = client.get("/api/v1/admin/jobs?per_page=2&page=2", headers=w["root"]).json
    assert (paged["total"], len(paged["items"])) == (3, 1)
    assert client.get("/api/v1/admin/jobs?tenant=nowhere", headers=w["root"]).status_code == 404

    BROKEN["fail"] = False
    retried = client.post(f"/api/v1/admin/jobs/{w['failed_b']}/retry", json={"reason": "已修复"},
                          headers=w["root"])
    assert retried.status_code == 202, retried.json
    assert retried.headers["Location"].endswith(f"/api/v1/tenants/adm-b/jobs/{w['failed_b']}")
    assert _job(app, w["b"], w["failed_b"]).status == "queued"
    embedded.drain(app)
    job = _job(app, w["b"], w["failed_b"])
    assert (job.status, job.attempts, job.result) == ("finished", 2, {"attempt": 2})
    assert _job(app, w["a"], w["failed_a"]).status == "failed"  # the other one is untouched

    # The retry is on record in the job's tenant, by the platform admin.
    with app.app_context(), scoped(db.session, Scope.tenant(w["b"])):
        retries = db.session.execute(select(AuditEntry.actor_user_id, AuditEntry.after).where(
            AuditEntry.action == "job.update", AuditEntry.entity_id == w["failed_b"],
            AuditEntry.actor_user_id.is_not(None))).all()
    assert [(actor, after["status"]) for actor, after in retries] == [(w["root_id"], "queued")]

    # A finished job is not retried again.
    again = client.post(f"/api/v1/admin/jobs/{w['failed_b']}/retry", headers=w["root"])
    assert again.status_code == 409
    assert client.post("/api/v1/admin/jobs/nosuchjob/retry",
                       headers=w["root"]).status_code == 404


def test_a_tenant_admin_is_refused(app, client, factory):
    w = _world(app, factory)
    listed = client.get("/api/v1/admin/jobs", headers=w["a_admin"])
    assert listed.status_code == 403
    assert listed.headers["Content-Type"].startswith("application/problem+json")
    # Not even its own tenant's failed job, through the platform route.
    retry = client.post(f"/api/v1/admin/jobs/{w['failed_a']}/retry", headers=w["a_admin"])
    assert retry.status_code == 403
    assert _job(app, w["a"], w["failed_a"]).status == "failed"
    assert client.get("/api/v1/admin/jobs").status_code == 401
