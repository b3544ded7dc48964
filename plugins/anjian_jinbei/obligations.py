"""Section 五.5: what the service organisation owes each served unit.

"安全机构要针对各单位的不同情况到被服务单位进行实地验场。三个月内完成被服务单位安全组织
机构、责任制、制度、操作规程、应急预案等软件的建立。每季度不少于一次进行安全检查、整改、全年
不少于二次安全培训、教育和应急救援演练。年终安全机构向被服务单位报告本年度工作情况，存在问题
并提出下一步工作措施。"

As obligation rules of the core (``anjian.services.compliance``), counted from each
served unit's service start: the site visit (实地验场), an ``inspection`` record with the
topic 实地验场, within ``setup_months`` (the visit the set-up is made from; being on site,
it is also an inspection of its quarter); one ``document_setup`` record per set-up topic within
``setup_months`` (3); ``inspections_per_quarter`` (1) inspections each quarter;
``trainings_per_year`` (2) trainings and ``drills_per_year`` (2) emergency drills each
service year; a ``report`` to the unit in the last month of each service year (年终).
A set-up record names its topic exactly as below, and so does the site visit.

An inspection the contracted organisation's staff submit on the platform is recorded as
the organisation's service (``record_inspection``): it counts for the quarter without
typing it again.
"""

from anjian.plugin_api import context, local_now
from anjian_jinbei.settings import PLUGIN, applies_to, settings_of

SITE_VISIT_TOPIC = "实地验场"

SETUP_TOPICS = {
    "organisation": "安全组织机构",
    "responsibilities": "安全生产责任制",
    "rules": "安全生产规章制度",
    "procedures": "安全操作规程",
    "emergency_plans": "应急预案",
}
YEAR_END_MONTHS = 1  # "年终": the report counts when delivered in the year's last month


def rules(tenant, contract) -> list[dict]:
    if not applies_to(contract):
        return []
    s = settings_of(tenant)
    out = [{"key": "jinbei_site_visit",
            "title": f"{s['setup_months']}个月内到被服务单位进行实地验场",
            "record_kind": "inspection", "topic": SITE_VISIT_TOPIC, "count": 1,
            "per": "contract", "within_months": s["setup_months"]}]
    out += [{"key": f"jinbei_setup_{key}", "title": f"{s['setup_months']}个月内建立{topic}",
            "record_kind": "document_setup", "topic": topic, "count": 1, "per": "contract",
            "within_months": s["setup_months"]} for key, topic in SETUP_TOPICS.items()]
    out += [
        {"key": "jinbei_quarterly_inspection",
         "title": f"每季度不少于{s['inspections_per_quarter']}次安全检查、整改",
         "record_kind": "inspection", "count": s["inspections_per_quarter"], "per": "quarter"},
        {"key": "jinbei_yearly_training", "title": f"全年不少于{s['trainings_per_year']}次安全培训、教育",
         "record_kind": "training", "count": s["trainings_per_year"], "per": "year"},
        {"key": "jinbei_yearly_drill", "title": f"全年不少于{s['drills_per_year']}次应急救援演练",
         "record_kind": "drill", "count": s["drills_per_year"], "per": "year"},
    ]
    if s["year_end_report"]:
        out.append({"key": "jinbei_year_end_report",
                    "title": "年终向被服务单位报告本年度工作情况、存在问题及下一步工作措施",
                    "record_kind": "report", "count": 1, "per": "year",
                    "in_last_months": YEAR_END_MONTHS})
    return out


def record_inspection(tenant, inspection, actor):
    """The service record of an inspection submitted by a service organisation's user: an
    ``inspection`` of the active Jinbei contract of its organisation that serves the
    enterprise on the day it was carried out, topic the checklist's title (None when it is
    no such inspection, or it is recorded already)."""
    if getattr(inspection, "inspector_kind", None) != "service_org" or actor is None:
        return None
    reads = context(tenant)
    if reads.has_service_record(inspection_id=inspection.id):
        return None
    done_on = getattr(inspection, "performed_on", None)
    if done_on is None:
        done_on = local_now(inspection.submitted_at).date()
    contract_id = reads.active_contract_serving(staff_user_id=actor.id,
                                                enterprise_id=inspection.enterprise_id,
                                                plugin=PLUGIN, on=done_on)
    if contract_id is None:
        return None
    topic = reads.template_title(inspection) or "安全检查"
    return reads.create_service_record({
        "contract_id": contract_id, "enterprise_id": inspection.enterprise_id,
        "kind": "inspection", "topic": topic[:120], "done_on": done_on,
        "inspection_id": inspection.id, "note": inspection.summary or ""}, actor.id)
