"""Expiry reminders of ledger entries (a certificate, a related party's agreement).

A kind names the days before expiry its entries are reminded (``remind_days``, e.g. 90,
30 and 7); an entry that has expired is told once more. Each entry keeps the last stage
told (``reminded_days``: the days of its last reminder, 0 for "expired"), so the daily
scan tells each stage once even after a missed day, and a new expiry starts afresh.
The enterprise's users hear of every stage; the bureau (who hears of major hazards) of
an expiry. Run by the tenant's daily scan (``anjian.hazards.jobs.overdue_scan``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select

from anjian.context import Context
from anjian.extensions import db
from anjian.hazards.service import notified_users
from anjian.ledgers import kinds as kinds_
from anjian.ledgers.models import LedgerEntry
from anjian.ledgers.service import enterprise_names
from anjian.notifications import notify

KIND = "ledger_expiry"


def stage(remind_days, days_left: int) -> int | None:
    """The reminder due for an entry ``days_left`` from expiry: the smallest of
    ``remind_days`` it is within, 0 once expired, None when none is due yet."""
    if days_left < 0:
        return 0
    within = [d for d in remind_days if days_left <= d]
    return min(within) if within else None


def _what(kind: dict, entry: LedgerEntry) -> str:
    data = entry.data or {}
    label = data.get("name") or data.get("certificate_no") or data.get("post") or f"#{entry.id}"
    return f"{kind['title']}「{label}」"


def remind_expiring(context: Context, today: dt.date) -> int:
    """Send the reminders due on ``today`` in the context's tenant; the number of entries
    told about. One statement finds them whatever the number of kinds; the caller commits."""
    kinds = {key: kind for key, kind in kinds_.kinds(context).items() if kind.get("remind_days")}
    if not kinds:
        return 0
    due = [and_(LedgerEntry.kind == key,
                LedgerEntry.expires_on <= today + dt.timedelta(days=max(kind["remind_days"])))
           for key, kind in kinds.items()]
    entries = list(db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.deleted_at.is_(None), LedgerEntry.expires_on.is_not(None),
                                  or_(LedgerEntry.reminded_days.is_(None), LedgerEntry.reminded_days > 0),
                                  or_(*due))
        .order_by(LedgerEntry.expires_on, LedgerEntry.id)))
    told = []
    for entry in entries:
        now = stage(kinds[entry.kind]["remind_days"], (entry.expires_on - today).days)
        if now is not None and (entry.reminded_days is None or now < entry.reminded_days):
            told.append((entry, now))
    if not told:
        return 0
    users = notified_users(context, sorted({e.enterprise_id for e, _ in told}))
    names = enterprise_names(e.enterprise_id for e, _ in told)
    for entry, now in told:
        kind = kinds[entry.kind]
        what = f"{names.get(entry.enterprise_id, '')}的{_what(kind, entry)}"
        if now == 0:
            title = f"{what}已于 {entry.expires_on.isoformat()} 到期"
            recipients = [*users.get(entry.enterprise_id, ()), *users[None]]
        else:
            days = (entry.expires_on - today).days
            title = f"{what}将于 {entry.expires_on.isoformat()} 到期（还有 {days} 天）"
            recipients = list(users.get(entry.enterprise_id, ()))
        notify(context, recipients, kind=KIND, title=title,
               body="请及时办理复审、换证或续签，并更新台账。")
        entry.reminded_days = now
    db.session.flush()
    return len(told)
