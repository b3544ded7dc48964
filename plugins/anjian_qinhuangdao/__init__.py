"""Qinhuangdao ETDZ: government-bought third-party safety services, summer 2022.

Seed 000, "关于开展安全生产社会化服务工作的实施方案" of the emergency bureau of the
Qinhuangdao Economic and Technological Development Zone (秦皇岛经济技术开发区应急管理局).
The bureau buys third-party services (社会化服务) to inspect 100 below-scale
enterprises (规下企业) from early June to the end of August 2022, in five phases:
full inspection, guided rectification, re-inspection and acceptance, the bureau's
spot check of the service results (抽查, within 20 working days, "按一定比例"), and
enforcement of enterprises that did not cooperate or rectify (一企一策).

The hooks live here; each delegates to the module that holds the rule:

- ``catalogue``: the campaign kind (five phases) and the two checklists (the first
  phase's survey, split into records and site; the nine acceptance criteria);
- ``baseline``: the survey fields the first criterion names, and gaps per enterprise;
- ``major_hazards``: the record of a major hazard reported at once;
- ``acceptance``: the per-enterprise report with a conclusion (PDF, in the background);
- ``obligations``: what a programme contract owes each enterprise, and the service
  records of the organisation's survey and acceptance inspections;
- ``spot_checks``: the bureau's sample and its 20-working-day deadline;
- ``enforcement``: the candidates of phase 5 and a plan for each (一企一策).
"""

from anjian.plugin_api import ReportKind, hookimpl
from anjian_qinhuangdao import (
    acceptance,
    baseline,
    catalogue,
    enforcement,
    major_hazards,
    obligations,
    spot_checks,
)
from anjian_qinhuangdao.catalogue import CAMPAIGN_KEY
from anjian_qinhuangdao.settings import DATA_SYSTEMS, PLUGIN, QinhuangdaoSettings, settings_of

# The plugin contract this plugin is written for (anjian.plugin_api.CONTRACT_VERSION).
PLUGIN_CONTRACT = 1

__all__ = ["CAMPAIGN_KEY", "DATA_SYSTEMS", "PLUGIN", "QinhuangdaoSettings"]


# --- catalogue hooks --------------------------------------------------------------------------

@hookimpl
def settings_schema():
    return QinhuangdaoSettings


@hookimpl
def register_campaign_kinds():
    return [catalogue.CAMPAIGN_KIND]


@hookimpl
def register_checklist_templates():
    return list(catalogue.CHECKLIST_TEMPLATES)


@hookimpl
def register_report_kinds():
    return [
        ReportKind(key=acceptance.REPORT_KIND, title="社会化服务企业复查验收情况报告",
                   formats=("pdf", "json"), parameters=acceptance.AcceptanceParameters,
                   compute=acceptance.compute, html=acceptance.html,
                   enterprise=acceptance.enterprise_of),
        ReportKind(key=enforcement.REPORT_KIND, title="社会化服务执法检查方案（一企一策）",
                   formats=("json", "xlsx"), parameters=enforcement.EnforcementPlanParameters,
                   compute=enforcement.compute, xlsx=enforcement.xlsx),
        ReportKind(key=baseline.REPORT_KIND, title="社会化服务企业安全底数表",
                   formats=("json", "xlsx"), parameters=baseline.BaselineParameters,
                   compute=baseline.compute, xlsx=baseline.xlsx),
    ]


# --- policy hooks -----------------------------------------------------------------------------

@hookimpl
def register_import_profiles():
    return [baseline.SERVICE_LIST]


@hookimpl
def enterprise_extra_fields(tenant):
    return baseline.extra_fields()


# 规下 is everything below designated size: the small and micro enterprises (小微) too.
BELOW_SCALE = {"below": "规下企业", "micro": "规下企业（小微企业）"}


@hookimpl
def select_campaign_targets(tenant, campaign, enterprises):
    """The programme serves below-scale enterprises (服务范围：100家规下企业): every live one
    below designated size, small and micro included; each target's reason says which it
    is (an above-scale, closed or unscaled enterprise is left for staff to add)."""
    if getattr(campaign, "kind", None) != CAMPAIGN_KEY:
        return None
    planned = settings_of(tenant)["target_enterprise_count"]
    return [(e, f"{BELOW_SCALE[e.scale]}，列入{planned}家社会化服务对象")
            for e in enterprises if e.scale in BELOW_SCALE and e.status != "closed"]


@hookimpl
def on_hazard_transition(tenant, hazard, from_state, to_state, actor):
    major_hazards.record_report(tenant, hazard, from_state, to_state, actor)


@hookimpl
def on_inspection_completed(tenant, inspection, actor):
    key = acceptance.template_key(inspection)
    obligations.record_inspection(tenant, inspection, actor, key)
    if key == catalogue.ACCEPTANCE_TEMPLATE:
        acceptance.request_report(tenant, inspection, actor)


@hookimpl
def service_obligations(tenant, contract):
    return obligations.for_contract(contract)


@hookimpl
def task_deadline(tenant, task_kind, start):
    """Phase 4: "在20个工作日内 ... 抽查验收"; phase 5, when the tenant gave it a start only,
    gets the working days a plan gets (``enforcement_workdays``)."""
    if task_kind == spot_checks.TASK_KIND:
        return settings_of(tenant)["spot_check_workdays"]
    if task_kind == "enforcement":
        return settings_of(tenant)["enforcement_workdays"]
    return None


@hookimpl
def select_spot_check_sample(tenant, subject, candidates, ratio, seed):
    return spot_checks.sample(tenant, subject, candidates, ratio, seed)


@hookimpl
def enforcement_candidates(tenant, campaign):
    return enforcement.candidates(tenant, campaign)
