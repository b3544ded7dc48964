"""Reminders of dated campaign tasks (issue 5: milestones "as tasks with reminders").

A plugin's milestone with ``remind_before`` working days is reminded once, by the
daily scan, when that many working days (or fewer) are left: supervisors and admins
are notified, and the enterprise's own users for an enterprise-bound task.
"""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum.cn import uscc

from anjian.plugin_api import hookimpl
from tests.conftest import bearer

T = "/api/v1/tenants/rm"


class Milestones:
    """A plugin giving every campaign a stage report due Friday 2 October 2026 (in the
    National Day week), reminded 3 working days before."""

    @hookimpl
    def campaign_milestones(self, campaign):
        return [{"key": "stage-report", "title": "阶段进展报送", "due": dt.date(2026, 10, 9),
                 "remind_before": 3}]


def _code(n):
    base = f"91110000MA{n:07d}"
    return base + uscc.calc_check_digit(base)


@pytest.fixture
def rm(app, factory):
    app.extensions["anjian.plugins"].register("test_milestones", Milestones())
    tenant = factory.tenant("rm", plugins=["test_milestones"])
    _, admin = factory.user("rm-admin", {tenant: "tenant_admin"})
    _, sup = factory.user("rm-sup", {tenant: "supervisor"})
    _, viewer = factory.user("rm-viewer", {tenant: "viewer"})
    return {"tenant": tenant, "admin": bearer(admin), "supervisor": bearer(sup),
            "viewer": bearer(viewer)}


def _scan(app, tenant_id, day):
    """What the daily schedule runs for one tenant: the overdue_scan job."""
    from anjian.extensions import db
    from anjian.jobs import embedded
    from anjian.jobs.service import enqueue
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        enqueue("overdue_scan", {"today": day.isoformat()}, tenant_id=tenant_id)
        db.session.commit()
    assert embedded.drain(app)


def _notes(client, headers):
    return [n for n in client.get(f"{T}/notifications", headers=headers).json["items"]
            if n["kind"] == "task_reminder"]


def test_a_milestone_is_reminded_once_when_its_working_days_run_short(app, client, rm):
    r = client.post(f"{T}/campaigns", headers=rm["admin"], json={"title": "专项行动"})
    assert r.status_code == 201, r.json
    tasks = client.get(f"{T}/campaigns/{r.json['id']}/tasks", headers=rm["admin"]).json["items"]
    [task] = [t for t in tasks if t["key"] == "stage-report"]
    assert task["deadline"] == "2026-10-09"

    # 1 to 7 October 2026 are off. On Monday 28 September four working days are left
    # (29, 30 September, 8, 9 October): no reminder yet; on the 29th three: reminded.
    _scan(app, rm["tenant"], dt.date(2026, 9, 28))
    assert _notes(client, rm["supervisor"]) == []
    _scan(app, rm["tenant"], dt.date(2026, 9, 29))  # 30 Sep, 8, 9 Oct left: 3
    [note] = _notes(client, rm["supervisor"])
    assert note["task_id"] == task["id"] and "阶段进展报送" in note["title"]
    assert "还有 3 个工作日到期" in note["body"]
    assert [n["task_id"] for n in _notes(client, rm["admin"])] == [task["id"]]
    assert _notes(client, rm["viewer"]) == []
    # Later scans (the same day again, the next day) do not repeat it.
    _scan(app, rm["tenant"], dt.date(2026, 9, 30))
    assert len(_notes(client, rm["supervisor"])) == 1


def test_a_done_task_is_not_reminded(app, client, rm):
    r = client.post(f"{T}/campaigns", headers=rm["admin"], json={"title": "专项行动"})
    cid = r.json["id"]
    [task] = [t for t in client.get(f"{T}/campaigns/{cid}/tasks", headers=rm["admin"]).json[
        "items"] if t["key"] == "stage-report"]
    done = client.post(f"{T}/campaigns/{cid}/tasks/{task['id']}/done", headers=rm["supervisor"],
                       json={})
    assert done.status_code == 200, done.json
    _scan(app, rm["tenant"], dt.date(2026, 10, 8))
    assert _notes(client, rm["supervisor"]) == []
