"""The hazard closed loop (issue 4, points 4 and 8; RELIABILITY 23)."""

from __future__ import annotations

import datetime as dt

from anjian.plugins import hookimpl


class Recorder:
    """A plugin that records every hazard transition it hears of."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def on_hazard_transition(self, hazard, from_state, to_state, actor):
        self.calls.append((hazard.id, from_state, to_state, getattr(actor, "id", None)))


class MajorEverything:
    @hookimpl
    def grade_hazard(self):
        return "major"


def _scoped(app, tenant_id, user_id=None):
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    return scoped(db.session, Scope.tenant(tenant_id, user_id))


def test_report_hazard_grades_sets_deadline_and_notifies(app, factory):
    from anjian.enterprises.models import Enterprise
    from anjian.extensions import db
    from anjian.hazards import service
    from anjian.hazards.models import HazardEvent, Notification

    recorder = Recorder()
    app.extensions["anjian.plugins"].register("rec", recorder)
    app.extensions["anjian.plugins"].register("major", MajorEverything())
    plain = factory.tenant("plain", plugins=["rec"])
    hot = factory.tenant("hot", plugins=["rec", "major"])
    sup, _ = factory.user("sup", {plain: "supervisor", hot: "supervisor"})
    adm, _ = factory.user("adm", {hot: "tenant_admin"})
    factory.user("view", {hot: "viewer"})
    for tenant_id in (plain, hot):
        with app.app_context(), _scoped(app, tenant_id, sup):
            ent = Enterprise(credit_code=f"X{tenant_id}", name="某厂")
            db.session.add(ent)
            db.session.flush()
            hazard = service.report_hazard(enterprise_id=ent.id, source="department",
                                           title="配电箱未接地", found_on=dt.date(2026, 3, 2),
                                           actor_user_id=sup)
            db.session.commit()
            grade, deadline = hazard.grade, hazard.deadline
            events = db.session.scalars(db.select(HazardEvent)).all()
            notes = db.session.scalars(db.select(Notification)).all()
            if tenant_id == plain:
                assert grade == "general" and deadline == dt.date(2026, 3, 16)
                assert notes == []
            else:
                assert grade == "major" and deadline is None
                assert sorted(n.user_id for n in notes) == [sup, adm]
            assert [(e.from_state, e.to_state, e.actor_user_id) for e in events] == [
                (None, "reported", sup)]
    assert [c[1:] for c in recorder.calls] == [(None, "reported", sup)] * 2
