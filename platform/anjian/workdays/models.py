"""The holiday calendar as data, and the deadline columns every deadline-bearing model shares.

chinese-calendar knows 2004-2026 only; the State Council publishes each year's
schedule (放假安排) in the autumn before. So the platform keeps the calendar in
its own tables: ``CalendarYear`` says a year is published (its exceptions are
known), ``CalendarDay`` lists the exceptions of published years: a weekday that
is a holiday (``is_workday`` False) or a weekend day that is a make-up working
day (调休, ``is_workday`` True). Platform tables, not tenant-owned: the calendar
is national.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.db import UTCDateTime
from anjian.extensions import db


class CalendarYear(db.Model):
    """A year whose holidays and make-up working days are known (published)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(40))  # "chinese_calendar" or "admin"
    notice: Mapped[str] = mapped_column(String(200), default="")  # e.g. 国办发明电〔2026〕号
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class CalendarDay(db.Model):
    """One exception to Monday-Friday in a published year."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year", ondelete="CASCADE"),
                                      index=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(40), default="")  # 春节, 国庆节, 调休上班 ...


class WorkdayDeadline:
    """Mixin: a deadline given as a date, or as N Chinese working days after a start date.

    ``deadline_provisional`` is true when the deadline reaches a year whose
    calendar is not published yet (counted Monday-Friday); entering that year
    recomputes every provisional deadline (``anjian.workdays.service``).
    """

    deadline_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    deadline_workdays: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
