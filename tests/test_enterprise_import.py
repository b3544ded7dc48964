"""Importing the enterprise registry: xlsx and GB18030 CSV, upsert by credit code, bad input."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import func, select
from stdnum.cn import uscc
from werkzeug.test import EnvironBuilder

from anjian.audit.models import AuditEntry
from anjian.clock import utcnow
from anjian.context import Context
from anjian.enterprises.importing import run as import_run
from anjian.enterprises.importing import writing
from anjian.enterprises.importing.planning import SCOPED, load_existing
from anjian.enterprises.importing.profiles import CORE_HEADERS
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.jobs import embedded
from anjian.storage.backends import XLSX
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

URL = "/api/v1/tenants/imp/enterprise-imports"
HEADERS = list(CORE_HEADERS.values())


def code(n: int) -> str:
    base = f"91320581MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def bad_check_digit(n: int) -> str:
    good = code(n)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def xlsx(rows, headers=HEADERS) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("名单")
    ws.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    book.close()
    return buffer.getvalue()


def row(n, name=None, **fields):
    """A template row as a list, in HEADERS order, from field names."""
    values = {"credit_code": code(n), "name": name or f"企业{n}", **fields}
    return [values.get(f) for f in CORE_HEADERS]


@pytest.fixture
def world(factory):
    a = factory.tenant("imp")
    b = factory.tenant("imp-b")
    area = factory.area(a, "meili")
    factory.area(b, "b-only")
    admin_id, admin = factory.user("imp-admin", {a: "tenant_admin"})
    _, sup = factory.user("imp-sup", {a: "supervisor"})
    _, viewer = factory.user("imp-viewer", {a: "viewer"})
    _, b_admin = factory.user("imp-b-admin", {b: "tenant_admin"})
    return {"a": a, "b": b, "area": area, "admin": bearer(admin), "sup": bearer(sup),
            "viewer": bearer(viewer), "b_admin": bearer(b_admin), "admin_id": admin_id}


def upload(client, headers, data, name="企业名单.xlsx", url=URL, **form):
    body = {"file": (io.BytesIO(data), name),
            **{k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}}
    builder = EnvironBuilder(path=url, method="POST", data=body, headers=headers,
                             content_type="multipart/form-data")
    environ = builder.get_environ()
    try:  # the builder spools a large body to a temporary file: close it
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def run(app, client, headers, data, name="企业名单.xlsx", url=URL, **form):
    r = upload(client, headers, data, name, url=url, **form)
    assert r.status_code == 202, r.get_json()
    assert r.headers["Location"] == r.json["url"]
    embedded.drain(app)
    job = client.get(r.headers["Location"], headers=headers).json
    return job


def fetch(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200
    data = response.data
    response.close()
    return data


def enterprises(app, tenant_id):
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        rows = db.session.scalars(select(Enterprise).order_by(Enterprise.credit_code)).all()
        return [{c: getattr(e, c) for c in ("credit_code", "name", "scale", "employees",
                                             "dust_explosion", "above_quota", "area_id",
                                             "contact_phone", "updated_at", "deleted_at")}
                for e in rows]


def audit_count(app, tenant_id):
    """Audit rows about enterprises (a job's own rows are audited too)."""
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("enterprise%")))


def test_template_is_a_real_workbook_with_bold_headers_and_lists(client, world):
    r = client.get(f"{URL}/template", headers=world["sup"])
    assert r.status_code == 200 and r.mimetype == XLSX
    assert "attachment" in r.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    ws = book.worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws["A1"].font.b and ws["B1"].font.b
    assert ws.column_dimensions["A"].width >= 20
    sources = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert '"是,否"' in sources and '"规上,规下,小微"' in sources
    assert client.get(f"{URL}/template", headers=world["viewer"]).status_code == 403


def test_profiles_list_the_core_template(client, world):
    r = client.get(f"{URL}/profiles", headers=world["admin"])
    assert r.status_code == 200
    core = next(p for p in r.json if p["key"] == "core")
    fields = {f["name"]: f for f in core["fields"]}
    assert fields["credit_code"]["label"] == "统一社会信用代码" and fields["credit_code"]["required"]
    assert fields["area_code"]["label"] == "所属区域(区域代码)"
    assert "注册地址" in fields["address"]["aliases"] and "员工数" in fields["employees"]["aliases"]


def test_import_creates_updates_and_rejects_with_a_downloadable_report(app, client, world):
    # An existing enterprise (through the API, so it has an audit trail) to be updated.
    r = client.post("/api/v1/tenants/imp/enterprises", headers=world["admin"],
                    json={"credit_code": code(2), "name": "旧名称", "employees": 5})
    assert r.status_code == 201
    r = client.post("/api/v1/tenants/imp/enterprises", headers=world["admin"],
                    json={"credit_code": code(3), "name": "不变企业"})
    rows = [
        row(1, scale="规上", employees=120.0, dust_explosion="是", above_quota="√",
            area_code="meili", contact_phone=13800138000, industry="机械", industry_code="C3411"),
        row(2, name="新名称", employees=6, dust_explosion="N"),
        row(3, name="不变企业"),
        [bad_check_digit(4), "校验位错"] + [None] * (len(HEADERS) - 2),
        row(5, employees="十二"),
        row(6, area_code="nowhere"),
        row(7, scale="特大"),
        [code(8), ""] + [None] * (len(HEADERS) - 3) + ["在营"],
    ]
    job = run(app, client, world["sup"], xlsx(rows))
    assert job["status"] == "finished", job
    result = job["result"]
    assert (result["created"], result["updated"], result["unchanged"], result["rejected"]) == (
        1, 1, 1, 5)
    stored = {e["credit_code"]: e for e in enterprises(app, world["a"])}
    assert stored[code(1)]["scale"] == "above" and stored[code(1)]["employees"] == 120
    assert stored[code(1)]["dust_explosion"] is True and stored[code(1)]["above_quota"] is True
    assert stored[code(1)]["area_id"] == world["area"]
    assert stored[code(1)]["contact_phone"] == "13800138000"
    assert stored[code(2)]["name"] == "新名称" and stored[code(2)]["employees"] == 6
    assert code(5) not in stored and code(6) not in stored

    # The rejected rows: a tenant-scoped, short-lived download of a real workbook.
    link = client.get(f"{URL}/{job['id']}/rejected", headers=world["admin"])
    assert link.status_code == 200, link.json
    ws = openpyxl.load_workbook(io.BytesIO(fetch(client, link.json["url"]))).worksheets[0]
    lines = [[c.value for c in r] for r in ws.iter_rows()]
    assert lines[0][:4] == ["行号", "列", "原因", "统一社会信用代码"]
    reasons = {line[0]: (line[1], line[2]) for line in lines[1:]}
    assert set(reasons) == {5, 6, 7, 8, 9}
    assert reasons[5][0] == "统一社会信用代码" and "校验位" in reasons[5][1]
    assert reasons[6][0] == "从业人数" and "须为整数" in reasons[6][1]
    assert reasons[7][0] == "所属区域(区域代码)" and "不存在" in reasons[7][1]
    assert reasons[8][0] == "规模" and "规上" in reasons[8][1]
    assert reasons[9][0] == "企业名称" and "不能为空" in reasons[9][1]
    # Another tenant cannot see the job nor its rejected rows.
    assert client.get(f"/api/v1/tenants/imp-b/jobs/{job['id']}",
                      headers=world["b_admin"]).status_code == 404
    assert client.get(f"/api/v1/tenants/imp-b/enterprise-imports/{job['id']}/rejected",
                      headers=world["b_admin"]).status_code == 404
    assert client.get(f"/api/v1/tenants/imp/jobs/{job['id']}",
                      headers=world["b_admin"]).status_code == 404

    # The same file again: nothing changes, not even the audit log.
    before, audits = enterprises(app, world["a"]), audit_count(app, world["a"])
    again = run(app, client, world["sup"], xlsx(rows))["result"]
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (
        0, 0, 3, 5)
    assert enterprises(app, world["a"]) == before
    assert audit_count(app, world["a"]) == audits


def test_gb18030_csv_and_the_dry_run(app, client, world):
    lines = [",".join(["统一社会信用代码", "企业名称", "规模", "粉尘涉爆", "从业人数"]),
             f"{code(11)},常熟某纺织厂,小微,1,30",
             f"{code(12)},常熟某化工厂,规下,0,8"]
    data = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    audits = audit_count(app, world["a"])
    dry = run(app, client, world["admin"], data, "名单.csv", dry_run=True)
    assert dry["status"] == "finished", dry
    assert dry["result"]["dry_run"] is True and dry["result"]["created"] == 2
    assert [c["action"] for c in dry["result"]["changes"]] == ["create", "create"]
    assert enterprises(app, world["a"]) == []
    assert audit_count(app, world["a"]) == audits

    job = run(app, client, world["admin"], data, "名单.csv")
    assert job["result"]["created"] == 2 and job["result"]["rejected"] == 0
    assert job["result"]["rejected_rows_key"] is None
    stored = {e["credit_code"]: e for e in enterprises(app, world["a"])}
    assert stored[code(11)]["scale"] == "micro" and stored[code(11)]["dust_explosion"] is True
    assert stored[code(12)]["employees"] == 8
    assert client.get(f"{URL}/{job['id']}/rejected", headers=world["admin"]).status_code == 404

    # A dry run of a change lists it, field by field, and writes nothing.
    changed = data.replace(b",30", b",31")
    dry = run(app, client, world["admin"], changed, "名单.csv", dry_run=True)["result"]
    assert (dry["created"], dry["updated"], dry["unchanged"]) == (0, 1, 1)
    assert dry["changes"][0]["changes"] == {"employees": [30, 31]}
    assert {e["credit_code"]: e["employees"] for e in enterprises(app, world["a"])}[
        code(11)] == 30


def test_a_code_on_several_rows_is_imported_from_its_first_row(app, client, world):
    rows = [row(21, name="甲"), row(22), row(21, name="乙")]
    job = run(app, client, world["admin"], xlsx(rows))
    result = job["result"]
    assert (result["created"], result["rejected"]) == (2, 1)
    stored = {e["credit_code"]: e["name"] for e in enterprises(app, world["a"])}
    assert stored == {code(21): "甲", code(22): "企业22"}
    url = client.get(f"{URL}/{job['id']}/rejected", headers=world["admin"]).json["url"]
    ws = openpyxl.load_workbook(io.BytesIO(fetch(client, url))).worksheets[0]
    lines = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [line[0] for line in lines] == [4]
    assert lines[0][1] == "统一社会信用代码" and "与第2行重复" in lines[0][2]


@pytest.mark.parametrize(("data", "name", "status", "message"), [
    (xlsx([row(1)], headers=["企业名称", "地址"]), "a.xlsx", 422, "统一社会信用代码"),
    (xlsx([row(1)], headers=["统一社会信用代码", "地址"]), "a.xlsx", 422, "企业名称"),
    (xlsx([]), "a.xlsx", 422, "没有数据行"),
    (b"", "a.xlsx", 422, "文件为空"),
    (b"", "a.csv", 422, "文件为空"),
    ("统一社会信用代码,企业名称\r\n".encode("gb18030"), "a.csv", 422, "没有数据行"),
    (b"%PDF-1.4 not a spreadsheet", "a.xlsx", 415, "不符"),
    (b"MZ\x90\x00\x03", "a.csv", 415, "不符"),
    (b"hello", "a.docx", 415, "不支持"),
])
def test_bad_files_are_refused_at_once_and_nothing_is_written(app, client, world, data, name,
                                                              status, message):
    r = upload(client, world["admin"], data, name)
    assert r.status_code == status, r.get_json()
    assert r.mimetype == "application/problem+json"
    assert message in r.json["detail"]
    assert client.get("/api/v1/tenants/imp/jobs", headers=world["admin"]).json["total"] == 0
    assert enterprises(app, world["a"]) == []


def test_zip_bomb_and_external_entities_are_refused(app, client, world):
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", b"\0" * (600 * 1024 * 1024))
    r = upload(client, world["admin"], bomb.getvalue(), "bomb.xlsx")
    assert r.status_code == 415 and "压缩炸弹" in r.json["detail"]

    # An external entity inside a sheet: calamine does not resolve entities; the row is
    # read as text or the file refused, and nothing from outside ends up stored.
    data = xlsx([row(31)])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/sharedStrings.xml":
                body = body.replace(b"<sst ", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><sst ', 1)
            dst.writestr(info, body)
    r = upload(client, world["admin"], out.getvalue(), "xxe.xlsx")
    if r.status_code == 202:
        embedded.drain(app)
    for e in enterprises(app, world["a"]):
        assert "root:" not in e["name"]


def test_file_over_the_size_limit_is_413(app, client, world):
    app.config["ANJIAN_STORAGE_MAX_BYTES"] = {"imports": 2048}
    app.extensions.pop("anjian.storage", None)
    r = upload(client, world["admin"], xlsx([row(n) for n in range(1, 400)]))
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    app.config["MAX_CONTENT_LENGTH"] = 1024
    r = upload(client, world["admin"], b"x" * 4096, "big.csv")
    assert r.status_code == 413
    assert enterprises(app, world["a"]) == []


def test_an_upload_refused_by_the_queue_leaves_no_stored_file(app, client, world, tmp_path):
    """A 429 (the tenant's share of open jobs is used up) or a 503 (Redis down) after the
    file was stored: the file is removed again, no job row is left, and the tenant's
    queued import is untouched."""
    from pathlib import Path
    from urllib.parse import urlsplit

    folder = Path(urlsplit(app.config["ANJIAN_STORAGE_URL"]).path)

    def stored():
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []

    app.config["ANJIAN_JOBS_OPEN_PER_TENANT"] = 1
    data = xlsx([row(1), row(2)])
    assert upload(client, world["admin"], data).status_code == 202  # queued, not run
    kept = stored()
    assert kept  # the queued import's file (and its metadata)
    r = upload(client, world["sup"], data)
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    assert stored() == kept
    app.config["ANJIAN_JOBS_OPEN_PER_TENANT"] = 0
    app.config["ANJIAN_REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    assert upload(client, world["admin"], data).status_code == 503
    assert stored() == kept
    assert client.get("/api/v1/tenants/imp/jobs", headers=world["admin"]).json["total"] == 1


def test_viewers_cannot_import_and_unknown_profile_is_422(client, world):
    assert upload(client, world["viewer"], xlsx([row(1)])).status_code == 403
    r = upload(client, world["admin"], xlsx([row(1)]), profile="nope")
    assert r.status_code == 422 and "nope" in r.json["detail"]


def test_a_job_killed_after_its_first_batch_leaves_every_row_once_after_retry(
        app, client, world, monkeypatch):
    monkeypatch.setattr(import_run, "BATCH_SIZE", 3)
    rows = [row(n) for n in range(41, 49)]  # 8 rows: batches of 3, 3, 2
    real_audit = writing.audit_batch
    calls = {"n": 0}

    def dying_audit(*args, **kwargs):
        real_audit(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch is written but never committed
            raise RuntimeError("worker killed")

    monkeypatch.setattr(writing, "audit_batch", dying_audit)
    r = upload(client, world["admin"], xlsx(rows))
    embedded.drain(app)
    job = client.get(r.headers["Location"], headers=world["admin"]).json
    assert job["status"] == "failed"
    assert len(enterprises(app, world["a"])) == 3  # batch 1 committed, batch 2 rolled back
    assert job["counts"]["batch"] == 1
    assert job["counts"]["checkpoint"]["batch"] == 1

    monkeypatch.setattr(writing, "audit_batch", real_audit)
    retried = client.post(f"/api/v1/tenants/imp/jobs/{job['id']}/retry", json={},
                          headers=world["admin"])
    assert retried.status_code == 202
    embedded.drain(app)
    job = client.get(r.headers["Location"], headers=world["admin"]).json
    assert job["status"] == "finished"
    stored = [e["credit_code"] for e in enterprises(app, world["a"])]
    assert sorted(stored) == sorted(code(n) for n in range(41, 49))
    result = job["result"]
    # The retry kept the checkpoint: batch 1 is not written again, nothing counts as
    # "unchanged" and the created count covers every row.
    assert result["created"] == 8 and result["unchanged"] == 0 and result["rejected"] == 0


def test_a_redelivered_job_continues_after_its_checkpoint(app, world, monkeypatch):
    """RQ delivering a job again after the worker died: committed batches are skipped."""
    from anjian.jobs.models import Job
    from anjian.jobs.service import enqueue
    from anjian.storage.service import storage_for

    monkeypatch.setattr(import_run, "BATCH_SIZE", 2)
    data = xlsx([row(n) for n in range(51, 56)])
    with app.test_request_context(), scoped(db.session, Scope.tenant(world["a"])):
        obj = storage_for(app).put(world["a"], "imports", data, XLSX, "x.xlsx")
        job = enqueue("enterprise_import", {"object_key": obj.key,
                                            "content_type": obj.content_type})
        job_id = job.id
        # As if a first delivery had committed batch 1 (rows 51, 52), then died.
        job.status = "started"
        job.counts = {"batch": 1, "created": 2, "updated": 0, "unchanged": 0}
        db.session.commit()
    embedded.drain(app)  # the queued RQ job runs: it finds the job "started" and runs it
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        job = db.session.get(Job, job_id)
        assert job.status == "finished", job.error
        assert job.result["created"] == 5  # 2 carried over + 3 new
    assert [e["credit_code"] for e in enterprises(app, world["a"])] == [
        code(n) for n in range(53, 56)]


def test_a_code_is_a_duplicate_only_when_two_valid_rows_give_it(app, client, world):
    """Codes on several rows are decided among the valid rows only, after normalising: an
    invalid first row does not make the next valid one a duplicate."""
    spaced = code(62)[:6] + " " + code(62)[6:].lower()  # the same code as written by hand
    rows = [row(61, employees="十二"), row(61), row(62, name="甲"), row(63),
            [spaced, "乙"] + [None] * (len(HEADERS) - 2)]
    job = run(app, client, world["admin"], xlsx(rows))
    result = job["result"]
    assert (result["created"], result["rejected"]) == (3, 2), result
    assert [e["credit_code"] for e in enterprises(app, world["a"])] == [code(61), code(62), code(63)]
    url = client.get(f"{URL}/{job['id']}/rejected", headers=world["admin"]).json["url"]
    ws = openpyxl.load_workbook(io.BytesIO(fetch(client, url))).worksheets[0]
    lines = {line[0]: line for line in ws.iter_rows(min_row=2, values_only=True)}
    assert set(lines) == {2, 6}
    assert lines[2][1] == "从业人数"
    assert "与第4行重复" in lines[6][2]


def test_remembered_cell_values_keep_booleans_and_numbers_apart(app, client, world):
    # 1 (a number) and TRUE (an Excel boolean) are equal keys in a Python dict.
    rows = [row(71, employees=1, dust_explosion=1), row(72, employees=True, dust_explosion=True),
            row(73, employees=1.0, dust_explosion="否")]
    job = run(app, client, world["admin"], xlsx(rows))
    assert (job["result"]["created"], job["result"]["rejected"]) == (2, 1), job["result"]
    stored = {e["credit_code"]: e for e in enterprises(app, world["a"])}
    assert stored[code(71)]["employees"] == 1 and stored[code(71)]["dust_explosion"] is True
    assert stored[code(73)]["employees"] == 1 and stored[code(73)]["dust_explosion"] is False
    assert code(72) not in stored


def test_many_updates_are_staged_and_restore_deleted_enterprises(app, client, world,
                                                                  monkeypatch):
    """A batch's updates are staged with COPY (here from 1 update)."""
    monkeypatch.setattr(writing, "COPY_UPDATES_FROM", 1)
    monkeypatch.setattr(import_run, "BATCH_SIZE", 2)
    first = [row(n, employees=n, contact_phone="0512-1") for n in range(81, 86)]
    assert run(app, client, world["admin"], xlsx(first))["result"]["created"] == 5
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        gone = db.session.scalars(select(Enterprise).where(Enterprise.credit_code == code(83)))
        gone.one().deleted_at = utcnow()
        db.session.commit()
    before = {e["credit_code"]: e for e in enterprises(app, world["a"])}
    audits = audit_count(app, world["a"])

    # Names change on 81, 82; employees on 84; 83 comes back unchanged; 85 is unchanged.
    # The file has no contact phone column: the stored phones stay.
    headers = ["统一社会信用代码", "企业名称", "从业人数"]
    second = [[code(81), "新81", 81], [code(82), "新82", 82], [code(83), "企业83", 83],
              [code(84), "企业84", 40], [code(85), "企业85", 85]]
    result = run(app, client, world["admin"], xlsx(second, headers=headers))["result"]
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 4, 1), result
    after = {e["credit_code"]: e for e in enterprises(app, world["a"])}
    assert [after[code(n)]["name"] for n in range(81, 86)] == [
        "新81", "新82", "企业83", "企业84", "企业85"]
    assert after[code(84)]["employees"] == 40 and after[code(81)]["employees"] == 81
    assert all(e["deleted_at"] is None and e["contact_phone"] == "0512-1"
               for e in after.values())
    assert after[code(85)]["updated_at"] == before[code(85)]["updated_at"]
    assert all(after[code(n)]["updated_at"] > before[code(n)]["updated_at"] for n in (81, 83))
    assert audit_count(app, world["a"]) == audits + 2  # (81, 82), (83, 84); (85) changed nothing

    # Another tenant's enterprise with the same code is neither read nor written.
    with app.app_context(), scoped(db.session, Scope.tenant(world["b"])):
        assert db.session.scalars(select(Enterprise)).all() == []


def test_lookups_are_planned_with_their_own_codes(app, world):
    """PostgreSQL: the per-batch lookup is never a prepared statement (see load_existing).

    psycopg prepares a statement from its 5th run; PostgreSQL's generic plan for it then
    scanned all of the tenant's rows against a list of parameters: seconds per batch.
    """
    from sqlalchemy import text

    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        writing._insert_rows(world["a"], [{"credit_code": code(n), "name": f"企业{n}"}
                                            for n in range(91, 99)], utcnow())
        for n in range(91, 99):
            found = load_existing(Context(world["a"], None), [code(n), code(n + 100)], ("name",))
            assert list(found) == [code(n)] and found[code(n)]["name"] == f"企业{n}"
            assert set(found[code(n)]) == {"id", "credit_code", "deleted_at", "name"}
        prepared = db.session.execute(text("SELECT statement FROM pg_prepared_statements"),
                                      execution_options=SCOPED).scalars().all()
        assert not [s for s in prepared if "credit_code" in s], prepared
        db.session.rollback()
    with app.app_context(), scoped(db.session, Scope.tenant(world["b"])):
        assert load_existing(Context(world["b"], None), [code(91)]) == {}


# --- plugin fields -------------------------------------------------------------------------

JINBEI = "/api/v1/tenants/imp-jb/enterprise-imports"


@pytest.fixture
def jinbei(factory):
    tenant = factory.tenant("imp-jb", plugins=["anjian_jinbei"], level="street")
    _, admin = factory.user("imp-jb-admin", {tenant: "tenant_admin"})
    return {"id": tenant, "admin": bearer(admin)}


def extras(app, tenant_id) -> dict:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        return {e.credit_code: e.extra for e in db.session.scalars(select(Enterprise))}


@pytest.mark.parametrize("staged", [False, True])
def test_plugin_fields_are_columns_of_the_tenants_import(app, client, jinbei, monkeypatch,
                                                         staged):
    """A tenant's plugin fields (锦北: 职业病危害风险等级, 大型市场, ...) are columns of its
    template and its imports, under their labels: converted as the API stores them,
    rejected with the row and the column, merged into what is stored (a blank cell or a
    missing column changes nothing); a tenant without the plugin ignores the column."""
    if staged:  # the updates are staged with COPY from the first one
        monkeypatch.setattr(writing, "COPY_UPDATES_FROM", 1)
    template = client.get(f"{JINBEI}/template", headers=jinbei["admin"])
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    header = [c.value for c in book["企业名单"][1]]
    assert "职业病危害风险等级" in str([c.value for c in book["填写说明"]["A"]])
    lists = {re.match(r"[A-Z]+", next(iter(dv.sqref.ranges)).coord).group(): dv.formula1
             for dv in book["企业名单"].data_validations.dataValidation}
    first = len(HEADERS)  # the plugin columns follow the core ones: U, V, ...
    letters = [openpyxl.utils.get_column_letter(first + n) for n in range(1, 6)]
    assert [lists.get(letter) for letter in letters] == [
        '"一般,较重,严重"', '"是,否"', '"是,否"', '"是,否"', '"是,否"']
    profiles = client.get(f"{JINBEI}/profiles", headers=jinbei["admin"]).json
    core = {f["label"]: f["name"] for f in next(p for p in profiles if p["key"] == "core")["fields"]}
    assert core["职业病危害风险等级"] == "extra.occupational_hazard_level"
    assert core["统一社会信用代码"] == "credit_code"
    assert header[:len(HEADERS)] == HEADERS
    assert header[len(HEADERS):] == ["职业病危害风险等级", "自身安全生产管理能力不足",
                                     "出租厂房等涉及多租赁户的主体", "大型市场",
                                     "存在重大事故隐患并被列为政府挂牌督办"]

    headers = ["统一社会信用代码", "企业名称", "职业病危害风险等级", "大型市场"]
    first = [[code(1), "锦北一厂", "较重", "是"], [code(2), "锦北二厂", None, "否"],
             [code(3), "锦北三厂", "很严重", "是"], [code(4), "锦北四厂", "一般", "也许"]]
    job = run(app, client, jinbei["admin"], xlsx(first, headers=headers), url=JINBEI)
    result = job["result"]
    assert (result["created"], result["rejected"]) == (2, 2), result
    assert extras(app, jinbei["id"]) == {
        code(1): {"occupational_hazard_level": "较重", "large_market": True},
        code(2): {"large_market": False}}
    link = client.get(f"{JINBEI}/{job['id']}/rejected", headers=jinbei["admin"]).json["url"]
    ws = openpyxl.load_workbook(io.BytesIO(fetch(client, link))).worksheets[0]
    reasons = {line[0]: (line[1], line[2]) for line in ws.iter_rows(min_row=2, values_only=True)}
    assert reasons[4] == ("职业病危害风险等级", "职业病危害风险等级：须为 一般、较重、严重 之一，而不是「很严重」")
    assert reasons[5][0] == "大型市场" and "是/否" in reasons[5][1]

    # Again: 1 gets a new level (its large_market stays), 2 nothing new (a blank cell),
    # 3 is created now; a file without the plugin columns leaves extra alone.
    second = [[code(1), "锦北一厂", "严重", None], [code(2), "锦北二厂", None, None],
              [code(3), "锦北三厂", "一般", "是"]]
    result = run(app, client, jinbei["admin"], xlsx(second, headers=headers),
                 url=JINBEI)["result"]
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 1, 1), result
    assert extras(app, jinbei["id"]) == {
        code(1): {"occupational_hazard_level": "严重", "large_market": True},
        code(2): {"large_market": False},
        code(3): {"occupational_hazard_level": "一般", "large_market": True}}
    result = run(app, client, jinbei["admin"],
                 xlsx([[code(1), "锦北一厂改名"]], headers=headers[:2]), url=JINBEI)["result"]
    assert result["updated"] == 1
    assert extras(app, jinbei["id"])[code(1)] == {"occupational_hazard_level": "严重",
                                                  "large_market": True}
    # The API reads what the import stored.
    listed = client.get("/api/v1/tenants/imp-jb/enterprises", headers=jinbei["admin"]).json
    assert {e["credit_code"]: e["extra"] for e in listed["items"]}[code(3)] == {
        "occupational_hazard_level": "一般", "large_market": True}


def test_plugin_columns_are_ignored_where_the_plugin_is_not_enabled(app, client, world):
    headers = ["统一社会信用代码", "企业名称", "职业病危害风险等级"]
    data = xlsx([[code(9), "普通企业", "较重"]], headers=headers)
    refused = upload(client, world["admin"], data)  # not a column of this tenant: it must be told
    assert refused.status_code == 422 and "职业病危害风险等级" in refused.json["detail"]
    assert refused.json["plan"]["unmapped"][0]["header"] == "职业病危害风险等级"
    job = run(app, client, world["admin"], data, mapping='{"职业病危害风险等级": "ignore"}')
    assert job["result"]["created"] == 1
    assert job["result"]["warnings"][0] == "「职业病危害风险等级」（C列）按映射忽略，未导入"
    assert extras(app, world["a"]) == {code(9): {}}


def test_plugin_date_and_number_columns_take_spreadsheet_cells(app, client, factory):
    """秦皇岛's 摸底排查日期 (a Date) and 持证特种作业人员数量 (an Integer): a date cell or
    2022-08-01 text is stored as the API stores a date; a number cell as an integer."""
    tenant = factory.tenant("imp-qhd", plugins=["anjian_qinhuangdao"], level="zone")
    _, admin = factory.user("imp-qhd-admin", {tenant: "tenant_admin"})
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("名单")
    ws.write_row(0, 0, ["统一社会信用代码", "企业名称", "摸底排查日期", "持证特种作业人员数量"])
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(1, 0, [code(21), "秦皇岛一厂"])
    ws.write_datetime(1, 2, dt.datetime(2022, 8, 1), date)
    ws.write_number(1, 3, 4)
    ws.write_row(2, 0, [code(22), "秦皇岛二厂", "2022-08-02", "3"])
    ws.write_row(3, 0, [code(23), "秦皇岛三厂", "八月", -1])
    book.close()
    job = run(app, client, bearer(admin), buffer.getvalue(),
              url="/api/v1/tenants/imp-qhd/enterprise-imports")
    assert (job["result"]["created"], job["result"]["rejected"]) == (2, 1), job["result"]
    assert extras(app, tenant) == {
        code(21): {"qhd_survey_on": "2022-08-01", "qhd_certified_special_workers": 4},
        code(22): {"qhd_survey_on": "2022-08-02", "qhd_certified_special_workers": 3}}


def test_a_plugins_everyday_names_are_known_to_its_tenants_imports_only(app, client, factory, world):
    """秦皇岛's profile (the annex 2022年社会化服务企业名单) names columns its own way: the
    zone's imports map them, with dates written as offices write them; a tenant without
    the plugin is told which columns it cannot map."""
    tenant = factory.tenant("imp-qhd2", plugins=["anjian_qinhuangdao"], level="zone")
    _, admin = factory.user("imp-qhd2-admin", {tenant: "tenant_admin"})
    url = "/api/v1/tenants/imp-qhd2/enterprise-imports"
    profiles = client.get(f"{url}/profiles", headers=bearer(admin)).json
    service = next(p for p in profiles if p["key"] == "qhd_service_list")
    assert (service["title"], service["plugin"]) == ("2022年社会化服务企业名单", "anjian_qinhuangdao")
    names = {f["name"]: f["aliases"] for f in service["fields"]}
    assert "服务对象企业" in names["name"] and "排查日期" in names["extra.qhd_survey_on"]
    data = xlsx([[code(31), "秦皇岛服务一厂", "2022年6月1日", "4人"],
                 [code(32), "秦皇岛服务二厂", "2022.6.2", 3]],
                headers=["统一社会信用代码", "服务对象企业", "排查日期", "持证特种作业人数"])
    for profile in ("core", "qhd_service_list"):
        job = run(app, client, bearer(admin), data, url=url, profile=profile)
        assert job["status"] == "finished", job
    assert [c["field"] for c in job["result"]["columns"]] == [
        "credit_code", "name", "extra.qhd_survey_on", "extra.qhd_certified_special_workers"]
    assert extras(app, tenant) == {
        code(31): {"qhd_survey_on": "2022-06-01", "qhd_certified_special_workers": 4},
        code(32): {"qhd_survey_on": "2022-06-02", "qhd_certified_special_workers": 3}}

    refused = upload(client, world["admin"], data)  # 测试租户imp has no such plugin
    assert refused.status_code == 422
    assert "缺少必需的列：企业名称" in refused.json["detail"] and "服务对象企业" in refused.json["detail"]
    assert client.get(f"{URL}/profiles", headers=world["admin"]).json[-1]["key"] == "core"
