"""Service contracts (服务合同), the enterprises they serve, and the contract's calendar
(service months and contract years). The caller commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from anjian.campaigns.models import Campaign
from anjian.clock import local_now
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Conflict, Refused
from anjian.extensions import db
from anjian.periods import month_index, month_start  # noqa: F401 (month_index: the contract's calendar too)
from anjian.services.models import ContractEnterprise, ServiceContract, ServiceOrganisation

# --- months: the kernel's (anjian.periods), named here for the contract's calendar -------------

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


def _check_plugin(context: Context, plugin: str | None) -> str | None:
    enabled = context.tenant.plugins
    if plugin is None:
        # One enabled plugin decides the obligations and costs; with several, name one.
        return enabled[0] if len(enabled) == 1 else None
    if plugin not in enabled:
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


def create_contract(context: Context, data: dict) -> ServiceContract:
    data = dict(data)
    enterprise_ids = _live_enterprises(context, data.pop("enterprise_ids", None))
    _check_organisation(data["organisation_id"])
    _check_campaign(data.get("campaign_id"))
    _check_period(data["starts_on"], data["ends_on"])
    data["plugin"] = _check_plugin(context, data.get("plugin"))
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


def update_contract(context: Context, contract: ServiceContract, data: dict) -> ServiceContract:
    """Change an active contract; ``status: ended`` ends it (a revocation is ``revoke``)."""
    _writable(contract)
    data = dict(data)
    if "organisation_id" in data:
        _check_organisation(data["organisation_id"])
    if "campaign_id" in data:
        _check_campaign(data["campaign_id"])
    if "plugin" in data:
        data["plugin"] = _check_plugin(context, data["plugin"])
    if "service_kinds" in data:
        data["service_kinds"] = list(dict.fromkeys(data["service_kinds"]))
    _check_period(data.get("starts_on", contract.starts_on), data.get("ends_on", contract.ends_on))
    for key, value in data.items():
        setattr(contract, key, value)
    db.session.flush()
    return contract


def revoke_contract(context: Context, contract: ServiceContract) -> ServiceContract:
    """Terminate a contract: its organisation stops seeing the enterprises at its next
    request (``enterprises.visibility`` reads only active contracts). Repeating is harmless."""
    if contract.status == "revoked":
        return contract
    if contract.status != "active":
        raise Conflict("合同已结束，不能终止")
    contract.status, contract.revoked_at = "revoked", context.clock()
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
            row.left_on, row.joined_on = None, joined_on or context.today()
            rejoined += 1
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise Conflict("服务企业正在被他人同时添加，请重试", field="enterprise_ids") from exc
    return {"added": added, "rejoined": rejoined, "already": len(ids) - added - rejoined}


def remove_contract_enterprise(context: Context, contract: ServiceContract,
                               row: ContractEnterprise) -> None:
    """The enterprise leaves the contract today: the organisation stops seeing it at once;
    its records, costs and compliance history are kept."""
    _writable(contract)
    if row.left_on is None:
        row.left_on = max(context.today(), row.joined_on or contract.starts_on)
        db.session.flush()


def served_row(contract_id: int, enterprise_id: int) -> ContractEnterprise | None:
    return db.session.scalar(select(ContractEnterprise).where(
        ContractEnterprise.contract_id == contract_id,
        ContractEnterprise.enterprise_id == enterprise_id))
