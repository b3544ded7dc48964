"""Dangerous work (task 3): the seed's own kinds of dangerous work beyond GB 30871-2022's
eight, and who approves, supervises and accepts.

"建立动火（爆破）、进入受限空间、高处吊装、临时用电、动土、检维修等危险作业台账……实行作业票
管理。特种作业人员必须持证上岗……进行危险作业，必须由主要负责人审定或授权，重点时段和必要时
实行双审批、双监督、双验收。" 爆破 and 检维修 are added as permit kinds; every permit is
approved by the principal or the one he authorises; at a key time (nights, holidays and
the periods in the settings' ``double_approval_key_periods``, as the core judges it) a
second approval, a second guardian and a second acceptance are added.
"""

from __future__ import annotations

from anjian.plugin_api import ApprovalStep, PermitKind
from anjian_shenyang.checklist import PLAN

BASIS = f"{PLAN}四、3"

KINDS = (
    PermitKind(key="blasting", title="爆破作业", validity_hours=8, basis=BASIS,
               description="动火（爆破）：爆破作业须持证人员实施，主要负责人审定"),
    PermitKind(key="maintenance", title="检维修作业", validity_hours=72, basis=BASIS,
               description="设备检维修（含相关方外委检维修），明确现场作业条件、安全操作规程和专人监督"),
)

PRINCIPAL = ApprovalStep(key="principal", title="主要负责人审定或其授权人审批", stage="approve")
SECOND = ApprovalStep(key="second_approval", title="第二审批人审批（重点时段双审批）", stage="approve")
GUARDIAN = ApprovalStep(key="guardian", title="现场监护人", stage="supervise")
SECOND_GUARDIAN = ApprovalStep(key="second_guardian", title="第二监护人（双监督）", stage="supervise")
ACCEPTANCE = ApprovalStep(key="acceptance", title="完工验收", stage="accept")
SECOND_ACCEPTANCE = ApprovalStep(key="second_acceptance", title="第二验收人验收（双验收）", stage="accept")


def approvals(key_time: bool) -> list[ApprovalStep]:
    if key_time:
        return [PRINCIPAL, SECOND, GUARDIAN, SECOND_GUARDIAN, ACCEPTANCE, SECOND_ACCEPTANCE]
    return [PRINCIPAL, GUARDIAN, ACCEPTANCE]
