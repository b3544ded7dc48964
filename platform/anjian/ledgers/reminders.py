"""Expiry reminders of ledger entries (a certificate, a related party's agreement).

A kind names the days before expiry its entries are reminded (``remind_days``, e.g. 90,
30 and 7); an entry that has expired is told once more. Each entry keeps the last stage
told (``reminded_days``: the days of its last reminder, 0 for "expired"), so the daily
scan tells each stage once even after a missed day, and a new expiry starts afresh.
The enterprise's users hear of every stage; the bureau (who hears of major hazards) of
an expiry. Entries of a deleted (注销) enterprise are not reminded. Run by the tenant's
daily scan (``anjian.hazards.jobs.overdue_scan``).

Set-based, as the overdue scan (``anjian.hazards.scan``): Core statements built once that
name the tenant themselves, a fixed number whatever the number of entries due: the
entries that may be due, read (their stages and titles are the kinds' rules, in Python);
then one statement moving the stages told and writing the notifications to whoever hears
of them (``anjian.hazards.service.hearers``); then the summary audit row. Each round trip
was a good part of a small tenant's daily scan (``bench/ledgers.py``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    column,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from anjian.audit.service import record_bulk_write
from anjian.clock import utcnow
from anjian.context import Context
from anjian.db import UTCDateTime
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.hazards.service import hearers
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
_NOW = bindparam("now", type_=UTCDateTime())

# The live entries that may be due: of a kind with reminders (``kinds``), expiring by the
# furthest first reminder (``horizon``; ``stage`` tells which are due), not told of their
# expiry; with the name of their enterprise, NULL for a deleted one. One table scanned and
# the name looked up per entry, as no join's plan then hangs on the estimate of a tenant's
# rows (a prepared statement's generic plan takes every tenant for the average one).
_CANDIDATES = (
    select(_E.id, _E.enterprise_id, _E.kind, *(_E.data[key].astext.label(key) for key in LABELS),
           _E.expires_on, _E.reminded_days,
           select(_FIRM.name).where(_FIRM.tenant_id == _E.tenant_id, _FIRM.id == _E.enterprise_id,
                                    _FIRM.deleted_at.is_(None))
           .scalar_subquery().label("enterprise_name"))
    .where(_E.tenant_id == _TENANT, _E.deleted_at.is_(None), _E.expires_on.is_not(None),
           _E.expires_on <= bindparam("horizon", type_=Date()),
           _E.kind == any_(bindparam("kinds", type_=ARRAY(String()))),
           or_(_E.reminded_days.is_(None), _E.reminded_days > 0))
    .order_by(_E.expires_on, _E.id))

# The entries told (ids, enterprises, stages, the expiry they were computed from and the
# titles, as arrays, in the order told).
_TOLD = (select(func.unnest(bindparam("ids", type_=ARRAY(Integer())),
                            bindparam("enterprises", type_=ARRAY(Integer())),
                            bindparam("stages", type_=ARRAY(Integer())),
                            bindparam("expiries", type_=ARRAY(Date())),
                            bindparam("titles", type_=ARRAY(String())))
                .table_valued(column("id", Integer), column("enterprise_id", Integer),
                              column("stage", Integer), column("expires_on", Date),
                              column("title", String), with_ordinality="n")
                .render_derived(name="told"))
         .cte("told"))
# Their stages moved. Only a row still as it was read moves (live, the same expiry, not
# yet at that stage or below), so that an entry edited or reminded since is left alone
# and not told about. ``reminded_days`` is the scan's bookkeeping, not a change of the
# entry: neither its version nor ``updated_at`` moves, so that a user editing the entry
# meanwhile (If-Match) is not refused.
_MOVED = (update(_ENTRY)
          .where(_E.tenant_id == _TENANT, _E.id == _TOLD.c.id, _E.deleted_at.is_(None),
                 _E.expires_on == _TOLD.c.expires_on,
                 or_(_E.reminded_days.is_(None), _E.reminded_days > _TOLD.c.stage))
          .values(reminded_days=_TOLD.c.stage, updated_at=_E.updated_at)
          .returning(_E.id, _TOLD.c.stage)
          .cte("moved"))
# Who hears (``anjian.hazards.service.hearers``, the rule ``notified_users`` reads), read
# in the same statement: the bureau hears of an expiry, the told entries' enterprises'
# users of every stage. A user has one membership in a tenant, so no one hears of an
# entry twice. Each entry meets its enterprise's users on an equality (hashed for a big
# tenant) and the bureau apart (a few), not every hearer of the tenant.
_HEARS = hearers(_TENANT, select(_TOLD.c.enterprise_id)).cte("hears").prefix_with("MATERIALIZED")
_BUREAU = select(_HEARS.c.user_id).where(_HEARS.c.bureau).cte("bureau").prefix_with("MATERIALIZED")
_TO = union_all(
    select(_TOLD.c.id, _TOLD.c.n, _TOLD.c.title, _HEARS.c.user_id, _HEARS.c.bureau)
    .join_from(_TOLD, _HEARS, and_(_HEARS.c.enterprise_id == _TOLD.c.enterprise_id,
                                   _HEARS.c.bureau.is_(False))),
    select(_TOLD.c.id, _TOLD.c.n, _TOLD.c.title, _BUREAU.c.user_id, true())
    .join_from(_TOLD, _BUREAU, true())
    .where(_TOLD.c.stage == 0),
).subquery("recipient")
# The notifications of the entries moved, in the order told: each entry's enterprise's
# users, then the bureau, each by user id.
_SENT = (insert(_NOTE).from_select(
    ["tenant_id", "user_id", "kind", "title", "body", "created_at"],
    select(_TENANT, _TO.c.user_id, literal(KIND), _TO.c.title,
           bindparam("body", type_=String()), _NOW)
    .where(_TO.c.id.in_(select(_MOVED.c.id)))
    .order_by(_TO.c.n, _TO.c.bureau, _TO.c.user_id))
    .returning(_NOTE.c.id)
    .cte("sent"))
# The entries moved, their stages and how many notifications were written.
_TELL = select(_MOVED.c.id, _MOVED.c.stage, select(func.count()).select_from(_SENT).scalar_subquery())


def stage(remind_days, days_left: int) -> int | None:
    """The reminder due for an entry ``days_left`` from expiry: the smallest of
    ``remind_days`` it is within, 0 once expired, None when none is due yet."""
    if days_left < 0:
        return 0
    within = [d for d in remind_days if days_left <= d]
    return min(within) if within else None


def _title(kind: kinds_.Outline, row, now: int, today: dt.date) -> str:
    label = next((value for value in (getattr(row, key) for key in LABELS) if value), f"#{row.id}")
    what = f"{row.enterprise_name}的{kind.title}「{label}」"
    if now == 0:
        return f"{what}已于 {row.expires_on.isoformat()} 到期"
    days = (row.expires_on - today).days
    return f"{what}将于 {row.expires_on.isoformat()} 到期（还有 {days} 天）"


def remind_expiring(context: Context, today: dt.date) -> int:
    """Send the reminders due on ``today`` in the context's tenant (its writable scope);
    the number of entries told about. Moves each entry's ``reminded_days`` without
    bumping its version (see ``_MOVED``) and writes one summary audit row
    (``ledgerentry.expiry_reminders``) when anything was told; the caller
    commits."""
    kinds = {key: kind for key, kind in kinds_.outlines(context).items() if kind.remind_days}
    if not kinds:
        return 0
    horizon = today + dt.timedelta(days=max(max(kind.remind_days) for kind in kinds.values()))
    rows = db.session.execute(_CANDIDATES, {"tenant": context.tenant_id, "kinds": sorted(kinds),
                                            "horizon": horizon}, execution_options=SCOPED).all()
    told = []
    for row in rows:
        if row.enterprise_name is None:  # a deleted enterprise's
            continue
        now = stage(kinds[row.kind].remind_days, (row.expires_on - today).days)
        if now is not None and (row.reminded_days is None or now < row.reminded_days):
            told.append((row, now))
    if not told:
        return 0
    at = utcnow()
    moved = db.session.execute(_TELL, {
        "tenant": context.tenant_id, "ids": [row.id for row, _ in told],
        "enterprises": [row.enterprise_id for row, _ in told],
        "stages": [now for _, now in told], "expiries": [row.expires_on for row, _ in told],
        "titles": [_title(kinds[row.kind], row, now, today)[:300] for row, now in told],
        "body": BODY, "now": at}, execution_options=SCOPED).all()
    if moved:  # one summary row: a Core write is not seen by the flush's audit
        sent = moved[0][2]
        record_bulk_write(
            db.session, tenant_id=context.tenant_id, actor_user_id=context.user_id,
            action="ledgerentry.expiry_reminders", entity_type="ledger_expiry_reminders",
            entity_id=today.isoformat(), at=at,
            after={"today": today.isoformat(), "reminded_days": {entry: now for entry, now, _ in moved},
                   "notifications": sent},
            detail=f"台账到期提醒：{len(moved)} 条记录，通知 {sent} 条")
    return len(moved)


__all__ = ["KIND", "remind_expiring", "stage"]
