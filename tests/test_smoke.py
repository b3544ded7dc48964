from tests.conftest import bearer


def test_area_roundtrip_and_foreign_tenant_is_404(client, factory):
    a = factory.tenant("ta")
    b = factory.tenant("tb")
    area_b = factory.area(b, "b-sector")
    _, token = factory.user("alice", {a: "tenant_admin"})
    r = client.post("/api/v1/tenants/ta/areas", json={"code": "s1", "name": "板块一", "kind": "sector"},
                    headers=bearer(token))
    assert r.status_code == 201, r.json
    assert client.get("/api/v1/tenants/ta/areas", headers=bearer(token)).json["total"] == 1
    assert client.get(f"/api/v1/tenants/ta/areas/{area_b}", headers=bearer(token)).status_code == 404
    assert client.get("/api/v1/tenants/tb/areas", headers=bearer(token)).status_code == 404
