"""The OpenAPI document (issue 22, points 2-4): valid, and it says what the server does.

openapi-spec-validator passes it; every operation has an operationId and a description;
error answers are documented as application/problem+json; the public routes need no
token; writes of a tenant take Idempotency-Key, the routes that check an ETag take
If-Match; every integer a request may carry is bounded to PostgreSQL's integer, and
decimals are documented as the text the API writes, with numeric bounds.
"""

from __future__ import annotations

import inspect
import json
import re

import pytest
from openapi_spec_validator import validate

from anjian.api.openapi import operation_id

INT32 = (-(2**31), 2**31 - 1)
WRITES = {"post", "put", "patch", "delete"}
METHODS = WRITES | {"get"}
# Written by hand: the routes anyone may call without a token.
PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/invitations/register"),  # the invitation's token is the credential
    ("get", "/api/v1/files/{token}"),
}


@pytest.fixture
def spec(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    return json.loads(r.get_data(as_text=True))


def _operations(spec):
    """(path, method, operation), the path's parameters among the operation's."""
    found = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in METHODS:
                found.append((path, method, {**op, "parameters": [
                    *ops.get("parameters", []), *op.get("parameters", [])]}))
    return found


def _resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = spec["components"][section][name]
    return node


def test_the_document_is_valid_openapi(spec):
    validate(spec)  # raises on any violation (e.g. a string as a maximum)
    assert spec["openapi"] == "3.0.3"


def test_decimal_bounds_are_numbers_and_decimals_are_documented_as_text(spec):
    transition = spec["components"]["schemas"]["Transition"]["properties"]["funds"]
    assert transition["type"] == "string" and transition["format"] == "decimal"
    assert transition["minimum"] == 0 and transition["maximum"] == 1_000_000_000_000
    assert isinstance(transition["maximum"], int)
    score = spec["components"]["schemas"]["Step"]["properties"]["score"]
    assert (score["minimum"], score["maximum"]) == (0, 100)
    ratio = spec["components"]["schemas"]["SampleCreate"]["properties"]["ratio"]
    assert (ratio["minimum"], ratio["maximum"]) == (0, 1)


def test_every_operation_has_a_unique_operation_id_and_a_description(spec):
    operations = _operations(spec)
    assert len(operations) > 150
    ids = [op.get("operationId") for _, _, op in operations]
    assert None not in ids
    assert len(set(ids)) == len(ids)
    for path, method, op in operations:
        assert op.get("summary"), (method, path)
        assert op.get("description", "").strip(), (method, path)
    hazards = spec["paths"]["/api/v1/tenants/{tenant_code}/hazards"]
    assert hazards["post"]["operationId"] == "hazards_report_hazard"
    assert hazards["post"]["description"].endswith(
        "调用权限：租户管理员、监管人员、第三方服务机构、企业用户")
    assert operation_id("a.b-c", "get", False) == "a_b_c"
    assert operation_id("a.b", "patch", True) == "a_b_patch"


def test_every_error_answer_is_documented_as_problem_json(spec):
    seen = 0
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            if status != "default" and int(status) < 400:
                continue
            response = _resolve(spec, response)
            if (method, path, status) == ("get", "/readyz", "503"):
                # Not ready: the health report itself (load balancers read its checks).
                assert list(response["content"]) == ["application/json"]
                continue
            assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            assert response["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"}
            seen += 1
    assert seen > 300
    assert spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["description"] == "请求参数校验失败"


def test_public_routes_need_no_token_and_no_other_route_is_public(spec):
    public = {(method, path) for path, method, op in _operations(spec) if op.get("security") == []}
    assert public == PUBLIC
    assert spec["security"] == [{"bearer": []}]
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert "无需令牌" in login["description"]


def _header_parameters(spec, op) -> dict:
    found = {}
    for parameter in op.get("parameters", []):
        parameter = _resolve(spec, parameter)
        if parameter["in"] == "header":
            found[parameter["name"]] = parameter
    return found


def test_writes_of_a_tenant_take_idempotency_key_and_nothing_else_does(spec):
    for path, method, op in _operations(spec):
        headers = _header_parameters(spec, op)
        expected = method in WRITES and path.startswith("/api/v1/tenants/{tenant_code}/")
        assert ("Idempotency-Key" in headers) == expected, (method, path)
        if expected:
            key = headers["Idempotency-Key"]
            assert key["required"] is False and key["schema"]["maxLength"] == 100
    headers = _header_parameters(spec, spec["paths"]["/api/v1/tenants/{tenant_code}/hazards"]["post"])
    assert "每个用户、每个租户" in headers["Idempotency-Key"]["description"]


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_routes_that_check_an_etag_document_if_match(app, spec):
    checked = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        try:
            source = inspect.getsource(inspect.unwrap(view))
        except (OSError, TypeError):
            continue
        if "check_etag(" in source or "_check_if_match(" in source:
            for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
                checked.add((method.lower(), _openapi_path(rule.rule)))
    assert ("patch", "/api/v1/tenants/{tenant_code}/areas/{area_id}") in checked
    assert ("post", "/api/v1/tenants/{tenant_code}/hazards/{hazard_id}/transitions") in checked
    for method, path in checked:
        headers = _header_parameters(spec, spec["paths"][path][method])
        assert "If-Match" in headers and headers["If-Match"]["required"] is True, (method, path)


def _integers(spec, schema, where, seen):
    """Every integer schema reachable from ``schema`` (refs followed once)."""
    if isinstance(schema, dict) and "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
        yield from _integers(spec, _resolve(spec, schema), where + "→" + schema["$ref"], seen)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "integer" and not schema.get("readOnly"):
        yield where, schema
    for name, child in (schema.get("properties") or {}).items():
        yield from _integers(spec, child, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _integers(spec, schema[key], f"{where}[]", seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(key, []):
            yield from _integers(spec, child, where, seen)


def test_every_integer_a_request_carries_is_bounded_to_the_database_integer(spec):
    count = 0
    for path, method, op in _operations(spec):
        schemas = [(f"{method} {path} {p.get('name')}", p.get("schema", {}))
                   for p in map(lambda x: _resolve(spec, x), op.get("parameters", []))]
        for content in (op.get("requestBody") or {}).get("content", {}).values():
            schemas.append((f"{method} {path} body", content["schema"]))
        for where, schema in schemas:
            for place, integer in _integers(spec, schema, where, set()):
                count += 1
                low, high = integer.get("minimum"), integer.get("maximum")
                assert low is not None and high is not None, place
                assert INT32[0] <= low <= high <= INT32[1], (place, low, high)
    assert count > 150
    operations = {(method, path): op for path, method, op in _operations(spec)}

    def parameter(method, path, name):
        return next(_resolve(spec, p) for p in operations[method, path]["parameters"]
                    if _resolve(spec, p)["name"] == name)

    page = parameter("get", "/api/v1/tenants/{tenant_code}/hazards", "page")
    assert (page["schema"]["minimum"], page["schema"]["maximum"]) == (1, 2**31 - 1)
    hazard_id = parameter("get", "/api/v1/tenants/{tenant_code}/hazards/{hazard_id}", "hazard_id")
    assert hazard_id["schema"]["maximum"] == 2**31 - 1
    # A field without a range of its own gets the column's.
    inspection = spec["components"]["schemas"]["InspectionCreate"]["properties"]["enterprise_id"]
    assert (inspection["minimum"], inspection["maximum"]) == (-(2**31), 2**31 - 1)
