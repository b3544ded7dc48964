"""Checklist templates, inspections and evidence over HTTP (issue 4, points 2, 3 and 8)."""

import io

import pytest
from sqlalchemy import select
from stdnum.cn import uscc

from anjian.plugin_api import hookimpl
from tests.conftest import bearer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PLUGIN_KEY = "test_small_industry"


def code(n: int) -> str:
    base = f"91320581MB{n:07d}"
    return base + uscc.calc_check_digit(base)


class Checklists:
    """A locality plugin offering one checklist (parts in Chinese, as plugins write them)
    and recording completed inspections."""

    def __init__(self):
        self.version = 1
        self.completed = []

    @hookimpl
    def register_checklist_templates(self):
        items = [
            {"code": "1", "text": "是否建立全员安全生产责任制", "category": "规章制度",
             "part": "软件资料", "legal_basis": "《安全生产法》第二十二条"},
            {"code": "2", "text": "粉尘涉爆除尘系统是否采用正压吹送", "category": "粉尘涉爆",
             "part": "现场", "is_major_criterion": True},
            {"code": "3", "text": "安全出口是否畅通", "part": "onsite"},
        ]
        if self.version > 1:
            items.append({"code": "4", "text": "是否开展应急演练", "part": "document"})
        return [{"key": PLUGIN_KEY, "title": "小微工业企业检查表", "version": self.version,
                 "items": items}]

    @hookimpl
    def on_inspection_completed(self, tenant, inspection, actor):
        self.completed.append((tenant.code, inspection.id, inspection.status, actor.id))


def set_enterprise(app, tenant_id, user_id, enterprise_id):
    from anjian.auth.models import Membership
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        member = db.session.scalar(select(Membership).where(Membership.user_id == user_id))
        member.enterprise_id = enterprise_id
        db.session.commit()


T = "/api/v1/tenants/cs"


@pytest.fixture
def w(app, client, factory):
    plugin = Checklists()
    app.extensions["anjian.plugins"].register("checklists_test", plugin)
    tenant = factory.tenant("cs", plugins=["checklists_test"])
    other = factory.tenant("other", plugins=["checklists_test"])
    world = {"tenant": tenant, "other": other, "plugin": plugin}
    for role in ("tenant_admin", "supervisor", "viewer", "service_org", "enterprise"):
        user_id, token = factory.user(f"cs-{role}".replace("_", "-"), {tenant: role})
        world[role], world[f"{role}_id"] = bearer(token), user_id
    _, token = factory.user("cs-service-org-2", {tenant: "service_org"})
    world["service_org2"] = bearer(token)
    _, token = factory.user("other-admin", {other: "tenant_admin"})
    world["other_admin"] = bearer(token)
    world["ents"] = []
    for n, name in enumerate(("常熟甲厂", "常熟乙厂", "常熟丙厂"), start=1):
        r = client.post(f"{T}/enterprises", json={"credit_code": code(n), "name": name},
                        headers=world["tenant_admin"])
        world["ents"].append(r.json["id"])
    world["foreign_ent"] = client.post("/api/v1/tenants/other/enterprises",
                                       json={"credit_code": code(9), "name": "外单位企业"},
                                       headers=world["other_admin"]).json["id"]
    set_enterprise(app, tenant, world["enterprise_id"], world["ents"][0])
    # The service organisation is assigned the second enterprise in an active campaign.
    campaign = client.post(f"{T}/campaigns", json={"title": "社会化服务"},
                           headers=world["supervisor"]).json
    client.post(f"{T}/campaigns/{campaign['id']}/status", json={"status": "active"},
                headers=world["supervisor"])
    client.post(f"{T}/campaigns/{campaign['id']}/targets",
                json={"enterprise_ids": world["ents"][:2]}, headers=world["supervisor"])
    targets = client.get(f"{T}/campaigns/{campaign['id']}/targets",
                         headers=world["supervisor"]).json["items"]
    second = next(t for t in targets if t["enterprise_id"] == world["ents"][1])
    r = client.put(f"{T}/campaigns/{campaign['id']}/targets/{second['id']}/assignee",
                   json={"user_id": world["service_org_id"]}, headers=world["supervisor"])
    assert r.status_code == 200, r.json
    world["campaign"] = campaign["id"]
    return world


def problem_of(r, status):
    assert r.status_code == status, r.json
    assert r.headers["Content-Type"] == "application/problem+json"
    return r.json


def start(client, headers, enterprise_id, **body):
    body = {"enterprise_id": enterprise_id, "template_key": PLUGIN_KEY, **body}
    body = {k: v for k, v in body.items() if v is not None}
    return client.post(f"{T}/inspections", json=body, headers=headers)


def items_of(inspection):
    return {r["code"]: r["item_id"] for r in inspection["results"]}


def upload(client, headers, data=PNG, name="现场照片.png", mimetype="image/png", **form):
    return client.post(f"{T}/evidence", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name, mimetype), **form})


# --- templates -------------------------------------------------------------------------------

def test_plugin_template_is_listed_and_materialised_once_on_first_use(app, client, w):
    listed = client.get(f"{T}/checklist-templates", headers=w["enterprise"]).json
    assert [(t["key"], t["source"], t["materialised"], t["versions"]) for t in listed["items"]] \
        == [(PLUGIN_KEY, "plugin", False, [1])]
    shown = client.get(f"{T}/checklist-templates/{PLUGIN_KEY}", headers=w["viewer"]).json
    assert [(i["code"], i["part"], i["part_label"]) for i in shown["items"]] == [
        ("1", "document", "软件资料"), ("2", "onsite", "现场"), ("3", "onsite", "现场")]
    assert shown["id"] is None and shown["items"][1]["is_major_criterion"] is True
    first = start(client, w["supervisor"], w["ents"][0])
    assert first.status_code == 201, first.json
    second = start(client, w["supervisor"], w["ents"][1])
    template = first.json["template"]
    assert template["key"] == PLUGIN_KEY and template["version"] == 1
    assert second.json["template"]["id"] == template["id"]  # the same row, not a copy
    assert [r["code"] for r in first.json["results"]] == ["1", "2", "3"]
    assert first.json["results"][0]["legal_basis"] == "《安全生产法》第二十二条"
    listed = client.get(f"{T}/checklist-templates", headers=w["viewer"]).json["items"]
    assert [(t["id"], t["source"], t["plugin"], t["materialised"]) for t in listed] == [
        (template["id"], "plugin", "checklists_test", True)]
    # A new plugin version is materialised as a new row and becomes current; old
    # inspections keep the version they were done with.
    w["plugin"].version = 2
    third = start(client, w["supervisor"], w["ents"][0]).json
    assert third["template"]["version"] == 2 and third["template"]["id"] != template["id"]
    assert [r["code"] for r in third["results"]] == ["1", "2", "3", "4"]
    old = client.get(f"{T}/inspections/{first.json['inspection']['id']}", headers=w["viewer"])
    assert [r["code"] for r in old.json["results"]] == ["1", "2", "3"]
    versions = client.get(f"{T}/checklist-templates/{PLUGIN_KEY}/versions",
                          headers=w["viewer"]).json
    assert [(v["version"], v["is_current"]) for v in versions] == [(1, False), (2, True)]
    # Plugin templates are not edited in place by a tenant.
    url = f"{T}/checklist-templates/{PLUGIN_KEY}"
    etag = client.get(url, headers=w["tenant_admin"]).headers["ETag"]
    r = client.put(url, json={"title": "改", "items": [{"code": "1", "text": "x"}]},
                   headers={**w["tenant_admin"], "If-Match": etag})
    assert problem_of(r, 409)["detail"].startswith("插件提供的检查表不能修改")


def test_every_builtin_plugin_template_materialises(app, factory):
    """Whatever checklists the five locality plugins register, each one copies into a
    tenant with valid items (parts mapped, codes unique)."""
    from anjian.context import Context
    from anjian.extensions import db
    from anjian.inspections import service
    from anjian.inspections.models import ChecklistItem
    from anjian.tenancy.models import Tenant
    from anjian.tenancy.scope import Scope, scoped

    registry = app.extensions["anjian.plugins"]
    builtin = [name for name in registry.plugins if name.startswith("anjian_")]
    assert len(builtin) == 5
    entries = registry.catalogue_entries("register_checklist_templates", enabled=tuple(builtin))
    if not entries:
        pytest.skip("no built-in locality plugin registers a checklist template yet")
    for entry in entries:
        tenant_id = factory.tenant(f"tpl-{entry['plugin'].removeprefix('anjian_')}"
                                   .replace("_", "-")[:40], plugins=[entry["plugin"]])
        with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
            tenant = db.session.get(Tenant, tenant_id)
            context = Context.for_system(tenant)
            template = service.materialise(context, entry)
            again = service.materialise(context, entry)
            db.session.commit()
            assert again.id == template.id and template.source == "plugin"
            codes = db.session.scalars(select(ChecklistItem.code).where(
                ChecklistItem.template_id == template.id)).all()
            assert len(codes) == len(entry["items"]) == len(set(codes))


class Broken:
    @hookimpl
    def register_checklist_templates(self):
        return [{"key": "broken_tpl", "title": "坏检查表", "version": 1,
                 "items": [{"code": "1", "text": "甲"}, {"code": "1", "text": "乙"}]}]


def test_a_broken_plugin_template_is_the_plugins_fault(app, client, w, factory):
    app.extensions["anjian.plugins"].register("broken_test", Broken())
    factory.tenant("cs", plugins=["checklists_test", "broken_test"])
    r = start(client, w["supervisor"], w["ents"][0], template_key="broken_tpl")
    assert problem_of(r, 500)["detail"] == (
        "插件 broken_test 的检查表 broken_tpl 无效: items[1].code: 检查项编号重复: 1")
    assert client.get(f"{T}/checklist-templates/broken_tpl", headers=w["viewer"]).status_code \
        == 500
    listed = client.get(f"{T}/checklist-templates", headers=w["viewer"]).json["items"]
    assert [(t["key"], t["materialised"]) for t in listed] == [
        ("broken_tpl", False), (PLUGIN_KEY, False)]
    assert client.get(f"{T}/inspections", headers=w["viewer"]).json["total"] == 0


def test_tenant_template_validation_in_chinese(client, w):
    url = f"{T}/checklist-templates"
    body = {"key": "cs-fire", "title": "消防检查表",
            "items": [{"code": "F1", "text": "灭火器是否有效"}, {"code": "F1", "text": "重复"}]}
    r = client.post(url, json=body, headers=w["tenant_admin"])
    assert problem_of(r, 422)["errors"] == {"items[1].code": ["检查项编号重复: F1"]}
    r = client.post(url, json={**body, "items": []}, headers=w["tenant_admin"])
    assert problem_of(r, 422)["errors"]["json"] == {"items": ["检查项须有 1 到 1000 项"]}
    r = client.post(url, json={**body, "items": [{"code": "F1", "text": "x", "part": "屋顶"}]},
                    headers=w["tenant_admin"])
    assert "part" in problem_of(r, 422)["errors"]["json"]["items"]["0"]
    r = client.post(url, json={**body, "key": "消防"}, headers=w["tenant_admin"])
    assert problem_of(r, 422)["errors"]["json"]["key"] == [
        "代码只能包含小写字母、数字、_ 和 -，2–80 个字符"]
    r = client.post(url, json={**body, "key": PLUGIN_KEY, "items": body["items"][:1]},
                    headers=w["tenant_admin"])
    assert problem_of(r, 409)["errors"] == {"key": [f"检查表代码已存在: {PLUGIN_KEY}"]}
    ok = {**body, "items": [{"code": "F1", "text": "灭火器是否有效", "part": "现场"},
                            {"code": "F2", "text": "是否有消防制度", "part": "document",
                             "is_major_criterion": True, "legal_basis": "《消防法》"}]}
    for role in ("supervisor", "viewer", "enterprise"):
        assert client.post(url, json=ok, headers=w[role]).status_code == 403
    r = client.post(url, json=ok, headers=w["tenant_admin"])
    assert r.status_code == 201, r.json
    assert [(i["code"], i["part"]) for i in r.json["items"]] == [("F1", "onsite"),
                                                                   ("F2", "document")]
    assert r.json["source"] == "tenant" and r.json["version"] == 1
    assert problem_of(client.post(url, json=ok, headers=w["tenant_admin"]), 409)


def test_editing_a_used_template_makes_a_new_version(client, w):
    url = f"{T}/checklist-templates"
    created = client.post(url, headers=w["tenant_admin"], json={
        "key": "cs-fire", "title": "消防检查表", "items": [{"code": "F1", "text": "旧的内容"}]}).json
    one = f"{url}/cs-fire"
    edit = {"title": "消防检查表（修订）", "items": [{"code": "F1", "text": "改过的内容"}]}
    assert client.put(one, json=edit, headers=w["tenant_admin"]).status_code == 428
    etag = client.get(one, headers=w["tenant_admin"]).headers["ETag"]
    r = client.put(one, json=edit, headers={**w["tenant_admin"], "If-Match": etag})
    assert r.status_code == 200  # unused: edited in place
    assert (r.json["id"], r.json["version"], r.json["items"][0]["text"]) == (
        created["id"], 1, "改过的内容")
    assert client.put(one, json=edit, headers={**w["tenant_admin"],
                                               "If-Match": etag}).status_code == 412
    used = start(client, w["supervisor"], w["ents"][0], template_key="cs-fire").json
    item_v1 = used["results"][0]["item_id"]
    etag = client.get(one, headers=w["tenant_admin"]).headers["ETag"]
    r = client.put(one, headers={**w["tenant_admin"], "If-Match": etag}, json={
        "title": "消防检查表 2", "items": [{"code": "F1", "text": "第二版"},
                                         {"code": "F2", "text": "新增项"}]})
    assert r.status_code == 200 and r.json["version"] == 2 and r.json["id"] != created["id"]
    assert r.json["versions"] == [1, 2]
    # The old version and the inspection that used it are unchanged.
    old = client.get(one, query_string={"version": 1}, headers=w["viewer"]).json
    assert (old["title"], old["is_current"], [i["text"] for i in old["items"]]) == (
        "消防检查表（修订）", False, ["改过的内容"])
    again = client.get(f"{T}/inspections/{used['inspection']['id']}", headers=w["viewer"]).json
    assert [(x["item_id"], x["text"]) for x in again["results"]] == [(item_v1, "改过的内容")]
    assert again["template"]["version"] == 1
    newer = start(client, w["supervisor"], w["ents"][0], template_key="cs-fire").json
    assert newer["template"]["version"] == 2 and len(newer["results"]) == 2
    # An answer to an item of the other version is refused.
    r = client.put(f"{T}/inspections/{newer['inspection']['id']}/results/{item_v1}",
                   json={"answer": "yes"}, headers=w["supervisor"])
    assert problem_of(r, 422)["errors"] == {"item_id": ["检查项不属于本次检查所用的检查表"]}
    listed = client.get(url, headers=w["viewer"]).json["items"]
    assert [(t["key"], t["version"], t["versions"]) for t in listed] == [
        ("cs-fire", 2, [1, 2]), (PLUGIN_KEY, 1, [1])]
    assert client.get(f"{url}/nope/versions", headers=w["viewer"]).status_code == 404
    assert client.get(one, query_string={"version": 9}, headers=w["viewer"]).status_code == 404


# --- inspections -------------------------------------------------------------------------------

def test_inspector_kind_follows_the_role(client, w):
    e = w["ents"]
    r = start(client, w["supervisor"], e[0])
    assert r.json["inspection"]["inspector_kind"] == "department"
    assert r.json["enterprise_name"] == "常熟甲厂"
    r = start(client, w["supervisor"], e[0], inspector_kind="spot_check")
    assert r.json["inspection"]["inspector_kind_label"] == "抽查"
    r = start(client, w["supervisor"], e[0], inspector_kind="self")
    assert problem_of(r, 422)["errors"] == {"inspector_kind": ["当前角色只能进行：部门检查、抽查"]}
    # A service organisation inspects the enterprises assigned to it, and only those.
    r = start(client, w["service_org"], e[1], campaign_id=w["campaign"])
    assert r.status_code == 201 and r.json["inspection"]["inspector_kind"] == "service_org"
    assert problem_of(start(client, w["service_org"], e[0]), 404)["detail"] == "企业不存在"
    assert start(client, w["service_org2"], e[1]).status_code == 404
    # The enterprise inspects itself, and nobody else.
    r = start(client, w["enterprise"], e[0])
    assert r.status_code == 201 and r.json["inspection"]["inspector_kind"] == "self"
    assert start(client, w["enterprise"], e[1]).status_code == 404
    assert start(client, w["enterprise"], e[0], inspector_kind="department").status_code == 422
    assert start(client, w["viewer"], e[0]).status_code == 403
    # Foreign or missing references.
    assert start(client, w["supervisor"], w["foreign_ent"]).status_code == 404
    r = start(client, w["supervisor"], e[0], template_key="nope")
    assert problem_of(r, 422)["errors"] == {"template_key": ["检查表不存在: nope"]}
    r = start(client, w["supervisor"], e[0], template_id=1)
    assert "template_id" in problem_of(r, 422)["errors"]["json"]
    r = start(client, w["supervisor"], e[0], campaign_id=987654)
    assert problem_of(r, 422)["errors"] == {"campaign_id": ["专项行动不存在"]}
    draft = client.post(f"{T}/campaigns", json={"title": "未启动"}, headers=w["supervisor"]).json
    r = start(client, w["supervisor"], e[0], campaign_id=draft["id"])
    assert problem_of(r, 409)["errors"] == {"campaign_id": ["专项行动未启动或已结束，不能在其中检查"]}


def test_answers_submit_and_read_only_afterwards(client, w):
    created = start(client, w["supervisor"], w["ents"][0], campaign_id=w["campaign"]).json
    inspection_id = created["inspection"]["id"]
    items = items_of(created)
    base = f"{T}/inspections/{inspection_id}"
    r = client.put(f"{base}/results/{items['1']}", json={"answer": "yes", "note": "已建立"},
                   headers=w["supervisor"])
    assert r.status_code == 200 and r.json["answer_label"] == "是"
    r = client.put(f"{base}/results/{items['2']}", json={"answer": "maybe"},
                   headers=w["supervisor"])
    assert problem_of(r, 422)["errors"]["json"]["answer"][0].startswith("须为以下之一")
    r = client.post(f"{base}/submit", json={}, headers=w["supervisor"])
    assert problem_of(r, 422)["errors"] == {"results": ["以下检查项尚未填写: 2、3"]}
    # Enterprise users cannot fill in a department's inspection (of their own enterprise).
    r = client.put(f"{base}/results/{items['2']}", json={"answer": "yes"}, headers=w["enterprise"])
    assert problem_of(r, 403)["detail"] == "当前角色不能填写“部门检查”"
    r = client.put(f"{base}/results", headers=w["supervisor"], json={"results": [
        {"item_id": items["2"], "answer": "na", "note": "无粉尘作业"},
        {"item_id": items["3"], "answer": "no", "note": "堆放杂物"},
        {"item_id": items["1"], "answer": "yes"}]})
    assert r.status_code == 200, r.json
    assert [(x["code"], x["answer"], x["note"]) for x in r.json["results"]] == [
        ("1", "yes", "已建立"), ("2", "na", "无粉尘作业"), ("3", "no", "堆放杂物")]
    r = client.put(f"{base}/results", headers=w["supervisor"],
                   json={"results": [{"item_id": items["1"], "answer": "yes"},
                                     {"item_id": items["1"], "answer": "no"}]})
    assert problem_of(r, 422)["errors"] == {"results[1].item_id": ["同一检查项重复出现"]}
    r = client.put(f"{base}/results", headers=w["supervisor"],
                   json={"results": [{"item_id": 987654, "answer": "yes"}]})
    assert problem_of(r, 422)["errors"] == {
        "results[0].item_id": ["检查项不属于本次检查所用的检查表"]}
    r = client.post(f"{base}/submit", json={"conclusion": "基本符合要求"}, headers=w["supervisor"])
    assert r.status_code == 200
    assert r.json["inspection"]["status"] == "submitted"
    assert r.json["inspection"]["submitted_at"] and r.json["inspection"]["conclusion"] == "基本符合要求"
    assert w["plugin"].completed == [("cs", inspection_id, "submitted", w["supervisor_id"])]
    for method, path, body in (("PUT", f"/results/{items['1']}", {"answer": "no"}),
                               ("PUT", "/results",
                                {"results": [{"item_id": items["1"], "answer": "no"}]}),
                               ("POST", "/submit", {})):
        r = client.open(f"{base}{path}", method=method, json=body, headers=w["supervisor"])
        assert problem_of(r, 409)["detail"] == "检查已提交，不能再修改"
    got = client.get(base, headers=w["viewer"]).json
    assert [x["answer"] for x in got["results"]] == ["yes", "na", "no"]
    assert len(w["plugin"].completed) == 1


def test_a_failing_completion_hook_rolls_the_submission_back(app, client, w, factory):
    class Refuses:
        @hookimpl
        def on_inspection_completed(self, inspection):
            raise RuntimeError("结论报告生成失败")

    app.extensions["anjian.plugins"].register("refuses_test", Refuses())
    factory.tenant("cs", plugins=["checklists_test", "refuses_test"])
    created = start(client, w["supervisor"], w["ents"][0]).json
    base = f"{T}/inspections/{created['inspection']['id']}"
    client.put(f"{base}/results", headers=w["supervisor"],
               json={"results": [{"item_id": i, "answer": "yes"}
                                 for i in items_of(created).values()]})
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post(f"{base}/submit", json={}, headers=w["supervisor"]).status_code == 500
    assert client.get(base, headers=w["viewer"]).json["inspection"]["status"] == "draft"


def test_list_filters_and_visibility(client, w):
    e = w["ents"]
    start(client, w["supervisor"], e[0], campaign_id=w["campaign"])
    start(client, w["supervisor"], e[1], inspector_kind="spot_check")
    start(client, w["service_org"], e[1])
    start(client, w["enterprise"], e[0])
    start(client, w["supervisor"], e[2])

    def kinds(headers, **query):
        r = client.get(f"{T}/inspections", query_string=query, headers=headers)
        assert r.status_code == 200
        return sorted((i["enterprise_id"], i["inspector_kind"]) for i in r.json["items"])

    assert len(kinds(w["viewer"])) == 5
    assert kinds(w["viewer"], enterprise_id=e[1]) == [(e[1], "service_org"), (e[1], "spot_check")]
    assert kinds(w["viewer"], campaign_id=w["campaign"]) == [(e[0], "department")]
    assert kinds(w["viewer"], inspector_kind="self") == [(e[0], "self")]
    assert kinds(w["viewer"], status="submitted") == []
    assert kinds(w["enterprise"]) == [(e[0], "department"), (e[0], "self")]
    assert kinds(w["service_org"]) == [(e[1], "service_org"), (e[1], "spot_check")]
    assert kinds(w["service_org2"]) == []
    third = client.get(f"{T}/inspections", query_string={"enterprise_id": e[2]},
                       headers=w["viewer"]).json["items"][0]["id"]
    assert client.get(f"{T}/inspections/{third}", headers=w["enterprise"]).status_code == 404
    assert client.get(f"{T}/inspections/{third}", headers=w["service_org"]).status_code == 404


# --- evidence and hazards ------------------------------------------------------------------------

def test_evidence_upload_download_and_attach(client, w):
    r = upload(client, w["supervisor"], name="../../etc/现场 照片.png")
    assert r.status_code == 201, r.json
    photo = r.json
    assert photo["filename"] == "现场 照片.png" and photo["content_type"] == "image/png"
    assert photo["size"] == len(PNG) and photo["inspection_result_id"] is None
    got = client.get(f"{T}/evidence/{photo['id']}", headers=w["viewer"])
    assert got.status_code == 200 and got.json["expires_in"] == 300
    with client.get(got.json["download_url"]) as download:
        assert download.status_code == 200 and download.data == PNG
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "attachment" in download.headers["Content-Disposition"]
    r = upload(client, w["supervisor"], data=b"hello", name="a.txt", mimetype="text/plain")
    assert problem_of(r, 415)["detail"].startswith("不支持的文件类型")
    r = upload(client, w["supervisor"], data=b"not a png", name="fake.png")
    assert problem_of(r, 415)["type"].endswith("disguised-file")
    r = upload(client, w["supervisor"], enterprise_id=str(w["foreign_ent"]))
    assert problem_of(r, 404)["errors"] == {"enterprise_id": ["企业不存在"]}
    pdf = upload(client, w["supervisor"], data=PDF, name="整改通知.pdf",
                 mimetype="application/pdf", enterprise_id=str(w["ents"][0])).json
    assert pdf["enterprise_id"] == w["ents"][0]

    created = start(client, w["supervisor"], w["ents"][0]).json
    items = items_of(created)
    base = f"{T}/inspections/{created['inspection']['id']}"
    r = client.put(f"{base}/results/{items['1']}", headers=w["supervisor"],
                   json={"answer": "yes", "evidence_ids": [photo["id"], pdf["id"]]})
    assert r.status_code == 200, r.json
    shown = client.get(base, headers=w["viewer"]).json["results"][0]["evidence"]
    assert [(x["id"], x["filename"]) for x in shown] == [(photo["id"], "现场 照片.png"),
                                                          (pdf["id"], "整改通知.pdf")]
    # Attached elsewhere → 409; unknown → 404; nothing changes.
    r = client.put(f"{base}/results/{items['3']}", headers=w["supervisor"],
                   json={"answer": "yes", "evidence_ids": [photo["id"]]})
    assert problem_of(r, 409)["errors"] == {"evidence_ids": [f"证据文件 {photo['id']} 已用于其他记录"]}
    r = client.put(f"{base}/results/{items['3']}", headers=w["supervisor"],
                   json={"answer": "yes", "evidence_ids": [987654]})
    assert problem_of(r, 404)["errors"] == {"evidence_ids": ["证据文件不存在: 987654"]}
    # Re-sending the same list is fine; a shorter list detaches the rest.
    r = client.put(f"{base}/results/{items['1']}", headers=w["supervisor"],
                   json={"answer": "yes", "evidence_ids": [pdf["id"]]})
    assert r.status_code == 200
    assert [x["id"] for x in client.get(base, headers=w["viewer"]).json["results"][0][
        "evidence"]] == [pdf["id"]]
    assert client.get(f"{T}/evidence/{photo['id']}", headers=w["viewer"]).json[
        "inspection_result_id"] is None
    # The detached photo stays with the enterprise it was taken at.
    assert client.get(f"{T}/evidence/{photo['id']}", headers=w["viewer"]).json[
        "enterprise_id"] == w["ents"][0]
    # An enterprise user sees evidence of its enterprise, not files of nobody in particular.
    loose = upload(client, w["supervisor"]).json
    assert client.get(f"{T}/evidence/{pdf['id']}", headers=w["enterprise"]).status_code == 200
    assert client.get(f"{T}/evidence/{loose['id']}", headers=w["enterprise"]).status_code == 404
    own = upload(client, w["enterprise"]).json
    assert client.get(f"{T}/evidence/{own['id']}", headers=w["enterprise"]).status_code == 200
    # ... and cannot attach someone else's file to its self-inspection.
    mine = start(client, w["enterprise"], w["ents"][0]).json
    r = client.put(f"{T}/inspections/{mine['inspection']['id']}/results/"
                   f"{items_of(mine)['1']}", headers=w["enterprise"],
                   json={"answer": "yes", "evidence_ids": [loose["id"]]})
    assert problem_of(r, 404)["errors"] == {"evidence_ids": [f"证据文件不存在: {loose['id']}"]}
    r = client.put(f"{T}/inspections/{mine['inspection']['id']}/results/"
                   f"{items_of(mine)['1']}", headers=w["enterprise"],
                   json={"answer": "yes", "evidence_ids": [own["id"]]})
    assert r.status_code == 200
    assert upload(client, w["viewer"]).status_code == 403


def test_a_no_raises_a_hazard_in_one_step(app, client, w):
    from anjian.extensions import db
    from anjian.hazards.models import Hazard
    from anjian.notifications import Notification
    from anjian.tenancy.scope import Scope, scoped

    created = start(client, w["service_org"], w["ents"][1], campaign_id=w["campaign"]).json
    items = items_of(created)
    base = f"{T}/inspections/{created['inspection']['id']}"
    photo = upload(client, w["service_org"]).json
    r = client.put(f"{base}/results/{items['1']}", headers=w["service_org"],
                   json={"answer": "yes", "raise_hazard": {}})
    assert problem_of(r, 422)["errors"] == {"raise_hazard": ["只有回答“否”的检查项才能登记隐患"]}
    r = client.put(f"{base}/results/{items['2']}", headers=w["service_org"], json={
        "answer": "no", "note": "除尘系统正压吹送",
        "raise_hazard": {"location": "二号车间", "evidence_ids": [photo["id"]]}})
    assert r.status_code == 200, r.json
    hazard_id = r.json["hazard_id"]
    assert hazard_id is not None
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        hazard = db.session.get(Hazard, hazard_id)
        assert (hazard.source, hazard.grade, hazard.state) == ("service_org", "major", "reported")
        # Issue 22: the title is what was found (the answer's note), not the item's
        # requirement, which stays in the description as the criterion.
        assert hazard.title == "除尘系统正压吹送"
        assert (hazard.description, hazard.location) == (
            "检查依据/要求：粉尘涉爆除尘系统是否采用正压吹送", "二号车间")
        assert (hazard.campaign_id, hazard.inspection_id) == (
            w["campaign"], created["inspection"]["id"])
        assert hazard.inspection_result_id == r.json["id"]
        notified = db.session.scalars(select(Notification.user_id).where(
            Notification.hazard_id == hazard_id)).all()
    assert w["supervisor_id"] in notified
    assert client.get(f"{T}/evidence/{photo['id']}", headers=w["service_org"]).json[
        "hazard_id"] == hazard_id
    got = client.get(base, headers=w["service_org"]).json["results"]
    assert [x["hazard_id"] for x in got] == [None, hazard_id, None]
    again = client.put(f"{base}/results/{items['2']}", headers=w["service_org"],
                       json={"answer": "no", "raise_hazard": {}})
    assert problem_of(again, 409)["errors"] == {"raise_hazard": ["该检查项已登记隐患"]}
    r = client.put(f"{base}/results/{items['2']}", headers=w["service_org"], json={"answer": "yes"})
    assert problem_of(r, 409)["errors"] == {"answer": ["该检查项已登记隐患，不能改为“是”或“不适用”"]}
    # A general item, by the enterprise itself: a self-found general hazard.
    mine = start(client, w["enterprise"], w["ents"][0]).json
    r = client.put(f"{T}/inspections/{mine['inspection']['id']}/results/{items_of(mine)['3']}",
                   headers=w["enterprise"],
                   json={"answer": "no", "raise_hazard": {"title": "安全出口堵塞",
                                                          "immediate": True}})
    assert r.status_code == 200, r.json
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        hazard = db.session.get(Hazard, r.json["hazard_id"])
        assert (hazard.source, hazard.grade, hazard.title, hazard.immediate) == (
            "self", "general", "安全出口堵塞", True)


# --- isolation ---------------------------------------------------------------------------------

def test_another_tenants_ids_are_404(client, w):
    other = "/api/v1/tenants/other"
    foreign = client.post(f"{other}/inspections", headers=w["other_admin"], json={
        "enterprise_id": w["foreign_ent"], "template_key": PLUGIN_KEY}).json
    foreign_item = items_of(foreign)["1"]
    foreign_evidence = client.post(f"{other}/evidence", headers=w["other_admin"],
                                   content_type="multipart/form-data",
                                   data={"file": (io.BytesIO(PNG), "a.png", "image/png")}).json
    client.post(f"{other}/checklist-templates", headers=w["other_admin"], json={
        "key": "other-only", "title": "外单位检查表", "items": [{"code": "1", "text": "x"}]})
    fid = foreign["inspection"]["id"]
    admin = w["tenant_admin"]
    assert problem_of(client.get(f"{T}/inspections/{fid}", headers=admin), 404)[
        "detail"] == "检查不存在"
    assert client.put(f"{T}/inspections/{fid}/results/{foreign_item}", json={"answer": "yes"},
                      headers=admin).status_code == 404
    assert client.post(f"{T}/inspections/{fid}/submit", json={}, headers=admin).status_code == 404
    assert client.get(f"{T}/evidence/{foreign_evidence['id']}", headers=admin).status_code == 404
    assert client.get(f"{T}/checklist-templates/other-only", headers=admin).status_code == 404
    assert client.get(f"{T}/checklist-templates/other-only/versions",
                      headers=admin).status_code == 404
    r = start(client, admin, w["ents"][0], template_key="other-only")
    assert problem_of(r, 422)["errors"] == {"template_key": ["检查表不存在: other-only"]}
    r = start(client, admin, w["ents"][0], template_key=None,
              template_id=foreign["template"]["id"])
    assert problem_of(r, 422)["errors"] == {"template_id": ["检查表不存在"]}
    # Foreign items and evidence inside an own inspection's body.
    own = start(client, admin, w["ents"][0]).json
    r = client.put(f"{T}/inspections/{own['inspection']['id']}/results/{foreign_item}",
                   json={"answer": "yes"}, headers=admin)
    assert problem_of(r, 422)["errors"] == {"item_id": ["检查项不属于本次检查所用的检查表"]}
    r = client.put(f"{T}/inspections/{own['inspection']['id']}/results/{items_of(own)['1']}",
                   json={"answer": "yes", "evidence_ids": [foreign_evidence["id"]]},
                   headers=admin)
    assert problem_of(r, 404)["errors"] == {
        "evidence_ids": [f"证据文件不存在: {foreign_evidence['id']}"]}
    # The other tenant's copy of the plugin template is its own row.
    assert own["template"]["id"] != foreign["template"]["id"]
