"""The blueprint every API module declares its routes on.

Two rules hold for every route through it, whoever wrote the route:

- **Integers fit their column.** Every integer field of a schema a route takes or answers
  (query strings, bodies, nested schemas, lists and dicts of integers) that has no range
  of its own, or only half of one, is bounded to PostgreSQL's ``integer``
  (``MIN_INTEGER..MAX_INTEGER``): a larger number is a 422 on its field, never a database
  error, and the OpenAPI document shows the bounds. A field's own, narrower range stays.
  Path integers are bounded by the app's ``int`` converter (``anjian.api.common``).
- **Bodies are read by the bounded JSON reader** (``anjian.api.jsonio.loads``): a body
  nested too deep, a number too large, NUL or a lone surrogate is a 400 problem.
"""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from flask import request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from anjian.api import jsonio
from anjian.api.problems import problem
from anjian.db import MAX_INTEGER, MIN_INTEGER


class Parser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with the bounded reader."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        try:
            return jsonio.loads(req.get_data(cache=True))
        except jsonio.InvalidJSON as exc:
            raise jsonio.invalid_json(exc) from None


def _range_of(field: ma.fields.Field) -> tuple[object, object]:
    """The lowest and highest value a field's own Range validators allow (None: unbounded)."""
    low = high = None
    for validator in field.validators:
        if isinstance(validator, ma.validate.Range):
            if validator.min is not None and (low is None or validator.min > low):
                low = validator.min
            if validator.max is not None and (high is None or validator.max < high):
                high = validator.max
    return low, high


def _bound_integer(field: ma.fields.Integer) -> None:
    """One more Range, the field's own bounds within the column's: its message names both
    ends ("须在 1 到 2147483647 之间"); a value outside the field's own range still gets the
    field's own message first."""
    low, high = _range_of(field)
    if low is not None and high is not None and low >= MIN_INTEGER and high <= MAX_INTEGER:
        return
    field.validators.append(ma.validate.Range(
        min=low if low is not None and low >= MIN_INTEGER else MIN_INTEGER,
        max=high if high is not None and high <= MAX_INTEGER else MAX_INTEGER))


def _children(field: ma.fields.Field):
    if isinstance(field, ma.fields.Nested):  # Pluck too
        yield from field.schema.fields.values()
    elif isinstance(field, ma.fields.List):
        yield field.inner
    elif isinstance(field, ma.fields.Tuple):
        yield from field.tuple_fields
    elif isinstance(field, ma.fields.Mapping):
        yield from (f for f in (field.key_field, field.value_field) if f is not None)


def bound_integers(schema: ma.Schema) -> ma.Schema:
    """Bound every integer field of ``schema`` and of the schemas it nests (in place)."""
    seen: set[int] = set()
    pending = list(schema.fields.values())
    while pending:
        field = pending.pop()
        if id(field) in seen:
            continue
        seen.add(id(field))
        if isinstance(field, ma.fields.Integer):
            _bound_integer(field)
        pending.extend(_children(field))
    return schema


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint; an argument schema given as a class is made once here.

    webargs makes a schema it is given as a class anew for every request it parses,
    and marshmallow copies every declared field of it each time. A schema instance is
    what webargs and flask-smorest take as well; the OpenAPI document is the same.
    Every schema a route takes or answers has its integers bounded (see the module).
    """

    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(bound_integers(schema), **kwargs)

    def response(self, status_code, schema=None, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        if isinstance(schema, ma.Schema):
            bound_integers(schema)
        return super().response(status_code, schema, **kwargs)

    def check_if_match_on_post(self, etag_data, what: str) -> None:
        """If-Match on a POST that changes ``what`` (a Chinese noun: 隐患, 作业票; flask-smorest
        checks only PUT, PATCH and DELETE): 428 without it, 412 when it is not the ETag
        of ``etag_data`` (what the GET's ETag is made of)."""
        if not request.if_match:
            problem(428, f"缺少 If-Match 请求头：请先读取{what}，带上其 ETag 再提交")
        if self._generate_etag(etag_data) not in request.if_match:
            problem(412, f"{what}已被他人修改，请刷新后重试")
