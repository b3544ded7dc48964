"""Phase 4 (抽查服务结果阶段): "应急管理局组织相关人员在20个工作日内对第三方服务机构的服务结果按一定
比例进行抽查验收".

The results checked are the acceptances (复查验收) the service organisation made, so the
sample is drawn among the served enterprises that have one (``sample``; a contract with
none yet falls back to the core's uniform draw), reproducibly from the recorded seed,
``ceil(ratio x n)`` of them like the core. The checks are due ``spot_check_workdays``
(20) Chinese working days after the acceptance: ``task_deadline`` answers 20 for the
task kind ``spot_check`` (the core's draw counts them from the ``deadline_start`` the
bureau gives, the acceptance date), and ``draw`` finds that date itself: the day the
service organisation completed the contract's acceptances.
"""

from __future__ import annotations

import datetime as dt

from anjian.plugin_api import SPOT_CHECK_SUBJECT as SUBJECT
from anjian.plugin_api import Conflict, add_workdays, context, uniform_sample
from anjian_qinhuangdao.baseline import inspection_dates
from anjian_qinhuangdao.catalogue import ACCEPTANCE_TEMPLATE
from anjian_qinhuangdao.settings import settings_of

TASK_KIND = "spot_check"


def acceptance_dates(enterprise_ids, campaign_id: int | None = None) -> dict[int, dt.date]:
    """{enterprise id: the China date of its latest submitted acceptance}."""
    return inspection_dates(ACCEPTANCE_TEMPLATE, enterprise_ids, campaign_id)


def sample(tenant, subject, candidates, ratio, seed):
    """The ``select_spot_check_sample`` answer: [(enterprise, reason)] among the accepted
    candidates, the same for the same seed; None when there is nothing of ours to draw."""
    if subject != SUBJECT:
        return None
    by_id = {c.id: c for c in candidates}
    accepted = acceptance_dates(by_id)
    if not accepted:
        return None
    share = f"{float(ratio):.0%}"
    return [(by_id[i], f"已于{accepted[i].isoformat()}复查验收；在已验收的{len(accepted)}家中按{share}"
                       "比例随机抽取") for i in uniform_sample(list(accepted), ratio, seed)]


def due_date(tenant, accepted_on: dt.date):
    """The spot check's deadline after an acceptance on ``accepted_on`` (a ``Deadline``)."""
    return add_workdays(accepted_on, settings_of(tenant)["spot_check_workdays"])


def completed_on(contract) -> dt.date | None:
    """The day the contract's acceptances were complete: the latest acceptance among the
    enterprises it serves (in its campaign, when it has one)."""
    dates = acceptance_dates(context().served_enterprise_ids(contract.id), contract.campaign_id)
    return max(dates.values()) if dates else None


def draw(tenant, contract, ratio, seed: str | None = None, actor_id: int | None = None):
    """Draw the bureau's sample for one of the programme's contracts, due
    ``spot_check_workdays`` working days after the contract's acceptances were complete."""
    accepted_on = completed_on(contract)
    if accepted_on is None:
        raise Conflict("该合同的服务企业尚未复查验收，不能抽查服务结果")
    data = {"ratio": ratio, "deadline_start": accepted_on,
            "deadline_workdays": settings_of(tenant)["spot_check_workdays"]}
    if seed is not None:
        data["seed"] = seed
    return context(tenant).draw_spot_check_sample(contract.id, data, actor_id)
