"""Seed 001 (Jinbei street) as the street runs it (issue 22, "What must work: the seed
programmes", Seed 001): the cost year counts from when each enterprise joined the street's
service, across contracts and renewals; an enterprise in two overlapping contracts is
counted once in the budget; the site visit (实地验场) is an obligation; an inspection the
contracted organisation submits on the platform counts as the quarter's inspection.

Every expected figure is counted by hand from the seed's section 二 (规上/限上: the street
pays 2,000 yuan in years 1-3 and the enterprise the difference, from year 4 the enterprise
pays all; 小微 and 规下: the street pays all) and section 五.5.
"""

from __future__ import annotations

import datetime as dt

import pytest

from anjian.clock import local_today
from tests.test_jinbei import PLUGIN, URL, T, build_world, code, contract, ok, table


@pytest.fixture
def anjian_tenant_spec():
    return {"code": T, "plugins": [PLUGIN], "level": "street", "name": "锦北街道办事处"}


@pytest.fixture
def w(client, anjian_tenant, anjian_clients):
    return build_world(client, anjian_tenant, anjian_clients)


def enterprise(client, w, n, name, **fields):
    return ok(client.post(f"{URL}/enterprises", headers=w.admin, json={
        "credit_code": code(n), "name": name, **fields}), 201)["id"]


def join(client, w, contract_id, ids, joined_on):
    return ok(client.post(f"{URL}/service-contracts/{contract_id}/enterprises", headers=w.admin,
                          json={"enterprise_ids": ids, "joined_on": joined_on}))


# --- the cost year ----------------------------------------------------------------------------

def test_the_cost_year_counts_from_when_the_enterprise_joined(client, w):
    """The seed's example: an enterprise of scale that joined in the contract's second year
    is in its 3rd service year in contract year 4, so the street still pays 2,000 yuan."""
    c = contract(client, w, "3000")  # 2024-01-01 .. 2028-12-31, the four from the start
    late = enterprise(client, w, 50, "锦北后入规上企业", scale="above", industry="机械")
    join(client, w, c["id"], [late], "2025-03-01")  # contract year 2

    rows, year2 = table(client, w, c["id"], 2)
    assert rows["锦北后入规上企业"] == ("2000.00", "1000.00")  # its 1st year
    basis = {r["enterprise_name"]: r["basis"] for r in year2["rows"]}
    assert basis["锦北后入规上企业"] == ("规上企业参加服务第1年（2025-03-01起参加）：街道补助2000元，"
                                 "企业承担招标价差额1000.00元")

    rows, year4 = table(client, w, c["id"], 4)
    # Before issue 22 the late one was in its "4th year" here (the contract's) and paid all.
    assert rows["锦北后入规上企业"] == ("2000.00", "1000.00")  # 2025, 2026, 2027: its 3rd
    assert rows["规上"] == ("0.00", "3000.00")  # served since 2024: its 4th
    # By hand: street 0 + 0 + 3,000 + 3,000 + 2,000; enterprises 3,000 + 3,000 + 0 + 0 + 1,000.
    assert year4["totals"] == {"price": "15000.00", "government": "8000.00",
                               "enterprise": "7000.00"}
    assert "参加服务第3年（2025-03-01起参加）" in {
        r["enterprise_name"]: r["basis"] for r in year4["rows"]}["锦北后入规上企业"]

    rows, _ = table(client, w, c["id"], 5)
    assert rows["锦北后入规上企业"] == ("0.00", "3000.00")  # its 4th year: all its own


def test_a_renewal_does_not_restart_the_subsidy(client, w):
    first = contract(client, w, "3000", starts="2024-01-01", ends="2025-12-31")
    renewal = contract(client, w, "3000", starts="2026-01-01", ends="2028-12-31")
    assert first["id"] != renewal["id"]
    rows, _ = table(client, w, renewal["id"], 1)  # 2026: the 3rd year since 2024
    assert rows["规上"] == ("2000.00", "1000.00") and rows["限上"] == ("2000.00", "1000.00")
    rows, data = table(client, w, renewal["id"], 2)  # 2027: the 4th (it was the 2nd before)
    assert rows == {"规上": ("0.00", "3000.00"), "限上": ("0.00", "3000.00"),
                    "小微": ("3000.00", "0.00"), "规下": ("3000.00", "0.00")}
    assert data["totals"]["government"] == "6000.00"
    assert "第4年起费用由企业全部承担" in {
        r["enterprise_id"]: r["basis"] for r in data["rows"]}[w.ents["规上"]]


def test_years_served_before_the_platform_count_only_for_those_served_then(client, w, factory):
    """``prior_years``: the years a follow-on contract's enterprises were served before the
    platform's records. An enterprise that joins the follow-on later was not: its years
    count from its joining (before issue 22 it was given the contract's prior years)."""
    c = ok(client.post(f"{URL}/service-contracts", headers=w.admin, json={
        "organisation_id": w.org, "title": "锦北街道安全生产社会化服务（续签）",
        "starts_on": "2027-01-01", "ends_on": "2028-12-31", "price_per_enterprise": "2600",
        "enterprise_ids": [w.ents["规上"]], "settings": {"prior_years": 2}}), 201)
    late = enterprise(client, w, 51, "锦北续签后加入企业", scale="above", industry="机械")
    join(client, w, c["id"], [late], "2027-06-01")
    rows, _ = table(client, w, c["id"], 1)
    assert rows["规上"] == ("2000.00", "600.00")  # 2 years on paper + 1: its 3rd
    assert rows["锦北续签后加入企业"] == ("2000.00", "600.00")  # its 1st
    rows, data = table(client, w, c["id"], 2)
    assert rows["规上"] == ("0.00", "2600.00")  # its 4th
    assert rows["锦北续签后加入企业"] == ("2000.00", "600.00")  # its 2nd (it was "4th")
    assert data["totals"] == {"price": "5200.00", "government": "2000.00",
                              "enterprise": "3200.00"}


# --- overlapping contracts --------------------------------------------------------------------

def test_an_enterprise_in_two_overlapping_contracts_is_counted_once(client, w):
    other_org = ok(client.post(f"{URL}/service-organisations", headers=w.admin,
                               json={"name": "锦州第二安全咨询有限公司"}), 201)["id"]
    a = contract(client, w, "3000", starts="2025-01-01", ends="2025-12-31")
    newcomer = enterprise(client, w, 52, "锦北新规下企业", scale="below", industry="建材")
    b = ok(client.post(f"{URL}/service-contracts", headers=w.admin, json={
        "organisation_id": other_org, "title": "锦北街道专项安全服务",
        "starts_on": "2025-07-01", "ends_on": "2026-06-30", "price_per_enterprise": "2800",
        "enterprise_ids": [w.ents["规上"], w.ents["小微"], newcomer]}), 201)

    # The earlier contract counts all four, as before.
    rows, data_a = table(client, w, a["id"], 1)
    assert len(rows) == 4 and data_a["counted_elsewhere"] == 0
    assert data_a["totals"] == {"price": "12000.00", "government": "10000.00",
                                "enterprise": "2000.00"}

    # The later one lists 规上 and 小微 as counted in the first (2025-07 .. 12 overlap) and
    # budgets only the newcomer: by hand street 2,800, enterprises 0.
    rows, data_b = table(client, w, b["id"], 1)
    assert rows == {"规上": (None, None), "小微": (None, None),
                    "锦北新规下企业": ("2800.00", "0.00")}
    counted = {r["enterprise_name"]: r for r in data_b["rows"]}
    assert counted["锦北规上企业"]["counted_in"] == {
        "contract_id": a["id"], "contract_title": "锦北街道安全生产社会化服务"}
    assert counted["锦北规上企业"]["price"] is None
    assert counted["锦北规上企业"]["basis"] == \
        "同期已由服务合同“锦北街道安全生产社会化服务”计入预算，本表不重复计算"
    assert counted["锦北新规下企业"]["counted_in"] is None
    assert data_b["totals"] == {"price": "2800.00", "government": "2800.00",
                                "enterprise": "0.00"}
    assert (data_b["enterprise_count"], data_b["counted_elsewhere"]) == (1, 2)
    assert data_b["has_rule"] is True
    # The street's 2025 budget: 10,000 + 2,800, each enterprise once (not 10,000 + 2,800 +
    # 2,000 for 规上's second subsidy + 2,800 for 小微's second service).


# --- obligations ------------------------------------------------------------------------------

def compliance(client, w, contract_id, as_of, enterprise_id):
    data = ok(client.get(f"{URL}/service-contracts/{contract_id}/compliance", headers=w.supervisor,
                         query_string={"as_of": as_of, "enterprise_id": enterprise_id}))
    return {(i["key"], i["period_index"]): (i["done"], i["status"], i["period_end"])
            for i in data["enterprises"][0]["items"]}, data


def test_the_site_visit_is_an_obligation(client, w):
    c = contract(client, w, "3000", starts="2025-01-01", ends="2026-12-31")
    visited, other = w.ents["规上"], w.ents["小微"]
    ok(client.post(f"{URL}/service-records", headers=w.staff, json={
        "contract_id": c["id"], "enterprise_id": visited, "kind": "inspection",
        "done_on": "2025-02-10", "topic": "实地验场", "note": "到现场查看生产工艺和场所"}), 201)
    got, data = compliance(client, w, c["id"], "2025-03-31", visited)
    rule = next(o for o in data["obligations"] if o["key"] == "jinbei_site_visit")
    assert (rule["title"], rule["record_kind"], rule["topic"], rule["per"],
            rule["within_months"]) == ("3个月内到被服务单位进行实地验场", "inspection", "实地验场",
                                       "contract", 3)
    assert got[("jinbei_site_visit", 1)] == (1, "met", "2025-03-31")
    # Being on site, the visit is also the first quarter's inspection.
    assert got[("jinbei_quarterly_inspection", 1)][:2] == (1, "met")
    got, _ = compliance(client, w, c["id"], "2025-03-31", other)
    assert got[("jinbei_site_visit", 1)] == (0, "due", "2025-03-31")
    got, _ = compliance(client, w, c["id"], "2025-04-01", other)
    assert got[("jinbei_site_visit", 1)] == (0, "missed", "2025-03-31")
    # An inspection under another topic is no site visit.
    ok(client.post(f"{URL}/service-records", headers=w.staff, json={
        "contract_id": c["id"], "enterprise_id": other, "kind": "inspection",
        "done_on": "2025-03-05", "topic": "季度安全检查"}), 201)
    got, _ = compliance(client, w, c["id"], "2025-04-01", other)
    assert got[("jinbei_site_visit", 1)][:2] == (0, "missed")
    assert got[("jinbei_quarterly_inspection", 1)][:2] == (1, "met")


def test_an_inspection_on_the_platform_counts_as_the_quarters_inspection(client, w):
    today = local_today()
    starts = dt.date(today.year - 1, 1, 1)
    c = contract(client, w, "3000", starts=starts.isoformat(),
                 ends=dt.date(today.year + 1, 12, 31).isoformat())
    firm = w.ents["规上"]
    ok(client.post(f"{URL}/checklist-templates", headers=w.admin, json={
        "key": "jb-quarterly", "title": "季度安全检查表",
        "items": [{"code": "Q1", "text": "安全出口畅通"}, {"code": "Q2", "text": "灭火器有效"}]}),
       201)

    def inspect(headers, enterprise_id):
        created = ok(client.post(f"{URL}/inspections", headers=headers, json={
            "enterprise_id": enterprise_id, "template_key": "jb-quarterly",
            "summary": "季度检查，未发现问题"}), 201)
        iid = created["inspection"]["id"]
        ok(client.put(f"{URL}/inspections/{iid}/results", headers=headers, json={"results": [
            {"item_id": r["item_id"], "answer": "yes"} for r in created["results"]]}))
        ok(client.post(f"{URL}/inspections/{iid}/submit", headers=headers, json={}))
        return iid

    def records(enterprise_id):
        return ok(client.get(f"{URL}/service-records", headers=w.supervisor, query_string={
            "contract_id": c["id"], "enterprise_id": enterprise_id}))["items"]

    assert records(firm) == []
    by_staff = inspect(w.staff, firm)
    [record] = records(firm)
    assert (record["kind"], record["topic"], record["inspection_id"], record["done_on"],
            record["staff_user_id"], record["note"]) == (
        "inspection", "季度安全检查表", by_staff, today.isoformat(), w.staff_id, "季度检查，未发现问题")
    got, _ = compliance(client, w, c["id"], today.isoformat(), firm)
    quarter = [v for (key, _n), v in got.items() if key == "jinbei_quarterly_inspection"][-1]
    assert quarter[:2] == (1, "met")  # the quarter that holds today
    # The bureau's own inspection is not the organisation's service.
    inspect(w.supervisor, w.ents["小微"])
    assert records(w.ents["小微"]) == []
