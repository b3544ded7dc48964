"""How a list is sorted, written once: ``sort=<column>`` ascending, ``sort=-<column>``
descending, among the columns the list allows; rows that tie are ordered by ``id``, so
that a page never repeats or skips a row."""

from __future__ import annotations

import marshmallow as ma


def sort_argument(columns: tuple[str, ...], default: str) -> ma.fields.String:
    """The ``sort`` query argument of a list: each of ``columns``, then the same descending."""
    choices = [choice for column in columns for choice in (column, f"-{column}")]
    return ma.fields.String(load_default=default, validate=ma.validate.OneOf(choices))


def order_by(model, sort: str, *, nulls_last: tuple[str, ...] = (),
             tie_descending: bool = True) -> tuple:
    """The ORDER BY of ``sort`` on ``model``: its column, then ``model.id``. A column in
    ``nulls_last`` puts its NULLs last either way; the id follows the column's direction
    unless ``tie_descending`` is off (the enterprise list: always ascending)."""
    name = sort.removeprefix("-")
    descending = sort.startswith("-")
    column = getattr(model, name)
    order = column.desc() if descending else column.asc()
    if name in nulls_last:
        order = order.nulls_last()
    tie = model.id.desc() if descending and tie_descending else model.id.asc()
    return order, tie
