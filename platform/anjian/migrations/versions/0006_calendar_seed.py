"""calendar seed: the holiday calendar 2004-2026 from chinese-calendar

Data only. Holidays that fall on a weekday and make-up working days that fall
on a weekend, as the package knows them; years it does not know (2027 on) are
published later by a platform admin (PUT /api/v1/calendar/<year>, or
`anjian calendar set`). Years already present are left alone.

Revision ID: 0006_calendar_seed
Revises: 0005_closed_loop
Create Date: 2026-11-23 16:00:00
"""
import datetime as dt
from importlib.metadata import PackageNotFoundError, version

import sqlalchemy as sa
from alembic import op

from anjian.tenancy import rls

revision = '0006_calendar_seed'
down_revision = '0005_closed_loop'
branch_labels = None
depends_on = None

SOURCE = "chinese_calendar"
NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

calendar_years = sa.table(
    "calendar_years",
    sa.column("year", sa.Integer), sa.column("source", sa.String),
    sa.column("notice", sa.String), sa.column("updated_by", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
calendar_days = sa.table(
    "calendar_days",
    sa.column("day", sa.Date), sa.column("year", sa.Integer),
    sa.column("is_workday", sa.Boolean), sa.column("name", sa.String),
)


def _package_days():
    import chinese_calendar

    days = {}
    for day, name in chinese_calendar.holidays.items():
        if day.weekday() < 5:
            days[day] = (False, NAMES_ZH.get(name, name))
    for day, name in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            days[day] = (True, f"{NAMES_ZH.get(name, name or '')}调休上班")
    return days


def upgrade():
    try:
        notice = f"chinesecalendar {version('chinesecalendar')}"
    except PackageNotFoundError:
        notice = "chinesecalendar"
    days = _package_days()
    present = {row[0] for row in op.get_bind().execute(sa.text("SELECT year FROM calendar_years"))}
    years = sorted({d.year for d in days} - present)
    rls.grant_app_role(op)
    now = dt.datetime.now(dt.UTC)
    if not years:
        return
    op.bulk_insert(calendar_years, [
        {"year": y, "source": SOURCE, "notice": notice, "updated_by": None, "updated_at": now}
        for y in years
    ])
    op.bulk_insert(calendar_days, [
        {"day": day, "year": day.year, "is_workday": working, "name": name}
        for day, (working, name) in sorted(days.items()) if day.year in years
    ])


def downgrade():
    op.execute(
        f"DELETE FROM calendar_days WHERE year IN "
        f"(SELECT year FROM calendar_years WHERE source = '{SOURCE}')"
    )
    op.execute(f"DELETE FROM calendar_years WHERE source = '{SOURCE}'")
