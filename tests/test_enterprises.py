"""The enterprise registry over HTTP: validation, filters, ETag, soft delete, plugin fields."""

import marshmallow as ma
import pytest
from stdnum.cn import uscc

from anjian.plugin_api import hookimpl
from tests.conftest import bearer


def code(n: int) -> str:
    base = f"91320581MA{n:07d}"
    return base + uscc.calc_check_digit(base)


@pytest.fixture
def cs(factory):
    tenant = factory.tenant("cs")
    other = factory.tenant("other")
    sector = factory.area(tenant, "meili")
    village = factory.area(tenant, "zhennan", kind="village", parent_id=sector)
    foreign_area = factory.area(other, "x")
    _, admin = factory.user("cs-admin", {tenant: "tenant_admin"})
    _, viewer = factory.user("cs-viewer", {tenant: "viewer"})
    _, ent_user = factory.user("cs-ent", {tenant: "enterprise"})
    return {"tenant": tenant, "sector": sector, "village": village, "foreign_area": foreign_area,
            "admin": bearer(admin), "viewer": bearer(viewer), "enterprise": bearer(ent_user)}


URL = "/api/v1/tenants/cs/enterprises"


def create(client, headers, **fields):
    body = {"credit_code": code(1), "name": "常熟某机械厂", **fields}
    return client.post(URL, json=body, headers=headers)


def test_create_normalises_code_and_reads_back(client, cs):
    raw = code(1).lower()[:6] + "-" + code(1).lower()[6:]
    r = create(client, cs["admin"], credit_code=raw, industry="机械", industry_code="C3411",
               scale="micro", employees=12, dust_explosion=True, area_id=cs["village"])
    assert r.status_code == 201, r.json
    assert r.json["credit_code"] == code(1)
    assert r.json["flags"] == ["dust_explosion"] and r.json["flag_labels"] == ["粉尘涉爆"]
    assert r.json["scale_label"] == "小微"
    got = client.get(f"{URL}/{r.json['id']}", headers=cs["viewer"])
    assert got.status_code == 200 and got.json["name"] == "常熟某机械厂"


@pytest.mark.parametrize(("value", "message"), [
    (code(1)[:-1] + ("0" if code(1)[-1] != "0" else "1"), "校验位"),
    ("9132058", "18 位"),
    ("91320581MA1MXXXX!X", "格式"),
])
def test_bad_credit_code_is_refused_with_reason(client, cs, value, message):
    r = create(client, cs["admin"], credit_code=value)
    assert r.status_code == 422
    assert r.headers["Content-Type"] == "application/problem+json"
    assert message in r.json["errors"]["credit_code"][0]


def test_duplicate_code_is_409_and_nothing_changes(client, cs):
    assert create(client, cs["admin"]).status_code == 201
    r = create(client, cs["admin"], name="另一个名字")
    assert r.status_code == 409
    listed = client.get(URL, headers=cs["admin"]).json
    assert listed["total"] == 1 and listed["items"][0]["name"] == "常熟某机械厂"


def test_same_code_in_another_tenant_is_independent(client, cs, factory):
    assert create(client, cs["admin"]).status_code == 201
    other = factory.tenant("third")
    _, token = factory.user("third-admin", {other: "tenant_admin"})
    r = client.post("/api/v1/tenants/third/enterprises",
                    json={"credit_code": code(1), "name": "同码企业"}, headers=bearer(token))
    assert r.status_code == 201


def test_foreign_area_and_unknown_fields_are_refused(client, cs):
    r = create(client, cs["admin"], area_id=cs["foreign_area"])
    assert r.status_code == 422 and "area_id" in r.json["errors"]
    r = create(client, cs["admin"], tenant_id=999)
    assert r.status_code == 422 and r.json["errors"]["json"]["tenant_id"] == ["不允许的字段"]
    r = create(client, cs["admin"], employees="很多")
    assert r.status_code == 422 and r.json["errors"]["json"]["employees"] == ["不是有效的整数"]


def test_filters_search_and_pagination(client, cs):
    rows = [
        dict(credit_code=code(1), name="梅李建材有限公司", industry="建材", scale="above",
             area_id=cs["sector"], major_hazard=True),
        dict(credit_code=code(2), name="珍南机械厂", industry="机械", scale="micro",
             area_id=cs["village"], dust_explosion=True, confined_space=True),
        dict(credit_code=code(3), name="常熟商贸中心", industry="商贸", scale="below",
             above_quota=True),
        dict(credit_code=code(4), name="100%_纯棉纺织", industry="纺织", scale="micro"),
    ]
    for row in rows:
        assert client.post(URL, json=row, headers=cs["admin"]).status_code == 201

    def names(**params):
        r = client.get(URL, query_string=params, headers=cs["viewer"])
        assert r.status_code == 200, r.json
        return sorted(item["name"] for item in r.json["items"])

    assert names(area_id=cs["sector"]) == ["梅李建材有限公司", "珍南机械厂"]  # with the village
    assert names(area_id=cs["village"]) == ["珍南机械厂"]
    assert names(industry="机械") == ["珍南机械厂"]
    assert names(scale="micro") == ["100%_纯棉纺织", "珍南机械厂"]
    assert names(above_quota="true") == ["常熟商贸中心"]
    assert names(flag=["dust_explosion", "confined_space"]) == ["珍南机械厂"]
    assert names(flag=["dust_explosion", "major_hazard"]) == []
    assert names(q="机械") == ["珍南机械厂"]
    assert names(q=code(3)) == ["常熟商贸中心"]
    assert names(q="%") == ["100%_纯棉纺织"]  # wildcards are searched literally
    page = client.get(URL, query_string={"per_page": 3, "page": 2, "sort": "name"},
                      headers=cs["viewer"]).json
    assert page["total"] == 4 and len(page["items"]) == 1


def test_update_needs_if_match_and_second_writer_gets_412(client, cs):
    ent = create(client, cs["admin"]).json
    url = f"{URL}/{ent['id']}"
    etag = client.get(url, headers=cs["admin"]).headers["ETag"]
    assert client.patch(url, json={"employees": 5}, headers=cs["admin"]).status_code == 428
    first = client.patch(url, json={"employees": 5}, headers={**cs["admin"], "If-Match": etag})
    assert first.status_code == 200 and first.json["employees"] == 5
    second = client.patch(url, json={"employees": 9}, headers={**cs["admin"], "If-Match": etag})
    assert second.status_code == 412
    assert client.get(url, headers=cs["admin"]).json["employees"] == 5


def test_soft_delete_hides_keeps_history_and_recreate_restores(client, cs):
    ent = create(client, cs["admin"]).json
    url = f"{URL}/{ent['id']}"
    etag = client.get(url, headers=cs["admin"]).headers["ETag"]
    assert client.delete(url, headers={**cs["admin"], "If-Match": etag}).status_code == 204
    assert client.get(URL, headers=cs["admin"]).json["total"] == 0
    deleted = client.get(URL, query_string={"include_deleted": "true"}, headers=cs["admin"]).json
    assert deleted["total"] == 1 and deleted["items"][0]["deleted_at"]
    again = create(client, cs["admin"], name="恢复后的名称")
    assert again.status_code == 201 and again.json["id"] == ent["id"]
    assert again.json["deleted_at"] is None
    audit = client.get("/api/v1/tenants/cs/audit", query_string={"entity_type": "enterprise"},
                       headers=cs["admin"]).json
    assert [e["action"] for e in reversed(audit["items"])] == [
        "enterprise.create", "enterprise.update", "enterprise.update"]


def test_roles(client, cs):
    assert create(client, cs["viewer"]).status_code == 403
    assert create(client, cs["enterprise"]).status_code == 403
    assert client.get(URL, headers=cs["viewer"]).status_code == 200
    # An enterprise user linked to no enterprise sees none.
    assert client.get(URL, headers=cs["enterprise"]).json["total"] == 0


def test_enterprise_user_sees_only_its_own_enterprise(client, cs):
    own = create(client, cs["admin"]).json
    other = create(client, cs["admin"], credit_code=code(2), name="别家企业").json
    members = "/api/v1/tenants/cs/members"
    body = {"username": "cs-factory-boss", "role": "enterprise", "password": "a-long-password-1"}
    missing = client.post(members, json=body, headers=cs["admin"])
    assert missing.status_code == 422 and "enterprise_id" in missing.json["errors"]
    wrong_role = client.post(members, json={**body, "role": "viewer", "enterprise_id": own["id"]},
                             headers=cs["admin"])
    assert wrong_role.status_code == 422
    added = client.post(members, json={**body, "enterprise_id": own["id"]}, headers=cs["admin"])
    assert added.status_code == 201 and added.json["enterprise_id"] == own["id"]
    login = client.post("/api/v1/auth/login",
                        json={"username": "cs-factory-boss", "password": "a-long-password-1"})
    headers = bearer(login.json["token"])
    listed = client.get(URL, headers=headers).json
    assert [e["id"] for e in listed["items"]] == [own["id"]]
    assert client.get(f"{URL}/{own['id']}", headers=headers).status_code == 200
    assert client.get(f"{URL}/{other['id']}", headers=headers).status_code == 404


class ExtraFields:
    """A plugin adding a validated field to its tenants' enterprises."""

    @hookimpl
    def enterprise_extra_fields(self):
        return {"grid_officer": ma.fields.String(required=True,
                                                 validate=ma.validate.Length(max=20))}


def test_plugin_extra_fields_are_validated_for_enabled_tenants_only(app, client, cs, factory):
    app.extensions["anjian.plugins"].register("extra_fields_test", ExtraFields())
    factory.tenant("withx", plugins=["extra_fields_test"])
    _, token = factory.user("x-admin", {factory.tenant("plainx"): "tenant_admin"})
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant

    with app.app_context():
        tid = db.session.query(Tenant.id).filter_by(code="withx").scalar()
    _, xtoken = factory.user("withx-admin", {tid: "tenant_admin"})
    url = "/api/v1/tenants/withx/enterprises"
    missing = client.post(url, json={"credit_code": code(5), "name": "甲"}, headers=bearer(xtoken))
    assert missing.status_code == 422 and "extra" in missing.json["errors"]
    ok = client.post(url, json={"credit_code": code(5), "name": "甲",
                                "extra": {"grid_officer": "张三"}}, headers=bearer(xtoken))
    assert ok.status_code == 201 and ok.json["extra"] == {"grid_officer": "张三"}
    plain = client.post("/api/v1/tenants/plainx/enterprises",
                        json={"credit_code": code(5), "name": "乙", "extra": {"grid_officer": "x"}},
                        headers=bearer(token))
    assert plain.status_code == 422  # not a field for a tenant without the plugin
