"""Object storage backends: a local folder (embedded default) and S3 (boto3).

Keys are made by the platform only: ``tenants/<tenant_id>/<kind>/<uuid4 hex>``.
A user's file name is never part of a key; it is kept, sanitised, as metadata
and used only for ``Content-Disposition`` on download. Every read names the
tenant asking; a key of another tenant is answered exactly like a missing one.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote

from itsdangerous import BadSignature, URLSafeTimedSerializer

from anjian.errors import Refused, TooLarge, UnsupportedType

CHUNK = 64 * 1024
MIB = 1024 * 1024
DEFAULT_URL_SECONDS = 300
MAX_URL_SECONDS = 3600  # download URLs are short-lived; longer lifetimes are refused
TOKEN_SALT = "anjian.storage.download"  # noqa: S105 - a salt, not a secret
FILES_PATH = "/api/v1/files/"

KEY_RE = re.compile(
    r"^tenants/(?P<tenant>[0-9A-Za-z_-]{1,64})/(?P<kind>[a-z][a-z0-9_-]{0,31})/(?P<id>[0-9a-f]{32})$"
)


# --------------------------------------------------------------------------- errors


class StorageError(Exception):
    """Base of storage errors."""


class ObjectNotFound(StorageError, KeyError):
    """No such object for this tenant (missing, or another tenant's)."""

    def __str__(self) -> str:  # KeyError quotes its argument
        return "文件不存在"


class InvalidKey(StorageError, ValueError):
    """A key the platform did not make (malformed, or escaping the storage root)."""


class UploadRejected(StorageError, ValueError, Refused):
    """A file refused by the size or type rules; ``message`` is shown to the user.

    A domain error: ``UploadRejected(413, ...)`` is a ``TooLarge``, 415 an
    ``UnsupportedType``, any other a ``Refused``; ``status`` keeps the answer's code."""

    def __new__(cls, status: int, message: str, slug: str = "file-rejected"):
        if cls is UploadRejected:
            cls = {413: _UploadTooLarge, 415: _UploadUnsupported}.get(status, cls)
        return super().__new__(cls, status, message, slug)

    def __init__(self, status: int, message: str, slug: str = "file-rejected"):
        Refused.__init__(self, message, slug=slug)
        self.status = status


class _UploadTooLarge(UploadRejected, TooLarge):
    pass


class _UploadUnsupported(UploadRejected, UnsupportedType):
    pass


class BadDownloadToken(StorageError):
    """A download token that is malformed, tampered with or expired."""


# --------------------------------------------------------------------------- types and kinds


@dataclass(frozen=True)
class FileType:
    label: str  # shown to users
    extensions: tuple[str, ...]
    magic: str  # "zip-xlsx", "zip-ods", "ole-xls", "pdf", "png", "jpeg", "text"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
FILE_TYPES: dict[str, FileType] = {
    XLSX: FileType("xlsx", (".xlsx",), "zip-xlsx"),
    XLS: FileType("xls", (".xls",), "ole-xls"),
    ODS: FileType("ods", (".ods",), "zip-ods"),
    "text/csv": FileType("csv", (".csv",), "text"),
    "image/jpeg": FileType("jpeg", (".jpg", ".jpeg"), "jpeg"),
    "image/png": FileType("png", (".png",), "png"),
    "application/pdf": FileType("pdf", (".pdf",), "pdf"),
    "application/json": FileType("json", (".json",), "text"),
}
CONTENT_TYPE_ALIASES = {
    "application/csv": "text/csv",
    "text/x-csv": "text/csv",
    "text/comma-separated-values": "text/csv",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    "text/json": "application/json",
}
# Sent by browsers when they do not know better; the extension decides.
GENERIC_CONTENT_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
EXTENSION_TYPES = {ext: ct for ct, ft in FILE_TYPES.items() for ext in ft.extensions}


@dataclass(frozen=True)
class Kind:
    label: str
    content_types: frozenset[str]
    max_bytes: int
    hint: str = ""  # what to do with a file of another type


KINDS: dict[str, Kind] = {
    "imports": Kind("导入文件", frozenset({XLSX, XLS, ODS, "text/csv"}), 20 * MIB,
                    "请在 Excel 或 WPS 中打开后“另存为” .xlsx（也可 .xls、.ods 或 .csv）再上传"),
    "evidence": Kind("现场证据", frozenset({"image/jpeg", "image/png", "application/pdf"}),
                     10 * MIB),
    "reports": Kind("报表", frozenset({XLSX, "application/pdf", "application/json"}), 50 * MIB),
}

XLSX_MAX_ENTRIES = 10_000
XLSX_MAX_UNCOMPRESSED = 500 * MIB


def register_kind(name: str, label: str, content_types, max_bytes: int) -> None:
    """Add a kind of object (plugins may); content types must be known in FILE_TYPES."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", name):
        raise ValueError(f"invalid kind name: {name!r}")
    unknown = set(content_types) - set(FILE_TYPES)
    if unknown:
        raise ValueError(f"unknown content types: {sorted(unknown)}")
    KINDS[name] = Kind(label, frozenset(content_types), int(max_bytes))


def _human_size(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MB"
    if n >= MIB:
        return f"{n / MIB:.1f} MB"
    return f"{max(1, n // 1024)} KB" if n >= 1024 else f"{n} 字节"


# --------------------------------------------------------------------------- file names


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
_FORBIDDEN_CHARS = set('<>:"/\\|?*')
MAX_NAME_CHARS = 120


def sanitize_filename(name: str | None, default: str = "file") -> str:
    """A file name safe to keep and show: no folders, no control or bidi characters,
    no characters Windows refuses, at most 120 characters (the extension kept);
    Chinese and other letters are kept as they are."""
    if not name:
        return default
    name = unicodedata.normalize("NFC", str(name))
    name = re.split(r"[/\\]", name)[-1]
    cleaned = []
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn") or ch in _FORBIDDEN_CHARS:
            continue
        cleaned.append(" " if category in ("Zs", "Zl", "Zp") else ch)
    name = re.sub(r"\s+", " ", "".join(cleaned)).strip(" .")
    if not name:
        return default
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        stem, ext = name, ""
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    ext = f".{ext}" if ext else ""
    if len(stem) + len(ext) > MAX_NAME_CHARS:
        stem = stem[: MAX_NAME_CHARS - len(ext)].rstrip(" .") or default
    return stem + ext


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name (Chinese kept)."""
    name = sanitize_filename(filename, default="download")
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in name)
    if not fallback.strip("_ ."):
        fallback = "download" + (Path(name).suffix if Path(name).suffix.isascii() else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --------------------------------------------------------------------------- validation


def _normalise_type(content_type: str | None, original_name: str) -> str:
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    ct = CONTENT_TYPE_ALIASES.get(ct, ct)
    ext = Path(original_name).suffix.lower()
    if ct in GENERIC_CONTENT_TYPES or (ct == XLS and ext != ".xls"):
        ct = EXTENSION_TYPES.get(ext, ct)
    return ct


def _sniff(head: bytes) -> str:
    """What the first bytes say the file is."""
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"  # legacy .xls/.doc, or an encrypted OOXML file
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF"):
        return "executable"
    return "other"


class _Ingest:
    """Reads an upload once: size limit, sha256, first bytes, text check, into a spool."""

    def __init__(self, limit: int, want_text: bool):
        self.limit = limit
        self.want_text = want_text
        self.size = 0
        self.digest = hashlib.sha256()
        self.head = b""
        self.has_nul = False
        self.decoders = {
            "utf-8": codecs.getincrementaldecoder("utf-8")(),
            "gb18030": codecs.getincrementaldecoder("gb18030")(),
        } if want_text else {}
        self.spool = tempfile.SpooledTemporaryFile(max_size=MIB)

    def feed(self, chunk: bytes, label: str) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.spool.close()
            raise UploadRejected(
                413, f"{label}超过 {_human_size(self.limit)} 的大小限制", "file-too-large")
        self.digest.update(chunk)
        if len(self.head) < 4096:
            self.head += chunk[: 4096 - len(self.head)]
        self.spool.write(chunk)
        if self.want_text:
            if b"\x00" in chunk:
                self.has_nul = True
            for name, decoder in list(self.decoders.items()):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    del self.decoders[name]

    def text_ok(self) -> bool:
        if self.has_nul:
            return False
        for name, decoder in list(self.decoders.items()):
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                del self.decoders[name]
        return bool(self.decoders)


def _reader(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data)).read
    if hasattr(data, "read"):
        return data.read
    raise TypeError("data must be bytes or a binary file-like object")


def _check_zip(spool, label: str, check) -> str | None:
    """None if the zip is within the limits (entries, size unpacked), not encrypted, and
    ``check(archive, names)`` finds nothing; else the reason (in Chinese)."""
    spool.seek(0)
    try:
        with zipfile.ZipFile(spool) as archive:
            infos = archive.infolist()
            if len(infos) > XLSX_MAX_ENTRIES:
                return "压缩包内条目过多，疑似恶意文件"
            if sum(i.file_size for i in infos) > XLSX_MAX_UNCOMPRESSED:
                return "解压后体积过大，疑似压缩炸弹"
            if any(i.flag_bits & 0x1 for i in infos):
                return "文件已加密，请取消密码后再上传"
            return check(archive, {i.filename for i in infos})
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return f"不是有效的 {label}"


def _check_xlsx(spool) -> str | None:
    """None if the zip looks like a plain workbook, else the reason (in Chinese)."""
    def check(_archive, names):
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            return "不是有效的 Excel 工作簿（.xlsx）"
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            return "文件包含宏，出于安全原因不予接受，请另存为不含宏的 .xlsx"
        return None
    return _check_zip(spool, "Excel 工作簿（.xlsx）", check)


def _check_ods(spool) -> str | None:
    """None if the zip looks like a plain OpenDocument spreadsheet, else the reason."""
    def check(archive, names):
        if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read("META-INF/manifest.xml"):
            return "文件已加密，请取消密码后再上传"
        if "content.xml" not in names or b"opendocument.spreadsheet" not in archive.read("mimetype")[:100]:
            return "不是有效的 OpenDocument 表格（.ods）"
        if any(n.startswith(("Basic/", "Scripts/")) for n in names):
            return "文件包含宏，出于安全原因不予接受，请另存为不含宏的 .ods 或 .xlsx"
        return None
    return _check_zip(spool, "OpenDocument 表格（.ods）", check)


def _utf16_ok(spool, head: bytes) -> bool:
    """A text in UTF-16 with its byte-order mark (Excel's "Unicode text")."""
    if head[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        return False
    spool.seek(0)
    try:
        spool.read().decode("utf-16")
    except UnicodeDecodeError:
        return False
    finally:
        spool.seek(0)
    return True


def _check_xls(spool) -> str | None:
    """None if the compound file looks like a plain legacy workbook, else the reason: its
    directory names its streams in UTF-16 (Workbook; _VBA_PROJECT for macros;
    EncryptionInfo for a password-protected .xlsx)."""
    spool.seek(0)
    data = spool.read()
    if "EncryptionInfo".encode("utf-16-le") in data:
        return "文件已加密，请取消密码后另存为 .xlsx 再上传"
    if "_VBA_PROJECT".encode("utf-16-le") in data:
        return "文件包含宏，出于安全原因不予接受，请另存为不含宏的 .xlsx"
    if "Workbook".encode("utf-16-le") not in data and "Book".encode("utf-16-le") not in data:
        return "不是有效的 Excel 工作簿（.xls），可能是 Word 等其他文件；请另存为 .xlsx 再上传"
    return None


# A workbook's container (what its first bytes are) and the check of what is inside.
CONTAINERS = {"zip-xlsx": ("zip", _check_xlsx), "zip-ods": ("zip", _check_ods), "ole-xls": ("ole", _check_xls)}


def validate_upload(kind: str, data, content_type: str | None, original_name: str | None,
                    max_bytes: int | None = None):
    """Check an upload against its kind's rules while reading it once.

    Returns ``(spool, size, sha256 hex, content_type, sanitised name)``; the spool
    (a temporary file, in memory up to 1 MiB) is positioned at 0 and the caller
    closes it. Raises ``UploadRejected`` (413 too large, 415 wrong or disguised
    type, 422 empty) with a message for the user.
    """
    rule = KINDS.get(kind)
    if rule is None:
        raise ValueError(f"unknown storage kind: {kind!r}")
    name = sanitize_filename(original_name)
    ct = _normalise_type(content_type, name)
    allowed = "、".join(sorted(FILE_TYPES[c].label for c in rule.content_types))
    if ct not in rule.content_types:
        if ct == XLS:
            raise UploadRejected(415, "不支持旧版 Excel（.xls），请另存为 .xlsx 后上传",
                                 "unsupported-file-type")
        hint = f"；{rule.hint}" if rule.hint else ""
        raise UploadRejected(415, f"不支持的文件类型；{rule.label}只接受：{allowed}{hint}",
                             "unsupported-file-type")
    ftype = FILE_TYPES[ct]
    ext = Path(name).suffix.lower()
    if ext and ext not in ftype.extensions:
        raise UploadRejected(
            415, f"文件扩展名 {ext} 与文件类型 {ftype.label} 不符；{rule.label}只接受：{allowed}",
            "unsupported-file-type")

    ingest = _Ingest(max_bytes if max_bytes is not None else rule.max_bytes,
                     want_text=ftype.magic == "text")
    read = _reader(data)
    try:
        while True:
            chunk = read(CHUNK)
            if not chunk:
                break
            ingest.feed(bytes(chunk), rule.label)
        if ingest.size == 0:
            raise UploadRejected(422, "文件为空", "empty-file")
        disguised = UploadRejected(
            415, f"文件内容与其类型不符：它不是真正的 {ftype.label} 文件，请上传原始文件",
            "disguised-file")
        found = _sniff(ingest.head)
        if ftype.magic == "text":
            if found in ("zip", "pdf", "png", "jpeg", "ole", "executable") or not (
                    ingest.text_ok() or _utf16_ok(ingest.spool, ingest.head)):
                raise UploadRejected(
                    415,
                    f"文件内容与其类型不符：{ftype.label} 须为 UTF-8、UTF-16 或 GB18030 编码的文本文件",
                    "disguised-file")
        elif ftype.magic in CONTAINERS:
            container, check = CONTAINERS[ftype.magic]
            if ftype.magic == "zip-xlsx" and found == "ole":
                raise UploadRejected(
                    415, "文件为旧版 Excel（.xls）或已加密，请取消密码并另存为 .xlsx 后上传",
                    "disguised-file")
            if found != container:
                raise disguised
            reason = check(ingest.spool)
            if reason:
                raise UploadRejected(415, reason, "disguised-file")
        elif found != ftype.magic:
            raise disguised
    except BaseException:
        ingest.spool.close()
        raise
    ingest.spool.seek(0)
    return ingest.spool, ingest.size, ingest.digest.hexdigest(), ct, name


# --------------------------------------------------------------------------- keys


def make_key(tenant_id, kind: str) -> str:
    """A new key ``tenants/<tenant_id>/<kind>/<uuid4 hex>``; the only way keys are made."""
    key = f"tenants/{tenant_id}/{kind}/{uuid.uuid4().hex}"
    if not KEY_RE.match(key):
        raise ValueError(f"invalid tenant id or kind: {tenant_id!r}, {kind!r}")
    return key


def parse_key(key: str) -> tuple[str, str, str]:
    """``(tenant_id, kind, id)`` of a platform-made key; ``InvalidKey`` otherwise."""
    match = KEY_RE.match(key) if isinstance(key, str) else None
    if match is None:
        raise InvalidKey("not a storage key made by the platform")
    return match["tenant"], match["kind"], match["id"]


def check_key(key: str, tenant_id) -> str:
    """The key, if it belongs to ``tenant_id``; another tenant's key is ``ObjectNotFound``."""
    owner, _kind, _id = parse_key(key)
    if tenant_id is None or owner != str(tenant_id):
        raise ObjectNotFound(key)
    return key


# --------------------------------------------------------------------------- interface


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str
    original_name: str


class Storage:
    """The interface; ``put`` validates, makes the key and hands bytes to ``_write``."""

    scheme = ""

    def __init__(self, secret_key: str | None = None, max_bytes: dict[str, int] | None = None):
        self._secret_key = secret_key
        self._max_bytes = dict(max_bytes or {})

    # -- writing
    def put(self, tenant_id, kind: str, data, content_type: str | None,
            original_name: str | None) -> StoredObject:
        """Validate and store an upload under a new platform-made key of ``tenant_id``."""
        spool, size, digest, ct, name = validate_upload(
            kind, data, content_type, original_name, self._max_bytes.get(kind))
        try:
            obj = StoredObject(make_key(tenant_id, kind), size, digest, ct, name)
            self._write(obj, spool)
        finally:
            spool.close()
        return obj

    # -- reading (every read names the tenant asking)
    def open(self, key: str, tenant_id) -> BinaryIO:
        """A binary stream of the object; the caller closes it."""
        return self._open(check_key(key, tenant_id))

    def get_bytes(self, key: str, tenant_id) -> bytes:
        with self.open(key, tenant_id) as stream:
            return stream.read()

    def stat(self, key: str, tenant_id) -> StoredObject:
        return self._stat(check_key(key, tenant_id))

    def exists(self, key: str, tenant_id) -> bool:
        try:
            check_key(key, tenant_id)
        except (ObjectNotFound, InvalidKey):
            return False
        return self._exists(key)

    def delete(self, key: str, tenant_id) -> bool:
        """Remove the object; False if there was none (idempotent)."""
        return self._delete(check_key(key, tenant_id))

    def download_url(self, key: str, tenant_id, filename: str | None = None,
                     expires_in: int = DEFAULT_URL_SECONDS, content_type: str | None = None) -> str:
        """A short-lived URL that downloads the object as an attachment named ``filename``
        (default: the original name kept at upload)."""
        check_key(key, tenant_id)
        if not isinstance(expires_in, int) or not 0 < expires_in <= MAX_URL_SECONDS:
            raise ValueError(f"expires_in must be 1..{MAX_URL_SECONDS} seconds")
        if filename is None or content_type is None:
            info = self._stat(key)
            filename = filename or info.original_name
            content_type = content_type or info.content_type
        return self._download_url(key, tenant_id, sanitize_filename(filename, "download"),
                                  content_type, expires_in)

    # -- signed tokens for downloads served by the app (the local backend)
    def _serializer(self) -> URLSafeTimedSerializer:
        if not self._secret_key:
            raise StorageError("no SECRET_KEY to sign download URLs")
        return URLSafeTimedSerializer(self._secret_key, salt=TOKEN_SALT)

    def make_download_token(self, key: str, tenant_id, filename: str, content_type: str,
                            expires_in: int) -> str:
        return self._serializer().dumps({
            "key": key, "tenant_id": tenant_id, "filename": filename,
            "content_type": content_type, "expires_in": expires_in,
        })

    def read_download_token(self, token: str) -> dict:
        """The claims of a valid, unexpired token; ``BadDownloadToken`` otherwise."""
        try:
            claims, issued = self._serializer().loads(
                token, max_age=MAX_URL_SECONDS, return_timestamp=True)
        except BadSignature as exc:  # SignatureExpired and BadTimeSignature included
            raise BadDownloadToken(str(exc)) from None
        if not isinstance(claims, dict) or not {"key", "tenant_id", "filename",
                                                "content_type", "expires_in"} <= claims.keys():
            raise BadDownloadToken("incomplete token")
        if time.time() - issued.timestamp() > int(claims["expires_in"]):
            raise BadDownloadToken("expired")
        return claims

    # -- backend hooks
    def check(self) -> None:
        raise NotImplementedError

    def _write(self, obj: StoredObject, spool) -> None:
        raise NotImplementedError

    def _open(self, key: str) -> BinaryIO:
        raise NotImplementedError

    def _stat(self, key: str) -> StoredObject:
        raise NotImplementedError

    def _exists(self, key: str) -> bool:
        raise NotImplementedError

    def _delete(self, key: str) -> bool:
        raise NotImplementedError

    def _download_url(self, key, tenant_id, filename, content_type, expires_in) -> str:
        raise NotImplementedError


# --------------------------------------------------------------------------- local folder


class LocalStorage(Storage):
    """Objects as files under ``root``; metadata beside each as ``<id>.json``.

    Writes go to a temporary file in the same folder, are fsynced, then renamed
    into place with ``os.replace``: a reader sees the whole object or none.
    Downloads go through the app (``GET /api/v1/files/<signed token>``): ``link`` makes
    the URL of a token (the files API's, absolute in a request), else ``url_base`` + token.
    """

    scheme = "file"

    def __init__(self, root, secret_key: str | None = None, max_bytes=None,
                 url_base: str = FILES_PATH, link: Callable[[str], str] | None = None):
        super().__init__(secret_key, max_bytes)
        self.root = Path(root).resolve()
        self.url_base = url_base
        self.link = link

    def _path(self, key: str) -> Path:
        parse_key(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey("key escapes the storage root")
        return path

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=self.root, prefix=".readyz-")
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
            os.unlink(probe)

    def _write(self, obj: StoredObject, spool) -> None:
        path = self._path(obj.key)
        meta_path = path.with_name(path.name + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        temps: list[str] = []
        try:
            fd, tmp_data = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
            temps.append(tmp_data)
            with os.fdopen(fd, "wb") as out:
                spool.seek(0)
                shutil.copyfileobj(spool, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            fd, tmp_meta = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
            temps.append(tmp_meta)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"size": obj.size, "sha256": obj.sha256,
                           "content_type": obj.content_type,
                           "original_name": obj.original_name}, out, ensure_ascii=False)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_meta, meta_path)
            temps.remove(tmp_meta)
            try:
                os.replace(tmp_data, path)
            except BaseException:
                meta_path.unlink(missing_ok=True)
                raise
            temps.remove(tmp_data)
        finally:
            for leftover in temps:
                try:
                    os.unlink(leftover)
                except OSError:
                    pass

    def _open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def _stat(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            size = path.stat().st_size
            meta = json.loads(path.with_name(path.name + ".json").read_text("utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        return StoredObject(key, size, meta.get("sha256", ""),
                            meta.get("content_type", "application/octet-stream"),
                            meta.get("original_name", "file"))

    def _exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _delete(self, key: str) -> bool:
        path = self._path(key)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".json").unlink(missing_ok=True)
        return existed

    def _download_url(self, key, tenant_id, filename, content_type, expires_in) -> str:
        token = self.make_download_token(key, tenant_id, filename, content_type, expires_in)
        return self.link(token) if self.link is not None else self.url_base + token


# --------------------------------------------------------------------------- S3


class S3Storage(Storage):
    """Objects in an S3 bucket under a prefix (AWS, MinIO, any S3-compatible).

    The boto3 client is made lazily and per process (never at import, never
    shared across a fork: RQ and gunicorn fork). Credentials and region come
    from boto3's usual chain (``AWS_ACCESS_KEY_ID``, ..., instance roles).
    Downloads are presigned GET URLs that set the attachment name and type.
    """

    scheme = "s3"

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 secret_key: str | None = None, max_bytes=None):
        super().__init__(secret_key, max_bytes)
        if not bucket:
            raise ValueError("s3 storage URL needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self._clients: dict[tuple[int, str], object] = {}
        self._lock = threading.Lock()

    def _client(self, purpose: str = "io"):
        pid = os.getpid()
        client = self._clients.get((pid, purpose))
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get((pid, purpose))
            if client is None:
                # lazy: S3 storage only; ~0.2 s and ~180 modules a local-folder deployment never uses
                import boto3
                from botocore.config import Config  # lazy: part of boto3, S3 only

                if purpose == "probe":
                    timeouts = {"connect_timeout": 2, "read_timeout": 5,
                                "retries": {"max_attempts": 1}}
                else:
                    timeouts = {"connect_timeout": 5, "read_timeout": 60,
                                "retries": {"max_attempts": 3, "mode": "standard"}}
                config = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                **timeouts)
                client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint_url, config=config)
                # Drop clients inherited from a parent process; keep this process's.
                self._clients = {k: v for k, v in self._clients.items() if k[0] == pid}
                self._clients[(pid, purpose)] = client
        return client

    def _full(self, key: str) -> str:
        parse_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _missing(exc) -> bool:
        error = getattr(exc, "response", {}).get("Error", {})
        return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")

    def check(self) -> None:
        self._client("probe").head_bucket(Bucket=self.bucket)

    def _write(self, obj: StoredObject, spool) -> None:
        spool.seek(0)
        self._client().put_object(
            Bucket=self.bucket, Key=self._full(obj.key), Body=spool, ContentLength=obj.size,
            ContentType=obj.content_type,
            ContentDisposition=content_disposition(obj.original_name),
            Metadata={"original-name": quote(obj.original_name, safe=""),
                      "sha256": obj.sha256},
        )

    def _open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError  # lazy: part of boto3, S3 only

        try:
            answer = self._client().get_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if self._missing(exc):
                raise ObjectNotFound(key) from None
            raise
        return answer["Body"]

    def _stat(self, key: str) -> StoredObject:
        from botocore.exceptions import ClientError  # lazy: part of boto3, S3 only

        try:
            head = self._client().head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if self._missing(exc):
                raise ObjectNotFound(key) from None
            raise
        meta = head.get("Metadata", {})
        return StoredObject(key, int(head["ContentLength"]), meta.get("sha256", ""),
                            head.get("ContentType", "application/octet-stream"),
                            unquote(meta.get("original-name", "file")))

    def _exists(self, key: str) -> bool:
        try:
            self._stat(key)
        except ObjectNotFound:
            return False
        return True

    def _delete(self, key: str) -> bool:
        existed = self._exists(key)
        self._client().delete_object(Bucket=self.bucket, Key=self._full(key))
        return existed

    def _download_url(self, key, tenant_id, filename, content_type, expires_in) -> str:
        return self._client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._full(key),
                    "ResponseContentDisposition": content_disposition(filename),
                    "ResponseContentType": content_type,
                    "ResponseCacheControl": "private, no-store"},
            ExpiresIn=expires_in,
        )
