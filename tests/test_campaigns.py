"""Campaigns over HTTP: kinds, phases and milestones, targets, assignments, tasks, progress
(issue 4, points 1 and 8)."""

import datetime as dt

import pytest
from stdnum.cn import uscc

from anjian.plugin_api import hookimpl
from tests.conftest import bearer, sql_statements

SHENYANG = "anjian_shenyang"
SHENYANG_KIND = "shenyang_small_industrial_crackdown_2024"


def code(n: int) -> str:
    base = f"91210100MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def set_enterprise(app, tenant_id, user_id, enterprise_id):
    """Link an enterprise user's membership to its enterprise."""
    from sqlalchemy import select

    from anjian.auth.models import Membership
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        member = db.session.scalar(select(Membership).where(Membership.user_id == user_id))
        member.enterprise_id = enterprise_id
        db.session.commit()


class World(dict):
    def url(self, path=""):
        return f"/api/v1/tenants/sy/campaigns{path}"


@pytest.fixture
def w(app, client, factory):
    tenant = factory.tenant("sy", plugins=[SHENYANG])
    other = factory.tenant("other")
    world = World(tenant=tenant, other=other)
    for role in ("tenant_admin", "supervisor", "viewer", "service_org", "enterprise"):
        user_id, token = factory.user(f"sy-{role}".replace("_", "-"), {tenant: role})
        world[role] = bearer(token)
        world[f"{role}_id"] = user_id
    world["supervisor2_id"], _ = factory.user("sy-supervisor-2", {tenant: "supervisor"})
    world["other_admin_id"], token = factory.user("other-admin", {other: "tenant_admin"})
    world["other_admin"] = bearer(token)
    rows = [("沈阳建材一厂", "建材"), ("沈阳机械二厂", "机械"), ("沈阳轻工三厂", "轻工"),
            ("沈阳机械四厂", "机械")]
    world["ents"] = []
    for n, (name, industry) in enumerate(rows, start=1):
        r = client.post("/api/v1/tenants/sy/enterprises", headers=world["tenant_admin"],
                        json={"credit_code": code(n), "name": name, "industry": industry})
        assert r.status_code == 201, r.json
        world["ents"].append(r.json["id"])
    r = client.post("/api/v1/tenants/other/enterprises", headers=world["other_admin"],
                    json={"credit_code": code(99), "name": "外单位企业"})
    world["foreign_ent"] = r.json["id"]
    set_enterprise(app, tenant, world["enterprise_id"], world["ents"][0])
    return world


def create(client, w, **body):
    body = {"title": "自定义检查行动", **body}
    return client.post(w.url(), json=body, headers=w["supervisor"])


def problem_of(r, status):
    assert r.status_code == status, r.json
    assert r.headers["Content-Type"] == "application/problem+json"
    return r.json


# --- kinds, phases, milestones ---------------------------------------------------------------

def test_kinds_are_those_of_the_enabled_plugins(client, w, factory):
    kinds = client.get("/api/v1/tenants/sy/campaign-kinds", headers=w["viewer"])
    assert kinds.status_code == 200
    assert [k["key"] for k in kinds.json] == [SHENYANG_KIND]
    assert kinds.json[0]["plugin"] == SHENYANG and len(kinds.json[0]["phases"]) == 3
    plain = client.get("/api/v1/tenants/other/campaign-kinds", headers=w["other_admin"])
    assert plain.status_code == 200 and plain.json == []
    # A kind of a plugin the tenant did not enable cannot be used.
    r = client.post("/api/v1/tenants/other/campaigns", headers=w["other_admin"],
                    json={"kind": SHENYANG_KIND})
    assert "kind" in problem_of(r, 422)["errors"]


def test_a_kind_copies_its_phases_and_milestones(client, w):
    r = create(client, w, kind=SHENYANG_KIND, title=None,
               phases=[{"key": "mobilisation", "starts_on": "2024-04-08"}])
    assert r.status_code == 422  # title may be left out, not null
    r = client.post(w.url(), headers=w["supervisor"], json={
        "kind": SHENYANG_KIND, "phases": [{"key": "mobilisation", "starts_on": "2024-04-08"}]})
    assert r.status_code == 201, r.json
    campaign = r.json
    assert campaign["title"] == "小微工业企业安全生产集中攻坚整治专项行动"
    assert campaign["plugin"] == SHENYANG and campaign["status"] == "draft"
    assert [(p["key"], p["starts_on"], p["ends_on"]) for p in campaign["phases"]] == [
        ("mobilisation", "2024-04-08", "2024-04-30"),
        ("crackdown", "2024-05-01", "2024-05-20"),
        ("consolidation", "2024-05-21", "2024-05-31"),
    ]
    assert campaign["phases"][1]["rule"].startswith("对发现的隐患依法责令限期整改")
    assert (campaign["starts_on"], campaign["ends_on"]) == ("2024-04-08", "2024-05-31")
    assert "建材" in campaign["settings"]["focus"]
    tasks = client.get(w.url(f"/{campaign['id']}/tasks"), headers=w["viewer"]).json["items"]
    assert [(t["key"], t["deadline"]) for t in tasks] == [
        ("phase:mobilisation", "2024-04-30"), ("milestone-1", "2024-04-30"),
        ("milestone-2", "2024-05-15"), ("phase:crackdown", "2024-05-20"),
        ("phase:consolidation", "2024-05-31"), ("milestone-3", "2024-05-31"),
    ]
    assert tasks[1]["title"] == "计划内16家企业建立完善规章制度、录入风险报告系统"
    # An unknown phase of the kind is refused by name.
    r = client.post(w.url(), headers=w["supervisor"],
                    json={"kind": SHENYANG_KIND, "phases": [{"key": "nope"}]})
    assert problem_of(r, 422)["errors"] == {"phases[0].key": ["该类型没有此阶段: nope"]}


def test_custom_campaign_validation_in_chinese(client, w):
    r = client.post(w.url(), json={}, headers=w["supervisor"])
    assert problem_of(r, 422)["errors"] == {"title": ["自定义专项行动须填写标题"]}
    r = create(client, w, phases=[{"key": "a", "title": "一"}, {"key": "a", "title": "二"}])
    assert problem_of(r, 422)["errors"] == {"phases[1].key": ["阶段代码重复: a"]}
    r = create(client, w, phases=[{"key": "a", "title": "一", "starts_on": "2024-05-02",
                                   "ends_on": "2024-05-01"}])
    assert problem_of(r, 422)["errors"] == {"phases[0].ends_on": ["阶段开始日期晚于结束日期"]}
    r = create(client, w, phases=[{"key": "a"}])
    assert problem_of(r, 422)["errors"] == {"phases[0].title": ["阶段须有名称"]}
    r = create(client, w, starts_on="2024-06-01", ends_on="2024-05-01")
    assert problem_of(r, 422)["errors"] == {"ends_on": ["开始日期晚于结束日期"]}
    r = create(client, w, status="active", tenant_id=w["other"])
    assert problem_of(r, 422)["errors"]["json"] == {"status": ["不允许的字段"],
                                                    "tenant_id": ["不允许的字段"]}
    r = create(client, w, starts_on="昨天")
    assert problem_of(r, 422)["errors"]["json"] == {"starts_on": ["不是有效的日期"]}
    r = create(client, w, phases=[{"key": "a", "title": "排查", "starts_on": "2024-03-01",
                                   "ends_on": "2024-03-31"}],
               milestones=[{"title": "报送台账", "due": "2024-03-15"}])
    assert r.status_code == 201 and r.json["kind"] is None
    tasks = client.get(w.url(f"/{r.json['id']}/tasks"), headers=w["viewer"]).json["items"]
    assert [(t["key"], t["title"], t["deadline"]) for t in tasks] == [
        ("milestone-1", "报送台账", "2024-03-15"), ("phase:a", "排查", "2024-03-31")]


def test_update_needs_if_match_and_phases_change_by_key(client, w):
    campaign = create(client, w, phases=[{"key": "a", "title": "排查", "ends_on": "2024-03-31"}]).json
    url = w.url(f"/{campaign['id']}")
    etag = client.get(url, headers=w["supervisor"]).headers["ETag"]
    assert client.patch(url, json={"title": "新"}, headers=w["supervisor"]).status_code == 428
    body = {"title": "改名后的行动", "phases": [{"key": "a", "ends_on": "2024-04-10"},
                                          {"key": "b", "title": "整改", "ends_on": "2024-05-01"}]}
    r = client.patch(url, json=body, headers={**w["supervisor"], "If-Match": etag})
    assert r.status_code == 200, r.json
    assert [(p["key"], p["title"], p["ends_on"]) for p in r.json["phases"]] == [
        ("a", "排查", "2024-04-10"), ("b", "整改", "2024-05-01")]
    stale = client.patch(url, json={"title": "再改"}, headers={**w["supervisor"], "If-Match": etag})
    assert stale.status_code == 412
    tasks = client.get(w.url(f"/{campaign['id']}/tasks"), headers=w["viewer"]).json["items"]
    assert [(t["key"], t["deadline"]) for t in tasks] == [("phase:a", "2024-04-10"),
                                                         ("phase:b", "2024-05-01")]
    etag = client.get(url, headers=w["supervisor"]).headers["ETag"]
    r = client.patch(url, json={"title": " "}, headers={**w["supervisor"], "If-Match": etag})
    assert problem_of(r, 422)["errors"] == {"title": ["标题不能为空"]}


def test_status_goes_draft_active_closed_only(client, w):
    campaign = create(client, w).json
    status = w.url(f"/{campaign['id']}/status")
    r = client.post(status, json={"status": "closed"}, headers=w["supervisor"])
    assert "status" in problem_of(r, 409)["errors"]
    assert client.post(status, json={"status": "active"}, headers=w["supervisor"]).json[
        "status_label"] == "进行中"
    assert client.post(status, json={"status": "closed"}, headers=w["supervisor"]).json[
        "status"] == "closed"
    r = client.post(status, json={"status": "active"}, headers=w["supervisor"])
    assert problem_of(r, 409)["errors"]["status"] == ["不能从“已结束”变为“进行中”"]
    r = client.post(status, json={"status": "open"}, headers=w["supervisor"])
    assert r.status_code == 422
    url = w.url(f"/{campaign['id']}")
    etag = client.get(url, headers=w["supervisor"]).headers["ETag"]
    r = client.patch(url, json={"title": "x"}, headers={**w["supervisor"], "If-Match": etag})
    assert problem_of(r, 409)["detail"] == "专项行动已结束，不能修改"


def test_list_filters_by_status_and_kind(client, w):
    first = create(client, w, title="甲").json
    client.post(w.url(), json={"kind": SHENYANG_KIND}, headers=w["supervisor"])
    client.post(w.url(f"/{first['id']}/status"), json={"status": "active"},
                headers=w["supervisor"])

    def titles(**query):
        r = client.get(w.url(), query_string=query, headers=w["enterprise"])
        assert r.status_code == 200
        return sorted(c["title"] for c in r.json["items"])

    assert titles() == ["小微工业企业安全生产集中攻坚整治专项行动", "甲"]
    assert titles(status="active") == ["甲"]
    assert titles(kind=SHENYANG_KIND) == ["小微工业企业安全生产集中攻坚整治专项行动"]


# --- targets and assignments -----------------------------------------------------------------

class PicksMachinery:
    """A selection rule: the machinery enterprises, with a reason."""

    @hookimpl
    def select_campaign_targets(self, campaign, enterprises):
        return [(e, f"机械行业（{campaign.title}）") for e in enterprises if e.industry == "机械"]


def test_targets_by_list_filter_and_plugin_rule_are_idempotent(app, client, w, factory):
    campaign = create(client, w).json
    targets = w.url(f"/{campaign['id']}/targets")
    e = w["ents"]
    r = client.post(targets, json={"enterprise_ids": [e[0], e[1], e[0]]}, headers=w["supervisor"])
    assert r.status_code == 200 and r.json == {"method": "list", "added": 2, "already": 0,
                                               "total": 2}
    r = client.post(targets, json={"enterprise_ids": [e[1], e[2]]}, headers=w["supervisor"])
    assert r.json == {"method": "list", "added": 1, "already": 1, "total": 3}
    r = client.post(targets, json={"filter": {"industry": "机械"}}, headers=w["supervisor"])
    assert r.json == {"method": "filter", "added": 1, "already": 1, "total": 4}
    listed = client.get(targets, headers=w["viewer"]).json
    assert listed["total"] == 4
    by_id = {t["enterprise_id"]: t for t in listed["items"]}
    assert by_id[e[3]]["method"] == "filter" and by_id[e[3]]["method_label"] == "按条件筛选"
    assert by_id[e[0]]["enterprise_name"] == "沈阳建材一厂"
    assert by_id[e[0]]["enterprise_credit_code"] == code(1)
    # Foreign and missing ids are refused alike, naming them; nothing is added.
    r = client.post(targets, json={"enterprise_ids": [w["foreign_ent"], 987654]},
                    headers=w["supervisor"])
    assert problem_of(r, 422)["errors"] == {
        "enterprise_ids": [f"企业不存在: {w['foreign_ent']}、987654"]}
    r = client.post(targets, json={}, headers=w["supervisor"])
    assert problem_of(r, 422)["errors"]["json"] == {
        "enterprise_ids": ["须给出 enterprise_ids、filter 或 rule 之一"]}
    # The plugin's rule: none enabled yet → refused; enabled → its choice and reasons.
    r = client.post(targets, json={"rule": "plugin"}, headers=w["supervisor"])
    assert problem_of(r, 422)["errors"] == {"rule": ["本单位启用的插件没有选取目标企业的规则"]}
    app.extensions["anjian.plugins"].register("picks_machinery", PicksMachinery())
    factory.tenant("sy", plugins=[SHENYANG, "picks_machinery"])
    second = create(client, w, title="机械专项").json
    r = client.post(w.url(f"/{second['id']}/targets"), json={"rule": "plugin"},
                    headers=w["supervisor"])
    assert r.json == {"method": "plugin", "added": 2, "already": 0, "total": 2}
    again = client.post(w.url(f"/{second['id']}/targets"), json={"rule": "plugin"},
                        headers=w["supervisor"])
    assert again.json["added"] == 0 and again.json["already"] == 2
    items = client.get(w.url(f"/{second['id']}/targets"), headers=w["viewer"]).json["items"]
    assert sorted(t["enterprise_id"] for t in items) == [e[1], e[3]]
    assert {t["reason"] for t in items} == {"机械行业（机械专项）"}


def test_remove_target_and_foreign_target_ids(client, w):
    campaign = create(client, w).json
    other = create(client, w, title="另一个").json
    targets = w.url(f"/{campaign['id']}/targets")
    client.post(targets, json={"enterprise_ids": w["ents"][:2]}, headers=w["supervisor"])
    ids = [t["id"] for t in client.get(targets, headers=w["viewer"]).json["items"]]
    # A target of another campaign is not this campaign's.
    assert client.delete(w.url(f"/{other['id']}/targets/{ids[0]}"),
                         headers=w["supervisor"]).status_code == 404
    assert client.delete(f"{targets}/{ids[0]}", headers=w["viewer"]).status_code == 403
    assert client.delete(f"{targets}/{ids[0]}", headers=w["supervisor"]).status_code == 204
    assert client.delete(f"{targets}/{ids[0]}", headers=w["supervisor"]).status_code == 404
    assert client.get(targets, headers=w["viewer"]).json["total"] == 1


def test_assignee_must_be_a_supervisor_or_service_org_of_this_tenant(client, w):
    campaign = create(client, w).json
    targets = w.url(f"/{campaign['id']}/targets")
    client.post(targets, json={"enterprise_ids": w["ents"][:1]}, headers=w["supervisor"])
    target = client.get(targets, headers=w["viewer"]).json["items"][0]
    url = f"{targets}/{target['id']}/assignee"
    for user_id in (w["viewer_id"], w["enterprise_id"], w["other_admin_id"], 987654):
        r = client.put(url, json={"user_id": user_id}, headers=w["supervisor"])
        assert problem_of(r, 422)["errors"] == {
            "user_id": ["只能指派给本单位的监管人员或第三方服务机构人员"]}
    r = client.put(url, json={"user_id": w["service_org_id"]}, headers=w["supervisor"])
    assert r.status_code == 200 and r.json["assignee_user_id"] == w["service_org_id"]
    assert r.json["assignee_name"] == "sy-service-org"
    r = client.put(url, json={"user_id": w["supervisor2_id"]}, headers=w["tenant_admin"])
    assert r.json["assignee_user_id"] == w["supervisor2_id"]
    assert client.put(url, json={"user_id": None}, headers=w["supervisor"]).json[
        "assignee_user_id"] is None
    assert client.put(url, json={"user_id": w["service_org_id"]},
                      headers=w["service_org"]).status_code == 403
    assert client.put(url, json={}, headers=w["supervisor"]).status_code == 422


def test_service_org_and_enterprise_see_only_their_enterprises(client, w):
    campaign = create(client, w).json
    targets = w.url(f"/{campaign['id']}/targets")
    client.post(targets, json={"enterprise_ids": w["ents"][:3]}, headers=w["supervisor"])
    items = client.get(targets, headers=w["viewer"]).json["items"]
    second = next(t for t in items if t["enterprise_id"] == w["ents"][1])
    client.put(f"{targets}/{second['id']}/assignee", json={"user_id": w["service_org_id"]},
               headers=w["supervisor"])
    seen = client.get(targets, headers=w["service_org"]).json
    assert [t["enterprise_id"] for t in seen["items"]] == [w["ents"][1]]
    own = client.get(targets, headers=w["enterprise"]).json
    assert [t["enterprise_id"] for t in own["items"]] == [w["ents"][0]]
    progress = w.url(f"/{campaign['id']}/progress")
    assert client.get(progress, headers=w["service_org"]).json["targets"] == 1
    assert client.get(progress, headers=w["enterprise"]).json["targets"] == 1
    assert client.get(progress, headers=w["viewer"]).json["targets"] == 3


# --- tasks -----------------------------------------------------------------------------------

class Milestones:
    """A plugin giving every campaign a dated report milestone."""

    @hookimpl
    def campaign_milestones(self, tenant, campaign):
        return [{"key": "report", "title": f"{tenant.code} 报送进展：{campaign.title}",
                 "due": dt.date(2024, 7, 29), "remind_before": 3}]


def test_milestones_hook_adds_tasks_and_tasks_are_marked_done(app, client, w, factory):
    app.extensions["anjian.plugins"].register("milestones_test", Milestones())
    factory.tenant("sy", plugins=[SHENYANG, "milestones_test"])
    campaign = create(client, w, title="报送行动").json
    tasks_url = w.url(f"/{campaign['id']}/tasks")
    tasks = client.get(tasks_url, headers=w["viewer"]).json["items"]
    assert [(t["key"], t["title"], t["deadline"], t["remind_before"]) for t in tasks] == [
        ("report", "sy 报送进展：报送行动", "2024-07-29", 3)]
    # Laying the tasks out again (activation) does not duplicate them.
    client.post(w.url(f"/{campaign['id']}/status"), json={"status": "active"},
                headers=w["supervisor"])
    tasks = client.get(tasks_url, headers=w["viewer"]).json["items"]
    assert len(tasks) == 1 and tasks[0]["status"] == "open"
    done = f"{tasks_url}/{tasks[0]['id']}/done"
    # A campaign-wide task is the bureau's: restricted roles do not even see it.
    assert client.get(tasks_url, headers=w["enterprise"]).json["total"] == 0
    assert client.post(done, json={}, headers=w["enterprise"]).status_code == 404
    assert client.post(done, json={}, headers=w["viewer"]).status_code == 403
    r = client.post(done, json={}, headers=w["supervisor"])
    assert r.status_code == 200 and r.json["status"] == "done"
    assert r.json["done_by"] == w["supervisor_id"]
    assert client.get(tasks_url, query_string={"status": "done"},
                      headers=w["viewer"]).json["total"] == 1
    other = create(client, w, title="别的").json
    assert client.post(w.url(f"/{other['id']}/tasks/{tasks[0]['id']}/done"), json={},
                       headers=w["supervisor"]).status_code == 404


# --- progress ----------------------------------------------------------------------------------

def _fixture_rows(app, tenant_id, campaign_id, other_campaign_id, ents, today):
    """Inspections, hazards and tasks written directly: a hand-countable fixture."""
    from anjian.campaigns.models import CampaignTask
    from anjian.extensions import db
    from anjian.hazards.models import Hazard
    from anjian.inspections.models import ChecklistTemplate, Inspection
    from anjian.tenancy.scope import Scope, scoped

    past, future = today - dt.timedelta(days=3), today + dt.timedelta(days=3)
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        template = ChecklistTemplate(key="fixture", title="夹具检查表")
        db.session.add(template)
        db.session.flush()

        def inspection(ent, status, campaign=campaign_id):
            db.session.add(Inspection(enterprise_id=ent, campaign_id=campaign,
                                      template_id=template.id, inspector_kind="department",
                                      status=status))

        inspection(ents[0], "submitted")
        inspection(ents[0], "submitted")  # twice: counted once
        inspection(ents[1], "draft")  # not submitted
        inspection(ents[2], "submitted", other_campaign_id)  # another campaign
        inspection(ents[3], "submitted")  # not a target of the campaign

        def hazard(ent, grade, state, deadline=None, campaign=campaign_id):
            db.session.add(Hazard(enterprise_id=ent, campaign_id=campaign, source="department",
                                  grade=grade, state=state, title="隐患", found_on=today,
                                  deadline=deadline))

        hazard(ents[0], "general", "reported", future)
        hazard(ents[0], "general", "reported", past)  # overdue, not yet marked
        hazard(ents[1], "general", "rectifying", past)  # overdue, not yet marked
        hazard(ents[1], "general", "rectified", past)  # rectified: not overdue
        hazard(ents[1], "general", "verified", past)
        hazard(ents[2], "general", "overdue", past)  # marked overdue
        hazard(ents[0], "major", "reported", None)
        hazard(ents[2], "major", "overdue", past)
        hazard(ents[2], "major", "referred", past)
        hazard(ents[0], "major", "reported", past, other_campaign_id)  # another campaign
        hazard(ents[0], "general", "reported", past, None)  # no campaign

        def task(key, status, deadline, campaign=campaign_id):
            db.session.add(CampaignTask(campaign_id=campaign, key=key, title=key,
                                        status=status, deadline=deadline))

        task("late", "open", past)
        task("marked", "overdue", past)
        task("finished", "done", past)
        task("coming", "open", future)
        task("elsewhere", "open", past, other_campaign_id)
        db.session.commit()


def test_progress_equals_a_hand_count_in_a_fixed_number_of_queries(app, client, w):
    campaign = create(client, w, title="进度").json
    other = create(client, w, title="别的行动").json
    client.post(w.url(f"/{campaign['id']}/targets"), json={"enterprise_ids": w["ents"][:3]},
                headers=w["supervisor"])
    client.post(w.url(f"/{other['id']}/targets"), json={"enterprise_ids": w["ents"]},
                headers=w["supervisor"])
    from anjian.campaigns.service import today

    _fixture_rows(app, w["tenant"], campaign["id"], other["id"], w["ents"], today())
    r = client.get(w.url(f"/{campaign['id']}/progress"), headers=w["viewer"])
    assert r.status_code == 200
    zero = {"reported": 0, "rectifying": 0, "rectified": 0, "verified": 0, "overdue": 0,
            "referred": 0}
    assert r.json == {
        "targets": 3,
        "inspected": 1,
        "hazards": {"by_grade_state": {
            "general": {**zero, "reported": 2, "rectifying": 1, "rectified": 1, "verified": 1,
                        "overdue": 1},
            "major": {**zero, "reported": 1, "overdue": 1, "referred": 1}},
            "total": 9},
        "overdue": {"hazards": 4, "tasks": 2},
    }
    # The same number of statements for 9 hazards as for 9 + 200.
    from anjian.campaigns.service import campaign_progress
    from anjian.context import Context
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    def statements():
        with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
            db.session.execute(db.select(db.literal(1)))  # connect and scope first
            with sql_statements(db.engine) as sent:
                result = campaign_progress(Context(w["tenant"], None), campaign["id"])
        seen = [s for s in sent
                if not s.lstrip().upper().startswith(("SELECT SET_CONFIG", "PRAGMA"))]
        return len(seen), result

    before, result = statements()
    assert result["hazards"]["total"] == 9 and before == 1
    from anjian.hazards.models import Hazard

    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        db.session.add_all(Hazard(enterprise_id=w["ents"][0], campaign_id=campaign["id"],
                                  source="self", grade="general", state="verified", title="h",
                                  found_on=today()) for _ in range(200))
        db.session.commit()
    after, result = statements()
    assert result["hazards"]["total"] == 209 and after == before


# --- permissions and isolation ---------------------------------------------------------------

def test_roles_that_may_not_write(client, w):
    for role in ("viewer", "service_org", "enterprise"):
        assert create(client, w).status_code == 201  # the supervisor may
        r = client.post(w.url(), json={"title": "x"}, headers=w[role])
        assert problem_of(r, 403)["title"] == "无权执行此操作"
    campaign = create(client, w).json
    for role in ("viewer", "service_org", "enterprise"):
        assert client.post(w.url(f"/{campaign['id']}/targets"), json={"rule": "plugin"},
                           headers=w[role]).status_code == 403
        assert client.post(w.url(f"/{campaign['id']}/status"), json={"status": "active"},
                           headers=w[role]).status_code == 403


def test_another_tenants_campaign_ids_are_404(client, w):
    foreign = client.post("/api/v1/tenants/other/campaigns", json={"title": "外单位行动"},
                          headers=w["other_admin"]).json
    client.post(f"/api/v1/tenants/other/campaigns/{foreign['id']}/targets",
                json={"enterprise_ids": [w["foreign_ent"]]}, headers=w["other_admin"])
    foreign_target = client.get(f"/api/v1/tenants/other/campaigns/{foreign['id']}/targets",
                                headers=w["other_admin"]).json["items"][0]["id"]
    own = create(client, w).json
    for path in ("", "/targets", "/tasks", "/progress"):
        r = client.get(w.url(f"/{foreign['id']}{path}"), headers=w["tenant_admin"])
        assert problem_of(r, 404)["detail"] == "专项行动不存在"
    assert client.post(w.url(f"/{foreign['id']}/status"), json={"status": "active"},
                       headers=w["tenant_admin"]).status_code == 404
    assert client.delete(w.url(f"/{own['id']}/targets/{foreign_target}"),
                         headers=w["tenant_admin"]).status_code == 404
    assert client.put(w.url(f"/{own['id']}/targets/{foreign_target}/assignee"),
                      json={"user_id": None}, headers=w["tenant_admin"]).status_code == 404
    # The other tenant's target is untouched.
    assert client.get(f"/api/v1/tenants/other/campaigns/{foreign['id']}/targets",
                      headers=w["other_admin"]).json["total"] == 1
    assert client.get(f"/api/v1/tenants/other/campaigns/{foreign['id']}",
                      headers=w["tenant_admin"]).status_code == 404
