"""RELIABILITY case 22: Idempotency-Key on writes."""

import pytest

from tests.conftest import bearer


@pytest.fixture
def world(factory):
    a = factory.tenant("ida")
    b = factory.tenant("idb")
    user_a, token_a = factory.user("ida-admin", {a: "tenant_admin"})
    _, token_b = factory.user("idb-admin", {b: "tenant_admin"})
    return {"a": a, "b": b, "ha": bearer(token_a), "hb": bearer(token_b), "user_a": user_a}


def areas(client, code, headers):
    return client.get(f"/api/v1/tenants/{code}/areas", headers=headers).json["total"]


def post_area(client, code, headers, key, body=None):
    return client.post(f"/api/v1/tenants/{code}/areas",
                       json=body or {"code": "s1", "name": "板块一", "kind": "sector"},
                       headers={**headers, "Idempotency-Key": key})


def test_repeat_after_completion_returns_the_first_answer_once(client, world):
    first = post_area(client, "ida", world["ha"], "k-1")
    assert first.status_code == 201
    again = post_area(client, "ida", world["ha"], "k-1")
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert areas(client, "ida", world["ha"]) == 1
    audit = client.get("/api/v1/tenants/ida/audit", query_string={"action": "area.create"},
                       headers=world["ha"]).json
    assert audit["total"] == 1  # one effect, one audit row


def test_same_key_other_body_is_422_and_changes_nothing(client, world):
    assert post_area(client, "ida", world["ha"], "k-2").status_code == 201
    other = post_area(client, "ida", world["ha"], "k-2",
                      {"code": "s2", "name": "板块二", "kind": "sector"})
    assert other.status_code == 422
    assert other.headers["Content-Type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json["errors"]
    assert areas(client, "ida", world["ha"]) == 1


def test_concurrent_duplicate_is_409(app, client, world):
    from anjian.api.idempotency import _fingerprint
    from anjian.extensions import db
    from anjian.idempotency.models import IdempotencyKey
    from anjian.tenancy.scope import Scope, scoped

    body = {"code": "s3", "name": "板块三", "kind": "sector"}
    with app.test_request_context("/api/v1/tenants/ida/areas", method="POST", json=body):
        fingerprint = _fingerprint()
    with app.app_context(), scoped(db.session, Scope.tenant(world["a"])):
        # The first request has claimed the key and is still running.
        db.session.add(IdempotencyKey(key="k-3", user_id=world["user_a"], fingerprint=fingerprint))
        db.session.commit()
    r = post_area(client, "ida", world["ha"], "k-3", body)
    assert r.status_code == 409 and r.headers["Retry-After"] == "1"
    assert areas(client, "ida", world["ha"]) == 0


def test_keys_are_per_tenant(client, world):
    assert post_area(client, "ida", world["ha"], "shared").status_code == 201
    in_b = post_area(client, "idb", world["hb"], "shared")
    assert in_b.status_code == 201 and "Idempotent-Replayed" not in in_b.headers
    assert areas(client, "idb", world["hb"]) == 1


def test_a_failed_write_is_kept_as_answered_but_a_5xx_frees_the_key(app, client, world,
                                                                     monkeypatch):
    bad = post_area(client, "ida", world["ha"], "k-4", {"code": "s4", "kind": "nonsense"})
    assert bad.status_code == 422
    assert post_area(client, "ida", world["ha"], "k-4",
                     {"code": "s4", "kind": "nonsense"}).status_code == 422

    from anjian.tenancy import api as tenancy_api

    def boom(*args, **kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(tenancy_api, "_check_parent", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    failed = post_area(client, "ida", world["ha"], "k-5")
    assert failed.status_code == 500
    monkeypatch.undo()
    retried = post_area(client, "ida", world["ha"], "k-5")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers


def test_reads_and_requests_without_the_header_are_untouched(client, world):
    assert post_area(client, "ida", world["ha"], "k-6").status_code == 201
    r = client.post("/api/v1/tenants/ida/areas",
                    json={"code": "s1", "name": "板块一", "kind": "sector"}, headers=world["ha"])
    assert r.status_code == 409  # a plain duplicate is still a conflict
    got = client.get("/api/v1/tenants/ida/areas",
                     headers={**world["ha"], "Idempotency-Key": "k-6"})
    assert got.status_code == 200 and got.json["total"] == 1
