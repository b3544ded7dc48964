"""The corpus of lists as bureaus send them (tests/intake_corpus): each file through the
HTTP import as a user would take it, against the outcome written by hand in
expected.toml.

For each file, in a tenant of its own (areas 梅李镇 meili, 海虞镇 haiyu, 古里镇 guli,
碧溪街道 bixi):

1. the plan without a mapping names the columns it cannot map (and refuses the real
   import until they are named);
2. the dry run with the file's mapping: sheet, header rows, every column, the rows
   counted, skipped and rejected, the enterprises it would create;
3. the import with that mapping agrees with the dry run on all of it, and stores what
   expected.toml says;
4. the same file again changes nothing.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from anjian.enterprises.models import SCALES, STATUSES, Enterprise
from anjian.extensions import db
from anjian.tenancy.models import Area
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer
from tests.test_enterprise_import import run, upload

CORPUS = Path(__file__).parent / "intake_corpus"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))
FILES = {case["name"]: case for case in EXPECTED["file"]}
AREAS = {"meili": "梅李镇", "haiyu": "海虞镇", "guli": "古里镇", "bixi": "碧溪街道"}
# The plan's parts that the dry run and the import must agree on.
AGREED = ("sheet", "header_rows", "columns", "ignored", "unmapped", "total", "blank_rows", "skipped",
          "rejected", "rejections", "created", "updated", "unchanged")


def test_the_corpus_has_the_shapes_the_issue_names():
    names = [*FILES, *(r["name"] for r in EXPECTED["refused"])]
    assert len(FILES) >= 12
    assert {Path(n).suffix for n in FILES} >= {".xlsx", ".xls", ".ods", ".csv"}
    for name in names:
        assert (CORPUS / "files" / name).is_file(), name


@pytest.fixture
def tenant(factory, request):
    code = f"corpus-{request.node.callspec.id[:2]}"
    tenant_id = factory.tenant(code, level="street")
    for area, name in AREAS.items():
        factory.area(tenant_id, area, name=name)
    _, admin = factory.user(f"{code}-admin", {tenant_id: "tenant_admin"})
    return {"id": tenant_id, "url": f"/api/v1/tenants/{code}/enterprise-imports", "admin": bearer(admin)}


def _options(case: dict, **more) -> dict:
    options = dict(more)
    if case.get("upload_sheet"):
        options["sheet"] = case["upload_sheet"]
    if case.get("mapping"):
        options["mapping"] = json.dumps(case["mapping"], ensure_ascii=False)
    return options


def _import(app, client, tenant, name: str, **options) -> dict:
    data = (CORPUS / "files" / name).read_bytes()
    job = run(app, client, tenant["admin"], data, name, url=tenant["url"], **options)
    assert job["status"] == "finished", job
    return job["result"]


def _stored(app, tenant_id: int) -> dict[str, dict]:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        areas = dict(db.session.execute(select(Area.id, Area.name)).all())
        out = {}
        for e in db.session.scalars(select(Enterprise)):
            values = {c.key: getattr(e, c.key) for c in Enterprise.__table__.columns}
            values["scale"], values["status"] = SCALES[e.scale], STATUSES[e.status]
            values["area"] = areas.get(e.area_id)
            out[e.credit_code] = values
        return out


@pytest.mark.parametrize("case", list(FILES.values()), ids=lambda case: case["name"])
def test_a_corpus_file_imports_as_written_by_hand(app, client, tenant, case):
    name = case["name"]
    if case.get("after"):
        _import(app, client, tenant, case["after"], **_options(FILES[case["after"]]))

    # 1. Without the mapping, the real import of a file with columns it cannot map is
    # refused: they are named, with suggestions, and nothing is written.
    if case["unmapped"]:
        plain = upload(client, tenant["admin"], (CORPUS / "files" / name).read_bytes(), name,
                       url=tenant["url"], **_options({**case, "mapping": None}))
        assert plain.status_code == 422, plain.json
        assert plain.json["errors"]["mapping"], plain.json
        unmapped = plain.json["plan"]["unmapped"]
        assert [c["header"] for c in unmapped] == case["unmapped"]
        assert all(header in plain.json["detail"] for header in case["unmapped"])
        for column in unmapped:
            if column["header"] in case["mapping"] and case["mapping"][column["header"]] != "ignore":
                assert case["mapping"][column["header"]] in [s["field"] for s in column["suggestions"]]

    # 2. The dry run with the mapping: the plan, against the hand-written outcome.
    plan = _import(app, client, tenant, name, **_options(case, dry_run=True))
    assert plan["sheet"] == case.get("sheet")
    assert plan["header_rows"] == case["header_rows"]
    assert {c["field"]: c["header"] for c in plan["columns"]} == case["columns"]
    assert plan["unmapped"] == []
    assert plan["total"] == case["total"]
    assert {s["row"]: s["reason"].split("：")[0] for s in plan["skipped"]} == {
        int(row): reason for row, reason in case["skipped"].items()}
    rejections = {r["row"]: r["message"] for r in plan["rejections"]}
    assert set(rejections) == {int(row) for row in case["rejected"]}, rejections
    for row, fragment in case["rejected"].items():
        assert fragment in rejections[int(row)], (row, rejections[int(row)])
    assert (plan["created"], plan["updated"], plan["unchanged"]) == (
        case["created"], case.get("updated", 0), case.get("unchanged", 0))
    assert plan["rejected"] == len(case["rejected"])
    assert all(w.endswith("未导入") for w in plan["warnings"] if "按映射忽略" in w)

    # 3. The import agrees with its plan, and stores what the lists say.
    before = _stored(app, tenant["id"])
    result = _import(app, client, tenant, name, **_options(case))
    assert {k: result[k] for k in AGREED} == {k: plan[k] for k in AGREED}
    stored = _stored(app, tenant["id"])
    assert len(stored) - len(before) == case["created"]
    for code, values in case.get("stored", {}).items():
        assert code in stored, code
        assert {k: stored[code][k] for k in values} == values, code
    ignored = [h for h, f in case["mapping"].items() if f == "ignore"]
    assert [w for w in result["warnings"] if "按映射忽略" in w] == [
        f"「{c['header']}」（{c['column']}列）按映射忽略，未导入" for c in result["ignored"] if c["header"] in ignored]
    assert len(ignored) == len([w for w in result["warnings"] if "按映射忽略" in w])

    # 4. Again: nothing changes.
    again = _import(app, client, tenant, name, **_options(case))
    assert (again["created"], again["updated"]) == (0, 0)
    assert again["unchanged"] == case["created"] + case.get("updated", 0) + case.get("unchanged", 0)
    assert _stored(app, tenant["id"]) == stored


@pytest.mark.parametrize("case", EXPECTED["refused"], ids=lambda case: case["name"])
def test_a_file_that_is_no_list_is_refused_with_what_to_do(app, client, factory, case):
    tenant_id = factory.tenant("corpus-refused", level="street")
    _, admin = factory.user("corpus-refused-admin", {tenant_id: "tenant_admin"})
    r = upload(client, bearer(admin), (CORPUS / "files" / case["name"]).read_bytes(), case["name"],
               url="/api/v1/tenants/corpus-refused/enterprise-imports")
    assert r.status_code in (415, 422), r.json
    assert r.mimetype == "application/problem+json"
    assert case["message"] in r.json["detail"], r.json["detail"]
