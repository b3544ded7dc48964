"""What a service contract owes each enterprise it serves (服务义务) and whether it was
delivered (compliance), counted from the service records.

Obligations are declarative rules from the tenant's plugins (``service_obligations``):

    {"key": "inspection_quarterly", "title": "每季度安全检查", "record_kind": "inspection",
     "count": 1, "per": "quarter"}

``record_kind`` (one of ``RECORD_KINDS``) and optionally ``topic`` (exact match) say which
service records count; ``count`` how many at least (default 1); ``per`` the period the
count applies to: ``"quarter"`` (3 months), ``"year"`` (12 months) or ``"contract"`` (the
whole service; with ``within_months`` n only the first n months). Periods run from each
enterprise's service start (the contract start, or the day it joined later), or with
``"align": "calendar"`` follow calendar quarters and years; ``in_last_months`` n counts
only records of a period's last n months (a year-end report). A period ends early where
the service does (the contract's end, the enterprise leaving, a revocation).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import Date, Integer, and_, case, cast, extract, func, literal, or_, select

from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Defect, NotFound
from anjian.extensions import db
from anjian.services.contracts import contract_end, month_index, month_start
from anjian.services.models import RECORD_KINDS, ContractEnterprise, ServiceContract, ServiceRecord

PERIODS = {"quarter": 3, "year": 12, "contract": None}
PERIOD_LABELS = {"quarter": "季度", "year": "年度", "contract": "服务期"}
ALIGNS = ("contract", "calendar")
COMPLIANCE_STATUSES = {"met": "已完成", "due": "进行中", "missed": "未完成"}


class ObligationSchema(ma.Schema):
    """One obligation a contract owes each served enterprise (see the module docstring)."""

    key = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,80}$"))
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    record_kind = ma.fields.String(required=True, validate=validate.OneOf(list(RECORD_KINDS)))
    topic = ma.fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(min=1, max=120))
    count = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    per = ma.fields.String(load_default="contract", validate=validate.OneOf(list(PERIODS)))
    within_months = ma.fields.Integer(load_default=None, allow_none=True,
                                      validate=validate.Range(min=1, max=240))
    align = ma.fields.String(load_default="contract", validate=validate.OneOf(ALIGNS))
    in_last_months = ma.fields.Integer(load_default=None, allow_none=True,
                                       validate=validate.Range(min=1, max=12))

    @ma.validates_schema
    def _consistent(self, data, **kwargs):
        if data.get("within_months") is not None and data.get("per", "contract") != "contract":
            raise ma.ValidationError("within_months 只能用于 per = contract", "within_months")
        months = PERIODS.get(data.get("per"))
        last = data.get("in_last_months")
        if last is not None and months is not None and last > months:
            raise ma.ValidationError("in_last_months 超过周期长度", "in_last_months")


def obligations(context: Context, contract: ServiceContract) -> list[dict]:
    """The rules of all the tenant's enabled plugins for this contract, validated."""
    schema = ObligationSchema()
    out, seen = [], set()
    for rules in context.policy("service_obligations", contract=contract) or ():
        for raw in rules or ():
            try:
                rule = schema.load(dict(raw))
            except (ma.ValidationError, TypeError, ValueError) as exc:
                key = raw.get("key") if isinstance(raw, dict) else raw
                detail = getattr(exc, "messages", str(exc))
                raise Defect(f"插件给出的服务义务无效: {key}: {detail}") from exc
            if rule["key"] in seen:
                raise Defect(f"插件给出的服务义务重复: {rule['key']}")
            seen.add(rule["key"])
            out.append(rule)
    return out


def _periods(rule: dict, anchor: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The rule's periods for one enterprise served from ``anchor`` to ``end``."""
    if rule["per"] == "contract":
        if rule["within_months"] is not None:
            due = month_start(anchor, rule["within_months"]) - dt.timedelta(days=1)
            return [(anchor, min(due, end))]
        return [(anchor, end)]
    months = PERIODS[rule["per"]]
    out = []
    if rule["align"] == "calendar":
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


def _record_counts(contract: ServiceContract, as_of: dt.date, enterprise_id: int | None = None):
    """COUNT of the contract's service records grouped by enterprise, kind, topic and month
    (months from each enterprise's service start, and calendar months), up to ``as_of``
    (of one enterprise, or of all the contract serves).

    Returns {enterprise_id: [(kind, topic, month index, calendar (year, month), count)]}.
    """
    starts = literal(contract.starts_on, Date)
    anchor = case((and_(ContractEnterprise.joined_on.is_not(None),
                        ContractEnterprise.joined_on > starts), ContractEnterprise.joined_on),
                  else_=starts)
    done = ServiceRecord.done_on

    def part(field, value):
        return cast(extract(field, value), Integer)

    months = ((part("year", done) - part("year", anchor)) * 12
              + part("month", done) - part("month", anchor)
              - case((part("day", done) < part("day", anchor), 1), else_=0))
    year, month = part("year", done), part("month", done)
    stmt = (
        select(ServiceRecord.enterprise_id, ServiceRecord.kind, ServiceRecord.topic,
               months.label("months"), year.label("year"), month.label("month"),
               func.count().label("n"))
        .join(ContractEnterprise, and_(ContractEnterprise.contract_id == ServiceRecord.contract_id,
                                       ContractEnterprise.enterprise_id == ServiceRecord.enterprise_id))
        .where(ServiceRecord.contract_id == contract.id,
               done <= as_of, done <= contract_end(contract), done >= anchor,
               or_(ContractEnterprise.left_on.is_(None), done <= ContractEnterprise.left_on))
        .group_by(ServiceRecord.enterprise_id, ServiceRecord.kind, ServiceRecord.topic,
                  months, year, month)
    )
    if enterprise_id is not None:
        stmt = stmt.where(ServiceRecord.enterprise_id == enterprise_id)
    out: dict[int, list] = defaultdict(list)
    for ident, kind, topic, m, y, mo, n in db.session.execute(stmt):
        out[ident].append((kind, topic or "", int(m), (int(y), int(mo)), int(n)))
    return out


def _count(rule: dict, buckets, anchor: dt.date, start: dt.date, end: dt.date) -> int:
    topic = rule["topic"]
    last = rule["in_last_months"]
    if rule["align"] == "calendar" and rule["per"] != "contract":
        lo, hi = (start.year, start.month), (end.year, end.month)
        if last is not None:
            first = month_start(dt.date(end.year, end.month, 1), -(last - 1))
            lo = max(lo, (first.year, first.month))
        return sum(n for kind, t, _m, ym, n in buckets
                   if kind == rule["record_kind"] and (topic is None or t == topic)
                   and lo <= ym <= hi)
    lo, hi = month_index(anchor, start), month_index(anchor, end)
    if last is not None:
        lo = max(lo, hi - last + 1)
    return sum(n for kind, t, m, _ym, n in buckets
               if kind == rule["record_kind"] and (topic is None or t == topic) and lo <= m <= hi)


def _served(context: Context, contract: ServiceContract, enterprise_id: int | None = None):
    stmt = (select(ContractEnterprise, Enterprise.name, Enterprise.credit_code)
            .join(Enterprise, Enterprise.id == ContractEnterprise.enterprise_id)
            .where(ContractEnterprise.contract_id == contract.id,
                   enterprise_clause(context, ContractEnterprise.enterprise_id))
            .order_by(Enterprise.name, Enterprise.id))
    if enterprise_id is not None:
        stmt = stmt.where(ContractEnterprise.enterprise_id == enterprise_id)
    return list(db.session.execute(stmt))


def _summary(items) -> dict:
    out = dict.fromkeys(COMPLIANCE_STATUSES, 0)
    for item in items:
        out[item["status"]] += 1
    return out


def compliance(context: Context, contract: ServiceContract, as_of: dt.date,
               enterprise_id: int | None = None, status: str | None = None) -> dict:
    """Each obligation x period x served enterprise at ``as_of``: met (enough records), due
    (not enough yet, the period not over) or missed (the period over without enough).
    Periods that have not begun by ``as_of`` are not listed."""
    rules = obligations(context, contract)
    served = _served(context, contract, enterprise_id)
    if enterprise_id is not None and not served:
        raise NotFound("该企业不在本合同的服务范围内", field="enterprise_id")
    counts = _record_counts(contract, as_of, enterprise_id)
    last_day = contract_end(contract)
    enterprises = []
    for row, name, credit_code in served:
        anchor = max(contract.starts_on, row.joined_on or contract.starts_on)
        end = min(last_day, row.left_on or last_day)
        items = []
        for rule in rules:
            for index, (start, stop) in enumerate(_periods(rule, anchor, end), start=1):
                if start > as_of:
                    break
                done = _count(rule, counts.get(row.enterprise_id, ()), anchor, start, stop)
                state = ("met" if done >= rule["count"] else
                         "missed" if as_of > stop else "due")
                items.append({"key": rule["key"], "title": rule["title"],
                              "record_kind": rule["record_kind"], "topic": rule["topic"],
                              "per": rule["per"], "period_index": index,
                              "period_start": start, "period_end": stop,
                              "required": rule["count"], "done": done, "status": state})
        shown = [i for i in items if status is None or i["status"] == status]
        enterprises.append({"enterprise_id": row.enterprise_id, "enterprise_name": name,
                            "credit_code": credit_code, "joined_on": row.joined_on,
                            "left_on": row.left_on, "summary": _summary(items),
                            "items": shown})
    total = dict.fromkeys(COMPLIANCE_STATUSES, 0)
    for entry in enterprises:
        for key, n in entry["summary"].items():
            total[key] += n
    return {"contract_id": contract.id, "as_of": as_of, "obligations": rules,
            "summary": total, "enterprises": enterprises}
