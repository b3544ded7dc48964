"""Sorting and the JSON of the platform's values, each written once (anjian.sorting,
anjian.db.jsonable: audit rows, events, import changes, job results, reports)."""

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


def test_json_sets_are_sorted_and_keys_become_text():
    assert jsonable({"tags": {"b", "c", "a"}, "ids": frozenset({3, 1, 2}), 7: "seven"}) == {
        "tags": ["a", "b", "c"], "ids": [1, 2, 3], "7": "seven"}
    assert jsonable({"mixed": {1, "a"}}) == {"mixed": ["a", 1]}  # by repr: "'a'" < "1"


def test_report_figures_take_decimals_as_numbers():
    figures = {"total": decimal.Decimal("3.00"), "rate": decimal.Decimal("0.25"),
               "rows": [(decimal.Decimal("12"), dt.date(2026, 11, 23))]}
    assert jsonable(figures, decimals="number") == {
        "total": 3, "rate": 0.25, "rows": [[12, "2026-11-23"]]}
    assert isinstance(jsonable(decimal.Decimal("3.00"), decimals="number"), int)
    assert jsonable(decimal.Decimal("3.00")) == "3.00"


@pytest.mark.parametrize(("value", "message"), [
    ({"rows": [{"total": float("nan")}]}, "data.rows[0].total: nan is not a finite number"),
    ({"total": float("inf")}, "data.total: inf is not a finite number"),
    ({"total": decimal.Decimal("NaN")}, "data.total: NaN is not a finite number"),
    ({"at": dt.time(8, 30)}, "data.at: time is not JSON"),
    ({"who": object()}, "data.who: object is not JSON"),
    ({(1, 2): "pair"}, "data: key (1, 2) is not a string"),
    ({True: "yes"}, "data: key True is not a string"),
])
def test_what_json_cannot_hold_is_refused_naming_where(value, message):
    with pytest.raises(TypeError) as raised:
        jsonable(value, "data", decimals="number")
    assert str(raised.value) == message
