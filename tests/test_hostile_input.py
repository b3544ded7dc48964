"""Hostile input (issue 22, points 3, 4 and 6): no input makes a 5xx, and every refusal
is problem+json in Chinese.

- JSON bodies are bounded: nesting, number size, NaN/Infinity, NUL and lone surrogates are
  a 400 (they were a 500 on every JSON route, login included);
- every integer that reaches the database is range-checked first, in paths (404), query
  strings and bodies (422 on the field);
- marshmallow's, webargs' and werkzeug's English never reaches the user;
- gunicorn's own refusals (request line, headers) are problem+json too;
- every workbook cell, headers included, is neutralised (the rejected rows of an import).
"""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from anjian.api import jsonio
from anjian.errors import one_line, translate
from anjian.xlsx import DANGEROUS_PREFIXES
from tests.conftest import bearer
from tests.test_enterprise_import import HEADERS, bad_check_digit, code, fetch, run, upload

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = "application/problem+json"
CJK = re.compile(r"[\u4e00-\u9fff]")
LOGIN = "/api/v1/auth/login"
T = "/api/v1/tenants/hi"


def problem(r, status: int, slug: str | None = None) -> dict:
    """``r`` is a problem+json answer of ``status`` with a Chinese title and detail."""
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == PROBLEM
    body = r.json
    assert body["status"] == status
    if slug:
        assert body["type"] == f"urn:anjian:problem:{slug}"
    assert CJK.search(body["title"]) and CJK.search(body["detail"]), body
    return body


@pytest.fixture
def hi(factory):
    tenant = factory.tenant("hi")
    _, admin = factory.user("hi-admin", {tenant: "tenant_admin"})
    return {"tenant": tenant, "admin": bearer(admin)}


def _post_raw(client, path, text: str, headers=None):
    return client.post(path, data=text.encode("utf-8", "surrogatepass"),
                       headers={"Content-Type": "application/json", **(headers or {})})


# --- JSON bodies ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "detail"), [
    ("[" * 20_000 + "]" * 20_000, "请求体的嵌套层数超过 32 层"),
    ('{"username": ' + "[" * 33 + "]" * 33 + ', "password": "x"}', "请求体的嵌套层数超过 32 层"),
    ('{"username": "a", "password": "x", "n": ' + "9" * 4301 + "}",
     "请求体中的数字过长（超过 64 个字符）"),
    ('{"username": "a", "password": "x", "n": ' + str(2**63) + "}", "请求体中的整数超出 64 位整数的范围"),
    ('{"username": "a", "password": "x", "n": 1e999}', "请求体中的数字超出范围"),
    ('{"username": "a", "password": NaN}', "请求体不是有效的 JSON：不接受 NaN"),
    ('{"username": "a", "password": -Infinity}', "请求体不是有效的 JSON：不接受 -Infinity"),
    ('{"username": "\\ud800", "password": "x"}', "请求体中的文本含有无效的 Unicode 字符（单独的代理项）"),
    ('{"username": "a\\u0000b", "password": "x"}', "请求体中的文本不能包含 NUL 字符（\\u0000）"),
    ('{"a\\u0000": 1}', "请求体中的文本不能包含 NUL 字符（\\u0000）"),
    ("{not json", "请求体不是有效的 JSON（第 1 行第 2 列）"),
])
def test_a_hostile_json_body_is_400_on_login(client, text, detail):
    body = problem(_post_raw(client, LOGIN, text), 400, "invalid-json")
    assert body["detail"] == detail


def test_invalid_utf8_is_400(client):
    r = client.post(LOGIN, data=b'{"username": "\xff"}', content_type="application/json")
    assert problem(r, 400, "invalid-json")["detail"] == "请求体不是有效的 UTF-8 文本"


def test_a_hostile_body_is_400_on_a_tenants_routes_too(client, hi):
    deep = '{"code": "s1", "name": "x", "kind": "sector", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    problem(_post_raw(client, f"{T}/areas", deep, hi["admin"]), 400, "invalid-json")
    big = '{"enterprise_id": -12069668917816705778927414753460486144}'
    problem(_post_raw(client, f"{T}/inspections", big, hi["admin"]), 400, "invalid-json")


def test_the_reader_takes_what_is_within_its_bounds():
    nested = 1
    for _ in range(jsonio.MAX_DEPTH - 1):
        nested = [nested]
    text = json.dumps({"a": nested})  # the object is level 1: MAX_DEPTH levels in all
    assert jsonio.loads(text) == {"a": nested}
    with pytest.raises(jsonio.InvalidJSON):
        jsonio.loads(json.dumps({"a": [nested]}))
    assert jsonio.loads(f"[{2**63 - 1}, {-(2**63)}, 1.5e300]") == [2**63 - 1, -(2**63), 1.5e300]
    assert jsonio.loads('"安全\\u00e9"') == "安全é"
    with pytest.raises(jsonio.InvalidJSON):
        jsonio.loads(str(2**63))


def test_a_login_with_hostile_text_in_a_valid_body_is_answered_not_a_500(client):
    r = client.post(LOGIN, json={"username": "用户" * 40, "password": "x"})
    assert r.status_code in (401, 422) and r.mimetype == PROBLEM


# --- NUL in the URL -------------------------------------------------------------------------

def test_nul_in_a_query_string_a_path_or_a_form_is_400(client, hi):
    body = problem(client.get(f"{T}/enterprises?q=a%00b", headers=hi["admin"]), 400, "nul-character")
    assert body["detail"] == "请求地址、查询参数和表单字段不能包含 NUL 字符（%00）"
    problem(client.get("/api/v1/tenants/h%00i/areas", headers=hi["admin"]), 400, "nul-character")
    form = {"file": (io.BytesIO(b"x"), "a.csv"), "sheet": "a\x00b"}
    r = client.post(f"{T}/enterprise-imports", data=form, headers=hi["admin"],
                    content_type="multipart/form-data")
    problem(r, 400, "nul-character")
    # A form part without a name (werkzeug keys it None; schemathesis sent one): answered.
    nameless = (b"--XX\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--XX\r\n"
                b'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nx\r\n--XX--\r\n')
    r = client.post(f"{T}/enterprise-imports", data=nameless, headers=hi["admin"],
                    content_type="multipart/form-data; boundary=XX")
    assert problem(r, 422)["errors"]["file"][0].startswith("未找到企业名单的表头")


# --- integers -------------------------------------------------------------------------------

@pytest.mark.parametrize("ident", ["2147483648", "249958191721108366950400"])
def test_a_path_id_the_database_cannot_hold_is_404(client, hi, ident):
    body = problem(client.get(f"{T}/hazards/{ident}", headers=hi["admin"]), 404, "not-found")
    assert body["detail"] == "请求的资源不存在"


def test_query_integers_are_range_checked(client, hi):
    body = problem(client.get(f"{T}/hazards?page=2147483648", headers=hi["admin"]), 422)
    assert body["errors"] == {"query": {"page": ["须在 1 到 2147483647 之间"]}}
    body = problem(client.get(f"{T}/hazards?enterprise_id=2147483648", headers=hi["admin"]), 422)
    assert body["errors"] == {"query": {"enterprise_id": ["须在 -2147483648 到 2147483647 之间"]}}
    assert client.get(f"{T}/hazards?page=2147483647", headers=hi["admin"]).json["items"] == []


def test_body_integers_are_range_checked(client, hi):
    r = client.post(f"{T}/inspections", headers=hi["admin"], json={"enterprise_id": 2**31})
    body = problem(r, 422, "validation-error")
    assert body["errors"]["json"]["enterprise_id"] == ["须在 -2147483648 到 2147483647 之间"]
    # A field's own, narrower range stays (an area id: 1 and up).
    r = client.post(f"{T}/members", headers=hi["admin"], json={
        "username": "hi-x", "role": "viewer", "password": "a-long-password-1", "area_id": 2**31})
    assert problem(r, 422)["errors"]["json"]["area_id"] == ["须在 1 到 2147483647 之间"]


# --- messages in Chinese --------------------------------------------------------------------

def test_library_messages_are_told_in_chinese(client, hi):
    body = problem(client.get(f"{T}/notifications?unread=maybe", headers=hi["admin"]), 422)
    assert body["errors"] == {"query": {"unread": ["不是有效的布尔值"]}}
    assert body["detail"] == "请求参数校验失败，详见 errors"
    r = client.post(f"{T}/service-contracts/1/spot-checks", headers=hi["admin"], json={"ratio": 0})
    assert problem(r, 422)["errors"]["json"]["ratio"] == ["须大于 0 且小于或等于 1"]


def test_werkzeug_answers_carry_a_chinese_detail(client):
    assert problem(client.delete("/healthz"), 405, "method-not-allowed")["detail"] == \
        "该接口不支持此请求方法"
    assert problem(client.get("/api/v1/nothing-here"), 404)["detail"] == "请求的资源不存在"


@pytest.mark.parametrize(("english", "chinese"), [
    ("Must be greater than 0 and less than or equal to 1.", "须大于 0 且小于或等于 1"),
    ("Must be greater than or equal to 0 and less than 1.", "须大于或等于 0 且小于 1"),
    ("Must be greater than 0 and less than 1.", "须大于 0 且小于 1"),
    ("Must be greater than or equal to 1 and less than or equal to 200.", "须在 1 到 200 之间"),
    ("Must be less than or equal to 2147483647.", "须小于或等于 2147483647"),
    ("Invalid JSON body.", "请求体不是有效的 JSON"),
    ("Not a valid boolean.", "不是有效的布尔值"),
    ("Not a valid IPv4 address.", "格式无效"),
    ("Must be equal to 是.", "须等于 是"),
    ("Some message a library added later.", "取值无效"),
    ("须为周一", "须为周一"),
])
def test_translate(english, chinese):
    assert translate(english) == chinese


def test_nested_messages_become_one_chinese_line():
    messages = {"extra": {"nope": ["Unknown field."]}, "week": ["Not a valid date."]}
    assert one_line(messages) == "extra：nope：不允许的字段；week：不是有效的日期"


# --- workbooks ------------------------------------------------------------------------------

@pytest.fixture
def imp(factory):
    tenant = factory.tenant("imp")
    _, admin = factory.user("imp-admin", {tenant: "tenant_admin"})
    return {"a": tenant, "admin": bearer(admin)}


def test_the_rejected_rows_of_an_import_neutralise_every_cell_headers_included(app, client, imp):
    extra = ["=1+2", "@SUM(A1)", "+3", "-4"]
    lines = [",".join([*HEADERS[:2], *extra]),
             f"{code(1)},甲,=9+9,a,b,c",
             f"{bad_check_digit(2)},=HYPERLINK(1),=2+2,@x,+y,-z"]
    data = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    job = run(app, client, imp["admin"], data, "名单.csv",
              mapping=json.dumps({h: "ignore" for h in extra}))
    assert (job["result"]["created"], job["result"]["rejected"]) == (1, 1)
    url = client.get(f"/api/v1/tenants/imp/enterprise-imports/{job['id']}/rejected",
                     headers=imp["admin"]).json["url"]
    sheet = openpyxl.load_workbook(io.BytesIO(fetch(client, url))).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["行号", "列", "原因", "统一社会信用代码", "企业名称",
                       "'=1+2", "'@SUM(A1)", "'+3", "'-4"]
    assert rows[1][3:] == [bad_check_digit(2), "'=HYPERLINK(1)", "'=2+2", "'@x", "'+y", "'-z"]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            assert not (isinstance(cell.value, str) and cell.value.startswith(DANGEROUS_PREFIXES))


def test_an_unmapped_formula_header_is_refused_with_its_plan_not_written(client, imp):
    data = (",".join([*HEADERS[:2], "=1+2"]) + f"\r\n{code(1)},甲,x\r\n").encode("gb18030")
    r = upload(client, imp["admin"], data, "名单.csv")
    assert r.status_code == 422 and r.mimetype == PROBLEM
    assert [c["header"] for c in r.json["plan"]["unmapped"]] == ["=1+2"]


# --- gunicorn's own answers -----------------------------------------------------------------

PLAIN_APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    """gunicorn with deploy/gunicorn.conf.py; the app behind it is a plain one: the requests
    below never reach an app."""
    folder = tmp_path_factory.mktemp("gunicorn")
    (folder / "plain.py").write_text(PLAIN_APP)
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "ANJIAN_BIND": f"127.0.0.1:{port}", "ANJIAN_WEB_WORKERS": "1",
           "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT / 'plugins'}"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                             str(ROOT / "deploy" / "gunicorn.conf.py"), "--chdir", str(folder),
                             "plain:app"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        ).startswith(b"HTTP/1.1 200 "):
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _answer(raw: bytes) -> tuple[int, str, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers["Content-Type"], json.loads(body.decode("utf-8"))


@pytest.mark.parametrize(("request_bytes", "status", "detail"), [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     "请求地址过长：请求行（方法、地址和查询参数）不能超过服务器的限制"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % n for n in range(101)) + b"\r\n",
     431, "请求头过多或单个请求头过大，超过服务器的限制"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431,
     "请求头过多或单个请求头过大，超过服务器的限制"),
    (b"NOT A REQUEST\r\n\r\n", 400, "请求格式不正确，服务器无法解析（请求行、请求头或分块编码无效）"),
])
def test_gunicorn_refuses_in_problem_json(gunicorn_port, request_bytes, status, detail):
    got, media, body = _answer(_raw(gunicorn_port, request_bytes))
    assert (got, media) == (status, PROBLEM)
    assert body["status"] == status and body["detail"] == detail
    assert CJK.search(body["title"]) and body["type"].startswith("urn:anjian:problem:")
