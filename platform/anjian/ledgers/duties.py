"""Duties over ledgers (台账义务) and the hazards raised when one is missed (findings).

The duties are the tenant's plugins' (``ledger_duties``: ``plugin_api.LedgerDuty``),
rules of the same shape as a service contract's obligations (``anjian.periods``): at
least ``count`` entries of a ledger kind, whose data hold ``where``, per month, quarter or
year (calendar periods, or with ``align="since"`` whole months from the day counted
from), or ``per="standing"``: at ``as_of`` at least ``count`` entries in force and none
expired (``count`` 0: none expired, and an enterprise without any is fine) (a certificate, a related party's agreement).

Ledgers have no contract start: periods run from ``since`` (default: 1 January of
``as_of``'s year) up to the period holding ``as_of``. Every enterprise the actor sees (or
those asked for) gets each duty x period as met, due (not enough yet, the period not over)
or missed, from ONE statement: each enterprise with one count per duty and period (a
FILTER over its live entries of the duties' kinds, grouped in one pass: the kind, the
days of the period's window, a ``where`` as a JSONB containment): the number of
statements does not grow with entries, enterprises or duties.

``raise_findings`` raises a hazard through the closed loop for each missed duty whose
plugin says so (``raise_hazard``), citing its criterion, and records a ``LedgerFinding``
so that the same enterprise, duty and period is raised once. A standing duty has no
period: it is raised again only once the hazard of its last finding is closed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from anjian import periods
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause, sees_every_enterprise
from anjian.errors import Defect, NotFound, Refused
from anjian.extensions import db
from anjian.hazards.models import OPEN_STATES, Hazard
from anjian.hazards.service import report_hazard
from anjian.ledgers.kinds import outlines
from anjian.ledgers.models import LedgerEntry, LedgerFinding
from anjian.plugins.views import LedgerDuty

STANDING = "standing"
DUTY_PERIODS = {**periods.PERIOD_MONTHS, STANDING: None}
DUTY_PERIOD_LABELS = {**periods.PERIOD_LABELS, STANDING: "持续有效"}
DUTY_ALIGNS = ("calendar", "since")
DUTY_STATUSES = periods.STATUSES
# pg_advisory_xact_lock(FINDINGS_LOCK_SPACE, tenant_id): one raising of findings at a time
# per tenant, so that two at once do not both raise the same finding ("lf").
FINDINGS_LOCK_SPACE = 0x6C66


def _scalar_values(where: dict) -> None:
    for name, value in where.items():
        if not isinstance(value, str | int | bool):
            raise ma.ValidationError(f"{name} 的值须为文本、整数或布尔值")


class DutySchema(periods.PeriodRuleSchema):
    """One duty over a ledger (``LedgerDuty``; see the module's docstring)."""

    PERIODS = DUTY_PERIODS

    ledger_kind = ma.fields.String(required=True, validate=periods.RULE_KEY)
    per = periods.per_field(DUTY_PERIODS, "year")
    align = periods.align_field(DUTY_ALIGNS, "calendar")
    where = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(min=1, max=80)),
                           values=ma.fields.Raw(), load_default=dict, validate=_scalar_values)
    criterion = ma.fields.String(load_default="", validate=validate.Length(max=500))
    raise_hazard = ma.fields.Boolean(load_default=False)
    # 0 only for a standing duty: none may have expired, and having none is fine.
    count = ma.fields.Integer(load_default=1, validate=validate.Range(min=0, max=1000))

    @ma.validates_schema
    def _consistent(self, data, **kwargs):
        if data.get("count") == 0 and data.get("per") != STANDING:
            raise ma.ValidationError("只有持续有效的义务（per = standing）可以是 0 条", "count")
        if data.get("per") == STANDING and data.get("in_last_months") is not None:
            raise ma.ValidationError("持续有效的义务没有周期，不能给 in_last_months", "in_last_months")
        if data.get("raise_hazard") and not (data.get("criterion") or "").strip():
            raise ma.ValidationError("形成隐患的义务须引用依据（criterion）", "criterion")


def duties(context: Context) -> list[dict]:
    """The duties of the tenant's enabled plugins, validated (a plugin's mistake is a
    ``Defect`` naming the duty): each a dict of ``LedgerDuty``'s fields and the ledger's
    title (``ledger_title``). Asked of the plugins on every call (their settings and
    catalogue may change); only the validation of a duty seen before is kept (``_rule``)."""
    known = outlines(context)
    out, seen = [], set()
    for answer in context.policy("ledger_duties") or ():
        for duty in answer or ():
            if not isinstance(duty, LedgerDuty):
                raise Defect(f"插件给出的台账义务须为 LedgerDuty: {duty!r}")
            rule = _rule(duty)
            if rule["key"] in seen:
                raise Defect(f"插件给出的台账义务重复: {rule['key']}")
            kind = known.get(rule["ledger_kind"])
            if kind is None:
                raise Defect(f"台账义务 {rule['key']} 的台账类别不存在: {rule['ledger_kind']}")
            unknown = sorted(set(rule["where"]) - kind.fields)
            if unknown:
                raise Defect(f"台账义务 {rule['key']} 的筛选字段不属于该台账: {'、'.join(unknown)}")
            seen.add(rule["key"])
            out.append({**rule, "where": dict(rule["where"]), "ledger_title": kind.title})
    return out


# repr(duty) -> the duty validated (never changed: ``duties`` hands out copies).
_RULES: dict[str, dict] = {}
_RULES_KEPT = 1024


def _rule(duty: LedgerDuty) -> dict:
    """``duty`` validated by ``DutySchema``, or a ``Defect`` naming it. Kept by the duty's
    repr (a frozen dataclass of text, numbers and a dict of scalars: equal reprs are
    equal duties): a plugin gives the same duties on every call, and building the schema
    and loading them again was a good part of a small tenant's scan."""
    key = repr(duty)
    rule = _RULES.get(key)
    if rule is None:
        try:
            rule = DutySchema().load(dataclasses.asdict(duty))
        except ma.ValidationError as exc:
            raise Defect(f"插件给出的台账义务无效: {duty.key}: {exc.messages}") from exc
        if len(_RULES) >= _RULES_KEPT:
            _RULES.clear()
        _RULES[key] = rule
    return rule


# --- the counts -------------------------------------------------------------------------------

# Core, as the overdue scan (``anjian.hazards.scan``): the counting statement is large (a
# FILTER per duty and period) and names the tenant itself, so it is marked tenant-scoped
# rather than walked for loader criteria on every call; Row-Level Security applies as
# always, and an actor's enterprise visibility is added to it.
_ENTRY, _ENTERPRISE = LedgerEntry.__table__, Enterprise.__table__
_E, _FIRM = _ENTRY.c, _ENTERPRISE.c
_TENANT = bindparam("tenant", type_=Integer())
SCOPED = {"tenant_scoped_sql": True}


def _rows(wheres: dict[tuple[str, str], tuple[str, dict]]) -> Subquery:
    """The tenant's live enterprises and its live entries of the duties' kinds (the
    parameter ``kinds``) as the rows of one relation, to be grouped by enterprise, as a
    hand-written statement would: no join, whose plan would hang on the estimate of a
    tenant's rows (a prepared statement's generic plan takes every tenant for the average
    one, and a nested loop over a big tenant's enterprises and entries took seconds).
    Each of the duties' ``wheres`` ((kind, where as JSON) -> (label, where)) is a column of
    that label: whether the entry is of the kind and its data hold the where (a JSONB
    containment), tested once per entry in the scan, so that the entries' data are not
    carried through the grouping (that made the statement a good deal slower)."""
    return union_all(
        select(_FIRM.id.label("enterprise_id"), _FIRM.name, _FIRM.credit_code,
               cast(null(), String).label("kind"), cast(null(), Date).label("dated_on"),
               cast(null(), Date).label("expires_on"),
               *(false().label(label) for label, _where in wheres.values()))
        .where(_FIRM.tenant_id == _TENANT, _FIRM.deleted_at.is_(None)),
        select(_E.enterprise_id, null(), null(), _E.kind, _E.dated_on, _E.expires_on,
               *(and_(_E.kind == kind, _E.data.contains(where)).label(label)
                 for (kind, _json), (label, where) in wheres.items()))
        .where(_E.tenant_id == _TENANT, _E.deleted_at.is_(None),
               _E.kind == any_(bindparam("kinds", type_=ARRAY(String())))),
    ).subquery("rows")


def _window(rule: dict, start: dt.date, end: dt.date, as_of: dt.date,
            since: dt.date) -> tuple[dt.date, dt.date]:
    """The days whose entries count for the period ``start``..``end`` of a periodic duty:
    those of its window's months (``periods.window``), from ``since`` to ``as_of``."""
    calendar = rule["align"] == "calendar"
    months = periods.window(since, start, end, calendar=calendar,
                            in_last_months=rule["in_last_months"])
    if calendar:
        first = dt.date(*months.lo, 1)
        last = periods.month_start(dt.date(*months.hi, 1), 1) - dt.timedelta(days=1)
    else:
        first = periods.month_start(since, months.lo)
        last = periods.month_start(since, months.hi + 1) - dt.timedelta(days=1)
    return max(first, since), min(last, as_of)


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """What one item of a duty needs (a standing duty's one, or one per period of a
    periodic duty), the same for every enterprise: the count columns it reads (in force
    and expired at ``as_of``; the entries of the period's window), the entries required,
    and the item as met and (a period) as short of entries (due, or missed for want of
    any) with all but the counts filled in, copied for each enterprise, never changed:
    filling in every item per enterprise was a good part of a small tenant's scan."""

    standing: bool
    columns: tuple[int, ...]
    required: int
    met: dict
    short: dict | None = None


def _plans(rules: list[dict], as_of: dt.date, since: dt.date):
    """The plan of each duty's items, in order; the statement: every live enterprise of the
    tenant (the parameter ``tenant``), by name, with one count per duty and period (equal
    ones once), a FILTER over its live entries of the duties' kinds, grouped in one pass;
    those kinds (the parameter ``kinds``); and the enterprise column its rows are grouped by
    (to narrow them)."""
    return _plans_of(json.dumps(rules, sort_keys=True, ensure_ascii=False), as_of, since)


@functools.lru_cache(maxsize=256)
def _plans_of(rules_json: str, as_of: dt.date,
              since: dt.date) -> tuple[tuple[_Plan, ...], Select, list, ColumnElement]:
    """``_plans``, kept: the same duties on the same day give the same plans and statement
    (the tenants of a plugin with the same settings share them), and building them was a
    good part of a small tenant's scan. All are immutable."""
    rules = json.loads(rules_json)
    whats = [(rule["ledger_kind"], json.dumps(rule["where"], sort_keys=True, ensure_ascii=False))
             for rule in rules]
    wheres = {}
    for rule, what in zip(rules, whats, strict=True):
        if rule["where"]:
            wheres.setdefault(what, (f"holds_{len(wheres)}", rule["where"]))
    r = _rows(wheres).c
    exists = or_(r.dated_on.is_(None), r.dated_on <= as_of)
    in_force = or_(r.expires_on.is_(None), r.expires_on >= as_of)
    expired = r.expires_on < as_of
    columns, at = [], {}

    def column(key: tuple, *conditions) -> int:
        if key not in at:
            at[key] = len(columns)
            columns.append(func.count().filter(and_(*conditions)))
        return at[key]

    plans = []
    for rule, what in zip(rules, whats, strict=True):
        kind = r.kind == rule["ledger_kind"]
        holds = r[wheres[what][0]] if what in wheres else true()
        head = {"key": rule["key"], "title": rule["title"], "ledger_kind": rule["ledger_kind"],
                "per": rule["per"], "required": rule["count"], "criterion": rule["criterion"],
                "raise_hazard": rule["raise_hazard"]}
        if rule["per"] == STANDING:
            plans.append(_Plan(True, (column((*what, "in force"), kind, exists, in_force, holds),
                                      column((*what, "expired"), kind, exists, expired, holds)),
                               rule["count"],
                               {**head, "period": f"截至{as_of.isoformat()}", "period_start": as_of,
                                "period_end": as_of, "done": 0, "expired": 0, "status": "met",
                                "reason": ""}))
            continue
        calendar = rule["align"] == "calendar"
        spans = [(start, end) for start, end in periods.periods(
            DUTY_PERIODS[rule["per"]], since, periods.month_start(as_of, 12), calendar=calendar)
            if start <= as_of]  # up to the period holding as_of, that one not cut at as_of
        for start, end in spans:
            first, last = _window(rule, start, end, as_of, since)
            met = {**head, "period": periods.period_label(rule["per"], start, end, calendar=calendar),
                   "period_start": start, "period_end": end, "done": 0, "expired": 0, "status": "met",
                   "reason": ""}
            counted = column((*what, first, last), kind, r.dated_on.between(first, last), holds)
            short = periods.status_of(0, 1, as_of, end)  # due, or missed: the period is over
            plans.append(_Plan(False, (counted,), rule["count"], met,
                               {**met, "status": short, "reason": "无记录" if short == "missed" else ""}))
    stmt = (select(r.enterprise_id.label("id"), func.max(r.name).label("name"),
                   func.max(r.credit_code).label("credit_code"), *columns)
            .group_by(r.enterprise_id)
            .having(func.count(r.name) > 0)  # a live enterprise: its own row is in the group
            .order_by(func.max(r.name), r.enterprise_id))
    return tuple(plans), stmt, sorted({rule["ledger_kind"] for rule in rules}), r.enterprise_id


def _items(plans: tuple[_Plan, ...], counts) -> list[dict]:
    """One enterprise's items, from its counts (a row of the statement)."""
    items = []
    for plan in plans:
        required = plan.required
        if plan.standing:
            valid, lapsed = counts[plan.columns[0]], counts[plan.columns[1]]
            item = plan.met.copy()
            item["done"], item["expired"] = valid, lapsed
            if valid == 0 and lapsed == 0 and required > 0:
                item["status"], item["reason"] = "missed", "无记录"
            elif lapsed or valid < required:
                reasons = []
                if lapsed:
                    reasons.append(f"{lapsed} 条已过期")
                if valid < required:
                    reasons.append(f"有效 {valid} 条，应至少 {required} 条")
                item["status"], item["reason"] = "missed", "；".join(reasons)
        else:
            done = counts[plan.columns[0]]
            item = (plan.met if done >= required else plan.short).copy()  # as periods.status_of
            if done and item["status"] == "missed":
                item["reason"] = f"仅 {done} 条，应至少 {required} 条"
            item["done"] = done
        items.append(item)
    return items


def duty_status(context: Context, as_of: dt.date, *, since: dt.date | None = None,
                enterprise_ids=None, status: str | None = None, missing_ok: bool = False) -> dict:
    """Each duty x period x enterprise up to ``as_of``: met, due or missed, with the
    entries counted (``done``) and required, for the live enterprises the actor sees (those
    of ``enterprise_ids`` when given: one not seen is ``NotFound`` unless ``missing_ok``).
    ``status`` lists only items in that status (and only the enterprises with one);
    the summaries count every item. Periods start at ``since`` (1 January of ``as_of``'s
    year by default). One statement (``_plans``)."""
    since = since or dt.date(as_of.year, 1, 1)
    if since > as_of:
        raise Refused("起算日不能晚于计算日", field="since")
    rules = duties(context)
    ids = None if enterprise_ids is None else sorted({int(i) for i in enterprise_ids})
    plans, stmt, kinds_, enterprise = _plans(rules, as_of, since)
    if not sees_every_enterprise(context.access):
        stmt = stmt.where(enterprise_clause(context, enterprise))
    if ids is not None:
        stmt = stmt.where(enterprise.in_(ids))
    enterprises = db.session.execute(stmt, {"tenant": context.tenant_id, "kinds": kinds_},
                                     execution_options=SCOPED).all()
    if ids is not None and not missing_ok and len(enterprises) < len(ids):
        absent = sorted(set(ids) - {row.id for row in enterprises})
        raise NotFound(f"企业不存在: {'、'.join(map(str, absent))}", field="enterprise_id")
    listed, total = [], dict.fromkeys(DUTY_STATUSES, 0)
    for enterprise_id, name, credit_code, *counts in enterprises:
        items = _items(plans, counts)
        summary = periods.summary(items)
        for key, n in summary.items():
            total[key] += n
        shown = items if status is None else [i for i in items if i["status"] == status]
        if status is None or shown:
            listed.append({"enterprise_id": enterprise_id, "enterprise_name": name,
                           "credit_code": credit_code, "summary": summary, "items": shown})
    return {"as_of": as_of, "since": since, "duties": rules, "summary": total,
            "enterprises": listed}


# --- findings ---------------------------------------------------------------------------------

def _finding(enterprise: dict, item: dict, hazard_id: int, earlier=None) -> dict:
    """A finding raised now for ``item``, or the ``earlier`` one (period start, end): a
    standing duty's is of the day it was raised."""
    start, end = earlier or (item["period_start"], item["period_end"])
    period = f"截至{start.isoformat()}" if item["per"] == STANDING else item["period"]
    return {"enterprise_id": enterprise["enterprise_id"],
            "enterprise_name": enterprise["enterprise_name"], "key": item["key"],
            "title": item["title"], "period": period, "period_start": start,
            "period_end": end, "hazard_id": hazard_id}


def raise_findings(context: Context, as_of: dt.date, *, since: dt.date | None = None) -> dict:
    """Raise a hazard (source 部门检查, through the closed loop) for each missed duty whose
    plugin asks for it, in the enterprises the actor sees, and record the finding; one
    raised before for the same enterprise, duty and period (a standing duty: whose hazard
    is still open) is listed in ``already`` and not raised again. The caller commits."""
    if as_of > context.today():
        raise Refused("计算日不能晚于今天", field="as_of")
    db.session.execute(text("SELECT pg_advisory_xact_lock(:space, :tenant)")
                       .execution_options(tenant_scoped_sql=True),
                       {"space": FINDINGS_LOCK_SPACE, "tenant": context.tenant_id})
    state = duty_status(context, as_of, since=since, status="missed")
    missed = [(enterprise, item) for enterprise in state["enterprises"]
              for item in enterprise["items"] if item["raise_hazard"]]
    out = {"as_of": as_of, "since": state["since"], "raised": [], "already": []}
    if not missed:
        return out
    periodic, standing = {}, {}
    rows = db.session.execute(
        select(LedgerFinding.enterprise_id, LedgerFinding.duty_key, LedgerFinding.period_start,
               LedgerFinding.period_end, LedgerFinding.hazard_id, Hazard.state)
        .join(Hazard, and_(Hazard.tenant_id == LedgerFinding.tenant_id,
                           Hazard.id == LedgerFinding.hazard_id))
        .where(LedgerFinding.duty_key.in_(sorted({item["key"] for _e, item in missed})),
               LedgerFinding.enterprise_id.in_(sorted({e["enterprise_id"] for e, _i in missed})),
               or_(LedgerFinding.period_start >= state["since"], Hazard.state.in_(OPEN_STATES)))
        .order_by(LedgerFinding.id))
    for enterprise_id, key, start, end, hazard_id, hazard_state in rows:
        periodic[(enterprise_id, key, start)] = (hazard_id, (start, end))
        if hazard_state in OPEN_STATES:
            standing[(enterprise_id, key)] = (hazard_id, (start, end))
    for enterprise, item in missed:
        enterprise_id, key = enterprise["enterprise_id"], item["key"]
        earlier = periodic.get((enterprise_id, key, item["period_start"]))
        if earlier is None and item["per"] == STANDING:
            earlier = standing.get((enterprise_id, key))
        if earlier is not None:
            out["already"].append(_finding(enterprise, item, *earlier))
            continue
        description = (f"依据：{item['criterion']}\n{item['period']}，{item['title']}未完成："
                       f"{item['reason']}。")
        hazard = report_hazard(context, enterprise_id=enterprise_id, source="department",
                               title=f"台账义务未完成：{item['title']}（{item['period']}）"[:300],
                               description=description)
        db.session.add(LedgerFinding(enterprise_id=enterprise_id, duty_key=key,
                                     period_start=item["period_start"],
                                     period_end=item["period_end"], hazard_id=hazard.id))
        db.session.flush()
        out["raised"].append(_finding(enterprise, item, hazard.id))
    return out
