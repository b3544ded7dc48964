"""The whole stack, for real: PostgreSQL, Redis, S3 (moto), gunicorn with 2 workers,
2 ``anjian worker`` processes and the scheduler, all native processes (tests/stack.py).

One stack for the module: a whole scenario over HTTP (tenant sync, users, an Excel
import, a campaign, an inspection raising a hazard, the hazard loop to verified, a
report downloaded from object storage), then the faults of RELIABILITY 18, 20, 21 and
14 (a worker killed mid-import, Redis stopped, PostgreSQL restarted, a body over the
limit), each restarting only what it breaks, and RELIABILITY 24 (every write of the
scenario audited). Every wait is bounded; a failure prints every process's log.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time

import pytest

from tests.stack import (
    XLSX,
    Stack,
    credit_code,
    enterprise_workbook,
    multipart_file,
    wait_for,
)

T = "/api/v1/tenants/stack"
PASSWORD = "a-long-password-42"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Jobs beat every second (ANJIAN_JOB_HEARTBEAT_SECONDS), the platform's reaper in every
# `anjian worker` runs every second and abandons a started job whose last beat is older than
# this: a live job is five beats clear of it.
HEARTBEAT = 1
STALE_AFTER = 5
UPLOAD_LIMIT = 4 * 1024 * 1024
SCENARIO_ROWS = 30
BIG_IMPORT_ROWS = 20_000

TENANT_TOML = """\
code = "stack"
name = "天津市河北区应急管理局"
level = "district"
division_code = "120105"
plugins = []

[[areas]]
code = "wanghailou"
name = "望海楼街道"
kind = "sector"
"""

# One stack for the module, its tests in order (the faults, then "still up"): under
# pytest-xdist the whole module runs on one worker (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("stack")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, postgres15_cluster, redis_url, redis_server, s3_endpoint):
    # On Debian's PostgreSQL 15, the oldest major supported (the rest of the suite: 18).
    st = Stack(folder=tmp_path_factory.mktemp("stack"), postgres_admin_url=postgres15_cluster.url(),
               redis_url=redis_url, s3=s3_endpoint, postgres_cluster=postgres15_cluster,
               redis_server=redis_server,
               worker_args=("--reap-interval", "1", "--stale-after", str(STALE_AFTER)),
               env={"ANJIAN_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
                    "ANJIAN_JOB_HEARTBEAT_SECONDS": str(HEARTBEAT)})
    try:
        st.prepare()
        st.start(workers=2, scheduler=True)
    except BaseException:
        print(st.explain())
        st.stop()
        raise
    yield st
    leftovers = st.stop()
    assert not leftovers, f"processes outlived their stop: {leftovers}"


@contextlib.contextmanager
def explained(stack: Stack):
    """On failure, print every process's log (pytest shows it with the failure)."""
    try:
        yield
    except BaseException:
        print(stack.explain())
        raise


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.text[:2000])
    return response.json() if response.content else None


def is_problem(response) -> bool:
    return response.headers.get("Content-Type", "").startswith("application/problem+json") \
        and response.json().get("status") == response.status_code


def wait_job(stack: Stack, token: str, url: str, timeout: float = 60,
             until=("finished", "failed", "abandoned")) -> dict:
    return wait_for(f"job {url} to be {'/'.join(until)}",
                    lambda: (job := ok(stack.request("GET", url, token)))["status"] in until
                    and job, timeout, 0.1, stack.explain)


def upload(stack: Stack, token: str, data: bytes, name: str, **form):
    return stack.request("POST", f"{T}/enterprise-imports", token,
                         files={"file": (name, data, XLSX)}, data=form, timeout=60)


def upload_chunked(stack: Stack, token: str, data: bytes, name: str):
    """The upload of ``upload`` as a chunked body: gunicorn hands it on with no length."""
    body, content_type = multipart_file(data, name)

    def chunks(size=256 * 1024):
        for at in range(0, len(body), size):
            yield body[at:at + size]

    return stack.request("POST", f"{T}/enterprise-imports", token, data=chunks(), timeout=60,
                         headers={"Content-Type": content_type})


def login(stack: Stack, username: str) -> str:
    return ok(stack.request("POST", "/api/v1/auth/login",
                            json={"username": username, "password": PASSWORD}), 201)["token"]


def member(stack: Stack, admin: str, username: str, role: str, **extra) -> str:
    ok(stack.request("POST", f"{T}/members", admin, json={
        "username": username, "role": role, "password": PASSWORD, **extra}), 201)
    return login(stack, username)


def etag(stack: Stack, url: str, token: str) -> str:
    return stack.request("GET", url, token).headers["ETag"]


def transition(stack: Stack, token: str, hazard_id: int, action: str, **body) -> dict:
    url = f"{T}/hazards/{hazard_id}"
    return ok(stack.request("POST", f"{url}/transitions", token,
                            headers={"If-Match": etag(stack, url, token)},
                            json={"action": action, **body}))


# --------------------------------------------------------------------------- the scenario


@pytest.fixture(scope="module")
def scenario(stack):
    """The whole scenario over HTTP, once; what the tests below look at."""
    with explained(stack):
        return run_scenario(stack)


def run_scenario(stack: Stack) -> dict:
    out = {}
    # --- the tenant from a folder of TOML files, the first admin ----------------------
    folder = stack.folder / "tenants"
    folder.mkdir(exist_ok=True)
    (folder / "stack.toml").write_text(TENANT_TOML, encoding="utf-8")
    synced = stack.cli("tenants", "sync", str(folder))
    assert "stack" in synced.stdout, synced.stdout
    boot = stack.cli("bootstrap")
    admin = next(w for w in boot.stdout.split() if w.startswith("ajt_"))
    assert ok(stack.request("GET", "/api/v1/me", admin))["username"] == "admin"

    # --- members through the API -------------------------------------------------------
    out["tenant_admin"] = member(stack, admin, "zhang-admin", "tenant_admin")
    supervisor = member(stack, admin, "li-supervisor", "supervisor")
    out["supervisor"] = supervisor

    # --- an Excel import, polled to its end ----------------------------------------------
    r = upload(stack, supervisor, enterprise_workbook(SCENARIO_ROWS), "企业台账.xlsx")
    body = ok(r, 202)
    assert r.headers["Location"].endswith(f"/jobs/{body['id']}")
    job = wait_job(stack, supervisor, r.headers["Location"])
    assert job["status"] == "finished", job
    assert job["result"]["created"] == SCENARIO_ROWS and job["result"]["rejected"] == 0, job
    out["import_job"] = job["id"]
    listed = ok(stack.request("GET", f"{T}/enterprises", supervisor,
                              params={"q": credit_code("91120105", 1)}))
    assert listed["total"] == 1
    ent_id = listed["items"][0]["id"]
    second = ok(stack.request("GET", f"{T}/enterprises", supervisor,
                              params={"q": credit_code("91120105", 2)}))["items"][0]["id"]
    owner = member(stack, admin, "boss-zhao", "enterprise", enterprise_id=ent_id)

    # --- checklist, campaign, targets --------------------------------------------------
    template = ok(stack.request("POST", f"{T}/checklist-templates", admin, json={
        "key": "fire", "title": "消防安全重点检查表", "items": [
            {"code": "F1", "text": "安全出口、疏散通道畅通", "category": "消防安全",
             "part": "onsite", "is_major_criterion": True},
            {"code": "F2", "text": "消防安全管理制度健全", "category": "消防安全",
             "part": "document"}]}), 201)
    items = {i["code"]: i["id"] for i in template["items"]}
    campaign = ok(stack.request("POST", f"{T}/campaigns", admin, json={
        "title": "重大事故隐患专项排查整治行动", "starts_on": "2026-05-01",
        "ends_on": "2026-12-31"}), 201)
    cid = campaign["id"]
    ok(stack.request("POST", f"{T}/campaigns/{cid}/status", admin, json={"status": "active"}))
    added = ok(stack.request("POST", f"{T}/campaigns/{cid}/targets", admin,
                             json={"enterprise_ids": [ent_id, second]}))
    assert added["added"] == 2

    # --- an inspection whose "no" raises a hazard ------------------------------------
    inspection = ok(stack.request("POST", f"{T}/inspections", supervisor, json={
        "enterprise_id": ent_id, "campaign_id": cid, "template_key": "fire"}), 201)
    iid = inspection["inspection"]["id"]
    answered = ok(stack.request("PUT", f"{T}/inspections/{iid}/results/{items['F1']}",
                                supervisor, json={"answer": "no", "note": "安全出口被货物堵塞",
                                                  "raise_hazard": {"location": "一层东侧"}}))
    hazard_id = answered["hazard_id"]
    ok(stack.request("PUT", f"{T}/inspections/{iid}/results/{items['F2']}", supervisor,
                     json={"answer": "yes"}))
    ok(stack.request("POST", f"{T}/inspections/{iid}/submit", supervisor, json={}))

    # --- the hazard loop to verified ---------------------------------------------------
    hazard = ok(stack.request("GET", f"{T}/hazards/{hazard_id}", owner))
    assert (hazard["grade"], hazard["state"]) == ("major", "reported")
    transition(stack, owner, hazard_id, "plan", responsible_person="赵经理",
               measures="清理通道货物", funds="3000.00", deadline_workdays=5,
               contingency_plan="专人值守")
    photo = ok(stack.request("POST", f"{T}/evidence", owner,
                             files={"file": ("整改后.png", PNG, "image/png")},
                             data={"enterprise_id": str(ent_id)}), 201)["id"]
    transition(stack, owner, hazard_id, "rectified", note="已清理", evidence_ids=[photo])
    verified = transition(stack, supervisor, hazard_id, "verify", note="复查合格，销号")
    assert verified["state"] == "verified"
    history = ok(stack.request("GET", f"{T}/hazards/{hazard_id}/history", owner))["items"]
    out["hazard_steps"] = [(e["from_state"], e["to_state"])
                           for e in sorted(history, key=lambda e: e["id"])]

    # --- a report, built by a worker, downloaded from object storage ----------------
    r = stack.request("POST", f"{T}/reports", supervisor, json={
        "kind": "campaign_progress", "format": "xlsx", "params": {"campaign_id": cid}})
    accepted = ok(r, 202)
    job = wait_job(stack, supervisor, r.headers["Location"])
    assert job["status"] == "finished", job
    report = ok(stack.request("GET", accepted["report_url"], supervisor))
    assert report["status"] == "ready", report
    link = stack.request("GET", report["download"], supervisor)
    assert link.status_code == 302, link.text
    assert link.headers["Location"].startswith(stack.s3["endpoint_url"])
    got = stack.request("GET", link.headers["Location"])
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    out["report_bytes"] = got.content
    out.update(admin=admin, owner=owner, campaign_id=cid, enterprise_id=ent_id,
               hazard_id=hazard_id, inspection_id=iid)
    return out


def test_whole_scenario_over_http(stack, scenario):
    import openpyxl

    with explained(stack):
        assert scenario["hazard_steps"] == [(None, "reported"), ("reported", "rectifying"),
                                            ("rectifying", "rectified"),
                                            ("rectified", "verified")]
        book = openpyxl.load_workbook(io.BytesIO(scenario["report_bytes"]), read_only=True)
        cells = {str(v) for row in book.active.iter_rows(values_only=True) for v in row
                 if v is not None}
        book.close()
        assert "重大事故隐患专项排查整治行动" in " ".join(cells)
        progress = ok(stack.request("GET", f"{T}/campaigns/{scenario['campaign_id']}/progress",
                                    scenario["supervisor"]))
        assert progress["targets"] == 2 and progress["inspected"] == 1
        assert progress["hazards"]["by_grade_state"]["major"]["verified"] == 1
        # The enterprise user sees its own enterprise only, over the real stack too.
        mine = ok(stack.request("GET", f"{T}/enterprises", scenario["owner"]))
        assert [e["id"] for e in mine["items"]] == [scenario["enterprise_id"]]
        # Every process is still up.
        assert all(p.alive for p in stack.processes()), stack.explain()


def test_every_write_in_the_scenario_is_audited(stack, scenario):
    """RELIABILITY 24: each row the scenario wrote has exactly one create audit row (bulk
    imports: one summary row per batch naming every credit code it created)."""
    import anjian.app  # noqa: F401 - maps every model (the app factory's module imports them all)
    from anjian.extensions import db
    from anjian.tenancy.scope import TenantOwned

    tenant_id = stack.owner_sql("SELECT id FROM tenants WHERE code = 'stack'")[0][0]
    checked = {}
    with explained(stack):
        for mapper in db.Model.registry.mappers:
            cls = mapper.class_
            if not getattr(cls, "__audit__", True) or len(mapper.primary_key) != 1:
                continue
            table, pk = mapper.local_table.name, mapper.primary_key[0].name
            if cls.__name__ == "Enterprise":
                continue  # imported in bulk: below
            if issubclass(cls, TenantOwned):
                where, params = "tenant_id = %s", (tenant_id,)
            elif table in ("users", "tenants"):  # not reference data seeded by migrations
                where, params = "true", ()
            else:
                continue
            ids = [str(r[0]) for r in stack.owner_sql(
                f"SELECT {pk} FROM {table} WHERE {where}", params)]
            if not ids:
                continue
            created = dict(stack.owner_sql(
                "SELECT entity_id, count(*) FROM audit_log WHERE action = %s "
                "AND entity_id = ANY(%s) GROUP BY entity_id",
                (f"{getattr(cls, '__audit_name__', cls.__name__.lower())}.create", ids)))
            wrong = {i: created.get(i, 0) for i in ids if created.get(i, 0) != 1}
            assert not wrong, (f"{table}: {len(wrong)} of {len(ids)} rows without exactly one "
                               f"create audit row: {dict(list(wrong.items())[:10])}")
            checked[table] = len(ids)
        assert {"campaigns", "campaign_targets", "inspections", "hazards", "hazard_events",
                "memberships", "users", "tenants", "jobs", "reports"} <= set(checked), checked

        batches = stack.owner_sql(
            "SELECT after FROM audit_log WHERE tenant_id = %s AND action = 'enterprise.import' "
            "AND entity_id = %s", (tenant_id, scenario["import_job"]))
        codes = [c for (after,) in batches for c in after["created"]]
        assert sorted(codes) == sorted(credit_code("91120105", n)
                                       for n in range(1, SCENARIO_ROWS + 1))
        # The hazard's updates and the inspection's answers are on record with their actor.
        hazard_updates = stack.owner_sql(
            "SELECT count(*), count(DISTINCT actor_user_id) FROM audit_log WHERE tenant_id = %s "
            "AND action = 'hazard.update' AND entity_id = %s",
            (tenant_id, str(scenario["hazard_id"])))[0]
        assert hazard_updates[0] >= 3 and hazard_updates[1] == 2, hazard_updates


# --------------------------------------------------------------------------- faults


def test_worker_killed_mid_import_then_retried_every_row_once(stack, scenario):
    """RELIABILITY 18: SIGKILL to a worker and its work horse in the middle of a 20,000-row
    import; the job is abandoned (never "started" for ever), retried, and every row
    exists exactly once."""
    admin = scenario["tenant_admin"]
    prefix = "91120106"
    with explained(stack):
        r = upload(stack, admin, enterprise_workbook(BIG_IMPORT_ROWS, prefix=prefix),
                   "两万家企业.xlsx")
        url = r.headers["Location"]
        job_id = ok(r, 202)["id"]

        def mid_import():
            # Between two batches: at least one of the four committed, one still to come.
            job = ok(stack.request("GET", url, admin))
            assert job["status"] in ("queued", "started") and job["progress_percent"] < 95, \
                f"the import got past its last batch before the test saw it: {job}"
            return job["status"] == "started" and job["progress_percent"] > 5 and job

        running = wait_for("the import to be under way", mid_import, 90, 0.02, stack.explain)
        rq_job_id = stack.owner_sql("SELECT rq_job_id FROM jobs WHERE id = %s", (job_id,))[0][0]
        victim = stack.worker_running(rq_job_id)
        killed = victim.kill()
        assert len(killed) >= 2, killed  # the worker and its work horse at least
        stack.workers.remove(victim)
        committed = stack.owner_sql(
            "SELECT count(*) FROM enterprises WHERE credit_code LIKE %s", (f"{prefix}%",))[0][0]
        assert 0 < committed < BIG_IMPORT_ROWS, committed

        # Nobody works on it any more: the other worker's reaper says so, in bounded time.
        killed_at = time.monotonic()
        job = wait_job(stack, admin, url, timeout=STALE_AFTER + 30, until=("abandoned",))
        assert job["error"] and job["finished_at"], job
        assert time.monotonic() - killed_at < STALE_AFTER + 30
        stack.start_worker()  # back to two workers
        stack.wait_workers()

        retried = stack.request("POST", f"{url}/retry", admin, json={"reason": "worker killed"})
        assert retried.status_code == 202, retried.text
        job = wait_job(stack, admin, url, timeout=120)
        assert job["status"] == "finished", job
        assert job["attempts"] == 2, job
        result = job["result"]
        assert result["rejected"] == 0, result
        assert result["created"] + result["updated"] + result["unchanged"] == BIG_IMPORT_ROWS
        total, distinct = stack.owner_sql(
            "SELECT count(*), count(DISTINCT credit_code) FROM enterprises "
            "WHERE credit_code LIKE %s", (f"{prefix}%",))[0]
        assert total == distinct == BIG_IMPORT_ROWS
        assert stack.owner_sql("SELECT count(*) FROM jobs WHERE status IN "
                               "('started', 'queued')")[0][0] == 0
        print(f"killed at {running['progress_percent']} % with {committed} rows committed; "
              f"retried: {result}")


def test_redis_down_reads_answer_submissions_refused_then_resumed(stack, scenario,
                                                                  redis_server):
    """RELIABILITY 20: reads answer without Redis; submitting work answers 503 with
    Retry-After and leaves no job row and no stored object; work resumes when Redis
    returns."""
    if redis_server is None:
        pytest.skip("ANJIAN_TEST_REDIS_URL names a server these tests cannot stop")
    admin = scenario["tenant_admin"]
    with explained(stack):
        jobs_before = stack.owner_sql("SELECT count(*) FROM jobs")[0][0]
        reports_before = stack.owner_sql("SELECT count(*) FROM reports")[0][0]
        keys_before = stack.bucket_keys()
        redis_server.stop()
        try:
            for path in (f"{T}/enterprises", f"{T}/hazards", f"{T}/campaigns",
                         f"{T}/jobs/{scenario['import_job']}"):
                r = stack.request("GET", path, admin, timeout=15)
                assert r.status_code == 200, (path, r.status_code, r.text[:500])
            refused = upload(stack, admin, enterprise_workbook(3, prefix="91120107"),
                             "无队列.xlsx")
            assert refused.status_code == 503 and is_problem(refused), refused.text
            assert int(refused.headers["Retry-After"]) > 0
            report = stack.request("POST", f"{T}/reports", admin, json={
                "kind": "campaign_progress", "format": "json",
                "params": {"campaign_id": scenario["campaign_id"]}})
            assert report.status_code == 503 and is_problem(report), report.text
            assert stack.owner_sql("SELECT count(*) FROM jobs")[0][0] == jobs_before
            assert stack.owner_sql("SELECT count(*) FROM reports")[0][0] == reports_before
            assert stack.bucket_keys() == keys_before
        finally:
            error = redis_server.start()
            assert not error, error

        r = upload(stack, admin, enterprise_workbook(3, prefix="91120107"), "队列恢复.xlsx")
        ok(r, 202)
        job = wait_job(stack, admin, r.headers["Location"], timeout=90)
        assert job["status"] == "finished" and job["result"]["created"] == 3, job
        assert all(w.alive for w in stack.workers), stack.explain()  # they waited for Redis
        # So did the scheduler: the Redis that came back has lost its data, the lock
        # with it, and the same scheduler process takes it again (at its next heartbeat
        # or retry; wait_scheduler fails if the process exited).
        stack.wait_scheduler(timeout=30)

        def both_registered():  # and the workers are in RQ's registry again (metrics)
            from rq import Worker

            with stack.redis() as conn:
                return Worker.count(connection=conn) == 2
        wait_for("both workers registered again", both_registered, 30, 0.2, stack.explain)


def test_postgres_restart_under_requests_fails_cleanly_then_recovers(stack, scenario):
    """RELIABILITY 21: `pg_ctl restart -m fast` under a trickle of requests: each answer
    is a 200 or a clean 5xx problem+json within a bound, and the requests after it
    succeed (idle connections are pinged, dead ones replaced); a background job runs
    after it too."""
    token = scenario["supervisor"]
    bound = 15.0
    seen: list[tuple[float, float, int, bool]] = []
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            started = time.monotonic()
            try:
                r = stack.request("GET", f"{T}/enterprises", token, params={"per_page": 5},
                                  timeout=bound + 5)
                seen.append((started, time.monotonic() - started, r.status_code,
                             r.status_code == 200 or is_problem(r)))
            except Exception:  # a hang or a dropped connection is a failure too
                seen.append((started, time.monotonic() - started, 0, False))
            time.sleep(0.02)

    with explained(stack):
        worker = threading.Thread(target=trickle, daemon=True)
        worker.start()
        try:
            time.sleep(0.5)
            restarted_at = time.monotonic()
            stack.restart_postgres()
            back_at = time.monotonic()
            time.sleep(2.0)
        finally:
            stop.set()
            worker.join(bound + 10)
        assert not worker.is_alive()
        statuses = [s for _, _, s, _ in seen]
        assert all(clean for *_, clean in seen), seen
        # A request caught by the restart is 503 with Retry-After, never a bare 500.
        assert set(statuses) <= {200, 503}, statuses
        assert max(d for _, d, _, _ in seen) < bound, seen
        before = [s for t, d, s, _ in seen if t + d < restarted_at]  # answered before it
        after = [s for t, _, s, _ in seen if t > back_at + 0.5]
        assert before and set(before) == {200}, before
        assert len(after) >= 5 and set(after) == {200}, after
        print(f"restart took {back_at - restarted_at:.2f} s; answers: "
              f"{ {s: statuses.count(s) for s in set(statuses)} }")

        # Writes and the workers' database connections recover too.
        created = ok(stack.request("POST", f"{T}/enterprises", token, json={
            "credit_code": credit_code("91120108", 1), "name": "重启后新建企业"}), 201)
        assert created["id"]
        r = upload(stack, token, enterprise_workbook(2, prefix="91120109"), "重启后.xlsx")
        job = wait_job(stack, token, ok(r, 202)["url"], timeout=60)
        assert job["status"] == "finished", job


def test_body_over_the_limit_is_413_and_the_worker_is_unharmed(stack, scenario):
    """RELIABILITY 14: a body over ANJIAN_MAX_UPLOAD_BYTES answers 413 problem+json; the
    same gunicorn workers go on answering."""
    token = scenario["supervisor"]
    with explained(stack):
        workers = stack.web_workers()
        assert len(workers) == 2
        log_at = stack.web.log.stat().st_size
        big = b"PK\x03\x04" + b"\x00" * (UPLOAD_LIMIT + 1024 * 1024)
        for _ in range(3):
            r = upload(stack, token, big, "太大了.xlsx")
            assert r.status_code == 413 and is_problem(r), (r.status_code, r.text[:500])
        for _ in range(2):  # the same body without Content-Length (Transfer-Encoding: chunked)
            r = upload_chunked(stack, token, big, "太大了.xlsx")
            assert r.status_code == 413 and is_problem(r), (r.status_code, r.text[:500])
        for _ in range(6):
            ok(stack.request("GET", f"{T}/enterprises", token, params={"per_page": 1}))
        assert stack.web_workers() == workers  # no worker died or was replaced
        with open(stack.web.log, "rb") as log:
            log.seek(log_at)
            since = log.read().decode(errors="replace")
        for sign in ("WORKER TIMEOUT", "Worker exiting", "Booting worker", "Traceback"):
            assert sign not in since, since[-3000:]


def test_every_process_is_still_up_after_the_faults(stack):
    """No fault above took a process down with it (the scheduler and the workers ride
    out a Redis restart, gunicorn a PostgreSQL restart)."""
    with explained(stack):
        assert stack.web.alive and len(stack.web_workers()) == 2
        assert stack.scheduler.alive
        assert len([w for w in stack.workers if w.alive]) == 2
        assert stack.request("GET", "/readyz").status_code == 200
