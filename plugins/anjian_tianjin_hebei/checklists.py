"""Checklists of the action's focus points, the spot check of enterprises' self-inspection,
and the grading rule that marks the seed's focus failures as major accident hazards.

排查重点: "重点抓好大型商超、标准化菜市场、非星级酒店等消防安全检查，突出对相关企业内商户的
装修施工、电气焊等动火作业项目，进行排查整治；突出对商业综合体、非星级酒店等公共场所督促燃气
报警器安装，燃气设施安全等方面开展全面排查整治". The spot-check template carries the eight
failings the annex's section (二) counts (rows 2–9; row 1 is the number of enterprises
checked), with the annex's note 2 taken literally: unlicensed welders are found on site
*and* in the hot-work permit records, and "外包外租管理混乱" is any one of four situations.

Every item code starts with ``HB-``: the grading rule knows its own items by that prefix
and leaves every other item to the other plugins and the core (it returns None).
"""

from __future__ import annotations

import re

from anjian.plugin_api import ChecklistItem, ChecklistTemplate

CODE_PREFIX = "HB-"

FIRE_TEMPLATE = "hebei_fire_safety_2023"
HOT_WORK_TEMPLATE = "hebei_hot_work_2023"
GAS_TEMPLATE = "hebei_gas_2023"
SPOT_CHECK_TEMPLATE = "hebei_spot_check_2023"

FIRE, HOT_WORK, GAS = "消防安全", "动火作业", "燃气安全"

# Legal bases, cited by name and article where the article is certain.
SAFETY_LAW = "《中华人民共和国安全生产法》"
FIRE_LAW = "《中华人民共和国消防法》"
FIRE_MAJOR = "《重大火灾隐患判定方法》（GB 35181-2017）"
GONGMAO_MAJOR = "《工贸企业重大事故隐患判定标准》（应急管理部令第10号）第四条"
GAS_CODE = "《燃气工程项目规范》（GB 55009-2021）"
PLAN = "《河北区商务局重大事故隐患排查整治2023专项行动方案》"


def _item(code, text, category, part="onsite", legal_basis="", major=False):
    return ChecklistItem(code=code, text=text, category=category, part=part,
                         legal_basis=legal_basis, is_major_criterion=major)


FIRE_ITEMS = [
    _item("HB-F01", "安全出口、疏散通道畅通，未被占用、堵塞、封闭", FIRE, "onsite",
          f"{FIRE_MAJOR}；{FIRE_LAW}第二十八条", True),
    _item("HB-F02", "营业期间安全出口未上锁，疏散门向疏散方向开启", FIRE, "onsite", FIRE_MAJOR, True),
    _item("HB-F03", "火灾自动报警、自动喷水灭火等消防设施完好有效，未擅自停用", FIRE, "onsite",
          FIRE_MAJOR, True),
    _item("HB-F04", "未采用易燃可燃材料（如聚氨酯泡沫夹芯彩钢板）装修、搭建或分隔", FIRE, "onsite",
          FIRE_MAJOR, True),
    _item("HB-F05", "疏散指示标志、应急照明完好", FIRE, "onsite", FIRE_MAJOR),
    _item("HB-F06", "电气线路敷设规范，无私拉乱接、超负荷用电", FIRE, "onsite"),
    _item("HB-F07", "消防控制室值班人员持证在岗", FIRE, "onsite"),
    _item("HB-F08", "消防安全责任制、防火巡查检查记录完整", FIRE, "document", f"{FIRE_LAW}第十六条"),
]

HOT_WORK_ITEMS = [
    _item("HB-H01", "商户装修施工电气焊等动火作业事先办理审批手续", HOT_WORK, "document",
          f"{FIRE_LAW}第二十一条", True),
    _item("HB-H02", "电焊、气焊等作业人员持证上岗", HOT_WORK, "onsite",
          f"{FIRE_LAW}第二十一条；{SAFETY_LAW}第三十条；{GONGMAO_MAJOR}", True),
    _item("HB-H03", "动火作业明确现场监护人员，落实消防安全措施检查和作业过程监督", HOT_WORK,
          "onsite", f"{FIRE_LAW}第二十一条"),
    _item("HB-H04", "动火现场清除可燃物，配备灭火器材", HOT_WORK, "onsite"),
    _item("HB-H05", "电气焊设备经全面安全检查，未使用淘汰或危及安全的设备", HOT_WORK, "onsite", PLAN),
    _item("HB-H06", "与装修施工单位签订安全生产协议，纳入本企业统一管理", HOT_WORK, "document",
          f"{SAFETY_LAW}第四十九条"),
    _item("HB-H07", "组织经常性全员安全警示教育", HOT_WORK, "document", PLAN),
]

GAS_ITEMS = [
    _item("HB-G01", "使用燃气的场所安装可燃气体报警器", GAS, "onsite", GAS_CODE, True),
    _item("HB-G02", "燃气报警器完好有效，与紧急切断装置联动", GAS, "onsite", GAS_CODE, True),
    _item("HB-G03", "未在地下室、半地下室等场所使用瓶装液化石油气", GAS, "onsite", GAS_CODE, True),
    _item("HB-G04", "燃气管道、阀门、连接软管完好无泄漏，软管未超期使用", GAS, "onsite", GAS_CODE),
    _item("HB-G05", "用气场所通风良好，燃气设施定期检查并有记录", GAS, "document"),
]

# The annex's section (二): row number -> (key, label). Row 1 counts the enterprises.
FAILINGS = {
    2: ("principal_not_studied", "企业主要负责人未按要求亲自研究排查整治工作（家）"),
    3: ("principal_not_leading", "企业主要负责人未带队检查（家）"),
    4: ("no_duty_list", "企业未制定分管负责人职责清单（家）"),
    5: ("no_safety_organisation", "企业未依法建立安全管理机构和配足安全管理人员（家）"),
    6: ("unlicensed_special_work", "电焊等特种作业岗位人员无证上岗作业（家）"),
    7: ("outsourcing_disorder", "外包外租安全管理混乱（家）"),
    8: ("no_drill", "未按规定开展应急演练、员工不熟悉逃生出口（家）"),
    9: ("no_safety_funds", "未按规定比例提取安全生产费用（家）"),
}

SPOT_CHECK_ITEMS = [
    _item("HB-S2", "主要负责人亲自研究部署本企业重大事故隐患排查整治工作（会议记录等）",
          "主要负责人研究部署", "document", f"{SAFETY_LAW}第二十一条；{PLAN}二（一）1"),
    _item("HB-S3", "主要负责人每季度至少带队检查1次（高危行业领域每月至少1次），有检查记录",
          "主要负责人带队检查", "document", f"{SAFETY_LAW}第二十一条；{PLAN}二（一）1"),
    _item("HB-S4", "制定各分管负责人安全生产职责清单和本次专项行动工作清单", "分管负责人职责清单",
          "document", f"{PLAN}二（一）4"),
    _item("HB-S5", "按规定设置安全生产管理机构或者配备专兼职安全生产管理人员", "安全管理机构和人员",
          "document", f"{SAFETY_LAW}第二十四条"),
    _item("HB-S6A", "现场检查：电焊等特种作业岗位人员持证上岗", "特种作业持证", "onsite",
          f"{SAFETY_LAW}第三十条；{GONGMAO_MAJOR}", True),
    _item("HB-S6B", "存单核查：动火等特种作业审批存单与作业人员证书相符", "特种作业持证", "document",
          f"{FIRE_LAW}第二十一条；{GONGMAO_MAJOR}", True),
    _item("HB-S7A", "承包承租方具备安全生产条件、取得相应资质", "外包外租管理", "document",
          f"{SAFETY_LAW}第四十九条"),
    _item("HB-S7B", "与承包承租方签订安全生产协议", "外包外租管理", "document",
          f"{SAFETY_LAW}第四十九条"),
    _item("HB-S7C", "安全生产管理职责明确", "外包外租管理", "document", f"{SAFETY_LAW}第四十九条"),
    _item("HB-S7D", "承包承租方纳入本企业统一协调、管理，定期进行安全检查", "外包外租管理", "onsite",
          f"{SAFETY_LAW}第四十九条；{GONGMAO_MAJOR}", True),
    _item("HB-S8A", "按规定组织开展事故应急救援预案演练（高危行业领域每季度至少1次）", "应急演练",
          "document", f"{PLAN}二（一）6"),
    _item("HB-S8B", "现场询问：员工熟知安全逃生出口（或避灾路线）", "应急演练", "onsite",
          f"{PLAN}二（一）6"),
    _item("HB-S9", "按规定比例提取和使用安全生产费用", "安全生产费用", "document",
          f"{SAFETY_LAW}第二十三条"),
]

# Which spot-check item codes count for which failing row of section (二).
FAILING_OF_CODE = {item.code: int(re.match(r"HB-S(\d)", item.code).group(1))
                   for item in SPOT_CHECK_ITEMS}


def templates() -> list[ChecklistTemplate]:
    return [
        ChecklistTemplate(key=FIRE_TEMPLATE, version=1, items=tuple(FIRE_ITEMS),
                          title="消防安全重点检查表（大型商超、标准化菜市场、非星级酒店）"),
        ChecklistTemplate(key=HOT_WORK_TEMPLATE, version=1, items=tuple(HOT_WORK_ITEMS),
                          title="商户装修施工电气焊等动火作业检查表"),
        ChecklistTemplate(key=GAS_TEMPLATE, version=1, items=tuple(GAS_ITEMS),
                          title="燃气报警器安装和燃气设施安全检查表（商业综合体、非星级酒店）"),
        ChecklistTemplate(key=SPOT_CHECK_TEMPLATE, version=1, items=tuple(SPOT_CHECK_ITEMS),
                          title="企业自查自改抽查检查表（调度表第二部分）"),
    ]


# --- grading ---------------------------------------------------------------------------------

# A free-text finding (no checklist item) that names one of the focus failures.
FOCUS_FAILURES = [
    re.compile(r"(安全出口|疏散通道|疏散楼梯|疏散门).{0,8}(堵塞|占用|封闭|锁闭|上锁|封堵)"),
    re.compile(r"(消防设施|火灾自动报警|自动喷水|喷淋).{0,8}(停用|损坏|失效|瘫痪|关闭)"),
    re.compile(r"(动火|电气焊|电焊|气焊|焊接).{0,10}(未审批|未经审批|未办理审批|无审批|无证|未持证|未取得)"),
    re.compile(r"(无证|未持证).{0,6}(动火|电焊|气焊|焊接|特种作业)"),
    re.compile(r"(燃气|可燃气体)报警(器|装置).{0,6}(未安装|未设置|缺失|失效|损坏|故障|拆除)"),
    re.compile(r"(未安装|未设置|缺少|无)(燃气|可燃气体)报警"),
    re.compile(r"(地下室|半地下室).{0,10}(瓶装液化|液化石油气|液化气钢瓶)"),
]


def grade(checklist_item, hazard) -> str | None:
    """"major" for the seed's focus failures; "general" for this plugin's other items;
    None for anything that is not this plugin's."""
    if checklist_item is not None:
        code = str(getattr(checklist_item, "code", "") or "")
        if not code.startswith(CODE_PREFIX):
            return None
        return "major" if getattr(checklist_item, "is_major_criterion", False) else "general"
    text = " ".join(str(getattr(hazard, name, "") or "") for name in ("title", "description"))
    if any(pattern.search(text) for pattern in FOCUS_FAILURES):
        return "major"
    return None
