"""Who pays for a service contract (费用分担): each served enterprise's price split between
the government and the enterprise by the tenant's plugin, per contract year, and the table
as spreadsheet rows.

An enterprise is counted once in the budget: where an earlier contract of the same
programme (the same ``plugin``; the earlier start, then the lower id) serves it during
part of a contract year, that contract's table counts it and this one lists it as
counted there (``counted_in``), with no price and no shares.
"""

from __future__ import annotations

import decimal

from sqlalchemy import and_, or_, select

from anjian.context import Context
from anjian.enterprises.models import SCALES, Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Defect
from anjian.extensions import db
from anjian.services.contracts import contract_end, contract_year_period
from anjian.services.models import ContractEnterprise, ServiceContract

CENT = decimal.Decimal("0.01")


def _yuan(value, what: str) -> decimal.Decimal:
    try:
        amount = decimal.Decimal(str(value)).quantize(CENT)
    except (decimal.InvalidOperation, TypeError, ValueError) as exc:
        raise Defect(f"插件给出的费用无效: {what}={value!r}") from exc
    if amount < 0:
        raise Defect(f"插件给出的费用为负数: {what}={value!r}")
    return amount


def counted_elsewhere(contract: ServiceContract, start, end, enterprise_ids) -> dict:
    """{enterprise id: the earlier contract} for those of ``enterprise_ids`` that an earlier
    contract of the same programme serves on some day of ``start``..``end`` (one statement)."""
    ids = list(enterprise_ids)
    if not ids:
        return {}
    same_plugin = (ServiceContract.plugin.is_(None) if contract.plugin is None
                   else ServiceContract.plugin == contract.plugin)
    earlier = or_(ServiceContract.starts_on < contract.starts_on,
                  and_(ServiceContract.starts_on == contract.starts_on,
                       ServiceContract.id < contract.id))
    rows = db.session.execute(
        select(ContractEnterprise.enterprise_id, ServiceContract)
        .join(ServiceContract, ServiceContract.id == ContractEnterprise.contract_id)
        .where(ContractEnterprise.enterprise_id.in_(ids), ServiceContract.id != contract.id,
               same_plugin, earlier, ServiceContract.starts_on <= end,
               ServiceContract.ends_on >= start,
               or_(ContractEnterprise.joined_on.is_(None), ContractEnterprise.joined_on <= end),
               or_(ContractEnterprise.left_on.is_(None), ContractEnterprise.left_on >= start))
        .order_by(ServiceContract.starts_on, ServiceContract.id))
    out: dict = {}
    for enterprise_id, other in rows:
        if contract_end(other) >= start and enterprise_id not in out:  # a revocation ends it
            out[enterprise_id] = other
    return out


def cost_table(context: Context, contract: ServiceContract, year: int) -> dict:
    """Who pays what in contract year ``year`` for each enterprise served during it, from
    the tenant's plugin (``service_cost_shares``), with totals for the budget. Without a
    plugin rule (or a price) the shares are left empty."""
    start, end = contract_year_period(contract, year)
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
    enterprises = list(db.session.scalars(stmt))
    elsewhere = counted_elsewhere(contract, start, end, (e.id for e in enterprises))
    for enterprise in enterprises:
        other = elsewhere.get(enterprise.id)
        if other is not None:
            rows.append({"enterprise_id": enterprise.id, "enterprise_name": enterprise.name,
                         "credit_code": enterprise.credit_code, "scale": enterprise.scale,
                         "scale_label": SCALES.get(enterprise.scale),
                         "above_quota": enterprise.above_quota, "price": None,
                         "government": None, "enterprise": None,
                         "counted_in": {"contract_id": other.id, "contract_title": other.title},
                         "basis": f"同期已由服务合同“{other.title}”计入预算，本表不重复计算"[:500]})
            continue
        shares = None
        if price is not None:
            shares = context.policy("service_cost_shares", contract=contract,
                                    enterprise=enterprise, contract_year=year)
        row = {"enterprise_id": enterprise.id, "enterprise_name": enterprise.name,
               "credit_code": enterprise.credit_code, "scale": enterprise.scale,
               "scale_label": SCALES.get(enterprise.scale), "above_quota": enterprise.above_quota,
               "price": price, "government": None, "enterprise": None, "counted_in": None,
               "basis": ""}
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
    budgeted = sum(1 for row in rows if row["counted_in"] is None)
    return {"contract_id": contract.id, "contract_title": contract.title, "contract_year": year,
            "period_start": start, "period_end": end, "price_per_enterprise": price,
            "has_rule": ruled and bool(budgeted), "enterprise_count": budgeted,
            "counted_elsewhere": len(rows) - budgeted, "rows": rows, "totals": totals}


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
           f"{table['period_end']}），共 {table['enterprise_count']} 家"
           + (f"（另有 {table['counted_elsewhere']} 家已计入同期其他合同）"
              if table.get("counted_elsewhere") else "")]

