"""Expiry reminders of ledger entries (a certificate, a related party's agreement).

A kind names the days before expiry its entries are reminded (``remind_days``, e.g. 90,
30 and 7); an entry that has expired is told once more. Each entry keeps the last stage
told (``reminded_days``: the days of its last reminder, 0 for "expired"), so the daily
scan tells each stage once even after a missed day, and a new expiry starts afresh.
The enterprise's users hear of every stage; the bureau (who hears of major hazards) of
an expiry. Entries of a deleted (注销) enterprise are not reminded. Run by the tenant's
daily scan (``anjian.hazards.jobs.overdue_scan``).

Set-based, as the overdue scan (``anjian.hazards.scan``): Core statements built once that
name the tenant themselves, a fixed number whatever the number of entries due (the
entries due; who hears; one statement moving their stages and writing the
notifications; one summary audit row).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    Integer,
    String,
    any_,
    bindparam,
    column,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from anjian.audit.service import record_bulk_write
from anjian.clock import utcnow
from anjian.context import Context
from anjian.db import UTCDateTime
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.hazards.service import notified_users
from anjian.ledgers import kinds as kinds_
from anjian.ledgers.models import LedgerEntry
from anjian.notifications import Notification

KIND = "ledger_expiry"
BODY = "请及时办理复审、换证或续签，并更新台账。"
SCOPED = {"tenant_scoped_sql": True}
LABELS = ("name", "certificate_no", "post")  # what names an entry in a reminder, the first given

_ENTRY, _ENTERPRISE, _NOTE = LedgerEntry.__table__, Enterprise.__table__, Notification.__table__
_E, _FIRM = _ENTRY.c, _ENTERPRISE.c
_TENANT = bindparam("tenant", type_=Integer())

# The live entries that may be due: of a kind with reminders (``kinds``), expiring by the
# furthest first reminder (``horizon``; ``stage`` tells which are due), not told of their
# expiry; with the name of their enterprise, NULL for a deleted one. One table scanned and
# the name looked up per entry, as no join's plan then hangs on the estimate of a tenant's
# rows (a prepared statement's generic plan takes every tenant for the average one).
_CANDIDATES = (
    select(_E.id, _E.enterprise_id, _E.kind, *(_E.data[key].label(key) for key in LABELS),
           _E.expires_on, _E.reminded_days,
           select(_FIRM.name).where(_FIRM.tenant_id == _E.tenant_id, _FIRM.id == _E.enterprise_id,
                                    _FIRM.deleted_at.is_(None))
           .scalar_subquery().label("enterprise_name"))
    .where(_E.tenant_id == _TENANT, _E.deleted_at.is_(None), _E.expires_on.is_not(None),
           _E.expires_on <= bindparam("horizon", type_=Date()),
           _E.kind == any_(bindparam("kinds", type_=ARRAY(String()))),
           or_(_E.reminded_days.is_(None), _E.reminded_days > 0))
    .order_by(_E.expires_on, _E.id))

# The stages told (entry ids, stages, and the expiry they were computed from, as arrays).
# Only a row still as it was read moves (live, the same expiry, not yet at that stage or
# below), so that an entry edited or reminded since is left alone and not told about.
# ``reminded_days`` is the scan's bookkeeping, not a change of the entry: neither its
# version nor ``updated_at`` moves, so that a user editing the entry meanwhile (If-Match)
# is not refused.
_TOLD = (func.unnest(bindparam("ids", type_=ARRAY(Integer())),
                     bindparam("stages", type_=ARRAY(Integer())),
                     bindparam("expiries", type_=ARRAY(Date())))
         .table_valued(column("id", Integer), column("stage", Integer),
                       column("expires_on", Date))
         .render_derived(name="told"))
_MOVED = (update(_ENTRY)
          .where(_E.tenant_id == _TENANT, _E.id == _TOLD.c.id, _E.deleted_at.is_(None),
                 _E.expires_on == _TOLD.c.expires_on,
                 or_(_E.reminded_days.is_(None), _E.reminded_days > _TOLD.c.stage))
          .values(reminded_days=_TOLD.c.stage, updated_at=_E.updated_at)
          .returning(_E.id)
          .cte("moved"))
# The notifications of the entries moved (entry, recipient and title as arrays), written
# in the order given, in the same statement.
_NOTES = (func.unnest(bindparam("entries", type_=ARRAY(Integer())),
                      bindparam("users", type_=ARRAY(Integer())),
                      bindparam("titles", type_=ARRAY(String())))
          .table_valued(column("entry_id", Integer), column("user_id", Integer),
                        column("title", String), with_ordinality="n")
          .render_derived(name="note"))
_SENT = (insert(_NOTE).from_select(
    ["tenant_id", "user_id", "kind", "title", "body", "created_at"],
    select(_TENANT, _NOTES.c.user_id, literal(KIND), _NOTES.c.title,
           bindparam("body", type_=String()), bindparam("now", type_=UTCDateTime()))
    .join_from(_NOTES, _MOVED, _MOVED.c.id == _NOTES.c.entry_id)
    .order_by(_NOTES.c.n))
    .cte("sent"))
_TELL = select(_MOVED.c.id).add_cte(_SENT)


def stage(remind_days, days_left: int) -> int | None:
    """The reminder due for an entry ``days_left`` from expiry: the smallest of
    ``remind_days`` it is within, 0 once expired, None when none is due yet."""
    if days_left < 0:
        return 0
    within = [d for d in remind_days if days_left <= d]
    return min(within) if within else None


def _title(kind: dict, row, now: int, today: dt.date) -> str:
    label = next((value for value in (getattr(row, key) for key in LABELS) if value), f"#{row.id}")
    what = f"{row.enterprise_name}的{kind['title']}「{label}」"
    if now == 0:
        return f"{what}已于 {row.expires_on.isoformat()} 到期"
    days = (row.expires_on - today).days
    return f"{what}将于 {row.expires_on.isoformat()} 到期（还有 {days} 天）"


def remind_expiring(context: Context, today: dt.date) -> int:
    """Send the reminders due on ``today`` in the context's tenant (its writable scope);
    the number of entries told about. Moves each entry's ``reminded_days`` without
    bumping its version (see ``_MOVED``) and writes one summary audit row
    (``ledgerentry.expiry_reminders``) when anything was told; the caller commits."""
    kinds = {key: kind for key, kind in kinds_.kinds(context).items() if kind.get("remind_days")}
    if not kinds:
        return 0
    horizon = today + dt.timedelta(days=max(max(kind["remind_days"]) for kind in kinds.values()))
    rows = db.session.execute(_CANDIDATES, {"tenant": context.tenant_id, "kinds": sorted(kinds),
                                            "horizon": horizon}, execution_options=SCOPED).all()
    told = []
    for row in rows:
        if row.enterprise_name is None:  # a deleted enterprise's
            continue
        now = stage(kinds[row.kind]["remind_days"], (row.expires_on - today).days)
        if now is not None and (row.reminded_days is None or now < row.reminded_days):
            told.append((row, now))
    if not told:
        return 0
    users = notified_users(context, sorted({row.enterprise_id for row, _ in told}))
    entries, recipients, titles = [], [], []
    for row, now in told:
        title = _title(kinds[row.kind], row, now, today)[:300]
        to = users.get(row.enterprise_id, ())
        if now == 0:
            to = [*to, *users[None]]
        for user_id in dict.fromkeys(to):  # each once, as notify() does
            entries.append(row.id)
            recipients.append(user_id)
            titles.append(title)
    at = utcnow()
    moved = set(db.session.scalars(_TELL, {
        "tenant": context.tenant_id, "ids": [row.id for row, _ in told],
        "stages": [now for _, now in told], "expiries": [row.expires_on for row, _ in told],
        "entries": entries, "users": recipients, "titles": titles, "body": BODY, "now": at},
        execution_options=SCOPED))
    told = [(row, now) for row, now in told if row.id in moved]
    if told:  # one summary row: a Core write is not seen by the flush's audit
        sent = sum(entry in moved for entry in entries)
        record_bulk_write(
            db.session, tenant_id=context.tenant_id, actor_user_id=context.user_id,
            action="ledgerentry.expiry_reminders", entity_type="ledger_expiry_reminders",
            entity_id=today.isoformat(), at=at,
            after={"today": today.isoformat(), "reminded_days": {row.id: now for row, now in told},
                   "notifications": sent},
            detail=f"台账到期提醒：{len(told)} 条记录，通知 {sent} 条")
    return len(told)


__all__ = ["KIND", "remind_expiring", "stage"]
