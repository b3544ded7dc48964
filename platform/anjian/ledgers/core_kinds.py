"""The core's ledger kinds, as typed catalogue entries (``anjian.plugins.defaults``
registers them like a plugin's), and their vocabularies.

Special work certificates follow the national rules (《特种作业人员安全技术培训考核管理
规定》): valid 6 years, reviewed every 3 years. Accidents (事故) are not here: their record
is the standardisation package's, and the ledgers add the investigation to it.
"""

from __future__ import annotations

from anjian.plugins.catalogue import LedgerField, LedgerKind

# 《特种作业目录》: the kinds of special work a certificate is issued for.
SPECIAL_WORK_KINDS = (
    "电工作业", "焊接与热切割作业", "高处作业", "制冷与空调作业", "煤矿安全作业",
    "金属非金属矿山安全作业", "石油天然气安全作业", "冶金（有色）生产安全作业",
    "危险化学品安全作业", "烟花爆竹安全作业",
)
TRAINING_KINDS = ("新员工三级教育", "主要负责人", "安全管理人员", "转岗", "四新", "全员")
DRILL_KINDS = ("综合演练", "专项演练", "现场处置方案演练")
RELATED_PARTY_KINDS = ("承包", "承租", "劳务派遣", "外委作业")
SELF_INSPECTION_KINDS = ("主要负责人带队检查", "日常检查", "专项检查", "特种作业人员持证检查",
                         "相关方检查", "重大事故隐患专项检查")

F = LedgerField
CORE_KINDS = (
    LedgerKind(
        key="special_workers", title="特种作业人员持证",
        description="特种作业人员必须持证上岗；证书有效期 6 年，每 3 年复审一次",
        fields=(
            F("name", "姓名", required=True, aliases=("人员姓名", "持证人", "持证人员")),
            F("id_number", "身份证号", type="id_number", required=True,
              aliases=("身份证号码", "公民身份号码", "身份证")),
            F("work_kind", "作业类别", type="choice", required=True, choices=SPECIAL_WORK_KINDS,
              aliases=("证书类别", "作业种类", "工种", "特种作业类别")),
            F("work_item", "操作项目", aliases=("准操项目", "作业项目"), max_length=100),
            F("certificate_no", "证书编号", required=True, aliases=("证号", "操作证号", "证件编号"),
              max_length=60),
            F("issued_on", "初领日期", type="date", required=True,
              aliases=("发证日期", "初次领证日期", "领证日期")),
            F("reviewed_on", "最近复审日期", type="date", aliases=("复审日期", "复审时间")),
            F("authority", "发证机关", aliases=("发证单位", "签发机关"), max_length=100),
        ),
        date_field="issued_on", validity_years=6, review_years=3, reviewed_field="reviewed_on",
        remind_days=(90, 30, 7), evidence=("证书扫描件",), key_fields=("certificate_no",),
    ),
    LedgerKind(
        key="trainings", title="教育培训",
        description="新员工三级教育、主要负责人、安全管理人员、转岗、“四新”、全员培训及考核",
        fields=(
            F("held_on", "培训日期", type="date", required=True, aliases=("日期", "培训时间")),
            F("kind", "培训类别", type="choice", required=True, choices=TRAINING_KINDS,
              aliases=("培训类型", "类别")),
            F("topic", "培训内容", required=True, aliases=("培训主题", "内容"), max_length=300),
            F("hours", "学时", type="number", required=True, aliases=("培训学时", "课时")),
            F("attendees", "参训人数", type="integer", required=True, aliases=("人数", "参加人数")),
            F("assessed", "考核合格", type="boolean", aliases=("考试合格", "考核情况")),
            F("trainer", "授课人", aliases=("培训教师", "讲师"), max_length=60),
        ),
        date_field="held_on", evidence=("签到表", "考核记录"),
    ),
    LedgerKind(
        key="drills", title="应急演练",
        description="应急演练及其效果评估（按演练评估完善应急预案）",
        fields=(
            F("held_on", "演练日期", type="date", required=True, aliases=("日期", "演练时间")),
            F("scenario", "演练科目", required=True, aliases=("演练场景", "演练名称", "演练内容"),
              max_length=300),
            F("kind", "演练形式", type="choice", choices=DRILL_KINDS, aliases=("演练类型",)),
            F("dangerous_work", "危险作业应急演练", type="boolean",
              aliases=("是否危险作业应急演练", "危险作业演练")),
            F("participants", "参演人数", type="integer", required=True, aliases=("参加人数", "人数")),
            F("evaluation", "效果评估", aliases=("演练评估", "评估情况", "演练效果评估")),
            F("plan_improvements", "预案完善情况", aliases=("预案修订",)),
        ),
        date_field="held_on", evidence=("演练记录", "评估记录"),
    ),
    LedgerKind(
        key="related_parties", title="相关方",
        description="承包、承租、劳务派遣、外委作业单位：合同或安全生产管理协议、双方管理区域与职责、"
                    "专人现场统一指挥和监督、定期检查",
        fields=(
            F("name", "单位名称", required=True, aliases=("相关方名称", "相关方单位", "承包单位"),
              max_length=200),
            F("credit_code", "统一社会信用代码", type="credit_code", aliases=("信用代码", "社会信用代码")),
            F("kind", "相关方类别", type="choice", required=True, choices=RELATED_PARTY_KINDS,
              aliases=("类别", "合作方式")),
            F("agreement_signed_on", "协议签订日期", type="date", aliases=("签订日期",)),
            F("agreement_ends_on", "协议期限至", type="date", aliases=("协议到期日期", "协议期限", "到期日期")),
            F("areas", "双方管理区域", aliases=("管理区域", "区域范围")),
            F("duties", "双方安全职责", aliases=("安全职责", "管理职责")),
            F("site_supervisor", "现场统一指挥和监督人员", aliases=("现场监督人员", "现场负责人", "监护人"),
              max_length=60),
            F("last_checked_on", "最近检查日期", type="date", aliases=("检查日期",)),
            F("check_findings", "检查情况", aliases=("检查记录", "发现问题")),
        ),
        date_field="agreement_signed_on", expires_field="agreement_ends_on", remind_days=(60, 30, 7),
        evidence=("合同或安全生产管理协议",), key_fields=("name",),
    ),
    LedgerKind(
        key="responsibilities", title="安全生产责任制",
        description="全员岗位安全生产责任清单，由主要负责人签发并逐级签订责任书",
        fields=(
            F("post", "岗位", required=True, aliases=("岗位名称",), max_length=100),
            F("person", "责任人", required=True, aliases=("姓名", "岗位人员"), max_length=60),
            F("duties", "责任内容", aliases=("安全生产职责", "岗位职责")),
            F("signed_on", "签订日期", type="date", aliases=("签订时间",)),
            F("signed_by_principal", "主要负责人签发", type="boolean", aliases=("是否签发",)),
        ),
        date_field="signed_on", evidence=("安全生产责任书",), key_fields=("post", "person"),
    ),
    LedgerKind(
        key="self_inspections", title="企业安全检查",
        description="主要负责人带队检查、日常与专项检查、特种作业人员持证检查、相关方检查",
        fields=(
            F("checked_on", "检查日期", type="date", required=True, aliases=("日期",)),
            F("kind", "检查类别", type="choice", required=True, choices=SELF_INSPECTION_KINDS,
              aliases=("检查类型",)),
            F("leader", "带队人", aliases=("检查负责人", "带队领导"), max_length=60),
            F("findings", "发现问题", aliases=("检查情况", "存在问题")),
            F("hazards_found", "发现隐患数", type="integer", aliases=("隐患数",)),
        ),
        date_field="checked_on", evidence=("检查记录",),
    ),
)
del F
