"""Export of the enterprise registry to .xlsx through a ``reports`` job (issue point 6;
RELIABILITY 16, 17): filters honoured, soft-deleted rows left out, formula injection
neutralised, downloads tenant-scoped and re-signed on demand."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import openpyxl
import pytest
from stdnum.cn import uscc

from anjian.jobs import embedded
from anjian.xlsx import neutralize
from tests.conftest import bearer

EXPORTS = "/api/v1/tenants/ex/enterprise-exports"
ENTERPRISES = "/api/v1/tenants/ex/enterprises"


def code(n: int) -> str:
    base = f"91320581MB{n:07d}"
    return base + uscc.calc_check_digit(base)


@pytest.fixture
def ex(factory, client):
    tenant = factory.tenant("ex")
    other = factory.tenant("ey")
    sector = factory.area(tenant, "sector", name="梅李片区")
    village = factory.area(tenant, "village", kind="village", parent_id=sector, name="赵市村")
    elsewhere = factory.area(tenant, "elsewhere", name="海虞片区")
    _, admin = factory.user("ex-admin", {tenant: "tenant_admin"})
    viewer_id, viewer = factory.user("ex-viewer", {tenant: "viewer"})
    _, ent_user = factory.user("ex-ent", {tenant: "enterprise"})
    _, other_admin = factory.user("ey-admin", {other: "tenant_admin"})
    world = {"tenant": tenant, "sector": sector, "village": village, "elsewhere": elsewhere,
             "admin": bearer(admin), "viewer": bearer(viewer), "viewer_id": viewer_id,
             "enterprise": bearer(ent_user), "other_admin": bearer(other_admin)}
    rows = [
        dict(credit_code=code(1), name='=HYPERLINK("http://x")', industry="机械",
             area_id=village, employees=12, dust_explosion=True, scale="micro",
             principal_phone="+86 512 1234"),
        dict(credit_code=code(2), name="+1", industry="机械", area_id=sector, employees=0),
        dict(credit_code=code(3), name="-2", industry="机械", area_id=sector),
        dict(credit_code=code(4), name="@SUM(A1)", industry="机械", area_id=village,
             address="=1+2", main_products="\t=cmd|' /C calc'!A0"),
        dict(credit_code=code(5), name="常熟某机械厂", industry="机械", area_id=sector,
             industry_code="C3411", above_quota=True, status="suspended"),
        dict(credit_code=code(6), name="其他行业企业", industry="化工", area_id=sector),
        dict(credit_code=code(7), name="别处机械厂", industry="机械", area_id=elsewhere),
        dict(credit_code=code(8), name="已删除机械厂", industry="机械", area_id=sector),
    ]
    ids = {}
    for row in rows:
        r = client.post(ENTERPRISES, json=row, headers=world["admin"])
        assert r.status_code == 201, r.json
        ids[row["credit_code"]] = r.json["id"]
    deleted = f"{ENTERPRISES}/{ids[code(8)]}"
    etag = client.get(deleted, headers=world["admin"]).headers["ETag"]
    assert client.delete(deleted, headers={**world["admin"], "If-Match": etag}).status_code == 204
    # The other tenant has a machine factory in an area of its own too.
    r = client.post("/api/v1/tenants/ey/enterprises", headers=world["other_admin"],
                    json={"credit_code": code(9), "name": "外租户机械厂", "industry": "机械"})
    assert r.status_code == 201
    return world


def export(app, client, headers, body):
    r = client.post(EXPORTS, json=body, headers=headers)
    assert r.status_code == 202, r.json
    assert r.json["kind"] == "enterprise_export" and r.json["queue"] == "reports"
    job_url = r.headers["Location"]
    assert embedded.drain(app)
    job = client.get(job_url, headers=headers).json
    assert job["status"] == "finished", job
    return job


def fetch(client, url):
    parts = urlsplit(url)
    with client.get(parts.path + ("?" + parts.query if parts.query else "")) as r:
        assert r.status_code == 200, r.data[:300]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "attachment" in r.headers["Content-Disposition"]
        data = r.data
    return openpyxl.load_workbook(io.BytesIO(data))


def sheet_rows(workbook):
    sheet = workbook.active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_export_honours_filters_and_neutralises_formulas(app, client, ex):
    job = export(app, client, ex["admin"], {"industry": "机械", "area_id": ex["sector"],
                                             "sort": "credit_code"})
    result = job["result"]
    assert result["rows"] == 5
    assert result["object_key"].startswith(f"tenants/{ex['tenant']}/reports/")
    assert result["filename"].startswith("企业台账_") and result["filename"].endswith(".xlsx")
    assert result["download_url_expires_in"] == 600
    assert job["counts"]["rows"] == 5

    workbook = fetch(client, result["download_url"])
    sheet = workbook.active
    assert sheet.title == "企业台账"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:")
    assert sheet.column_dimensions["B"].width > 20
    rows = sheet_rows(workbook)
    header = rows[0]
    for label in ("统一社会信用代码", "企业名称", "地址", "行业", "行业代码", "规模", "限上",
                  "从业人数", "粉尘涉爆", "所属区域", "状态"):
        assert label in header, label
    col = {label: i for i, label in enumerate(header)}
    data = rows[1:]
    # Area "梅李片区" and below, 机械 only, soft-deleted, 化工, other areas and tenants left out.
    assert [r[col["统一社会信用代码"]] for r in data] == [code(n) for n in (1, 2, 3, 4, 5)]
    names = [r[col["企业名称"]] for r in data]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "常熟某机械厂"]
    first, fourth, fifth = data[0], data[3], data[4]
    assert first[col["所属区域"]] == "赵市村" and fifth[col["所属区域"]] == "梅李片区"
    assert first[col["规模"]] == "小微" and first[col["粉尘涉爆"]] == "是"
    assert first[col["从业人数"]] == 12 and data[1][col["从业人数"]] == 0
    assert first[col["主要负责人电话"]] == "'+86 512 1234"
    assert fourth[col["地址"]] == "'=1+2"
    assert fourth[col["主要产品"]].startswith("'\t=cmd")
    assert fifth[col["状态"]] == "停产" and fifth[col["限上"]] == "是"
    assert fifth[col["行业代码"]] == "C3411"
    # Stored as text: no cell of the sheet is a formula.
    for row in workbook.active.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate


def test_download_route_redirects_to_a_fresh_url_and_is_tenant_scoped(app, client, ex):
    job = export(app, client, ex["admin"], {"q": "机械厂", "include_deleted": True})
    assert job["result"]["rows"] == 3  # 常熟某机械厂, 别处机械厂, 已删除机械厂
    link = f"{EXPORTS}/{job['id']}/download"
    assert job["result"]["download"] == link
    r = client.get(link, headers=ex["admin"])
    assert r.status_code == 302
    assert r.headers["Cache-Control"] == "private, no-store"
    fresh = r.headers["Location"]
    assert "/api/v1/files/" in fresh
    as_json = client.get(link, headers=ex["admin"], query_string={"redirect": "false"})
    assert as_json.status_code == 200 and as_json.json["expires_in"] == 600
    assert "/api/v1/files/" in as_json.json["url"]
    names = sorted(row[1] for row in sheet_rows(fetch(client, fresh))[1:])
    assert names == sorted(["常熟某机械厂", "别处机械厂", "已删除机械厂"])

    # Another tenant: its own URL and ours both answer 404, as for a missing job.
    foreign = client.get(f"/api/v1/tenants/ey/enterprise-exports/{job['id']}/download",
                         headers=ex["other_admin"])
    assert foreign.status_code == 404
    assert client.get(link, headers=ex["other_admin"]).status_code == 404
    missing = client.get(f"{EXPORTS}/{'0' * 32}/download", headers=ex["admin"])
    assert missing.status_code == 404
    # Roles outside the policy are refused; a viewer sees only exports they started.
    assert client.get(link, headers=ex["enterprise"]).status_code == 403
    assert client.get(link, headers=ex["viewer"]).status_code == 404
    # A token is signed for one tenant's key: tampering is 404.
    token_url = urlsplit(fresh).path
    assert client.get(token_url[:-3] + "abc").status_code == 404


def test_a_viewer_can_export_and_download_and_unfinished_is_409(app, client, ex):
    r = client.post(EXPORTS, json={}, headers=ex["viewer"])
    assert r.status_code == 202, r.json
    job_id = r.json["id"]
    link = f"{EXPORTS}/{job_id}/download"
    pending = client.get(link, headers=ex["viewer"])
    assert pending.status_code == 409
    assert pending.headers["Content-Type"] == "application/problem+json"
    assert embedded.drain(app)
    job = client.get(f"/api/v1/tenants/ex/jobs/{job_id}", headers=ex["viewer"]).json
    assert job["status"] == "finished" and job["actor_user_id"] == ex["viewer_id"]
    assert job["result"]["rows"] == 7  # every live row of the tenant, no other tenant's
    r = client.get(link, headers=ex["viewer"])
    assert r.status_code == 302
    rows = sheet_rows(fetch(client, r.headers["Location"]))
    assert len(rows) == 8
    # An enterprise user may not export; bad filters are refused before any job exists.
    assert client.post(EXPORTS, json={}, headers=ex["enterprise"]).status_code == 403
    bad = client.post(EXPORTS, json={"scale": "huge"}, headers=ex["viewer"])
    assert bad.status_code == 422


def test_an_empty_export_still_has_the_header(app, client, ex):
    job = export(app, client, ex["admin"], {"q": "不存在的企业"})
    assert job["result"]["rows"] == 0
    rows = sheet_rows(fetch(client, job["result"]["download_url"]))
    assert rows[0][0] == "统一社会信用代码" and len(rows) == 1


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("\0x", "'\0x"), ("常熟", "常熟"), ("a=b", "a=b"),
    ("", ""), (12, 12), (-3, -3), (None, None),
])
def test_neutralize(value, expected):
    assert neutralize(value) == expected
