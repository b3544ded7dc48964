"""The Jinbei street plugin (seed 001; issue 6, "The plugin anjian_jinbei" 1-3): target
selection with reasons, the street's subsidy and the enterprises' shares per contract year
(JSON and .xlsx through the reports core), the service organisation's obligations."""

import io
import types
from decimal import Decimal

import pytest
from stdnum.cn import uscc

from anjian.plugins.manager import PluginRegistry
from anjian.plugins.views import TenantInfo
from tests.conftest import bearer

T = "jb"
URL = f"/api/v1/tenants/{T}"
PLUGIN = "anjian_jinbei"


def code(n: int) -> str:
    base = f"91210700MA{n:07d}"
    return base + uscc.calc_check_digit(base)


class World(dict):
    def __getattr__(self, name):
        return self[name]


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.json)
    return r.json


# Enterprises by what the seed's cost rule sees: 规上, 限上 (a below-scale trader above the
# quota), 小微, 规下.
KINDS = {"规上": {"scale": "above", "industry": "机械"},
         "限上": {"scale": "below", "above_quota": True, "industry": "商贸"},
         "小微": {"scale": "micro", "industry": "轻工"},
         "规下": {"scale": "below", "industry": "建材"}}


@pytest.fixture
def anjian_tenant_spec():
    """The tenant of anjian.testing's fixtures (anjian_tenant, anjian_clients)."""
    return {"code": T, "plugins": [PLUGIN], "level": "street", "name": "锦北街道办事处"}


@pytest.fixture
def w(client, anjian_tenant, anjian_clients):
    return build_world(client, anjian_tenant, anjian_clients)


def build_world(client, anjian_tenant, anjian_clients) -> World:
    """The street's users, its four enterprises (one per KINDS) and a service organisation
    with its staff member (shared with tests/test_jinbei_seed.py)."""
    world = World(tenant=anjian_tenant.id)
    for name, role in [("admin", "tenant_admin"), ("supervisor", "supervisor"),
                       ("viewer", "viewer"), ("staff", "service_org")]:
        world[f"{name}_id"] = anjian_clients[role].user_id
        world[name] = anjian_clients[role].headers
    world["ents"] = {}
    for n, (label, fields) in enumerate(KINDS.items(), start=1):
        world["ents"][label] = ok(client.post(f"{URL}/enterprises", headers=world.admin, json={
            "credit_code": code(n), "name": f"锦北{label}企业", **fields}), 201)["id"]
    world["org"] = ok(client.post(f"{URL}/service-organisations", headers=world.admin,
                                  json={"name": "锦州安科安全技术服务有限公司"}), 201)["id"]
    ok(client.post(f"{URL}/service-organisations/{world.org}/staff", headers=world.admin,
                   json={"user_id": world.staff_id}), 201)
    return world


def contract(client, w, price, starts="2024-01-01", ends="2028-12-31", **body):
    return ok(client.post(f"{URL}/service-contracts", headers=w.admin, json={
        "organisation_id": w.org, "title": "锦北街道安全生产社会化服务", "starts_on": starts,
        "ends_on": ends, "price_per_enterprise": price,
        "service_kinds": ["technical", "management", "training", "information"],
        "enterprise_ids": list(w.ents.values()), **body}), 201)


def table(client, w, contract_id, year):
    data = ok(client.get(f"{URL}/service-contracts/{contract_id}/costs?year={year}",
                         headers=w.viewer))
    names = {v: k for k, v in w.ents.items()}
    rows = {names.get(r["enterprise_id"], r["enterprise_name"]): (r["government"], r["enterprise"])
            for r in data["rows"]}
    return rows, data


# --- costs and subsidy ------------------------------------------------------------------------

# Tender price 3,000 (above the subsidy) and 1,500 (below it), five contract years: by hand
# from section 二 (规上/限上: 2,000 from the street in years 1-3 and the difference from the
# enterprise, all from the enterprise from year 4; 小微 and 规下: all from the street).
FIVE_YEARS = {
    "3000": {
        1: {"规上": ("2000.00", "1000.00"), "限上": ("2000.00", "1000.00"),
            "小微": ("3000.00", "0.00"), "规下": ("3000.00", "0.00")},
        4: {"规上": ("0.00", "3000.00"), "限上": ("0.00", "3000.00"),
            "小微": ("3000.00", "0.00"), "规下": ("3000.00", "0.00")},
    },
    "1500": {
        1: {"规上": ("1500.00", "0.00"), "限上": ("1500.00", "0.00"),
            "小微": ("1500.00", "0.00"), "规下": ("1500.00", "0.00")},
        4: {"规上": ("0.00", "1500.00"), "限上": ("0.00", "1500.00"),
            "小微": ("1500.00", "0.00"), "规下": ("1500.00", "0.00")},
    },
}
PRICE_TOTAL = {"3000": "12000.00", "1500": "6000.00"}
TOTALS = {  # (street, enterprises) for the four enterprises
    ("3000", 1): ("10000.00", "2000.00"), ("3000", 4): ("6000.00", "6000.00"),
    ("1500", 1): ("6000.00", "0.00"), ("1500", 4): ("3000.00", "3000.00"),
}


@pytest.mark.parametrize("price", ["3000", "1500"])
def test_subsidy_tables_over_five_years(client, w, price):
    c = contract(client, w, price)
    for year in range(1, 6):
        rows, data = table(client, w, c["id"], year)
        expected = FIVE_YEARS[price][1 if year <= 3 else 4]
        assert rows == expected, year
        street, firms = TOTALS[(price, 1 if year <= 3 else 4)]
        assert data["totals"] == {"price": PRICE_TOTAL[price], "government": street,
                                  "enterprise": firms}
        assert data["has_rule"] is True and data["enterprise_count"] == 4
        assert data["period_start"] == f"{2023 + year}-01-01"
        assert data["period_end"] == f"{2023 + year}-12-31"
    _rows, year4 = table(client, w, c["id"], 4)
    basis = {r["enterprise_id"]: r["basis"] for r in year4["rows"]}
    assert "第4年起费用由企业全部承担" in basis[w.ents["规上"]]
    assert basis[w.ents["小微"]] == "小微企业：费用由街道财政支出"
    _rows, year1 = table(client, w, c["id"], 1)
    # The basis names the day the enterprise joined the street's service (issue 22: the
    # year counts from it, not from the contract's start).
    assert {r["enterprise_id"]: r["basis"] for r in year1["rows"]}[w.ents["限上"]] == (
        f"限上企业参加服务第1年（2024-01-01起参加）：街道补助{min(2000, int(price))}元，"
        f"企业承担招标价差额{max(int(price) - 2000, 0)}.00元")
    r = client.get(f"{URL}/service-contracts/{c['id']}/costs?year=6", headers=w.viewer)
    assert r.status_code == 422 and "year" in r.json["errors"]


def test_a_follow_on_contract_counts_the_years_already_served(client, w):
    c = contract(client, w, "2600", starts="2027-01-01", ends="2028-12-31",
                 settings={"prior_years": 2})
    rows, _ = table(client, w, c["id"], 1)  # the third year of participation
    assert rows["规上"] == ("2000.00", "600.00")
    rows, data = table(client, w, c["id"], 2)  # the fourth
    assert rows["规上"] == ("0.00", "2600.00") and rows["小微"] == ("2600.00", "0.00")
    assert data["totals"]["government"] == "5200.00"


def test_an_enterprise_joining_later_is_costed_from_its_year(client, w):
    c = contract(client, w, "3000")
    late = ok(client.post(f"{URL}/enterprises", headers=w.admin, json={
        "credit_code": code(20), "name": "锦北新入企业", "scale": "micro"}), 201)["id"]
    ok(client.post(f"{URL}/service-contracts/{c['id']}/enterprises", headers=w.admin,
                   json={"enterprise_ids": [late], "joined_on": "2026-03-01"}))
    assert table(client, w, c["id"], 2)[1]["enterprise_count"] == 4  # 2025: not yet
    rows, year3 = table(client, w, c["id"], 3)
    assert year3["enterprise_count"] == 5 and rows["锦北新入企业"] == ("3000.00", "0.00")
    assert year3["totals"]["government"] == "13000.00"


def test_the_cost_table_is_a_report_kind_as_xlsx_and_json(app, client, w):
    import openpyxl

    from anjian.jobs import embedded

    c = contract(client, w, "3000")
    kinds = ok(client.get(f"{URL}/report-kinds", headers=w.viewer))
    assert "jinbei_service_costs" in {k["key"] for k in kinds}

    def make(fmt, year):
        r = client.post(f"{URL}/reports", headers=w.supervisor, json={
            "kind": "jinbei_service_costs", "format": fmt,
            "params": {"contract_id": c["id"], "year": year}})
        body = ok(r, 202)
        assert embedded.drain(app)
        return ok(client.get(body["report_url"], headers=w.viewer))

    report = make("xlsx", 4)
    assert report["status"] == "ready", report
    assert report["title"] == "锦北街道安全生产社会化服务 费用分担表（第4年度）"
    link = client.get(report["download"], headers=w.viewer)
    assert link.status_code == 302
    got = client.get(link.headers["Location"])
    book = openpyxl.load_workbook(io.BytesIO(got.data))
    got.close()
    sheet = book["第4年度"]
    assert sheet["A1"].value == report["title"]
    assert sheet["A2"].value.startswith("服务期：2027-01-01 至 2027-12-31")
    assert [sheet.cell(3, col).value for col in range(1, 9)] == [
        "序号", "企业名称", "统一社会信用代码", "规模", "限上", "服务费（元）", "街道承担（元）",
        "企业承担（元）"]
    body = {sheet.cell(row, 2).value: (sheet.cell(row, 7).value, sheet.cell(row, 8).value)
            for row in range(4, 8)}
    assert body == {"锦北规上企业": (0, 3000), "锦北限上企业": (0, 3000),
                    "锦北小微企业": (3000, 0), "锦北规下企业": (3000, 0)}
    assert [sheet.cell(8, col).value for col in range(2, 9)][:1] == ["合计"]
    assert (sheet.cell(8, 6).value, sheet.cell(8, 7).value, sheet.cell(8, 8).value) == (
        12000, 6000, 6000)
    data = make("json", 1)["data"]
    assert data["totals"] == {"price": 12000, "government": 10000, "enterprise": 2000}
    failed = make("json", 9)
    assert failed["status"] == "failed" and "第 9 年度" in failed["error"]


# The cost rule itself, through a registry of its own (no database).

def tenant_info(**settings):
    registry = PluginRegistry(use_entry_points=False, extra_modules=[PLUGIN])
    info = TenantInfo(id=1, code="jb", name="锦北街道", level="street", plugins=(PLUGIN,),
                      settings={PLUGIN: registry.validate_settings(PLUGIN, settings)})
    return registry, info


def shares(registry, info, price, year, plugin=PLUGIN, **enterprise):
    contract = types.SimpleNamespace(price_per_enterprise=price, plugin=plugin, settings={})
    firm = types.SimpleNamespace(scale=enterprise.get("scale", "below"),
                                 above_quota=enterprise.get("above_quota", False))
    got = registry.call(info, "service_cost_shares", contract=contract, enterprise=firm,
                        contract_year=year)
    return None if got is None else (got["government"], got["enterprise"])


def test_the_cost_rule_follows_the_settings():
    registry, info = tenant_info()
    assert shares(registry, info, Decimal("2000"), 3, scale="above") == (2000, 0)
    assert shares(registry, info, Decimal("2000.50"), 3, scale="above") == (
        Decimal("2000"), Decimal("0.50"))
    assert shares(registry, info, None, 1, scale="above") is None  # no tender price yet
    assert shares(registry, info, 3000, 1, plugin="anjian_other", scale="above") is None
    registry, info = tenant_info(subsidy_years=2, subsidy_per_year_yuan=2500,
                                 street_funded_scales=["小微"])
    assert shares(registry, info, 3000, 2, scale="above") == (2500, 500)
    assert shares(registry, info, 3000, 3, scale="above") == (0, 3000)
    assert shares(registry, info, 3000, 1, scale="below") == (0, 3000)  # no longer the street's
    assert shares(registry, info, 3000, 1, scale="micro") == (3000, 0)


# --- targets ----------------------------------------------------------------------------------

def test_targets_chosen_by_the_seed_rules_with_a_reason_each(client, w):
    people = [
        ("职业病危害严重厂", {"industry": "化工"}, {"occupational_hazard_level": "严重"}),
        ("职业病危害一般厂", {"industry": "化工"}, {"occupational_hazard_level": "一般"}),
        ("管理薄弱机械厂", {"industry_code": "C3411"}, {"weak_self_management": True}),
        ("管理薄弱饭店", {"industry": "住宿餐饮"}, {"weak_self_management": True}),
        ("多租户厂房", {}, {"multi_tenant_landlord": True, "large_market": True}),
        ("挂牌督办企业", {}, {"listed_major_hazard_supervision": True}),
        ("已关闭的企业", {"status": "closed"}, {"occupational_hazard_level": "较重"}),
    ]
    ids = {}
    for n, (name, fields, extra) in enumerate(people, start=30):
        ids[name] = ok(client.post(f"{URL}/enterprises", headers=w.admin, json={
            "credit_code": code(n), "name": name, "extra": extra, **fields}), 201)["id"]
    bad = client.post(f"{URL}/enterprises", headers=w.admin, json={
        "credit_code": code(40), "name": "x", "extra": {"occupational_hazard_level": "很重"}})
    assert bad.status_code == 422 and "extra" in bad.json["errors"]
    campaign = ok(client.post(f"{URL}/campaigns", headers=w.supervisor,
                              json={"kind": "jinbei_social_service"}), 201)
    added = ok(client.post(f"{URL}/campaigns/{campaign['id']}/targets", headers=w.supervisor,
                           json={"rule": "plugin"}))
    assert added["method"] == "plugin" and added["added"] == 4
    targets = ok(client.get(f"{URL}/campaigns/{campaign['id']}/targets",
                            headers=w.viewer))["items"]
    names = {v: k for k, v in ids.items()}
    assert {names[t["enterprise_id"]]: t["reason"] for t in targets} == {
        "职业病危害严重厂": "职业病危害严重（较重及以上的用人单位）",
        "管理薄弱机械厂": "自身安全生产管理能力不足的工业生产经营单位",
        "多租户厂房": "出租厂房等涉及多租赁户的主体；大型市场（涉及多租赁户）",
        "挂牌督办企业": "存在重大事故隐患并被列为政府挂牌督办的单位",
    }
    # The rule is the programme's: a custom campaign of the street has none.
    custom = ok(client.post(f"{URL}/campaigns", headers=w.supervisor, json={"title": "夏季检查"}),
                201)
    r = client.post(f"{URL}/campaigns/{custom['id']}/targets", headers=w.supervisor,
                    json={"rule": "plugin"})
    assert r.status_code == 422 and "rule" in r.json["errors"]


# --- obligations ------------------------------------------------------------------------------

SETUP = ["安全组织机构", "安全生产责任制", "安全生产规章制度", "安全操作规程", "应急预案"]


def test_obligations_met_due_and_missed_across_quarter_and_year_boundaries(client, w):
    c = contract(client, w, "3000", starts="2025-01-01", ends="2026-12-31")
    firm, other = w.ents["规上"], w.ents["小微"]
    done = [(firm, "document_setup", d, t) for d, t in zip(
        ["2025-01-20", "2025-02-10", "2025-03-05", "2025-03-31", "2025-04-01"], SETUP,
        strict=True)]  # the emergency plans a day after the three months
    done += [(firm, "inspection", d, "") for d in
             ("2025-03-31", "2025-07-01", "2025-12-31", "2026-01-02")]  # none in Q2
    done += [(firm, "training", d, "") for d in ("2025-05-10", "2025-11-11")]
    done += [(firm, "drill", "2025-06-18", "")]
    done += [(firm, "report", "2025-12-20", "2025年度服务工作报告"),
             (other, "report", "2025-11-20", "提前交的年度报告")]
    for enterprise, kind, day, topic in done:
        ok(client.post(f"{URL}/service-records", headers=w.staff, json={
            "contract_id": c["id"], "enterprise_id": enterprise, "kind": kind, "done_on": day,
            "topic": topic, **({"evidence_ids": [upload(client, w, enterprise)]}
                                if kind == "report" else {})}), 201)

    def view(as_of, enterprise=firm):
        data = ok(client.get(f"{URL}/service-contracts/{c['id']}/compliance",
                             headers=w.supervisor,
                             query_string={"as_of": as_of, "enterprise_id": enterprise}))
        items = data["enterprises"][0]["items"]
        return {(i["key"], i["period_index"]): (i["done"], i["status"]) for i in items}, data

    got, data = view("2025-03-31")
    keys = [o["key"] for o in data["obligations"]]
    # Issue 22: the site visit (实地验场) is an obligation too, the first one.
    assert keys == ["jinbei_site_visit", "jinbei_setup_organisation",
                    "jinbei_setup_responsibilities",
                    "jinbei_setup_rules", "jinbei_setup_procedures", "jinbei_setup_emergency_plans",
                    "jinbei_quarterly_inspection", "jinbei_yearly_training",
                    "jinbei_yearly_drill", "jinbei_year_end_report"]
    assert data["obligations"][1]["title"] == "3个月内建立安全组织机构"
    assert got[("jinbei_site_visit", 1)] == (0, "due")  # none recorded (see test_jinbei_seed)
    assert got[("jinbei_setup_procedures", 1)] == (1, "met")
    assert got[("jinbei_setup_emergency_plans", 1)] == (0, "due")  # 31 March: still in time
    assert got[("jinbei_quarterly_inspection", 1)] == (1, "met")
    got, _ = view("2025-04-01")
    assert got[("jinbei_setup_emergency_plans", 1)] == (0, "missed")  # late is a miss
    assert got[("jinbei_quarterly_inspection", 2)] == (0, "due")
    got, _ = view("2025-07-01")
    assert got[("jinbei_quarterly_inspection", 2)] == (0, "missed")
    assert got[("jinbei_quarterly_inspection", 3)] == (1, "met")
    got, _ = view("2025-12-31")
    assert got[("jinbei_quarterly_inspection", 4)] == (1, "met")
    assert got[("jinbei_yearly_training", 1)] == (2, "met")
    assert got[("jinbei_yearly_drill", 1)] == (1, "due")
    assert got[("jinbei_year_end_report", 1)] == (1, "met")
    got, data = view("2026-01-01")
    assert got[("jinbei_yearly_drill", 1)] == (1, "missed")
    assert got[("jinbei_yearly_drill", 2)] == (0, "due")
    assert got[("jinbei_quarterly_inspection", 5)] == (0, "due")  # 2 Jan not counted yet
    # By hand: site visit missed; set-up 4 met, 1 missed; quarters met, missed, met, met,
    # due; training met, due; drills missed, due; year-end report met, due.
    assert data["enterprises"][0]["summary"] == {"met": 9, "due": 4, "missed": 4}
    got, _ = view("2026-01-02")
    assert got[("jinbei_quarterly_inspection", 5)] == (1, "met")
    # The other unit's report came in November: not a year-end report.
    got, _ = view("2026-01-01", other)
    assert got[("jinbei_year_end_report", 1)] == (0, "missed")
    assert sum(1 for _done, state in got.values() if state == "missed") == 1 + 5 + 4 + 3
    misses = ok(client.get(f"{URL}/service-contracts/{c['id']}/compliance", headers=w.staff,
                           query_string={"as_of": "2026-01-01", "status": "missed"}))
    assert misses["summary"]["missed"] == 4 + 3 * 13  # the four units seen by the organisation
    assert {i["status"] for e in misses["enterprises"] for i in e["items"]} == {"missed"}


def _pdf():
    return io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


def upload(client, w, enterprise_id):
    r = client.post(f"{URL}/evidence", headers=w.staff, content_type="multipart/form-data",
                    data={"file": (_pdf(), "年度报告.pdf"), "enterprise_id": str(enterprise_id)})
    assert r.status_code == 201, r.json
    return r.json["id"]


def test_obligations_follow_the_tenant_settings(client, w, factory):
    tenant = factory.tenant("jb2", plugins=[PLUGIN], level="street", settings={PLUGIN: {
        "setup_months": 2, "inspections_per_quarter": 2, "year_end_report": False}})
    _, token = factory.user("jb2-admin", {tenant: "tenant_admin"})
    admin = bearer(token)
    base = "/api/v1/tenants/jb2"
    org = ok(client.post(f"{base}/service-organisations", headers=admin, json={"name": "机构"}),
             201)
    c = ok(client.post(f"{base}/service-contracts", headers=admin, json={
        "organisation_id": org["id"], "title": "合同", "starts_on": "2025-01-01",
        "ends_on": "2025-12-31"}), 201)
    rules = ok(client.get(f"{base}/service-contracts/{c['id']}/compliance?as_of=2025-06-30",
                          headers=admin))["obligations"]
    by_key = {r["key"]: r for r in rules}
    assert by_key["jinbei_setup_rules"]["within_months"] == 2
    assert by_key["jinbei_quarterly_inspection"]["count"] == 2
    assert "jinbei_year_end_report" not in by_key
