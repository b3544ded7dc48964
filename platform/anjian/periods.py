"""Periods of a counting rule: "at least ``count`` records per ``per``", the rule of a
service contract's obligations (``anjian.services.compliance``) and of an enterprise's
ledger duties (``anjian.ledgers.duties``).

A rule's periods run from an anchor (a contract's start, the day an enterprise joined,
the day a tenant starts counting from): whole months after it (``month_index``,
``month_start``: 31 January + 1 month starts on 1 March), or, aligned to the calendar,
calendar months, quarters and years, the first one cut at the anchor (``periods``). The
records of a period count in the months of its ``window`` (its last ``in_last_months``
only, when the rule says so), and a period is met, due or missed (``status_of``).
The counts come from one grouped SQL statement per caller, by month: ``sql_month_index``
and ``sql_year_month`` compute a record's month there as ``month_index`` does here.

``PeriodRuleSchema`` holds the fields every such rule shares (key, title, count,
in_last_months and their checks); a rule's own schema adds what it counts and declares
its ``per`` and ``align`` with ``per_field`` and ``align_field``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import Integer, case, cast, extract

# Periods of fixed length, in months.
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
PERIOD_LABELS = {"month": "月度", "quarter": "季度", "year": "年度"}
STATUSES = {"met": "已完成", "due": "进行中", "missed": "未完成"}
RULE_KEY = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,80}$")


# --- months -----------------------------------------------------------------------------------

def month_index(anchor: dt.date, day: dt.date) -> int:
    """Whole months from ``anchor`` to ``day`` (a month ends the day before the anchor's day
    of month comes round again). ``sql_month_index`` computes the same in SQL."""
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    return months - (1 if day.day < anchor.day else 0)


def month_start(anchor: dt.date, k: int) -> dt.date:
    """The first day of month ``k`` counted from ``anchor``: the anchor's day of month ``k``
    months later, or the 1st of the next month where that day does not exist (31 Jan + 1
    month starts on 1 Mar), so that ``month_index(anchor, month_start(anchor, k)) == k``."""
    total = anchor.year * 12 + anchor.month - 1 + k
    year, month = divmod(total, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    if anchor.day <= last:
        return dt.date(year, month, anchor.day)
    return dt.date(year, month, last) + dt.timedelta(days=1)


def _part(field: str, value):
    return cast(extract(field, value), Integer)


def sql_month_index(day, anchor):
    """``month_index(anchor, day)`` as a SQL expression (``day`` and ``anchor`` are date
    expressions; NULL where ``day`` is)."""
    return ((_part("year", day) - _part("year", anchor)) * 12
            + _part("month", day) - _part("month", anchor)
            - case((_part("day", day) < _part("day", anchor), 1), else_=0))


def sql_year_month(day):
    """(year, month) of a date expression, as two SQL integer expressions."""
    return _part("year", day), _part("month", day)


# --- periods ----------------------------------------------------------------------------------

def periods(months: int | None, anchor: dt.date, end: dt.date, *, calendar: bool = False,
            within_months: int | None = None) -> list[tuple[dt.date, dt.date]]:
    """The periods (first day, last day) of a rule counted from ``anchor`` to ``end``, the
    last one cut at ``end``: ``months`` long each (None: one period, the whole span, due
    ``within_months`` after the anchor when given), from the anchor, or with ``calendar``
    the calendar's months, quarters or years (the first cut at the anchor)."""
    if months is None:
        if within_months is not None:
            due = month_start(anchor, within_months) - dt.timedelta(days=1)
            return [(anchor, min(due, end))]
        return [(anchor, end)]
    out = []
    if calendar:
        first_month = (anchor.month - 1) // months * months + 1
        start = dt.date(anchor.year, first_month, 1)
        while start <= end:
            nxt = month_start(start, months)
            out.append((max(start, anchor), min(nxt - dt.timedelta(days=1), end)))
            start = nxt
        return out
    k = 0
    while (start := month_start(anchor, k)) <= end:
        out.append((start, min(month_start(anchor, k + months) - dt.timedelta(days=1), end)))
        k += months
    return out


def period_label(per: str, start: dt.date, end: dt.date, *, calendar: bool = False) -> str:
    """A period as people name it: 2024年3月, 2024年第1季度, 2024年度; a period not aligned
    to the calendar by its dates (2024-01-15至2024-04-14)."""
    if calendar:
        if per == "month":
            return f"{start.year}年{start.month}月"
        if per == "quarter":
            return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
        if per == "year":
            return f"{start.year}年度"
    return f"{start.isoformat()}至{end.isoformat()}"


@dataclass(frozen=True)
class Window:
    """The months whose records count for one period: calendar months (year, month) from
    ``lo`` to ``hi``, or (not ``calendar``) month indexes from the anchor."""

    calendar: bool
    lo: int | tuple[int, int]
    hi: int | tuple[int, int]

    def holds(self, index: int | None, year_month: tuple[int, int] | None) -> bool:
        """Whether a record of month ``index`` (from the anchor), calendar ``year_month``,
        counts."""
        if self.calendar:
            return year_month is not None and self.lo <= year_month <= self.hi
        return index is not None and self.lo <= index <= self.hi


def window(anchor: dt.date, start: dt.date, end: dt.date, *, calendar: bool = False,
           in_last_months: int | None = None) -> Window:
    """The months of period ``start``..``end`` whose records count (its last
    ``in_last_months`` only, when given): calendar months, or months from ``anchor``."""
    if calendar:
        lo, hi = (start.year, start.month), (end.year, end.month)
        if in_last_months is not None:
            first = month_start(dt.date(end.year, end.month, 1), -(in_last_months - 1))
            lo = max(lo, (first.year, first.month))
        return Window(True, lo, hi)
    lo, hi = month_index(anchor, start), month_index(anchor, end)
    if in_last_months is not None:
        lo = max(lo, hi - in_last_months + 1)
    return Window(False, lo, hi)


def status_of(done: int, required: int, as_of: dt.date, end: dt.date) -> str:
    """met (enough records), due (not enough yet, the period not over at ``as_of``) or
    missed (the period over without enough)."""
    if done >= required:
        return "met"
    return "missed" if as_of > end else "due"


def summary(items) -> dict[str, int]:
    """How many items (dicts with a ``status``) are met, due and missed."""
    out = dict.fromkeys(STATUSES, 0)
    for item in items:
        out[item["status"]] += 1
    return out


# --- the rules' common fields -----------------------------------------------------------------

def per_field(choices, default: str) -> ma.fields.String:
    """A rule's ``per``: one of ``choices`` (the rule's periods)."""
    return ma.fields.String(load_default=default, validate=validate.OneOf(list(choices)))


def align_field(choices, default: str) -> ma.fields.String:
    """A rule's ``align``: one of ``choices`` (where its periods start)."""
    return ma.fields.String(load_default=default, validate=validate.OneOf(list(choices)))


class PeriodRuleSchema(ma.Schema):
    """The fields a counting rule shares: ``key`` (unique among the tenant's rules),
    ``title`` (Chinese), ``count`` (at least this many per period, default 1) and
    ``in_last_months`` (only the period's last n months count). A subclass declares
    ``per`` and ``align`` (``per_field``, ``align_field``) and sets ``PERIODS``: each
    ``per`` and its length in months (None: not of a fixed length)."""

    PERIODS: ClassVar[dict[str, int | None]] = PERIOD_MONTHS

    key = ma.fields.String(required=True, validate=RULE_KEY)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    count = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    in_last_months = ma.fields.Integer(load_default=None, allow_none=True,
                                       validate=validate.Range(min=1, max=12))

    @ma.validates_schema
    def _window_fits_the_period(self, data, **kwargs):
        months = self.PERIODS.get(data.get("per"))
        last = data.get("in_last_months")
        if last is not None and months is not None and last > months:
            raise ma.ValidationError("in_last_months 超过周期长度", "in_last_months")
