"""What a programme contract owes each served enterprise, and the service records of the
programme's inspections.

The seed fixes no dates inside the service ("不做具体阶段划分"), so every obligation runs
over the whole service (``per: contract``), from the seed's phases and service content:
a full survey inspection (phase 1), guidance on rectification (phase 2, 服务内容 2-6), a
training (phase 1's 培训会 on common problems and phase 2's 重点岗位人员培训), a guided
emergency drill (phase 2, 应急救援预案进行定期演练), the re-inspection (phase 3) and the
report with a conclusion delivered to the bureau (phase 3).

A survey or acceptance inspection submitted by a service organisation's user is recorded
as that organisation's service (``inspection``, topic 全面摸底排查 / 复查验收) under its
active programme contract serving the enterprise, once; the report is delivered by the
organisation when it is ready (a ``report`` record naming the platform's report).
"""

from __future__ import annotations

from anjian.plugin_api import context
from anjian_qinhuangdao.catalogue import ACCEPTANCE_TEMPLATE, SURVEY_TEMPLATE
from anjian_qinhuangdao.settings import PLUGIN

SURVEY_TOPIC = "全面摸底排查"
ACCEPTANCE_TOPIC = "复查验收"
TOPICS = {SURVEY_TEMPLATE: SURVEY_TOPIC, ACCEPTANCE_TEMPLATE: ACCEPTANCE_TOPIC}

OBLIGATIONS = [
    {"key": "qhd_survey", "title": "全面摸底排查（软件资料检查和现场隐患排查）",
     "record_kind": "inspection", "topic": SURVEY_TOPIC, "count": 1, "per": "contract"},
    {"key": "qhd_guidance", "title": "指导整改（提出整改建议并帮助企业落实）",
     "record_kind": "guidance", "count": 1, "per": "contract"},
    {"key": "qhd_training", "title": "培训（共性问题培训会、重点岗位人员培训）",
     "record_kind": "training", "count": 1, "per": "contract"},
    {"key": "qhd_drill", "title": "指导应急救援预案演练", "record_kind": "drill", "count": 1,
     "per": "contract"},
    {"key": "qhd_acceptance", "title": "复查验收", "record_kind": "inspection",
     "topic": ACCEPTANCE_TOPIC, "count": 1, "per": "contract"},
    {"key": "qhd_report", "title": "出具情况报告和结论性意见", "record_kind": "report",
     "count": 1, "per": "contract"},
]


def for_contract(contract) -> list[dict]:
    """The ``service_obligations`` answer: ours only for a contract under this plugin."""
    if getattr(contract, "plugin", None) != PLUGIN:
        return []
    return [dict(rule) for rule in OBLIGATIONS]


def record_inspection(tenant, inspection, actor, template_key: str):
    """The service record of a survey or acceptance inspection a service organisation's
    user submitted (None when it is not one, or no active programme contract of its
    organisation serves the enterprise on that day)."""
    topic = TOPICS.get(template_key)
    if topic is None or inspection.inspector_kind != "service_org" or actor is None:
        return None
    reads = context(tenant)
    if reads.has_service_record(inspection_id=inspection.id):
        return None
    done_on = inspection.performed_on  # the day it was carried out, not entered
    contract_id = reads.active_contract_serving(staff_user_id=actor.id,
                                                enterprise_id=inspection.enterprise_id,
                                                plugin=PLUGIN, on=done_on)
    if contract_id is None:
        return None
    return reads.create_service_record({
        "contract_id": contract_id, "enterprise_id": inspection.enterprise_id,
        "kind": "inspection", "topic": topic, "done_on": done_on, "inspection_id": inspection.id,
        "note": inspection.summary or ""}, actor.id)
