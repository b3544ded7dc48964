"""Page-number pagination with a body envelope: {items, page, per_page, total}."""

from __future__ import annotations

import collections
import functools
import weakref

import marshmallow as ma
from sqlalchemy import func, select

from anjian.extensions import db

MAX_PER_PAGE = 200


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE)
    )


class Items(ma.fields.List):
    """The ``items`` of a page: a list of ``item_schema``, dumped by marshmallow."""

    def __init__(self, item_schema: type[ma.Schema], **kwargs):
        super().__init__(ma.fields.Nested(item_schema), **kwargs)


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


# The page statement last derived from a statement object (its window total, one page):
# a statement built once and run on every request (a service's constant, or one kept per
# tenant) is derived once per page, and SQLAlchemy finds that form's cache key computed.
_last_paged: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _paged(statement, per_page: int, offset: int):
    kept = _last_paged.get(statement)
    if kept is None or kept[0] != (per_page, offset):
        paged = statement.add_columns(func.count().over()).limit(per_page)
        # the first page has no OFFSET: with one (a parameter, 0), PostgreSQL found its
        # generic plan dearer than planning anew, and planned the list on every call
        kept = ((per_page, offset), paged.offset(offset) if offset else paged)
        _last_paged[statement] = kept
    return kept[1]


def paginate(statement, page: int, per_page: int, *, scalars: bool = True,
             count_apart: bool = False) -> dict:
    """Run ``statement`` for one page, with the total count of the unpaged statement.

    The total comes in the same statement: ``count(*) OVER ()`` is computed over every
    matching row before LIMIT and rides along each row of the page, which saves a
    statement per list request; the page's items are entities (``scalars``) or the
    statement's rows as named tuples (``_row_type``: read by name or position, or
    unpacked). A page past the end has no row to carry it, so it counts on its own, as
    does a statement with DISTINCT, which would apply after the window (its caller passes
    ``count_apart``).
    """
    offset = (page - 1) * per_page
    if not count_apart:
        result = db.session.execute(_paged(statement, per_page, offset))
        rows = result.all()
        if rows or page == 1:
            if scalars:
                items = [row[0] for row in rows]
            else:  # without the count, the page's last column
                items = _named(result, rows, -1)
            return {"items": items, "page": page, "per_page": per_page,
                    "total": rows[0][-1] if rows else 0}
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())
                              .execution_options(**statement.get_execution_options()))
    paged = statement.limit(per_page).offset(offset)
    if scalars:
        items = list(db.session.scalars(paged))
    else:
        result = db.session.execute(paged)
        items = _named(result, result.all())
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def _named(result, rows, width: int | None = None) -> list:
    """``rows`` of ``result`` as named tuples, each cut to its first ``width`` columns."""
    make = _row_type(tuple(result.keys())[:width])._make
    return [make(row[:width]) for row in rows]


@functools.lru_cache(maxsize=256)
def _row_type(keys: tuple[str, ...]) -> type:
    """The named tuple of a statement's columns. It reads as SQLAlchemy's rows do (by name,
    by position, unpacked, ``_asdict()``), and by name about ten times faster: a row finds
    a name through ``__getattr__``, after the attribute lookup has failed, where a named
    tuple's field is a descriptor (a page of 50 permits read column by column lost 0.5 ms
    to it)."""
    return collections.namedtuple("Row", keys, rename=True)


def paginate_list(rows: list, page: int, per_page: int) -> dict:
    """One page of a list computed in Python (what a plugin or a service assembled)."""
    first = (page - 1) * per_page
    return {"items": rows[first:first + per_page], "page": page, "per_page": per_page,
            "total": len(rows)}
