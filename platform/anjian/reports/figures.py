"""Figures staff enter per period (填报数据) where the platform cannot know them, read by
a kind's ``compute``.

A kind declares them (``entered_figures``: ``[{"key", "label"}]``) and their period
(``figures_period``: ``"week"``, the default, ``"month"`` or ``"day"``); staff PUT
them at ``/reports/figures/<kind>/<period>`` (the period's first day: a week's
Monday, a month's 1st); each row is an ``EnteredFigure``, audited like any write.
``compute`` reads them with these functions, inside its snapshot and tenant scope,
by SQL (one statement each)::

    from anjian.reports.figures import entered_latest, entered_totals, entered_values

    week = entered_values("tj_dispatch_weekly", monday)          # {"media_programmes": Decimal("3")}
    since_start = entered_totals("tj_dispatch_weekly", since=start, until=monday)
    staff = entered_latest("tj_dispatch_weekly", ["inspectors"], since=start, until=monday)

Keys nobody entered are absent: use ``.get(key, 0)``. Values are ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import and_, func, select, tuple_

from anjian.extensions import db
from anjian.reports.models import EnteredFigure

CENT = decimal.Decimal("0.01")  # the column's scale (Numeric(16, 2))


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the ``period`` ("week", "month" or "day") that holds ``day``."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "day":
        return day
    raise ValueError(f"unknown period {period!r}")


def _of(kind: str, office: str | None, since: dt.date | None = None,
        until: dt.date | None = None) -> list:
    """The conditions on a kind's rows: one office's (``""`` the unit's own), or every
    office's (``None``), in the periods starting in ``[since, until]``."""
    where = [EnteredFigure.report_kind == kind]
    if office is not None:
        where.append(EnteredFigure.office == office)
    if since is not None:
        where.append(EnteredFigure.period >= since)
    if until is not None:
        where.append(EnteredFigure.period <= until)
    return where


def entered_values(kind: str, period: dt.date, *, office: str | None = None
                   ) -> dict[str, decimal.Decimal]:
    """The figures entered for one period: ``{key: value}``; the unit's and its sections'
    summed, or one ``office``'s (``""``: the unit's own)."""
    rows = db.session.execute(select(EnteredFigure.key, func.sum(EnteredFigure.value))
                              .where(*_of(kind, office), EnteredFigure.period == period)
                              .group_by(EnteredFigure.key))
    return {key: decimal.Decimal(str(total)).quantize(CENT) for key, total in rows}


def entered_totals(kind: str, *, since: dt.date | None = None, until: dt.date | None = None,
                   office: str | None = None) -> dict[str, decimal.Decimal]:
    """Each key's sum over the periods starting in ``[since, until]`` (both optional):
    cumulative figures, e.g. since a campaign started up to the report's week. Over the
    unit's and its sections' figures, or one ``office``'s."""
    stmt = (select(EnteredFigure.key, func.sum(EnteredFigure.value))
            .where(*_of(kind, office, since, until)).group_by(EnteredFigure.key))
    return {key: decimal.Decimal(str(total)).quantize(CENT)
            for key, total in db.session.execute(stmt)}


def entered_latest(kind: str, keys, *, since: dt.date | None = None,
                   until: dt.date | None = None, office: str | None = None
                   ) -> dict[str, decimal.Decimal]:
    """Each of ``keys``' value in the latest period starting in ``[since, until]`` it was
    entered for: a stock (people on staff) or a yes/no, where a sum over periods means
    nothing. Each office's latest, summed (a yes/no: how many say yes), or one
    ``office``'s."""
    where = and_(*_of(kind, office, since, until), EnteredFigure.key.in_(list(keys)))
    newest = (select(EnteredFigure.key, EnteredFigure.office, func.max(EnteredFigure.period))
              .where(where).group_by(EnteredFigure.key, EnteredFigure.office))
    rows = db.session.execute(
        select(EnteredFigure.key, func.sum(EnteredFigure.value))
        .where(where, tuple_(EnteredFigure.key, EnteredFigure.office, EnteredFigure.period)
               .in_(newest))
        .group_by(EnteredFigure.key))
    return {key: decimal.Decimal(str(total)).quantize(CENT) for key, total in rows}
