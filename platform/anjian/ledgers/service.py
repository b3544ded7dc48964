"""Ledger entries: create, read, change and delete an enterprise's entries of a kind, each
change kept in the entry's history; where each entry stands (valid, expiring, expired,
review due); and whether a person is certified for a kind of special work on a day.

Whose entries an actor reaches is the enterprise visibility rule
(``anjian.enterprises.visibility``): an enterprise user its own, a service organisation
the enterprises it serves, the bureau all. A hidden entry is "not found". The caller
commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import marshmallow as ma
from sqlalchemy import and_, false, func, or_, select

from anjian import evidence
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import can_see_enterprise, enterprise_clause, require_enterprise
from anjian.errors import NotFound, Refused, translate
from anjian.extensions import db
from anjian.ledgers import kinds as kinds_
from anjian.ledgers.models import LedgerEntry, LedgerEvent
from anjian.xlsx import write_table

SPECIAL_WORKERS = "special_workers"
# Where an entry stands (``standing``), key → label.
STANDINGS = {
    "valid": "有效",
    "expiring": "即将到期",
    "expired": "已过期",
    "review_due": "待复审",
    "review_overdue": "逾期未复审",
}


def _load(kind: dict, data, partial: bool = False) -> dict:
    if not isinstance(data, dict):
        raise Refused("台账内容须为对象（字段 → 值）", field="data")
    try:
        return kinds_.data_schema(kind, partial=partial).load(data)
    except ma.ValidationError as exc:
        errors = {f"data.{key}": value if isinstance(value, list) else [str(value)]
                  for key, value in translate(exc.messages).items()}
        first = next(iter(errors.values()))[0]
        raise Refused(f"台账内容无效：{first}", errors=errors) from exc


def apply_data(entry: LedgerEntry, kind: dict, data: dict) -> None:
    """Set an entry's data and the dates the core keeps from it."""
    entry.data = data
    entry.dated_on, expires_on, entry.review_due_on = kinds_.dates(kind, data)
    if expires_on != entry.expires_on:
        entry.reminded_days = None  # a new expiry is reminded afresh
    entry.expires_on = expires_on


def _event(context: Context, entry: LedgerEntry, action: str, changes: dict) -> LedgerEvent:
    event = LedgerEvent(entry_id=entry.id, action=action, changes=changes,
                        actor_user_id=context.user_id)
    db.session.add(event)
    return event


def _changes(before: dict, after: dict) -> dict:
    return {key: [before.get(key), after.get(key)]
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)}


def _attach(context: Context, entry: LedgerEntry, evidence_ids: Iterable[int] | None) -> None:
    if evidence_ids:
        evidence.attach(context, evidence_ids, can_see_enterprise, ledger_entry_id=entry.id,
                        enterprise_id=entry.enterprise_id)


def create_entry(context: Context, kind_key: str, *, enterprise_id: int, data,
                 evidence_ids: Iterable[int] | None = None, action: str = "create") -> LedgerEntry:
    """A new entry of ``kind_key`` for an enterprise the actor sees."""
    kind = kinds_.kind_of(context, kind_key)
    require_enterprise(context, enterprise_id, "企业")
    if db.session.get(Enterprise, enterprise_id) is None:
        raise NotFound("企业不存在", field="enterprise_id")
    values = kinds_.stored(_load(kind, data))
    entry = LedgerEntry(enterprise_id=enterprise_id, kind=kind["key"], created_by=context.user_id)
    apply_data(entry, kind, values)
    db.session.add(entry)
    db.session.flush()
    _event(context, entry, action, _changes({}, values))
    _attach(context, entry, evidence_ids)
    return entry


def update_entry(context: Context, entry: LedgerEntry, data=None,
                 evidence_ids: Iterable[int] | None = None) -> LedgerEntry:
    """Change some fields of an entry (a field given as null or "" is cleared)."""
    kind = kinds_.kind_of(context, entry.kind)
    before = dict(entry.data or {})
    if data:
        given = _load(kind, data, partial=True)
        merged = {**before, **{k: v for k, v in given.items()}}
        merged = kinds_.stored(_load(kind, merged))  # whole again: required fields stay set
        apply_data(entry, kind, merged)
    changes = _changes(before, dict(entry.data or {}))
    if evidence_ids:
        _attach(context, entry, evidence_ids)
        changes["evidence_ids"] = [None, sorted(int(i) for i in evidence_ids)]
    if changes:
        _event(context, entry, "update", changes)
    return entry


def delete_entry(context: Context, entry: LedgerEntry) -> None:
    """Delete an entry: it leaves every list and count; its history stays."""
    entry.deleted_at = context.clock()
    _event(context, entry, "delete", {})


def _visible(context: Context, kind_key: str | None = None):
    stmt = select(LedgerEntry).where(LedgerEntry.deleted_at.is_(None),
                                     enterprise_clause(context, LedgerEntry.enterprise_id))
    if kind_key is not None:
        stmt = stmt.where(LedgerEntry.kind == kind_key)
    return stmt


def get_entry(context: Context, kind_key: str, entry_id: int) -> LedgerEntry:
    kinds_.kind_of(context, kind_key)
    entry = db.session.scalar(_visible(context, kind_key).where(LedgerEntry.id == entry_id))
    if entry is None:
        raise NotFound("台账记录不存在")
    return entry


def standing_clause(standing: str, today: dt.date, window: int):
    """The entries standing ``standing`` on ``today`` (``window``: the days before expiry
    that count as expiring)."""
    soon = today + dt.timedelta(days=window)
    review_soon = today + dt.timedelta(days=kinds_.REVIEW_WINDOW_DAYS)
    expired = and_(LedgerEntry.expires_on.is_not(None), LedgerEntry.expires_on < today)
    expiring = and_(LedgerEntry.expires_on.is_not(None), LedgerEntry.expires_on >= today,
                    LedgerEntry.expires_on <= soon)
    review_overdue = and_(LedgerEntry.review_due_on.is_not(None), LedgerEntry.review_due_on < today)
    review_due = and_(LedgerEntry.review_due_on.is_not(None), LedgerEntry.review_due_on >= today,
                      LedgerEntry.review_due_on <= review_soon)
    clauses = {"expired": expired, "expiring": expiring, "review_overdue": review_overdue,
               "review_due": review_due}
    if standing == "valid":
        return ~or_(*(c.self_group() for c in clauses.values()))
    return clauses[standing]


def list_entries(context: Context, kind_key: str, *, enterprise_id: int | None = None,
                 standing: str | None = None, q: str | None = None, dated_from: dt.date | None = None,
                 dated_until: dt.date | None = None):
    """The statement of the entries of a kind the actor sees, newest first."""
    kind = kinds_.kind_of(context, kind_key)
    stmt = _visible(context, kind_key)
    if enterprise_id is not None:
        stmt = stmt.where(LedgerEntry.enterprise_id == enterprise_id)
    if standing is not None:
        stmt = stmt.where(standing_clause(standing, context.today(), reminder_window(kind)))
    if q:
        stmt = stmt.where(func.cast(LedgerEntry.data, db.Text).contains(q.strip()))
    if dated_from is not None:
        stmt = stmt.where(LedgerEntry.dated_on >= dated_from)
    if dated_until is not None:
        stmt = stmt.where(LedgerEntry.dated_on <= dated_until)
    return stmt.order_by(LedgerEntry.dated_on.desc().nulls_last(), LedgerEntry.id.desc())


def reminder_window(kind: dict) -> int:
    """The days before expiry an entry of ``kind`` counts as expiring (its first reminder;
    30 for a kind that names none)."""
    return max(kind.get("remind_days") or (30,))


def standing(kind: dict, entry: LedgerEntry, today: dt.date) -> str:
    """Where an entry stands on ``today``: expired, review overdue, expiring, review due,
    else valid (the first that applies)."""
    if entry.expires_on is not None and entry.expires_on < today:
        return "expired"
    if entry.review_due_on is not None and entry.review_due_on < today:
        return "review_overdue"
    if entry.expires_on is not None and (entry.expires_on - today).days <= reminder_window(kind):
        return "expiring"
    if (entry.review_due_on is not None
            and (entry.review_due_on - today).days <= kinds_.REVIEW_WINDOW_DAYS):
        return "review_due"
    return "valid"


def history(context: Context, entry: LedgerEntry) -> list[LedgerEvent]:
    return list(db.session.scalars(select(LedgerEvent).where(LedgerEvent.entry_id == entry.id)
                                   .order_by(LedgerEvent.at, LedgerEvent.id)))


def evidence_of(entry: LedgerEntry) -> list[evidence.Evidence]:
    return list(db.session.scalars(select(evidence.Evidence)
                                   .where(evidence.Evidence.ledger_entry_id == entry.id)
                                   .order_by(evidence.Evidence.id)))


def enterprise_names(ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))).all())


def attention(context: Context, kinds: dict[str, dict], *, kind_key: str | None = None,
              enterprise_id: int | None = None, standing: str | None = None):
    """The statement of the entries that need attention today (expired, expiring within
    their kind's first reminder, review due or overdue), of one kind or all, soonest first."""
    today = context.today()
    wanted = [standing] if standing else [s for s in STANDINGS if s != "valid"]
    per_kind = []
    for key, kind in kinds.items():
        if kind_key is not None and key != kind_key:
            continue
        window = reminder_window(kind)
        per_kind.append(and_(LedgerEntry.kind == key,
                             or_(*(standing_clause(s, today, window).self_group() for s in wanted))))
    stmt = _visible(context).where(or_(*per_kind) if per_kind else false())
    if enterprise_id is not None:
        stmt = stmt.where(LedgerEntry.enterprise_id == enterprise_id)
    soonest = func.least(func.coalesce(LedgerEntry.expires_on, LedgerEntry.review_due_on),
                         func.coalesce(LedgerEntry.review_due_on, LedgerEntry.expires_on))
    return stmt.order_by(soonest, LedgerEntry.id)


def export_workbook(context: Context, kind: dict, stmt, buffer, *, limit: int) -> int:
    """Write the entries of ``stmt`` (of ``kind``) as one sheet: the enterprise, the kind's
    fields, expiry, next review and standing; ID numbers masked. Refused over ``limit``."""
    total = db.session.scalar(stmt.with_only_columns(func.count()).order_by(None))
    if total > limit:
        raise Refused(f"记录过多（{total} 条，一次至多导出 {limit} 条），请按企业分别导出",
                      field="enterprise_id")
    fields = kind["fields"]
    today = context.today()
    headers = [("企业名称", 30), *[(f["label"], 18) for f in fields], "到期日期", "下次复审日期", "状态"]
    entries = list(db.session.scalars(stmt))
    names = enterprise_names(e.enterprise_id for e in entries)

    def cell(spec, value):
        if value is not None and spec.get("type") == "date":
            return dt.date.fromisoformat(value)
        return value

    def rows():
        for entry in entries:
            data = kinds_.masked(kind, entry.data or {})
            yield [names.get(entry.enterprise_id), *[cell(f, data.get(f["key"])) for f in fields],
                   entry.expires_on, entry.review_due_on, STANDINGS[standing(kind, entry, today)]]

    return write_table(buffer, kind["title"], headers, rows())


# --- special work certificates ------------------------------------------------------------


def certified(context: Context, *, enterprise_id: int, work_kind: str, on: dt.date,
              id_number: str | None = None, name: str | None = None) -> dict:
    """Whether a person of an enterprise holds a certificate for ``work_kind`` valid on
    ``on``: issued by then, not expired, its review not overdue. The person is named by ID
    number (preferred) or by name. Answers ``certified``, the certificate relied on (or
    the closest one) and, when not certified, why (Chinese)."""
    if not id_number and not name:
        raise Refused("须给出身份证号或姓名", field="id_number")
    kind = kinds_.kind_of(context, SPECIAL_WORKERS)
    wanted = kinds_.choice_of(dict(kinds_.field_map(kind))["work_kind"]["choices"], work_kind.strip())
    if wanted is None:
        raise Refused(f"作业类别无效：{work_kind}", field="work_kind")
    require_enterprise(context, enterprise_id, "企业")
    person = (LedgerEntry.data["id_number"].astext == id_number.strip().upper() if id_number
              else LedgerEntry.data["name"].astext == name.strip())
    rows = list(db.session.scalars(
        _visible(context, SPECIAL_WORKERS)
        .where(LedgerEntry.enterprise_id == enterprise_id, person,
               LedgerEntry.data["work_kind"].astext == wanted)
        .order_by(LedgerEntry.expires_on.desc().nulls_last(), LedgerEntry.id.desc())))
    reasons = []
    for entry in rows:
        if entry.dated_on is not None and entry.dated_on > on:
            reasons.append(f"证书 {entry.data.get('certificate_no')} 于 {entry.dated_on} 才取得")
        elif entry.expires_on is not None and entry.expires_on <= on:
            reasons.append(f"证书 {entry.data.get('certificate_no')} 已于 {entry.expires_on} 到期")
        elif entry.review_due_on is not None and entry.review_due_on < on:
            reasons.append(f"证书 {entry.data.get('certificate_no')} 应于 {entry.review_due_on} 前复审，未复审")
        else:
            return {"certified": True, "work_kind": wanted, "on": on, "entry_id": entry.id,
                    "certificate_no": entry.data.get("certificate_no"), "expires_on": entry.expires_on,
                    "review_due_on": entry.review_due_on, "reasons": []}
    if not rows:
        reasons.append(f"无{wanted}的特种作业操作证记录")
    return {"certified": False, "work_kind": wanted, "on": on,
            "entry_id": rows[0].id if rows else None,
            "certificate_no": rows[0].data.get("certificate_no") if rows else None,
            "expires_on": rows[0].expires_on if rows else None,
            "review_due_on": rows[0].review_due_on if rows else None, "reasons": reasons}
