"""Duties over ledgers (issue 19, points 3 and 4): a plugin's duties (a drill a year, a
principal-led inspection each quarter, a monthly check of welders' certificates, two
trainings a year, related-party agreements and welders' certificates in force) computed
met / due / missed per enterprise and period from entries written straight into the
tables, the hazards raised for missed ones (once), and who sees what. Every expected
value is counted by hand."""

from __future__ import annotations

import datetime as dt
import itertools

import marshmallow as ma
import pytest
from sqlalchemy import select

from anjian.auth.models import Membership
from anjian.clock import utcnow
from anjian.enterprises.models import Enterprise
from anjian.extensions import db, plugin_registry
from anjian.hazards.models import Hazard
from anjian.ledgers.duties import DutySchema, duties
from anjian.ledgers.models import LedgerEntry, LedgerFinding
from anjian.plugin_api import LedgerDuty, hookimpl
from anjian.plugins.context import PluginContext
from anjian.services.compliance import ObligationSchema
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer, sql_statements, tenant_context

PLUGIN = "ledger_duties_test"
CODE = "ld-duties"
URL = f"/api/v1/tenants/{CODE}/ledger-duties"
D = dt.date.fromisoformat
_serial = itertools.count(1)

DRILL_RULE = "《危险作业专项整治方案》四、3：企业每年至少组织一次危险作业应急演练"
PRINCIPAL_RULE = "《安全生产法》第二十一条：主要负责人组织开展安全检查，每季度至少带队检查一次"
AGREEMENT_RULE = "《安全生产法》第四十九条：与承包、承租单位签订专门的安全生产管理协议"


class Duties:
    """The duties a locality's plugin would give (issue 19's examples)."""

    @hookimpl
    def ledger_duties(self, tenant):
        return [
            LedgerDuty(key="drill_yearly", title="每年至少一次应急演练", ledger_kind="drills",
                       per="year", criterion=DRILL_RULE, raise_hazard=True),
            LedgerDuty(key="principal_quarterly", title="主要负责人每季度带队检查",
                       ledger_kind="self_inspections", per="quarter",
                       where={"kind": "主要负责人带队检查"}, criterion=PRINCIPAL_RULE,
                       raise_hazard=True),
            LedgerDuty(key="welder_check_monthly", title="每月检查焊工持证情况",
                       ledger_kind="self_inspections", per="month",
                       where={"kind": "特种作业人员持证检查"}),
            LedgerDuty(key="trainings_twice", title="每年至少两次安全培训",
                       ledger_kind="trainings", count=2, per="year"),
            LedgerDuty(key="related_party_agreements", title="相关方安全生产管理协议在有效期内",
                       ledger_kind="related_parties", per="standing", criterion=AGREEMENT_RULE,
                       raise_hazard=True),
            LedgerDuty(key="welders_certified", title="焊工持证在有效期内",
                       ledger_kind="special_workers", per="standing",
                       where={"work_kind": "焊接与热切割作业"}),
        ]


def enterprise(app, tenant_id, name) -> int:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        row = Enterprise(credit_code=f"LEDGERDUTY{next(_serial):08d}", name=name)
        db.session.add(row)
        db.session.commit()
        return row.id


def entries(app, tenant_id, *rows) -> None:
    """Ledger entries written straight into the table: (enterprise, kind, data, dated_on,
    expires_on[, deleted])."""
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        for enterprise_id, kind, data, dated_on, expires_on, *deleted in rows:
            db.session.add(LedgerEntry(enterprise_id=enterprise_id, kind=kind, data=data,
                                       dated_on=D(dated_on) if dated_on else None,
                                       expires_on=D(expires_on) if expires_on else None,
                                       deleted_at=utcnow() if deleted else None))
        db.session.commit()


def member(app, factory, tenant_id, username, role, enterprise_id=None) -> dict:
    user_id, token = factory.user(username)
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        db.session.add(Membership(user_id=user_id, role=role, enterprise_id=enterprise_id))
        db.session.commit()
    return bearer(token)


def inspection(kind, on):
    return {"checked_on": on, "kind": kind, "leader": "王厂长"}


@pytest.fixture
def world(app, factory):
    app.extensions["anjian.plugins"].register(PLUGIN, Duties())
    tenant = factory.tenant(CODE, plugins=[PLUGIN])
    e1 = enterprise(app, tenant, "台账企业1")
    e2 = enterprise(app, tenant, "台账企业2")
    gone = enterprise(app, tenant, "台账企业3（已注销）")
    entries(
        app, tenant,
        # Enterprise 1: a drill in March; a principal-led inspection in Q1 only (a daily one
        # in April does not count); welders' certificates checked twice in January, in March
        # and May (one in February was deleted, December's is before the start, June's after
        # as_of); one training of two; one related party in force and one expired on 30 April;
        # a welder certified until 2026 (an electrician's expired certificate is not a welder's).
        (e1, "drills", {"held_on": "2024-03-10", "scenario": "有限空间作业中毒窒息", "participants": 12},
         "2024-03-10", None),
        (e1, "self_inspections", inspection("主要负责人带队检查", "2024-02-20"), "2024-02-20", None),
        (e1, "self_inspections", inspection("日常检查", "2024-04-10"), "2024-04-10", None),
        (e1, "self_inspections", inspection("特种作业人员持证检查", "2023-12-20"), "2023-12-20", None),
        (e1, "self_inspections", inspection("特种作业人员持证检查", "2024-01-15"), "2024-01-15", None),
        (e1, "self_inspections", inspection("特种作业人员持证检查", "2024-01-25"), "2024-01-25", None),
        (e1, "self_inspections", inspection("特种作业人员持证检查", "2024-02-14"), "2024-02-14", None, True),
        (e1, "self_inspections", inspection("特种作业人员持证检查", "2024-03-05"), "2024-03-05", None),
        (e1, "self_inspections", inspection("特种作业人员持证检查", "2024-05-10"), "2024-05-10", None),
        (e1, "self_inspections", inspection("特种作业人员持证检查", "2024-06-01"), "2024-06-01", None),
        (e1, "trainings", {"held_on": "2024-03-01", "kind": "全员", "topic": "动火作业", "hours": 2,
                           "attendees": 30}, "2024-03-01", None),
        (e1, "related_parties", {"name": "沈阳某建筑劳务公司", "kind": "承包",
                                 "agreement_ends_on": "2025-12-31"}, "2024-01-02", "2025-12-31"),
        (e1, "related_parties", {"name": "沈阳某设备维修公司", "kind": "外委作业",
                                 "agreement_ends_on": "2024-04-30"}, "2023-05-01", "2024-04-30"),
        (e1, "special_workers", {"name": "张三", "work_kind": "焊接与热切割作业", "issued_on": "2020-06-01"},
         "2020-06-01", "2026-06-01"),
        (e1, "special_workers", {"name": "李四", "work_kind": "电工作业", "issued_on": "2017-03-01"},
         "2017-03-01", "2023-03-01"),
        # Enterprise 2: last year's drill only, and a welder whose certificate expired on 1 March.
        (e2, "drills", {"held_on": "2023-11-01", "scenario": "火灾", "participants": 8}, "2023-11-01", None),
        (e2, "special_workers", {"name": "王五", "work_kind": "焊接与热切割作业", "issued_on": "2018-03-01"},
         "2018-03-01", "2024-03-01"),
        # The deleted enterprise's entries count for nobody.
        (gone, "drills", {"held_on": "2024-02-01", "scenario": "火灾", "participants": 3}, "2024-02-01", None),
    )
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        db.session.get(Enterprise, gone).deleted_at = utcnow()
        db.session.commit()
    supervisor_id, token = factory.user("ld-supervisor", {tenant: "supervisor"})
    return {"id": tenant, "e1": e1, "e2": e2, "gone": gone, "supervisor_id": supervisor_id,
            "supervisor": bearer(token),
            "viewer": bearer(factory.user("ld-viewer", {tenant: "viewer"})[1]),
            "service_org": bearer(factory.user("ld-org", {tenant: "service_org"})[1]),
            "enterprise": member(app, factory, tenant, "ld-ent1", "enterprise", e1)}


def rows(enterprise_view):
    return [(i["key"], i["period"], i["status"], i["done"], i["required"])
            for i in enterprise_view["items"]]


# Written by hand: as of 15 May 2024, counting from 1 January 2024.
E1_MAY = [
    ("drill_yearly", "2024年度", "met", 1, 1),
    ("principal_quarterly", "2024年第1季度", "met", 1, 1),
    ("principal_quarterly", "2024年第2季度", "due", 0, 1),
    ("welder_check_monthly", "2024年1月", "met", 2, 1),
    ("welder_check_monthly", "2024年2月", "missed", 0, 1),
    ("welder_check_monthly", "2024年3月", "met", 1, 1),
    ("welder_check_monthly", "2024年4月", "missed", 0, 1),
    ("welder_check_monthly", "2024年5月", "met", 1, 1),
    ("trainings_twice", "2024年度", "due", 1, 2),
    ("related_party_agreements", "截至2024-05-15", "missed", 1, 1),
    ("welders_certified", "截至2024-05-15", "met", 1, 1),
]
E2_MAY = [
    ("drill_yearly", "2024年度", "due", 0, 1),
    ("principal_quarterly", "2024年第1季度", "missed", 0, 1),
    ("principal_quarterly", "2024年第2季度", "due", 0, 1),
    ("welder_check_monthly", "2024年1月", "missed", 0, 1),
    ("welder_check_monthly", "2024年2月", "missed", 0, 1),
    ("welder_check_monthly", "2024年3月", "missed", 0, 1),
    ("welder_check_monthly", "2024年4月", "missed", 0, 1),
    ("welder_check_monthly", "2024年5月", "due", 0, 1),
    ("trainings_twice", "2024年度", "due", 0, 2),
    ("related_party_agreements", "截至2024-05-15", "missed", 0, 1),
    ("welders_certified", "截至2024-05-15", "missed", 0, 1),
]


def test_each_duty_per_enterprise_and_period_counted_by_hand(client, world):
    r = client.get(URL, query_string={"as_of": "2024-05-15"}, headers=world["viewer"])
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["as_of"], body["since"], body["total"]) == ("2024-05-15", "2024-01-01", 2)
    assert [d["key"] for d in body["duties"]] == [
        "drill_yearly", "principal_quarterly", "welder_check_monthly", "trainings_twice",
        "related_party_agreements", "welders_certified"]
    assert body["duties"][0]["ledger_title"] == "应急演练"
    assert body["duties"][0]["criterion"] == DRILL_RULE
    first, second = body["items"]
    assert (first["enterprise_id"], second["enterprise_id"]) == (world["e1"], world["e2"])
    assert rows(first) == E1_MAY
    assert rows(second) == E2_MAY
    assert first["summary"] == {"met": 6, "due": 2, "missed": 3}
    assert second["summary"] == {"met": 0, "due": 4, "missed": 7}
    assert body["summary"] == {"met": 6, "due": 6, "missed": 10}
    # Why a standing duty is missed; labels in Chinese.
    by_key = {i["key"]: i for i in first["items"] if i["per"] == "standing"}
    assert by_key["related_party_agreements"]["reason"] == "1 条已过期"
    assert by_key["related_party_agreements"]["expired"] == 1
    assert by_key["welders_certified"]["reason"] == ""
    reasons = {i["key"]: i["reason"] for i in second["items"] if i["status"] == "missed"}
    assert reasons["related_party_agreements"] == "无记录"
    assert reasons["welders_certified"] == "1 条已过期；有效 0 条，应至少 1 条"
    assert reasons["principal_quarterly"] == "无记录"
    item = first["items"][4]
    assert (item["period_start"], item["period_end"], item["status_label"], item["per_label"]) == (
        "2024-02-01", "2024-02-29", "未完成", "月度")


def test_filters_pages_and_the_start_of_counting(client, world):
    # Only the missed items, and only the enterprises with one.
    r = client.get(URL, query_string={"as_of": "2024-05-15", "status": "missed",
                                      "enterprise_id": world["e1"]}, headers=world["supervisor"])
    assert [row[:2] for row in rows(r.json["items"][0])] == [
        ("welder_check_monthly", "2024年2月"), ("welder_check_monthly", "2024年4月"),
        ("related_party_agreements", "截至2024-05-15")]
    assert r.json["items"][0]["summary"] == {"met": 6, "due": 2, "missed": 3}
    page = client.get(URL, query_string={"as_of": "2024-05-15", "per_page": 1, "page": 2},
                      headers=world["supervisor"]).json
    assert (page["total"], page["page"], [e["enterprise_id"] for e in page["items"]]) == (
        2, 2, [world["e2"]])
    # Counting from 1 March: January and February are not periods; the first quarter starts
    # on 1 March, so February's principal-led inspection does not count for it.
    r = client.get(URL, query_string={"as_of": "2024-05-15", "since": "2024-03-01",
                                      "enterprise_id": world["e1"]}, headers=world["supervisor"])
    got = rows(r.json["items"][0])
    assert [row for row in got if row[0] in ("principal_quarterly", "welder_check_monthly")] == [
        ("principal_quarterly", "2024年第1季度", "missed", 0, 1),
        ("principal_quarterly", "2024年第2季度", "due", 0, 1),
        ("welder_check_monthly", "2024年3月", "met", 1, 1),
        ("welder_check_monthly", "2024年4月", "missed", 0, 1),
        ("welder_check_monthly", "2024年5月", "met", 1, 1)]
    assert r.json["items"][0]["items"][1]["period_start"] == "2024-03-01"
    # On 31 December the year is not over yet; on 2 January 2025, counting from 2024, every
    # period of 2024 is over (what was not done is missed) and those of 2025 have begun.
    r = client.get(URL, query_string={"as_of": "2024-12-31", "enterprise_id": world["e2"]},
                   headers=world["supervisor"])
    assert rows(r.json["items"][0])[0] == ("drill_yearly", "2024年度", "due", 0, 1)
    r = client.get(URL, query_string={"as_of": "2025-01-02", "since": "2024-01-01",
                                      "enterprise_id": world["e2"]}, headers=world["supervisor"])
    got = rows(r.json["items"][0])
    assert got[:2] == [("drill_yearly", "2024年度", "missed", 0, 1),
                       ("drill_yearly", "2025年度", "due", 0, 1)]
    assert [row[1:3] for row in got if row[0] == "welder_check_monthly"] == [
        *((f"2024年{m}月", "missed") for m in range(1, 13)), ("2025年1月", "due")]
    assert r.json["items"][0]["summary"] == {"met": 0, "due": 4, "missed": 1 + 4 + 12 + 1 + 2}


def test_bad_dates_and_unknown_enterprises_are_refused_in_chinese(client, world):
    r = client.get(URL, query_string={"as_of": "2024-13-40"}, headers=world["viewer"])
    assert r.status_code == 422
    assert "不是有效的日期" in str(r.json)
    r = client.get(URL, query_string={"as_of": "2024-05-15", "since": "2024-06-01"},
                   headers=world["viewer"])
    assert r.status_code == 422 and r.json["errors"] == {"since": ["起算日不能晚于计算日"]}
    r = client.get(URL, query_string={"enterprise_id": world["gone"]}, headers=world["viewer"])
    assert r.status_code == 404 and "企业不存在" in r.json["detail"]
    r = client.post(f"{URL}/findings", json={"as_of": "2099-01-01"}, headers=world["supervisor"])
    assert r.status_code == 422 and r.json["errors"] == {"as_of": ["计算日不能晚于今天"]}
    r = client.post(f"{URL}/findings", json={"as_of": "不是日期"}, headers=world["supervisor"])
    assert r.status_code == 422 and "不是有效的日期" in str(r.json)


def test_an_enterprise_user_sees_only_its_own_enterprise(client, world):
    r = client.get(URL, query_string={"as_of": "2024-05-15"}, headers=world["enterprise"])
    assert r.status_code == 200
    assert [(e["enterprise_id"], rows(e)) for e in r.json["items"]] == [(world["e1"], E1_MAY)]
    assert r.json["summary"] == {"met": 6, "due": 2, "missed": 3}
    other = client.get(URL, query_string={"as_of": "2024-05-15", "enterprise_id": world["e2"]},
                       headers=world["enterprise"])
    assert other.status_code == 404
    # A service organisation serving nobody sees nobody; neither raises findings.
    r = client.get(URL, query_string={"as_of": "2024-05-15"}, headers=world["service_org"])
    assert (r.json["total"], r.json["items"]) == (0, [])
    for role in ("enterprise", "service_org", "viewer"):
        assert client.post(f"{URL}/findings", json={"as_of": "2024-05-15"},
                           headers=world[role]).status_code == 403


def findings(r):
    return sorted((f["enterprise_id"], f["key"], f["period"]) for f in r)


def test_missed_duties_raise_hazards_once(app, client, world):
    e1, e2 = world["e1"], world["e2"]
    r = client.post(f"{URL}/findings", json={"as_of": "2024-05-15"}, headers=world["supervisor"])
    assert r.status_code == 200, r.json
    # Only the duties the plugin raises (drill, principal-led inspection, agreements), missed:
    # enterprise 1's expired agreement; enterprise 2's first quarter and missing agreement.
    assert findings(r.json["raised"]) == sorted([
        (e1, "related_party_agreements", "截至2024-05-15"),
        (e2, "principal_quarterly", "2024年第1季度"),
        (e2, "related_party_agreements", "截至2024-05-15")])
    assert r.json["already"] == []
    with app.app_context(), scoped(db.session, Scope.tenant(world["id"])):
        hazards = {(h.enterprise_id, h.title): h for h in db.session.scalars(select(Hazard))}
        assert sorted(hazards) == sorted([
            (e1, "台账义务未完成：相关方安全生产管理协议在有效期内（截至2024-05-15）"),
            (e2, "台账义务未完成：主要负责人每季度带队检查（2024年第1季度）"),
            (e2, "台账义务未完成：相关方安全生产管理协议在有效期内（截至2024-05-15）")])
        quarter = hazards[(e2, "台账义务未完成：主要负责人每季度带队检查（2024年第1季度）")]
        assert (quarter.enterprise_id, quarter.source, quarter.state, quarter.found_by) == (
            e2, "department", "reported", world["supervisor_id"])
        assert quarter.description == (f"依据：{PRINCIPAL_RULE}\n"
                                       "2024年第1季度，主要负责人每季度带队检查未完成：无记录。")
        assert db.session.scalar(select(LedgerFinding.period_end).where(
            LedgerFinding.hazard_id == quarter.id)) == D("2024-03-31")

    # Again: nothing twice.
    again = client.post(f"{URL}/findings", json={"as_of": "2024-05-15"}, headers=world["supervisor"])
    assert again.json["raised"] == []
    assert findings(again.json["already"]) == findings(r.json["raised"])

    # After the second quarter: both enterprises missed it; the agreements' hazards are still
    # open, so those are not raised again.
    later = client.post(f"{URL}/findings", json={"as_of": "2024-07-02"}, headers=world["supervisor"])
    assert findings(later.json["raised"]) == sorted([
        (e1, "principal_quarterly", "2024年第2季度"), (e2, "principal_quarterly", "2024年第2季度")])
    assert findings(later.json["already"]) == sorted([
        (e1, "related_party_agreements", "截至2024-05-15"),
        (e2, "principal_quarterly", "2024年第1季度"),
        (e2, "related_party_agreements", "截至2024-05-15")])

    # Once enterprise 1's agreement hazard is closed, the still expired agreement is a new finding.
    with app.app_context(), scoped(db.session, Scope.tenant(world["id"])):
        closed = db.session.scalar(select(Hazard).where(
            Hazard.enterprise_id == e1, Hazard.title.like("%相关方%")))
        closed.state = "verified"
        db.session.commit()
    last = client.post(f"{URL}/findings", json={"as_of": "2024-07-03"}, headers=world["supervisor"])
    assert findings(last.json["raised"]) == [(e1, "related_party_agreements", "截至2024-07-03")]
    with app.app_context(), scoped(db.session, Scope.tenant(world["id"])):
        assert db.session.scalar(select(LedgerFinding.id).where(
            LedgerFinding.enterprise_id == world["gone"])) is None
        assert len(db.session.scalars(select(LedgerFinding)).all()) == 6


def test_statements_do_not_grow_with_entries_or_enterprises(app, client, world):
    def statements():
        with sql_statements(db.engine) as seen:
            r = client.get(URL, query_string={"as_of": "2024-05-15"}, headers=world["viewer"])
            assert r.status_code == 200
        return len(seen), r.json["total"]

    with app.app_context():
        before, total = statements()
        more = [enterprise(app, world["id"], f"台账企业{n}") for n in range(4, 9)]
        entries(app, world["id"], *[
            (e, "self_inspections", inspection("特种作业人员持证检查", f"2024-0{m}-0{m}"), f"2024-0{m}-0{m}", None)
            for e in more for m in range(1, 6)])
        after, total_after = statements()
    assert (total, total_after) == (2, 7)
    assert after == before


def test_the_plugin_read_helper(app, world):
    with app.app_context(), scoped(db.session, Scope.tenant(world["id"])):
        tenant = plugin_registry().tenant_info(db.session.get(Tenant, world["id"]))
        got = PluginContext(tenant).ledger_duty_status(D("2024-05-15"),
                                                       enterprise_ids=[world["e1"], world["gone"]])
    assert list(got) == [world["e1"]]
    assert [(i["key"], i["period"], i["status"], i["done"], i["required"]) for i in got[world["e1"]]] == E1_MAY
    assert got[world["e1"]][0] == {"key": "drill_yearly", "title": "每年至少一次应急演练", "status": "met",
                                   "done": 1, "required": 1, "period": "2024年度"}


def test_a_duty_is_checked_like_an_obligation():
    base = {"key": "k", "title": "t", "ledger_kind": "drills"}
    assert DutySchema().load(base) == {**base, "count": 1, "per": "year", "align": "calendar",
                                            "where": {}, "criterion": "", "raise_hazard": False,
                                            "in_last_months": None}
    for bad, field in (({"per": "week"}, "per"), ({"per": "standing", "in_last_months": 1}, "in_last_months"),
                       ({"per": "quarter", "in_last_months": 4}, "in_last_months"),
                       ({"raise_hazard": True}, "criterion"), ({"where": {"kind": ["a"]}}, "where"),
                       ({"count": 0}, "count"), ({"every": 2}, "every")):
        with pytest.raises(ma.ValidationError) as caught:
            DutySchema().load({**base, **bad})
        assert field in caught.value.messages
    # The service obligations share the rule's periods: a month is a period there too.
    rule = ObligationSchema().load({"key": "k", "title": "t", "record_kind": "drill", "per": "month"})
    assert (rule["per"], rule["align"]) == ("month", "contract")


def test_a_plugin_giving_a_dict_or_an_unknown_ledger_is_a_defect(app, factory):
    class Broken:
        def __init__(self, answer):
            self.answer = answer

        @hookimpl
        def ledger_duties(self, tenant):
            return [self.answer]

    registry = app.extensions["anjian.plugins"]
    registry.register("ld_dict", Broken({"key": "k", "title": "t", "ledger_kind": "drills"}))
    registry.register("ld_unknown", Broken(LedgerDuty(key="k", title="t", ledger_kind="nothing")))
    registry.register("ld_field", Broken(LedgerDuty(key="k", title="t", ledger_kind="drills",
                                                    where={"colour": "红"})))
    for plugin, message in (("ld_dict", "插件给出的台账义务须为 LedgerDuty"),
                            ("ld_unknown", "台账义务 k 的台账类别不存在: nothing"),
                            ("ld_field", "台账义务 k 的筛选字段不属于该台账: colour")):
        tenant = factory.tenant(f"ld-{plugin.replace('_', '-')}", plugins=[plugin])
        with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
            with pytest.raises(Exception, match=message):
                duties(tenant_context(tenant))
