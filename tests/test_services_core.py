"""Third-party safety services, the core (issue 6, "Service organisations (core)" 1-4):
organisations and staff, contracts, service records with evidence and delivered reports,
obligations and the compliance view, spot checks, what a service organisation sees."""

import datetime as dt
import io

import pytest
from stdnum.cn import uscc

from anjian.clock import local_today
from anjian.plugin_api import hookimpl
from tests.conftest import bearer, sql_statements

D = dt.date.fromisoformat
T = "svc"
URL = f"/api/v1/tenants/{T}"


def code(n: int) -> str:
    base = f"91320500MA{n:07d}"
    return base + uscc.calc_check_digit(base)


# A locality plugin of this test only: one rule of each shape the core understands.
RULES = [
    {"key": "setup_plan", "title": "两个月内建立应急预案", "record_kind": "document_setup",
     "topic": "应急预案", "per": "contract", "within_months": 2},
    {"key": "quarterly_inspection", "title": "每季度检查", "record_kind": "inspection",
     "count": 1, "per": "quarter"},
    {"key": "yearly_drills", "title": "每年两次演练", "record_kind": "drill", "count": 2,
     "per": "year"},
    {"key": "calendar_training", "title": "每个自然季度培训", "record_kind": "training",
     "per": "quarter", "align": "calendar"},
    {"key": "year_end_report", "title": "年终报告", "record_kind": "report", "per": "year",
     "in_last_months": 1},
]


class RulesPlugin:
    """Obligations for contracts that name this plugin; 20 working days for spot checks;
    with ``pick_last`` set, the spot check takes the last candidate."""

    pick_last = False

    def __init__(self, rules=None):
        self.rules = RULES if rules is None else rules

    @hookimpl
    def service_obligations(self, contract):
        return [dict(r) for r in self.rules] if contract.plugin == "test_rules" else []

    @hookimpl
    def task_deadline(self, task_kind):
        return 20 if task_kind == "spot_check" else None

    @hookimpl
    def select_spot_check_sample(self, subject, candidates):
        if not self.pick_last:
            return None
        return [(candidates[-1], f"风险最高（{subject}）")]


class World(dict):
    def __getattr__(self, name):
        return self[name]


def problem_of(r, status):
    assert r.status_code == status, (r.status_code, r.json)
    assert r.headers["Content-Type"] == "application/problem+json"
    return r.json


def fields_of(r, status=422) -> set:
    """The fields a problem names: a rule's own, or the request schema's (under "json")."""
    errors = problem_of(r, status).get("errors") or {}
    return set(errors) | set(errors.get("json") or {}) | set(errors.get("query") or {})


def set_enterprise(app, tenant_id, user_id, enterprise_id):
    from sqlalchemy import select

    from anjian.auth.models import Membership
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        member = db.session.scalar(select(Membership).where(Membership.user_id == user_id))
        member.enterprise_id = enterprise_id
        db.session.commit()


@pytest.fixture
def w(app, client, factory):
    app.extensions["anjian.plugins"].register("test_rules", RulesPlugin())
    tenant = factory.tenant(T, plugins=["test_rules"])
    other = factory.tenant("svc-other")
    world = World(tenant=tenant, other=other)
    for name, role in [("admin", "tenant_admin"), ("supervisor", "supervisor"),
                       ("viewer", "viewer"), ("staff1", "service_org"), ("staff2", "service_org"),
                       ("loose", "service_org"), ("ent", "enterprise")]:
        world[f"{name}_id"], token = factory.user(f"svc-{name}", {tenant: role})
        world[name] = bearer(token)
    world["other_admin_id"], token = factory.user("svc-other-admin", {other: "tenant_admin"})
    world["other_admin"] = bearer(token)
    world["ents"] = []
    for n, (name, scale) in enumerate([("常熟甲厂", "above"), ("常熟乙厂", "below"),
                                       ("常熟丙厂", "micro"), ("常熟丁厂", "below")], start=1):
        r = client.post(f"{URL}/enterprises", headers=world["admin"],
                        json={"credit_code": code(n), "name": name, "scale": scale})
        assert r.status_code == 201, r.json
        world["ents"].append(r.json["id"])
    r = client.post("/api/v1/tenants/svc-other/enterprises", headers=world["other_admin"],
                    json={"credit_code": code(99), "name": "外单位企业"})
    world["foreign_ent"] = r.json["id"]
    set_enterprise(app, tenant, world["ent_id"], world["ents"][0])
    orgs = []
    for name in ("苏安安全技术服务有限公司", "江南安全咨询有限公司"):
        r = client.post(f"{URL}/service-organisations", headers=world["admin"],
                        json={"name": name, "contact_name": "王工", "contact_phone": "0512-1234567"})
        assert r.status_code == 201, r.json
        orgs.append(r.json["id"])
    world["org1"], world["org2"] = orgs
    for org, staff in ((orgs[0], "staff1_id"), (orgs[1], "staff2_id")):
        r = client.post(f"{URL}/service-organisations/{org}/staff", headers=world["admin"],
                        json={"user_id": world[staff]})
        assert r.status_code == 201, r.json
    # Org 1 serves the first three enterprises, org 2 the fourth.
    world["c1"] = contract(client, world, orgs[0], world["ents"][:3])["id"]
    world["c2"] = contract(client, world, orgs[1], world["ents"][3:])["id"]
    return world


def contract(client, w, org, enterprises, **body):
    body = {"organisation_id": org, "title": "安全生产社会化服务合同", "starts_on": "2025-01-01",
            "ends_on": "2026-12-31", "price_per_enterprise": "3000", "plugin": "test_rules",
            "service_kinds": ["technical", "training"], "enterprise_ids": enterprises, **body}
    r = client.post(f"{URL}/service-contracts", headers=w.admin, json=body)
    assert r.status_code == 201, r.json
    return r.json


def record(client, w, who="staff1", **body):
    body = {"contract_id": w.c1, "enterprise_id": w.ents[0], "kind": "inspection",
            "done_on": "2025-02-10", **body}
    return client.post(f"{URL}/service-records", headers=w[who], json=body)


def add_records(app, tenant_id, contract_id, rows):
    """Service records written directly (dates in the past or the future of the test)."""
    from anjian.extensions import db
    from anjian.services.models import ServiceRecord
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        for enterprise_id, kind, day, *topic in rows:
            db.session.add(ServiceRecord(contract_id=contract_id, enterprise_id=enterprise_id,
                                         kind=kind, done_on=D(day), topic=topic[0] if topic else ""))
        db.session.commit()


# --- organisations and staff ------------------------------------------------------------------

def test_organisations_are_managed_by_the_tenant_admin(client, w):
    url = f"{URL}/service-organisations"
    r = client.post(url, headers=w.admin, json={"name": " 苏安安全技术服务有限公司 "})
    assert "name" in fields_of(r, 409)
    problem_of(client.post(url, headers=w.supervisor, json={"name": "新机构"}), 403)
    assert "name" in fields_of(client.post(url, headers=w.admin, json={}), 422)
    assert "credit_code" in fields_of(client.post(url, headers=w.admin, json={
        "name": "新机构", "credit_code": "91320500MA0000001X"}), 422)
    r = client.post(url, headers=w.admin, json={"name": "新机构", "credit_code": code(77).lower()})
    assert r.status_code == 201 and r.json["credit_code"] == code(77)
    listed = client.get(url, headers=w.viewer).json
    assert {o["name"] for o in listed["items"]} == {"江南安全咨询有限公司", "苏安安全技术服务有限公司",
                                                "新机构"}
    got = client.get(f"{url}/{w.org1}", headers=w.viewer)
    assert got.status_code == 200 and got.json["contact_phone"] == "0512-1234567"
    # Updates need If-Match; a stale one is refused.
    problem_of(client.patch(f"{url}/{w.org1}", headers=w.admin, json={"contact_name": "李工"}), 428)
    r = client.patch(f"{url}/{w.org1}", headers={**w.admin, "If-Match": got.headers["ETag"]},
                     json={"contact_name": "李工"})
    assert r.status_code == 200 and r.json["contact_name"] == "李工"
    problem_of(client.patch(f"{url}/{w.org1}", headers={**w.admin, "If-Match": got.headers["ETag"]},
                            json={"contact_name": "张工"}), 412)
    # An organisation that has a contract is kept (deactivated), an unused one may go.
    etag = client.get(f"{url}/{w.org1}", headers=w.admin).headers["ETag"]
    problem_of(client.delete(f"{url}/{w.org1}", headers={**w.admin, "If-Match": etag}), 409)
    spare = client.post(url, headers=w.admin, json={"name": "备用机构"}).json["id"]
    etag = client.get(f"{url}/{spare}", headers=w.admin).headers["ETag"]
    assert client.delete(f"{url}/{spare}", headers={**w.admin, "If-Match": etag}).status_code == 204
    problem_of(client.get(f"{url}/{spare}", headers=w.admin), 404)
    # A deactivated organisation gets no new contract.
    etag = client.get(f"{url}/{w.org2}", headers=w.admin).headers["ETag"]
    client.patch(f"{url}/{w.org2}", headers={**w.admin, "If-Match": etag}, json={"is_active": False})
    r = client.post(f"{URL}/service-contracts", headers=w.admin, json={
        "organisation_id": w.org2, "title": "x", "starts_on": "2025-01-01", "ends_on": "2025-12-31"})
    assert "organisation_id" in fields_of(r, 422)


def test_staff_are_service_org_members_of_the_tenant_in_one_organisation(client, w, factory):
    url = f"{URL}/service-organisations/{w.org1}/staff"
    # Not a service organisation's member of this tenant: a supervisor, a stranger, nobody.
    stranger, _ = factory.user("svc-stranger", {w.other: "service_org"})
    for user_id in (w.supervisor_id, stranger, 987654):
        r = client.post(url, headers=w.admin, json={"user_id": user_id})
        assert "user_id" in fields_of(r, 422)
    # One organisation at a time; adding again is harmless.
    assert "user_id" in fields_of(client.post(url, headers=w.admin,
                                               json={"user_id": w.staff2_id}), 409)
    again = client.post(url, headers=w.admin, json={"user_id": w.staff1_id})
    assert again.status_code == 201 and again.json["username"] == "svc-staff1"
    r = client.post(url, headers=w.admin, json={"user_id": w.loose_id})
    assert r.status_code == 201
    staff = client.get(url, headers=w.viewer).json["items"]
    assert [s["username"] for s in staff] == ["svc-loose", "svc-staff1"]
    # Staff see their own organisation only.
    assert [o["id"] for o in client.get(f"{URL}/service-organisations",
                                        headers=w.staff1).json["items"]] == [w.org1]
    problem_of(client.get(f"{URL}/service-organisations/{w.org2}", headers=w.staff1), 404)
    problem_of(client.get(f"{URL}/service-organisations/{w.org2}/staff", headers=w.staff1), 404)
    # Removed staff stop seeing the contracted enterprises at their next request.
    assert client.get(f"{URL}/enterprises/{w.ents[0]}", headers=w.loose).status_code == 200
    assert client.delete(f"{url}/{w.loose_id}", headers=w.admin).status_code == 204
    problem_of(client.get(f"{URL}/enterprises/{w.ents[0]}", headers=w.loose), 404)
    problem_of(client.delete(f"{url}/{w.loose_id}", headers=w.admin), 404)


# --- contracts --------------------------------------------------------------------------------

def test_contract_validation(client, w):
    base = {"organisation_id": w.org1, "title": "合同", "starts_on": "2025-01-01",
            "ends_on": "2025-12-31"}
    cases = [
        ({"ends_on": "2024-12-31"}, "ends_on"),
        ({"enterprise_ids": [w.ents[0], w.foreign_ent]}, "enterprise_ids"),
        ({"organisation_id": 987654}, "organisation_id"),
        ({"service_kinds": ["catering"]}, "service_kinds"),
        ({"plugin": "anjian_jinbei"}, "plugin"),  # not enabled by this tenant
        ({"price_per_enterprise": "-1"}, "price_per_enterprise"),
        ({"campaign_id": 987654}, "campaign_id"),
    ]
    for change, field in cases:
        r = client.post(f"{URL}/service-contracts", headers=w.admin, json={**base, **change})
        assert field in fields_of(r, 422), change
    # The one plugin of the tenant decides by default.
    r = client.post(f"{URL}/service-contracts", headers=w.admin, json=base)
    assert r.status_code == 201 and r.json["plugin"] == "test_rules"
    assert r.json["status"] == "active" and r.json["price_per_enterprise"] is None
    got = client.get(f"{URL}/service-contracts/{w.c1}", headers=w.viewer).json
    assert got["price_per_enterprise"] == "3000.00"
    assert got["service_kind_labels"] == ["技术服务", "教育培训服务"]
    problem_of(client.post(f"{URL}/service-contracts", headers=w.supervisor, json=base), 403)


def test_contract_update_needs_if_match_and_an_ended_contract_is_read_only(client, w):
    url = f"{URL}/service-contracts/{w.c1}"
    problem_of(client.patch(url, headers=w.admin, json={"title": "改"}), 428)
    etag = client.get(url, headers=w.admin).headers["ETag"]
    r = client.patch(url, headers={**w.admin, "If-Match": etag},
                     json={"title": "2025-2026年度服务合同", "ends_on": "2027-06-30"})
    assert r.status_code == 200 and r.json["ends_on"] == "2027-06-30"
    problem_of(client.patch(url, headers={**w.admin, "If-Match": etag}, json={"title": "旧"}), 412)
    etag = r.headers["ETag"]
    bad = client.patch(url, headers={**w.admin, "If-Match": etag}, json={"starts_on": "2028-01-01"})
    assert "ends_on" in fields_of(bad, 422)
    r = client.patch(url, headers={**w.admin, "If-Match": etag}, json={"status": "ended"})
    assert r.status_code == 200 and r.json["status_label"] == "已结束"
    problem_of(client.patch(url, headers={**w.admin, "If-Match": r.headers["ETag"]},
                            json={"title": "再改"}), 409)
    problem_of(client.post(f"{url}/revoke", headers=w.admin, json={}), 409)
    # An ended contract no longer opens its enterprises to the organisation.
    problem_of(client.get(f"{URL}/enterprises/{w.ents[0]}", headers=w.staff1), 404)


def test_contracts_listed_with_filters_and_staff_read_only_their_own(client, w):
    listed = client.get(f"{URL}/service-contracts", headers=w.viewer).json
    assert {c["id"] for c in listed["items"]} == {w.c1, w.c2} and listed["total"] == 2
    by_ent = client.get(f"{URL}/service-contracts?enterprise_id={w.ents[3]}", headers=w.viewer)
    assert [c["id"] for c in by_ent.json["items"]] == [w.c2]
    by_org = client.get(f"{URL}/service-contracts?organisation_id={w.org1}", headers=w.admin)
    assert [c["id"] for c in by_org.json["items"]] == [w.c1]
    mine = client.get(f"{URL}/service-contracts", headers=w.staff1).json["items"]
    assert [c["id"] for c in mine] == [w.c1]
    problem_of(client.get(f"{URL}/service-contracts/{w.c2}", headers=w.staff1), 404)
    problem_of(client.get(f"{URL}/service-contracts/{w.c2}/enterprises", headers=w.staff1), 404)
    problem_of(client.get(f"{URL}/service-contracts/{w.c2}/compliance", headers=w.staff1), 404)
    # Staff write nothing on contracts; enterprise users do not read them.
    problem_of(client.post(f"{URL}/service-contracts/{w.c1}/revoke", headers=w.staff1, json={}), 403)
    problem_of(client.get(f"{URL}/service-contracts", headers=w.ent), 403)
    # A service organisation's user who works for none sees none.
    assert client.get(f"{URL}/service-contracts", headers=w.loose).json["items"] == []


def test_contract_enterprises_added_and_removed(client, w):
    url = f"{URL}/service-contracts/{w.c1}/enterprises"
    rows = client.get(url, headers=w.viewer).json["items"]
    assert {r["enterprise_name"]: r["scale_label"] for r in rows} == {
        "常熟甲厂": "规上", "常熟乙厂": "规下", "常熟丙厂": "小微"}
    r = client.post(url, headers=w.admin, json={"enterprise_ids": [w.ents[0], w.ents[3]],
                                                "joined_on": "2025-04-01"})
    assert r.json == {"added": 1, "rejoined": 0, "already": 1}
    r = client.post(url, headers=w.admin, json={"enterprise_ids": [w.foreign_ent]})
    assert "enterprise_ids" in fields_of(r, 422)
    r = client.post(url, headers=w.admin, json={"enterprise_ids": [w.ents[3]],
                                                "joined_on": "2030-01-01"})
    assert "joined_on" in fields_of(r, 422)
    assert client.get(f"{URL}/enterprises/{w.ents[3]}", headers=w.staff1).status_code == 200
    assert client.delete(f"{url}/{w.ents[3]}", headers=w.admin).status_code == 204
    # The organisation stops seeing it at once; the row stays with its dates.
    problem_of(client.get(f"{URL}/enterprises/{w.ents[3]}", headers=w.staff1), 404)
    left = client.get(f"{url}?current=false", headers=w.admin).json["items"]
    assert [(r["enterprise_id"], r["joined_on"]) for r in left] == [(w.ents[3], "2025-04-01")]
    assert left[0]["left_on"] is not None
    problem_of(client.delete(f"{url}/{w.foreign_ent}", headers=w.admin), 404)
    r = client.post(url, headers=w.admin, json={"enterprise_ids": [w.ents[3]]})
    assert r.json == {"added": 0, "rejoined": 1, "already": 0}
    assert client.get(f"{URL}/enterprises/{w.ents[3]}", headers=w.staff1).status_code == 200


# --- what a service organisation sees ---------------------------------------------------------

def test_a_service_organisation_sees_only_its_contracted_enterprises(client, w):
    listed = client.get(f"{URL}/enterprises", headers=w.staff1).json["items"]
    assert sorted(e["id"] for e in listed) == sorted(w.ents[:3])
    assert [e["id"] for e in client.get(f"{URL}/enterprises", headers=w.staff2).json["items"]] \
        == [w.ents[3]]
    problem_of(client.get(f"{URL}/enterprises/{w.ents[3]}", headers=w.staff1), 404)
    problem_of(client.get(f"/api/v1/tenants/svc-other/enterprises/{w.foreign_ent}",
                          headers=w.staff1), 404)
    # Hazards: the supervisor reports one at a served and one at an unserved enterprise.
    ids = {}
    for ent in (w.ents[0], w.ents[3]):
        r = client.post(f"{URL}/hazards", headers=w.supervisor,
                        json={"enterprise_id": ent, "title": "配电箱未接地"})
        assert r.status_code == 201, r.json
        ids[ent] = r.json["id"]
    seen = client.get(f"{URL}/hazards", headers=w.staff1).json["items"]
    assert [h["id"] for h in seen] == [ids[w.ents[0]]]
    assert client.get(f"{URL}/hazards/{ids[w.ents[0]]}", headers=w.staff1).status_code == 200
    problem_of(client.get(f"{URL}/hazards/{ids[w.ents[3]]}", headers=w.staff1), 404)
    r = client.post(f"{URL}/hazards", headers=w.staff1,
                    json={"enterprise_id": w.ents[3], "title": "消防通道堵塞"})
    problem_of(r, 404)
    # Service records: each organisation its own.
    assert record(client, w).status_code == 201
    assert record(client, w, "staff2", contract_id=w.c2, enterprise_id=w.ents[3]).status_code == 201
    mine = client.get(f"{URL}/service-records", headers=w.staff1).json["items"]
    assert [(r["contract_id"], r["enterprise_id"]) for r in mine] == [(w.c1, w.ents[0])]
    theirs = client.get(f"{URL}/service-records", headers=w.staff2).json["items"]
    problem_of(client.get(f"{URL}/service-records/{theirs[0]['id']}", headers=w.staff1), 404)
    assert len(client.get(f"{URL}/service-records", headers=w.viewer).json["items"]) == 2


def test_service_organisation_denied_an_enterprise_outside_its_contract(client, w):
    r = record(client, w, enterprise_id=w.ents[3])
    assert "enterprise_id" in fields_of(r, 404)
    r = record(client, w, contract_id=w.c2, enterprise_id=w.ents[3])  # another's contract
    assert "contract_id" in fields_of(r, 404)
    r = record(client, w, enterprise_id=w.foreign_ent)
    missing = record(client, w, enterprise_id=987654)
    assert problem_of(r, 404) == {**problem_of(missing, 404),
                                  "request_id": r.json.get("request_id")}
    problem_of(record(client, w, "loose"), 404)  # works for no organisation


def test_revoking_a_contract_takes_effect_on_the_next_request(client, w):
    assert client.get(f"{URL}/enterprises/{w.ents[0]}", headers=w.staff1).status_code == 200
    assert record(client, w).status_code == 201
    r = client.post(f"{URL}/service-contracts/{w.c1}/revoke", headers=w.admin, json={})
    assert r.status_code == 200 and r.json["status"] == "revoked" and r.json["revoked_at"]
    problem_of(client.get(f"{URL}/enterprises/{w.ents[0]}", headers=w.staff1), 404)
    assert client.get(f"{URL}/enterprises", headers=w.staff1).json["items"] == []
    assert client.get(f"{URL}/service-records", headers=w.staff1).json["items"] == []
    problem_of(record(client, w), 409)
    # The bureau keeps the records; revoking again changes nothing.
    assert len(client.get(f"{URL}/service-records?contract_id={w.c1}",
                          headers=w.admin).json["items"]) == 1
    again = client.post(f"{URL}/service-contracts/{w.c1}/revoke", headers=w.admin, json={})
    assert again.json["revoked_at"] == r.json["revoked_at"]


# --- service records --------------------------------------------------------------------------

def _png():
    return io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)


def upload(client, headers, enterprise_id):
    r = client.post(f"{URL}/evidence", headers=headers, content_type="multipart/form-data",
                    data={"file": (_png(), "培训签到.png"), "enterprise_id": str(enterprise_id)})
    assert r.status_code == 201, r.json
    return r.json["id"]


def test_records_validated_and_evidence_attached(client, w):
    cases = [({"kind": "visit"}, "kind"), ({"done_on": "2024-12-31"}, "done_on"),
             ({"done_on": (local_today() + dt.timedelta(days=3)).isoformat()}, "done_on"),
             ({"kind": "report"}, "report_id"), ({"inspection_id": 987654}, "inspection_id"),
             ({"report_id": 987654}, "report_id")]
    for change, field in cases:
        assert field in fields_of(record(client, w, **change), 422), change
    photo = upload(client, w.staff1, w.ents[0])
    r = record(client, w, kind="training", topic="全员安全培训", note="32人参加",
               evidence_ids=[photo], staff_user_id=w.supervisor_id)
    assert r.status_code == 201, r.json
    assert r.json["staff_user_id"] == w.staff1_id  # the caller, whatever the body says
    assert r.json["kind_label"] == "培训"
    assert [e["id"] for e in r.json["evidence"]] == [photo]
    got = client.get(f"{URL}/service-records/{r.json['id']}", headers=w.viewer).json
    assert got["evidence"][0]["filename"] == "培训签到.png"
    # A file used once is not used again; another enterprise's file is refused.
    assert "evidence_ids" in fields_of(record(client, w, evidence_ids=[photo]), 409)
    other = upload(client, w.staff1, w.ents[1])
    assert "evidence_ids" in fields_of(record(client, w, evidence_ids=[other]), 422)
    # The bureau's admin may enter a record for the organisation's staff (from paper).
    r = record(client, w, "admin", kind="drill", done_on="2025-03-01", staff_user_id=w.staff1_id)
    assert r.status_code == 201 and r.json["staff_user_id"] == w.staff1_id
    bad = record(client, w, "admin", staff_user_id=w.staff2_id)
    assert "staff_user_id" in fields_of(bad, 422)
    problem_of(record(client, w, "supervisor"), 403)
    # Filters.
    listed = client.get(f"{URL}/service-records?kind=drill&kind=training&sort=done_on",
                        headers=w.viewer).json["items"]
    assert [x["kind"] for x in listed] == ["training", "drill"]
    listed = client.get(f"{URL}/service-records?done_from=2025-02-15", headers=w.viewer).json
    assert [x["done_on"] for x in listed["items"]] == ["2025-03-01"]
    assert client.get(f"{URL}/service-records?organisation_id={w.org2}",
                      headers=w.viewer).json["total"] == 0


def test_a_delivered_report_is_kept_and_read_by_the_served_enterprise(app, client, w):
    from anjian.extensions import db
    from anjian.reports.models import Report
    from anjian.tenancy.scope import Scope, scoped

    def report(tenant_id, by, status="ready"):
        with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
            row = Report(kind="service_report", title="年度服务报告", format="pdf", status=status,
                         requested_by=by, object_key=f"tenants/{tenant_id}/reports/x")
            db.session.add(row)
            db.session.commit()
            return row.id

    ready = report(w.tenant, w.staff1_id)
    r = record(client, w, kind="report", topic="年度工作报告", report_id=ready)
    assert r.status_code == 201 and r.json["report_id"] == ready
    for bad in (report(w.other, w.staff1_id), report(w.tenant, w.staff1_id, "running"),
                report(w.tenant, w.staff2_id)):  # foreign, unfinished, another organisation's
        assert "report_id" in fields_of(record(client, w, kind="report", report_id=bad))
    # An uploaded file is a report too.
    pdf_file = upload(client, w.staff1, w.ents[1])
    r2 = record(client, w, kind="report", enterprise_id=w.ents[1], evidence_ids=[pdf_file])
    assert r2.status_code == 201
    # The served enterprise reads the records of its own enterprise only.
    seen = client.get(f"{URL}/service-records", headers=w.ent).json["items"]
    assert [x["id"] for x in seen] == [r.json["id"]]
    assert client.get(f"{URL}/service-records/{r.json['id']}", headers=w.ent).status_code == 200
    problem_of(client.get(f"{URL}/service-records/{r2.json['id']}", headers=w.ent), 404)


# --- obligations and compliance ---------------------------------------------------------------

def test_months_are_counted_the_same_way_forwards_and_backwards():
    from anjian.services.contracts import month_index, month_start

    for anchor in (D("2025-01-31"), D("2024-02-29"), D("2025-03-30"), D("2025-01-01")):
        for k in range(0, 30):
            start = month_start(anchor, k)
            assert month_index(anchor, start) == k
            assert month_index(anchor, start - dt.timedelta(days=1)) == k - 1
    assert month_start(D("2025-01-31"), 1) == D("2025-03-01")
    assert month_start(D("2025-01-15"), 3) == D("2025-04-15")


def compliance(client, w, as_of, contract_id=None, who="admin", **query):
    r = client.get(f"{URL}/service-contracts/{contract_id or w.c1}/compliance",
                   headers=w[who], query_string={"as_of": as_of, **query})
    assert r.status_code == 200, r.json
    return r.json


def states(view, enterprise_id, key):
    entry = next(e for e in view["enterprises"] if e["enterprise_id"] == enterprise_id)
    return [(i["period_start"], i["period_end"], i["done"], i["status"])
            for i in entry["items"] if i["key"] == key]


def test_compliance_met_due_and_missed_across_quarter_and_year_boundaries(app, client, w):
    e1, e2 = w.ents[0], w.ents[1]
    add_records(app, w.tenant, w.c1, [
        (e1, "document_setup", "2025-02-28", "应急预案"),   # within the two months
        (e2, "document_setup", "2025-03-01", "应急预案"),   # a day late
        (e1, "inspection", "2025-03-31"),                   # last day of quarter 1
        (e1, "inspection", "2025-07-01"),                   # first day of quarter 3
        (e1, "drill", "2025-06-01"), (e1, "drill", "2025-12-31"),
        (e1, "drill", "2026-01-01"),                        # year 2
        (e1, "training", "2025-02-01"),
        (e1, "report", "2025-11-30"), (e1, "report", "2025-12-15"),
        (e2, "inspection", "2025-01-01"),
        (e2, "drill", "2025-06-01"),
    ])
    view = compliance(client, w, "2025-03-31")
    assert view["obligations"][0]["key"] == "setup_plan"
    assert states(view, e1, "setup_plan") == [("2025-01-01", "2025-02-28", 1, "met")]
    assert states(view, e2, "setup_plan") == [("2025-01-01", "2025-02-28", 0, "missed")]
    assert states(view, e1, "quarterly_inspection") == [("2025-01-01", "2025-03-31", 1, "met")]
    assert states(view, w.ents[2], "quarterly_inspection") == [
        ("2025-01-01", "2025-03-31", 0, "due")]
    # Quarter 2 passes without an inspection: missed the day after it ends, not before.
    assert states(compliance(client, w, "2025-06-30"), e1, "quarterly_inspection")[1][3] == "due"
    view = compliance(client, w, "2025-07-01")
    assert [s[3] for s in states(view, e1, "quarterly_inspection")] == ["met", "missed", "met"]
    assert [s[3] for s in states(view, e2, "quarterly_inspection")] == ["met", "missed", "due"]
    # Drills: two in the first year (31 Dec counts in year 1, 1 Jan in year 2).
    assert states(compliance(client, w, "2025-12-30"), e1, "yearly_drills") == [
        ("2025-01-01", "2025-12-31", 1, "due")]
    view = compliance(client, w, "2026-01-01")
    assert states(view, e1, "yearly_drills") == [("2025-01-01", "2025-12-31", 2, "met"),
                                                 ("2026-01-01", "2026-12-31", 1, "due")]
    assert states(view, e2, "yearly_drills")[0] == ("2025-01-01", "2025-12-31", 1, "missed")
    # as_of is a view of the past: a record after it does not count yet.
    assert states(compliance(client, w, "2025-12-30"), e1, "yearly_drills")[0][2] == 1
    # The year-end report counts only in the year's last month.
    assert states(view, e1, "year_end_report")[0] == ("2025-01-01", "2025-12-31", 1, "met")
    assert states(view, e2, "year_end_report")[0][3] == "missed"
    # By hand: setup met; quarters met, missed, met, missed, due; drills met, due; calendar
    # training met, missed, missed, missed, due; year-end report met, due.
    summary = next(e for e in view["enterprises"] if e["enterprise_id"] == e1)["summary"]
    assert summary == {"met": 6, "due": 4, "missed": 5}
    assert view["summary"]["missed"] == sum(e["summary"]["missed"] for e in view["enterprises"])
    # Per enterprise, misses only.
    one = compliance(client, w, "2026-01-01", enterprise_id=e2, status="missed")
    assert [e["enterprise_id"] for e in one["enterprises"]] == [e2]
    assert {i["status"] for i in one["enterprises"][0]["items"]} == {"missed"}
    problem_of(client.get(f"{URL}/service-contracts/{w.c1}/compliance?enterprise_id={w.ents[3]}",
                          headers=w.admin), 404)


def test_calendar_periods_and_a_late_joiner(app, client, w):
    # The contract starts mid-quarter; training follows calendar quarters, inspections the
    # enterprise's own quarters (from the day it joined).
    c = contract(client, w, w.org1, [w.ents[0]], starts_on="2025-02-15", ends_on="2025-12-31")
    client.post(f"{URL}/service-contracts/{c['id']}/enterprises", headers=w.admin,
                json={"enterprise_ids": [w.ents[1]], "joined_on": "2025-05-31"})
    add_records(app, w.tenant, c["id"], [
        (w.ents[0], "training", "2025-03-31"), (w.ents[0], "training", "2025-04-01"),
        (w.ents[1], "inspection", "2025-08-30"), (w.ents[1], "inspection", "2025-05-30"),
    ])
    view = compliance(client, w, "2026-01-05", c["id"])
    assert states(view, w.ents[0], "calendar_training") == [
        ("2025-02-15", "2025-03-31", 1, "met"), ("2025-04-01", "2025-06-30", 1, "met"),
        ("2025-07-01", "2025-09-30", 0, "missed"), ("2025-10-01", "2025-12-31", 0, "missed")]
    # Joined 31 May: its quarters run 31 May - 30 Aug (month ends clamp), then from 31 Aug;
    # the record of 30 May came before it joined and does not count.
    late = states(view, w.ents[1], "quarterly_inspection")
    assert late[:2] == [("2025-05-31", "2025-08-30", 1, "met"),
                        ("2025-08-31", "2025-11-30", 0, "missed")]
    assert late[2] == ("2025-12-01", "2025-12-31", 0, "missed")  # cut at the contract's end
    assert states(view, w.ents[1], "setup_plan") == [("2025-05-31", "2025-07-30", 0, "missed")]


def test_compliance_counts_are_one_aggregate_statement(app, client, w):

    from anjian.extensions import db

    add_records(app, w.tenant, w.c1, [(e, "inspection", f"2025-0{m}-10")
                                      for e in w.ents[:3] for m in range(1, 10)])
    with app.app_context():
        engine = db.engine
    with sql_statements(engine) as statements:
        view = compliance(client, w, "2025-12-31")
    grouped = [s for s in statements if "service_records" in s and "GROUP BY" in s]
    assert len(grouped) == 1 and "count(" in grouped[0].lower()
    assert [s[3] for s in states(view, w.ents[2], "quarterly_inspection")] == [
        "met", "met", "met", "due"]  # the fourth quarter ends on as_of: not over yet


def test_a_broken_plugin_rule_is_a_500_naming_it(app, client, w):
    registry = app.extensions["anjian.plugins"]
    registry.plugins["test_rules"].rules = [{"key": "bad", "title": "x", "record_kind": "visit"}]
    r = client.get(f"{URL}/service-contracts/{w.c1}/compliance", headers=w.admin)
    assert r.status_code == 500 and "bad" in r.json["detail"]
    registry.plugins["test_rules"].rules = [{"key": "a", "title": "x", "record_kind": "drill",
                                             "per": "year", "within_months": 3}]
    r = client.get(f"{URL}/service-contracts/{w.c1}/compliance", headers=w.admin)
    assert r.status_code == 500 and "within_months" in r.json["detail"]


def test_a_contract_of_no_plugin_owes_nothing_and_has_no_cost_rule(client, w, factory):
    plain = factory.tenant("plain")
    _, token = factory.user("plain-admin", {plain: "tenant_admin"})
    admin = bearer(token)
    base = "/api/v1/tenants/plain"
    org = client.post(f"{base}/service-organisations", headers=admin, json={"name": "机构"}).json
    ent = client.post(f"{base}/enterprises", headers=admin,
                      json={"credit_code": code(50), "name": "某厂"}).json
    c = client.post(f"{base}/service-contracts", headers=admin, json={
        "organisation_id": org["id"], "title": "合同", "starts_on": "2025-01-01",
        "ends_on": "2025-12-31", "price_per_enterprise": 1000, "enterprise_ids": [ent["id"]]}).json
    assert c["plugin"] is None
    view = client.get(f"{base}/service-contracts/{c['id']}/compliance?as_of=2025-12-31",
                      headers=admin).json
    assert view["obligations"] == [] and view["enterprises"][0]["items"] == []
    costs = client.get(f"{base}/service-contracts/{c['id']}/costs", headers=admin).json
    assert costs["has_rule"] is False
    assert costs["rows"][0]["government"] is None and costs["totals"]["price"] == "1000.00"
    problem_of(client.get(f"{base}/service-contracts/{c['id']}/costs?year=2", headers=admin), 422)


# --- spot checks ------------------------------------------------------------------------------

def test_sample_size_is_exact():
    from anjian.services.spot_checks import sample_size

    assert sample_size(0.7, 10) == 7  # not 8: 0.7 * 10 is 7.000000000000001 in floats
    assert sample_size("0.2", 10) == 2
    assert sample_size("0.01", 10) == 1  # at least one
    assert sample_size("0.34", 3) == 2
    assert sample_size(1, 4) == 4


def test_a_spot_check_sample_is_reproducible_from_its_recorded_seed(app, client, w):
    from anjian.services.spot_checks import uniform_sample

    c = contract(client, w, w.org1, w.ents, title="十家企业")
    more = []
    for n in range(10, 16):
        r = client.post(f"{URL}/enterprises", headers=w.admin,
                        json={"credit_code": code(n), "name": f"抽查企业{n}"})
        more.append(r.json["id"])
    client.post(f"{URL}/service-contracts/{c['id']}/enterprises", headers=w.admin,
                json={"enterprise_ids": more})
    url = f"{URL}/service-contracts/{c['id']}/spot-checks"
    r = client.post(url, headers=w.supervisor, json={"ratio": 0.3})
    assert r.status_code == 201, r.json
    sample = r.json
    population = sorted(w.ents + more)
    assert sample["population"] == population and sample["size"] == 3
    assert len(sample["seed"]) == 16 and sample["ratio"] == "0.3000"
    picked = [i["enterprise_id"] for i in sample["items"]]
    assert picked == uniform_sample(population, "0.3", sample["seed"])
    assert {i["reason"] for i in sample["items"]} == {"随机抽取"}
    # The recorded seed draws the same sample again; another seed (almost surely) not.
    again = client.post(url, headers=w.supervisor, json={"ratio": 0.3, "seed": sample["seed"]})
    assert [i["enterprise_id"] for i in again.json["items"]] == picked
    got = client.get(f"{url}/{sample['id']}", headers=w.viewer).json
    assert got["seed"] == sample["seed"] and [i["enterprise_id"] for i in got["items"]] == picked
    draws = {tuple(uniform_sample(population, "0.3", f"seed-{n}")) for n in range(20)}
    assert len(draws) > 1
    assert client.get(url, headers=w.viewer).json["total"] == 2
    # Spot checks are the bureau's: not the organisation's.
    problem_of(client.get(url, headers=w.staff1), 403)
    problem_of(client.post(url, headers=w.viewer, json={"ratio": 0.3}), 403)
    problem_of(client.post(url, headers=w.supervisor, json={"ratio": 0}), 422)
    problem_of(client.post(url, headers=w.supervisor, json={"ratio": 1.5}), 422)


def test_spot_check_due_twenty_working_days_later_across_national_day(client, w):
    url = f"{URL}/service-contracts/{w.c1}/spot-checks"
    # Drawn Monday 28 Sep 2026: 29, 30 Sep (2); 1-7 Oct off; 8, 9 Oct (4); Saturday 10 Oct
    # is a make-up working day (5); 12-16 Oct (10); 19-23 Oct (15); 26-30 Oct (20).
    r = client.post(url, headers=w.supervisor,
                    json={"ratio": 0.5, "deadline_start": "2026-09-28", "deadline_workdays": 20})
    assert r.status_code == 201, r.json
    assert (r.json["deadline_start"], r.json["deadline_workdays"]) == ("2026-09-28", 20)
    assert (r.json["deadline"], r.json["deadline_provisional"]) == ("2026-10-30", False)
    # Without a number of days, the plugin's task_deadline for spot_check decides (20 here).
    r = client.post(url, headers=w.supervisor, json={"ratio": 0.5, "deadline_start": "2026-09-28"})
    assert r.json["deadline"] == "2026-10-30"


def test_findings_recorded_per_enterprise(client, w):
    url = f"{URL}/service-contracts/{w.c1}/spot-checks"
    sample = client.post(url, headers=w.supervisor, json={"ratio": 1, "seed": "fixed"}).json
    assert sample["summary"] == {"satisfactory": 0, "deficient": 0, "false": 0, "unchecked": 3}
    item = f"{url}/{sample['id']}/items"
    r = client.patch(f"{item}/{w.ents[1]}", headers=w.supervisor,
                     json={"finding": "deficient", "note": "应急预案未结合企业实际"})
    assert r.status_code == 200, r.json
    assert (r.json["finding_label"], r.json["checked_by"]) == ("服务不到位", w.supervisor_id)
    client.patch(f"{item}/{w.ents[0]}", headers=w.admin, json={"finding": "satisfactory"})
    got = client.get(f"{url}/{sample['id']}", headers=w.viewer).json
    assert got["summary"] == {"satisfactory": 1, "deficient": 1, "false": 0, "unchecked": 1}
    assert "finding" in fields_of(client.patch(f"{item}/{w.ents[0]}", headers=w.admin,
                                                json={"finding": "great"}), 422)
    problem_of(client.patch(f"{item}/{w.ents[3]}", headers=w.admin, json={"finding": None}), 404)
    problem_of(client.patch(f"{item}/{w.ents[0]}", headers=w.viewer,
                            json={"finding": "false"}), 403)
    # A sample of another contract is not reachable through this one.
    problem_of(client.get(f"{URL}/service-contracts/{w.c2}/spot-checks/{sample['id']}",
                          headers=w.admin), 404)


def test_a_page_of_samples_reads_its_spot_checks_in_one_statement(app, client, w):

    from anjian.extensions import db

    url = f"{URL}/service-contracts/{w.c1}/spot-checks"
    drawn = [client.post(url, headers=w.supervisor, json={"ratio": 1, "seed": f"s{n}"}).json
             for n in range(3)]
    with app.app_context():
        engine = db.engine
    with sql_statements(engine) as statements:
        page = client.get(url, headers=w.viewer).json
    assert [s["id"] for s in page["items"]] == [s["id"] for s in reversed(drawn)]
    assert [len(s["items"]) for s in page["items"]] == [3, 3, 3]
    assert all(s["summary"]["unchecked"] == 3 for s in page["items"])
    assert len([s for s in statements if "FROM spot_checks" in s]) == 1


def test_a_plugin_may_choose_the_sample(app, client, w):
    app.extensions["anjian.plugins"].plugins["test_rules"].pick_last = True
    r = client.post(f"{URL}/service-contracts/{w.c1}/spot-checks", headers=w.supervisor,
                    json={"ratio": 0.5})
    assert [(i["enterprise_id"], i["reason"]) for i in r.json["items"]] == [
        (max(w.ents[:3]), "风险最高（service_results）")]


# --- isolation --------------------------------------------------------------------------------

def test_another_tenant_reaches_nothing(client, w):
    other = "/api/v1/tenants/svc-other"
    for path in (f"/service-contracts/{w.c1}", f"/service-organisations/{w.org1}",
                 f"/service-contracts/{w.c1}/compliance", f"/service-contracts/{w.c1}/costs"):
        problem_of(client.get(other + path, headers=w.other_admin), 404)
        problem_of(client.get(URL + path, headers=w.other_admin), 404)
    # Our ids in their bodies are as absent as missing ones.
    org = client.post(f"{other}/service-organisations", headers=w.other_admin,
                      json={"name": "苏安安全技术服务有限公司"})
    assert org.status_code == 201  # names are per tenant
    r = client.post(f"{other}/service-contracts", headers=w.other_admin, json={
        "organisation_id": w.org1, "title": "x", "starts_on": "2025-01-01",
        "ends_on": "2025-12-31"})
    assert "organisation_id" in fields_of(r, 422)
    r = client.post(f"{other}/service-contracts", headers=w.other_admin, json={
        "organisation_id": org.json["id"], "title": "x", "starts_on": "2025-01-01",
        "ends_on": "2025-12-31", "enterprise_ids": [w.ents[0]]})
    assert "enterprise_ids" in fields_of(r, 422)
    r = client.post(f"{other}/service-organisations/{org.json['id']}/staff",
                    headers=w.other_admin, json={"user_id": w.staff1_id})
    assert "user_id" in fields_of(r, 422)
    assert client.get(f"{other}/service-records", headers=w.other_admin).json["total"] == 0


def test_an_obligation_rule_has_only_the_documented_keys():
    from marshmallow import ValidationError

    from anjian.services.compliance import ObligationSchema

    with pytest.raises(ValidationError):
        ObligationSchema().load({"key": "k", "title": "t", "record_kind": "drill", "every": 2})
    with pytest.raises(ValidationError):
        ObligationSchema().load({"key": "k", "title": "t", "record_kind": "drill",
                                 "per": "quarter", "in_last_months": 4})
    rule = ObligationSchema().load({"key": "k", "title": "t", "record_kind": "drill"})
    assert (rule["count"], rule["per"], rule["align"]) == (1, "contract", "contract")
