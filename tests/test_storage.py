"""Object storage: local folder and S3 (against a real moto S3 HTTP endpoint)."""

from __future__ import annotations

import io
import os
import random
import stat
import time
import urllib.request
import uuid
import zipfile
from urllib.parse import parse_qs, quote, urlparse

import pytest

from anjian.config import ensure_secret_key
from anjian.storage import backends, service
from anjian.storage.backends import (
    XLSX,
    InvalidKey,
    LocalStorage,
    ObjectNotFound,
    UploadRejected,
    sanitize_filename,
)

# Fixed noise (the same in every pytest-xdist worker, which must collect the same ids).
NOISE = random.Random(7).randbytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + NOISE[:64]
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + NOISE[64:128]
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + NOISE


def xlsx_bytes(extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def local(tmp_path):
    return LocalStorage(tmp_path / "objects", secret_key="k" * 40)


def visible_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- local backend


def test_local_put_get_stat_delete(local):
    data = "企业名称,地址\n秦皇岛某厂,海港区\n".encode()
    obj = local.put(7, "imports", data, "text/csv", "企业名单.csv")
    assert obj.size == len(data)
    assert obj.content_type == "text/csv"
    assert obj.original_name == "企业名单.csv"
    assert len(obj.sha256) == 64
    assert local.get_bytes(obj.key, 7) == data
    with local.open(obj.key, 7) as stream:
        assert stream.read() == data
    assert local.stat(obj.key, 7) == obj
    assert local.exists(obj.key, 7)
    assert local.delete(obj.key, 7) is True
    assert not local.exists(obj.key, 7)
    assert local.delete(obj.key, 7) is False
    with pytest.raises(ObjectNotFound):
        local.get_bytes(obj.key, 7)


def test_file_like_input_is_streamed(local):
    payload = xlsx_bytes()
    obj = local.put(1, "imports", io.BytesIO(payload), XLSX, "台账.xlsx")
    assert local.get_bytes(obj.key, 1) == payload


def test_keys_are_platform_made_and_per_tenant(local):
    a = local.put(1, "evidence", PNG, "image/png", "../../../etc/passwd.png")
    b = local.put(1, "evidence", PNG, "image/png", "../../../etc/passwd.png")
    c = local.put(2, "evidence", PNG, "image/png", "photo.png")
    for obj, tenant in ((a, 1), (b, 1), (c, 2)):
        parts = obj.key.split("/")
        assert parts[:3] == ["tenants", str(tenant), "evidence"]
        assert len(parts) == 4 and len(parts[3]) == 32 and int(parts[3], 16) >= 0
        assert "passwd" not in obj.key and "photo" not in obj.key
    assert a.key != b.key
    assert a.original_name == "passwd.png"
    # Another tenant's key is answered like a missing one.
    with pytest.raises(ObjectNotFound):
        local.get_bytes(c.key, 1)
    with pytest.raises(ObjectNotFound):
        local.stat(c.key, 1)
    with pytest.raises(ObjectNotFound):
        local.delete(c.key, 1)
    with pytest.raises(ObjectNotFound):
        local.download_url(c.key, 1, "x.png")
    assert not local.exists(c.key, 1)
    assert local.exists(c.key, 2)


@pytest.mark.parametrize("key", [
    "../secret", "tenants/1/imports/../../../../etc/passwd", "/etc/passwd",
    "tenants/1/imports/" + "a" * 31, "tenants/1/imports/" + "A" * 32,
    "tenants/../imports/" + "a" * 32, "tenants/1/imports/" + "a" * 32 + "/../x",
    "tenants/1/imports/" + "a" * 32 + ".json", "", "tenants/1/../1/imports/" + "a" * 32,
])
def test_path_traversal_and_foreign_keys_refused(local, key):
    with pytest.raises((InvalidKey, ObjectNotFound)):
        local.get_bytes(key, 1)
    with pytest.raises(InvalidKey):
        local._path(key)
    assert not local.exists(key, 1)


def test_write_is_atomic(local, monkeypatch):
    class Broken(io.RawIOBase):
        def __init__(self):
            self.calls = 0

        def readable(self):
            return True

        def read(self, n=-1):
            self.calls += 1
            if self.calls > 2:
                raise OSError("disk unplugged")
            return b"a,b\n" * 1000

    with pytest.raises(OSError):
        local.put(1, "imports", Broken(), "text/csv", "x.csv")
    assert not local.root.exists() or visible_files(local.root) == []

    real_replace = os.replace

    def failing_replace(src, dst):
        if not str(dst).endswith(".json"):
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(backends.os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        local.put(1, "imports", b"a,b\n1,2\n", "text/csv", "x.csv")
    assert visible_files(local.root) == []  # no data, no metadata, no temporary file
    monkeypatch.setattr(backends.os, "replace", real_replace)
    obj = local.put(1, "imports", b"a,b\n1,2\n", "text/csv", "x.csv")
    assert [p.rsplit("/", 1)[-1] for p in visible_files(local.root)] == sorted(
        [obj.key.rsplit("/", 1)[-1], obj.key.rsplit("/", 1)[-1] + ".json"])


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\张三\\隐患整改报告.pdf", "隐患整改报告.pdf"),
    ("a\x00b\x1fc\u202etxt.exe", "abctxt.exe"),
    ("  ..report?.xlsx ", "report.xlsx"),
    ("", "file"),
    (None, "file"),
    ("...", "file"),
    ("CON.csv", "_CON.csv"),
    ("隐" * 300 + ".xlsx", "隐" * 115 + ".xlsx"),
])
def test_sanitize_filename(raw, expected):
    assert sanitize_filename(raw) == expected


def test_size_limit_per_kind(tmp_path):
    small = LocalStorage(tmp_path, max_bytes={"evidence": 1000})

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def read(self, n=-1):
            Endless.read_bytes += n
            return PNG[:8] + b"\x00" * (n - 8) if Endless.read_bytes == n else b"\x00" * n

    with pytest.raises(UploadRejected) as err:
        small.put(1, "evidence", Endless(), "image/png", "big.png")
    assert err.value.status == 413
    assert "大小限制" in err.value.message
    assert Endless.read_bytes <= 2 * backends.CHUNK  # stopped early, memory bounded
    assert visible_files(tmp_path) == []
    assert backends.KINDS["imports"].max_bytes == 20 * backends.MIB
    assert small.put(1, "evidence", PNG, "image/png", "ok.png").size == len(PNG)


@pytest.mark.parametrize("kind, data, content_type, name, fragment", [
    ("imports", EXE, XLSX, "企业.xlsx", "不是真正的 xlsx"),
    ("evidence", b"just some text, not an image", "image/png", "photo.png", "不是真正的 png"),
    ("evidence", PNG, "image/jpeg", "photo.jpg", "不是真正的 jpeg"),
    ("evidence", EXE, "application/pdf", "report.pdf", "不是真正的 pdf"),
    ("imports", b"a,b\x00\x01\n", "text/csv", "x.csv", "UTF-8、UTF-16 或 GB18030"),
    ("imports", PNG, "text/csv", "x.csv", "UTF-8、UTF-16 或 GB18030"),
    ("imports", b"\xff\xfea\x00\xd8", "text/csv", "x.csv", "UTF-8、UTF-16 或 GB18030"),
    ("imports", b"PK\x03\x04garbage", XLSX, "x.xlsx", "不是有效的 Excel"),
    ("imports", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, XLSX, "x.xlsx", "旧版 Excel"),
    ("imports", xlsx_bytes({"xl/vbaProject.bin": b"x"}), XLSX, "x.xlsx", "宏"),
    ("imports", EXE, "application/x-msdownload", "setup.exe", "只接受"),
    ("imports", EXE, "application/octet-stream", "setup.exe", "只接受"),
    ("imports", xlsx_bytes(), XLSX, "tool.exe", "扩展名 .exe"),
    ("evidence", xlsx_bytes(), XLSX, "x.xlsx", "现场证据只接受"),
    ("imports", b"x", "application/vnd.ms-excel", "old.xls", "不是真正的 xls"),
    ("evidence", b"x", "application/vnd.ms-excel", "old.xls", "旧版 Excel（.xls），请另存为 .xlsx"),
    ("imports", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "_VBA_PROJECT Workbook".encode("utf-16-le"),
     "application/vnd.ms-excel", "x.xls", "宏"),
    ("imports", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le"),
     "application/vnd.ms-excel", "x.xls", "不是有效的 Excel 工作簿（.xls）"),
    ("imports", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"),
     "application/vnd.ms-excel", "x.xls", "已加密"),
    ("imports", xlsx_bytes(), "application/vnd.oasis.opendocument.spreadsheet", "x.ods", "不是有效的 OpenDocument"),
    ("imports", b"hello", "application/octet-stream", "名单.et", "另存为"),
    ("imports", b"hello", "application/octet-stream", "名单.numbers", "另存为"),
])
def test_disguised_and_unsupported_files_refused(local, kind, data, content_type, name, fragment):
    with pytest.raises(UploadRejected) as err:
        local.put(1, kind, data, content_type, name)
    assert err.value.status == 415
    assert fragment in err.value.message
    assert not local.root.exists() or visible_files(local.root) == []


def test_accepted_types(local):
    gbk = "名称,地址\n某厂,常熟\n".encode("gb18030")
    assert local.put(1, "imports", gbk, "text/csv", "名单.csv").content_type == "text/csv"
    # Browsers on Windows send .csv as application/vnd.ms-excel; the extension decides.
    assert local.put(1, "imports", b"a\n", "application/vnd.ms-excel", "a.csv").content_type \
        == "text/csv"
    assert local.put(1, "imports", xlsx_bytes(), "application/octet-stream", "a.xlsx") \
        .content_type == XLSX
    assert local.put(1, "evidence", JPEG, "image/jpg", "现场.jpeg").content_type == "image/jpeg"
    assert local.put(1, "evidence", PDF, "application/pdf", "整改.pdf").size == len(PDF)
    assert local.put(1, "reports", b'{"a": 1}', "application/json", "r.json").size == 8
    with pytest.raises(UploadRejected) as err:
        local.put(1, "evidence", b"", "image/png", "empty.png")
    assert err.value.status == 422
    with pytest.raises(ValueError):
        local.put(1, "no-such-kind", PNG, "image/png", "x.png")


def test_secret_key_persisted_0600(tmp_path):
    config = {"SECRET_KEY": None, "ANJIAN_DATA_DIR": str(tmp_path / "data")}
    key = ensure_secret_key(config)
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32 and config["SECRET_KEY"] == key
    assert ensure_secret_key({"SECRET_KEY": None, "ANJIAN_DATA_DIR": str(tmp_path / "data")}) == key
    assert ensure_secret_key({"SECRET_KEY": "given" * 8, "ANJIAN_DATA_DIR": "/nonexistent"}) \
        == "given" * 8
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret_key"]


# --------------------------------------------------------------------------- download route


def test_download_url_serves_file_with_headers(app, client):
    store = service.storage_for(app)
    assert isinstance(store, LocalStorage)
    assert service.storage_for(app) is store
    obj = store.put(3, "evidence", PDF, "application/pdf", "隐患整改报告.pdf")
    url = store.download_url(obj.key, 3)
    assert url.startswith("/api/v1/files/")
    with client.get(url) as answer:
        assert answer.status_code == 200
        assert answer.data == PDF
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "private, no-store"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("隐患整改报告.pdf") in disposition
    assert int(answer.headers["Content-Length"]) == len(PDF)
    # Another name on demand, sanitised.
    with client.get(store.download_url(obj.key, 3, "../../整改 通知.pdf", expires_in=60)) as answer:
        assert answer.data == PDF
    assert quote("整改 通知.pdf") in answer.headers["Content-Disposition"]
    # Text is served as stored, never with a guessed charset.
    csv = store.put(3, "imports", b"a,b\n", "text/csv", "a.csv")
    with client.get(store.download_url(csv.key, 3)) as answer:
        assert answer.data == b"a,b\n"
    assert answer.headers["Content-Type"] == "text/csv"
    with app.test_request_context():
        assert store.download_url(obj.key, 3).startswith("http://localhost/api/v1/files/")


def test_download_url_expires(app, client, monkeypatch):
    store = service.storage_for(app)
    obj = store.put(3, "evidence", PNG, "image/png", "a.png")
    url = store.download_url(obj.key, 3, expires_in=2)
    with client.get(url) as answer:
        assert answer.status_code == 200
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 10)
    answer = client.get(url)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "过期" in answer.get_json()["detail"]
    with pytest.raises(ValueError):
        store.download_url(obj.key, 3, expires_in=24 * 3600)


def test_download_tampered_or_foreign_is_404(app, client):
    store = service.storage_for(app)
    mine = store.put(3, "evidence", PNG, "image/png", "a.png")
    theirs = store.put(4, "evidence", PNG, "image/png", "b.png")
    url = store.download_url(mine.key, 3)
    token = url.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    for bad in (f"/api/v1/files/{tampered}", "/api/v1/files/nonsense"):
        answer = client.get(bad)
        assert answer.status_code == 404
        assert answer.headers["Content-Type"] == "application/problem+json"
    # A token signed with another key (someone forging claims for tenant 4's object).
    forger = LocalStorage(store.root, secret_key="x" * 40)
    forged = forger.make_download_token(theirs.key, 4, "b.png", "image/png", 300)
    assert client.get(f"/api/v1/files/{forged}").status_code == 404
    # Tenant 3 cannot get a URL for tenant 4's object.
    with pytest.raises(ObjectNotFound):
        store.download_url(theirs.key, 3)
    # A deleted object's URL answers 404.
    store.delete(mine.key, 3)
    assert client.get(url).status_code == 404


@pytest.mark.own_app  # its secret key is made in this test's data folder
def test_secret_key_comes_from_data_dir(app, tmp_path):
    service.storage_for(app)
    assert (tmp_path / "secret_key").exists()
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()


# --------------------------------------------------------------------------- S3 (moto)


@pytest.fixture
def s3_app(app, s3_endpoint, monkeypatch):
    import boto3
    from botocore.config import Config

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_endpoint["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_endpoint["secret_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_endpoint["region"])
    bucket = f"anjian-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint["endpoint_url"],
                 config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
                 ).create_bucket(Bucket=bucket)
    app.config["ANJIAN_STORAGE_URL"] = f"s3://{bucket}/objects"
    app.config["ANJIAN_S3_ENDPOINT_URL"] = s3_endpoint["endpoint_url"]
    app.bucket = bucket
    return app


def test_s3_put_get_delete_metadata(s3_app):
    store = service.storage_for(s3_app)
    assert isinstance(store, backends.S3Storage)
    data = xlsx_bytes()
    obj = store.put(5, "imports", data, XLSX, "秦皇岛/企业台账（2024）.xlsx")
    assert obj.original_name == "企业台账（2024）.xlsx"
    assert store.get_bytes(obj.key, 5) == data
    assert store.stat(obj.key, 5) == obj
    assert store.exists(obj.key, 5)
    raw = store._client().head_object(Bucket=s3_app.bucket, Key=f"objects/{obj.key}")
    assert raw["ContentType"] == XLSX
    assert raw["Metadata"]["sha256"] == obj.sha256
    with pytest.raises(ObjectNotFound):
        store.get_bytes(obj.key, 6)
    assert not store.exists(obj.key, 6)
    assert store.delete(obj.key, 5) is True
    assert not store.exists(obj.key, 5)
    with pytest.raises(ObjectNotFound):
        store.get_bytes(obj.key, 5)
    with pytest.raises(UploadRejected):
        store.put(5, "imports", EXE, XLSX, "x.xlsx")


def test_s3_presigned_download(s3_app):
    store = service.storage_for(s3_app)
    obj = store.put(5, "evidence", JPEG, "image/jpeg", "现场照片.jpg")
    url = store.download_url(obj.key, 5, expires_in=120)
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - http from moto
        assert answer.read() == JPEG
        assert answer.headers["Content-Type"] == "image/jpeg"
        disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("现场照片.jpg") in disposition
    with pytest.raises(ObjectNotFound):
        store.download_url(obj.key, 6)


def test_s3_client_is_per_process(s3_app, monkeypatch):
    store = service.storage_for(s3_app)
    first = store._client()
    assert store._client() is first
    real_pid = os.getpid()
    monkeypatch.setattr(backends.os, "getpid", lambda: real_pid + 100000)
    child = store._client()
    assert child is not first
    assert store._client() is child
    assert all(pid == real_pid + 100000 for pid, _ in store._clients)


def test_s3_readiness(s3_app, client):
    service.check(s3_app)
    answer = client.get("/readyz")
    assert answer.get_json()["checks"]["storage"] == "ok"
    s3_app.config["ANJIAN_STORAGE_URL"] = "s3://no-such-bucket-anjian/x"
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        service.check(s3_app)
    assert client.get("/readyz").get_json()["checks"]["storage"] == "unavailable"
