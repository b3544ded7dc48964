"""The annex's checklist: "安全生产重点检查建议清单（基础管理方面）", ten yes/no items, each
with the seed's own words. Every "否" raises a hazard when the inspection is submitted
(``no_raises_hazard``), citing the item of the annex as its basis."""

from __future__ import annotations

from anjian.plugin_api import ChecklistItem, ChecklistTemplate

PLAN = "《小微工业企业安全生产集中攻坚整治专项行动方案》"
ANNEX = f"{PLAN}附件《安全生产重点检查建议清单（基础管理方面）》"
TEMPLATE_KEY = "shenyang_basic_management_2024"
CATEGORY = "基础管理"

ITEMS = (
    "主要负责人定期召开安全生产工作会议，分析研究解决安全生产问题，并形成会议记录。每年组织开展一次"
    "安全生产标准化自评。",
    "制定全员安全生产责任制，覆盖安全生产全过程、全层级、全岗位，责任制由主要负责人签发，并逐级签订"
    "《安全生产责任书》。",
    "建立健全各项安全生产管理制度，如：全员安全生产责任制、隐患排查治理制度、教育培训制度、危险作业"
    "审批制度、相关方安全管理制度等。",
    "开展风险辨识，对辨识出的风险进行分级，制订管控措施，录入《沈阳市风险报告动态管理系统》。主要负责人"
    "定期开展重大事故隐患专项检查，发现问题隐患进行有效整改。",
    "制订年度安全生产培训计划，对新员工、主要负责人、安全管理人员、转换工种、“四新”等人员分类进行安全"
    "培训教育，并进行考试。",
    "实行危险作业审批制度，对动火动焊、有限空间、高处作业、大型吊装等危险作业进行审核，制订施工安全方案"
    "或明确现场处置措施，专人现场进行监护。",
    "制定并下发所有岗位安全操作规程。",
    "制订应急救援预案或现场处置方案，编制并组织实施应急演练计划，并对演练效果进行评估，形成评估记录。"
    "按照规定配备应急救援物资，并定期进行检查和更换。",
    "建立相关方管理台账，合同或安全管理协议明确双方职责，对相关方作业人员进行安全告知，并对相关方定期"
    "进行检查并如实记录。",
    "制定事故调查相关制度，对生产安全责任事故开展事故调查，进行原因分析、措施整改、责任追究，形成事故"
    "调查分析报告。",
)

TEMPLATE = ChecklistTemplate(
    key=TEMPLATE_KEY, title="安全生产重点检查建议清单（基础管理方面）", no_raises_hazard=True,
    items=tuple(ChecklistItem(code=f"SY-{n:02d}", text=text, category=CATEGORY, part="document",
                              legal_basis=f"{ANNEX}第{n}项")
                for n, text in enumerate(ITEMS, start=1)),
)
