"""The core's permit kinds (GB 30871-2022《危险化学品企业特殊作业安全规范》's eight special
works) and approval steps, as typed catalogue entries (``anjian.plugins.defaults``
registers them like a plugin's), with the key-time rules.

Validities (hours from the permit's issue; a permit is not started or resumed after):

- 动火: 特级 and 一级 8 h, 二级 72 h (GB 30871-2022: 特级、一级动火安全作业票有效期不应超过
  8 h，二级不应超过 72 h). Gas analysis required; the analysis and the work at most 30 min
  apart (the standard's usual interval: "动火分析与动火作业间隔一般不超过 30 min").
- 受限空间: 24 h (the common rule, read as GB 30871-2022's: 受限空间安全作业票有效期不应超过
  24 h). Gas analysis within 30 min before entering (作业前 30 min 内).
- 盲板抽堵: 24 h by convention (the standard asks one permit per blind plate and names
  no validity).
- 高处: graded by working height (GB 30871-2022 / GB/T 3608: Ⅰ 2–5 m, Ⅱ 5–15 m, Ⅲ 15–30 m,
  Ⅳ above 30 m); 7 days (168 h) for every class by convention (the former HG 30013-2013's
  7 days; no figure of GB 30871-2022 is relied on).
- 吊装: graded by load (GB 30871-2022: 一级 above 100 t, 二级 40–100 t, 三级 below 40 t);
  24 h by convention (the standard grades, it names no validity).
- 临时用电: 15 days (360 h) (the usual rule: 临时用电时间一般不超过 15 d; the standard's
  exception up to 30 d is a new permit here). A certified electrician (电工作业).
- 动土, 断路: 72 h by convention (the standard names no validity).

Key times (重点时段) are judged at a permit's planned start, in China's time: nights
(``NIGHT_FROM`` to ``NIGHT_UNTIL``: 22:00–06:00, the night of the noise law, 《噪声污染防治法》
第八十八条), days off of the platform's calendar (weekends 公休日 and statutory holidays
节假日; a make-up working Saturday is not one), and the periods an enabled plugin names in
its settings under ``KEY_PERIODS_SETTING`` (``[{start, end, reason}]``, dates inclusive).
GB 30871-2022 asks special work on holidays, rest days and nights to be managed a grade
up; seed 004 asks for double approval, double supervision and double acceptance then.
"""

from __future__ import annotations

from anjian.plugins.catalogue import PermitGrade, PermitKind
from anjian.plugins.views import ApprovalStep

GB30871 = "GB 30871-2022《危险化学品企业特殊作业安全规范》"
HOT_WORK_CERTIFICATE = "焊接与热切割作业"
ELECTRICIAN_CERTIFICATE = "电工作业"

NIGHT_FROM, NIGHT_UNTIL = 22, 6  # hours, China's time: 22:00 to 06:00 the next morning
KEY_PERIODS_SETTING = "double_approval_key_periods"

G = PermitGrade
CORE_KINDS = (
    PermitKind(
        key="hot_work", title="动火作业",
        grades=(G("special", "特级动火", 8,
                  "在火灾爆炸危险场所处于运行状态下的生产装置设备、管道、储罐、容器等部位上进行的动火作业"),
                G("level1", "一级动火", 8, "在火灾爆炸危险场所进行的除特级动火作业以外的动火作业"),
                G("level2", "二级动火", 72, "除特级动火作业和一级动火作业以外的动火作业")),
        gas_analysis=True, gas_analysis_minutes=30, certificates=(HOT_WORK_CERTIFICATE,),
        description="焊接、切割、打磨等直接或间接产生明火、火花或炽热表面的作业",
        basis=f"{GB30871}：特级、一级动火安全作业票有效期不应超过 8 h，二级动火不应超过 72 h；"
              "动火分析与动火作业间隔一般不超过 30 min"),
    PermitKind(
        key="confined_space", title="受限空间作业", validity_hours=24, gas_analysis=True,
        gas_analysis_minutes=30,
        description="进入或探入受限空间（罐、塔、釜、槽、管道、地下室、窨井、坑池等）的作业",
        basis=f"{GB30871}：作业前 30 min 内进行气体分析；受限空间安全作业票有效期不超过 24 h"),
    PermitKind(
        key="blind_plate", title="盲板抽堵作业", validity_hours=24,
        description="在设备、管道上安装或拆卸盲板的作业（一块盲板一张作业票）",
        basis=f"{GB30871}：一块盲板一张安全作业票；有效期 24 h 为本平台的惯例"),
    PermitKind(
        key="work_at_height", title="高处作业",
        grades=(G("class1", "Ⅰ级高处作业", 168, "作业高度 2 m ≤ h ≤ 5 m"),
                G("class2", "Ⅱ级高处作业", 168, "作业高度 5 m < h ≤ 15 m"),
                G("class3", "Ⅲ级高处作业", 168, "作业高度 15 m < h ≤ 30 m"),
                G("class4", "Ⅳ级高处作业", 168, "作业高度 h > 30 m")),
        description="在距坠落基准面 2 m 及以上有可能坠落的高处进行的作业",
        basis=f"{GB30871}、GB/T 3608 按作业高度分级；有效期 7 天为惯例"),
    PermitKind(
        key="lifting", title="吊装作业",
        grades=(G("level1", "一级吊装", 24, "吊物质量 m > 100 t"),
                G("level2", "二级吊装", 24, "吊物质量 40 t ≤ m ≤ 100 t"),
                G("level3", "三级吊装", 24, "吊物质量 m < 40 t")),
        description="利用起重机械将设备、工件、器具、材料等吊起，使其发生位置变化的作业",
        basis=f"{GB30871}：按吊物质量分为一级、二级、三级；有效期 24 h 为惯例"),
    PermitKind(
        key="temporary_power", title="临时用电作业", validity_hours=360,
        certificates=(ELECTRICIAN_CERTIFICATE,),
        description="在正式运行的电源上所接的非永久性用电",
        basis=f"{GB30871}：临时用电时间一般不超过 15 d；接引、拆除须由持证电工进行"),
    PermitKind(
        key="excavation", title="动土作业", validity_hours=72,
        description="挖土、打桩、钻探、坑探、地锚入土深度在 0.5 m 以上，"
                    "使用推土机、压路机等施工机械进行填土或平整场地等可能对地下隐蔽设施产生影响的作业",
        basis=f"{GB30871}；有效期 72 h 为惯例"),
    PermitKind(
        key="road_closure", title="断路作业", validity_hours=72,
        description="生产区域内交通主干道、交通次干道、交通支道与车行道上进行的影响正常交通的作业",
        basis=f"{GB30871}；有效期 72 h 为惯例"),
)
del G

# The core's answer to ``permit_approvals``: the principal (or the one he authorised)
# approves every permit, one guardian watches, one acceptance closes the work; at a key
# time a second approver, a second guardian and a second acceptance (seed 004: 重点时段和
# 必要时实行双审批、双监督、双验收).
PRINCIPAL = ApprovalStep("principal", "主要负责人或其授权人审批", "approve")
GUARDIAN = ApprovalStep("guardian", "监护人现场监护", "supervise")
ACCEPTANCE = ApprovalStep("acceptance", "完工验收", "accept")
CORE_STEPS = (PRINCIPAL, GUARDIAN, ACCEPTANCE)
KEY_TIME_STEPS = (PRINCIPAL, ApprovalStep("second_approval", "第二审批人审批（双审批）", "approve"),
                  GUARDIAN, ApprovalStep("second_guardian", "第二监护人现场监护（双监督）", "supervise"),
                  ACCEPTANCE, ApprovalStep("second_acceptance", "第二验收人验收（双验收）", "accept"))
