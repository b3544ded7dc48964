"""The overdue scan (issue 4 point 6): set-based, idempotent, audited, hooked, per tenant."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from anjian.audit.models import AuditEntry
from anjian.campaigns.models import Campaign, CampaignTask
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.hazards.jobs import scan_all_tenants
from anjian.hazards.models import Hazard, HazardEvent
from anjian.hazards.scan import NOTE, scan_overdue
from anjian.jobs import embedded
from anjian.jobs.models import Job
from anjian.jobs.service import enqueue
from anjian.plugin_api import hookimpl
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, TenantScopeError, scoped
from tests.conftest import sql_statements, tenant_context

TODAY = dt.date(2026, 11, 24)
PAST = TODAY - dt.timedelta(days=1)


class Recorder:
    """A plugin that records what the scan tells it."""

    def __init__(self, fail: bool = False):
        self.items, self.transitions, self.fail = [], [], fail

    @hookimpl
    def on_overdue(self, tenant, item):
        if self.fail:
            raise RuntimeError("escalation service down")
        self.items.append((tenant.code, item))

    @hookimpl
    def on_hazard_transition(self, tenant, hazard, from_state, to_state, actor):
        self.transitions.append((tenant.code, hazard.id, from_state, to_state, actor))


def seed(app, tenant_id: int, hazards: list[tuple], tasks: list[tuple] = ()) -> dict:
    """An enterprise and a campaign; hazards as (name, state, deadline[, grade]), tasks as
    (name, status, deadline). Returns {name: id}."""
    ids = {}
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        ent = Enterprise(credit_code=f"91320581MA{tenant_id:07d}X", name=f"企业{tenant_id}")
        campaign = Campaign(title="百日攻坚", status="active")
        db.session.add_all([ent, campaign])
        db.session.flush()
        ids["enterprise"], ids["campaign"] = ent.id, campaign.id
        for name, state, deadline, *grade in hazards:
            h = Hazard(enterprise_id=ent.id, campaign_id=campaign.id, source="department",
                       grade=grade[0] if grade else "general", state=state, title=name,
                       found_on=TODAY - dt.timedelta(days=30), deadline=deadline)
            db.session.add(h)
            db.session.flush()
            ids[name] = h.id
        for name, status, deadline in tasks:
            t = CampaignTask(campaign_id=campaign.id, enterprise_id=ent.id, key=name, title=name,
                             status=status, deadline=deadline)
            db.session.add(t)
            db.session.flush()
            ids[name] = t.id
        db.session.commit()
    return ids


def scan(app, tenant_id: int, today: dt.date = TODAY) -> dict:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        result = scan_overdue(tenant_context(tenant_id), today)
        db.session.commit()
        return result


def hazards_of(app, tenant_id: int) -> dict:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        return {h.title: (h.state, h.version, h.overdue_at)
                for h in db.session.scalars(select(Hazard))}


def events_of(app, tenant_id: int) -> list:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        return [(e.hazard_id, e.action, e.from_state, e.to_state, e.actor_user_id, e.note, e.data)
                for e in db.session.scalars(select(HazardEvent).order_by(HazardEvent.hazard_id))]


def scan_audits(app, tenant_id: int) -> list:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        return [(a.entity_id, a.after, a.detail) for a in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "hazard.overdue_scan"))]


HAZARDS = [
    ("reported-late", "reported", PAST, "major"),
    ("rectifying-late", "rectifying", TODAY - dt.timedelta(days=40)),
    ("due-today", "reported", TODAY),
    ("future", "rectifying", TODAY + dt.timedelta(days=3)),
    ("rectified-late", "rectified", PAST),
    ("verified-late", "verified", PAST),
    ("already-overdue", "overdue", PAST),
    ("referred-late", "referred", PAST),
    ("undated", "reported", None),
]
TASKS = [("task-late", "open", PAST), ("task-today", "open", TODAY),
         ("task-done", "done", PAST), ("task-undated", "open", None)]


@pytest.fixture
def tenants(app, factory):
    yield {"a": factory.tenant("oa"), "b": factory.tenant("ob")}
    embedded.stop(app)


def test_scan_moves_open_items_past_their_deadline_once_each(app, tenants):
    ids = seed(app, tenants["a"], HAZARDS, TASKS)
    assert scan(app, tenants["a"]) == {"hazards": 2, "tasks": 1}

    states = hazards_of(app, tenants["a"])
    for name in ("reported-late", "rectifying-late"):
        state, version, overdue_at = states[name]
        assert (state, version) == ("overdue", 2) and overdue_at is not None
    for name, state, *_ in HAZARDS[2:]:
        assert states[name][:2] == (state, 1), name
    with app.app_context(), scoped(db.session, Scope.tenant(tenants["a"])):
        tasks = {t.key: (t.status, t.overdue_at is not None)
                 for t in db.session.scalars(select(CampaignTask))}
    assert tasks == {"task-late": ("overdue", True), "task-today": ("open", False),
                     "task-done": ("done", False), "task-undated": ("open", False)}

    assert events_of(app, tenants["a"]) == sorted([
        (ids["reported-late"], "overdue", "reported", "overdue", None, NOTE,
         {"deadline": PAST.isoformat(), "evidence_ids": []}),
        (ids["rectifying-late"], "overdue", "rectifying", "overdue", None, NOTE,
         {"deadline": (TODAY - dt.timedelta(days=40)).isoformat(), "evidence_ids": []}),
    ])
    [(day, after, detail)] = scan_audits(app, tenants["a"])
    assert day == TODAY.isoformat()
    assert after == {"today": TODAY.isoformat(),
                     "hazards": sorted([ids["reported-late"], ids["rectifying-late"]]),
                     "tasks": [ids["task-late"]]}
    assert "隐患 2 条" in detail


def test_a_second_run_changes_nothing_and_writes_nothing(app, tenants):
    seed(app, tenants["a"], HAZARDS, TASKS)
    scan(app, tenants["a"])
    before = (hazards_of(app, tenants["a"]), events_of(app, tenants["a"]),
              scan_audits(app, tenants["a"]))
    assert scan(app, tenants["a"]) == {"hazards": 0, "tasks": 0}
    assert (hazards_of(app, tenants["a"]), events_of(app, tenants["a"]),
            scan_audits(app, tenants["a"])) == before


def test_another_tenants_hazards_are_untouched(app, tenants):
    seed(app, tenants["a"], HAZARDS[:1])
    seed(app, tenants["b"], [("b-late", "reported", PAST)], [("b-task", "open", PAST)])
    assert scan(app, tenants["a"]) == {"hazards": 1, "tasks": 0}
    assert hazards_of(app, tenants["b"])["b-late"][:2] == ("reported", 1)
    assert events_of(app, tenants["b"]) == [] and scan_audits(app, tenants["b"]) == []
    # A scope for A cannot scan B, nor can no scope at all.
    with app.app_context():
        for scope in (Scope.tenant(tenants["a"]), None,
                      Scope.tenant(tenants["b"], write=False)):
            with scoped(db.session, scope), pytest.raises(TenantScopeError):
                scan_overdue(Context(tenants["b"], None), TODAY)
    assert hazards_of(app, tenants["b"])["b-late"][:2] == ("reported", 1)


def test_on_overdue_reaches_the_tenants_plugins_with_each_item(app, factory):
    recorder = Recorder()
    app.extensions["anjian.plugins"].register("test_overdue", recorder)
    with_plugin = factory.tenant("oplug", plugins=["test_overdue"])
    without = factory.tenant("oplain")
    ids = seed(app, with_plugin, HAZARDS, TASKS)
    seed(app, without, [("plain-late", "reported", PAST)])

    scan(app, with_plugin)
    got = sorted(((code, item.kind, item.id, item.enterprise_id, item.campaign_id,
                   item.deadline, item.grade, item.from_state)
                  for code, item in recorder.items), key=lambda r: (r[1], r[2]))
    e, c = ids["enterprise"], ids["campaign"]
    late40 = TODAY - dt.timedelta(days=40)
    assert got == sorted([
        ("oplug", "hazard", ids["reported-late"], e, c, PAST, "major", "reported"),
        ("oplug", "hazard", ids["rectifying-late"], e, c, late40, "general", "rectifying"),
        ("oplug", "task", ids["task-late"], e, c, PAST, None, None),
    ], key=lambda r: (r[1], r[2]))
    with pytest.raises(AttributeError):  # read-only
        recorder.items[0][1].grade = "general"
    assert sorted(recorder.transitions) == sorted([
        ("oplug", ids["reported-late"], "reported", "overdue", None),
        ("oplug", ids["rectifying-late"], "rectifying", "overdue", None),
    ])

    scan(app, without)  # not enabled there
    scan(app, with_plugin)  # nothing new
    assert len(recorder.items) == 3 and len(recorder.transitions) == 2


def test_a_plugin_that_raises_rolls_the_scan_back(app, factory):
    app.extensions["anjian.plugins"].register("test_overdue_fails", Recorder(fail=True))
    tenant = factory.tenant("ofail", plugins=["test_overdue_fails"])
    seed(app, tenant, HAZARDS[:1], TASKS[:1])
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        job = enqueue("overdue_scan", {"today": TODAY.isoformat()}, tenant_id=tenant)
        db.session.commit()
        job_id = job.id
    embedded.drain(app)
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        assert db.session.get(Job, job_id).status == "failed"
        assert db.session.scalar(select(CampaignTask.status)) == "open"
    assert hazards_of(app, tenant)["reported-late"][:2] == ("reported", 1)
    assert events_of(app, tenant) == [] and scan_audits(app, tenant) == []


def count_statements(app, tenant_id: int) -> int:
    with app.app_context(), sql_statements(db.engine) as statements:
        scan(app, tenant_id)
    return len(statements)


def test_the_number_of_statements_does_not_grow_with_the_rows(app, factory):
    recorder = Recorder()
    app.extensions["anjian.plugins"].register("test_overdue", recorder)
    small, large = factory.tenant("osmall", plugins=["test_overdue"]), factory.tenant(
        "olarge", plugins=["test_overdue"])
    seed(app, small, [("s1", "reported", PAST), ("s2", "rectifying", PAST)],
         [("st1", "open", PAST)])
    seed(app, large, [(f"l{i}", ("reported", "rectifying")[i % 2], PAST) for i in range(60)],
         [(f"lt{i}", "open", PAST) for i in range(30)])
    assert count_statements(app, small) == count_statements(app, large)
    assert len(recorder.items) == 2 + 1 + 60 + 30


def test_the_job_scans_its_tenant_and_reports_counts(app, tenants):
    seed(app, tenants["a"], HAZARDS, TASKS)
    seed(app, tenants["b"], [("b-late", "reported", PAST)])
    with app.app_context(), scoped(db.session, Scope.tenant(tenants["a"])):
        job = enqueue("overdue_scan", {"today": TODAY.isoformat()}, tenant_id=tenants["a"])
        db.session.commit()
        job_id = job.id
    assert embedded.drain(app)
    with app.app_context(), scoped(db.session, Scope.tenant(tenants["a"])):
        job = db.session.get(Job, job_id)
        assert job.status == "finished", job.error
        assert job.result == {"today": TODAY.isoformat(), "hazards": 2, "tasks": 1,
                              "reminded": 0, "ledger_reminders": 0, "notifications_requeued": 0}
    assert hazards_of(app, tenants["b"])["b-late"][0] == "reported"


def jobs_by_tenant(app, tenant_ids) -> dict:
    with app.app_context(), scoped(db.session, Scope(frozenset(tenant_ids))):
        rows = db.session.execute(select(Job.tenant_id, Job.params, Job.status)
                                  .where(Job.kind == "overdue_scan")).all()
    out: dict = {}
    for tenant_id, params, status in rows:
        out.setdefault(tenant_id, []).append((params["slot"], status))
    return out


def test_scan_all_tenants_enqueues_one_job_per_active_tenant_per_day(app, factory, tenants):
    off = factory.tenant("ooff")
    with app.app_context(), scoped(db.session, Scope.platform_scope()):
        db.session.execute(update(Tenant).where(Tenant.id == off).values(is_active=False))
        db.session.commit()
    seed(app, tenants["a"], HAZARDS[:2])
    seed(app, off, [("off-late", "reported", PAST)])
    every = (tenants["a"], tenants["b"], off)

    with app.app_context():
        first = scan_all_tenants(TODAY)
        again = scan_all_tenants(TODAY)
    assert (first["enqueued"], first["skipped"]) == (2, 0)
    assert (again["enqueued"], again["skipped"]) == (0, 2)
    slot = "2026-11-24T01:00+08:00"
    assert first["slot"] == slot
    assert jobs_by_tenant(app, every) == {tenants["a"]: [(slot, "queued")],
                                          tenants["b"]: [(slot, "queued")]}

    assert embedded.drain(app)
    assert hazards_of(app, tenants["a"])["reported-late"][0] == "overdue"
    assert hazards_of(app, off)["off-late"][0] == "reported"  # inactive: not scanned
    with app.app_context():
        assert scan_all_tenants(TODAY)["enqueued"] == 0  # finished jobs count too
        nxt = scan_all_tenants(TODAY + dt.timedelta(days=1))
    assert (nxt["enqueued"], nxt["slot"]) == (2, "2026-11-25T01:00+08:00")
    with app.app_context(), scoped(db.session, Scope.tenant(tenants["a"])):
        assert db.session.scalar(select(func.count()).select_from(Job)) == 2
