"""Phase 1: "发现重大隐患由服务机构及时上报应急管理局" (and 验收标准 2, "重大隐患能够第一时间掌握").

The core already notifies the tenant's supervisors and admins the moment a major
hazard is recorded. The programme also keeps its own record of the service
organisation's report: a campaign task of the enterprise, "重大隐患即时报告", done at the
moment the hazard was recorded (its deadline the day it was found), in the programme
campaign the hazard belongs to (or, for a hazard recorded outside a campaign, the
active programme campaign that targets the enterprise).
"""

from __future__ import annotations

from anjian.plugin_api import context
from anjian_qinhuangdao.catalogue import CAMPAIGN_KEY
from anjian_qinhuangdao.settings import settings_of

TASK_PREFIX = "qhd_major_hazard_report:"
TASK_TITLE = "重大隐患即时报告"


def _programme_campaign(reads, hazard):
    if hazard.campaign_id is not None:
        campaign = reads.campaign(hazard.campaign_id)
        return campaign if campaign is not None and campaign.kind == CAMPAIGN_KEY else None
    return reads.latest_campaign_targeting(CAMPAIGN_KEY, hazard.enterprise_id, status="active")


def record_report(tenant, hazard, from_state, to_state, actor):
    """The task recording the immediate report of a major hazard the service organisation
    found (None when the transition is not one)."""
    if from_state is not None or to_state != "reported":
        return None
    if hazard.grade != "major" or hazard.source != "service_org":
        return None
    if not settings_of(tenant)["report_major_hazards_immediately"]:
        return None
    reads = context(tenant)
    campaign = _programme_campaign(reads, hazard)
    if campaign is None:
        return None
    return reads.record_done_task(campaign.id, key=f"{TASK_PREFIX}{hazard.id}",
                                  title=f"{TASK_TITLE}：{hazard.title}", phase_key="survey",
                                  enterprise_id=hazard.enterprise_id, due=hazard.found_on,
                                  actor_id=getattr(actor, "id", None))
