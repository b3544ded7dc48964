"""Importing existing certificates (达标证书) as a city system exports them: a titled xlsx
with everyday headers, a 合计 row, dates and levels as offices write them; a GB18030/GBK
CSV that renews, refuses an older certificate and adds a second scheme. Every count,
reason and stored value is written by hand."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter
from sqlalchemy import func, select
from stdnum.cn import uscc
from werkzeug.test import EnvironBuilder

from anjian.audit.models import AuditEntry
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.jobs import embedded
from anjian.standardisation.importing import read_expiry, read_scheme
from anjian.standardisation.models import Certification, CertificationEvent
from anjian.tenancy.scope import Scope, scoped
from tests.conftest import bearer

URL = "/api/v1/tenants/cert/standardisation/certificate-imports"
TITLE = "常熟市安全生产标准化达标企业名单（截至2019年3月）"


def code(n: int) -> str:
    base = f"91320581MA{n:07d}"
    return base + uscc.calc_check_digit(base)


@pytest.fixture
def world(app, factory):
    a = factory.tenant("cert")
    b = factory.tenant("cert-b")
    _, admin = factory.user("cert-admin", {a: "tenant_admin"})
    _, sup = factory.user("cert-sup", {a: "supervisor"})
    _, viewer = factory.user("cert-viewer", {a: "viewer"})
    _, b_admin = factory.user("cert-b-admin", {b: "tenant_admin"})
    with app.app_context(), scoped(db.session, Scope.tenant(a)):
        ids = {}
        for n in (1, 2, 3, 4, 5, 7, 8):
            row = Enterprise(credit_code=code(n), name=f"常熟市达标企业{n}有限公司", address=f"常熟市梅李镇{n}号",
                             scale="micro", industry_code="C3311", main_products="钢结构件")
            db.session.add(row)
            db.session.flush()
            ids[n] = row.id
        # 3: applied in the platform; 4: delisted; 5: the certificate the list has, already stored.
        db.session.add_all([
            Certification(enterprise_id=ids[3], scheme="small_micro", state="applied",
                          applied_on=dt.date(2018, 1, 10)),
            Certification(enterprise_id=ids[4], scheme="small_micro", state="delisted",
                          applied_on=dt.date(2017, 3, 1), certificate_no="常安标小微〔2017〕004",
                          issued_on=dt.date(2017, 6, 1), expires_on=dt.date(2020, 6, 1),
                          first_achieved_on=dt.date(2017, 6, 1), delisted_on=dt.date(2019, 1, 5),
                          delisting_reason="“回头看”不合格"),
            Certification(enterprise_id=ids[5], scheme="small_micro", state="achieved",
                          applied_on=dt.date(2017, 10, 1), certificate_no="常安标小微〔2018〕005",
                          issued_on=dt.date(2018, 3, 1), expires_on=dt.date(2021, 2, 28),
                          first_achieved_on=dt.date(2018, 3, 1)),
        ])
        db.session.commit()
    return {"a": a, "b": b, "ids": ids, "admin": bearer(admin), "sup": bearer(sup),
            "viewer": bearer(viewer), "b_admin": bearer(b_admin)}


HEADER = ["序号", "企业名称", "社会信用代码", "所属板块", "等级", "证书号", "颁证日期", "证书有效期",
          "是否示范企业", "备注"]
# The list's rows (spreadsheet rows 4-12): "date:" cells are written as Excel dates.
ROWS = [
    [1, "常熟市达标企业1有限公司", code(1), "梅李镇", "小微企业", "常安标小微〔2018〕001", "2018年6月1日",
     "2021年5月31日", "否", None],
    [2, "常熟市达标企业2有限公司", code(2), "董浜镇", "三级", "苏AQBⅢ(2018)002", "2018.6.1", None, "是", None],
    [3, "常熟市达标企业3有限公司", code(3), "开发区", "安全生产标准化小微企业", "常安标小微〔2018〕003",
     dt.date(2018, 7, 15), dt.date(2021, 7, 14), None, "平台中已申报"],
    [4, "常熟市达标企业4有限公司", code(4), "梅李镇", "小微", "常安标小微〔2018〕104", "2018年8月1日",
     "2021年7月31日", "否", None],
    [5, "常熟市达标企业5有限公司", code(5), "梅李镇", "小微企业", "常安标小微〔2018〕005", "2018-03-01",
     "2021-02-28", None, None],
    [6, "常熟市未登记企业有限公司", code(6), "董浜镇", "小微企业", "常安标小微〔2018〕006", "2018年9月1日",
     None, "否", None],
    [7, "常熟市达标企业7有限公司", code(7), "董浜镇", "三级企业", "苏AQBⅢ(2018)007", "2018年13月1日",
     None, "否", None],
    [8, "常熟市达标企业8有限公司", code(8), "开发区", "小微企业", "常安标小微〔2018〕001", "2018年10月1日",
     None, "否", "证书号与第1家相同"],
]


def city_xlsx(rows=ROWS, header=HEADER) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("达标企业")
    day = book.add_format({"num_format": "yyyy年m月d日"})
    ws.merge_range(0, 0, 0, len(header) - 1, TITLE)
    ws.write(1, 0, "填报单位：常熟市应急管理局")
    ws.write_row(2, 0, header)
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                ws.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), day)
            elif value is not None:
                ws.write(r, c, value)
    ws.write_row(3 + len(rows), 0, ["合计", f"共 {len(rows)} 家"])
    book.close()
    return buffer.getvalue()


def upload(client, headers, data, name="证书名单.xlsx", **form):
    body = {"file": (io.BytesIO(data), name),
            **{k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}}
    builder = EnvironBuilder(path=URL, method="POST", data=body, headers=headers,
                             content_type="multipart/form-data")
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def run(app, client, headers, data, name="证书名单.xlsx", **form):
    r = upload(client, headers, data, name, **form)
    assert r.status_code == 202, r.get_json()
    assert r.headers["Location"] == r.json["url"]
    embedded.drain(app)
    job = client.get(r.headers["Location"], headers=headers).json
    assert job["status"] == "finished", job
    return job


def certifications(app, tenant_id) -> dict:
    """(credit code, scheme) → the stored certification's fields."""
    keys = ("state", "certificate_no", "applied_on", "issued_on", "expires_on", "first_achieved_on",
            "renewals", "renewed_on", "demonstration", "certified_as", "version")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        rows = db.session.execute(select(Enterprise.credit_code, Certification)
                                  .join(Enterprise, Enterprise.id == Certification.enterprise_id)).all()
        return {(c, cert.scheme): {k: getattr(cert, k) for k in keys} for c, cert in rows}


def audits(app, tenant_id) -> dict:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        return dict(db.session.execute(
            select(AuditEntry.action, func.count()).where(AuditEntry.entity_type == "certification")
            .group_by(AuditEntry.action)).all())


def events(app, tenant_id, enterprise_id) -> list[tuple]:
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        return [(e.action, e.from_state, e.to_state, e.on) for e in db.session.scalars(
            select(CertificationEvent).join(Certification, Certification.id == CertificationEvent.certification_id)
            .where(Certification.enterprise_id == enterprise_id).order_by(CertificationEvent.id))]


REJECTIONS = [
    {"row": 7, "column": "等级",
     "message": "等级：该企业的「小微企业标准化」记录已于 2019-01-05 摘牌（“回头看”不合格），导入不恢复已摘牌的记录"},
    {"row": 9, "column": "社会信用代码", "message": "社会信用代码：企业不存在于企业台账：请先导入企业"},
    {"row": 10, "column": "颁证日期", "message": "颁证日期：日期无效：「2018年13月1日」"},
    {"row": 11, "column": "证书号", "message": "证书编号与第4行重复（已导入第4行）"},
]


def test_a_city_export_imports_as_its_rows_say(app, client, world):
    before = certifications(app, world["a"])
    data = city_xlsx()

    # The dry run: the plan, nothing written.
    dry = run(app, client, world["sup"], data, dry_run=True)["result"]
    assert certifications(app, world["a"]) == before
    assert dry["dry_run"] is True and dry["header_rows"] == [3]
    assert [(c["column"], c["header"], c["field"]) for c in dry["columns"]] == [
        ("B", "企业名称", "name"), ("C", "社会信用代码", "credit_code"), ("D", "所属板块", "district"),
        ("E", "等级", "scheme"), ("F", "证书号", "certificate_no"), ("G", "颁证日期", "issued_on"),
        ("H", "证书有效期", "expires_on"), ("I", "是否示范企业", "demonstration"), ("J", "备注", "note")]
    assert [c["header"] for c in dry["ignored"]] == ["序号"] and dry["unmapped"] == []
    assert (dry["created"], dry["updated"], dry["unchanged"], dry["rejected"]) == (2, 1, 1, 4)
    assert [(c["row"], c["action"]) for c in dry["changes"]] == [(4, "created"), (5, "created"), (6, "updated")]
    assert dry["changes"][2]["changes"]["state"] == {"from": "applied", "to": "achieved"}
    assert dry["changes"][1]["changes"]["expires_on"] == {"from": None, "to": "2021-06-01"}
    levels = next(c for c in dry["conversions"] if c["header"] == "等级")
    assert {"from": "安全生产标准化小微企业", "to": "small_micro"} in levels["examples"]

    # The import does what the dry run said.
    job = run(app, client, world["sup"], data)
    result = job["result"]
    assert (result["created"], result["updated"], result["unchanged"]) == (2, 1, 1)
    assert (result["total"], result["rejected"], result["skipped_count"]) == (8, 4, 1)
    assert result["rejections"] == REJECTIONS == dry["rejections"]
    assert result["skipped"] == [{"row": 12, "reason": "合计行：合计"}]
    assert result["expired"] == 4  # every certificate of 2018 has run out (3 years)
    assert "「所属板块」（D列）仅供识别，不导入（以企业台账为准）" in result["warnings"]
    assert "4 行未导入，原因见 rejections" in result["warnings"]
    assert job["counts"]["created"] == 2 and job["counts"]["rejected"] == 4

    stored = certifications(app, world["a"])
    assert stored[(code(1), "small_micro")] == {
        "state": "achieved", "certificate_no": "常安标小微〔2018〕001", "applied_on": dt.date(2018, 6, 1),
        "issued_on": dt.date(2018, 6, 1), "expires_on": dt.date(2021, 5, 31),
        "first_achieved_on": dt.date(2018, 6, 1), "renewals": 0, "renewed_on": None, "demonstration": False,
        "certified_as": {"address": "常熟市梅李镇1号", "industry_code": "C3311", "main_products": "钢结构件"},
        "version": 1}
    two = stored[(code(2), "level3")]  # no expiry given: issued + 3 years; a demonstration enterprise
    assert (two["state"], two["certificate_no"], two["issued_on"], two["expires_on"], two["demonstration"]) == (
        "achieved", "苏AQBⅢ(2018)002", dt.date(2018, 6, 1), dt.date(2021, 6, 1), True)
    three = stored[(code(3), "small_micro")]  # applied in the platform, achieved by the list
    assert (three["state"], three["applied_on"], three["issued_on"], three["expires_on"],
            three["first_achieved_on"], three["renewals"]) == (
        "achieved", dt.date(2018, 1, 10), dt.date(2018, 7, 15), dt.date(2021, 7, 14), dt.date(2018, 7, 15), 0)
    assert stored[(code(4), "small_micro")] == before[(code(4), "small_micro")]  # delisted stays delisted
    assert stored[(code(5), "small_micro")] == before[(code(5), "small_micro")]
    assert (code(7), "level3") not in stored and (code(8), "small_micro") not in stored
    assert len(stored) == 5
    assert audits(app, world["a"]) == {"certification.create": 5, "certification.update": 1}  # 3 by the fixture
    assert events(app, world["a"], world["ids"][1]) == [("import", None, "achieved", dt.date(2018, 6, 1))]
    assert events(app, world["a"], world["ids"][3]) == [("import", "applied", "achieved", dt.date(2018, 7, 15))]

    # Again: nothing changes.
    again = run(app, client, world["sup"], data)["result"]
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 4, 4)
    assert again["rejections"] == REJECTIONS
    assert certifications(app, world["a"]) == stored
    assert audits(app, world["a"]) == {"certification.create": 5, "certification.update": 1}

    # Another tenant sees neither the job nor the certifications.
    assert client.get(job["url"], headers=world["b_admin"]).status_code == 404
    assert certifications(app, world["b"]) == {}


def gbk_csv() -> bytes:
    lines = [
        "常熟市安全生产标准化达标企业名单（截至2021年12月）,,,,,,,",
        "序号,企业名称,统一社会信用代码,所属板块,标准化类别,证书编号,发证日期,有效期至",
        f"1,常熟市达标企业1有限公司,{code(1)},梅李镇,小微企业,常安标小微〔2021〕101,2021-06-01,",
        f"2,常熟市达标企业2有限公司,{code(2)},董浜镇,三级企业,苏AQBⅢ(2017)202,2017/5/1,2020/4/30",
        f"3,常熟市达标企业3有限公司,{code(3)},开发区,二级,苏AQBⅡ(2019)303,2019年1月1日,2022年1月1日",
        f"4,常熟市达标企业8有限公司,{code(8)},开发区,四级,常安标小微〔2019〕408,2019年2月1日,",
        "合计,4家,,,,,,",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def test_a_gbk_csv_renews_refuses_an_older_certificate_and_adds_a_scheme(app, client, world):
    run(app, client, world["sup"], city_xlsx())
    before = certifications(app, world["a"])
    dry = run(app, client, world["admin"], gbk_csv(), "证书名单.csv", dry_run=True)["result"]
    result = run(app, client, world["admin"], gbk_csv(), "证书名单.csv")["result"]
    for r in (dry, result):
        assert (r["created"], r["updated"], r["unchanged"], r["rejected"]) == (1, 1, 0, 2)
        assert r["skipped"] == [{"row": 7, "reason": "合计行：合计"}]
        assert r["rejections"] == [
            {"row": 4, "column": "发证日期",
             "message": "发证日期：系统中已有更新的证书（编号 苏AQBⅢ(2018)002，发证日期 2018-06-01），"
                        "名单中的证书较旧，未导入"},
            {"row": 6, "column": "标准化类别",
             "message": "标准化类别：须为 小微企业、三级、二级、一级 之一，而不是「四级」"}]
    stored = certifications(app, world["a"])
    one = stored[(code(1), "small_micro")]  # a new certificate after one in force: a renewal
    assert (one["state"], one["certificate_no"], one["issued_on"], one["expires_on"], one["first_achieved_on"],
            one["renewals"], one["renewed_on"]) == (
        "achieved", "常安标小微〔2021〕101", dt.date(2021, 6, 1), dt.date(2024, 6, 1), dt.date(2018, 6, 1), 1,
        dt.date(2021, 6, 1))
    assert stored[(code(2), "level3")] == before[(code(2), "level3")]
    level2 = stored[(code(3), "level2")]  # the enterprise's second scheme, beside its 小微 one
    assert (level2["state"], level2["certificate_no"], level2["issued_on"], level2["expires_on"]) == (
        "achieved", "苏AQBⅡ(2019)303", dt.date(2019, 1, 1), dt.date(2022, 1, 1))
    assert stored[(code(3), "small_micro")] == before[(code(3), "small_micro")]
    assert events(app, world["a"], world["ids"][1])[-1] == ("import", "achieved", "achieved", dt.date(2021, 6, 1))


def test_the_upload_refuses_what_cannot_be_imported_at_once(app, client, world):
    no_number = city_xlsx([row[:5] + row[6:] for row in ROWS], HEADER[:5] + HEADER[6:])
    r = upload(client, world["sup"], no_number)
    assert r.status_code == 422, r.json
    assert r.json["detail"].startswith("缺少必需的列：证书编号")
    assert r.json["plan"]["header_rows"] == [3]

    extra = city_xlsx([[*row, "张三"] for row in ROWS], [*HEADER, "填报人员"])
    r = upload(client, world["sup"], extra)
    assert r.status_code == 422 and "「填报人员」（K列）" in r.json["detail"]
    assert [c["header"] for c in r.json["plan"]["unmapped"]] == ["填报人员"]
    assert upload(client, world["sup"], extra, dry_run=True).status_code == 202  # the dry run shows the plan
    job = run(app, client, world["sup"], extra, mapping='{"填报人员": "ignore"}')
    assert job["result"]["created"] == 2
    assert "「填报人员」（K列）按映射忽略，未导入" in job["result"]["warnings"]

    assert upload(client, world["viewer"], city_xlsx()).status_code == 403
    bad = upload(client, world["sup"], city_xlsx(), mapping="{not json")
    assert bad.status_code == 422 and "mapping" in bad.json["errors"]


def test_the_profile_lists_labels_names_and_what_is_imported(client, world):
    r = client.get(f"{URL}/profile", headers=world["admin"])
    assert r.status_code == 200
    assert r.json["key_field"] == "certificate_no"
    fields = {f["name"]: f for f in r.json["fields"]}
    assert [n for n, f in fields.items() if f["required"]] == ["credit_code", "certificate_no", "issued_on", "scheme"]
    assert fields["issued_on"]["label"] == "发证日期" and "颁证日期" in fields["issued_on"]["aliases"]
    assert fields["expires_on"]["label"] == "有效期至" and "证书有效期" in fields["expires_on"]["aliases"]
    assert fields["scheme"]["choices"] == ["小微企业", "三级", "二级", "一级"]
    assert [n for n, f in fields.items() if not f["imported"]] == [
        "name", "district", "industry", "address", "organisation", "note"]
    assert client.get(f"{URL}/profile", headers=world["viewer"]).status_code == 403


@pytest.mark.parametrize(("text", "scheme"), [
    ("小微企业", "small_micro"), ("小微", "small_micro"), ("小微企业标准化", "small_micro"),
    ("安全生产标准化小微企业", "small_micro"), ("三级", "level3"), ("三级企业", "level3"),
    ("安全生产标准化三级企业", "level3"), ("Ⅲ级", "level3"), ("二级达标企业", "level2"), ("一级", "level1"),
    ("level2", "level2"),
])
def test_levels_as_lists_write_them(text, scheme):
    assert read_scheme(text) == scheme


def test_an_expiry_may_be_a_period():
    assert read_expiry("2018年6月1日至2021年5月31日") == dt.date(2021, 5, 31)
    assert read_expiry("2018.6.1-2021.5.31") == dt.date(2021, 5, 31)
    assert read_expiry(dt.datetime(2021, 5, 31)) == dt.date(2021, 5, 31)
