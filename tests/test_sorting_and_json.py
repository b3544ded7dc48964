"""Sorting and the JSON of stored values, each written once (anjian.sorting, anjian.db)."""

from __future__ import annotations

import datetime as dt
import decimal

import marshmallow as ma
import pytest
from sqlalchemy.dialects import postgresql

from anjian.db import jsonable
from anjian.sorting import order_by, sort_argument


def test_the_sort_argument_takes_each_column_both_ways():
    field = sort_argument(("name", "id"), default="name")
    schema = ma.Schema.from_dict({"sort": field})()
    assert schema.load({}) == {"sort": "name"}
    for value in ("name", "-name", "id", "-id"):
        assert schema.load({"sort": value}) == {"sort": value}
    with pytest.raises(ma.ValidationError):
        schema.load({"sort": "--name"})


def test_order_by_breaks_ties_by_id():
    from anjian.hazards.models import Hazard

    def sql(clauses):
        return [str(c.compile(dialect=postgresql.dialect())) for c in clauses]

    assert sql(order_by(Hazard, "created_at")) == ["hazards.created_at ASC", "hazards.id ASC"]
    assert sql(order_by(Hazard, "-deadline", nulls_last=("deadline",))) == [
        "hazards.deadline DESC NULLS LAST", "hazards.id DESC"]
    assert sql(order_by(Hazard, "-created_at", tie_descending=False)) == [
        "hazards.created_at DESC", "hazards.id ASC"]


def test_stored_values_as_json():
    when = dt.datetime(2026, 11, 24, 8, 30, tzinfo=dt.UTC)
    assert jsonable({"on": dt.date(2026, 11, 24), "at": when, "fine": decimal.Decimal("1.50"),
                     "ids": (1, 2), "tags": {"a"}, "nested": [{"d": dt.date(2026, 1, 2)}],
                     "n": 3, "s": "源", "none": None}) == {
        "on": "2026-11-24", "at": "2026-11-24T08:30:00+00:00", "fine": "1.50",
        "ids": [1, 2], "tags": ["a"], "nested": [{"d": "2026-01-02"}],
        "n": 3, "s": "源", "none": None}
