"""Rules of third-party safety services (安全生产社会化服务): organisations and their staff,
contracts and the enterprises they serve, service records, obligations and compliance,
cost shares, and the bureau's spot checks. The caller commits.

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

import calendar
import datetime as dt
import decimal
import math
import random
import secrets
from collections import defaultdict

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError

from anjian.auth.models import Membership
from anjian.campaigns.models import Campaign
from anjian.clock import local_now, local_today, utcnow
from anjian.context import Context
from anjian.enterprises.models import SCALES, Enterprise
from anjian.enterprises.visibility import actor, enterprise_clause
from anjian.errors import Conflict, Defect, DomainError, NotFound, Refused
from anjian.extensions import db
from anjian.permissions import allows
from anjian.services.models import (
    FINDINGS,
    RECORD_KINDS,
    ContractEnterprise,
    ServiceContract,
    ServiceOrganisation,
    ServiceOrgStaff,
    ServiceRecord,
    SpotCheck,
    SpotCheckSample,
)
from anjian.tenancy.models import Tenant
from anjian.tenancy.service import call_policy

PERIODS = {"quarter": 3, "year": 12, "contract": None}
PERIOD_LABELS = {"quarter": "季度", "year": "年度", "contract": "服务期"}
ALIGNS = ("contract", "calendar")
COMPLIANCE_STATUSES = {"met": "已完成", "due": "进行中", "missed": "未完成"}
SPOT_CHECK_SUBJECT = "service_results"
DEFAULT_SAMPLE_REASON = "随机抽取"
CENT = decimal.Decimal("0.01")


class _AnyDomainError(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, DomainError)

    def __subclasscheck__(cls, subclass):
        return issubclass(subclass, DomainError)


class ServiceError(DomainError, metaclass=_AnyDomainError):
    """Kept for the locality plugins until they move to the plugin API: ``ServiceError(409,
    message)`` raises the domain error of that answer, and ``except ServiceError`` catches
    any domain error. The core raises ``anjian.errors`` itself."""

    _CLASSES = {404: NotFound, 409: Conflict, 422: Refused, 500: Defect}

    def __new__(cls, status: int, message: str, field: str | None = None):
        return cls._CLASSES[status](message, field=field)


# --- months -----------------------------------------------------------------------------------

def month_index(anchor: dt.date, day: dt.date) -> int:
    """Whole months from ``anchor`` to ``day`` (a month ends the day before the anchor's day
    of month comes round again). The compliance query computes the same in SQL."""
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    return months - (1 if day.day < anchor.day else 0)


def month_start(anchor: dt.date, k: int) -> dt.date:
    """The first day of month ``k`` counted from ``anchor``: the anchor's day of month ``k``
    months later, or the 1st of the next month where that day does not exist (31 Jan + 1
    month starts on 1 Mar), so that ``month_index(anchor, month_start(anchor, k)) == k``."""
    total = anchor.year * 12 + anchor.month - 1 + k
    year, month = divmod(total, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    if anchor.day <= last:
        return dt.date(year, month, anchor.day)
    return dt.date(year, month, last) + dt.timedelta(days=1)


def contract_year_period(contract: ServiceContract, year: int) -> tuple[dt.date, dt.date]:
    """Contract year ``year`` (from 1): twelve months from the contract start, the last one
    cut at the contract's end."""
    if year < 1:
        raise Refused("合同年度从 1 开始", field="year")
    start = month_start(contract.starts_on, 12 * (year - 1))
    if start > contract.ends_on:
        raise Refused(f"合同期内没有第 {year} 年度", field="year")
    end = month_start(contract.starts_on, 12 * year) - dt.timedelta(days=1)
    return start, min(end, contract.ends_on)


def contract_years(contract: ServiceContract) -> int:
    return month_index(contract.starts_on, contract.ends_on) // 12 + 1


# --- organisations and staff ------------------------------------------------------------------

def my_organisation_id(context: Context) -> int | None:
    """The organisation the context's service-organisation user works for (None for others)."""
    access, user_id = actor(context)
    if access is None or not allows(access.role, "contract.read_own_organisation") \
            or user_id is None:
        return None
    return db.session.scalar(select(ServiceOrgStaff.organisation_id)
                             .where(ServiceOrgStaff.user_id == user_id))


def is_service_org(context: Context) -> bool:
    access, _user_id = actor(context)
    return access is not None and allows(access.role, "contract.read_own_organisation")


def organisation_clause(context: Context, column):
    """Limits ``column`` (an organisation id) to the caller's own organisation when it is a
    service organisation's user; everybody else sees all of the tenant's."""
    if not is_service_org(context):
        return true()
    mine = my_organisation_id(context)
    return column == mine if mine is not None else false()


def _name_taken(name: str, but: int | None = None) -> bool:
    stmt = select(ServiceOrganisation.id).where(ServiceOrganisation.name == name)
    if but is not None:
        stmt = stmt.where(ServiceOrganisation.id != but)
    return db.session.scalar(stmt.limit(1)) is not None


def _credit_code(data: dict) -> dict:
    from anjian.enterprises.service import normalize_credit_code

    if data.get("credit_code"):
        data["credit_code"] = normalize_credit_code(data["credit_code"])  # Refused on credit_code
    elif "credit_code" in data:
        data["credit_code"] = None
    return data


def create_organisation(data: dict) -> ServiceOrganisation:
    data = _credit_code({**data, "name": data["name"].strip()})
    if _name_taken(data["name"]):
        raise Conflict("同名服务机构已登记", field="name")
    organisation = ServiceOrganisation(**data)
    db.session.add(organisation)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise Conflict("同名服务机构已登记", field="name") from exc
    return organisation


def update_organisation(organisation: ServiceOrganisation, data: dict) -> ServiceOrganisation:
    data = _credit_code(dict(data))
    if "name" in data:
        data["name"] = data["name"].strip()
        if _name_taken(data["name"], but=organisation.id):
            raise Conflict("同名服务机构已登记", field="name")
    for key, value in data.items():
        setattr(organisation, key, value)
    db.session.flush()
    return organisation


def delete_organisation(organisation: ServiceOrganisation) -> None:
    """Only an organisation without contracts goes (its staff links with it); one that
    served keeps its history and is deactivated instead (``is_active`` false)."""
    used = db.session.scalar(select(ServiceContract.id)
                             .where(ServiceContract.organisation_id == organisation.id).limit(1))
    if used is not None:
        raise Conflict("该服务机构已有服务合同，不能删除；可将其停用")
    for staff in db.session.scalars(select(ServiceOrgStaff)
                                    .where(ServiceOrgStaff.organisation_id == organisation.id)):
        db.session.delete(staff)
    db.session.flush()
    db.session.delete(organisation)
    db.session.flush()


def add_staff(tenant: Tenant, organisation: ServiceOrganisation, user_id: int) -> ServiceOrgStaff:
    """Link a user to the organisation: the user must be a member of this tenant with the
    role service_org, and works for one organisation of the tenant at a time."""
    # Memberships are also visible to their own user in other tenants: name this one.
    role = db.session.scalar(select(Membership.role).where(
        Membership.tenant_id == tenant.id, Membership.user_id == user_id))
    if not allows(role, "service_org.be_staff"):
        raise Refused("该用户不是本单位的第三方服务机构人员（角色须为 service_org）",
                      field="user_id")
    current = db.session.scalar(select(ServiceOrgStaff).where(ServiceOrgStaff.user_id == user_id))
    if current is not None:
        if current.organisation_id == organisation.id:
            return current
        raise Conflict("该用户已是其他服务机构的人员", field="user_id")
    staff = ServiceOrgStaff(organisation_id=organisation.id, user_id=user_id)
    db.session.add(staff)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same user added by another request meanwhile
        raise Conflict("该用户正在被同时添加，请重试", field="user_id") from exc
    return staff


def remove_staff(staff: ServiceOrgStaff) -> None:
    db.session.delete(staff)
    db.session.flush()


# --- contracts --------------------------------------------------------------------------------

def _check_organisation(organisation_id: int) -> ServiceOrganisation:
    organisation = db.session.get(ServiceOrganisation, organisation_id)
    if organisation is None:
        raise Refused("服务机构不存在", field="organisation_id")
    if not organisation.is_active:
        raise Refused("服务机构已停用", field="organisation_id")
    return organisation


def _check_campaign(campaign_id: int | None) -> None:
    if campaign_id is not None and db.session.get(Campaign, campaign_id) is None:
        raise Refused("专项行动不存在", field="campaign_id")


def _check_plugin(tenant: Tenant, plugin: str | None) -> str | None:
    if plugin is None:
        # One enabled plugin decides the obligations and costs; with several, name one.
        return tenant.plugins[0] if len(tenant.plugins) == 1 else None
    if plugin not in tenant.plugins:
        raise Refused(f"本单位未启用该插件: {plugin}", field="plugin")
    return plugin


def _check_period(starts_on: dt.date, ends_on: dt.date) -> None:
    if starts_on > ends_on:
        raise Refused("合同开始日期晚于结束日期", field="ends_on")


def _live_enterprises(context: Context, ids) -> list[int]:
    """``ids`` that are live enterprises the caller may see, or 422 naming the others."""
    ids = list(dict.fromkeys(ids or ()))
    if not ids:
        return []
    found = set(db.session.scalars(
        select(Enterprise.id).where(Enterprise.id.in_(ids), Enterprise.deleted_at.is_(None),
                                    enterprise_clause(context, Enterprise.id))))
    missing = [i for i in ids if i not in found]
    if missing:  # another tenant's id is as absent as a missing one
        raise Refused("企业不存在: " + "、".join(map(str, missing)), field="enterprise_ids")
    return ids


def create_contract(context: Context, tenant: Tenant, data: dict) -> ServiceContract:
    data = dict(data)
    enterprise_ids = _live_enterprises(context, data.pop("enterprise_ids", None))
    _check_organisation(data["organisation_id"])
    _check_campaign(data.get("campaign_id"))
    _check_period(data["starts_on"], data["ends_on"])
    data["plugin"] = _check_plugin(tenant, data.get("plugin"))
    data["service_kinds"] = list(dict.fromkeys(data.get("service_kinds") or ()))
    contract = ServiceContract(status="active", **data)
    db.session.add(contract)
    db.session.flush()
    for enterprise_id in enterprise_ids:
        db.session.add(ContractEnterprise(contract_id=contract.id, enterprise_id=enterprise_id))
    db.session.flush()
    return contract


def _writable(contract: ServiceContract) -> None:
    if contract.status != "active":
        raise Conflict("合同已结束或已终止，不能修改")


def update_contract(tenant: Tenant, contract: ServiceContract, data: dict) -> ServiceContract:
    """Change an active contract; ``status: ended`` ends it (a revocation is ``revoke``)."""
    _writable(contract)
    data = dict(data)
    if "organisation_id" in data:
        _check_organisation(data["organisation_id"])
    if "campaign_id" in data:
        _check_campaign(data["campaign_id"])
    if "plugin" in data:
        data["plugin"] = _check_plugin(tenant, data["plugin"])
    if "service_kinds" in data:
        data["service_kinds"] = list(dict.fromkeys(data["service_kinds"]))
    _check_period(data.get("starts_on", contract.starts_on), data.get("ends_on", contract.ends_on))
    for key, value in data.items():
        setattr(contract, key, value)
    db.session.flush()
    return contract


def revoke_contract(contract: ServiceContract) -> ServiceContract:
    """Terminate a contract: its organisation stops seeing the enterprises at its next
    request (``enterprises.visibility`` reads only active contracts). Repeating is harmless."""
    if contract.status == "revoked":
        return contract
    if contract.status != "active":
        raise Conflict("合同已结束，不能终止")
    contract.status, contract.revoked_at = "revoked", utcnow()
    db.session.flush()
    return contract


def contract_end(contract: ServiceContract) -> dt.date:
    """The last day of service: the contract's end, or the day it was revoked."""
    if contract.status == "revoked" and contract.revoked_at is not None:
        return min(contract.ends_on, local_now(contract.revoked_at).date())
    return contract.ends_on


def add_contract_enterprises(context: Context, contract: ServiceContract, ids,
                             joined_on: dt.date | None) -> dict:
    """Serve more enterprises (idempotent: one already served stays as it was; one that had
    left is served again)."""
    _writable(contract)
    ids = _live_enterprises(context, ids)
    if joined_on is not None and not contract.starts_on <= joined_on <= contract.ends_on:
        raise Refused("加入日期须在合同期内", field="joined_on")
    existing = {row.enterprise_id: row for row in db.session.scalars(
        select(ContractEnterprise).where(ContractEnterprise.contract_id == contract.id,
                                         ContractEnterprise.enterprise_id.in_(ids)))}
    added = rejoined = 0
    for enterprise_id in ids:
        row = existing.get(enterprise_id)
        if row is None:
            db.session.add(ContractEnterprise(contract_id=contract.id,
                                              enterprise_id=enterprise_id, joined_on=joined_on))
            added += 1
        elif row.left_on is not None:
            row.left_on, row.joined_on = None, joined_on or local_today()
            rejoined += 1
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise Conflict("服务企业正在被他人同时添加，请重试", field="enterprise_ids") from exc
    return {"added": added, "rejoined": rejoined, "already": len(ids) - added - rejoined}


def remove_contract_enterprise(contract: ServiceContract, row: ContractEnterprise) -> None:
    """The enterprise leaves the contract today: the organisation stops seeing it at once;
    its records, costs and compliance history are kept."""
    _writable(contract)
    if row.left_on is None:
        row.left_on = max(local_today(), row.joined_on or contract.starts_on)
        db.session.flush()


def served_row(contract_id: int, enterprise_id: int) -> ContractEnterprise | None:
    return db.session.scalar(select(ContractEnterprise).where(
        ContractEnterprise.contract_id == contract_id,
        ContractEnterprise.enterprise_id == enterprise_id))


# --- service records --------------------------------------------------------------------------

def create_record(context: Context, data: dict) -> ServiceRecord:
    """Record a service delivered. A service organisation's user records only for the
    enterprises of its organisation's active contracts (others are 404, like foreign ones);
    the record's staff member is the caller. Evidence files are attached to the record."""
    from anjian.inspections.models import Inspection
    from anjian.inspections.service import attach_evidence
    from anjian.reports.models import Report

    data = dict(data)
    actor_id = context.user_id
    evidence_ids = data.pop("evidence_ids", None) or []
    contract = db.session.get(ServiceContract, data["contract_id"])
    mine = my_organisation_id(context)
    if contract is None or (is_service_org(context) and contract.organisation_id != mine):
        raise NotFound("服务合同不存在", field="contract_id")
    if contract.status != "active":
        raise Conflict("合同已结束或已终止，不能再登记服务", field="contract_id")
    row = db.session.scalar(select(ContractEnterprise).where(
        ContractEnterprise.contract_id == contract.id,
        ContractEnterprise.enterprise_id == data["enterprise_id"],
        ContractEnterprise.left_on.is_(None),
        enterprise_clause(context, ContractEnterprise.enterprise_id)))
    if row is None:
        raise NotFound("该企业不在本合同的服务范围内", field="enterprise_id")
    done_on = data["done_on"]
    first = max(contract.starts_on, row.joined_on or contract.starts_on)
    if not first <= done_on <= contract.ends_on:
        raise Refused("服务日期须在合同期内", field="done_on")
    if done_on > local_today():
        raise Refused("服务日期不能晚于今天", field="done_on")
    if is_service_org(context):
        data["staff_user_id"] = actor_id
    elif data.get("staff_user_id") is not None:
        staff = db.session.scalar(select(ServiceOrgStaff.organisation_id).where(
            ServiceOrgStaff.user_id == data["staff_user_id"]))
        if staff != contract.organisation_id:
            raise Refused("该用户不是本合同服务机构的人员", field="staff_user_id")
    if data.get("inspection_id") is not None:
        inspection = db.session.get(Inspection, data["inspection_id"])
        if inspection is None or inspection.enterprise_id != data["enterprise_id"]:
            raise Refused("检查记录不存在或不属于该企业", field="inspection_id")
    if data.get("report_id") is not None:
        report = db.session.get(Report, data["report_id"])
        if report is None or not _report_of_organisation(context, report,
                                                         contract.organisation_id):
            raise Refused("报告不存在", field="report_id")
        if report.status != "ready":
            raise Refused("报告尚未生成完成", field="report_id")
    if data["kind"] == "report" and data.get("report_id") is None and not evidence_ids:
        raise Refused("交付报告须附平台生成的报告（report_id）或上传的报告文件"
                      "（evidence_ids）", field="report_id")
    record = ServiceRecord(**data)
    db.session.add(record)
    db.session.flush()
    attach_evidence(context, evidence_ids, service_record_id=record.id, enterprise_id=record.enterprise_id)
    return record


def _report_of_organisation(context: Context, report, organisation_id: int) -> bool:
    """A service organisation delivers its own reports: one requested by its staff."""
    if not is_service_org(context):
        return True
    if report.requested_by is None:
        return False
    return db.session.scalar(select(ServiceOrgStaff.id).where(
        ServiceOrgStaff.organisation_id == organisation_id,
        ServiceOrgStaff.user_id == report.requested_by).limit(1)) is not None


def record_clause(context: Context):
    """Service records the caller may read: its visible enterprises, and for a service
    organisation only the records of its own contracts."""
    clause = enterprise_clause(context, ServiceRecord.enterprise_id)
    if is_service_org(context):
        mine = my_organisation_id(context)
        own = select(ServiceContract.id).where(ServiceContract.organisation_id == mine)
        clause = and_(clause, ServiceRecord.contract_id.in_(own)) if mine is not None else false()
    return clause


# --- obligations and compliance ---------------------------------------------------------------

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


def obligations(tenant: Tenant, contract: ServiceContract) -> list[dict]:
    """The rules of all the tenant's enabled plugins for this contract, validated."""
    schema = ObligationSchema()
    out, seen = [], set()
    for rules in call_policy(tenant, "service_obligations", contract=contract) or ():
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


def compliance(context: Context, tenant: Tenant, contract: ServiceContract, as_of: dt.date,
               enterprise_id: int | None = None, status: str | None = None) -> dict:
    """Each obligation x period x served enterprise at ``as_of``: met (enough records), due
    (not enough yet, the period not over) or missed (the period over without enough).
    Periods that have not begun by ``as_of`` are not listed."""
    rules = obligations(tenant, contract)
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


# --- costs ------------------------------------------------------------------------------------

def _yuan(value, what: str) -> decimal.Decimal:
    try:
        amount = decimal.Decimal(str(value)).quantize(CENT)
    except (decimal.InvalidOperation, TypeError, ValueError) as exc:
        raise Defect(f"插件给出的费用无效: {what}={value!r}") from exc
    if amount < 0:
        raise Defect(f"插件给出的费用为负数: {what}={value!r}")
    return amount


def cost_table(context: Context, contract: ServiceContract, year: int) -> dict:
    """Who pays what in contract year ``year`` for each enterprise served during it, from
    the tenant's plugin (``service_cost_shares``), with totals for the budget. Without a
    plugin rule (or a price) the shares are left empty."""
    start, end = contract_year_period(contract, year)
    tenant = context.tenant  # once, not per enterprise
    stmt = (select(Enterprise)
            .join(ContractEnterprise, ContractEnterprise.enterprise_id == Enterprise.id)
            .where(ContractEnterprise.contract_id == contract.id,
                   or_(ContractEnterprise.joined_on.is_(None), ContractEnterprise.joined_on <= end),
                   or_(ContractEnterprise.left_on.is_(None), ContractEnterprise.left_on >= start),
                   enterprise_clause(context, Enterprise.id))
            .order_by(Enterprise.name, Enterprise.id))
    price = contract.price_per_enterprise
    rows, ruled = [], price is not None
    totals = {"price": decimal.Decimal(0), "government": decimal.Decimal(0),
              "enterprise": decimal.Decimal(0)}
    for enterprise in db.session.scalars(stmt):
        shares = None
        if price is not None:
            shares = call_policy(tenant, "service_cost_shares", contract=contract,
                                 enterprise=enterprise, contract_year=year)
        row = {"enterprise_id": enterprise.id, "enterprise_name": enterprise.name,
               "credit_code": enterprise.credit_code, "scale": enterprise.scale,
               "scale_label": SCALES.get(enterprise.scale), "above_quota": enterprise.above_quota,
               "price": price, "government": None, "enterprise": None, "basis": ""}
        if shares is None:
            ruled = False
        else:
            government = _yuan(shares.get("government"), "government")
            paid = _yuan(shares.get("enterprise"), "enterprise")
            if government + paid != decimal.Decimal(price).quantize(CENT):
                raise Defect(f"插件给出的费用分担之和 {government + paid} 不等于"
                             f"中标单价 {price}（企业 {enterprise.id}）")
            row.update(government=government, enterprise=paid,
                       basis=str(shares.get("basis") or "")[:500])
            totals["government"] += government
            totals["enterprise"] += paid
        if price is not None:
            totals["price"] += decimal.Decimal(price)
        rows.append(row)
    return {"contract_id": contract.id, "contract_title": contract.title, "contract_year": year,
            "period_start": start, "period_end": end, "price_per_enterprise": price,
            "has_rule": ruled and bool(rows), "enterprise_count": len(rows), "rows": rows,
            "totals": totals}


COST_HEADERS = [("序号", 6), ("企业名称", 36), ("统一社会信用代码", 22), ("规模", 8),
                ("限上", 6), ("服务费（元）", 14), ("街道承担（元）", 16), ("企业承担（元）", 16),
                ("说明", 50)]


def cost_rows(table: dict):
    """The cost table as spreadsheet rows, ending with the totals (the street's budget)."""
    def money(value):
        return float(value) if value is not None else None

    for n, row in enumerate(table["rows"], start=1):
        yield [n, row["enterprise_name"], row["credit_code"], row["scale_label"],
               row["above_quota"], money(row["price"]), money(row["government"]),
               money(row["enterprise"]), row["basis"]]
    totals = table["totals"]
    yield [None, "合计", None, None, None, money(totals["price"]),
           money(totals["government"]) if table["has_rule"] else None,
           money(totals["enterprise"]) if table["has_rule"] else None,
           f"第{table['contract_year']}合同年度（{table['period_start']} 至 "
           f"{table['period_end']}），共 {table['enterprise_count']} 家"]


# --- spot checks ------------------------------------------------------------------------------

def sample_size(ratio, population: int) -> int:
    """ceil(ratio x n), at least 1, at most n (exact: 0.7 x 10 is 7, not 8)."""
    wanted = math.ceil(decimal.Decimal(str(ratio)) * population)
    return max(1, min(population, wanted))


def uniform_sample(population: list[int], ratio, seed: str) -> list[int]:
    """The core's sample: ``random.Random(seed)`` over the sorted population ids. The same
    seed and population always give the same ids."""
    ordered = sorted(population)
    if not ordered:
        return []
    return sorted(random.Random(seed).sample(ordered, sample_size(ratio, len(ordered))))  # noqa: S311


def served_population(contract: ServiceContract) -> list[int]:
    """The ids of the enterprises the contract serves now, sorted."""
    return sorted(db.session.scalars(select(ContractEnterprise.enterprise_id).where(
        ContractEnterprise.contract_id == contract.id, ContractEnterprise.left_on.is_(None))))


def draw_sample(tenant: Tenant, contract: ServiceContract, data: dict,
                actor_id: int | None) -> SpotCheckSample:
    """Draw the bureau's spot check of the service results: a share ``ratio`` of the served
    enterprises, through the plugin hook ``select_spot_check_sample`` or the core's uniform
    draw; the seed and the population are recorded so the draw can be repeated. The due
    date is ``deadline_workdays`` working days after ``deadline_start`` (default today), or
    what the plugin's ``task_deadline`` gives for ``spot_check``."""
    from anjian.workdays.service import set_deadline

    ratio = decimal.Decimal(str(data["ratio"]))
    seed = data.get("seed") or secrets.token_hex(8)
    population = served_population(contract)
    if not population:
        raise Refused("该合同没有服务企业，无法抽查")
    enterprises = list(db.session.scalars(
        select(Enterprise).where(Enterprise.id.in_(population)).order_by(Enterprise.id)))
    picked = call_policy(tenant, "select_spot_check_sample", subject=SPOT_CHECK_SUBJECT,
                         candidates=enterprises, ratio=float(ratio), seed=seed)
    if picked is None:
        by_id = {e.id: e for e in enterprises}
        picked = [(by_id[i], DEFAULT_SAMPLE_REASON) for i in uniform_sample(population, ratio, seed)]
    chosen: dict[int, str] = {}
    allowed = set(population)
    for candidate, reason in picked:
        ident = getattr(candidate, "id", candidate)
        if ident not in allowed:
            raise Defect(f"插件抽取了不在服务范围内的企业: {ident}")
        chosen.setdefault(ident, str(reason or "")[:2000])
    if not chosen:
        raise Defect("插件没有抽取任何企业")
    sample = SpotCheckSample(contract_id=contract.id, ratio=ratio, seed=seed,
                             population=population, drawn_by=actor_id)
    start = data.get("deadline_start") or local_today()
    workdays = data.get("deadline_workdays")
    if workdays is None:
        workdays = call_policy(tenant, "task_deadline", task_kind="spot_check", start=start)
    if workdays is not None:
        set_deadline(sample, start, int(workdays))
    db.session.add(sample)
    db.session.flush()
    for enterprise_id in sorted(chosen):
        db.session.add(SpotCheck(sample_id=sample.id, enterprise_id=enterprise_id,
                                 reason=chosen[enterprise_id]))
    db.session.flush()
    return sample


def record_finding(check: SpotCheck, data: dict, actor_id: int | None) -> SpotCheck:
    if "finding" in data:
        check.finding = data["finding"]
    if "note" in data:
        check.note = data["note"] or ""
    check.checked_by, check.checked_at = actor_id, utcnow()
    db.session.flush()
    return check


SAMPLE_FIELDS = ("id", "contract_id", "ratio", "seed", "population", "drawn_by", "drawn_at",
                 "deadline_start", "deadline_workdays", "deadline", "deadline_provisional")


def _check_items(where) -> dict[int, list[dict]]:
    """The spot checks matching ``where`` with their enterprises, by sample id, in one
    statement."""
    rows = db.session.execute(
        select(SpotCheck, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, Enterprise.id == SpotCheck.enterprise_id)
        .where(where).order_by(SpotCheck.sample_id, SpotCheck.enterprise_id))
    out: dict[int, list[dict]] = defaultdict(list)
    for check, name, code in rows:
        out[check.sample_id].append({
            "enterprise_id": check.enterprise_id, "enterprise_name": name, "credit_code": code,
            "reason": check.reason, "finding": check.finding,
            "finding_label": FINDINGS.get(check.finding), "note": check.note,
            "checked_by": check.checked_by, "checked_at": check.checked_at})
    return out


def sample_views(samples) -> list[dict]:
    """The views of ``samples`` (a page of them), their items read in one statement."""
    samples = list(samples)
    items = _check_items(SpotCheck.sample_id.in_([s.id for s in samples])) if samples else {}
    out = []
    for sample in samples:
        mine = items.get(sample.id, [])
        summary = {key: 0 for key in (*FINDINGS, "unchecked")}
        for item in mine:
            summary[item["finding"] or "unchecked"] += 1
        out.append({**{f: getattr(sample, f) for f in SAMPLE_FIELDS}, "size": len(mine),
                    "items": mine, "summary": summary})
    return out


def sample_view(sample: SpotCheckSample) -> dict:
    return sample_views([sample])[0]


def check_item(check: SpotCheck) -> dict:
    """One spot check as it stands in its sample's view."""
    return _check_items(SpotCheck.id == check.id)[check.sample_id][0]
