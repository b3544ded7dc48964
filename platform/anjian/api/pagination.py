"""Page-number pagination with a body envelope: {items, page, per_page, total}."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import marshmallow as ma
from sqlalchemy import func, literal_column, select
from sqlalchemy import inspect as sa_inspect

from anjian.extensions import db

MAX_PER_PAGE = 200


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE)
    )


class Items(ma.fields.List):
    """The ``items`` of a page: a list of ``item_schema``, dumped row by row.

    A plain ``List(Nested(item_schema))`` to the OpenAPI document and for every value
    it is given; only the walk is shorter. marshmallow dumps each field of each row
    through ``Field.serialize``, which looks the attribute up through the schema's
    accessor chain (``get_attribute``, ``utils.get_value``, key splitting) before it
    formats it, about half of a list's dump time. A row that is an object (an ORM
    entity, not a mapping) of a schema without dump hooks is dumped here by reading
    each attribute directly and formatting it with the very same field's
    ``_serialize``, skipped where it would give the value back unchanged (a str of a
    String, an int of an Integer, a Boolean; see ``_kind``), and reading an entity's
    loaded columns from its ``__dict__``, where their descriptors would read them: the
    same fields, the same formats, the same keys. Anything else
    (mappings, dotted attributes, defaults for missing attributes, hooks) goes through
    marshmallow as before. A test dumps every page schema both ways and compares.
    """

    def __init__(self, item_schema: type[ma.Schema], **kwargs):
        super().__init__(ma.fields.Nested(item_schema), **kwargs)
        self._plan: list | None = None

    def _dump_plan(self) -> list | None:
        schema = self.inner.schema
        if schema._hooks[ma.decorators.PRE_DUMP] or schema._hooks[ma.decorators.POST_DUMP]:
            return None
        plan = []
        for name, field in schema.dump_fields.items():
            attribute = field.attribute or name
            if "." in attribute:
                return None
            key = field.data_key if field.data_key is not None else name
            plan.append((key, attribute, field, field._CHECK_ATTRIBUTE, _kind(field)))
        return plan

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if self._plan is None:
            self._plan = self._dump_plan() or []
        if not self._plan:
            return super()._serialize(value, attr, obj, **kwargs)
        return [self._dump_row(row) for row in value]

    def _dump_row(self, row) -> dict:
        if isinstance(row, Mapping):
            return self.inner.schema.dump(row)
        out = {}
        missing = ma.missing
        columns = _column_keys(type(row))
        loaded = row.__dict__ if columns else None
        for key, attribute, field, check, kind in self._plan:
            if kind is _FUNCTION:
                out[key] = field.serialize_func(row)
                continue
            if check:
                # A loaded column of an ORM entity is in its __dict__, where the
                # attribute's descriptor would read it; anything else is looked up.
                value = loaded.get(attribute, missing) if attribute in columns else missing
                if value is missing:
                    value = getattr(row, attribute, missing)
                if value is missing:  # marshmallow's default handling, in full
                    value = field.serialize(attribute, row)
                    if value is not missing:
                        out[key] = value
                    continue
            else:
                value = None
            if type(value) in kind:
                out[key] = value  # what the field's _serialize gives back unchanged
            else:
                out[key] = field._serialize(value, attribute, row)
        return out


@functools.lru_cache(maxsize=256)
def _column_keys(cls) -> frozenset:
    """The column attributes of a mapped class (none for anything else)."""
    mapper = sa_inspect(cls, raiseerr=False)
    if mapper is None or not hasattr(mapper, "column_attrs"):
        return frozenset()
    return frozenset(attr.key for attr in mapper.column_attrs)


_FUNCTION = object()  # a Function field: its function of the row, as Function._serialize
_ANY = type("_Any", (), {"__contains__": lambda self, item: True})()  # every type


def _kind(field: ma.fields.Field):
    """The types whose values ``field._serialize`` returns unchanged, so that the walk can
    skip the call: str or None for a plain String, int or None for an Integer, any value
    for a field that does not format (Boolean, Raw); a Function field is called
    directly. Any other field, or any other value, is formatted by the field."""
    serialize = type(field)._serialize
    if serialize is ma.fields.Function._serialize and getattr(field, "serialize_func", None):
        return _FUNCTION
    if serialize is ma.fields.Field._serialize:
        return _ANY
    if serialize is ma.fields.String._serialize:
        return (str, type(None))
    if (serialize is ma.fields.Number._serialize and isinstance(field, ma.fields.Integer)
            and not field.as_string):
        return (int, type(None))
    return ()  # every value goes through the field (a Method field's None too)


_envelopes: dict[type, type] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The response schema of one page of ``item_schema`` (one class per item schema)."""
    if item_schema not in _envelopes:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _envelopes[item_schema] = type(name, (ma.Schema,), {
            "items": Items(item_schema),
            "page": ma.fields.Integer(),
            "per_page": ma.fields.Integer(),
            "total": ma.fields.Integer(),
        })
    return _envelopes[item_schema]


# The window that counts the unpaged rows, as one literal column: the ORM spends on
# every execution of an expression column (annotations, cache key) what it does not on
# a literal one.
_TOTAL = literal_column("count(*) OVER ()")


def paginate(statement, page: int, per_page: int, *, scalars: bool = True) -> dict:
    """Run ``statement`` for one page, with the total count of the unpaged statement.

    A list of entities (``scalars``) gets its total in the same statement: ``count(*)
    OVER ()`` is computed over every matching row before LIMIT and rides along each
    row of the page, which saves a statement per list request. A page past the end
    has no row to carry it, and DISTINCT would apply after the window, so those
    (and lists of tuples, whose rows callers read by name) count on their own.
    """
    offset = (page - 1) * per_page
    if scalars and not statement._distinct:
        rows = db.session.execute(
            statement.add_columns(_TOTAL).limit(per_page).offset(offset)
        ).all()
        if rows or page == 1:
            return {"items": [row[0] for row in rows], "page": page, "per_page": per_page,
                    "total": rows[0][1] if rows else 0}
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    paged = statement.limit(per_page).offset(offset)
    result = db.session.scalars(paged) if scalars else db.session.execute(paged)
    return {"items": list(result), "page": page, "per_page": per_page, "total": total}


def paginate_list(rows: list, page: int, per_page: int) -> dict:
    """One page of a list computed in Python (what a plugin or a service assembled)."""
    first = (page - 1) * per_page
    return {"items": rows[first:first + per_page], "page": page, "per_page": per_page,
            "total": len(rows)}
