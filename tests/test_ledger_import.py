"""Importing ledger entries from lists as they are sent (issue 19 on the intake engine of
issue 17): a district's export of certified special workers across enterprises, with a
title row, 序号, a 合计 row and everyday headers; an enterprise's own training register.
Expected counts and dates are worked out by hand from the rows below."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter
from stdnum.cn import ric, uscc
from werkzeug.test import EnvironBuilder

from anjian.auth.models import Membership
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.jobs import embedded
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

T = "/api/v1/tenants/sy-import"
L = f"{T}/ledgers"



def credit_code(n: int) -> str:
    body = f"91210100MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def id_number(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.fixture
def w(app, factory):
    tenant = factory.tenant("sy-import", plugins=["anjian_shenyang"], level="street")
    ids = {}
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        for n, name in ((1, "吉祥水泥管厂"), (2, "国铨农机齿轮链轮厂"), (3, "他街道企业")):
            row = Enterprise(credit_code=credit_code(n), name=name)
            db.session.add(row)
            db.session.flush()
            ids[n] = row.id
        db.session.commit()
    admin = bearer(factory.user("imp-admin", {tenant: "tenant_admin"})[1])
    user_id, token = factory.user("imp-ent")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant)):
        db.session.add(Membership(user_id=user_id, role="enterprise", enterprise_id=ids[1]))
        db.session.commit()
    return {"tenant": tenant, "e": ids, "admin": admin, "ent": bearer(token)}


def workbook(title, header, rows, total=True) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("名单")
    day = book.add_format({"num_format": "yyyy年m月d日"})
    ws.merge_range(0, 0, 0, len(header) - 1, title)
    ws.write_row(1, 0, header)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                ws.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), day)
            elif value is not None:
                ws.write(r, c, value)
    if total:
        ws.write_row(2 + len(rows), 0, ["合计", f"{len(rows)} 人"])
    book.close()
    return buffer.getvalue()


def upload(client, headers, kind, data, **form):
    body = {"file": (io.BytesIO(data), "名单.xlsx"),
            **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}}
    builder = EnvironBuilder(path=f"{L}/{kind}/imports", method="POST", data=body, headers=headers,
                             content_type="multipart/form-data")
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def run(app, client, headers, kind, data, **form):
    r = upload(client, headers, kind, data, **form)
    assert r.status_code == 202, r.get_json()
    embedded.drain(app)
    job = client.get(r.headers["Location"], headers=headers).json
    assert job["status"] == "finished", job
    return job["result"]


ZHAO = id_number("21011319880512321")
QIAN = id_number("21011319920708432")
SUN = id_number("21011319851123543")
HEADER = ["序号", "企业信用代码", "持证人", "身份证号码", "证书类别", "准操项目", "证号", "发证日期", "复审日期",
          "发证单位"]


def worker_rows(w):
    return [
        [1, credit_code(1), "赵建国", ZHAO, "焊接与热切割作业", "熔化焊接与热切割作业", "T2101130001",
         dt.date(2021, 5, 10), None, "沈阳市应急管理局"],
        [2, credit_code(1), "钱志强", QIAN, "电工", "低压电工作业", "T2101130002", "2020.3.15", "2023年3月1日",
         "沈阳市应急管理局"],
        [3, credit_code(2), "孙立新", SUN, "高处作业", "登高架设作业", "T2101130003", "20220901", None,
         "沈阳市应急管理局"],
        [4, credit_code(2), "李错号", "210113198501011234", "焊接", None, "T2101130004", "2022-01-01", None, None],
        [5, credit_code(9), "周不在", ZHAO, "焊接", None, "T2101130005", "2022-01-01", None, None],
        [6, credit_code(1), "赵建国", ZHAO, "焊接与热切割作业", None, "T2101130001", "2021-05-10", None, None],
    ]


def test_a_district_export_of_certified_workers(app, client, w):
    data = workbook("2024年特种作业人员持证情况统计表", HEADER, worker_rows(w))
    plan = run(app, client, w["admin"], "special_workers", data, dry_run=True)
    assert plan["header_rows"] == [2]
    assert {c["header"]: c["field"] for c in plan["columns"] if "field" in c} == {
        "企业信用代码": "enterprise_code", "持证人": "name", "身份证号码": "id_number", "证书类别": "work_kind",
        "准操项目": "work_item", "证号": "certificate_no", "发证日期": "issued_on", "复审日期": "reviewed_on",
        "发证单位": "authority"}
    assert (plan["created"], plan["updated"], plan["unchanged"]) == (3, 0, 0)
    # Row 6 repeats row 3's certificate of the same enterprise; row 4's ID number is wrong; row 5's
    # enterprise is not in the registry (rows counted from the sheet's first row: data starts at 3).
    assert [(r["row"], r["message"]) for r in plan["rejections"]] == [
        (6, "身份证号码：身份证号无效"),
        (7, "企业信用代码：企业不存在或无权导入"),
        (8, "企业统一社会信用代码、证书编号与第3行重复（已导入第3行）"),
    ]
    assert plan["skipped"] == [{"row": 9, "reason": "合计行：合计"}]
    result = run(app, client, w["admin"], "special_workers", data)
    assert (result["created"], result["updated"], result["unchanged"], result["rejected"]) == (3, 0, 0, 3)
    items = {i["data"]["name"]: i for i in client.get(f"{L}/special_workers/entries",
                                                       headers=w["admin"]).json["items"]}
    assert set(items) == {"赵建国", "钱志强", "孙立新"}
    # 钱志强: issued 2020-03-15, reviewed 2023-03-01 (within 60 days of 2023-03-15): expires
    # 2026-03-15 with no review left; 赵建国: review due 2024-05-10; 孙立新: 2025-09-01.
    assert (items["钱志强"]["data"]["work_kind"], items["钱志强"]["expires_on"],
            items["钱志强"]["review_due_on"]) == ("电工作业", "2026-03-15", None)
    assert (items["赵建国"]["expires_on"], items["赵建国"]["review_due_on"]) == ("2027-05-10", "2024-05-10")
    assert (items["孙立新"]["enterprise_name"], items["孙立新"]["review_due_on"]) == ("国铨农机齿轮链轮厂",
                                                                                   "2025-09-01")
    history = client.get(f"{L}/special_workers/entries/{items['赵建国']['id']}", headers=w["admin"]).json["history"]
    assert [e["action"] for e in history] == ["import"]
    # The same list again changes nothing; a corrected review date updates one entry.
    again = run(app, client, w["admin"], "special_workers", data)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    rows = worker_rows(w)
    rows[0][8] = dt.date(2024, 4, 20)
    fixed = run(app, client, w["admin"], "special_workers", workbook("持证情况", HEADER, rows[:1]))
    assert (fixed["created"], fixed["updated"], fixed["unchanged"]) == (0, 1, 0)
    zhao = client.get(f"{L}/special_workers/entries/{items['赵建国']['id']}", headers=w["admin"]).json
    assert zhao["review_due_on"] is None  # reviewed 2024-04-20: the next point is the expiry
    assert zhao["history"][-1]["changes"]["reviewed_on"] == [None, "2024-04-20"]


def test_an_enterprise_imports_its_own_training_register(app, client, w):
    header = ["序号", "培训时间", "培训类型", "培训主题", "课时", "参加人数", "考核情况", "讲师"]
    rows = [
        [1, "2024年1月8日", "全员", "冬季防火安全", "2", "43人", "合格", "王安全"],
        [2, "2024-03-02", "新员工三级教育", "岗位安全操作规程", 24, 3, "是", None],
        [3, "2024-03-02", "新员工三级教育", "岗位安全操作规程", 24, 3, "是", None],  # the same session twice
        [4, "2024-04-11", "特种作业", "焊接作业安全", 4, 6, "是", None],
    ]
    data = workbook("2024年安全教育培训台账", header, rows, total=False)
    result = run(app, client, w["ent"], "trainings", data)
    # No key: row 3 is a second, identical session of the same day, which the import does not
    # take twice; row 4's kind is none of the six.
    assert (result["created"], result["unchanged"], result["rejected"]) == (2, 1, 1), result["rejections"]
    assert result["rejections"][0]["row"] == 6 and result["rejections"][0]["message"].startswith(
        "培训类型：须为以下之一：新员工三级教育")
    listed = client.get(f"{L}/trainings/entries", headers=w["ent"]).json["items"]
    assert [(i["enterprise_id"], i["data"]["held_on"], i["data"]["attendees"], i["data"]["hours"])
            for i in listed] == [(w["e"][1], "2024-03-02", 3, 24.0), (w["e"][1], "2024-01-08", 43, 2.0)]
    # It cannot import into another enterprise's ledger.
    r = upload(client, w["ent"], "trainings", data, enterprise_id=w["e"][2])
    assert r.status_code == 404
    again = run(app, client, w["ent"], "trainings", data)
    assert (again["created"], again["unchanged"]) == (0, 3)


def test_a_list_without_the_enterprise_column_needs_an_enterprise(client, w):
    header = ["演练日期", "演练科目", "参演人数"]
    data = workbook("应急演练记录", header, [["2024-04-20", "车间火灾疏散", 35]], total=False)
    r = upload(client, w["admin"], "drills", data)
    assert r.status_code == 422
    assert "企业统一社会信用代码" in r.json["detail"]
    profile = client.get(f"{L}/drills/imports/profile", headers=w["admin"]).json
    assert [f["label"] for f in profile["fields"]][:2] == ["企业统一社会信用代码", "演练日期"]
