"""What a service contract owes each enterprise it serves (服务义务) and whether it was
delivered (compliance), counted from the service records.

Obligations are declarative rules from the tenant's plugins (``service_obligations``):

    {"key": "inspection_quarterly", "title": "每季度安全检查", "record_kind": "inspection",
     "count": 1, "per": "quarter"}

``record_kind`` (one of ``RECORD_KINDS``) and optionally ``topic`` (exact match) say which
service records count; ``count`` how many at least (default 1); ``per`` the period the
count applies to: ``"month"``, ``"quarter"`` (3 months), ``"year"`` (12 months) or
``"contract"`` (the whole service; with ``within_months`` n only the first n months).
Periods run from each enterprise's service start (the contract start, or the day it joined
later), or with ``"align": "calendar"`` follow calendar months, quarters and years;
``in_last_months`` n counts only records of a period's last n months (a year-end report). A
period ends early where the service does (the contract's end, the enterprise leaving, a
revocation). The periods, their windows and met / due / missed are the kernel's
(``anjian.periods``), shared with the ledger duties.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import Date, and_, case, func, literal, or_, select

from anjian import periods
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Defect, NotFound
from anjian.extensions import db
from anjian.services.contracts import contract_end
from anjian.services.models import RECORD_KINDS, ContractEnterprise, ServiceContract, ServiceRecord

PERIODS = {**periods.PERIOD_MONTHS, "contract": None}
PERIOD_LABELS = {**periods.PERIOD_LABELS, "contract": "服务期"}
ALIGNS = ("contract", "calendar")
COMPLIANCE_STATUSES = periods.STATUSES


class ObligationSchema(periods.PeriodRuleSchema):
    """One obligation a contract owes each served enterprise (see the module docstring)."""

    PERIODS = PERIODS

    record_kind = ma.fields.String(required=True, validate=validate.OneOf(list(RECORD_KINDS)))
    topic = ma.fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(min=1, max=120))
    per = periods.per_field(PERIODS, "contract")
    within_months = ma.fields.Integer(load_default=None, allow_none=True,
                                      validate=validate.Range(min=1, max=240))
    align = periods.align_field(ALIGNS, "contract")

    @ma.validates_schema
    def _within_the_contract(self, data, **kwargs):
        if data.get("within_months") is not None and data.get("per", "contract") != "contract":
            raise ma.ValidationError("within_months 只能用于 per = contract", "within_months")


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


def _calendar(rule: dict) -> bool:
    return rule["align"] == "calendar" and rule["per"] != "contract"


def _periods(rule: dict, anchor: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The rule's periods for one enterprise served from ``anchor`` to ``end``."""
    return periods.periods(PERIODS[rule["per"]], anchor, end, calendar=_calendar(rule),
                           within_months=rule["within_months"])


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
    months = periods.sql_month_index(done, anchor)
    year, month = periods.sql_year_month(done)
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
    months = periods.window(anchor, start, end, calendar=_calendar(rule),
                            in_last_months=rule["in_last_months"])
    return sum(n for kind, t, m, ym, n in buckets
               if kind == rule["record_kind"] and (topic is None or t == topic)
               and months.holds(m, ym))


def _served(context: Context, contract: ServiceContract, enterprise_id: int | None = None):
    stmt = (select(ContractEnterprise, Enterprise.name, Enterprise.credit_code)
            .join(Enterprise, Enterprise.id == ContractEnterprise.enterprise_id)
            .where(ContractEnterprise.contract_id == contract.id,
                   enterprise_clause(context, ContractEnterprise.enterprise_id))
            .order_by(Enterprise.name, Enterprise.id))
    if enterprise_id is not None:
        stmt = stmt.where(ContractEnterprise.enterprise_id == enterprise_id)
    return list(db.session.execute(stmt))


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
                state = periods.status_of(done, rule["count"], as_of, stop)
                items.append({"key": rule["key"], "title": rule["title"],
                              "record_kind": rule["record_kind"], "topic": rule["topic"],
                              "per": rule["per"], "period_index": index,
                              "period_start": start, "period_end": stop,
                              "required": rule["count"], "done": done, "status": state})
        shown = [i for i in items if status is None or i["status"] == status]
        enterprises.append({"enterprise_id": row.enterprise_id, "enterprise_name": name,
                            "credit_code": credit_code, "joined_on": row.joined_on,
                            "left_on": row.left_on, "summary": periods.summary(items),
                            "items": shown})
    total = dict.fromkeys(COMPLIANCE_STATUSES, 0)
    for entry in enterprises:
        for key, n in entry["summary"].items():
            total[key] += n
    return {"contract_id": contract.id, "as_of": as_of, "obligations": rules,
            "summary": total, "enterprises": enterprises}
