"""API conventions (DESIGN "API conventions", RELIABILITY 14, 23): OpenAPI, local docs,
problem+json errors in Chinese, body limits, pagination, request ids, health, ETags."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.conftest import bearer

PROBLEM = "application/problem+json"


def _assert_problem(r, status, slug=None):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == PROBLEM
    body = r.json
    assert body["status"] == status
    assert body["type"].startswith("urn:anjian:problem:")
    if slug:
        assert body["type"] == f"urn:anjian:problem:{slug}"
    assert re.search(r"[\u4e00-\u9fff]", body["title"]), body["title"]  # Chinese
    assert body["instance"] == r.request.path
    assert body["request_id"] == r.headers["X-Request-ID"]
    return body


@pytest.fixture
def admin(factory):
    tid = factory.tenant("ta")
    _, token = factory.user("admin", {tid: "tenant_admin"})
    return {"tenant_id": tid, "token": token, "headers": bearer(token)}


# --- OpenAPI and the docs page ----------------------------------------------------------

def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_openapi_lists_every_route_with_response_schemas(app, client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    spec = json.loads(r.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "API 令牌 (ajt_...)"}
    assert spec["security"] == [{"bearer": []}]

    api = app.extensions["anjian.api"]
    ours = {name for name in api._app.blueprints} - {"api-docs", "docs_assets"}
    assert {"auth", "tenants", "audit", "health"} <= ours
    expected = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ours:
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                expected.add((_openapi_path(rule.rule), method.lower()))
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops
                  if method in {"get", "post", "put", "patch", "delete"}}
    assert expected and expected <= documented, expected - documented

    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            success = {code: resp for code, resp in op["responses"].items() if code.startswith("2")}
            assert success, (path, method)
            for code, resp in success.items():
                if code == "204":
                    continue
                # JSON, or a declared binary body (downloads): but always some schema.
                assert resp.get("content"), (path, method, code, "no response schema")
                media, content = next(iter(resp["content"].items()))
                schema = content["schema"]
                if media != "application/json":
                    assert schema.get("type") == "string", (path, method, schema)
                elif "$ref" in schema:
                    assert schema["$ref"].split("/")[-1] in schemas
                else:
                    assert schema.get("type") or schema.get("items"), (path, method, schema)
            if method in {"post", "put", "patch"}:
                content = op["requestBody"]["content"]
                # JSON, or an upload (multipart, a schema with an Upload field).
                body = (content.get("application/json")
                        or content["multipart/form-data"])["schema"]
                assert "$ref" in body, (path, method)
            assert op.get("summary") or op.get("description"), (path, method)


def test_docs_page_uses_only_local_assets(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    urls += re.findall(r"""url\s*:\s*["']([^"']+)["']""", html)
    assert urls
    absolute = re.findall(r"(?:https?:)?//[^\s\"'<>)]+", html)
    assert absolute == [], absolute
    kinds = {".js": "javascript", ".css": "text/css", ".json": "application/json"}
    seen = set()
    for url in urls:
        assert url.startswith("/"), url
        asset = client.get(url)
        try:
            assert asset.status_code == 200, url
            assert asset.get_data(), url
            ext = url[url.rfind("."):]
            assert kinds[ext] in asset.content_type, (url, asset.content_type)
            seen.add(ext)
        finally:
            asset.close()
    assert {".js", ".css", ".json"} <= seen


def test_docs_assets_do_not_escape_their_folder(client):
    for path in ("/api/docs/assets/../../../../etc/passwd",
                 "/api/docs/assets/%2e%2e/%2e%2e/__init__.py"):
        assert client.get(path).status_code == 404


# --- errors ------------------------------------------------------------------------------

def test_unknown_route_is_problem_json(client):
    body = _assert_problem(client.get("/api/v1/no-such-thing"), 404, "not-found")
    assert body["title"] == "资源不存在"


def test_wrong_method_is_problem_json(client):
    body = _assert_problem(client.delete("/healthz"), 405, "method-not-allowed")
    assert body["title"] == "不支持该请求方法"


def test_401_403_404_are_problem_json(client, factory, admin):
    _assert_problem(client.get("/api/v1/me"), 401, "unauthenticated")
    _assert_problem(client.get("/api/v1/users", headers=admin["headers"]), 403, "forbidden")
    _assert_problem(client.get("/api/v1/tenants/nope/areas", headers=admin["headers"]), 404)
    _assert_problem(client.get("/api/v1/tenants/ta/areas/999", headers=admin["headers"]), 404)


def test_422_has_per_field_errors_in_chinese(client, admin):
    r = client.post("/api/v1/tenants/ta/areas", json={"name": 5, "kind": "castle", "extra": 1},
                    headers=admin["headers"])
    body = _assert_problem(r, 422, "validation-error")
    assert body["title"] == "请求参数校验失败"
    errors = body["errors"]["json"]
    assert errors["code"] == ["必填项"]
    assert errors["name"] == ["不是有效的文本"]
    assert errors["kind"][0].startswith("须为以下之一")
    assert errors["extra"] == ["不允许的字段"]
    for messages in errors.values():
        for message in messages:
            assert re.search(r"[\u4e00-\u9fff]", message), message


def test_invalid_json_body_is_problem_json(client, admin):
    r = client.post("/api/v1/tenants/ta/areas", data="{not json",
                    headers={**admin["headers"], "Content-Type": "application/json"})
    assert r.status_code in (400, 422)
    assert r.mimetype == PROBLEM and r.json["type"].startswith("urn:anjian:problem:")


def test_409_is_problem_json_with_field(client, admin):
    payload = {"code": "s1", "name": "一", "kind": "sector"}
    assert client.post("/api/v1/tenants/ta/areas", json=payload,
                       headers=admin["headers"]).status_code == 201
    body = _assert_problem(client.post("/api/v1/tenants/ta/areas", json=payload,
                                       headers=admin["headers"]), 409, "conflict")
    assert body["errors"] == {"code": ["区域代码已存在"]}


# --- body limit (RELIABILITY 14) ------------------------------------------------------------

LOGIN = "/api/v1/auth/login"


def test_body_over_the_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 200
    body = json.dumps({"username": "a" * 300, "password": "x"})
    body413 = _assert_problem(client.post(LOGIN, data=body, content_type="application/json"),
                              413, "payload-too-large")
    assert "200" in body413["detail"]
    # Under the limit the same route answers normally.
    small = client.post(LOGIN, json={"username": "nobody", "password": "x"})
    assert small.status_code == 401


@pytest.mark.parametrize("body", [
    json.dumps({"username": "a" * 300, "password": "x"}).encode(),
    # The first 200 bytes are valid JSON: a truncating reader would accept it.
    json.dumps({"username": "nobody", "password": "x"}).encode() + b" " * 5000,
])
def test_chunked_body_over_the_limit_is_413(app, client, body):
    """No Content-Length (Transfer-Encoding: chunked, as a real server passes it on)."""
    app.config["MAX_CONTENT_LENGTH"] = 200
    r = client.post(LOGIN, input_stream=io.BytesIO(body),
                    headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})
    _assert_problem(r, 413, "payload-too-large")


def test_chunked_body_under_the_limit_is_read(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 200
    body = json.dumps({"username": "nobody", "password": "x"}).encode()
    r = client.post(LOGIN, input_stream=io.BytesIO(body),
                    headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 401  # parsed, checked, refused: not 400/413


# --- pagination ------------------------------------------------------------------------------

def test_pagination_envelope_and_limits(client, factory, admin):
    for i in range(5):
        factory.area(admin["tenant_id"], f"s{i}")
    r = client.get("/api/v1/tenants/ta/areas", query_string={"per_page": 2, "page": 2},
                   headers=admin["headers"])
    assert r.status_code == 200
    assert (r.json["page"], r.json["per_page"], r.json["total"]) == (2, 2, 5)
    assert [a["code"] for a in r.json["items"]] == ["s2", "s3"]
    r = client.get("/api/v1/tenants/ta/areas", headers=admin["headers"])
    assert (r.json["page"], r.json["per_page"], r.json["total"]) == (1, 50, 5)
    r = client.get("/api/v1/tenants/ta/areas", query_string={"page": 9}, headers=admin["headers"])
    assert r.json["items"] == [] and r.json["total"] == 5
    assert client.get("/api/v1/tenants/ta/areas", query_string={"per_page": 200},
                      headers=admin["headers"]).status_code == 200
    for bad in ({"per_page": 201}, {"per_page": 0}, {"page": 0}, {"page": "x"}):
        r = client.get("/api/v1/tenants/ta/areas", query_string=bad, headers=admin["headers"])
        body = _assert_problem(r, 422, "validation-error")
        (field,) = body["errors"]["query"]
        assert field in bad
    body = client.get("/api/v1/tenants/ta/areas", query_string={"per_page": 201},
                      headers=admin["headers"]).json
    (message,) = body["errors"]["query"]["per_page"]
    assert message == "须在 1 到 200 之间", message


def test_pagination_totals_ride_with_the_page_and_past_the_end(client, factory, admin):
    """The total comes with the page's rows (count(*) OVER ()): it must be the filtered
    total, not the page's length, and 0 for an empty first page."""
    r = client.get("/api/v1/tenants/ta/areas", headers=admin["headers"])
    assert (r.json["items"], r.json["total"]) == ([], 0)
    for i in range(7):
        factory.area(admin["tenant_id"], f"z{i}")
    r = client.get("/api/v1/tenants/ta/areas", query_string={"per_page": 3, "page": 3},
                   headers=admin["headers"])
    assert ([a["code"] for a in r.json["items"]], r.json["total"]) == (["z6"], 7)
    r = client.get("/api/v1/tenants/ta/areas", query_string={"per_page": 3, "page": 4},
                   headers=admin["headers"])
    assert (r.json["items"], r.json["total"]) == ([], 7)


class _Row:
    """An object with a value of each field's type; any other attribute reads None
    (Function fields read attributes of their own)."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __getattr__(self, name):
        return None


def _sample(field, n: int):
    import datetime as dt
    import decimal

    import marshmallow as ma

    kinds = [
        (ma.fields.Boolean, lambda: n % 2 == 0),
        (ma.fields.Integer, lambda: n * 7),
        (ma.fields.Decimal, lambda: decimal.Decimal(f"{n}.25")),
        (ma.fields.Float, lambda: n / 4),
        (ma.fields.DateTime, lambda: dt.datetime(2026, 11, 23, 8, n, tzinfo=dt.UTC)),
        (ma.fields.Date, lambda: dt.date(2026, 11, n + 1)),
        (ma.fields.Dict, lambda: {"键": n}),
        (ma.fields.List, lambda: [n]),
        (ma.fields.String, lambda: f"值{n}"),
    ]
    for kind, make in kinds:
        if isinstance(field, kind):
            return make()
    return None


def test_page_items_dump_exactly_as_marshmallow_does(app):
    """Every page schema of the API: the items' short walk gives what marshmallow's own
    List(Nested(...)) gives, for typed values, for None, for a missing attribute (the
    field's default handling) and for mappings."""
    import datetime as dt

    import marshmallow as ma

    from anjian.api.pagination import Items, _envelopes

    assert len(_envelopes) >= 15  # every list of the API is registered at import
    for item_schema, envelope in _envelopes.items():
        items = envelope._declared_fields["items"]
        assert isinstance(items, Items)
        reference = ma.fields.List(ma.fields.Nested(item_schema))
        fields = item_schema().dump_fields
        rows = [_Row({f.attribute or name: _sample(f, n) for name, f in fields.items()
                      if not isinstance(f, ma.fields.Nested)}) for n in range(3)]
        rows.append(_Row({}))  # every attribute None
        rows.append(type("Bare", (), {})())  # every attribute missing
        rows.append({name: _sample(f, 1) for name, f in fields.items()
                     if not isinstance(f, ma.fields.Nested)})
        for row in rows:
            try:
                expected = reference.serialize("items", {"items": [row]})
            except Exception as exc:  # the row does not suit this schema's own functions
                with pytest.raises(type(exc)):
                    items.serialize("items", {"items": [row]})
                continue
            assert items.serialize("items", {"items": [row]}) == expected, item_schema
    assert Items(ma.Schema).serialize("items", {"items": None}) is None

    class Keyed(ma.Schema):  # a default for a missing attribute, a data_key, a source
        a = ma.fields.Date(dump_default=dt.date(2026, 1, 1))
        b = ma.fields.Integer(data_key="bee")
        c = ma.fields.String(attribute="see")
    for row in (type("Bare", (), {})(), _Row({"a": dt.date(2026, 2, 1), "b": 2, "see": "源"})):
        expected = ma.fields.List(ma.fields.Nested(Keyed)).serialize("items", {"items": [row]})
        assert Items(Keyed).serialize("items", {"items": [row]}) == expected
    assert expected == [{"a": "2026-02-01", "bee": 2, "c": "源"}]


def test_page_items_of_orm_entities_dump_as_marshmallow_does(app, client, admin):
    """Entities are read from their loaded columns directly: the same answer as
    marshmallow's, also for a column expired since (loaded again on access)."""
    import marshmallow as ma

    from anjian.api.pagination import Items
    from anjian.extensions import db
    from anjian.tenancy.models import Area
    from anjian.tenancy.schemas import AreaSchema
    from anjian.tenancy.scope import Scope, scoped

    for n in range(3):
        assert client.post("/api/v1/tenants/ta/areas", json={
            "code": f"e{n}", "name": f"区域{n}", "kind": "sector"},
            headers=admin["headers"]).status_code == 201
    with app.app_context(), scoped(db.session, Scope.tenant(admin["tenant_id"])):
        areas = db.session.scalars(db.select(Area).order_by(Area.id)).all()
        db.session.expire(areas[1], ["name"])
        assert "name" not in areas[1].__dict__
        mine = Items(AreaSchema).serialize("items", {"items": areas})
        assert "name" in areas[1].__dict__  # loaded again through the attribute
        expected = ma.fields.List(ma.fields.Nested(AreaSchema)).serialize(
            "items", {"items": areas})
        assert mine == expected
        assert [a["name"] for a in expected] == ["区域0", "区域1", "区域2"]


def test_argument_schemas_are_made_once_not_per_request(client, admin, monkeypatch):
    """webargs would make a schema given as a class anew on every request; the app's
    Blueprint gives it an instance made once, and the arguments still validate."""
    from anjian.api.pagination import PageArgs
    from anjian.enterprises.schemas import EnterpriseQuerySchema

    made = []
    for cls in (PageArgs, EnterpriseQuerySchema):
        original = cls.__init__
        monkeypatch.setattr(cls, "__init__", lambda self, *a, _o=original, **k: (
            made.append(type(self)), _o(self, *a, **k))[1])
    for _ in range(3):
        r = client.get("/api/v1/tenants/ta/enterprises?per_page=5", headers=admin["headers"])
        assert r.status_code == 200 and r.json["per_page"] == 5
    assert made == []
    r = client.get("/api/v1/tenants/ta/enterprises?per_page=0", headers=admin["headers"])
    assert r.status_code == 422 and "per_page" in str(r.json)


def test_json_answers_are_what_the_standard_encoder_would_write(app, client, admin):
    """The app's JSON (orjson) decodes to what Flask's standard provider would have
    written for the same values: Chinese as UTF-8, not escaped; dates and datetimes as
    Flask writes them (HTTP dates), decimals as strings, dataclasses as objects, int
    keys as strings; an unknown type is a TypeError, as before; keys keep the schema's
    order; debug's indented form still works."""
    import dataclasses
    import datetime as dt
    import decimal
    import uuid

    from flask.json.provider import DefaultJSONProvider

    @dataclasses.dataclass
    class Point:
        x: int

    value = {"名称": "安监", "when": dt.datetime(2026, 12, 3, 8, 30, tzinfo=dt.UTC),
             "day": dt.date(2026, 12, 3), "money": decimal.Decimal("12.50"),
             "id": uuid.UUID(int=7), "point": Point(1), 3: [None, True, 1.5], "z": 1, "a": 2}
    standard = DefaultJSONProvider(app)
    mine = app.json.dumps(value)
    assert json.loads(mine) == json.loads(standard.dumps(value, sort_keys=False))
    assert "安监" in mine and "\\u" not in mine
    assert list(json.loads(mine))[-2:] == ["z", "a"]  # not sorted
    assert json.loads(app.json.dumps(value, indent=2)) == json.loads(mine)
    assert app.json.dumps(value, indent=2).startswith('{\n  "名称": "安监"')
    assert json.loads(app.json.dumps(value, ensure_ascii=True)) == json.loads(mine)
    with pytest.raises(TypeError):
        app.json.dumps({"x": object()})

    assert client.post("/api/v1/tenants/ta/areas", json={"code": "w1", "name": "西区", "kind": "sector"},
                       headers=admin["headers"]).status_code == 201
    r = client.get("/api/v1/tenants/ta/areas", headers=admin["headers"])
    assert r.status_code == 200 and r.content_type == "application/json"
    assert '"name":"西区"' in r.data.decode("utf-8")


def test_json_columns_read_back_as_the_standard_decoder_reads_them(app, factory):
    """JSON columns are decoded by orjson (the engine's json_deserializer); what it
    refuses, an integer past 64 bits, still reads back through json.loads."""
    from sqlalchemy import update

    from anjian.db import loads_stored
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant

    settings = {"名称": "安监", "big": 2**70, "small": -(2**63), "ratio": 1.5,
                "list": [None, True, "七"], "nested": {"a": {"b": []}}}
    tid = factory.tenant("tj")
    with app.app_context():
        assert db.engine.dialect._json_deserializer is loads_stored
        db.session.execute(update(Tenant).where(Tenant.id == tid).values(settings=settings))
        db.session.commit()
        assert db.session.get(Tenant, tid).settings == settings
    text = json.dumps(settings, ensure_ascii=False)
    assert loads_stored(text) == loads_stored(text.encode()) == json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        loads_stored("{not json")


# --- request ids -------------------------------------------------------------------------------

def test_request_id_is_made_or_kept(client):
    r = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])
    assert client.get("/healthz").headers["X-Request-ID"] != r.headers["X-Request-ID"]
    given = "abc-123-DEF"
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    r = client.get("/api/v1/me", headers={"X-Request-ID": given})
    assert r.headers["X-Request-ID"] == given and r.json["request_id"] == given
    for bad in ("has space", "x" * 65, "semi;colon", "<script>"):
        rid = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert rid != bad and re.fullmatch(r"[0-9a-f]{32}", rid)


def test_responses_carry_nosniff(client):
    assert client.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/nope").headers["X-Content-Type-Options"] == "nosniff"


# --- health ----------------------------------------------------------------------------------

def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "ok"


def test_readyz_ok(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.json
    assert r.json == {"status": "ok",
                      "checks": {"database": "ok", "queue": "ok", "storage": "ok"}}


def test_readyz_503_when_storage_is_unwritable(app, client, tmp_path):
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("not a folder")
    app.config["ANJIAN_STORAGE_URL"] = (blocker / "objects").as_uri()
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.mimetype == "application/json"  # a health report, not a problem
    assert r.json == {"status": "unavailable",
                      "checks": {"database": "ok", "queue": "ok", "storage": "unavailable"}}
    assert client.get("/healthz").status_code == 200  # alive, just not ready


# --- ETag / If-Match (RELIABILITY 23, HTTP part) ------------------------------------------------

def _area(client, factory, admin):
    area = factory.area(admin["tenant_id"], "s1", name="原名")
    r = client.get(f"/api/v1/tenants/ta/areas/{area}", headers=admin["headers"])
    assert r.status_code == 200 and r.headers["ETag"]
    return area, r.headers["ETag"]


def test_patch_without_if_match_is_428(client, factory, admin):
    area, _ = _area(client, factory, admin)
    r = client.patch(f"/api/v1/tenants/ta/areas/{area}", json={"name": "新"},
                     headers=admin["headers"])
    _assert_problem(r, 428, "precondition-required")
    assert client.get(f"/api/v1/tenants/ta/areas/{area}",
                      headers=admin["headers"]).json["name"] == "原名"


def test_patch_with_stale_etag_is_412_and_fresh_is_200(client, factory, admin):
    area, etag = _area(client, factory, admin)
    url = f"/api/v1/tenants/ta/areas/{area}"
    r = client.patch(url, json={"name": "x"}, headers={**admin["headers"], "If-Match": '"stale"'})
    _assert_problem(r, 412, "precondition-failed")
    r = client.patch(url, json={"name": "新名"}, headers={**admin["headers"], "If-Match": etag})
    assert r.status_code == 200 and r.json["name"] == "新名"
    assert r.headers["ETag"] != etag
    assert client.get(url, headers=admin["headers"]).headers["ETag"] == r.headers["ETag"]


def test_two_clients_with_the_same_etag_the_second_gets_412(client, factory, admin):
    area, etag = _area(client, factory, admin)
    _, other = factory.user("admin2", {admin["tenant_id"]: "tenant_admin"})
    url = f"/api/v1/tenants/ta/areas/{area}"
    first = client.patch(url, json={"name": "甲改"}, headers={**admin["headers"], "If-Match": etag})
    assert first.status_code == 200
    second = client.patch(url, json={"name": "乙改", "kind": "village"},
                          headers={**bearer(other), "If-Match": etag})
    _assert_problem(second, 412, "precondition-failed")
    now = client.get(url, headers=admin["headers"]).json
    assert (now["name"], now["kind"]) == ("甲改", "sector")


def test_delete_area_needs_if_match(client, factory, admin):
    area, etag = _area(client, factory, admin)
    url = f"/api/v1/tenants/ta/areas/{area}"
    _assert_problem(client.delete(url, headers=admin["headers"]), 428)
    _assert_problem(client.delete(url, headers={**admin["headers"], "If-Match": '"x"'}), 412)
    assert client.delete(url, headers={**admin["headers"], "If-Match": etag}).status_code == 204
    assert client.get(url, headers=admin["headers"]).json["is_active"] is False


def test_a_lost_database_answers_503_with_retry_after(client, admin, monkeypatch):
    """PostgreSQL restarting under a request (RELIABILITY 21): a clean 503 problem with
    Retry-After, not a bare 500; the next request is served again."""
    from sqlalchemy.exc import OperationalError

    from anjian.enterprises import api as enterprises_api

    def gone(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, Exception(
            "server closed the connection unexpectedly"))

    url = "/api/v1/tenants/ta/enterprises/1"
    with monkeypatch.context() as patch:
        patch.setattr(enterprises_api, "get_or_404", gone)
        r = client.get(url, headers=admin["headers"])
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    assert r.headers["Retry-After"] == "5"
    assert r.json["type"].endswith("database-unavailable") and "数据库" in r.json["detail"]
    assert client.get(url, headers=admin["headers"]).status_code == 404  # served again


def test_idle_connections_are_pinged_and_busy_ones_are_not(app, client, admin, database,
                                                           monkeypatch):
    """RELIABILITY 21 without a ping per request: a pooled connection killed while idle
    for longer than PING_AFTER_IDLE_SECONDS is found by the ping and replaced, so the
    request succeeds; one used within that time is not pinged, so a kill meets the
    request (503 with Retry-After) and the pool connects afresh for the next one."""
    from sqlalchemy import create_engine, text

    from anjian import db as db_module
    from anjian.extensions import db

    url = "/api/v1/tenants/ta/areas"
    pings = []
    with app.app_context():
        dialect = db.engine.dialect
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: (pings.append(1), real_ping(conn)))

    def kill_app_backends():
        admin_engine = create_engine(database.admin_url)
        with admin_engine.begin() as conn:
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE usename = 'anjian_app' AND pid <> pg_backend_pid()")).scalar()
        admin_engine.dispose()
        assert killed >= 1

    assert client.get(url, headers=admin["headers"]).status_code == 200
    assert client.get(url, headers=admin["headers"]).status_code == 200
    assert pings == []  # busy: no round trip spent on a ping

    kill_app_backends()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # everything is idle now
    assert client.get(url, headers=admin["headers"]).status_code == 200  # pinged, replaced
    assert pings

    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)  # nothing is idle
    pings.clear()
    kill_app_backends()
    r = client.get(url, headers=admin["headers"])
    assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.get_data(as_text=True)
    assert pings == []
    assert client.get(url, headers=admin["headers"]).status_code == 200  # a fresh connection
