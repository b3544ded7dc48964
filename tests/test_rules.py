"""Rules (规章制度, seed 004): a district's template list loaded from its Excel (a title
row above the header, a 序号 column, a 合计 row), a dry run's plan, the load and a
re-load; enterprises self-checking against the templates; the counts per enterprise
and the summary, every count written by hand; who sees what."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from anjian.audit.models import AuditEntry
from anjian.clock import local_today
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.ledgers.models import EnterpriseRule, RuleTemplate
from anjian.plugins.context import PluginContext
from anjian.plugins.views import TenantInfo
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

RULES = "/api/v1/tenants/sy-rules/rules"
TITLE = "沈阳市某区中小微工业企业安全生产规章制度模板目录"

# The district's list: (编号, 制度名称, 类别, 备注).
TEMPLATES = [
    ("AQ-001", "全员安全生产责任制", "综合管理", None),
    ("AQ-002", "安全生产会议制度", "综合管理", None),
    ("AQ-003", "安全生产投入保障制度", "综合管理", "含安全费用提取和使用"),
    ("AQ-004", "安全生产教育培训制度", "教育培训", None),
    ("AQ-005", "特种作业人员管理制度", "教育培训", None),
    ("AQ-006", "生产安全事故隐患排查治理制度", "隐患排查", None),
    ("AQ-007", "危险作业审批制度", "作业管理", None),
    ("AQ-008", "相关方安全管理制度", "作业管理", None),
    ("AQ-009", "劳动防护用品管理制度", "设备设施", None),
    ("AQ-010", "设备设施检维修管理制度", "设备设施", None),
    ("AQ-011", "生产安全事故应急救援预案管理制度", "应急管理", None),
    ("AQ-012", "生产安全事故报告和调查处理制度", "应急管理", None),
]
# The revised list: AQ-002 renamed, AQ-012 no longer listed, two new rules.
REVISED = [
    *[t for t in TEMPLATES if t[0] not in ("AQ-002", "AQ-012")][:1],
    ("AQ-002", "安全生产例会制度", "综合管理", None),
    *[t for t in TEMPLATES if t[0] not in ("AQ-001", "AQ-002", "AQ-012")],
    ("AQ-013", "有限空间作业安全管理制度", "作业管理", None),
    ("AQ-014", "粉尘防爆安全管理制度", "设备设施", None),
]


def district_xlsx(rows=TEMPLATES) -> bytes:
    """The list as the district sends it: a merged title row, a line of who made it, the
    header (序号, 编号, 制度名称, 类别, 备注), the rules, a 合计 row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "制度模板目录"
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=5)
    sheet.append(["编制单位：区应急管理局"])
    sheet.append(["序号", "编号", "制度名称", "类别", "备注"])
    for n, (code, title, category, note) in enumerate(rows, start=1):
        sheet.append([n, code, title, category, note])
    sheet.append(["合计", None, f"共{len(rows)}项"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, headers, data, name="规章制度模板目录.xlsx", **form):
    body = {"file": (io.BytesIO(data), name),
            **{k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}}
    builder = EnvironBuilder(path=f"{RULES}/templates/imports", method="POST", data=body, headers=headers,
                             content_type="multipart/form-data")
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def _enterprise(app, tenant_id, n, name, area_id=None) -> int:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        row = Enterprise(credit_code=f"91210100MA{n:08d}", name=name, area_id=area_id,
                         address="沈阳市", scale="micro")
        db.session.add(row)
        db.session.commit()
        return row.id


def _enterprise_user(app, factory, username, tenant_id, enterprise_id) -> dict:
    from anjian.auth.models import Membership

    user_id, token = factory.user(username)
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        db.session.add(Membership(user_id=user_id, role="enterprise", enterprise_id=enterprise_id))
        db.session.commit()
    return bearer(token)


@pytest.fixture
def sy(app, factory):
    tenant = factory.tenant("sy-rules", level="street", name="某街道")
    other = factory.tenant("sy-rules-other", level="street")
    building = factory.area(tenant, "jiancai", name="建材")
    machinery = factory.area(tenant, "jixie", name="机械")
    e1 = _enterprise(app, tenant, 1, "双勇鑫水泥厂", building)
    e2 = _enterprise(app, tenant, 2, "吉祥水泥管厂", building)
    e3 = _enterprise(app, tenant, 3, "千汇链条制造有限公司", machinery)
    foreign = _enterprise(app, other, 4, "外租户企业")
    return {
        "id": tenant, "other": other, "areas": {"building": building, "machinery": machinery},
        "e1": e1, "e2": e2, "e3": e3, "foreign": foreign,
        "admin": bearer(factory.user("sy-admin", {tenant: "tenant_admin"})[1]),
        "supervisor": bearer(factory.user("sy-sup", {tenant: "supervisor"})[1]),
        "other_admin": bearer(factory.user("sy-other-admin", {other: "tenant_admin"})[1]),
        "ent1": _enterprise_user(app, factory, "sy-ent1", tenant, e1),
        "ent2": _enterprise_user(app, factory, "sy-ent2", tenant, e2),
    }


def load(client, sy, rows=TEMPLATES, **form):
    r = upload(client, sy["admin"], district_xlsx(rows), **form)
    assert r.status_code == 200, r.json
    return r.json


def template_ids(client, sy) -> dict[str, int]:
    r = client.get(f"{RULES}/templates?per_page=200", headers=sy["admin"])
    assert r.status_code == 200, r.json
    return {t["code"]: t["id"] for t in r.json["items"]}


def checklist(client, headers, enterprise_id, **query):
    r = client.get(f"{RULES}/enterprises/{enterprise_id}", headers=headers, query_string=query)
    assert r.status_code == 200, r.json
    return r.json


def test_a_district_list_is_planned_then_loaded(app, client, sy):
    plan = load(client, sy, dry_run=True)
    assert plan["dry_run"] is True
    assert (plan["sheet"], plan["header_rows"]) == ("制度模板目录", [3])
    assert plan["columns"] == [
        {"column": "B", "header": "编号", "field": "code", "how": "label"},
        {"column": "C", "header": "制度名称", "field": "title", "how": "label"},
        {"column": "D", "header": "类别", "field": "category", "how": "label"},
        {"column": "E", "header": "备注", "field": "note", "how": "label"},
    ]
    assert plan["ignored"] == [{"column": "A", "header": "序号", "how": "序号列"}]
    assert plan["unmapped"] == []
    assert (plan["total"], plan["rejected"], plan["skipped_count"]) == (12, 0, 1)
    assert plan["skipped"] == [{"row": 16, "reason": "合计行：合计"}]
    assert (plan["created"], plan["updated"], plan["unchanged"], plan["not_in_list"]) == (12, 0, 0, [])
    assert len(plan["changes"]) == 12 and plan["changes_truncated"] is False
    assert plan["changes"][0] == {"row": 4, "code": "AQ-001", "action": "created", "changes": {
        "title": {"from": None, "to": "全员安全生产责任制"}, "category": {"from": None, "to": "综合管理"},
        "seq": {"from": None, "to": "1"}}}
    assert plan["preview"][2] == {"row": 6, "values": {
        "code": "AQ-003", "title": "安全生产投入保障制度", "category": "综合管理", "note": "含安全费用提取和使用"}}
    assert plan["warnings"] == ["跳过 1 行合计、说明或落款行（第 16 行）", "「备注」（E列）仅供识别，不导入"]
    # A dry run stores nothing.
    assert client.get(f"{RULES}/templates", headers=sy["admin"]).json["total"] == 0

    done = load(client, sy)
    assert done["dry_run"] is False
    assert (done["created"], done["updated"], done["unchanged"], done["total"]) == (12, 0, 0, 12)
    assert "changes" not in done and "preview" not in done
    page = client.get(f"{RULES}/templates?per_page=5", headers=sy["supervisor"]).json
    assert page["total"] == 12
    assert [(t["code"], t["title"], t["category"], t["seq"]) for t in page["items"]] == [
        ("AQ-001", "全员安全生产责任制", "综合管理", 1), ("AQ-002", "安全生产会议制度", "综合管理", 2),
        ("AQ-003", "安全生产投入保障制度", "综合管理", 3), ("AQ-004", "安全生产教育培训制度", "教育培训", 4),
        ("AQ-005", "特种作业人员管理制度", "教育培训", 5)]
    found = client.get(f"{RULES}/templates", headers=sy["ent1"], query_string={"q": "应急"}).json
    assert [t["code"] for t in found["items"]] == ["AQ-011"]
    found = client.get(f"{RULES}/templates", headers=sy["ent1"], query_string={"category": "设备设施"}).json
    assert [t["code"] for t in found["items"]] == ["AQ-009", "AQ-010"]
    # The same list again changes nothing.
    again = load(client, sy)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 12)
    # Only the tenant admin loads a list; another tenant's admin does not see this one.
    assert upload(client, sy["supervisor"], district_xlsx()).status_code == 403
    assert upload(client, sy["ent1"], district_xlsx()).status_code == 403
    assert upload(client, sy["other_admin"], district_xlsx()).status_code == 404
    assert client.get("/api/v1/tenants/sy-rules-other/rules/templates",
                      headers=sy["other_admin"]).json["total"] == 0


def test_a_list_numbered_by_its_serial_column_alone(app, client, sy):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["安全生产规章制度目录"])
    sheet.append(["序号", "规章制度名称"])
    sheet.append([1, "全员安全生产责任制"])
    sheet.append([2, "安全生产会议制度"])
    sheet.append([2, "安全生产会议制度（重复）"])
    sheet.append([None, "危险作业审批制度"])
    buffer = io.BytesIO()
    book.save(buffer)
    plan = upload(client, sy["admin"], buffer.getvalue(), dry_run=True).json
    assert plan["columns"] == [
        {"column": "A", "header": "序号", "field": "code", "how": "序号作编号"},
        {"column": "B", "header": "规章制度名称", "field": "title", "how": "alias"}]
    assert (plan["total"], plan["created"], plan["rejected"]) == (4, 2, 2)
    assert plan["rejections"] == [
        {"row": 5, "column": "序号", "message": "编号与第4行重复（已导入第4行）"},
        {"row": 6, "column": "序号", "message": "序号：不能为空"}]
    assert plan["warnings"][0] == "「序号」（A列）作为编号导入（清单中没有其他编号列）"
    assert plan["preview"][0] == {"row": 3, "values": {"code": "1", "title": "全员安全生产责任制"}}


def test_files_that_are_not_a_template_list_are_refused(app, client, sy):
    r = upload(client, sy["admin"], b"PK\x03\x04" + b"\x00" * (2 * 1024 * 1024))
    assert r.status_code == 413
    assert r.json["detail"].startswith("文件超过 2 MB")
    assert r.json["errors"] == {"file": [r.json["detail"]]}
    book = openpyxl.Workbook()
    book.active.append(["企业名称", "地址"])
    book.active.append(["某某公司", "沈阳市"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = upload(client, sy["admin"], buffer.getvalue())
    assert r.status_code == 422
    assert "未找到规章制度模板名单的表头" in r.json["detail"]
    # A column the load would drop must be named first (the plan tells which).
    book = openpyxl.Workbook()
    book.active.append(["编号", "制度名称", "发布部门"])
    book.active.append(["AQ-001", "全员安全生产责任制", "区应急管理局"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = upload(client, sy["admin"], buffer.getvalue())
    assert r.status_code == 422
    assert r.json["plan"]["unmapped"][0]["header"] == "发布部门"
    r = upload(client, sy["admin"], buffer.getvalue(), mapping='{"发布部门": "ignore"}')
    assert r.status_code == 200, r.json
    assert r.json["created"] == 1
    assert client.get(f"{RULES}/templates", headers=sy["admin"]).json["total"] == 1


def test_self_checks_counts_a_reload_and_the_summary(app, client, sy):
    load(client, sy)
    ids = template_ids(client, sy)
    today = local_today()
    marks = [{"template_id": ids[f"AQ-00{n}"], "status": "present", "revised_on": "2024-03-15"}
             for n in range(1, 6)]
    marks += [{"template_id": ids["AQ-006"], "status": "present"},
              {"template_id": ids["AQ-007"], "status": "present", "note": "已按区模板修订"},
              {"template_id": ids["AQ-008"], "status": "missing"},
              {"template_id": ids["AQ-009"], "status": "missing", "note": "未建立"},
              {"template_id": ids["AQ-010"], "status": "outdated", "revised_on": "2019-06-01"}]
    r = client.put(f"{RULES}/enterprises/{sy['e1']}", headers=sy["ent1"], json={"items": marks})
    assert r.status_code == 200, r.json
    assert r.json["counts"] == {"templates": 12, "present": 7, "missing": 2, "outdated": 1, "unassessed": 2,
                                "met": 7}
    items = {i["code"]: i for i in r.json["items"]}
    assert len(items) == 12
    assert (items["AQ-001"]["status"], items["AQ-001"]["revised_on"]) == ("present", "2024-03-15")
    assert (items["AQ-007"]["status_label"], items["AQ-007"]["note"]) == ("已建立", "已按区模板修订")
    assert (items["AQ-010"]["status"], items["AQ-010"]["status_label"], items["AQ-010"]["revised_on"]) == (
        "outdated", "需修订", "2019-06-01")
    assert (items["AQ-011"]["status"], items["AQ-011"]["status_label"], items["AQ-011"]["revised_on"]) == (
        "unassessed", "未自查", None)
    with app.app_context(), scoped(db.session, Scope.tenant(sy["id"])):
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "enterpriserule.create")) == 10
    # The checklist filtered by status; the counts stay over every template.
    missing = checklist(client, sy["supervisor"], sy["e1"], status="missing")
    assert [i["code"] for i in missing["items"]] == ["AQ-008", "AQ-009"]
    assert missing["counts"]["templates"] == 12

    # A revised date later than today: nothing of the call is stored.
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    r = client.put(f"{RULES}/enterprises/{sy['e1']}", headers=sy["ent1"], json={"items": [
        {"template_id": ids["AQ-011"], "status": "present"},
        {"template_id": ids["AQ-012"], "status": "present", "revised_on": tomorrow}]})
    assert r.status_code == 422
    assert r.json["errors"] == {
        "items.1.revised_on": [f"修订日期不能晚于今天（{tomorrow} 晚于 {today.isoformat()}）"]}
    assert r.json["detail"] == "规章制度自查情况有 1 处错误，均未保存"
    after = checklist(client, sy["ent1"], sy["e1"])
    assert after["counts"]["unassessed"] == 2
    assert {i["code"]: i["status"] for i in after["items"]}["AQ-011"] == "unassessed"
    # A missing rule has no revision date; a template of another tenant is no template here.
    r = client.put(f"{RULES}/enterprises/{sy['e1']}", headers=sy["ent1"], json={"items": [
        {"template_id": ids["AQ-008"], "status": "missing", "revised_on": "2024-01-01"},
        {"template_id": 987654, "status": "present"}]})
    assert r.status_code == 422
    assert r.json["errors"] == {"items.0.revised_on": ["「缺失」的制度不填写修订日期"],
                                "items.1.template_id": ["规章制度模板 987654 不存在"]}
    r = client.put(f"{RULES}/enterprises/{sy['e1']}", headers=sy["ent1"], json={"items": [
        {"template_id": ids["AQ-008"], "status": "built"}]})
    assert r.status_code == 422
    assert r.json["errors"] == {"json": {"items": {"0": {
        "status": ["须为以下之一: present, missing, outdated, unassessed"]}}}}

    # e2, marked by the tenant admin: 3 present, 1 outdated; e3 has not started.
    r = client.put(f"{RULES}/enterprises/{sy['e2']}", headers=sy["admin"], json={"items": [
        {"template_id": ids["AQ-001"], "status": "present", "revised_on": "2023-12-01"},
        {"template_id": ids["AQ-004"], "status": "present"},
        {"template_id": ids["AQ-006"], "status": "present"},
        {"template_id": ids["AQ-011"], "status": "outdated"}]})
    assert r.status_code == 200, r.json
    assert r.json["counts"] == {"templates": 12, "present": 3, "missing": 0, "outdated": 1, "unassessed": 8,
                                "met": 3}

    # The district re-issues its list: AQ-002 renamed, AQ-013 and AQ-014 new, AQ-012 dropped (kept).
    plan = load(client, sy, REVISED, dry_run=True)
    assert (plan["created"], plan["updated"], plan["unchanged"], plan["not_in_list"]) == (2, 1, 10, ["AQ-012"])
    assert plan["changes"][0] == {"row": 5, "code": "AQ-002", "action": "updated", "changes": {
        "title": {"from": "安全生产会议制度", "to": "安全生产例会制度"}}}
    assert plan["warnings"][-1] == "1 条已有模板不在本次清单中（编号 AQ-012），将保留，企业对其的自查记录不变"
    done = load(client, sy, REVISED)
    assert (done["created"], done["updated"], done["unchanged"], done["not_in_list"]) == (2, 1, 10, ["AQ-012"])
    assert done["warnings"][-1] == "1 条已有模板不在本次清单中（编号 AQ-012），已保留，企业对其的自查记录不变"
    ids = template_ids(client, sy)
    assert len(ids) == 14
    e1 = checklist(client, sy["ent1"], sy["e1"])
    assert e1["counts"] == {"templates": 14, "present": 7, "missing": 2, "outdated": 1, "unassessed": 4, "met": 7}
    assert {i["code"]: i["title"] for i in e1["items"]}["AQ-002"] == "安全生产例会制度"
    assert [i["code"] for i in checklist(client, sy["ent1"], sy["e1"], status="unassessed")["items"]] == [
        "AQ-011", "AQ-012", "AQ-013", "AQ-014"]

    # The summary over the three enterprises, counted by hand (14 templates each).
    summary = client.get(f"{RULES}/summary", headers=sy["supervisor"]).json
    assert summary["total"] == 3
    by_id = {i["enterprise_id"]: {k: i[k] for k in ("templates", "present", "missing", "outdated", "unassessed",
                                                    "met")} for i in summary["items"]}
    assert by_id == {
        sy["e1"]: {"templates": 14, "present": 7, "missing": 2, "outdated": 1, "unassessed": 4, "met": 7},
        sy["e2"]: {"templates": 14, "present": 3, "missing": 0, "outdated": 1, "unassessed": 10, "met": 3},
        sy["e3"]: {"templates": 14, "present": 0, "missing": 0, "outdated": 0, "unassessed": 14, "met": 0},
    }
    assert {i["enterprise_id"]: i["enterprise_name"] for i in summary["items"]}[sy["e3"]] == "千汇链条制造有限公司"
    assert summary["totals"] == {"enterprises": 3, "templates": 42, "present": 10, "missing": 2, "outdated": 2,
                                 "unassessed": 28, "met": 10}
    # Paged: the totals are over every enterprise, not the page's.
    paged = client.get(f"{RULES}/summary?per_page=2&page=2", headers=sy["supervisor"]).json
    assert (len(paged["items"]), paged["total"], paged["totals"]) == (1, 3, summary["totals"])
    past = client.get(f"{RULES}/summary?per_page=2&page=3", headers=sy["supervisor"]).json
    assert (past["items"], past["total"], past["totals"]) == ([], 3, summary["totals"])
    building = client.get(f"{RULES}/summary", headers=sy["admin"],
                          query_string={"area_id": sy["areas"]["building"]}).json
    assert {i["enterprise_id"] for i in building["items"]} == {sy["e1"], sy["e2"]}
    assert building["totals"] == {"enterprises": 2, "templates": 28, "present": 10, "missing": 2, "outdated": 2,
                                  "unassessed": 14, "met": 10}
    one = client.get(f"{RULES}/summary", headers=sy["admin"], query_string={"enterprise_id": sy["e3"]}).json
    assert [i["enterprise_id"] for i in one["items"]] == [sy["e3"]]
    # An enterprise user's summary is its own enterprise.
    own = client.get(f"{RULES}/summary", headers=sy["ent2"]).json
    assert (own["total"], own["items"][0]["enterprise_id"], own["items"][0]["present"]) == (1, sy["e2"], 3)

    # A plugin's report reads the same counts.
    with app.app_context(), scoped(db.session, Scope.tenant(sy["id"])):
        helper = PluginContext(TenantInfo(sy["id"], "sy-rules", "某街道", "street", ()))
        assert helper.rules_counts([sy["e1"], sy["e3"]]) == {
            sy["e1"]: {"templates": 14, "present": 7, "missing": 2, "outdated": 1, "unassessed": 4},
            sy["e3"]: {"templates": 14, "present": 0, "missing": 0, "outdated": 0, "unassessed": 14}}
        assert set(helper.rules_counts()) == {sy["e1"], sy["e2"], sy["e3"]}

    # "unassessed" takes a self-check back.
    r = client.put(f"{RULES}/enterprises/{sy['e2']}", headers=sy["ent2"], json={"items": [
        {"template_id": ids["AQ-011"], "status": "unassessed"}]})
    assert r.json["counts"] == {"templates": 14, "present": 3, "missing": 0, "outdated": 0, "unassessed": 11,
                                "met": 3}
    with app.app_context(), scoped(db.session, Scope.tenant(sy["id"])):
        assert db.session.scalar(select(func.count()).select_from(EnterpriseRule)) == 10 + 3
        assert db.session.scalar(select(func.count()).select_from(RuleTemplate)) == 14


def test_who_sees_and_marks_an_enterprises_rules(app, client, sy):
    load(client, sy)
    ids = template_ids(client, sy)
    mark = {"items": [{"template_id": ids["AQ-001"], "status": "present"}]}
    # Another enterprise's user: as absent as a missing enterprise, for reading and writing.
    r = client.get(f"{RULES}/enterprises/{sy['e2']}", headers=sy["ent1"])
    assert (r.status_code, r.json["detail"]) == (404, "企业不存在")
    assert client.put(f"{RULES}/enterprises/{sy['e2']}", headers=sy["ent1"], json=mark).status_code == 404
    assert client.get(f"{RULES}/enterprises/987654", headers=sy["admin"]).status_code == 404
    # Another tenant: its enterprise is not one of this tenant's, and its admin sees no tenant.
    assert client.get(f"{RULES}/enterprises/{sy['foreign']}", headers=sy["admin"]).status_code == 404
    assert client.put(f"{RULES}/enterprises/{sy['foreign']}", headers=sy["admin"], json=mark).status_code == 404
    assert client.get(f"{RULES}/enterprises/{sy['e1']}", headers=sy["other_admin"]).status_code == 404
    assert client.get(f"{RULES}/summary", headers=sy["other_admin"]).status_code == 404
    other_summary = client.get("/api/v1/tenants/sy-rules-other/rules/summary", headers=sy["other_admin"]).json
    assert [(i["enterprise_id"], i["templates"]) for i in other_summary["items"]] == [(sy["foreign"], 0)]
    # A supervisor reads but does not mark.
    assert client.get(f"{RULES}/enterprises/{sy['e1']}", headers=sy["supervisor"]).status_code == 200
    assert client.put(f"{RULES}/enterprises/{sy['e1']}", headers=sy["supervisor"], json=mark).status_code == 403
    with app.app_context(), scoped(db.session, Scope.tenant(sy["id"])):
        assert db.session.scalar(select(func.count()).select_from(EnterpriseRule)) == 0
    # An enterprise's own user marks its own.
    r = client.put(f"{RULES}/enterprises/{sy['e1']}", headers=sy["ent1"], json=mark)
    assert r.status_code == 200, r.json
    assert r.json["counts"]["present"] == 1
