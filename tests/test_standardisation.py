"""Safety standardisation (seed 003, Changshu): the certification lifecycle over HTTP, what
bars a renewal, look-backs, accidents, classification, and the programme's progress per
板块 against the targets, every figure counted by hand."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select
from stdnum.cn import uscc

from anjian.clock import local_today
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.hazards.models import Hazard
from anjian.jobs import embedded
from anjian.standardisation.models import Certification, Check, EnterpriseClass
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

TODAY = local_today()
CS = "/api/v1/tenants/cs-std"
CERTS = f"{CS}/standardisation/certifications"
# The tenant's programme (tenants/changshu.toml's shape, with targets a test can reach).
SETTINGS = {"anjian_changshu": {
    "year": 2019, "target_achieved_total": 100, "target_achieved_ratio": 0.7,
    "target_key_industry_ratio": 1.0, "target_renewed_total": 10,
    "target_renewed_ratio_of_due": 0.5, "target_demonstration": 5, "target_lookbacks": 15,
    "target_key_industry_lookbacks": 3, "min_delisting_ratio": 0.05,
    "targets_due": "2019-12-31"}}


@pytest.fixture
def cs(factory):
    tenant = factory.tenant("cs-std", plugins=["anjian_changshu"], level="county", settings=SETTINGS)
    other = factory.tenant("cs-other", plugins=["anjian_changshu"], level="county", settings=SETTINGS)
    meili = factory.area(tenant, "meili", name="梅李镇")
    zhennan = factory.area(tenant, "meili-zhennan", kind="village", parent_id=meili, name="珍南村")
    grid = factory.area(tenant, "meili-zhennan-g1", kind="grid", parent_id=zhennan, name="珍南村第一网格")
    dongbang = factory.area(tenant, "dongbang", name="董浜镇")
    huangshi = factory.area(tenant, "dongbang-huangshi", kind="village", parent_id=dongbang, name="黄石村")
    csetdz = factory.area(tenant, "csetdz", name="常熟经济技术开发区")
    park = factory.area(tenant, "csetdz-park", kind="industrial_park", parent_id=csetdz, name="装备产业园")
    users = {role: bearer(factory.user(f"cs-{role}", {tenant: role})[1])
             for role in ("tenant_admin", "supervisor", "service_org", "viewer")}
    users["other"] = bearer(factory.user("cs-other-admin", {other: "tenant_admin"})[1])
    return {"id": tenant, "other": other, "areas": {"meili": meili, "zhennan": zhennan, "grid": grid,
            "dongbang": dongbang, "huangshi": huangshi, "csetdz": csetdz, "park": park}, **users}


def enterprise(app, tenant_id, n, **fields) -> int:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        row = Enterprise(credit_code=fields.pop("credit_code", f"9132058100{n:08d}"), name=f"常熟标准化企业{n}",
                         address=fields.pop("address", "常熟市梅李镇"), scale=fields.pop("scale", "micro"),
                         **fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def post(client, url, headers, body, etag=None):
    return client.post(url, json=body, headers={**headers, **({"If-Match": etag} if etag else {})})


def step(client, headers, cert_id, **body):
    """One step with the certification's current ETag; the response."""
    etag = client.get(f"{CERTS}/{cert_id}", headers=headers).headers["ETag"]
    return post(client, f"{CERTS}/{cert_id}/transitions", headers, body, etag)


def test_a_certification_from_application_to_renewal_and_delisting(app, client, cs):
    e = enterprise(app, cs["id"], 1, area_id=cs["areas"]["grid"])
    admin, sup, org = cs["tenant_admin"], cs["supervisor"], cs["service_org"]
    r = post(client, CERTS, sup, {"enterprise_id": e, "scheme": "small_micro", "applied_on": "2023-04-01"})
    assert r.status_code == 201, r.json
    cert = r.json["id"]
    assert (r.json["state"], r.json["state_label"], r.json["scheme_label"]) == ("applied", "申报创建", "小微企业标准化")
    again = post(client, CERTS, sup, {"enterprise_id": e, "scheme": "small_micro"})
    assert again.status_code == 409 and "已有「小微企业标准化」标准化记录" in again.json["detail"]

    # Steps need If-Match, the right state and the right role; errors are in Chinese.
    no_etag = post(client, f"{CERTS}/{cert}/transitions", sup, {"action": "self_evaluate", "score": "80"})
    assert no_etag.status_code == 428
    early = step(client, sup, cert, action="renew")
    assert early.status_code == 409 and early.json["detail"] == "标准化记录当前状态为「申报创建」，不能换证"
    assert step(client, cs["viewer"], cert, action="self_evaluate", score="80").status_code == 403
    missing = step(client, sup, cert, action="self_evaluate")
    assert missing.status_code == 422 and missing.json["errors"] == {"score": ["必填项"]}
    r = step(client, sup, cert, action="self_evaluate", score="82.5", report="自评报告", on="2023-05-10")
    assert (r.status_code, r.json["state"], r.json["self_score"]) == (200, "self_evaluated", "82.50")

    # A failed review goes back to 申报创建; a passed one is 达标 with a certificate for 3 years.
    r = step(client, sup, cert, action="review", reviewer="bureau", score="55", passed=False, on="2023-06-01")
    assert r.json["state"] == "applied"
    step(client, sup, cert, action="self_evaluate", score="85", on="2023-06-20")
    no_number = step(client, sup, cert, action="review", reviewer="bureau", score="88", passed=True)
    assert no_number.status_code == 422 and "certificate_no" in no_number.json["errors"]
    r = step(client, sup, cert, action="review", reviewer="bureau", score="88", passed=True,
             certificate_no="苏AQBWⅢ2023-001", on="2023-07-01")
    assert r.status_code == 200, r.json
    assert (r.json["state"], r.json["issued_on"], r.json["expires_on"]) == ("achieved", "2023-07-01", "2026-07-01")

    # The renewal window opens 3 months before expiry: 2026-04-01; today is later.
    opened = step(client, admin, cert, action="open_renewal")
    assert opened.status_code == 200 and opened.json["state"] == "renewal_due"
    assert step(client, admin, cert, action="start_renewal").json["state"] == "re_evaluating"

    # What bars the renewal: a fatal accident in the certificate's period, an open major
    # hazard, and (for 换证 without review) a change of address since it was certified.
    accident = post(client, f"{CS}/accidents", sup, {"enterprise_id": e, "occurred_on": "2024-03-02",
                                                     "severity": "fatal", "deaths": 1, "description": "机械伤害"})
    assert accident.status_code == 201, accident.json
    with app.app_context(), scoped(db.session, Scope.tenant(cs["id"])):
        db.session.add(Hazard(enterprise_id=e, source="department", title="粉尘除尘系统未设泄爆装置",
                              grade="major", found_on=TODAY))
        db.session.get(Enterprise, e).address = "常熟市梅李镇新厂区"
        db.session.commit()
    barred = step(client, admin, cert, action="renew")
    assert barred.status_code == 409
    assert barred.json["blockers"] == [
        "证书有效期内发生死亡事故（2024-03-02），不得换证",
        "企业有 1 项重大事故隐患未整改销号，不得换证",
        "需重新评审（地址已变更（搬迁、改建或扩大范围）），须经评审后方可换证"]
    assert barred.json["detail"].startswith("不能换证：证书有效期内发生死亡事故")
    shown = client.get(f"{CERTS}/{cert}", headers=admin).json
    assert shown["blockers"] == barred.json["blockers"]
    assert shown["rereview_reason"] == "地址已变更（搬迁、改建或扩大范围）"
    # A review is barred by the accident and the hazard too, but a failed one is not.
    assert step(client, admin, cert, action="review", reviewer="bureau", score="90", passed=True,
                certificate_no="X").status_code == 409
    failed = step(client, admin, cert, action="review", reviewer="bureau", score="40", passed=False)
    assert failed.json["state"] == "renewal_due"

    # Delisting is the bureau's; a service organisation does not even see an enterprise not
    # assigned to it; the reason is required.
    assert client.get(f"{CERTS}/{cert}", headers=org).status_code == 404
    assert step(client, admin, cert, action="delist").status_code == 422
    r = step(client, admin, cert, action="delist", reason="发生死亡事故")
    assert (r.json["state"], r.json["delisting_reason"]) == ("delisted", "发生死亡事故")
    history = client.get(f"{CERTS}/{cert}", headers=admin).json["history"]
    assert [h["action"] for h in history] == [
        "create", "self_evaluate", "review", "self_evaluate", "review", "open_renewal", "start_renewal",
        "review", "delist"]
    assert [h["to_state"] for h in history][-3:] == ["re_evaluating", "renewal_due", "delisted"]

    # An id beyond PostgreSQL's integers is as absent as any other.
    assert client.get(f"{CERTS}/{2**40}", headers=admin).status_code == 404
    # Another tenant sees none of it.
    assert client.get(f"{CERTS}/{cert}", headers=cs["other"]).status_code == 404
    assert client.get(f"/api/v1/tenants/cs-other/standardisation/certifications/{cert}",
                      headers=cs["other"]).status_code == 404


def test_a_clean_renewal_and_the_look_back_that_recommends_delisting(app, client, cs):
    e = enterprise(app, cs["id"], 2)
    sup = cs["supervisor"]
    with app.app_context(), scoped(db.session, Scope.tenant(cs["id"])):
        row = Certification(enterprise_id=e, scheme="small_micro", state="achieved", applied_on=dt.date(2023, 1, 5),
                            certificate_no="C-2", issued_on=TODAY - dt.timedelta(days=3 * 365 - 30),
                            expires_on=TODAY + dt.timedelta(days=30),
                            certified_as={"address": "常熟市梅李镇", "industry_code": "", "main_products": ""})
        db.session.add(row)
        db.session.commit()
        cert = row.id
    assert step(client, sup, cert, action="open_renewal").status_code == 200
    assert step(client, sup, cert, action="start_renewal").status_code == 200
    # A look-back (by the service organisation) recommends delisting: the Changshu plugin then
    # refuses 换证 without a review, and the bureau sees it on its delisting list.
    org = post(client, f"{CS}/service-organisations", cs["tenant_admin"], {"name": "常熟安评技术服务有限公司"})
    assert org.status_code == 201, org.json
    check = post(client, f"{CERTS}/{cert}/checks", cs["service_org"],
                 {"kind": "lookback", "checked_on": TODAY.isoformat(), "conclusion": "recommend_delisting",
                  "organisation_id": org.json["id"], "findings": "安全管理制度未落实"})
    assert check.status_code == 404, check.json  # a service organisation sees its assigned enterprises only
    check = post(client, f"{CERTS}/{cert}/checks", sup,
                 {"kind": "lookback", "checked_on": TODAY.isoformat(), "conclusion": "recommend_delisting",
                  "organisation_id": org.json["id"], "findings": "安全管理制度未落实"})
    assert check.status_code == 201 and check.json["conclusion_label"] == "建议摘牌"
    assert post(client, f"{CERTS}/{cert}/checks", sup, {"kind": "audit", "checked_on": TODAY.isoformat(),
                                                      "conclusion": "rectify"}).status_code == 422
    listed = client.get(f"{CERTS}?delisting_recommended=true", headers=sup).json
    assert [c["id"] for c in listed["items"]] == [cert]
    barred = step(client, sup, cert, action="renew")
    assert barred.status_code == 409 and len(barred.json["blockers"]) == 1
    assert "建议摘牌" in barred.json["blockers"][0]
    # A passed review settles it: a new certificate, one renewal, the recommendation cleared.
    r = step(client, sup, cert, action="review", reviewer="organisation", organisation_id=org.json["id"],
             score="86", passed=True, certificate_no="C-2R")
    assert r.status_code == 200, r.json
    assert (r.json["state"], r.json["renewals"], r.json["renewed_on"], r.json["delisting_recommended"]) == (
        "achieved", 1, TODAY.isoformat(), False)
    assert r.json["expires_on"] == TODAY.replace(year=TODAY.year + 3).isoformat()
    assert step(client, sup, cert, action="demonstrate").json["demonstration"] is True


def test_exemption_and_a_bad_step_are_told_in_chinese(app, client, cs):
    e = enterprise(app, cs["id"], 3)
    sup = cs["supervisor"]
    cert = post(client, CERTS, sup, {"enterprise_id": e}).json["id"]
    assert step(client, sup, cert, action="exempt").json["errors"] == {"reason": ["必填项"]}
    r = step(client, sup, cert, action="exempt", reason="企业正在搬迁，暂不具备创建条件")
    assert (r.json["state"], r.json["exempt_reason"]) == ("exempt", "企业正在搬迁，暂不具备创建条件")
    assert step(client, sup, cert, action="demonstrate").status_code == 409
    assert step(client, sup, cert, action="fly").status_code == 422
    assert step(client, sup, cert, action="resume").json["state"] == "applied"
    future = step(client, sup, cert, action="self_evaluate", score="80",
                  on=(TODAY + dt.timedelta(days=2)).isoformat())
    assert future.status_code == 422 and future.json["errors"] == {"on": ["日期不能晚于今天"]}
    unknown = post(client, CERTS, sup, {"enterprise_id": 2**31 - 1})
    assert unknown.status_code == 422 and unknown.json["errors"] == {"enterprise_id": ["企业不存在"]}
    # Changshu runs 小微企业标准化 and 三级 (its plugin's rules), not 一级.
    other = post(client, CERTS, sup, {"enterprise_id": e, "scheme": "level1"})
    assert other.status_code == 422 and other.json["detail"] == "本单位不开展「一级」标准化"
    assert other.json["errors"] == {"scheme": ["本单位开展：小微企业标准化、三级"]}
    assert post(client, CERTS, sup, {"enterprise_id": e, "scheme": "level3"}).status_code == 201


# --- the programme's progress, counted by hand -------------------------------------------

def _world(app, cs):
    """板块 and enterprises of a Changshu-like county, 2019 (every number below is the
    test's; the expected figures in the test are counted from this description):

    梅李镇 (its enterprises spread over the town, a village and a grid): 101 small or micro
    enterprises: 71 achieved in 2019 and never renewed (62 of no key industry, 3 of them
    demonstration; 4 液氨制冷; 5 有限空间), 10 renewed in 2019, 4 whose certificate fell due
    on 2019-11-01 and is not renewed (期满换证), 2 delisted in 2019, 5 applied (1 液氨制冷),
    9 with no record (1 有限空间); 20 above scale, no record. 13 achieved enterprises looked
    back at in 2019 (10 of no key industry, one of them twice and once in 2018; 3 液氨制冷).
    董浜镇: 50 small or micro: 30 achieved, 20 with no record; 5 劳动密集 (2 achieved).
    开发区: 10 small or micro, all achieved; 20 above scale, 5 achieved (1 demonstration,
    1 looked back at in 2019).
    No 板块: 5 micro enterprises, no record.
    """
    areas = cs["areas"]
    n = iter(range(1000, 2000))
    rows = []

    def add(count, area, state=None, scale="micro", **extra):
        flags = {k: extra.pop(k) for k in ("ammonia_refrigeration", "confined_space", "labour_intensive")
                 if k in extra}
        for _ in range(count):
            rows.append((next(n), area, scale, state, dict(extra), dict(flags)))

    meili_areas = [areas["meili"], areas["zhennan"], areas["grid"]]
    for i in range(70 - 8):
        add(1, meili_areas[i % 3], "achieved", demonstration=i < 3, looked=2019 if i < 10 else None)
    add(3, areas["zhennan"], "achieved", ammonia_refrigeration=True, looked=2019)
    add(1, areas["zhennan"], "achieved", ammonia_refrigeration=True)
    add(5, areas["grid"], "achieved", confined_space=True)
    add(1, areas["meili"], "applied", ammonia_refrigeration=True)
    add(1, areas["meili"], None, confined_space=True)
    add(10, areas["grid"], "renewed")
    add(4, areas["zhennan"], "renewal_due")
    add(2, areas["meili"], "delisted")
    add(4, areas["meili"], "applied")
    add(8, areas["meili"], None)
    add(20, areas["meili"], None, scale="above")
    add(30, areas["huangshi"], "achieved")
    add(2, areas["dongbang"], "achieved", labour_intensive=True)
    add(3, areas["dongbang"], None, labour_intensive=True)
    add(15, areas["dongbang"], None)
    add(10, areas["park"], "achieved")
    add(1, areas["csetdz"], "achieved", scale="above", demonstration=True, looked=2019)
    add(4, areas["csetdz"], "achieved", scale="above")
    add(15, areas["csetdz"], None, scale="above")
    add(5, None, None)
    return rows


def _store(app, tenant_id, rows):
    """The world's enterprises and certifications, written as the records would be."""
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        looked_twice = False
        for n, area, scale, state, extra, flags in rows:
            e = Enterprise(credit_code=f"91320581{n:010d}", name=f"企业{n}", scale=scale, area_id=area, **flags)
            db.session.add(e)
            db.session.flush()
            if state is None:
                continue
            cert = Certification(enterprise_id=e.id, scheme="small_micro", applied_on=dt.date(2018, 3, 1),
                                 state="achieved", certificate_no=f"N{n}", issued_on=dt.date(2019, 5, 1),
                                 expires_on=dt.date(2022, 5, 1), demonstration=extra.get("demonstration", False))
            if state == "applied":
                cert.state, cert.certificate_no, cert.issued_on, cert.expires_on = "applied", None, None, None
            elif state == "renewed":
                cert.renewals, cert.renewed_on = 1, dt.date(2019, 9, 1)
                cert.issued_on, cert.expires_on = dt.date(2019, 9, 1), dt.date(2022, 9, 1)
            elif state == "renewal_due":
                cert.state, cert.issued_on, cert.expires_on = "renewal_due", dt.date(2016, 11, 1), dt.date(2019, 11, 1)
            elif state == "delisted":
                cert.state, cert.delisted_on = "delisted", dt.date(2019, 8, 1)
            db.session.add(cert)
            db.session.flush()
            if extra.get("looked") == 2019:
                db.session.add(Check(certification_id=cert.id, kind="lookback", checked_on=dt.date(2019, 6, 1),
                                     conclusion="pass"))
                if not looked_twice:  # one certification looked back at twice counts once
                    db.session.add(Check(certification_id=cert.id, kind="audit", checked_on=dt.date(2019, 10, 1),
                                         conclusion="pass"))
                    looked_twice = True
                    db.session.add(Check(certification_id=cert.id, kind="lookback", checked_on=dt.date(2018, 6, 1),
                                         conclusion="pass"))
        db.session.commit()


def test_progress_per_sector_against_the_targets_counted_by_hand(app, client, cs):
    rows = _world(app, cs)
    assert sum(1 for r in rows if r[4].get("looked") == 2019) == 10 + 3 + 1  # the world as described
    _store(app, cs["id"], rows)
    r = client.put(f"{CS}/standardisation/targets", headers=cs["supervisor"],
                   json={"year": 2019, "area_id": cs["areas"]["meili"], "metric": "achieved_total", "value": "90"})
    assert r.status_code == 200, r.json
    r = client.get(f"{CS}/standardisation/progress?year=2019", headers=cs["viewer"])
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["by"], body["key_industries"]) == ("2019-12-31", ["ammonia_refrigeration", "confined_space",
                                                                   "labour_intensive"])
    areas = {a["name"]: a for a in body["areas"]}
    assert list(areas) == ["常熟经济技术开发区", "董浜镇", "梅李镇", "未划分板块"]  # by code: csetdz, dongbang, meili

    meili = areas["梅李镇"]
    assert meili["small_micro"] == 101
    # in force: 62 + 4 (液氨) + 5 (有限空间) achieved, 10 renewed, 4 due = 85
    assert meili["achieved_total"] == 85
    assert meili["achieved_ratio"] == round(85 / 101, 4)
    assert (meili["key_industry_total"], meili["key_industry_achieved"]) == (11, 9)
    assert {k["flag"]: (k["total"], k["achieved"]) for k in meili["key_industries"]} == {
        "ammonia_refrigeration": (5, 4), "confined_space": (6, 5), "labour_intensive": (0, 0)}
    assert (meili["renewed_total"], meili["due_total"]) == (10, 14)
    assert meili["renewed_ratio_of_due"] == round(10 / 14, 4)
    assert meili["demonstration"] == 3
    assert (meili["lookbacks"], meili["key_industry_lookbacks"]) == (13, 3)
    assert (meili["delisted"], meili["delisting_ratio"]) == (2, round(2 / 23, 4))
    assert meili["targets"]["achieved_total"] == 90.0
    assert meili["below"] == ["achieved_total", "key_industry_ratio"]  # 85 < 90, 9/11 < 100 %

    dongbang = areas["董浜镇"]
    assert (dongbang["small_micro"], dongbang["achieved_total"], dongbang["achieved_ratio"]) == (50, 32, 0.64)
    assert (dongbang["key_industry_total"], dongbang["key_industry_achieved"], dongbang["key_industry_ratio"]) == (
        5, 2, 0.4)
    assert (dongbang["renewed_ratio_of_due"], dongbang["delisting_ratio"]) == (None, None)
    assert dongbang["below"] == ["achieved_ratio", "key_industry_ratio"]

    zone = areas["常熟经济技术开发区"]
    assert (zone["small_micro"], zone["achieved_total"], zone["achieved_ratio"]) == (10, 10, 1.0)
    assert (zone["demonstration"], zone["lookbacks"], zone["delisted"], zone["delisting_ratio"]) == (1, 1, 0, 0.0)
    assert zone["below"] == ["delisting_ratio"]  # 0 delisted of 1 looked back at: below 5 %

    none = areas["未划分板块"]
    assert (none["small_micro"], none["achieved_total"], none["below"]) == (5, 0, [])

    city = body["city"]
    assert (city["small_micro"], city["achieved_total"]) == (101 + 50 + 10 + 5, 85 + 32 + 10)
    assert city["achieved_ratio"] == round(127 / 166, 4)
    assert (city["key_industry_total"], city["key_industry_achieved"]) == (16, 11)
    assert (city["renewed_total"], city["due_total"], city["demonstration"]) == (10, 14, 4)
    assert (city["lookbacks"], city["key_industry_lookbacks"], city["delisted"]) == (14, 3, 2)
    assert city["delisting_ratio"] == round(2 / 24, 4)
    assert city["targets"] == {"achieved_total": 100.0, "achieved_ratio": 0.7, "key_industry_ratio": 1.0,
                               "renewed_total": 10.0, "renewed_ratio_of_due": 0.5, "demonstration": 5.0,
                               "lookbacks": 15.0, "key_industry_lookbacks": 3.0, "delisting_ratio": 0.05}
    assert city["below"] == ["key_industry_ratio", "demonstration", "lookbacks"]

    # Another year has no programme; another tenant sees nothing of this one.
    assert client.get(f"{CS}/standardisation/progress?year=2020", headers=cs["viewer"]).json["city"]["targets"] == {}
    assert client.get(f"{CS}/standardisation/progress?year=2019", headers=cs["other"]).status_code == 404


def test_classification_stores_the_plugins_abcd(app, client, cs):
    _store(app, cs["id"], _world(app, cs))
    r = client.post(f"{CS}/standardisation/classifications", headers=cs["supervisor"], json={})
    assert r.status_code == 202, r.json
    embedded.drain(app)
    job = client.get(r.headers["Location"], headers=cs["supervisor"]).json
    assert job["status"] == "finished", job
    # A: 3 (梅李) + 1 (开发区) demonstration; B: 10 renewed; C: in force, never renewed, not
    # demonstration: 85 - 3 - 10 = 72 in 梅李, 32 in 董浜, 10 + 4 in 开发区 = 118; D: the rest of
    # 101 + 50 + 10 + 5 + 20 + 20 = 206 enterprises: 206 - 4 - 10 - 118 = 74.
    assert job["result"]["classes"] == {"A": 4, "B": 10, "C": 118, "D": 74}
    progress = client.get(f"{CS}/standardisation/progress?year=2019", headers=cs["viewer"]).json
    assert progress["city"]["classes"] == {"A": 4, "B": 10, "C": 118, "D": 74}
    # 梅李镇: A 3, B 10, C 85 - 13 = 72, D 101 + 20 - 85 = 36; no 板块: 5 D.
    assert {a["name"]: a["classes"] for a in progress["areas"]}["梅李镇"] == {"A": 3, "B": 10, "C": 72, "D": 36}
    assert {a["name"]: a["classes"] for a in progress["areas"]}["未划分板块"] == {"D": 5}
    listed = client.get(f"{CS}/standardisation/classifications?code=A&per_page=10", headers=cs["viewer"]).json
    assert listed["total"] == 4 and {c["label"] for c in listed["items"]} == {"示范企业"}
    with app.app_context(), scoped(db.session, Scope.tenant(cs["id"])):
        assert db.session.scalar(select(EnterpriseClass.inspections_per_year).where(
            EnterpriseClass.code == "D").limit(1)) >= 4


# --- decomposition: a full-time safety officer's grid ---------------------------------------

def test_a_safety_officer_given_a_grid_sees_and_pushes_its_enterprises_only(app, client, cs):
    areas = cs["areas"]
    in_grid = enterprise(app, cs["id"], 11, area_id=areas["grid"])
    due_soon = enterprise(app, cs["id"], 12, area_id=areas["grid"])
    fresh = enterprise(app, cs["id"], 13, area_id=areas["grid"])
    in_village = enterprise(app, cs["id"], 14, area_id=areas["zhennan"])
    elsewhere = enterprise(app, cs["id"], 15, area_id=areas["dongbang"])
    with app.app_context(), scoped(db.session, Scope.tenant(cs["id"])):
        db.session.add_all([
            Certification(enterprise_id=in_grid, scheme="small_micro", state="applied", applied_on=TODAY),
            Certification(enterprise_id=due_soon, scheme="small_micro", state="achieved",
                          applied_on=dt.date(2023, 1, 1),
                          certificate_no="G-12", issued_on=TODAY - dt.timedelta(days=1000),
                          expires_on=TODAY + dt.timedelta(days=20),
                          certified_as={"address": "常熟市梅李镇", "industry_code": "", "main_products": ""}),
            Certification(enterprise_id=elsewhere, scheme="small_micro", state="applied", applied_on=TODAY)])
        db.session.commit()
    admin = cs["tenant_admin"]
    members = f"{CS}/members"
    r = client.post(members, headers=admin, json={"username": "cs-std-officer", "password": "Officer-pass-2019",
                                                 "role": "supervisor", "area_id": areas["grid"]})
    assert r.status_code == 201 and r.json["area_id"] == areas["grid"], r.json
    refused = client.post(members, headers=admin, json={"username": "cs-std-officer2", "password": "Officer-pass-2019",
                                                       "role": "supervisor", "area_id": 2**31 - 1})
    assert refused.status_code == 422 and refused.json["errors"] == {"area_id": ["区域不存在"]}
    login = client.post("/api/v1/auth/login", json={"username": "cs-std-officer", "password": "Officer-pass-2019"})
    officer = bearer(login.json["token"])

    listed = client.get(f"{CS}/enterprises?per_page=100", headers=officer).json
    assert sorted(e["id"] for e in listed["items"]) == [in_grid, due_soon, fresh]
    assert client.get(f"{CS}/enterprises/{elsewhere}", headers=officer).status_code == 404
    certs = client.get(CERTS, headers=officer).json
    assert sorted(c["enterprise_id"] for c in certs["items"]) == [in_grid, due_soon]
    # His list: the certificate whose renewal window opened first (due 3 months before
    # expiry, i.e. already), then the others by name; how far each has got.
    work = client.get(f"{CS}/standardisation/worklist", headers=officer).json["items"]
    assert [(w["enterprise_id"], w["next_step"], w["stage"]) for w in work] == [
        (due_soon, "期满换证", 3), (in_grid, "提交自评", 1), (fresh, "登记创建", 0)]
    assert work[0]["due"] < TODAY.isoformat()
    # The bureau filters by an area and the areas below it.
    by_area = client.get(f"{CERTS}?area_id={areas['zhennan']}", headers=admin).json["items"]
    assert sorted(c["enterprise_id"] for c in by_area) == [in_grid, due_soon]
    assert client.get(f"{CERTS}?area_id={areas['dongbang']}", headers=admin).json["items"][0]["enterprise_id"] == (
        elsewhere)
    # The bureau sees the whole county; the village's enterprise is not the grid's.
    everyone = client.get(f"{CS}/standardisation/worklist?per_page=100", headers=admin).json["items"]
    assert {w["enterprise_id"] for w in everyone} >= {in_grid, due_soon, fresh, in_village, elsewhere}
    # Given the village, the officer sees its grid too (the areas below it).
    member_id = r.json["id"]
    assert client.patch(f"{members}/{member_id}", headers=admin,
                        json={"role": "supervisor", "area_id": areas["zhennan"]}).status_code == 200
    listed = client.get(f"{CS}/enterprises?per_page=100", headers=officer).json
    assert sorted(e["id"] for e in listed["items"]) == [in_grid, due_soon, fresh, in_village]


# --- the programme as a campaign: timeline, targets, classes as tasks, enforcement -------------

def test_the_changshu_campaign_lays_out_its_timeline_targets_classes_and_enforcement(app, client, cs):
    areas, sup = cs["areas"], cs["supervisor"]
    achieved = enterprise(app, cs["id"], 21, area_id=areas["grid"])
    applied = enterprise(app, cs["id"], 22, area_id=areas["grid"], scale="below")
    nothing = enterprise(app, cs["id"], 23, area_id=areas["huangshi"], ammonia_refrigeration=True)
    exempt = enterprise(app, cs["id"], 24, area_id=areas["huangshi"])
    big = enterprise(app, cs["id"], 25, area_id=areas["park"], scale="above")
    with app.app_context(), scoped(db.session, Scope.tenant(cs["id"])):
        db.session.add_all([
            Certification(enterprise_id=achieved, scheme="small_micro", state="achieved",
                          applied_on=dt.date(2019, 1, 2),
                          certificate_no="S-21", issued_on=dt.date(2019, 3, 1), expires_on=dt.date(2022, 3, 1)),
            Certification(enterprise_id=applied, scheme="small_micro", state="applied", applied_on=dt.date(2019, 4, 2)),
            Certification(enterprise_id=exempt, scheme="small_micro", state="exempt", applied_on=dt.date(2019, 4, 2),
                          exempt_reason="厂房改建中")])
        db.session.commit()
    r = client.post(f"{CS}/campaigns", headers=sup, json={"kind": "changshu_small_micro_standardisation_2019"})
    assert r.status_code == 201, r.json
    campaign = r.json["id"]
    # The seed's timeline as tasks: 排摸 by 30 April, plans by mid-May, the year's work by December.
    tasks = client.get(f"{CS}/campaigns/{campaign}/tasks?per_page=50", headers=sup).json["items"]
    dated = [(t["title"], t["deadline"]) for t in tasks if t["enterprise_id"] is None]
    assert ("全面调查排摸", "2019-04-30") in dated and ("制定方案、分解任务", "2019-05-15") in dated
    assert ("报送暂不争创企业名单及原因", "2019-04-30") in dated and ("完成年度目标", "2019-12-31") in dated
    # Targets by the plugin's rule: every below-scale enterprise but the exempted one.
    r = client.post(f"{CS}/campaigns/{campaign}/targets", headers=sup, json={"rule": "plugin"})
    assert r.status_code in (200, 201), r.json
    targets = client.get(f"{CS}/campaigns/{campaign}/targets?per_page=50", headers=sup).json["items"]
    assert sorted(t["enterprise_id"] for t in targets) == sorted([achieved, applied, nothing])
    assert big not in {t["enterprise_id"] for t in targets} and exempt not in {t["enterprise_id"] for t in targets}
    # Enforcement candidates: the targets with no certificate in force (D), with why.
    r = client.get(f"{CS}/enforcement-referrals/candidates?campaign_id={campaign}", headers=sup)
    assert r.status_code == 200, r.json
    reasons = {c["enterprise_id"]: c["reasons"] for c in r.json["items"]}
    assert set(reasons) == {applied, nothing}
    assert "未开展标准化创建" in reasons[nothing][0] and "申报创建中" in reasons[applied][0]
    # The classes' inspections as dated tasks of each enterprise in the campaign: C twice a
    # year (30 June, 31 December), D four times, a key-industry D five times.
    r = client.post(f"{CS}/standardisation/classifications", headers=sup, json={"campaign_id": campaign, "year": 2019})
    assert r.status_code == 202, r.json
    embedded.drain(app)
    job = client.get(r.headers["Location"], headers=sup).json
    assert job["status"] == "finished", job
    tasks = client.get(f"{CS}/campaigns/{campaign}/tasks?per_page=100", headers=sup).json["items"]
    mine = {}
    for t in tasks:
        if t["key"].startswith("supervision-2019-"):
            mine.setdefault(t["enterprise_id"], []).append(t["deadline"])
    assert sorted(mine[achieved]) == ["2019-06-30", "2019-12-31"]
    assert sorted(mine[applied]) == ["2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31"]
    assert sorted(mine[nothing]) == ["2019-03-31", "2019-05-31", "2019-08-31", "2019-10-31", "2019-12-31"]
    assert len(mine[big]) == 4  # not a target, but classified (D): its inspections too
    again = client.post(f"{CS}/standardisation/classifications", headers=sup,
                        json={"campaign_id": campaign, "year": 2019})
    embedded.drain(app)
    assert client.get(again.headers["Location"], headers=sup).json["result"]["inspection_tasks"] == (
        job["result"]["inspection_tasks"])
    assert client.post(f"{CS}/standardisation/classifications", headers=sup,
                       json={"campaign_id": 2**31 - 1}).status_code == 422


def test_certificates_of_a_scheme_the_tenant_does_not_run_are_not_imported(app, client, cs):
    """Changshu runs 小微企业标准化 and 三级: a city list's 一级 certificate is told, not imported."""
    base = "91320581MA0000031"
    credit = base + uscc.calc_check_digit(base)  # a valid code: the list is checked
    e = enterprise(app, cs["id"], 31, credit_code=credit)
    lines = ["序号,企业名称,统一社会信用代码,标准化类别,证书编号,发证日期",
             f"1,常熟标准化企业31,{credit},一级,苏AQBⅠ(2020)001,2020年3月1日",
             f"2,常熟标准化企业31,{credit},小微企业,常安标小微〔2020〕031,2020年3月1日"]
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    r = client.post(f"{CS}/standardisation/certificate-imports", headers=cs["supervisor"],
                    data={"file": (io.BytesIO(data), "证书名单.csv")}, content_type="multipart/form-data")
    assert r.status_code == 202, r.json
    embedded.drain(app)
    result = client.get(r.headers["Location"], headers=cs["supervisor"]).json["result"]
    assert (result["created"], result["rejected"]) == (1, 1), result["rejections"]
    assert result["rejections"][0]["row"] == 2 and "本单位不开展「一级」标准化" in result["rejections"][0]["message"]
    certs = client.get(f"{CERTS}?enterprise_id={e}", headers=cs["supervisor"]).json["items"]
    assert [(c["scheme"], c["state"]) for c in certs] == [("small_micro", "achieved")]
