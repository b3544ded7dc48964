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

The year of participation is the contract year (the hook's ``contract_year``, from 1)
plus the contract's setting ``prior_years`` (default 0): a follow-on contract of the
same programme gives the years its enterprises were already served, so that the
subsidy stops after the third year of participation, not of the contract.
"""

from decimal import Decimal

from anjian_jinbei.settings import SCALE_LABELS

CENT = Decimal("0.01")


def categories(enterprise) -> set[str]:
    """The seed's categories of an enterprise: its scale label, and 限上 when above quota."""
    out = {SCALE_LABELS.get(getattr(enterprise, "scale", None), "")}
    if getattr(enterprise, "above_quota", False):
        out.add("限上")
    return out - {""}


def participation_year(contract, contract_year: int) -> int:
    prior = (getattr(contract, "settings", None) or {}).get("prior_years", 0)
    try:
        prior = max(0, int(prior))
    except (TypeError, ValueError):
        prior = 0
    return contract_year + prior


def shares(settings: dict, contract, enterprise, contract_year: int) -> dict | None:
    """{"government", "enterprise", "basis"} in yuan for one enterprise and contract year,
    or None without a tender price."""
    price = getattr(contract, "price_per_enterprise", None)
    if price is None:
        return None
    price = Decimal(str(price)).quantize(CENT)
    year = participation_year(contract, contract_year)
    kinds = categories(enterprise)
    subsidised = sorted(kinds & set(settings["subsidised_scales"]))
    if subsidised:
        label = "、".join(subsidised) + "企业"
        if year <= settings["subsidy_years"]:
            subsidy = min(Decimal(settings["subsidy_per_year_yuan"]), price)
            return {"government": subsidy, "enterprise": price - subsidy,
                    "basis": f"{label}参加服务第{year}年：街道补助{subsidy:.0f}元，"
                             f"企业承担招标价差额{price - subsidy:.2f}元"}
        return {"government": Decimal(0), "enterprise": price,
                "basis": f"{label}参加服务第{year}年：第{settings['subsidy_years'] + 1}年起"
                         "费用由企业全部承担"}
    if kinds & set(settings["street_funded_scales"]):
        return {"government": price, "enterprise": Decimal(0),
                "basis": "小微企业：费用由街道财政支出"}
    return {"government": Decimal(0), "enterprise": price,
            "basis": "不在街道补助或承担范围内：费用由企业承担"}
