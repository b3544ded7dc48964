"""The look-back checklist (“回头看”检查重点内容) of an achieved small or micro enterprise.

Seed 003, 三（三）: "要结合小微标准化考评标准和法律法规要求，突出事故导向，研究出台小微标准化
企业“回头看”检查重点内容，提高检查效率", and, before it, the enterprises that created
"为应付而创建，走形式、不再符合安全生产标准化条件" are to be delisted. So the items ask
whether the standardisation still runs (not only whether its papers exist), and follow
the causes of the accidents small and micro enterprises have: machinery, confined
spaces (poisoning and asphyxiation), liquid ammonia, combustible dust, fire and blocked
exits in labour-intensive workshops, dangerous work, unlicensed special work,
contractors and tenants, and the handling of accidents and near misses themselves.

The items are written for this plugin from the public rules they cite. Articles of the
Work Safety Law are those of its 2021 revision; the special criteria of the 2023
standard for major accident hazards of industry and trade enterprises are cited by
their subject, its article 3 by number. An item marked ``is_major_criterion`` is one of
that standard's criteria as it stands: answered "no", the hazard is major.
"""

from anjian.plugin_api import ChecklistItem, ChecklistTemplate

TEMPLATE_KEY = "changshu_standardisation_lookback"
CODE_PREFIX = "CS-LB"

SAFETY_LAW = "《中华人民共和国安全生产法》"
ACCIDENT_REPORTING = "《生产安全事故报告和调查处理条例》"
MAJOR_HAZARDS = "《工贸企业重大事故隐患判定标准》（应急管理部令第10号）"
BASIC_NORM = "GB/T 33000-2016《企业安全生产标准化基本规范》"
CONFINED_SPACE = "《工贸企业有限空间作业安全规定》"
DUST = "《工贸企业粉尘防爆安全规定》"
EMERGENCY_PLANS = "《生产安全事故应急预案管理办法》"
SEED = "《2019年常熟市小微企业安全生产标准化建设实施方案》"


def _item(number, text, category, part, legal_basis, major=False):
    return ChecklistItem(code=f"{CODE_PREFIX}{number:02d}", text=text, category=category,
                         part=part, legal_basis=legal_basis, is_major_criterion=major)


ITEMS = (
    # --- does the standardisation still run: accidents, risks, hazards, documents
    _item(1, "证书有效期内发生的生产安全事故（含轻伤事故）和未遂事件均已如实登记、按规定报告，"
          "查清了直接原因和管理原因，整改和防范措施已落实并有记录",
          "事故管理", "document",
          f"{SAFETY_LAW}第八十三条；{ACCIDENT_REPORTING}第九条；{BASIC_NORM}（事故管理）"),
    _item(2, "已收集本行业、本地区同类企业典型事故案例，用于风险辨识和全员警示教育，"
          "事故暴露的问题已对照本企业排查并纳入岗位操作规程",
          "事故管理", "document",
          f"{SAFETY_LAW}第四十四条；{BASIC_NORM}（教育培训、事故管理）"),
    _item(3, "已对照重大事故隐患判定标准逐项自查并有记录；较大危险因素已辨识、列入清单，"
          "管控措施落实到岗位和责任人",
          "风险管控与隐患排查", "document",
          f"{SAFETY_LAW}第四十一条；{MAJOR_HAZARDS}；{SEED}三（四）"),
    _item(4, "隐患排查治理台账真实：自查发现的隐患如实记录、按期整改闭环，并向从业人员通报；"
          "台账与现场状况相符",
          "风险管控与隐患排查", "document", f"{SAFETY_LAW}第四十一条"),
    _item(5, "标准化体系持续运行：全员安全生产责任制、规章制度和操作规程随人员、设备、工艺变化"
          "及时修订，每年至少自评一次，资料非为应付创建而突击编制",
          "持续运行", "document",
          f"{SAFETY_LAW}第四条、第二十二条；{BASIC_NORM}（持续改进）；{SEED}三（三）"),
    _item(6, "取得证书后未改建、扩建、迁移生产经营或储存场所，未扩大生产经营范围；"
          "有此类变化的已重新评审",
          "持续运行", "document", f"{SEED}四（二）"),
    _item(7, "主要负责人履行法定职责：组织落实全员安全生产责任制、保证安全投入、"
          "督促检查安全生产工作并及时消除隐患",
          "责任落实", "document", f"{SAFETY_LAW}第二十一条、第二十三条"),
    _item(8, "主要负责人和安全管理人员具备相应的安全知识和管理能力；新进、转岗及劳务派遣人员"
          "经安全教育培训合格后上岗，培训档案完整",
          "教育培训", "document", f"{SAFETY_LAW}第二十七条、第二十八条"),
    _item(9, "针对本企业可能发生的事故类型制定应急预案和现场处置方案，按计划组织演练并有记录；"
          "现场抽问的从业人员熟悉应急处置措施和逃生路线",
          "应急管理", "document", f"{SAFETY_LAW}第八十一条；{EMERGENCY_PLANS}"),
    # --- the sites of the accidents small and micro enterprises have
    _item(10, "电工、焊接与热切割、高处作业、制冷与空调作业等特种作业人员经专门培训并取得相应"
          "资格上岗（现场核对人证）",
          "特种作业", "onsite", f"{SAFETY_LAW}第三十条；{MAJOR_HAZARDS}第三条", True),
    _item(11, "对承包单位、承租单位的安全生产工作统一协调、管理，并定期进行安全检查",
          "相关方管理", "onsite", f"{SAFETY_LAW}第四十九条；{MAJOR_HAZARDS}第三条", True),
    _item(12, "设备传动、旋转、冲压、剪切等危险部位的防护罩、急停和安全联锁装置齐全有效，"
          "未被拆除、短接或停用",
          "机械伤害", "onsite", f"{SAFETY_LAW}第三十六条；{BASIC_NORM}（现场管理）"),
    _item(13, "有限空间已辨识、建立台账并设置明显的安全警示标志；作业经审批，执行“先通风、"
          "再检测、后作业”，现场设监护人员并配备救援器材",
          "有限空间", "onsite",
          f"{CONFINED_SPACE}；{MAJOR_HAZARDS}（有限空间作业）；{SAFETY_LAW}第三十五条"),
    _item(14, "使用液氨制冷的：包装间、分割间、产品整理间等人员较多的生产场所，空调系统未采用"
          "氨直接蒸发制冷",
          "液氨制冷", "onsite", f"{MAJOR_HAZARDS}（使用液氨制冷）", True),
    _item(15, "使用液氨制冷的：氨浓度检测报警装置完好，并与事故通风联锁；应急切断、"
          "喷淋等设施有效",
          "液氨制冷", "onsite", f"{SAFETY_LAW}第三十六条"),
    _item(16, "存在粉尘爆炸危险的：除尘系统采取了泄爆、惰化或抑爆等防控措施，积尘按制度清扫并有"
          "记录，爆炸危险场所的电气设备和作业符合防爆要求",
          "粉尘涉爆", "onsite", f"{DUST}；{MAJOR_HAZARDS}（存在粉尘爆炸危险）"),
    _item(17, "生产经营场所和员工宿舍的出口、疏散通道畅通，标志明显，未被占用、锁闭、封堵；"
          "员工宿舍未与生产、储存、使用危险物品的车间或仓库设在同一建筑物内",
          "火灾与疏散", "onsite", f"{SAFETY_LAW}第四十二条"),
    _item(18, "动火、临时用电、吊装、高处等危险作业执行审批，并安排专门人员进行现场安全管理",
          "危险作业", "onsite", f"{SAFETY_LAW}第四十三条"),
    _item(19, "为从业人员配备符合国家标准或行业标准的劳动防护用品，并监督、教育其正确佩戴使用",
          "个体防护", "onsite", f"{SAFETY_LAW}第四十五条"),
)

TEMPLATE = ChecklistTemplate(
    key=TEMPLATE_KEY,
    title="小微企业安全生产标准化“回头看”检查重点内容（事故导向）",
    version=1,
    items=ITEMS,
)
