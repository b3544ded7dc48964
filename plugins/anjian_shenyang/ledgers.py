"""The street's ledgers and the duties over them.

Task 3 asks for a dangerous-work ledger ("建立动火（爆破）、进入受限空间、高处吊装、临时用电、
动土、检维修等危险作业台账") — a ledger kind of its own — and says "特种作业人员必须持证上岗。
企业每年至少组织一次危险作业应急演练，开展效果评估"; task 4 asks for related-party safety
agreements stating areas, duties and terms; checklist item 4 for the principal's periodic
major-hazard checks. Those become duties (``ledger_duties``) from the tenant's settings:
``drills_per_year``, ``related_party_agreements``, ``certified_special_workers`` and
``principal_checks_per_quarter`` (0: not asked). Each missed duty may become a hazard
citing the plan.
"""

from __future__ import annotations

from anjian.plugin_api import LedgerDuty, LedgerField, LedgerKind
from anjian_shenyang.checklist import ANNEX, PLAN

DANGEROUS_WORK = "dangerous_work"
DANGEROUS_WORK_KINDS = ("动火（爆破）", "进入受限空间", "高处吊装", "临时用电", "动土", "检维修")

DANGEROUS_WORK_LEDGER = LedgerKind(
    key=DANGEROUS_WORK, title="危险作业台账",
    description="动火（爆破）、进入受限空间、高处吊装、临时用电、动土、检维修等危险作业：作业票、"
                "主要负责人审定或授权、重点时段双审批双监督双验收",
    fields=(
        LedgerField("work_on", "作业日期", type="date", required=True, aliases=("日期", "作业时间")),
        LedgerField("work_kind", "作业类别", type="choice", required=True, choices=DANGEROUS_WORK_KINDS,
                    aliases=("危险作业类别", "作业类型")),
        LedgerField("location", "作业地点", required=True, aliases=("作业部位", "地点"), max_length=200),
        LedgerField("content", "作业内容", aliases=("作业内容及范围",)),
        LedgerField("permit_no", "作业票编号", aliases=("作业票号", "票号"), max_length=60),
        LedgerField("approved_by", "审批人", required=True, aliases=("审定人", "批准人"), max_length=60),
        LedgerField("guardian", "现场监护人", required=True, aliases=("监护人",), max_length=60),
        LedgerField("double_approval", "双审批双监督双验收", type="boolean", aliases=("是否双审批",)),
        LedgerField("accepted_on", "验收日期", type="date", aliases=("完工验收日期",)),
    ),
    date_field="work_on", evidence=("作业票", "安全方案或现场处置措施"), key_fields=("permit_no",),
)


def duties(settings: dict) -> list[LedgerDuty]:
    out = [LedgerDuty(
        key="drills_per_year", title=f"每年至少组织{settings['drills_per_year']}次应急演练并评估效果",
        ledger_kind="drills", count=settings["drills_per_year"], per="year",
        criterion=f"{PLAN}四、3：企业每年至少组织一次危险作业应急演练，开展效果评估，完善应急预案",
        raise_hazard=True)]
    if settings["related_party_agreements"]:
        out.append(LedgerDuty(
            key="related_party_agreements", title="相关方安全生产管理协议在有效期内",
            ledger_kind="related_parties", count=0, per="standing",
            criterion=f"{PLAN}四、4：企业与相关方签订合同必须明确相应安全职责或另行签订安全生产管理协议，"
                      "明确双方各自管理的区域范围、管理职责和协议期限",
            raise_hazard=True))
    if settings["certified_special_workers"]:
        out.append(LedgerDuty(
            key="certified_special_workers", title="特种作业人员持有效证件上岗",
            ledger_kind="special_workers", count=0, per="standing",
            criterion=f"{PLAN}四、3：特种作业人员必须持证上岗", raise_hazard=True))
    if settings["principal_checks_per_quarter"]:
        out.append(LedgerDuty(
            key="principal_major_hazard_checks",
            title=f"主要负责人每季度至少{settings['principal_checks_per_quarter']}次重大事故隐患专项检查",
            ledger_kind="self_inspections", count=settings["principal_checks_per_quarter"], per="quarter",
            where={"kind": "重大事故隐患专项检查"},
            criterion=f"{ANNEX}第4项：主要负责人定期开展重大事故隐患专项检查", raise_hazard=False))
    return out
