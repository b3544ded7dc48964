"""What the plugin offers as data: the campaign kind and the two checklists of seed 000.

Phase windows. The seed runs the whole service "自2022年6月初开始至8月底结束，不做具体
阶段划分", so phases 1-3 share 2022-06-01 .. 2022-08-31. Phase 4 is the bureau's
"20个工作日内": counted from the end of the window, its 20th working day is
2022-09-29 (the Mid-Autumn holiday, Monday 12 September, is skipped; per enterprise
the 20 working days run from its own acceptance: ``spot_checks``). Phase 5 has no
date in the seed: the tenant sets its window when it creates the campaign.
"""

from anjian.plugin_api import CampaignKind, ChecklistItem, ChecklistTemplate, Phase

CAMPAIGN_KEY = "qhd_social_service_2022"
SURVEY_TEMPLATE = "qinhuangdao_baseline_survey_2022"
ACCEPTANCE_TEMPLATE = "qinhuangdao_acceptance_2022"

PHASE_KEYS = ("survey", "guided_rectification", "acceptance", "spot_check", "enforcement")

CAMPAIGN_KIND = CampaignKind(
    key=CAMPAIGN_KEY,
    title="2022年安全生产社会化服务工作",
    year=2022,
    phases=(
        Phase(
            key="survey",
            title="第一阶段（全面摸底排查阶段）",
            start="2022-06-01",
            end="2022-08-31",
            rule="组织全体服务对象企业召开事前动员会进行宣传发动。深入一线对企业进行全面摸底排查隐患，"
            "分为软件资料检查和现场隐患排查，尤其是针对行业内重大隐患的排查，"
            "发现重大隐患由服务机构及时上报应急管理局。针对集中共性问题，召开培训会进行技术指导。",
        ),
        Phase(
            key="guided_rectification",
            title="第二阶段（指导整改阶段）",
            start="2022-06-01",
            end="2022-08-31",
            rule="针对第一阶段排查的问题隐患提出科学、合理、具有可操作性的建议，帮助企业落实整改建议。"
            "指导企业建立完善安全“三项制度”，对应急救援预案进行定期演练，对重点岗位人员进行培训，"
            "建立全员岗位培训档案，开展风险辨识和隐患排查工作并建立隐患排查清单与台账，"
            "开展安全生产专项整治三年行动并建立清单台账，建立其他相关软件资料。",
        ),
        Phase(
            key="acceptance",
            title="第三阶段（复查验收阶段）",
            start="2022-06-01",
            end="2022-08-31",
            rule="对企业整改情况进行全面复查验收，验收完成后对每家企业出具情况报告和结论性意见。",
        ),
        Phase(
            key="spot_check",
            title="第四阶段（抽查服务结果阶段）",
            start="2022-09-01",
            end="2022-09-29",
            rule="应急管理局组织相关人员在20个工作日内对第三方服务机构的服务结果按一定比例进行抽查验收。",
        ),
        Phase(
            key="enforcement",
            title="第五阶段（执法检查阶段）",
            start=None,
            end=None,
            rule="针对社会化服务过程中不积极配合、对社会化服务发现提出的问题逾期不改或者拒不整改的企业"
            "由应急局安排执法人员开展集中执法检查。根据企业行业规模不同以及在基础管理、风险管控方面的差异性，"
            "有针对性的制定具体执法检查方案，做到一企一策。",
        ),
    ),
    focus=(
        "规下企业",
        "重大隐患",
        "三项制度",
        "应急预案",
        "教育培训",
        "双控体系",
        "有限空间",
        "特种作业人员持证上岗",
        "重大危险源",
    ),
)

# 验收标准 (section 七): the nine effects the service must achieve, as a checklist for the
# re-inspection (复查验收). Texts are the seed's; "part" follows the first phase's split into
# 软件资料检查 (records) and 现场隐患排查 (on site).
ACCEPTANCE_CRITERIA = (
    ChecklistItem(code="YS01", category="基本信息和安全底数", part="document",
                  text="应急管理局掌握企业的基本信息和安全底数（包括各企业基本情况，地址、主要产品、员工人数、"
                  "安全管理人员数量、特种作业人员数量、主要风险因素、有无重大隐患等）"),
    ChecklistItem(code="YS02", category="隐患排查治理", part="document",
                  text="应急管理局掌握企业的隐患排查及整改情况，重大隐患能够第一时间掌握"),
    ChecklistItem(code="YS03", category="三项制度", part="document",
                  text="企业的“三项制度”符合目前法定标准"),
    ChecklistItem(code="YS04", category="应急预案", part="document",
                  text="企业的应急预案符合目前法定标准"),
    ChecklistItem(code="YS05", category="教育培训", part="document",
                  text="企业的教育培训符合目前法定标准"),
    ChecklistItem(code="YS06", category="风险管控与隐患治理", part="onsite",
                  text="企业落实《河北省安全生产风险管控与隐患治理规定》",
                  legal_basis="《河北省安全生产风险管控与隐患治理规定》（省政府2号令）"),
    ChecklistItem(code="YS07", category="特种作业", part="onsite",
                  text="企业落实特种作业人员持证上岗"),
    ChecklistItem(code="YS08", category="信息化录入", part="document",
                  text="企业完成河北省互联网+系统、秦皇岛市“智慧安监”系统的企业基本信息、台账和风险分布图等录入工作"),
    ChecklistItem(code="YS09", category="重大危险源", part="onsite",
                  text="企业重大危险源有效监管"),
)

# The first phase's survey (全面摸底排查): records first, then the site. Each item is one
# task of the service content (服务内容) or of the second phase, in the seed's words.
SURVEY_ITEMS = (
    ChecklistItem(code="D01", part="document", category="三项制度",
                  text="建立完善安全“三项制度”（安全生产责任制、安全管理制度、安全操作规程），"
                  "突出做好安全生产责任制建设"),
    ChecklistItem(code="D02", part="document", category="应急预案",
                  text="应急救援预案编制并定期演练"),
    ChecklistItem(code="D03", part="document", category="教育培训",
                  text="重点岗位人员培训，建立全员岗位培训档案"),
    ChecklistItem(code="D04", part="document", category="双控体系",
                  text="开展风险辨识和隐患排查工作，建立隐患排查清单与台账，完成“一图”、“一表”、“一帐”、“一平台”",
                  legal_basis="《规模以下工贸企业安全风险管控指导手册》（冀应急工贸〔2019〕145号）"),
    ChecklistItem(code="D05", part="document", category="专项整治",
                  text="开展安全生产专项整治三年行动并建立清单台账"),
    ChecklistItem(code="D06", part="document", category="有限空间",
                  text="开展有限空间辨识和风险评估检测并建立清单台账"),
    ChecklistItem(code="D07", part="document", category="信息化录入",
                  text="完成河北省“互联网+安全生产”综合监管信息平台信息录入"),
    ChecklistItem(code="S01", part="onsite", category="防火防爆",
                  text="防火防爆措施到位"),
    ChecklistItem(code="S02", part="onsite", category="用电用气",
                  text="用电用气安全措施到位"),
    ChecklistItem(code="S03", part="onsite", category="特种设备",
                  text="特种设备安全管理措施到位"),
    ChecklistItem(code="S04", part="onsite", category="机械防护",
                  text="机械防护措施到位"),
    ChecklistItem(code="S05", part="onsite", category="特种作业",
                  text="特种作业人员持证上岗"),
    ChecklistItem(code="S06", part="onsite", category="重大隐患",
                  text="未发现行业重大隐患（发现重大隐患由服务机构及时上报应急管理局）",
                  is_major_criterion=True),
)

CHECKLIST_TEMPLATES = (
    ChecklistTemplate(key=SURVEY_TEMPLATE, title="2022年社会化服务全面摸底排查表",
                      items=SURVEY_ITEMS),
    ChecklistTemplate(key=ACCEPTANCE_TEMPLATE, title="2022年社会化服务复查验收表（验收标准）",
                      items=ACCEPTANCE_CRITERIA),
)
