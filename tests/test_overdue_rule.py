"""Overdue is one rule (hazards/rules.py): what it selects, what the scan marks and what
campaign progress counts agree, before the scan and after it."""

from __future__ import annotations

from sqlalchemy import select

from anjian.campaigns.models import CampaignTask
from anjian.campaigns.service import campaign_progress
from anjian.context import Context
from anjian.extensions import db
from anjian.hazards.models import Hazard
from anjian.hazards.rules import overdue_clause, task_overdue_clause
from anjian.jobs import embedded
from anjian.tenancy.scope import Scope, scoped
from tests.test_overdue_scan import HAZARDS, TASKS, TODAY, scan, seed

LATE = {"reported-late", "rectifying-late", "already-overdue"}


def _overdue(app, tenant_id: int, campaign_id: int):
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        hazards = set(db.session.scalars(select(Hazard.title).where(
            overdue_clause(Hazard, TODAY))))
        tasks = set(db.session.scalars(select(CampaignTask.key).where(
            task_overdue_clause(CampaignTask, TODAY))))
        progress = campaign_progress(Context(tenant_id, None), campaign_id, on=TODAY)["overdue"]
    return hazards, tasks, progress


def test_the_rule_the_scan_and_the_progress_agree(app, factory):
    tenant = factory.tenant("or")
    try:
        ids = seed(app, tenant, HAZARDS, TASKS)
        before = _overdue(app, tenant, ids["campaign"])
        assert before == (LATE, {"task-late"}, {"hazards": 3, "tasks": 1})
        assert scan(app, tenant) == {"hazards": 2, "tasks": 1}  # the two not yet marked
        assert _overdue(app, tenant, ids["campaign"]) == before
        with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
            marked = set(db.session.scalars(select(Hazard.title).where(
                Hazard.state == "overdue")))
        assert marked == LATE
    finally:
        embedded.stop(app)
