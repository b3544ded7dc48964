"""Jinbei street: safety social services paid partly by the street.

Seed 001, "锦北街道推进安全生产社会化服务工作方案" of Jinbei street (锦北街道). The
street buys safety services (安全生产社会化服务) from professional organisations:

* targets (section 三, ``targets``): serious occupational-disease hazards, weak
  self-management of industrial units, landlords of multi-tenant premises and large
  markets, units under listed supervision for a major accident hazard (挂牌督办);
* cost sharing (section 二, ``costs``; 企业为主，街道补贴): enterprises of scale (规模企业)
  and above-quota enterprises (限上企业) get a street subsidy of 2,000 yuan each in
  years 1, 2 and 3 of their participation (counted from when they joined the street's
  service, across contracts and renewals) and pay everything from year 4; they pay the
  difference between the tender price and the subsidy. Small and micro enterprises
  (小微企业) are paid for entirely by the street budget; the cost table of a contract
  year is a report kind (``reports``), each enterprise counted once (the core's table);
* obligations of the service organisation (section 五.5, ``obligations``): a site visit
  (实地验场) to each served unit; within 3 months set up the served unit's safety
  organisation, responsibilities, rules, operating procedures and emergency plans; at
  least one inspection a quarter; at least two trainings and two emergency drills a
  year; a year-end report to each served unit. The organisation's inspections on the
  platform are its service records.

The seed gives no year and no calendar dates: its programme runs from each
service contract's start. The campaign kind's phases therefore have no fixed
``start``/``end`` (``None``) and carry a ``relative`` window in months from the
contract start instead.

Written as an outside package: of anjian it imports ``anjian.plugin_api`` only.
"""

from anjian.plugin_api import hookimpl
from anjian_jinbei import catalogue, costs, obligations, reports, targets
from anjian_jinbei.settings import PLUGIN, JinbeiSettings, applies_to, settings_of

# The plugin contract this plugin is written for (anjian.plugin_api.CONTRACT_VERSION).
PLUGIN_CONTRACT = 1

CAMPAIGN_KEY = catalogue.CAMPAIGN_KEY

__all__ = ["CAMPAIGN_KEY", "PLUGIN", "JinbeiSettings"]


@hookimpl
def settings_schema():
    return JinbeiSettings


@hookimpl
def register_campaign_kinds():
    return [catalogue.CAMPAIGN_KIND]


@hookimpl
def register_report_kinds():
    return [reports.REPORT]


@hookimpl
def enterprise_extra_fields(tenant):
    return targets.extra_fields()


@hookimpl
def select_campaign_targets(tenant, campaign, enterprises):
    """Section 三: the street's programme targets, each with its reasons."""
    if getattr(campaign, "kind", None) != CAMPAIGN_KEY:
        return None
    return targets.select(enterprises)


@hookimpl
def service_cost_shares(tenant, contract, enterprise, contract_year):
    """Section 二: the street's subsidy and the enterprise's part of the tender price."""
    if not applies_to(contract):
        return None
    return costs.shares(settings_of(tenant), contract, enterprise, contract_year)


@hookimpl
def service_obligations(tenant, contract):
    """Section 五.5: set-up within 3 months, quarterly inspections, yearly trainings and
    drills, the year-end report."""
    return obligations.rules(tenant, contract)


@hookimpl
def on_inspection_completed(tenant, inspection, actor):
    """Section 五.5: an inspection the contracted organisation submits on the platform is its
    service record (the quarter's inspection), without typing it again."""
    obligations.record_inspection(tenant, inspection, actor)
