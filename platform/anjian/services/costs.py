"""Who pays for a service contract (费用分担): each served enterprise's price split between
the government and the enterprise by the tenant's plugin, per contract year, and the table
as spreadsheet rows."""

from __future__ import annotations

import decimal

from sqlalchemy import or_, select

from anjian.context import Context
from anjian.enterprises.models import SCALES, Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Defect
from anjian.extensions import db
from anjian.services.contracts import contract_year_period
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
    for enterprise in db.session.scalars(stmt):
        shares = None
        if price is not None:
            shares = context.policy("service_cost_shares", contract=contract,
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

