"""Working-day arithmetic on the platform's own holiday calendar, and publishing that calendar.

The convention: ``add_workdays(start, n)`` is the n-th working day *after*
``start`` (``start`` itself is not counted; ``n == 0`` gives ``start``). A
working day is Monday-Friday, except the holidays of a published year, plus
that year's make-up working weekend days (调休上班). A year that is not
published yet (chinese-calendar stops at 2026; the State Council publishes each
year in the autumn before) is counted Monday-Friday and the answer says
``provisional=True``; publishing the year recomputes every provisional
deadline that reaches into it (``publish_year``).

The cache: each process keeps the calendar (a few hundred rows) per app. It
is checked against a version read from the database (years, days and the
latest ``calendar_years.updated_at``: one small query) at most once per app
context's session, i.e. once per request, job or CLI command, and again after
``RECHECK_SECONDS`` in a long-lived one. A publish in this process drops the
cache at once; one in another process is seen by the next request or job.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import chinese_calendar
from sqlalchemy import func, select

from anjian.clock import utcnow
from anjian.errors import Refused
from anjian.extensions import db, this_app
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, TenantOwned, scoped
from anjian.workdays.models import CalendarDay, CalendarYear, WorkdayDeadline

ONE_DAY = dt.timedelta(days=1)
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_WORKDAYS = 1000  # about four years; a longer deadline is a mistake
RECHECK_SECONDS = 60.0
WEEKDAYS_ZH = "一二三四五六日"
PACKAGE_SOURCE = "chinese_calendar"
ADMIN_SOURCE = "admin"

# chinese-calendar's holiday names, in Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
MAKE_UP_SUFFIX = "调休上班"


class Deadline(NamedTuple):
    """A deadline date; ``provisional`` when it was counted through a year not yet published."""

    date: dt.date
    provisional: bool


class CalendarError(Refused):
    """The calendar data was refused; ``errors`` maps each entry (``holidays[2]``) to reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("；".join(f"{key}: {m}" for key, messages in errors.items()
                                  for m in messages), errors=errors)


def weekday_zh(day: dt.date) -> str:
    return f"星期{WEEKDAYS_ZH[day.weekday()]}"


def unpublished_note(years: Iterable[int]) -> str:
    listed = "、".join(str(y) for y in sorted(years))
    return f"{listed} 年放假安排尚未发布，按周一至周五计算（暂定），发布后自动重新计算"


# --- the calendar snapshot and its arithmetic ---------------------------------------------

@dataclass(frozen=True)
class Calendar:
    """The published years and their exceptions to Monday-Friday, at one version."""

    years: frozenset[int] = frozenset()
    holidays: frozenset[dt.date] = frozenset()  # weekdays off in published years
    workdays: frozenset[dt.date] = frozenset()  # weekend days worked in published years
    version: tuple = field(default=(), compare=False)

    def published(self, year: int) -> bool:
        return year in self.years

    def is_workday(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.weekday() < 5

    def add_workdays(self, start: dt.date, days: int) -> Deadline:
        _check_days(days)
        day, counted, provisional = start, 0, False
        while counted < days:
            day += ONE_DAY
            if day.year not in self.years:
                provisional = True
            if self.is_workday(day):
                counted += 1
        return Deadline(day, provisional)

    def workdays_between(self, first: dt.date, last: dt.date) -> int:
        """Working days from ``first`` to ``last``, both included (0 when ``last < first``)."""
        if last < first:
            return 0
        count = _weekdays_between(first, last)
        count -= sum(1 for d in self.holidays if first <= d <= last)
        count += sum(1 for d in self.workdays if first <= d <= last)
        return count

    def unpublished_years(self, first: dt.date, last: dt.date) -> list[int]:
        return [y for y in range(first.year, last.year + 1) if y not in self.years]


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError("workdays must be an int")
    if not 0 <= days <= MAX_WORKDAYS:
        raise ValueError(f"workdays must be between 0 and {MAX_WORKDAYS}")


def _weekdays_between(first: dt.date, last: dt.date) -> int:
    """Monday-Friday days from ``first`` to ``last`` inclusive (``first <= last``)."""
    full_weeks, rest = divmod((last - first).days + 1, 7)
    start = first.weekday()
    return full_weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)


# --- the per-process cache ------------------------------------------------------------------

class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.calendar: Calendar | None = None


_CACHE_KEY = "anjian.workdays"
_CHECKED_KEY = "_anjian_calendar_checked"


def _cache() -> _Cache:
    ext = this_app().extensions
    cache = ext.get(_CACHE_KEY)
    if cache is None:
        cache = ext.setdefault(_CACHE_KEY, _Cache())
    return cache


def _version() -> tuple:
    """Cheap and changes whenever the calendar does (publish bumps ``updated_at``)."""
    row = db.session.execute(select(
        select(func.count()).select_from(CalendarYear).scalar_subquery(),
        select(func.max(CalendarYear.updated_at)).scalar_subquery(),
        select(func.count()).select_from(CalendarDay).scalar_subquery(),
    )).one()
    return tuple(str(v) for v in row)


def _load(version: tuple) -> Calendar:
    """The calendar as the session sees it; read the version *before* the rows, so that a
    concurrent publish can only make the cache reload once more, never keep stale rows."""
    years = frozenset(db.session.scalars(select(CalendarYear.year)))
    holidays, workdays = set(), set()
    for day, is_workday in db.session.execute(select(CalendarDay.day, CalendarDay.is_workday)):
        if is_workday and day.weekday() >= 5:
            workdays.add(day)
        elif not is_workday and day.weekday() < 5:
            holidays.add(day)
    return Calendar(years, frozenset(holidays), frozenset(workdays), version)


def current() -> Calendar:
    """The calendar, from the cache when it is known to be current."""
    cache = _cache()
    info = db.session.info  # the app context's session: one per request, job or command
    checked = info.get(_CHECKED_KEY)
    calendar = cache.calendar
    if calendar is not None and checked is not None and time.monotonic() - checked < RECHECK_SECONDS:
        return calendar
    version = _version()
    with cache.lock:
        if cache.calendar is None or cache.calendar.version != version:
            cache.calendar = _load(version)
        calendar = cache.calendar
    info[_CHECKED_KEY] = time.monotonic()
    return calendar


def invalidate() -> None:
    """Forget the cached calendar of this app (the next use reloads it)."""
    cache = _cache()
    with cache.lock:
        cache.calendar = None


# --- the public arithmetic --------------------------------------------------------------

def add_workdays(start: dt.date, days: int) -> Deadline:
    """The ``days``-th working day after ``start`` (``start`` not counted; 0 gives ``start``)."""
    return current().add_workdays(start, days)


def is_workday(day: dt.date) -> bool:
    """Whether ``day`` is a working day (Monday-Friday for a year not yet published)."""
    return current().is_workday(day)


def workdays_between(first: dt.date, last: dt.date) -> int:
    """Working days from ``first`` to ``last``, both included, like chinese_calendar.get_workdays."""
    return current().workdays_between(first, last)


def is_published(year: int) -> bool:
    return current().published(year)


def set_deadline(obj: WorkdayDeadline, start: dt.date, workdays: int) -> Deadline:
    """Give ``obj`` a deadline of ``workdays`` working days after ``start``."""
    deadline = add_workdays(start, workdays)
    obj.deadline_start, obj.deadline_workdays = start, workdays
    obj.deadline, obj.deadline_provisional = deadline.date, deadline.provisional
    return deadline


def set_deadline_date(obj: WorkdayDeadline, date: dt.date | None) -> None:
    """Give ``obj`` a fixed deadline date (or none): never provisional, never recomputed."""
    obj.deadline_start = obj.deadline_workdays = None
    obj.deadline, obj.deadline_provisional = date, False


# --- publishing a year ------------------------------------------------------------------------

Entry = tuple[dt.date, str] | Mapping


def _entry(raw) -> tuple[object, object]:
    if isinstance(raw, Mapping):
        return raw.get("date"), raw.get("name", "")
    if isinstance(raw, list | tuple) and len(raw) in (1, 2):
        return raw[0], raw[1] if len(raw) == 2 else ""
    return raw, ""


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def validate_year(year: int, holidays: Iterable[Entry], workdays: Iterable[Entry],
                  notice: str = "") -> dict[dt.date, tuple[bool, str]]:
    """Check one year's data; every problem is reported at once, each under its entry."""
    errors: dict[str, list[str]] = {}

    def refuse(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        refuse("year", f"年份须在 {MIN_YEAR} 到 {MAX_YEAR} 之间")
    if not isinstance(notice, str) or len(notice) > 200:
        refuse("notice", "发布文号/说明须为不超过 200 个字符的文本")
    holidays, workdays = list(holidays or ()), list(workdays or ())
    if not holidays:
        refuse("holidays", "至少须列出一天放假日期")
    entries: dict[dt.date, tuple[bool, str]] = {}
    seen: dict[dt.date, str] = {}
    for kind, items, working in (("holidays", holidays, False), ("workdays", workdays, True)):
        for index, raw in enumerate(items):
            key = f"{kind}[{index}]"
            value, name = _entry(raw)
            day = _as_date(value)
            if day is None:
                refuse(key, f"日期无效（应为 YYYY-MM-DD）: {value!r}")
                continue
            if not isinstance(name, str) or len(name) > 40:
                refuse(key, f"{day} 的名称须为不超过 40 个字符的文本")
                name = ""
            if isinstance(year, int) and day.year != year:
                refuse(key, f"{day} 不在 {year} 年内")
            if not working and day.weekday() >= 5:
                refuse(key, f"{day} 是{weekday_zh(day)}，放假日期须为周一至周五（周末本就休息）")
            if working and day.weekday() < 5:
                refuse(key, f"{day} 是{weekday_zh(day)}，调休上班日期须为周六或周日")
            if day in seen:
                refuse(key, f"{day} 重复（已在 {seen[day]} 中列出）")
                continue
            seen[day] = key
            entries[day] = (working, name.strip())
    if errors:
        raise CalendarError(errors)
    return entries


def _actor_id(actor) -> int | None:
    return getattr(actor, "id", actor)


def _write_year(year: int, entries: dict[dt.date, tuple[bool, str]], notice: str, source: str,
                actor_id: int | None) -> bool:
    """Make the stored year equal to ``entries``, row by row (each change is audited).
    Returns whether anything changed; an unchanged year is not touched at all."""
    row = db.session.get(CalendarYear, year)
    created = row is None
    if created:
        row = CalendarYear(year=year, source=source, notice=notice, updated_by=actor_id,
                           updated_at=utcnow())
        db.session.add(row)
        db.session.flush()  # the year before its days (no relationship orders them)
    existing = {d.day: d for d in db.session.scalars(
        select(CalendarDay).where(CalendarDay.year == year))}
    changed = created or row.notice != notice or row.source != source
    for day, obj in existing.items():
        if day not in entries:
            db.session.delete(obj)
            changed = True
    for day, (working, name) in sorted(entries.items()):
        obj = existing.get(day)
        if obj is None:
            db.session.add(CalendarDay(day=day, year=year, is_workday=working, name=name))
            changed = True
        elif obj.is_workday != working or obj.name != name:
            obj.is_workday, obj.name = working, name
            changed = True
    if changed and not created:
        row.source, row.notice, row.updated_by = source, notice, actor_id
        row.updated_at = utcnow()  # the cache version: bumped even if only days changed
    db.session.flush()
    return changed


def deadline_classes() -> list[type]:
    """Every mapped class with the WorkdayDeadline columns (each table once)."""
    out = []
    for mapper in db.Model.registry.mappers:
        if not issubclass(mapper.class_, WorkdayDeadline):
            continue
        if mapper.inherits is not None and issubclass(mapper.inherits.class_, WorkdayDeadline):
            continue  # its rows are the base class's rows
        out.append(mapper.class_)
    return sorted(out, key=lambda cls: cls.__name__)


def _recompute_rows(cls, calendar: Calendar, first: dt.date, last: dt.date) -> int:
    rows = db.session.scalars(select(cls).where(
        cls.deadline_provisional.is_(True),
        cls.deadline_start.is_not(None),
        cls.deadline_workdays.is_not(None),
        # a provisional count ran through (start, deadline]: it reached [first, last]
        cls.deadline_start < last,
        cls.deadline >= first,
    )).all()
    for obj in rows:
        deadline = calendar.add_workdays(obj.deadline_start, obj.deadline_workdays)
        obj.deadline, obj.deadline_provisional = deadline.date, deadline.provisional
    return len(rows)


def recompute_provisional(first_year: int, last_year: int, actor=None,
                          calendar: Calendar | None = None) -> int:
    """Recount every provisional deadline reaching into ``first_year..last_year``, in every
    tenant (each in its own scope, so RLS applies and each change is audited there)."""
    calendar = calendar or current()
    first, last = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    classes = deadline_classes()
    owned = [cls for cls in classes if issubclass(cls, TenantOwned)]
    count = sum(_recompute_rows(cls, calendar, first, last)
                for cls in classes if cls not in owned)
    db.session.flush()
    if not owned:
        return count
    # Every tenant, deactivated ones included: their deadlines must be right on reactivation.
    for tenant_id in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        with scoped(db.session, Scope.tenant(tenant_id, _actor_id(actor))):
            for cls in owned:
                count += _recompute_rows(cls, calendar, first, last)
            db.session.flush()  # inside the tenant's scope, which the flush checks
    return count


def publish_year(year: int, holidays: Iterable[Entry] = (), workdays: Iterable[Entry] = (),
                 notice: str = "", actor=None, *, source: str = ADMIN_SOURCE) -> int:
    """Replace ``year``'s holidays and make-up working days, then recompute the provisional
    deadlines reaching into it; returns how many were recomputed. The caller commits."""
    entries = validate_year(year, holidays, workdays, notice)
    _write_year(year, entries, notice.strip(), source, _actor_id(actor))
    return _reload_and_recompute(year, year, actor)


def _reload_and_recompute(first_year: int, last_year: int, actor) -> int:
    """After writing the calendar: drop the cache and recount with the rows just written."""
    invalidate()
    return recompute_provisional(first_year, last_year, actor, _load(_version()))


# --- seeding from chinese-calendar ------------------------------------------------------------

@dataclass
class SeedReport:
    years: dict[int, str] = field(default_factory=dict)  # created / updated / unchanged / kept
    recomputed: int = 0

    def lines(self) -> list[str]:
        return [f"{year}\t{status}" for year, status in sorted(self.years.items())]


def package_years() -> dict[int, dict[dt.date, tuple[bool, str]]]:
    """What chinese-calendar knows: per year, weekday holidays and weekend make-up days."""
    out: dict[int, dict[dt.date, tuple[bool, str]]] = {}
    for day, name in chinese_calendar.holidays.items():
        if day.weekday() < 5:
            out.setdefault(day.year, {})[day] = (False, HOLIDAY_NAMES_ZH.get(name, name))
    for day, name in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            label = HOLIDAY_NAMES_ZH.get(name, name or "")
            out.setdefault(day.year, {})[day] = (True, f"{label}{MAKE_UP_SUFFIX}")
    return out


def package_notice() -> str:
    try:
        return f"chinesecalendar {importlib.metadata.version('chinesecalendar')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "chinesecalendar"


def seed_from_package(years: Iterable[int] | None = None, actor=None) -> SeedReport:
    """Fill the calendar from chinese-calendar for the years it knows (all, or ``years``).

    Idempotent: an unchanged year is not touched; a year an admin published is kept.
    The caller commits.
    """
    known = package_years()
    wanted = sorted(known) if years is None else sorted(set(years))
    unknown = [y for y in wanted if y not in known]
    if unknown:
        first, last = min(known), max(known)
        raise CalendarError({"years": [
            f"chinese-calendar 只收录 {first}–{last} 年，没有: {', '.join(map(str, unknown))}"]})
    report, notice = SeedReport(), package_notice()
    for year in wanted:
        row = db.session.get(CalendarYear, year)
        if row is not None and row.source != PACKAGE_SOURCE:
            report.years[year] = "kept (published by an admin)"
            continue
        entries = known[year]
        holidays = [(d, n) for d, (w, n) in entries.items() if not w]
        workdays = [(d, n) for d, (w, n) in entries.items() if w]
        entries = validate_year(year, holidays, workdays, notice)
        changed = _write_year(year, entries, notice, PACKAGE_SOURCE, _actor_id(actor))
        report.years[year] = ("created" if row is None else "updated") if changed else "unchanged"
    touched = [y for y, status in report.years.items() if status in ("created", "updated")]
    if touched:
        report.recomputed = _reload_and_recompute(min(touched), max(touched), actor)
    return report
