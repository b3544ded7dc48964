"""Enterprise ledgers (issue 19): the core kinds over HTTP, with their dates worked out by
hand from the national rules (a special work certificate is valid 6 years and reviewed
every 3), If-Match, history, visibility, what needs attention, the workbook, and whether a
person is certified for a kind of work on a day."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select
from stdnum.cn import ric

from anjian.audit.models import AuditEntry
from anjian.auth.models import Membership
from anjian.clock import local_today
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.ledgers.reminders import remind_expiring
from anjian.notifications import Notification
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer
from tests.test_hazards import assign

TODAY = local_today()
T = "/api/v1/tenants/sy-ledgers"
L = f"{T}/ledgers"


def id_number(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")  # it reads the first 17 of 18


ZHANG = id_number("21010219850301123")
LI = id_number("21010219890615234")
WANG = id_number("21010219900110345")


@pytest.fixture
def w(app, factory):
    tenant = factory.tenant("sy-ledgers", plugins=["anjian_shenyang"], level="street")
    other = factory.tenant("sy-other", plugins=["anjian_shenyang"], level="street")
    ids = {}
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        for n, name in enumerate(("双勇鑫水泥厂", "千汇链条制造有限公司", "晟鑫纸业"), 1):
            row = Enterprise(credit_code=f"912101000000000{n:03d}", name=name)
            db.session.add(row)
            db.session.flush()
            ids[n] = row.id
        db.session.commit()
    users = {role: bearer(factory.user(f"led-{role}", {tenant: role})[1])
             for role in ("tenant_admin", "supervisor", "viewer")}
    for n in (1, 2):
        user_id, token = factory.user(f"led-ent{n}")
        with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
            db.session.add(Membership(user_id=user_id, role="enterprise", enterprise_id=ids[n]))
            db.session.commit()
        users[f"ent{n}"] = bearer(token)
    svc_id, svc_token = factory.user("led-svc", {tenant: "service_org"})
    users["svc"] = bearer(svc_token)
    users["other"] = bearer(factory.user("led-other", {other: "tenant_admin"})[1])
    return {"tenant": tenant, "e": ids, "svc_id": svc_id, **users}


def create(client, headers, kind_key, enterprise_id, **data):
    return client.post(f"{L}/{kind_key}/entries", json={"enterprise_id": enterprise_id, "data": data},
                       headers=headers)


def worker(client, w, who, enterprise, name, number, kind, cert_no, issued, **more):
    r = create(client, w[who], "special_workers", w["e"][enterprise], name=name, id_number=number,
               work_kind=kind, certificate_no=cert_no, issued_on=issued, authority="沈阳市应急管理局",
               **more)
    assert r.status_code == 201, (r.json.get("detail"), r.json.get("errors"))
    return r.json


def test_the_core_kinds_are_listed_with_their_fields(client, w):
    kinds = {k["key"]: k for k in client.get(f"{L}/kinds", headers=w["ent1"]).json}
    assert set(kinds) >= {"special_workers", "trainings", "drills", "related_parties",
                          "responsibilities", "self_inspections"}
    special = kinds["special_workers"]
    assert (special["title"], special["validity_years"], special["review_years"]) == ("特种作业人员持证", 6, 3)
    assert "焊接与热切割作业" in next(f for f in special["fields"] if f["key"] == "work_kind")["choices"]
    trainings = next(f for f in kinds["trainings"]["fields"] if f["key"] == "kind")["choices"]
    assert trainings == ["新员工三级教育", "主要负责人", "安全管理人员", "转岗", "四新", "全员"]
    assert kinds["related_parties"]["evidence"] == ["合同或安全生产管理协议"]
    assert client.get(f"{L}/nonsense/entries", headers=w["ent1"]).status_code == 404


def test_certificate_dates_follow_the_national_rules(client, w):
    # 张三: first issued 2022-03-01, never reviewed: review due 2025-03-01, expires 2028-03-01.
    zhang = worker(client, w, "ent1", 1, "张三", ZHANG, "焊接", "T210102198503011231", "2022-03-01")
    assert zhang["data"]["work_kind"] == "焊接与热切割作业"  # the short name is understood
    assert (zhang["expires_on"], zhang["review_due_on"]) == ("2028-03-01", "2025-03-01")
    # 李四: issued 2019-06-15, reviewed 2022-05-20 (within the 60 days before 2022-06-15):
    # the next review point, 2025-06-15, is the expiry itself, so no review is left.
    li = worker(client, w, "ent1", 1, "李四", LI, "电工作业", "T210102197906152342", "2019-06-15",
                reviewed_on="2022-05-20", work_item="低压电工作业")
    assert (li["expires_on"], li["review_due_on"]) == ("2025-06-15", None)
    # 王五: issued 2021-01-10, reviewed 2023-06-01: too early for the 2024-01-10 review.
    wang = worker(client, w, "ent1", 1, "王五", WANG, "焊接与热切割作业", "T210102199001103453",
                  "2021-01-10", reviewed_on="2023-06-01")
    assert (wang["expires_on"], wang["review_due_on"]) == ("2027-01-10", "2024-01-10")

    def certified(**query):
        r = client.get(f"{L}/special_workers/certified", query_string={"enterprise_id": w["e"][1], **query},
                       headers=w["supervisor"])
        assert r.status_code == 200, r.json
        return r.json

    yes = certified(id_number=ZHANG, work_kind="焊接与热切割作业", on="2024-05-08")
    assert (yes["certified"], yes["certificate_no"], yes["reasons"]) == (True, "T210102198503011231", [])
    late = certified(id_number=ZHANG, work_kind="焊接", on="2025-03-02")
    assert late["certified"] is False and late["reasons"] == [
        "证书 T210102198503011231 应于 2025-03-01 前复审，未复审"]
    assert certified(id_number=ZHANG, work_kind="电工", on="2024-05-08")["reasons"] == [
        "无电工作业的特种作业操作证记录"]
    assert certified(name="李四", work_kind="电工作业", on="2025-06-14")["certified"] is True
    assert certified(name="李四", work_kind="电工作业", on="2025-06-15")["reasons"] == [
        "证书 T210102197906152342 已于 2025-06-15 到期"]
    assert certified(name="王五", work_kind="焊接", on="2023-12-31")["certified"] is True
    assert certified(name="王五", work_kind="焊接", on="2024-05-08")["certified"] is False
    assert certified(name="王五", work_kind="焊接", on="2020-12-31")["reasons"] == [
        "证书 T210102199001103453 于 2021-01-10 才取得"]
    bad = client.get(f"{L}/special_workers/certified", headers=w["supervisor"],
                     query_string={"enterprise_id": w["e"][1], "work_kind": "潜水", "name": "张三"})
    assert bad.status_code == 422 and "作业类别无效" in bad.json["detail"]
    # Another enterprise's user is not told about this one's workers.
    assert client.get(f"{L}/special_workers/certified", headers=w["ent2"], query_string={
        "enterprise_id": w["e"][1], "work_kind": "焊接", "name": "张三"}).status_code == 404


def test_bad_entries_are_refused_in_chinese_and_nothing_is_stored(client, w):
    r = create(client, w["ent1"], "special_workers", w["e"][1], name="张三", id_number="210102198503011230",
               work_kind="焊工", certificate_no="X1", issued_on="2022-13-01")
    assert r.status_code == 422
    errors = r.json["errors"]
    assert errors["data.id_number"] == ["身份证号无效"]
    assert errors["data.issued_on"] == ["不是有效的日期"]
    assert errors["data.work_kind"][0].startswith("须为以下之一：电工作业、焊接与热切割作业")
    r = create(client, w["ent1"], "trainings", w["e"][1], held_on="2024-04-10", kind="全员",
               topic="有限空间作业安全", hours=2, attendees="39人", colour="red")
    assert r.status_code == 422
    assert r.json["errors"]["data.colour"] == ["不允许的字段"]
    assert r.json["errors"]["data.attendees"] == ["不是有效的整数"]
    assert create(client, w["ent1"], "drills", w["e"][1], scenario="火灾").json["errors"] == {
        "data.held_on": ["必填项"], "data.participants": ["必填项"]}
    assert client.get(f"{L}/trainings/entries", headers=w["ent1"]).json["total"] == 0
    assert client.get(f"{L}/special_workers/entries", headers=w["ent1"]).json["total"] == 0


def test_change_and_delete_need_if_match_and_leave_a_history(app, client, w):
    drill = create(client, w["ent1"], "drills", w["e"][1], held_on="2024-04-20", scenario="车间火灾疏散",
                   kind="专项演练", participants=35)
    assert drill.status_code == 201, drill.json
    url = f"{L}/drills/entries/{drill.json['id']}"
    etag = client.get(url, headers=w["ent1"]).headers["ETag"]
    assert client.patch(url, json={"data": {"participants": 40}}, headers=w["ent1"]).status_code == 428
    changed = client.patch(url, json={"data": {"participants": 40, "evaluation": "疏散用时 3 分钟，达到预期"}},
                           headers={**w["ent1"], "If-Match": etag})
    assert changed.status_code == 200, changed.json
    assert changed.json["data"]["participants"] == 40
    stale = client.patch(url, json={"data": {"participants": 41}}, headers={**w["ent1"], "If-Match": etag})
    assert stale.status_code == 412
    history = client.get(url, headers=w["ent1"]).json["history"]
    assert [e["action"] for e in history] == ["create", "update"]
    assert history[1]["changes"] == {"evaluation": [None, "疏散用时 3 分钟，达到预期"], "participants": [35, 40]}
    # Clearing a required field is refused; clearing an optional one is a change.
    etag = client.get(url, headers=w["ent1"]).headers["ETag"]
    assert client.patch(url, json={"data": {"scenario": ""}},
                        headers={**w["ent1"], "If-Match": etag}).status_code == 422
    # The bureau reads but does not write; the enterprise deletes with If-Match.
    assert client.get(url, headers=w["supervisor"]).status_code == 200
    assert client.delete(url, headers={**w["supervisor"], "If-Match": etag}).status_code == 403
    assert client.delete(url, headers={**w["ent1"], "If-Match": etag}).status_code == 204
    assert client.get(url, headers=w["ent1"]).status_code == 404
    assert client.get(f"{L}/drills/entries", headers=w["ent1"]).json["total"] == 0
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        actions = list(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.entity_type == "ledgerentry", AuditEntry.entity_id == str(drill.json["id"]))
            .order_by(AuditEntry.id)))
    # created; changed; deleted (a soft delete is an update of deleted_at)
    assert actions == ["ledgerentry.create", "ledgerentry.update", "ledgerentry.update"]


def test_each_role_sees_the_entries_it_may(app, client, w):
    worker(client, w, "ent1", 1, "张三", ZHANG, "焊接", "C-1", "2022-03-01")
    worker(client, w, "ent2", 2, "李四", LI, "电工", "C-2", "2022-03-01")
    # An enterprise user writes for its own enterprise only.
    assert create(client, w["ent1"], "drills", w["e"][2], held_on="2024-04-20", scenario="火灾",
                  participants=3).status_code == 404
    listed = client.get(f"{L}/special_workers/entries", headers=w["ent1"]).json
    assert [i["data"]["name"] for i in listed["items"]] == ["张三"]
    assert listed["items"][0]["data"]["id_number"] == ZHANG[:6] + "********" + ZHANG[-4:]
    detail = client.get(f"{L}/special_workers/entries/{listed['items'][0]['id']}", headers=w["ent1"]).json
    assert detail["data"]["id_number"] == ZHANG  # the detail shows it whole
    assert client.get(f"{L}/special_workers/entries", headers=w["supervisor"]).json["total"] == 2
    assert client.get(f"{L}/special_workers/entries", headers=w["viewer"]).json["total"] == 2
    # A service organisation sees the enterprises it serves (here: assigned in a campaign).
    assert client.get(f"{L}/special_workers/entries", headers=w["svc"]).json["total"] == 0
    assign(app, w["tenant"], w["e"][2], w["svc_id"])
    seen = client.get(f"{L}/special_workers/entries", headers=w["svc"]).json
    assert [i["data"]["name"] for i in seen["items"]] == ["李四"]
    assert create(client, w["svc"], "drills", w["e"][2], held_on="2024-04-20", scenario="火灾",
                  participants=3).status_code == 403
    # Another tenant sees nothing, by id or in lists.
    entry = listed["items"][0]["id"]
    assert client.get(f"/api/v1/tenants/sy-other/ledgers/special_workers/entries/{entry}",
                      headers=w["other"]).status_code == 404
    assert client.get(f"{L}/special_workers/entries", headers=w["other"]).status_code in (403, 404)


def test_what_needs_attention_today(client, w):
    def party(name, ends):
        r = create(client, w["ent1"], "related_parties", w["e"][1], name=name, kind="外委作业",
                   agreement_signed_on=(TODAY - dt.timedelta(days=400)).isoformat(), agreement_ends_on=ends.isoformat(),
                   areas="厂区东侧设备间由乙方管理", duties="乙方负责检维修作业安全", site_supervisor="赵工")
        assert r.status_code == 201, r.json
        return r.json

    lapsed = party("沈阳宏达设备维修有限公司", TODAY - dt.timedelta(days=5))
    soon = party("沈阳顺通吊装服务有限公司", TODAY + dt.timedelta(days=20))
    party("沈阳安泰保洁有限公司", TODAY + dt.timedelta(days=200))
    assert (lapsed["standing"], lapsed["standing_label"]) == ("expired", "已过期")
    assert (soon["standing"], soon["standing_label"]) == ("expiring", "即将到期")
    # A certificate expiring within its 90-day reminder window.
    issued = TODAY.replace(year=TODAY.year - 6) + dt.timedelta(days=30)
    cert = worker(client, w, "ent1", 1, "张三", ZHANG, "焊接", "C-9", issued.isoformat(),
                  reviewed_on=(issued.replace(year=issued.year + 3) - dt.timedelta(days=10)).isoformat())
    assert cert["standing"] == "expiring"
    attention = client.get(f"{L}/attention", headers=w["supervisor"]).json
    assert [i["data"]["name"] for i in attention["items"]] == [
        "沈阳宏达设备维修有限公司", "沈阳顺通吊装服务有限公司", "张三"]
    expired = client.get(f"{L}/attention", query_string={"standing": "expired"}, headers=w["supervisor"]).json
    assert [i["id"] for i in expired["items"]] == [lapsed["id"]]
    assert client.get(f"{L}/related_parties/entries", query_string={"standing": "valid"},
                      headers=w["ent1"]).json["total"] == 1
    assert client.get(f"{L}/attention", headers=w["ent2"]).json["total"] == 0


def test_an_expiry_is_told_to_active_members_only_and_audited_once(app, client, w):
    """The expiry of a certificate (2024-06-30) scanned on 2024-07-01: the enterprise's user
    and the bureau hear of it, but not a supervisor whose membership is disabled; one
    summary audit row names the entry, its stage (0: expired) and the 2 notifications."""
    entry = worker(client, w, "ent1", 1, "张三", ZHANG, "焊接", "C-8", "2018-06-30",
                   reviewed_on="2021-06-01")
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        members = {m.role: m for m in db.session.scalars(select(Membership).where(
            Membership.enterprise_id.is_(None) | (Membership.enterprise_id == w["e"][1])))}
        members["supervisor"].disabled_at = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
        expected = sorted([members["tenant_admin"].user_id, members["enterprise"].user_id])
        db.session.commit()
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        context = Context.for_system(db.session.get(Tenant, w["tenant"]), app.extensions["anjian.plugins"])
        assert remind_expiring(context, dt.date(2024, 7, 1)) == 1
        db.session.commit()
    with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
        told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "ledger_expiry"))
        assert sorted(told) == expected
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ledgerentry.expiry_reminders")).all()
        assert [(r.entity_id, r.after, r.detail) for r in rows] == [
            ("2024-07-01", {"today": "2024-07-01", "reminded_days": {str(entry["id"]): 0}, "notifications": 2},
             "台账到期提醒：1 条记录，通知 2 条")]


def test_a_kind_exports_as_a_workbook_with_ids_masked(client, w):
    worker(client, w, "ent1", 1, "张三", ZHANG, "焊接", "C-1", "2022-03-01")
    worker(client, w, "ent1", 1, "李四", LI, "电工", "C-2", "2019-06-15", reviewed_on="2022-05-20")
    r = client.get(f"{L}/special_workers/export", headers=w["supervisor"])
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["企业名称", "姓名", "身份证号", "作业类别", "操作项目", "证书编号", "初领日期",
                       "最近复审日期", "发证机关", "到期日期", "下次复审日期", "状态"]
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"张三", "李四"}
    assert by_name["张三"][0] == "双勇鑫水泥厂"
    assert by_name["张三"][2] == ZHANG[:6] + "********" + ZHANG[-4:]
    assert by_name["张三"][9].date() == dt.date(2028, 3, 1)
    assert by_name["李四"][10] is None
    assert client.get(f"{L}/special_workers/export", headers=w["ent2"]).status_code == 200


def test_expiry_reminders_are_sent_once_per_stage(app, client, w):
    """A certificate expiring on 2024-06-30 (kind reminders 90, 30, 7 days before), scanned on
    chosen days: each stage is told once, a missed day tells the stage it is in, and the
    expiry itself is told to the bureau too."""
    entry = worker(client, w, "ent1", 1, "张三", ZHANG, "焊接", "C-7", "2018-06-30",
                   reviewed_on="2021-06-01")
    assert entry["expires_on"] == "2024-06-30"

    def scan(day):
        with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
            context = Context.for_system(db.session.get(Tenant, w["tenant"]), app.extensions["anjian.plugins"])
            n = remind_expiring(context, dt.date.fromisoformat(day))
            db.session.commit()
            return n

    def titles():
        with app.app_context(), scoped(db.session, Scope.tenant(w["tenant"])):
            return [(n.user_id, n.title) for n in db.session.scalars(
                select(Notification).where(Notification.kind == "ledger_expiry").order_by(Notification.id))]

    assert scan("2024-03-01") == 0  # 121 days before: none due
    assert scan("2024-04-01") == 1  # 90 days before
    assert scan("2024-04-02") == 0  # told already
    assert scan("2024-06-25") == 1  # the 30-day stage was missed; it is in the 7-day one
    assert scan("2024-06-26") == 0
    assert scan("2024-07-01") == 1  # expired: the enterprise and the bureau
    assert scan("2024-07-02") == 0
    told = [t for _u, t in titles()]
    assert told[:2] == ["双勇鑫水泥厂的特种作业人员持证「张三」将于 2024-06-30 到期（还有 90 天）",
                        "双勇鑫水泥厂的特种作业人员持证「张三」将于 2024-06-30 到期（还有 5 天）"]
    assert told[2:] == ["双勇鑫水泥厂的特种作业人员持证「张三」已于 2024-06-30 到期"] * 3  # ent1, admin, supervisor
