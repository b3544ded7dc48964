"""Phase 1: "发现重大隐患由服务机构及时上报应急管理局" (and 验收标准 2, "重大隐患能够第一时间掌握").

The core already notifies the tenant's supervisors and admins the moment a major
hazard is recorded. The programme also keeps its own record of the service
organisation's report: a campaign task of the enterprise, "重大隐患即时报告", done at the
moment the hazard was recorded (its deadline the day it was found), in the programme
campaign the hazard belongs to (or, for a hazard recorded outside a campaign, the
active programme campaign that targets the enterprise).
"""

from __future__ import annotations

from sqlalchemy import select

from anjian.campaigns.models import Campaign, CampaignPhase, CampaignTarget, CampaignTask
from anjian.extensions import db
from anjian_qinhuangdao.catalogue import CAMPAIGN_KEY
from anjian_qinhuangdao.settings import settings_of

TASK_PREFIX = "qhd_major_hazard_report:"
TASK_TITLE = "重大隐患即时报告"


def _programme_campaign(hazard) -> Campaign | None:
    if hazard.campaign_id is not None:
        campaign = db.session.get(Campaign, hazard.campaign_id)
        return campaign if campaign is not None and campaign.kind == CAMPAIGN_KEY else None
    return db.session.scalar(
        select(Campaign).join(CampaignTarget, CampaignTarget.campaign_id == Campaign.id)
        .where(Campaign.kind == CAMPAIGN_KEY, Campaign.status == "active",
               CampaignTarget.enterprise_id == hazard.enterprise_id)
        .order_by(Campaign.id.desc()).limit(1))


def record_report(tenant, hazard, from_state, to_state, actor) -> CampaignTask | None:
    """The task recording the immediate report of a major hazard the service organisation
    found (None when the transition is not one)."""
    if from_state is not None or to_state != "reported":
        return None
    if hazard.grade != "major" or hazard.source != "service_org":
        return None
    if not settings_of(tenant)["report_major_hazards_immediately"]:
        return None
    campaign = _programme_campaign(hazard)
    if campaign is None:
        return None
    from anjian.campaigns.service import mark_task_done
    from anjian.workdays.service import set_deadline_date

    key = f"{TASK_PREFIX}{hazard.id}"
    task = db.session.scalar(select(CampaignTask).where(CampaignTask.campaign_id == campaign.id,
                                                        CampaignTask.key == key))
    if task is not None:
        return task
    survey = db.session.scalar(select(CampaignPhase.id).where(
        CampaignPhase.campaign_id == campaign.id, CampaignPhase.key == "survey"))
    task = CampaignTask(campaign_id=campaign.id, phase_id=survey,
                        enterprise_id=hazard.enterprise_id, key=key, status="open",
                        title=f"{TASK_TITLE}：{hazard.title}"[:300])
    set_deadline_date(task, hazard.found_on)
    db.session.add(task)
    db.session.flush()
    return mark_task_done(task, getattr(actor, "id", None))
