"""Accidents and their investigation (issue 19, the ledgers' 事故; seed 004, checklist item 10:
原因分析、措施整改、责任追究，形成事故调查分析报告): the enterprise records its own accident's
investigation and report, the bureau corrects the record; history, If-Match, Chinese
refusals, visibility, isolation, the renewal blocker, and the plugins' read helper. Every
expected value is written by hand."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from anjian.auth.models import Membership
from anjian.campaigns.models import Campaign, CampaignTarget
from anjian.clock import local_today
from anjian.enterprises.models import Enterprise
from anjian.evidence import Evidence
from anjian.extensions import db
from anjian.ledgers.models import LedgerEvent
from anjian.plugins.context import PluginContext
from anjian.standardisation.models import Accident, Certification
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

TODAY = local_today()
T = "/api/v1/tenants/acc-t"
ACCIDENTS = f"{T}/accidents"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PROBLEM = "application/problem+json"


def _enterprise(app, tenant_id, n) -> int:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        row = Enterprise(credit_code=f"9121010600{n:08d}", name=f"沈阳事故企业{n}",
                         address=f"沈阳市铁西区{n}号")
        db.session.add(row)
        db.session.commit()
        return row.id


def _member(app, factory, tenant_id, username, role, enterprise_id=None) -> tuple[int, dict]:
    user_id, token = factory.user(username)
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        db.session.add(Membership(user_id=user_id, role=role, enterprise_id=enterprise_id))
        db.session.commit()
    return user_id, bearer(token)


@pytest.fixture
def w(app, factory):
    tenant = factory.tenant("acc-t")
    other = factory.tenant("acc-other")
    e1, e2 = _enterprise(app, tenant, 1), _enterprise(app, tenant, 2)
    users = {}
    for role in ("tenant_admin", "supervisor", "viewer"):
        users[role] = _member(app, factory, tenant, f"acc-{role}".replace("_", "-"), role)
    users["ent1"] = _member(app, factory, tenant, "acc-ent1", "enterprise", e1)
    users["ent2"] = _member(app, factory, tenant, "acc-ent2", "enterprise", e2)
    users["org"] = _member(app, factory, tenant, "acc-org", "service_org")
    users["other"] = _member(app, factory, other, "acc-other-admin", "tenant_admin")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):  # the organisation serves e1
        campaign = Campaign(title="第三方服务", status="active")
        db.session.add(campaign)
        db.session.flush()
        db.session.add(CampaignTarget(campaign_id=campaign.id, enterprise_id=e1,
                                      assignee_user_id=users["org"][0]))
        db.session.commit()
    return {"tenant": tenant, "other": other, "e1": e1, "e2": e2,
            "ids": {k: v[0] for k, v in users.items()}, **{k: v[1] for k, v in users.items()}}


def etag_of(client, headers, accident_id) -> str:
    r = client.get(f"{ACCIDENTS}/{accident_id}", headers=headers)
    assert r.status_code == 200, r.json
    return r.headers["ETag"]


def patch(client, headers, accident_id, body, etag=None):
    extra = {"If-Match": etag if etag is not None else etag_of(client, headers, accident_id)}
    return client.patch(f"{ACCIDENTS}/{accident_id}", json=body, headers={**headers, **extra})


def record(client, headers, enterprise_id, **body):
    r = client.post(ACCIDENTS, headers=headers, json={"enterprise_id": enterprise_id, **body})
    assert r.status_code == 201, r.json
    return r.json


def audit_actions(client, w, accident_id) -> list[str]:
    rows = client.get(f"{T}/audit?entity_type=accident&entity_id={accident_id}&per_page=100",
                      headers=w["tenant_admin"]).json["items"]
    return sorted(r["action"] for r in rows)


def test_the_enterprise_records_its_own_investigation_and_report(app, client, w):
    occurred = TODAY - dt.timedelta(days=40)
    concluded = TODAY - dt.timedelta(days=10)
    made = record(client, w["supervisor"], w["e1"], occurred_on=occurred.isoformat(), severity="serious",
                  injured=1, description=" 冲床伤手 ")
    aid = made["id"]
    assert (made["description"], made["causes"], made["investigated_on"]) == ("冲床伤手", "", None)
    assert (made["investigation_complete"], made["report_files"]) == (False, 0)

    # The enterprise user reads its own accident, with its history: the creation.
    listed = client.get(ACCIDENTS, headers=w["ent1"])
    assert listed.status_code == 200
    assert [(a["id"], a["investigation_complete"]) for a in listed.json["items"]] == [(aid, False)]
    shown = client.get(f"{ACCIDENTS}/{aid}", headers=w["ent1"])
    assert shown.status_code == 200 and shown.headers["ETag"]
    assert [(h["action"], h["action_label"], h["actor_user_id"]) for h in shown.json["history"]] == [
        ("create", "新建", w["ids"]["supervisor"])]
    assert shown.json["history"][0]["changes"] == {
        "enterprise_id": [None, w["e1"]], "occurred_on": [None, occurred.isoformat()],
        "severity": [None, "serious"], "injured": [None, 1], "deaths": [None, 0],
        "description": [None, "冲床伤手"]}
    assert shown.json["files"] == []

    # If-Match: missing is 428, stale is 412, both in Chinese; nothing changes.
    investigation = {"causes": "冲床光电保护装置被短接", "measures": "恢复光电保护，全员再培训",
                     "accountability": "车间主任记过处分", "investigated_on": concluded.isoformat()}
    bare = client.patch(f"{ACCIDENTS}/{aid}", json=investigation, headers=w["ent1"])
    assert (bare.status_code, bare.mimetype, bare.json["title"]) == (428, PROBLEM, "缺少 If-Match 请求头")
    stale = patch(client, w["ent1"], aid, investigation, etag='"0123456789abcdef"')
    assert (stale.status_code, stale.mimetype, stale.json["title"]) == (
        412, PROBLEM, "数据已被他人修改，请刷新后重试")

    # The enterprise records the investigation itself: not complete until the report is on file.
    first_etag = etag_of(client, w["ent1"], aid)
    r = patch(client, w["ent1"], aid, investigation, etag=first_etag)
    assert r.status_code == 200, r.json
    assert (r.json["causes"], r.json["accountability"], r.json["investigated_on"]) == (
        "冲床光电保护装置被短接", "车间主任记过处分", concluded.isoformat())
    assert r.json["investigation_complete"] is False
    assert r.headers["ETag"] != first_etag
    assert r.headers["ETag"] == etag_of(client, w["ent1"], aid)
    assert patch(client, w["ent1"], aid, {"causes": "改"}, etag=first_etag).status_code == 412

    # The report (a PDF), uploaded through the evidence route and attached.
    upload = client.post(f"{T}/evidence", headers=w["ent1"], content_type="multipart/form-data",
                         data={"file": (io.BytesIO(PDF), "事故调查分析报告.pdf", "application/pdf"),
                               "enterprise_id": str(w["e1"])})
    assert upload.status_code == 201, upload.json
    report = upload.json["id"]
    before_report = etag_of(client, w["ent1"], aid)
    r = patch(client, w["ent1"], aid, {"evidence_ids": [report]}, etag=before_report)
    assert r.status_code == 200, r.json
    assert (r.json["investigation_complete"], r.json["report_files"]) == (True, 1)
    assert [(f["id"], f["filename"], f["content_type"]) for f in r.json["files"]] == [
        (report, "事故调查分析报告.pdf", "application/pdf")]
    assert r.headers["ETag"] != before_report  # a file attached is a change
    shown = client.get(f"{ACCIDENTS}/{aid}", headers=w["supervisor"]).json
    assert [f["id"] for f in shown["files"]] == [report] and shown["investigation_complete"] is True
    assert [(h["action"], h["actor_user_id"]) for h in shown["history"]] == [
        ("create", w["ids"]["supervisor"]), ("update", w["ids"]["ent1"]), ("update", w["ids"]["ent1"])]
    assert shown["history"][1]["changes"] == {
        "causes": ["", "冲床光电保护装置被短接"], "measures": ["", "恢复光电保护，全员再培训"],
        "accountability": ["", "车间主任记过处分"], "investigated_on": [None, concluded.isoformat()]}
    assert shown["history"][2]["changes"] == {"evidence_ids": [[], [report]]}
    # The same values again change nothing and write no event.
    again = patch(client, w["ent1"], aid, {"causes": "冲床光电保护装置被短接"})
    assert again.status_code == 200 and len(again.json["history"]) == 3

    # Refusals, in Chinese: a date before the accident or in the future, an unknown field,
    # a text too long; the record itself is the bureau's to correct.
    early = patch(client, w["ent1"], aid, {"investigated_on": (occurred - dt.timedelta(days=1)).isoformat()})
    assert early.status_code == 422 and early.mimetype == PROBLEM
    assert early.json["errors"] == {"investigated_on": [f"调查结论日期不能早于事故日期（{occurred.isoformat()}）"]}
    future = patch(client, w["ent1"], aid, {"investigated_on": (TODAY + dt.timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json["errors"] == {"investigated_on": ["调查结论日期不能晚于今天"]}
    moved = patch(client, w["ent1"], aid, {"enterprise_id": w["e2"], "causes": "x"})
    assert moved.status_code == 422 and moved.json["errors"] == {"json": {"enterprise_id": ["不允许的字段"]}}
    long = patch(client, w["ent1"], aid, {"measures": "措" * 10001})
    assert long.status_code == 422 and long.json["errors"] == {"json": {"measures": ["超过最大长度 10000"]}}
    downgrade = patch(client, w["ent1"], aid, {"severity": "minor"})
    assert downgrade.status_code == 403
    assert downgrade.json["detail"] == "企业用户无权更正事故记录（日期、等级、人数、经过）"
    # The bureau corrects the record: an accident date after the investigation's is refused.
    late = patch(client, w["supervisor"], aid, {"occurred_on": (concluded + dt.timedelta(days=1)).isoformat()})
    assert late.status_code == 422 and list(late.json["errors"]) == ["investigated_on"]
    fixed = patch(client, w["supervisor"], aid, {"injured": 2, "description": "冲床压伤右手"})
    assert fixed.status_code == 200
    assert fixed.json["history"][-1]["changes"] == {"injured": [1, 2], "description": ["冲床伤手", "冲床压伤右手"]}
    assert len(fixed.json["history"]) == 4

    # Every write is in the audit log.
    assert audit_actions(client, w, aid) == ["accident.create", "accident.update", "accident.update",
                                             "accident.update"]

    # Who else sees it: the organisation serving e1 reads it but does not investigate; the
    # other enterprise and the other tenant do not see it at all.
    assert client.get(f"{ACCIDENTS}/{aid}", headers=w["org"]).status_code == 200
    assert client.get(f"{ACCIDENTS}/{aid}", headers=w["viewer"]).status_code == 200
    assert patch(client, w["org"], aid, {"causes": "x"}).status_code == 403
    assert patch(client, w["viewer"], aid, {"causes": "x"}).status_code == 403
    assert client.get(f"{ACCIDENTS}/{aid}", headers=w["ent2"]).status_code == 404
    assert client.get(ACCIDENTS, headers=w["ent2"]).json["items"] == []
    foreign = patch(client, w["ent2"], aid, {"causes": "x"}, etag='"0123456789abcdef"')
    assert foreign.status_code == 404 and foreign.json["detail"] == "事故不存在"
    assert client.get(f"{ACCIDENTS}/{aid}", headers=w["other"]).status_code == 404
    assert client.get(f"/api/v1/tenants/acc-other/accidents/{aid}", headers=w["other"]).status_code == 404
    assert client.get("/api/v1/tenants/acc-other/accidents", headers=w["other"]).json["items"] == []

    # An accident with its report on file is not deleted (409); nor by the enterprise (403).
    kept = client.delete(f"{ACCIDENTS}/{aid}", headers={**w["tenant_admin"],
                                                        "If-Match": etag_of(client, w["tenant_admin"], aid)})
    assert kept.status_code == 409
    assert kept.json["detail"] == "该事故已附有调查报告等文件，不能删除；登记有误的，请更正事故记录"
    assert client.delete(f"{ACCIDENTS}/{aid}", headers={
        **w["ent1"], "If-Match": etag_of(client, w["ent1"], aid)}).status_code == 403


def test_the_bureau_deletes_an_accident_recorded_by_mistake(app, client, w):
    aid = record(client, w["supervisor"], w["e2"], occurred_on=TODAY.isoformat(), severity="minor")["id"]
    assert patch(client, w["tenant_admin"], aid, {"causes": "误报"}).status_code == 200
    url = f"{ACCIDENTS}/{aid}"
    assert client.delete(url, headers=w["tenant_admin"]).status_code == 428
    assert client.delete(url, headers={**w["tenant_admin"], "If-Match": '"stale"'}).status_code == 412
    gone = client.delete(url, headers={**w["tenant_admin"], "If-Match": etag_of(client, w["tenant_admin"], aid)})
    assert gone.status_code == 204
    assert client.get(url, headers=w["tenant_admin"]).status_code == 404
    # Its history went with it; the audit log keeps the record as it was.
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        assert db.session.scalars(select(LedgerEvent).where(LedgerEvent.accident_id == aid)).all() == []
    assert audit_actions(client, w, aid) == ["accident.create", "accident.delete", "accident.update"]
    deleted = client.get(f"{T}/audit?entity_type=accident&entity_id={aid}&action=accident.delete",
                         headers=w["tenant_admin"]).json["items"][0]
    assert (deleted["before"]["causes"], deleted["before"]["severity"]) == ("误报", "minor")


def test_a_fatal_accident_still_bars_the_renewal_and_only_the_bureau_corrects_it(app, client, w):
    e = w["e1"]
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        cert = Certification(enterprise_id=e, scheme="small_micro", state="re_evaluating",
                             applied_on=dt.date(2022, 1, 5), certificate_no="辽AQB-1",
                             issued_on=TODAY - dt.timedelta(days=3 * 365 - 30),
                             expires_on=TODAY + dt.timedelta(days=30),
                             certified_as={"address": "沈阳市铁西区1号", "industry_code": "",
                                           "main_products": ""})
        db.session.add(cert)
        db.session.commit()
        cert_id = cert.id
    certs = f"{T}/standardisation/certifications"

    def renew():
        etag = client.get(f"{certs}/{cert_id}", headers=w["supervisor"]).headers["ETag"]
        return client.post(f"{certs}/{cert_id}/transitions", json={"action": "renew", "certificate_no": "辽AQB-2"},
                           headers={**w["supervisor"], "If-Match": etag})

    occurred = TODAY - dt.timedelta(days=60)
    aid = record(client, w["supervisor"], e, occurred_on=occurred.isoformat(), severity="fatal",
                 deaths=1, description="高处坠落")["id"]
    barred = renew()
    assert barred.status_code == 409
    assert barred.json["blockers"] == [f"证书有效期内发生死亡事故（{occurred.isoformat()}），不得换证"]
    # The enterprise investigates (that does not lift the bar) but may not downgrade it.
    assert patch(client, w["ent1"], aid, {"causes": "未系安全带", "measures": "设置生命线",
                                          "accountability": "班组长辞退"}).status_code == 200
    assert patch(client, w["ent1"], aid, {"severity": "minor", "deaths": 0}).status_code == 403
    assert renew().json["blockers"] == barred.json["blockers"]
    # A fatal accident needs a death; the bureau's correction (it was a minor injury) lifts it.
    no_death = patch(client, w["supervisor"], aid, {"deaths": 0})
    assert no_death.status_code == 422 and no_death.json["errors"] == {"deaths": ["死亡事故的死亡人数至少为 1"]}
    fixed = patch(client, w["supervisor"], aid, {"severity": "minor", "deaths": 0, "injured": 1})
    assert fixed.status_code == 200
    assert fixed.json["history"][-1]["changes"] == {"severity": ["fatal", "minor"], "injured": [0, 1],
                                                    "deaths": [1, 0]}
    renewed = renew()
    assert (renewed.status_code, renewed.json["state"]) == (200, "achieved")


def test_the_plugins_read_each_enterprises_accidents_with_the_investigations_state(app, w):
    e1, e2 = w["e1"], w["e2"]
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        done = Accident(enterprise_id=e1, occurred_on=dt.date(2024, 3, 2), severity="minor",
                        causes="违章操作", measures="培训", accountability="警告",
                        investigated_on=dt.date(2024, 3, 20))
        no_report = Accident(enterprise_id=e1, occurred_on=dt.date(2024, 5, 6), severity="serious",
                             injured=1, causes="违章操作", measures="培训", accountability="警告")
        no_causes = Accident(enterprise_id=e2, occurred_on=dt.date(2024, 1, 9), severity="minor")
        db.session.add_all([done, no_report, no_causes])
        db.session.flush()
        db.session.add(Evidence(object_key=f"tenants/{w['tenant']}/evidence/report", filename="报告.pdf",
                                content_type="application/pdf", size=10, enterprise_id=e1,
                                accident_id=done.id))
        db.session.add(Evidence(object_key=f"tenants/{w['tenant']}/evidence/photo", filename="现场.png",
                                content_type="image/png", size=10, enterprise_id=e2,
                                accident_id=no_causes.id))
        db.session.commit()
        ids = {"done": done.id, "no_report": no_report.id, "no_causes": no_causes.id}

        seen = PluginContext(None).accidents([e1, e2, 987654])
        assert sorted(seen) == [e1, e2]
        assert [(a.id, a.occurred_on, a.causes, a.report_files, a.investigation_complete) for a in seen[e1]] == [
            (ids["done"], dt.date(2024, 3, 2), "违章操作", 1, True),
            (ids["no_report"], dt.date(2024, 5, 6), "违章操作", 0, False)]
        assert [(a.id, a.severity, a.report_files, a.investigation_complete) for a in seen[e2]] == [
            (ids["no_causes"], "minor", 1, False)]
        with pytest.raises(AttributeError):
            seen[e1][0].causes = "改"  # a view, not the row
        assert PluginContext(None).accidents([]) == {}
