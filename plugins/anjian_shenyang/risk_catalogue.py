"""Shenyang's risk catalogues for industry (工业类), as data users pick from.

Task 2 of the seed: "按照《沈阳市一般安全生产风险目录（工业类）》和《沈阳市较大级以上安全生产风险
目录（工业类）》要求，及时录入《沈阳市风险报告动态管理系统》，根据风险等级，确定重点检查部位，明确
检查人员层级频次". The city's two lists are not in the seed; the entries below are written
from what the seed names — its sectors (建材, 机械, 轻工), its dust-explosion sites (粉尘涉爆
场所), its dangerous work (动火, 受限空间, 高处吊装, 临时用电, 动土, 检维修) — in the shape of
those catalogues: the sector (category), the risk point, the typical accident type (GB 6441),
the default level, the managing level and the typical controls (工程技术, 管理, 个体防护,
应急处置). A tenant that receives the city's own lists replaces them.

Each row: (key, sector, risk point, point kind, accident type, level, managing level,
controls as ((control kind, measure), ...)).
"""

from __future__ import annotations

from anjian.plugin_api import RiskCatalogue, RiskCatalogueEntry

E, M, P, R = "engineering", "management", "ppe", "emergency"

GENERAL = (
    ("jc-crusher", "建材", "破碎机、球磨机", "equipment", "机械伤害", "general", "workshop",
     ((E, "转动部位设置防护罩，检修时断电挂牌上锁"), (M, "制定破碎、粉磨岗位安全操作规程并培训"),
      (P, "佩戴防尘口罩、护耳器"), (R, "配备急救箱，制定机械伤害现场处置方案"))),
    ("jc-kiln", "建材", "窑炉、烘干设备", "equipment", "灼烫", "general", "workshop",
     ((E, "高温部位设置隔热防护和警示标识"), (M, "看火、清料作业执行操作规程"),
      (P, "佩戴隔热手套、防护面罩"), (R, "制定灼烫现场处置方案"))),
    ("jc-mixer", "建材", "搅拌站、水泥罐", "equipment", "高处坠落", "general", "team",
     ((E, "罐顶设置护栏、爬梯护笼"), (M, "登罐作业审批并专人监护"), (P, "系挂安全带"),
      (R, "配备救援绳索和担架"))),
    ("jc-forklift", "建材", "厂内机动车辆（叉车、装载机）", "equipment", "车辆伤害", "general", "team",
     ((E, "设置限速标志、人车分流"), (M, "驾驶人员持证上岗，每日出车前检查"), (P, "穿反光背心"),
      (R, "制定车辆伤害现场处置方案"))),
    ("jx-press", "机械", "冲床、剪板机、折弯机", "equipment", "机械伤害", "general", "team",
     ((E, "安装光电保护或双手操作装置"), (M, "冲压岗位安全操作规程，严禁手入模区"),
      (P, "佩戴防护手套"), (R, "制定机械伤害现场处置方案"))),
    ("jx-lathe", "机械", "车床、铣床、钻床", "equipment", "机械伤害", "general", "post",
     ((E, "卡盘、皮带设置防护罩"), (M, "禁止戴手套操作旋转设备"), (P, "佩戴防护眼镜、工作帽"),
      (R, "配备急救箱"))),
    ("jx-grinder", "机械", "砂轮机、抛光机", "equipment", "物体打击", "general", "post",
     ((E, "砂轮防护罩完好，托架间隙不大于3mm"), (M, "砂轮更换后试转并记录"), (P, "佩戴防护眼镜"),
      (R, "制定物体打击现场处置方案"))),
    ("jx-crane", "机械", "桥式起重机、电动葫芦", "equipment", "起重伤害", "general", "workshop",
     ((E, "限位、制动、钢丝绳定期检验"), (M, "司索指挥持证，吊装作业执行作业票"),
      (P, "佩戴安全帽"), (R, "制定起重伤害现场处置方案"))),
    ("jx-welding", "机械", "电焊、气割作业", "activity", "火灾", "general", "team",
     ((E, "气瓶间距不小于5m、距明火不小于10m，配备回火防止器"), (M, "焊工持证上岗，动火作业执行作业票"),
      (P, "佩戴焊接面罩、绝缘手套"), (R, "配备灭火器，制定火灾现场处置方案"))),
    ("jx-painting", "机械", "喷漆房", "place", "火灾", "general", "workshop",
     ((E, "防爆电气、通风排风设施"), (M, "油漆限量存放，严禁烟火"), (P, "佩戴防毒面具"),
      (R, "配备灭火器材，制定火灾现场处置方案"))),
    ("qg-boiler", "轻工", "锅炉、压力容器", "equipment", "锅炉爆炸", "general", "workshop",
     ((E, "安全阀、压力表定期校验"), (M, "司炉人员持证，运行记录"), (P, "佩戴隔热手套"),
      (R, "制定锅炉事故现场处置方案"))),
    ("qg-brewing", "轻工", "酿酒车间（蒸馏、储酒）", "place", "火灾", "general", "workshop",
     ((E, "储酒区防爆电气、可燃气体报警"), (M, "动火作业审批，严禁烟火"), (P, "穿防静电工作服"),
      (R, "配备泡沫灭火器，制定火灾现场处置方案"))),
    ("qg-paper", "轻工", "造纸机、复卷机", "equipment", "机械伤害", "general", "team",
     ((E, "辊筒咬入点设置防护"), (M, "断纸处理停机操作"), (P, "扎紧袖口"), (R, "配备急救箱"))),
    ("qg-shoe-glue", "轻工", "制鞋刷胶工位", "post", "中毒和窒息", "general", "post",
     ((E, "局部排风"), (M, "使用低毒胶黏剂，限量存放"), (P, "佩戴防毒口罩"),
      (R, "制定中毒现场处置方案"))),
    ("ty-power", "通用", "配电室、临时用电", "place", "触电", "general", "workshop",
     ((E, "漏电保护、接地，临时用电三级配电两级保护"), (M, "电工持证，临时用电执行作业票"),
      (P, "绝缘鞋、绝缘手套"), (R, "制定触电现场处置方案"))),
    ("ty-warehouse", "通用", "仓库", "place", "火灾", "general", "workshop",
     ((E, "消防设施、应急照明完好"), (M, "物品分类存放，通道畅通"), (P, "—"),
      (R, "制定火灾现场处置方案，定期演练"))),
    ("ty-contractor", "通用", "相关方检维修作业", "activity", "其他伤害", "general", "company",
     ((E, "作业区域隔离"), (M, "签订安全生产管理协议，明确双方职责，专人现场统一指挥和监督"),
      (P, "按作业配备防护用品"), (R, "制定检维修作业应急处置方案"))),
)

LARGE_AND_ABOVE = (
    ("dust-wood", "粉尘涉爆", "木制品加工除尘系统", "equipment", "粉尘爆炸", "large", "company",
     ((E, "除尘系统采用防爆设计，设置锁气卸灰、火花探测"), (M, "粉尘定期清扫并记录，严禁动火"),
      (P, "穿防静电工作服"), (R, "制定粉尘爆炸专项应急预案"))),
    ("dust-grinding", "粉尘涉爆", "金属打磨抛光除尘系统", "equipment", "粉尘爆炸", "large", "company",
     ((E, "湿式除尘或防爆除尘器，防止铝镁粉尘遇湿产氢"), (M, "除尘器定期清灰，严禁干式除尘串联"),
      (P, "穿防静电工作服"), (R, "制定粉尘爆炸专项应急预案"))),
    ("space-pit", "有限空间", "污水池、化粪池、发酵池", "place", "中毒和窒息", "large", "company",
     ((E, "设置警示标识和通风设施"), (M, "先通风、再检测、后作业，作业审批并专人监护"),
      (P, "配备正压式空气呼吸器、安全绳"), (R, "制定有限空间专项应急预案，严禁盲目施救"))),
    ("space-tank", "有限空间", "储罐、反应釜内部检修", "activity", "中毒和窒息", "large", "company",
     ((E, "盲板隔离、强制通风"), (M, "受限空间作业票，气体分析合格后作业"),
      (P, "正压式空气呼吸器"), (R, "制定受限空间救援预案"))),
    ("hot-work-special", "危险作业", "易燃易爆区域动火（爆破）作业", "activity", "火灾", "major", "company",
     ((E, "清除可燃物，隔离，可燃气体检测合格"), (M, "特级动火作业票，主要负责人审定，双审批、双监督、双验收"),
      (P, "防火服"), (R, "现场配备灭火器材和消防水源"))),
    ("lifting-heavy", "危险作业", "大型吊装作业", "activity", "起重伤害", "large", "company",
     ((E, "吊具索具检验，设置警戒区"), (M, "吊装方案审批，作业票，专人指挥"), (P, "安全帽"),
      (R, "制定起重伤害应急处置方案"))),
    ("ammonia", "液氨制冷", "液氨制冷机房", "place", "中毒和窒息", "major", "company",
     ((E, "氨气泄漏报警与事故排风联锁"), (M, "液氨储量控制，巡检记录"), (P, "防毒面具、防护服"),
      (R, "制定液氨泄漏专项应急预案"))),
)


def _entries(rows) -> tuple[RiskCatalogueEntry, ...]:
    return tuple(RiskCatalogueEntry(key=key, category=sector, name=name, point_kind=kind, accident_type=accident,
                                    level=level, managing_level=managing, controls=controls)
                 for key, sector, name, kind, accident, level, managing, controls in rows)


# The columns of 《沈阳市风险报告动态管理系统》's import, in its order (the seed names the
# system; its layout follows the catalogues' fields).
EXPORT_COLUMNS = (
    ("企业名称", "enterprise_name"), ("统一社会信用代码", "credit_code"), ("所属网格", "area"),
    ("风险点名称", "point_name"), ("风险点类型", "point_kind"), ("所在位置", "location"),
    ("行业类别", "category"), ("可能导致的事故类型", "accident_type"), ("风险等级", "level"),
    ("风险颜色", "colour"), ("工程技术措施", "engineering"), ("管理措施", "management"),
    ("个体防护措施", "ppe"), ("应急处置措施", "emergency"), ("管控层级", "managing_level"),
    ("排查频次", "inspection_cycle"), ("评价日期", "graded_on"),
)

CATALOGUES = (
    RiskCatalogue(key="shenyang_general_industry", title="沈阳市一般安全生产风险目录（工业类）",
                  entries=_entries(GENERAL), export_columns=EXPORT_COLUMNS, export_sheet="风险报告",
                  description="建材、机械、轻工及通用场所的一般风险，供企业辨识时选用"),
    RiskCatalogue(key="shenyang_large_industry", title="沈阳市较大级以上安全生产风险目录（工业类）",
                  entries=_entries(LARGE_AND_ABOVE), export_columns=EXPORT_COLUMNS, export_sheet="风险报告",
                  description="粉尘涉爆、有限空间、液氨制冷、危险作业等较大及以上风险"),
)
