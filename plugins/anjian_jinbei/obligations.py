"""Section 五.5: what the service organisation owes each served unit.

"安全机构要针对各单位的不同情况到被服务单位进行实地验场。三个月内完成被服务单位安全组织
机构、责任制、制度、操作规程、应急预案等软件的建立。每季度不少于一次进行安全检查、整改、全年
不少于二次安全培训、教育和应急救援演练。年终安全机构向被服务单位报告本年度工作情况，存在问题
并提出下一步工作措施。"

As obligation rules of the core (``anjian.services.compliance``), counted from each
served unit's service start: one ``document_setup`` record per set-up topic within
``setup_months`` (3); ``inspections_per_quarter`` (1) inspections each quarter;
``trainings_per_year`` (2) trainings and ``drills_per_year`` (2) emergency drills each
service year; a ``report`` to the unit in the last month of each service year (年终).
A set-up record names its topic exactly as below.
"""

from anjian_jinbei.settings import applies_to, settings_of

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
    out = [{"key": f"jinbei_setup_{key}", "title": f"{s['setup_months']}个月内建立{topic}",
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
