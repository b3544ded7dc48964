"""Section 二 (服务主要形式): who pays for the services.

"街道、企业购买服务模式。企业为主，街道补贴。具体办法是参加安全生产社会化服务的规模企业和限上
企业，第一年街道补助2000元/家、第二年街道补助2000元/家、第三年街道补助2000元/家、第四年以后
费用由企业全部承担，企业承担统一招投标的差额部分。小微企业费用由街道财政支出"

Our reading, for one enterprise, a tender price P (yuan per enterprise per year, the
contract's ``price_per_enterprise``) and the enterprise's year of participation y:

* an enterprise of scale (规上, the registry's scale ``above``) or above the quota (限上,
  ``above_quota``) — ``subsidised_scales`` — in years 1 to 3 (``subsidy_years``): the
  street pays the subsidy S = 2,000 yuan (``subsidy_per_year_yuan``) and the enterprise
  "the difference of the uniform tender", P - S; when P is below S the street pays P
  only (the subsidy pays for the service, it is not a grant) and the enterprise nothing.
  From year 4 the enterprise pays P in full;
* a small or micro enterprise (小微; the registry's 规下 and 小微, ``street_funded_scales``):
  the street pays P, every year;
* an enterprise in neither list (only when a tenant narrows the lists) pays P itself.

The year of participation counts from the day the enterprise joined the street's
service, across contracts and renewals (``service_year``): the contract year in which it
was first served (by any of the tenant's contracts of this programme) is its first year,
each later contract year one more. An enterprise that joined in a contract's second year
is in its third year in contract year 4 (the street still pays 2,000 yuan); a renewal
does not start the count again. A contract's setting ``prior_years`` (default 0) gives
the years of service before the platform's records (an earlier contract on paper): it is
added for the enterprises served from the contract's first day whose first recorded
service is this contract (one that joined later was not served before).
"""

import datetime as dt
from decimal import Decimal

from anjian.plugin_api import context
from anjian_jinbei.settings import PLUGIN, SCALE_LABELS

CENT = Decimal("0.01")


def categories(enterprise) -> set[str]:
    """The seed's categories of an enterprise: its scale label, and 限上 when above quota."""
    out = {SCALE_LABELS.get(getattr(enterprise, "scale", None), "")}
    if getattr(enterprise, "above_quota", False):
        out.add("限上")
    return out - {""}


def prior_years(contract) -> int:
    prior = (getattr(contract, "settings", None) or {}).get("prior_years", 0)
    try:
        return max(0, int(prior))
    except (TypeError, ValueError):
        return 0


def months_between(anchor: dt.date, day: dt.date) -> int:
    """Whole months from ``anchor`` to ``day`` (negative before it): the core's counting of
    a contract's months (a month ends the day before the anchor's day comes round)."""
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    return months - (1 if day.day < anchor.day else 0)


def service_year(contract, contract_year: int, first: dt.date | None) -> int:
    """The enterprise's year of participation in contract year ``contract_year``, its
    first service with the street being ``first`` (None: unknown, this contract's start).

    The contract's calendar, extended backwards, says in which contract year (1, 0, -1,
    ...) ``first`` fell; that year was the enterprise's first."""
    starts = getattr(contract, "starts_on", None)
    if first is None or starts is None:
        return contract_year + prior_years(contract)
    first_year = months_between(starts, first) // 12 + 1
    year = contract_year - first_year + 1
    if first == starts:  # served from the contract's first day, and not before on record
        year += prior_years(contract)
    return max(year, 1)


def first_service(contract, enterprise) -> dt.date | None:
    """The day the street's programme first served the enterprise (any contract of the
    programme, renewals included); None for a contract not stored (no history)."""
    if getattr(contract, "id", None) is None or getattr(enterprise, "id", None) is None:
        return None
    return context().service_start(enterprise.id, plugins=(PLUGIN, None))


def shares(settings: dict, contract, enterprise, contract_year: int) -> dict | None:
    """{"government", "enterprise", "basis"} in yuan for one enterprise and contract year,
    or None without a tender price."""
    price = getattr(contract, "price_per_enterprise", None)
    if price is None:
        return None
    price = Decimal(str(price)).quantize(CENT)
    first = first_service(contract, enterprise)
    year = service_year(contract, contract_year, first)
    kinds = categories(enterprise)
    subsidised = sorted(kinds & set(settings["subsidised_scales"]))
    if subsidised:
        label = "、".join(subsidised) + "企业"
        since = f"（{first.isoformat()}起参加）" if first is not None else ""
        if year <= settings["subsidy_years"]:
            subsidy = min(Decimal(settings["subsidy_per_year_yuan"]), price)
            return {"government": subsidy, "enterprise": price - subsidy,
                    "basis": f"{label}参加服务第{year}年{since}：街道补助{subsidy:.0f}元，"
                             f"企业承担招标价差额{price - subsidy:.2f}元"}
        return {"government": Decimal(0), "enterprise": price,
                "basis": f"{label}参加服务第{year}年{since}：第{settings['subsidy_years'] + 1}年起"
                         "费用由企业全部承担"}
    if kinds & set(settings["street_funded_scales"]):
        return {"government": price, "enterprise": Decimal(0),
                "basis": "小微企业：费用由街道财政支出"}
    return {"government": Decimal(0), "enterprise": price,
            "basis": "不在街道补助或承担范围内：费用由企业承担"}
