"""The supervision class of each enterprise (ABCD where the tenant's plugin says so):
asked of the plugin (``classify_enterprise``) with the enterprise's certifications,
stored, and read back filtered."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import select

from anjian.campaigns.models import Campaign, CampaignTask
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Defect, Refused
from anjian.extensions import db
from anjian.plugins.views import SupervisionClass
from anjian.standardisation.models import Certification, EnterpriseClass


def classify(context: Context, on_progress=None) -> dict:
    """Classify every live enterprise of the tenant; returns {class code: count} (an
    enterprise no plugin classifies keeps no class). The caller commits."""
    today = context.today()
    certifications: dict[int, list] = {}
    for row in db.session.scalars(select(Certification).order_by(Certification.id)):
        certifications.setdefault(row.enterprise_id, []).append(row)
    stored = {row.enterprise_id: row for row in db.session.scalars(select(EnterpriseClass))}
    counts: dict[str, int] = {}
    enterprises = list(db.session.scalars(select(Enterprise).where(Enterprise.deleted_at.is_(None))
                                          .order_by(Enterprise.id)))
    for n, enterprise in enumerate(enterprises, start=1):
        answer = context.policy("classify_enterprise", enterprise=enterprise,
                                certifications=certifications.get(enterprise.id, []))
        row = stored.get(enterprise.id)
        if answer is None:
            if row is not None:
                db.session.delete(row)
            continue
        if not isinstance(answer, SupervisionClass):
            raise Defect(f"classify_enterprise 须返回 SupervisionClass，而不是 {type(answer).__name__}")
        if row is None:
            row = EnterpriseClass(enterprise_id=enterprise.id)
            db.session.add(row)
        row.code, row.label = answer.code[:8], answer.label[:40]
        row.reason, row.inspections_per_year = (answer.reason or "")[:300], answer.inspections_per_year
        row.classified_on = today
        counts[row.code] = counts.get(row.code, 0) + 1
        if on_progress is not None and n % 500 == 0:
            on_progress(n, len(enterprises))
    db.session.flush()
    return counts


def list_classes(context: Context, code: str | None = None):
    stmt = select(EnterpriseClass).where(enterprise_clause(context, EnterpriseClass.enterprise_id))
    if code:
        stmt = stmt.where(EnterpriseClass.code == code)
    return stmt.order_by(EnterpriseClass.code, EnterpriseClass.enterprise_id)


SUPERVISION_KEY = "supervision-{year}-{n}"


def inspection_dates(year: int, per_year: int) -> list[dt.date]:
    """``per_year`` dates spread over the year: the k-th at the end of the month that ends
    the k-th of ``per_year`` equal parts (4: 31 March, 30 June, 30 September, 31 December)."""
    out = []
    for k in range(1, per_year + 1):
        month = math.ceil(12 * k / per_year)
        first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
        out.append(first_of_next - dt.timedelta(days=1))
    return out


def schedule_inspections(context: Context, campaign_id: int, year: int) -> int:
    """The supervision inspections each classified enterprise's class asks for, as dated
    tasks of that enterprise in the campaign (key ``supervision-<year>-<k>``; idempotent: a
    task is created or re-dated, a done one is left alone, an open one beyond a lowered
    frequency is removed). Returns the tasks open after it. The caller commits."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise Refused("专项行动不存在", field="campaign_id")
    prefix = f"supervision-{year}-"
    existing = {(t.enterprise_id, t.key): t for t in db.session.scalars(
        select(CampaignTask).where(CampaignTask.campaign_id == campaign.id, CampaignTask.key.like(f"{prefix}%")))}
    wanted = set()
    for row in db.session.scalars(select(EnterpriseClass).where(EnterpriseClass.inspections_per_year > 0)):
        for n, due in enumerate(inspection_dates(year, min(row.inspections_per_year, 52)), start=1):
            key = SUPERVISION_KEY.format(year=year, n=n)
            wanted.add((row.enterprise_id, key))
            task = existing.get((row.enterprise_id, key))
            if task is None:
                task = CampaignTask(campaign_id=campaign.id, enterprise_id=row.enterprise_id, key=key,
                                    status="open")
                db.session.add(task)
            elif task.status == "done":
                continue
            task.title = f"{row.label}（{row.code}类）第 {n} 次监督检查"
            task.deadline, task.deadline_start, task.deadline_workdays = due, None, None
    for (enterprise_id, key), task in existing.items():
        if (enterprise_id, key) not in wanted and task.status != "done":
            db.session.delete(task)
    db.session.flush()
    return sum(1 for key in wanted if existing.get(key) is None or existing[key].status != "done")
