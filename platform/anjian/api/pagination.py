"""Page-number pagination with a body envelope: {items, page, per_page, total}."""

from __future__ import annotations

import marshmallow as ma
from sqlalchemy import func, select

from anjian.extensions import db

MAX_PER_PAGE = 200


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE)
    )


_envelopes: dict[type, type] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The response schema of one page of ``item_schema`` (one class per item schema)."""
    if item_schema not in _envelopes:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _envelopes[item_schema] = type(name, (ma.Schema,), {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(),
            "per_page": ma.fields.Integer(),
            "total": ma.fields.Integer(),
        })
    return _envelopes[item_schema]


def paginate(statement, page: int, per_page: int, *, scalars: bool = True) -> dict:
    """Run ``statement`` for one page, with the total count of the unpaged statement."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    paged = statement.limit(per_page).offset((page - 1) * per_page)
    result = db.session.scalars(paged) if scalars else db.session.execute(paged)
    return {"items": list(result), "page": page, "per_page": per_page, "total": total}
