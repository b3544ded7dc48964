"""What the OpenAPI document says of every operation, added in one place (an apispec plugin).

flask-smorest documents a route's schemas, its summary (the docstring's first line) and
its ETag; this adds, for every operation of every blueprint (plugins' routes included):

- ``operationId``: the endpoint's name (``hazards.create_hazard`` → ``hazards_create_hazard``;
  with the method appended where one endpoint serves several);
- a ``description`` (the docstring's body, or its summary) ending with who may call it,
  read from the route's declared policy (``anjian.api.policy``);
- ``security: []`` on public routes (no token: health, login, signed file links, docs);
- the ``Idempotency-Key`` header on every write of a tenant (``anjian.api.idempotency``);
- error answers as ``application/problem+json`` (``anjian.api.problems``);
- decimals as what the API writes: text (``"1200.50"``), with their bounds as numbers
  (apispec wrote a Decimal range as strings, ``"maximum": "1000000000000.00"``, which is
  not a valid OpenAPI document). A decimal is taken as text or as a number.
"""

from __future__ import annotations

import decimal
import re

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin

from anjian.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from anjian.api.idempotency import MAX_KEY_LENGTH, WRITE_METHODS
from anjian.api.policy import LIBRARY_ENDPOINTS, policy_of
from anjian.api.problems import PROBLEM_JSON
from anjian.permissions import AUTHENTICATED, LINK_HOLDER, PLATFORM_ADMIN, PUBLIC, TENANT_ROLES

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
TENANT_PREFIX = "/api/v1/tenants/<tenant_code>/"
PROBLEM_REF = "#/components/schemas/Problem"

IDEMPOTENCY_KEY = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "幂等键（每个用户、每个租户各自独立）：同一用户用同一键重复提交同一请求，返回第一次的结果"
        "（响应头 Idempotent-Replayed: true），不会重复执行；同一键用于不同请求答 422，"
        "第一次仍在处理时答 409。"),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
               "pattern": "^[\\x21-\\x7e][\\x20-\\x7e]*$"},
}

_ROLE_NAMES = {PUBLIC: "任何人（公开接口，无需令牌）", AUTHENTICATED: "任何持有效令牌的用户",
               PLATFORM_ADMIN: "平台管理员", **TENANT_ROLES,
               LINK_HOLDER: "持本单位企业访问链接者（Authorization: Bearer ajl_...）"}


DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _number(value):
    """A bound as a JSON number (apispec gives a Decimal field's bounds as the field writes
    them: Decimals, or text when ``as_string``)."""
    if isinstance(value, str):
        value = decimal.Decimal(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def decimal2properties(self, field, ret=None, **kwargs) -> dict:
    """An apispec attribute function: a Decimal field as text of a number, bounds as
    numbers. (Any other field's Decimal bounds become numbers too.)"""
    ret = ret if ret is not None else {}
    found = {key: _number(ret[key]) for key in _BOUNDS
             if isinstance(ret.get(key), (decimal.Decimal, str))}
    if isinstance(field, ma.fields.Decimal):
        found.update({"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN})
    return found


def operation_id(endpoint: str, method: str, several: bool) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", endpoint)
    return f"{base}_{method}" if several else base


def who_may(roles: frozenset[str]) -> str:
    order = list(_ROLE_NAMES)
    names = [_ROLE_NAMES[r] for r in sorted(roles, key=lambda r: order.index(r)
                                               if r in order else len(order))
             if r in _ROLE_NAMES]
    return "调用权限：" + "、".join(names) if names else ""


def _problem_content(response: dict) -> None:
    """An error answer with the problem schema as ``application/problem+json`` (the one
    error answer that is not a problem, /readyz's 503, is a health report in JSON)."""
    content = response.get("content")
    if not content:  # an alt_response naming no schema
        response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
        return
    if "application/json" not in content or PROBLEM_JSON in content:
        return
    schema = content["application/json"].get("schema")
    if isinstance(schema, dict) and schema.get("$ref") == PROBLEM_REF:
        content[PROBLEM_JSON] = content.pop("application/json")


class OperationsPlugin(BasePlugin):
    """Adds what the module's docstring lists to each operation as its path is registered
    (the policy of a route is read from its view function in ``app``)."""

    def __init__(self, app):
        self.app = app

    def init_spec(self, spec):
        super().init_spec(spec)
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(decimal2properties)

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations or self.app is None:
            return
        view = self.app.view_functions.get(rule.endpoint)
        policy = policy_of(view) or LIBRARY_ENDPOINTS.get(rule.endpoint)
        methods = [m for m in operations if m in HTTP_METHODS]
        for method in methods:
            operation = operations[method]
            operation.setdefault("operationId",
                                 operation_id(rule.endpoint, method, len(methods) > 1))
            description = operation.get("description") or operation.get("summary") or ""
            if policy is not None:
                description = "\n\n".join(x for x in (description, who_may(policy.roles)) if x)
            operation["description"] = description or rule.endpoint
            if policy is not None and policy.public:
                operation["security"] = []
            if (method.upper() in WRITE_METHODS and rule.rule.startswith(TENANT_PREFIX)
                    and not (policy is not None and policy.public)):
                parameters = operation.setdefault("parameters", [])
                if not any(isinstance(p, dict) and p.get("name") == IDEMPOTENCY_HEADER
                           for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_KEY))
            for status, response in (operation.get("responses") or {}).items():
                if isinstance(response, dict) and (status == "default" or str(status) >= "4"):
                    _problem_content(response)
