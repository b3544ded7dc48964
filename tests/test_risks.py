"""Dual prevention (issue 20, the core's risks package): LEC and risk-matrix gradings at
their bounds, worked out by hand; the loop over HTTP (a point's controls become the
enterprise's checklist, a "no" raises a hazard on the point, closing it asks for a
re-grading, the re-grading is history); catalogues; the four-colour picture counted by
hand; the register and the city's export as workbooks; visibility and If-Match."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from anjian import plugin_api
from anjian.clock import local_today
from anjian.errors import Refused
from anjian.extensions import db
from anjian.hazards.models import Hazard
from anjian.plugin_api import RiskCatalogue, RiskCatalogueEntry, hookimpl
from anjian.plugins import catalogue as plugin_catalogue
from anjian.risks import feedback, grading
from anjian.risks import models as risk_models
from anjian.risks.models import RiskPoint
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer
from tests.test_hazards import add_enterprise, add_evidence, add_member, assign

TODAY = local_today()
CODE = "rk"
T = f"/api/v1/tenants/{CODE}"
R = f"{T}/risks"
PROBLEM = "application/problem+json"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
FIVE = {"responsible_person": "张三", "measures": "加装防护罩", "funds": "800",
        "deadline_workdays": 5, "contingency_plan": "停用该设备"}


class Catalogues:
    """A locality offering one risk catalogue, with the columns of its city's export."""

    @hookimpl
    def register_risk_catalogues(self):
        return [RiskCatalogue(
            key="city_industry", title="某市较大风险目录（工业类）",
            entries=(
                RiskCatalogueEntry(
                    key="press", category="机械", name="冲床、剪板机", level="large", point_kind="equipment",
                    accident_type="机械伤害", managing_level="team", factors=(("thing", "光电保护失效"),),
                    controls=(("engineering", "安装光电保护装置"), ("ppe", "佩戴防护手套"))),
                RiskCatalogueEntry(key="ammonia", category="液氨制冷", name="液氨制冷机房", level="major"),
            ),
            export_columns=(("单位名称", "enterprise_name"), ("风险点", "point_name"), ("等级", "level"),
                            ("颜色", "colour"), ("事故类型", "accident_type"), ("管控措施", "controls")),
            export_sheet="风险报告")]


@pytest.fixture
def w(app, factory):
    registry = app.extensions["anjian.plugins"]
    if "rk_catalogues" not in registry.plugins:
        registry.register("rk_catalogues", Catalogues())
    tenant = factory.tenant(CODE, plugins=["rk_catalogues"])
    other = factory.tenant("rk-other")
    a = factory.area(tenant, "a", name="甲板块")
    a1 = factory.area(tenant, "a1", kind="grid", parent_id=a, name="甲一网格")
    b = factory.area(tenant, "b", name="乙板块")
    b1 = factory.area(tenant, "b1", kind="grid", parent_id=b, name="乙一网格")
    e = {n: add_enterprise(app, tenant, name) for n, name in
         ((1, "甲机械厂"), (2, "乙化工厂"), (3, "丙纸业"), (4, "丁制冷"))}
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        from anjian.enterprises.models import Enterprise

        for n, area in ((1, a1), (2, b), (3, a1)):
            db.session.get(Enterprise, e[n]).area_id = area
        db.session.commit()
    ids, h = {}, {}
    for name, role in (("admin", "tenant_admin"), ("sup", "supervisor"), ("viewer", "viewer"),
                       ("svc", "service_org")):
        ids[name], h[name] = add_member(app, factory, f"rk-{name}", tenant, role)
    ids["ent1"], h["ent1"] = add_member(app, factory, "rk-ent1", tenant, "enterprise", e[1])
    ids["ent2"], h["ent2"] = add_member(app, factory, "rk-ent2", tenant, "enterprise", e[2])
    ids["other"], h["other"] = add_member(app, factory, "rk-other-admin", other, "tenant_admin")
    assign(app, tenant, e[1], ids["svc"])
    return {"app": app, "tenant": tenant, "e": e, "areas": {"a": a, "a1": a1, "b": b, "b1": b1},
            "ids": ids, "h": h}


def problem_of(r, status):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == PROBLEM
    assert CHINESE.search(r.json["title"])
    return r.json


def point_body(enterprise_id, name="冲压机", method="lec", values=(6, 6, 7), **more):
    body = {"enterprise_id": enterprise_id, "name": name, "kind": "equipment", "managing_level": "team",
            "method": method, "likelihood": values[0], "consequence": values[-1],
            "factors": [{"category": "thing", "description": "防护装置缺失"}], **more}
    if method == "lec":
        body["exposure"] = values[1]
    return body


def create(client, who, w, enterprise=1, **kwargs):
    r = client.post(f"{R}/points", json=point_body(w["e"][enterprise], **kwargs), headers=w["h"][who])
    assert r.status_code == 201, r.json
    return r.json


def etag(client, w, point_id, who="admin"):
    r = client.get(f"{R}/points/{point_id}", headers=w["h"][who])
    assert r.status_code == 200, r.json
    return r.headers["ETag"]


def with_etag(client, w, point_id, who="admin"):
    return {**w["h"][who], "If-Match": etag(client, w, point_id, who)}


def at_db(w):
    return scoped(db.session, Scope.tenant(w["tenant"]))


# --- grading, by hand -----------------------------------------------------------------------

@pytest.mark.parametrize(("likelihood", "e", "c", "score", "level"), [
    (6, 6, 7, "252", "large"),       # 160 < 252 ≤ 320: 较大
    (3, 6, 7, "126", "general"),     # 70 < 126 ≤ 160: 一般
    (10, 6, 7, "420", "major"),      # 420 > 320: 重大
    (3, 6, 3, "54", "low"),          # 54 ≤ 70: 低
    (6, 3, 15, "270", "large"),
    # 70 is the one bound the tables reach: 低; the next product up is 一般
    (10, 1, 7, "70", "low"), (1, 10, 7, "70", "low"), (10, 0.5, 15, "75", "general"),
    # 160 and 320 are no product: those beside them
    (10, 1, 15, "150", "general"), (6, 10, 3, "180", "large"),
    (10, 10, 3, "300", "large"), (3, 3, 40, "360", "major"),
    # the ends of the tables
    (0.1, 0.5, 1, "0.05", "low"), (10, 10, 100, "10000", "major"),
])
def test_lec_scores_and_levels_at_the_bounds(likelihood, e, c, score, level):
    graded = grading.grade("lec", likelihood, e, c)
    assert (graded.score, graded.level) == (Decimal(score), level)
    assert grading.grade("lec", str(likelihood), str(e), str(c)).score == Decimal(score)  # as text too


@pytest.mark.parametrize(("likelihood", "s", "score", "level"), [
    (5, 5, 25, "major"), (5, 4, 20, "major"),     # R ≥ 20: 重大
    (4, 4, 16, "large"), (3, 5, 15, "large"),     # 15–16: 较大
    (4, 3, 12, "general"), (3, 3, 9, "general"),  # 9–12: 一般
    (2, 4, 8, "low"), (1, 1, 1, "low"),           # ≤ 8: 低
])
def test_matrix_scores_and_levels_at_the_bounds(likelihood, s, score, level):
    graded = grading.grade("ls", likelihood, None, s)
    assert (graded.score, graded.level, graded.exposure) == (Decimal(score), level, None)


def test_values_outside_the_tables_are_refused_in_chinese():
    with pytest.raises(Refused) as refused:
        grading.grade("lec", 4, 6, 7)
    assert refused.value.errors == {"likelihood": ["L（事故发生的可能性） 须为以下之一：10、6、3、1、0.5、0.2、0.1"]}
    with pytest.raises(Refused) as refused:
        grading.grade("lec", 6, None, 8)
    assert set(refused.value.errors) == {"exposure", "consequence"}
    assert refused.value.errors["consequence"] == ["C（发生事故产生的后果） 须为以下之一：100、40、15、7、3、1"]
    with pytest.raises(Refused) as refused:
        grading.grade("ls", 6, 2, 0)
    assert set(refused.value.errors) == {"likelihood", "exposure", "consequence"}
    assert refused.value.errors["exposure"] == ["风险矩阵法不使用 E（暴露频繁程度）"]
    with pytest.raises(Refused):
        grading.grade("abc", 1, 1, 1)


def test_the_plugin_contract_knows_the_registers_vocabularies():
    assert plugin_catalogue.RISK_LEVELS == tuple(risk_models.LEVELS) == grading.LEVEL_ORDER
    assert plugin_catalogue.RISK_POINT_KINDS == tuple(risk_models.POINT_KINDS)
    assert plugin_catalogue.RISK_MANAGING_LEVELS == tuple(risk_models.MANAGING_LEVELS)
    assert plugin_catalogue.RISK_FACTOR_CATEGORIES == tuple(risk_models.FACTOR_CATEGORIES)
    assert plugin_catalogue.RISK_CONTROL_KINDS == tuple(risk_models.CONTROL_KINDS)


def test_a_catalogue_entry_is_checked():
    bad = RiskCatalogue(key="bad", title="目录", entries=(
        RiskCatalogueEntry(key="x", category="机械", name="冲床", level="red"),))
    with pytest.raises(plugin_catalogue.CatalogueError) as error:
        bad.check()
    assert error.value.field == "entries[0].level"
    bad = RiskCatalogue(key="bad", title="目录", entries=(), export_columns=(("名称", "nonsense"),))
    with pytest.raises(plugin_catalogue.CatalogueError) as error:
        bad.check()
    assert error.value.field == "export_columns[0]"


# --- over HTTP ------------------------------------------------------------------------------

def test_a_point_is_graded_and_a_value_not_in_the_table_is_422(client, w):
    point = create(client, "ent1", w)
    assert (point["score"], point["level"], point["level_label"], point["colour"]) == (252, "large", "较大风险", "橙")
    assert (point["likelihood"], point["exposure"], point["consequence"]) == (6, 6, 7)
    assert point["factors"] == [{"category": "thing", "description": "防护装置缺失", "category_label": "物的因素"}]
    assert [(g["score"], g["level"], g["reason"]) for g in point["gradings"]] == [(252, "large", "首次评价")]
    assert point["checklist_key"] == f"risk-{w['e'][1]}" and point["regrade_asked"] is False
    assert point["next_inspection_on"] == (TODAY + dt.timedelta(days=1)).isoformat()  # 班组: daily
    r = client.post(f"{R}/points", json=point_body(w["e"][1], values=(4, 6, 7)), headers=w["h"]["ent1"])
    assert problem_of(r, 422)["errors"] == {
        "likelihood": ["L（事故发生的可能性） 须为以下之一：10、6、3、1、0.5、0.2、0.1"]}
    r = client.post(f"{R}/points", json=point_body(w["e"][1], method="ls", values=(3, 6)), headers=w["h"]["ent1"])
    assert problem_of(r, 422)["errors"] == {"consequence": ["S（事故后果的严重性） 须为以下之一：1、2、3、4、5"]}
    matrix = create(client, "ent1", w, name="配电室", method="ls", values=(3, 4))
    assert (matrix["score"], matrix["level"], matrix["exposure"]) == (12, "general", None)
    # a level above the score's may be set (直接判定), never one below
    raised = create(client, "ent1", w, name="喷漆房", values=(3, 6, 3), level="major")
    assert (raised["score"], raised["level"]) == (54, "major")
    r = client.post(f"{R}/points", json=point_body(w["e"][1], level="general"), headers=w["h"]["ent1"])
    assert problem_of(r, 422)["errors"] == {"level": ["风险等级不能低于评价结果（较大风险）"]}
    scales = client.get(f"{R}/grading-scales", headers=w["h"]["viewer"]).json
    assert [v["value"] for v in scales["lec"]["exposure"]["values"]] == ["10", "6", "3", "2", "1", "0.5"]
    assert scales["inspection_days"] == {"company": 30, "workshop": 7, "team": 1, "post": 1}


def test_the_loop_from_controls_to_hazard_to_regrading(client, w):
    point = create(client, "ent1", w, controls=[{"kind": "engineering", "measure": "安装光电保护装置"},
                                                 {"kind": "management", "measure": "冲压岗位操作规程上墙"}])
    key = point["checklist_key"]
    checklist = client.get(f"{T}/checklist-templates/{key}", headers=w["h"]["ent1"]).json
    assert [(i["text"], i["category"]) for i in checklist["items"]] == [
        ("安装光电保护装置", "冲压机"), ("冲压岗位操作规程上墙", "冲压机")]
    assert checklist["version"] == 1 and checklist["source"] == "tenant"
    # An enterprise's own checklist is seen by whoever sees the enterprise: not by another
    # enterprise of the tenant, nor by a service organisation that does not serve it.
    for who, seen in (("ent1", True), ("sup", True), ("svc", True), ("ent2", False)):
        listed = client.get(f"{T}/checklist-templates", query_string={"per_page": 200},
                            headers=w["h"][who]).json["items"]
        assert (key in {t["key"] for t in listed}) is seen, who
        for url in (f"{T}/checklist-templates/{key}", f"{T}/checklist-templates/{key}?version=1",
                    f"{T}/checklist-templates/{key}/versions"):
            assert client.get(url, headers=w["h"][who]).status_code == (200 if seen else 404), (who, url)
    r = client.post(f"{T}/inspections", json={"enterprise_id": w["e"][2], "template_key": key},
                    headers=w["h"]["ent2"])
    assert r.status_code in (404, 422), r.json
    # the enterprise inspects itself with its own checklist, through the inspection routes
    r = client.post(f"{T}/inspections", json={"enterprise_id": w["e"][1], "template_key": key},
                    headers=w["h"]["ent1"])
    assert r.status_code == 201, r.json
    inspection_id = r.json["inspection"]["id"]
    first, second = (row["item_id"] for row in r.json["results"])
    r = client.put(f"{T}/inspections/{inspection_id}/results/{first}",
                   json={"answer": "no", "note": "光电保护失灵", "raise_hazard": {}}, headers=w["h"]["ent1"])
    assert r.status_code == 200, r.json
    hazard_id = r.json["hazard_id"]
    r = client.put(f"{T}/inspections/{inspection_id}/results/{second}", json={"answer": "yes"},
                   headers=w["h"]["ent1"])
    assert r.status_code == 200, r.json
    r = client.post(f"{T}/inspections/{inspection_id}/submit", json={}, headers=w["h"]["ent1"])
    assert r.status_code == 200, r.json
    with w["app"].app_context(), at_db(w):
        assert db.session.get(Hazard, hazard_id).risk_point_id == point["id"]
    seen = client.get(f"{R}/points/{point['id']}", headers=w["h"]["ent1"]).json
    assert [(h["id"], h["state"]) for h in seen["hazards"]] == [(hazard_id, "reported")]
    title = seen["hazards"][0]["title"]
    assert seen["inspected_on"] == TODAY.isoformat() and seen["regrade_asked"] is False
    # the hazard is rectified and verified: the point asks for a re-grading
    hazard_url = f"{T}/hazards/{hazard_id}"

    def move(who, action, **body):
        tag = client.get(hazard_url, headers=w["h"][who]).headers["ETag"]
        r = client.post(f"{hazard_url}/transitions", json={"action": action, **body},
                        headers={**w["h"][who], "If-Match": tag})
        assert r.status_code == 200, r.json

    move("ent1", "plan", **FIVE)
    proof = add_evidence(w["app"], w["tenant"], w["e"][1], w["ids"]["ent1"])
    move("ent1", "rectified", evidence_ids=proof)
    move("sup", "verify")
    asked = client.get(f"{R}/points/{point['id']}", headers=w["h"]["ent1"]).json
    assert asked["regrade_asked"] is True
    assert asked["regrade_reason"] == f"隐患“{title}”（编号 {hazard_id}）已验收销号"
    listed = client.get(f"{R}/points", query_string={"regrade": "true"}, headers=w["h"]["sup"]).json
    assert [p["id"] for p in listed["items"]] == [point["id"]]
    # re-grading: If-Match, a reason; it is history and the request is done
    url = f"{R}/points/{point['id']}/regrade"
    body = {"method": "lec", "likelihood": 3, "exposure": 6, "consequence": 7, "reason": "加装光电保护后复评"}
    assert problem_of(client.post(url, json=body, headers=w["h"]["ent1"]), 428)
    stale = {**w["h"]["ent1"], "If-Match": '"0123456789abcdef"'}
    assert problem_of(client.post(url, json=body, headers=stale), 412)
    no_reason = {k: v for k, v in body.items() if k != "reason"}
    assert problem_of(client.post(url, json=no_reason, headers=with_etag(client, w, point["id"], "ent1")), 422)
    r = client.post(url, json=body, headers=with_etag(client, w, point["id"], "ent1"))
    assert r.status_code == 200, r.json
    assert (r.json["score"], r.json["level"], r.json["regrade_asked"], r.json["regrade_reason"]) == (
        126, "general", False, "")
    assert [(g["score"], g["level"], g["reason"], g["actor_user_id"]) for g in r.json["gradings"]] == [
        (252, "large", "首次评价", w["ids"]["ent1"]), (126, "general", "加装光电保护后复评", w["ids"]["ent1"])]


def test_repeated_hazards_on_a_point_ask_for_regrading(client, w):
    point = create(client, "ent1", w, controls=[{"kind": "engineering", "measure": "安装光电保护装置"}])
    for n, note in enumerate(("第一次", "第二次"), 1):
        r = client.post(f"{T}/inspections", json={"enterprise_id": w["e"][1], "template_key": point["checklist_key"]},
                        headers=w["h"]["ent1"])
        inspection_id, item = r.json["inspection"]["id"], r.json["results"][0]["item_id"]
        r = client.put(f"{T}/inspections/{inspection_id}/results/{item}",
                       json={"answer": "no", "note": note, "raise_hazard": {}}, headers=w["h"]["ent1"])
        assert r.status_code == 200, r.json
        seen = client.get(f"{R}/points/{point['id']}", headers=w["h"]["ent1"]).json
        assert seen["regrade_asked"] is (n == 2)
    assert seen["regrade_reason"] == "90 日内发现隐患 2 项"
    assert feedback.REPEAT_HAZARDS == 2 and feedback.REPEAT_WINDOW_DAYS == 90


def test_a_catalogue_entry_prefills_the_point(client, w):
    catalogues = client.get(f"{R}/catalogues", headers=w["h"]["ent1"]).json
    [catalogue] = catalogues
    assert (catalogue["key"], catalogue["plugin"]) == ("city_industry", "rk_catalogues")
    assert [e["full_key"] for e in catalogue["entries"]] == ["city_industry:press", "city_industry:ammonia"]
    only_major = client.get(f"{R}/catalogues", query_string={"level": "major"}, headers=w["h"]["ent1"]).json
    assert [e["key"] for e in only_major[0]["entries"]] == ["ammonia"]
    # LEC 3 × 6 × 7 = 126 is 一般, but the catalogue lists it 较大: it is graded 较大
    r = client.post(f"{R}/points", json={"enterprise_id": w["e"][1], "catalogue_key": "city_industry:press",
                                         "method": "lec", "likelihood": 3, "exposure": 6, "consequence": 7},
                    headers=w["h"]["ent1"])
    assert r.status_code == 201, r.json
    point = r.json
    assert (point["name"], point["kind"], point["managing_level"], point["score"], point["level"]) == (
        "冲床、剪板机", "equipment", "team", 126, "large")
    assert [(c["kind"], c["measure"]) for c in point["controls"]] == [
        ("engineering", "安装光电保护装置"), ("ppe", "佩戴防护手套")]
    assert point["factors"][0]["description"] == "光电保护失效"
    assert point["catalogue_entry"]["category"] == "机械" and point["catalogue_key"] == "city_industry:press"
    # the user may change what was prefilled, the level too (not below the score's)
    r = client.post(f"{R}/points", json={"enterprise_id": w["e"][1], "catalogue_key": "city_industry:press",
                                         "name": "1号冲床", "level": "general", "controls": [],
                                         "method": "lec", "likelihood": 3, "exposure": 6, "consequence": 7},
                    headers=w["h"]["ent1"])
    assert (r.json["name"], r.json["level"], r.json["controls"]) == ("1号冲床", "general", [])
    r = client.post(f"{R}/points", json={"enterprise_id": w["e"][1], "catalogue_key": "city_industry:nope",
                                         "method": "ls", "likelihood": 1, "consequence": 1},
                    headers=w["h"]["ent1"])
    assert problem_of(r, 404)["detail"] == "风险目录条目不存在：city_industry:nope"


def _points_for_the_picture(client, w):
    """e1 (grid 甲一): 252 较大 (班组), 420 重大 (公司), 54 低; e2 (板块乙): 126 一般 (车间), matrix
    16 较大, and a retired 一般; e3 (grid 甲一): none; e4 (no area): matrix 20 重大."""
    made = {"p1": create(client, "admin", w, 1, name="冲压机"),
            "p2": create(client, "admin", w, 1, name="液氨罐", values=(10, 6, 7), managing_level="company"),
            "p3": create(client, "admin", w, 1, name="=1+1 配电箱", values=(3, 6, 3)),
            "p4": create(client, "admin", w, 2, name="反应釜", values=(3, 6, 7), managing_level="workshop"),
            "p5": create(client, "admin", w, 2, name="储罐区", method="ls", values=(4, 4)),
            "p6": create(client, "admin", w, 4, name="制冷机房", method="ls", values=(5, 4)),
            "p7": create(client, "admin", w, 2, name="旧仓库", values=(3, 6, 7))}
    r = client.post(f"{R}/points/{made['p7']['id']}/retire", json={},
                    headers=with_etag(client, w, made["p7"]["id"]))
    assert r.status_code == 200 and r.json["status"] == "retired"
    with w["app"].app_context(), at_db(w):
        # 冲压机 (班组, daily) last inspected 5 days ago: due 4 days ago, overdue; 反应釜 (车间,
        # weekly) 3 days ago: due in 4 days
        db.session.get(RiskPoint, made["p1"]["id"]).inspected_on = TODAY - dt.timedelta(days=5)
        db.session.get(RiskPoint, made["p4"]["id"]).inspected_on = TODAY - dt.timedelta(days=3)
        db.session.commit()
    return made


COUNTS = ("enterprises", "registered", "points", "major", "large", "general", "low", "overdue_inspections")


def test_the_four_colour_picture_counted_by_hand(client, w):
    made = _points_for_the_picture(client, w)
    a, a1, b, b1 = (w["areas"][k] for k in ("a", "a1", "b", "b1"))

    def picture(**query):
        r = client.get(f"{R}/picture", query_string=query, headers=w["h"]["viewer"])
        assert r.status_code == 200, r.json
        return r.json

    def counts(row):
        return tuple(row[k] for k in COUNTS)

    by_area = picture(by="area")
    assert counts(by_area["totals"]) == (4, 3, 6, 2, 2, 1, 1, 1)
    assert [(row["id"], row["name"], counts(row)) for row in by_area["items"]] == [
        (a, "甲板块", (2, 1, 3, 1, 1, 0, 1, 1)),   # e1 and e3 in its grid
        (a1, "甲一网格", (2, 1, 3, 1, 1, 0, 1, 1)),
        (b, "乙板块", (1, 1, 2, 0, 1, 1, 0, 0)),   # e2; the retired point not counted
        (b1, "乙一网格", (0, 0, 0, 0, 0, 0, 0, 0)),
        (None, "未划分区域", (1, 1, 1, 1, 0, 0, 0, 0)),  # e4
    ]
    assert [(row["id"], counts(row)) for row in picture(by="grid")["items"]] == [
        (a1, (2, 1, 3, 1, 1, 0, 1, 1)), (b1, (0, 0, 0, 0, 0, 0, 0, 0))]
    by_enterprise = picture(by="enterprise", area_id=a)
    assert [(row["name"], counts(row)) for row in by_enterprise["items"]] == [
        ("丙纸业", (1, 0, 0, 0, 0, 0, 0, 0)), ("甲机械厂", (1, 1, 3, 1, 1, 0, 1, 1))]
    assert counts(by_enterprise["totals"]) == (2, 1, 3, 1, 1, 0, 1, 1)
    assert problem_of(client.get(f"{R}/picture", headers=w["h"]["ent1"]), 403)
    # the overdue inspection is a task, and the Shenyang report's helper counts the same
    tasks = client.get(f"{R}/inspection-tasks", headers=w["h"]["sup"]).json
    assert [(t["point"]["id"], t["due_on"], t["overdue_days"], t["inspection_cycle"]) for t in tasks["items"]] == [
        (made["p1"]["id"], (TODAY - dt.timedelta(days=4)).isoformat(), 4, "每日")]
    assert client.get(f"{R}/inspection-tasks", headers=w["h"]["ent2"]).json["total"] == 0
    overdue = client.get(f"{R}/points", query_string={"overdue": "true"}, headers=w["h"]["admin"]).json
    assert [p["name"] for p in overdue["items"]] == ["冲压机"]
    with w["app"].app_context(), at_db(w):
        found = plugin_api.context().risk_counts([w["e"][1], w["e"][3], 987654])
    assert found == {w["e"][1]: {"points": 3, "major": 1, "large": 1, "general": 0, "low": 1,
                                 "overdue_inspections": 1},
                     w["e"][3]: dict.fromkeys(("points", "major", "large", "general", "low",
                                               "overdue_inspections"), 0),
                     987654: dict.fromkeys(("points", "major", "large", "general", "low",
                                            "overdue_inspections"), 0)}


def _sheet(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    return sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_register_and_the_city_export_as_workbooks(client, w):
    made = _points_for_the_picture(client, w)
    title, rows = _sheet(client.get(f"{R}/enterprises/{w['e'][1]}/register", headers=w["h"]["ent1"]))
    assert title == "风险分级管控清单"
    head = rows[0]
    assert head[:4] == ["序号", "风险点名称", "风险点类型", "所在位置"]
    col = {name: head.index(name) for name in ("风险点名称", "风险值", "风险等级", "风险颜色", "管控层级",
                                                "排查频次", "最近排查日期", "危险有害因素", "评价方法")}
    assert [(r[0], r[col["风险点名称"]], r[col["风险值"]], r[col["风险等级"]], r[col["风险颜色"]],
             r[col["排查频次"]]) for r in rows[1:]] == [
        (1, "液氨罐", 420, "重大风险", "红", "每月"),
        (2, "冲压机", 252, "较大风险", "橙", "每日"),
        (3, "'=1+1 配电箱", 54, "低风险", "蓝", "每日"),  # neutralised: never a formula
    ]
    assert rows[2][col["最近排查日期"]].date() == TODAY - dt.timedelta(days=5)
    assert rows[1][col["危险有害因素"]] == "【物的因素】防护装置缺失"
    assert rows[1][col["评价方法"]] == "作业条件危险性分析法（LEC）"
    assert problem_of(client.get(f"{R}/enterprises/{w['e'][1]}/register", headers=w["h"]["ent2"]), 404)
    # the city's export in the plugin's shape
    r = client.patch(f"{R}/points/{made['p1']['id']}", json={
        "controls": [{"kind": "engineering", "measure": "光电保护"}, {"kind": "ppe", "measure": "防护手套"}]},
        headers=with_etag(client, w, made["p1"]["id"]))
    assert r.status_code == 200, r.json
    title, rows = _sheet(client.get(f"{R}/city-export", query_string={"area_id": w["areas"]["a"]},
                                    headers=w["h"]["sup"]))
    assert title == "风险报告"
    assert rows == [["单位名称", "风险点", "等级", "颜色", "事故类型", "管控措施"],
                    ["甲机械厂", "液氨罐", "重大风险", "红", None, None],
                    ["甲机械厂", "冲压机", "较大风险", "橙", None,
                     "【工程技术措施】光电保护\n【个体防护措施】防护手套"],
                    ["甲机械厂", "'=1+1 配电箱", "低风险", "蓝", None, None]]
    _title, every = _sheet(client.get(f"{R}/city-export", headers=w["h"]["viewer"]))
    assert [row[1] for row in every[1:]] == ["制冷机房", "储罐区", "反应釜", "液氨罐", "冲压机", "'=1+1 配电箱"]
    assert problem_of(client.get(f"{R}/city-export", query_string={"catalogue": "nope"},
                                 headers=w["h"]["viewer"]), 404)


def test_visibility_and_isolation(client, w):
    point = create(client, "ent1", w)
    url = f"{R}/points/{point['id']}"
    # another enterprise's user: as absent as a missing point; the service organisation
    # serving e1 sees it, the bureau too
    assert problem_of(client.get(url, headers=w["h"]["ent2"]), 404)
    missing = problem_of(client.get(f"{R}/points/987654", headers=w["h"]["ent2"]), 404)
    assert problem_of(client.get(url, headers=w["h"]["ent2"]), 404)["detail"] == missing["detail"]
    assert client.patch(url, json={"name": "x"}, headers={**w["h"]["ent2"], "If-Match": '"x"'}).status_code == 404
    for who in ("svc", "sup", "viewer", "admin"):
        assert client.get(url, headers=w["h"][who]).status_code == 200, who
    assert client.get(f"{R}/points", headers=w["h"]["ent2"]).json["total"] == 0
    assert client.get(f"{R}/points", headers=w["h"]["svc"]).json["total"] == 1
    # an enterprise writes only its own; a supervisor reads, never writes
    r = client.post(f"{R}/points", json=point_body(w["e"][2]), headers=w["h"]["ent1"])
    assert problem_of(r, 404)
    assert problem_of(client.post(f"{R}/points", json=point_body(w["e"][2]), headers=w["h"]["svc"]), 404)
    assert problem_of(client.post(f"{R}/points", json=point_body(w["e"][1]), headers=w["h"]["sup"]), 403)
    # another tenant: its members get 404 for this tenant, and this tenant's point is no id of theirs
    assert problem_of(client.get(url, headers=w["h"]["other"]), 404)
    assert problem_of(client.get(f"/api/v1/tenants/rk-other/risks/points/{point['id']}",
                                 headers=w["h"]["other"]), 404)


def test_changes_need_if_match_and_rework_the_checklist(client, w):
    point = create(client, "ent1", w, controls=[{"kind": "engineering", "measure": "防护罩"},
                                                 {"kind": "ppe", "measure": "手套"}])
    url = f"{R}/points/{point['id']}"
    kept = point["controls"][0]["id"]
    assert problem_of(client.patch(url, json={"location": "一车间"}, headers=w["h"]["ent1"]), 428)
    stale = {**w["h"]["ent1"], "If-Match": '"0123456789abcdef"'}
    assert problem_of(client.patch(url, json={"location": "一车间"}, headers=stale), 412)
    # a draft inspection uses checklist version 1: a change makes version 2, version 1 stays
    r = client.post(f"{T}/inspections", json={"enterprise_id": w["e"][1], "template_key": point["checklist_key"]},
                    headers=w["h"]["ent1"])
    assert r.status_code == 201, r.json
    old = etag(client, w, point["id"], "ent1")
    r = client.patch(url, json={"location": "一车间", "controls": [
        {"id": kept, "kind": "engineering", "measure": "防护罩（联锁）"}, {"kind": "emergency", "measure": "急救箱"}]},
        headers={**w["h"]["ent1"], "If-Match": old})
    assert r.status_code == 200, r.json
    assert r.json["location"] == "一车间" and r.headers["ETag"] != old
    assert [(c["id"] == kept, c["kind"], c["measure"]) for c in r.json["controls"]] == [
        (True, "engineering", "防护罩（联锁）"), (False, "emergency", "急救箱")]
    assert problem_of(client.patch(url, json={"name": "x"}, headers={**w["h"]["ent1"], "If-Match": old}), 412)
    key = point["checklist_key"]
    current = client.get(f"{T}/checklist-templates/{key}", headers=w["h"]["ent1"]).json
    assert (current["version"], [i["text"] for i in current["items"]]) == (2, ["防护罩（联锁）", "急救箱"])
    first = client.get(f"{T}/checklist-templates/{key}", query_string={"version": 1}, headers=w["h"]["ent1"]).json
    assert [i["text"] for i in first["items"]] == ["防护罩", "手套"]
    # regenerating without a change makes no new version; another enterprise's is not theirs
    r = client.post(f"{R}/enterprises/{w['e'][1]}/checklist", json={}, headers=w["h"]["ent1"])
    assert r.json == {"key": key, "version": 2, "title": "甲机械厂风险管控措施排查清单", "items": 2}
    assert problem_of(client.post(f"{R}/enterprises/{w['e'][2]}/checklist", json={}, headers=w["h"]["ent1"]), 404)
    # retired: out of the checklist (version 2 is unused, so edited in place), and no second time
    r = client.post(f"{url}/retire", json={}, headers=with_etag(client, w, point["id"], "ent1"))
    assert r.status_code == 200 and r.json["status"] == "retired"
    current = client.get(f"{T}/checklist-templates/{key}", headers=w["h"]["ent1"]).json
    assert (current["version"], current["items"]) == (2, [])
    assert problem_of(client.post(f"{url}/retire", json={}, headers=with_etag(client, w, point["id"], "ent1")), 409)
    assert client.get(f"{R}/points", headers=w["h"]["ent1"]).json["total"] == 0
    with w["app"].app_context(), at_db(w):
        assert db.session.scalar(select(RiskPoint.status).where(RiskPoint.id == point["id"])) == "retired"


def test_other_tenant_members_never_see_the_register(client, w, factory):
    create(client, "admin", w, 1)
    _, token = factory.user("rk-b-viewer", {factory.tenant("rk-b"): "viewer"})
    assert problem_of(client.get(f"{R}/points", headers=bearer(token)), 404)
    assert problem_of(client.get(f"{R}/picture", headers=bearer(token)), 404)
