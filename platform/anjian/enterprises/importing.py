"""Importing the enterprise registry from .xlsx or .csv (UTF-8 or GB18030).

The flow: the upload is validated and stored (``anjian.storage``: type, size,
zip bomb, macros), its header row is checked at once (missing required columns
→ 422), then the ``enterprise_import`` job (``anjian.enterprises.jobs``) reads
every row, validates it with the registry's rules, and upserts by credit code.

Rules of a row:

* A column not in the file, or an empty cell, leaves the stored value as it is
  (a new enterprise gets the model default). An import never erases data.
* A credit code that appears more than once in the file: **every** row with
  it is rejected (the file is ambiguous; nothing of that code is written).
* A rejected row is not written; the other rows are. The result counts
  created / updated / unchanged / rejected, and a workbook of the rejected rows
  (row number, column, reason in Chinese) is stored for download.

The file is streamed (read twice, never held): see ``run_import``. Writes are
bulk statements (no ORM ``add_all``, no RETURNING; on PostgreSQL COPY into a
staging table, then one ``INSERT ... SELECT`` or ``UPDATE ... FROM``), in
batches of ``BATCH_SIZE`` rows, each batch compared with the stored rows of its
own codes (one lookup per batch) and committed with an audit row summarising it.
Upsert by credit code is idempotent, so a job killed mid-way and run again
leaves each row exactly once; the job's counts carry a checkpoint so a
re-delivered job skips batches already committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter, mul

import marshmallow as ma
from sqlalchemy import bindparam, select

from anjian.clock import utcnow
from anjian.db import jsonable
from anjian.enterprises.models import FLAGS, INDUSTRIES, SCALES, STATUSES, Enterprise
from anjian.enterprises.service import normalize_credit_code
from anjian.errors import Refused, UnsupportedType
from anjian.extensions import db
from anjian.xlsx import SafeWorkbook

BATCH_SIZE = 5000
SCOPED = {"tenant_scoped_sql": True}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --------------------------------------------------------------------------- profiles

CORE_PROFILE_KEY = "core"
# Field → the core template's header. "area_code" is resolved to area_id.
CORE_HEADERS: dict[str, str] = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "address": "地址",
    "industry": "行业",
    "industry_code": "行业代码",
    "scale": "规模",
    "above_quota": "限上",
    "employees": "从业人数",
    "safety_managers": "安全管理人员数",
    "special_workers": "特种作业人员数",
    "main_products": "主要产品",
    "main_risk_factors": "主要风险因素",
    **{flag: label for flag, label in FLAGS.items()},
    "principal_name": "主要负责人",
    "principal_phone": "负责人电话",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "area_code": "所属区域(区域代码)",
    "status": "状态",
}
REQUIRED = ("credit_code", "name")


def core_profile() -> dict:
    return {"key": CORE_PROFILE_KEY, "title": "企业台账导入模板（标准）",
            "headers": {header: name for name, header in CORE_HEADERS.items()},
            "sheet": None, "header_row": 1}


class ImportFileError(Refused):
    """The file as a whole cannot be imported (message in Chinese): a Refused, or with
    ``status`` 415 an UnsupportedType (a file that cannot be read)."""

    def __new__(cls, message: str, status: int = 422):
        if cls is ImportFileError and status == 415:
            cls = _UnreadableImport
        return super().__new__(cls, message, status)

    def __init__(self, message: str, status: int = 422):
        super().__init__(message, technical="ImportFileError")  # a failed job's second line
        self.status = status


class _UnreadableImport(ImportFileError, UnsupportedType):
    pass


def profiles_for(tenant) -> list[dict]:
    """The core profile plus those of the tenant's enabled plugins (hook register_import_profiles)."""
    from anjian.tenancy.service import registry

    out, seen = [], set()
    for entry in registry().catalogue_entries("register_import_profiles",
                                              enabled=tuple(tenant.plugins)):
        if entry.get("key") in seen:
            continue
        seen.add(entry.get("key"))
        out.append(entry)
    if CORE_PROFILE_KEY not in seen:
        out.insert(0, {**core_profile(), "plugin": "anjian.defaults"})
    return out


def find_profile(tenant, key: str | None) -> dict:
    """The profile ``key`` (the core one by default), with the tenant's plugin columns."""
    key = key or CORE_PROFILE_KEY
    for profile in profiles_for(tenant):
        if profile.get("key") == key:
            return with_plugin_columns(tenant, profile)
    raise ImportFileError(f"未知的导入模板：{key}")


def with_plugin_columns(tenant, profile: dict) -> dict:
    """``profile`` with a column for each of the tenant's plugin fields
    (``enterprise_extra_fields``) under its label, unless the profile maps that label
    already; ``converters`` converts their cells, ``choices`` lists what the template's
    drop-downs offer."""
    from anjian.enterprises.service import extra_schema

    headers, converters, choices = dict(profile["headers"]), {}, {}
    for name, plugin_field in extra_schema(tenant).fields.items():
        column = EXTRA_PREFIX + name
        headers.setdefault(extra_label(name, plugin_field), column)
        converters[column] = _extra_converter(name, plugin_field)
        if offered := _choices(plugin_field):
            choices[column] = offered
    return {**profile, "headers": headers, "converters": converters, "choices": choices}


# --------------------------------------------------------------------------- plugin fields

EXTRA_PREFIX = "extra."  # a column of a plugin field: "extra.<field name>"


def extra_label(name: str, field: ma.fields.Field) -> str:
    """A plugin field's column header: its title, else its description up to the first
    bracket or colon (职业病危害风险等级：一般、较重、严重 → 职业病危害风险等级), else its name."""
    metadata = field.metadata or {}
    if metadata.get("title"):
        return str(metadata["title"])
    label = re.split(r"[（(：:，,]", str(metadata.get("description") or ""), maxsplit=1)[0]
    return label.strip() or name


def _choices(field: ma.fields.Field) -> list[str]:
    if isinstance(field, ma.fields.Boolean):
        return ["是", "否"]
    return [str(c) for v in field.validators if isinstance(v, ma.validate.OneOf)
            for c in v.choices]


def _extra_converter(name: str, field: ma.fields.Field) -> Callable:
    """What the API would store for a cell of a plugin field (the field's load, then its
    dump: a date as 2022-08-01), or a CellError in Chinese."""
    schema = ma.Schema.from_dict({name: field})()
    read, hint = next(((read, hint) for kind, read, hint in _EXTRA_CELLS
                       if isinstance(field, kind)), (_text, "格式错误"))
    if choices := _choices(field):
        hint = f"须为 {'、'.join(choices)} 之一"

    def convert(value):
        try:
            return schema.dump(schema.load({name: read(value)}))[name]
        except ma.ValidationError as exc:
            raise CellError(f"{hint}，而不是「{_text(value)}」") from exc
    return convert


def _date_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return _text(value)


def _norm_header(value) -> str:
    text = _text(value)
    text = text.replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------- reading


def _text(value) -> str:
    """A cell as text: whole floats without '.0' (calamine returns 12 as 12.0)."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


def decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("CSV 文件须为 UTF-8 或 GB18030 编码", 415)


def open_rows(data: bytes, content_type: str,
              sheet: str | None = None) -> Callable[[], Iterator[list]]:
    """A function yielding the file's rows (first sheet, or ``sheet``) from row 1, one at a time.

    It can be called more than once (the import reads the file twice without holding
    every row: once to validate and find duplicate codes, once to write).
    """
    if not data:
        raise ImportFileError("文件为空")
    if content_type == XLSX_TYPE or data[:4] == b"PK\x03\x04":
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            if sheet:
                if sheet not in book.sheet_names:
                    raise ImportFileError(f"工作簿中没有名为「{sheet}」的工作表")
                ws = book.get_sheet_by_name(sheet)
            else:
                if not book.sheet_names:
                    raise ImportFileError("工作簿中没有工作表")
                ws = book.get_sheet_by_index(0)
        except ImportFileError:
            raise
        except (CalamineError, ValueError, OSError) as exc:
            raise ImportFileError(f"无法读取 Excel 文件：{type(exc).__name__}", 415) from exc

        def xlsx_rows() -> Iterator[list]:
            try:
                yield from ws.iter_rows()
            except (CalamineError, ValueError, OSError) as exc:
                raise ImportFileError(f"无法读取 Excel 文件：{type(exc).__name__}", 415) from exc
        return xlsx_rows
    text = decode_csv(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel

    def csv_rows() -> Iterator[list]:
        try:
            yield from csv.reader(io.StringIO(text), dialect)
        except csv.Error as exc:
            raise ImportFileError(f"CSV 文件格式错误：{exc}") from exc
    return csv_rows


def read_rows(data: bytes, content_type: str, sheet: str | None = None) -> list[list]:
    """Every row of the file (first sheet, or ``sheet``), from row 1, as lists of cells."""
    return list(open_rows(data, content_type, sheet)())


@dataclass
class Sheet:
    columns: dict[str, int]  # field → column index
    headers: dict[str, str]  # field → header as written in the file
    source: Callable[[], Iterator[list]]  # every row of the file, header included, streamed
    header_row: int  # 1-based
    total: int  # data rows, blank rows not counted (known once validated)
    ignored: list[str] = field(default_factory=list)  # headers the profile does not know
    header_cells: list[str] = field(default_factory=list)  # the header row as written
    converters: dict[str, Callable] = field(default_factory=dict)  # plugin fields' columns

    def data_rows(self) -> Iterator[tuple[int, list]]:
        """(spreadsheet row number, cells) of each non-blank row after the header."""
        header_row = self.header_row
        for number, cells in enumerate(self.source(), start=1):
            if number <= header_row:
                continue
            for c in cells:
                if c is not None and c != "" and _text(c):
                    yield number, cells
                    break

    @property
    def rows(self) -> list[tuple[int, list]]:
        return list(self.data_rows())


def parse(data: bytes, content_type: str, profile: dict) -> Sheet:
    """Map the header row through the profile; ImportFileError naming missing required columns."""
    source = open_rows(data, content_type, profile.get("sheet"))
    header_row = int(profile.get("header_row") or 1)
    head = None
    for number, cells in enumerate(source(), start=1):
        if number == header_row:
            head = list(cells)
            break
    if head is None or not any(_text(c) for c in head):
        raise ImportFileError("文件中没有表头行（或文件为空）")
    mapping = {_norm_header(h): f for h, f in profile["headers"].items()}
    columns, headers, ignored = {}, {}, []
    for index, cell in enumerate(head):
        header = _text(cell)
        name = mapping.get(_norm_header(cell))
        if name is None:
            if header:
                ignored.append(header)
            continue
        if name in columns:
            raise ImportFileError(f"表头「{header}」重复出现")
        columns[name], headers[name] = index, header
    missing = [n for n in REQUIRED if n not in columns]
    if missing:
        labels = {f: h for h, f in profile["headers"].items()}
        names = "、".join(labels.get(n, CORE_HEADERS[n]) for n in missing)
        raise ImportFileError(f"缺少必需的列：{names}")
    sheet = Sheet(columns, headers, source, header_row, 0, ignored, [_text(c) for c in head],
                  profile.get("converters") or {})
    if next(sheet.data_rows(), None) is None:
        raise ImportFileError("文件中没有数据行")
    return sheet


# --------------------------------------------------------------------------- rows

YES = {"是", "y", "yes", "1", "√", "✓", "true", "t", "有"}
NO = {"否", "n", "no", "0", "×", "✗", "x", "false", "f", "无"}
SCALE_LABELS = {label: key for key, label in SCALES.items()} | {k: k for k in SCALES}
STATUS_LABELS = {label: key for key, label in STATUSES.items()} | {k: k for k in STATUSES}
GBT4754 = re.compile(r"^[A-T](\d{2}|\d{3}|\d{4})?$")
PHONE = re.compile(r"^[0-9+\-() ]{0,30}$")


class CellError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _string(max_len: int) -> Callable:
    def convert(value):
        text = _text(value)
        if len(text) > max_len:
            raise CellError(f"超过 {max_len} 个字符")
        return text
    return convert


def _yes_no(value):
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError("须为 是/否（也可填 Y/N、1/0、√）")


def _count(value):
    if isinstance(value, bool):
        raise CellError("须为整数")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not value.is_integer():
            raise CellError(f"须为整数，而不是 {value}")
        number = int(value)
    else:
        text = _text(value).replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise CellError(f"须为整数，而不是「{_text(value)}」")
        number = int(text)
    if not 0 <= number <= 1_000_000:
        raise CellError("须为 0 或正整数（不超过 1000000）")
    return number


def _choice(labels: dict, hint: str):
    def convert(value):
        text = _text(value)
        if text in labels:
            return labels[text]
        raise CellError(f"须为 {hint} 之一，而不是「{text}」")
    return convert


def _industry(value):
    text = _text(value)
    if text not in INDUSTRIES:
        raise CellError(f"须为 {'、'.join(INDUSTRIES)} 之一，而不是「{text}」")
    return text


def _industry_code(value):
    text = _text(value).upper()
    if not GBT4754.match(text):
        raise CellError("国民经济行业分类代码格式错误（如 C3011）")
    return text


def _phone(value):
    text = _text(value)
    if not PHONE.match(text):
        raise CellError("电话号码格式错误")
    return text


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")


def _code(value):
    text = value.strip() if isinstance(value, str) else _text(value)
    if _USCC_SHAPE.fullmatch(text):  # the common case, without stdnum's cleaning
        total = sum(map(mul, map(_USCC_VALUE.__getitem__, text[:17]), _USCC_WEIGHTS))
        if text[17] == _USCC_ALPHABET[(31 - total) % 31]:
            return text
    try:
        return normalize_credit_code(_text(value))
    except Refused as exc:
        raise CellError(exc.message) from exc


def _name(value):
    text = _text(value)
    if len(text) > 200:
        raise CellError("超过 200 个字符")
    return text


CONVERTERS: dict[str, Callable] = {
    "credit_code": _code,
    "name": _name,
    "address": _string(300),
    "industry": _industry,
    "industry_code": _industry_code,
    "scale": _choice(SCALE_LABELS, "规上、规下、小微"),
    "above_quota": _yes_no,
    "employees": _count,
    "safety_managers": _count,
    "special_workers": _count,
    "main_products": _string(2000),
    "main_risk_factors": _string(2000),
    "principal_name": _string(50),
    "principal_phone": _phone,
    "contact_name": _string(50),
    "contact_phone": _phone,
    "area_code": _string(40),
    "status": _choice(STATUS_LABELS, "在营、停产、关闭"),
    **{flag: _yes_no for flag in FLAGS},
}

# How a cell of a plugin field is read before the field loads it, and what a bad one is
# told (a Boolean's 是/否 reader says its own; a OneOf's values are named instead).
_EXTRA_CELLS = (
    (ma.fields.Boolean, _yes_no, ""),
    (ma.fields.Integer, _count, "须为 0 或正整数"),
    ((ma.fields.Date, ma.fields.DateTime), _date_text, "须为日期（如 2022-08-01）"),
)

# Values a new enterprise gets for fields the file leaves out.
DEFAULTS = {
    "address": "", "industry": None, "industry_code": None, "scale": "below",
    "above_quota": False, "employees": None, "safety_managers": None, "special_workers": None,
    "main_products": "", "main_risk_factors": "", "principal_name": "", "principal_phone": "",
    "contact_name": "", "contact_phone": "", "area_id": None, "status": "active",
    **{flag: False for flag in FLAGS},
}
COMPARED = ("name", *DEFAULTS, "extra")


@dataclass
class Rejection:
    row: int
    column: str
    message: str
    cells: list


@dataclass
class Candidate:
    row: int
    values: dict  # credit_code, name and the fields given


MEMO_CAP = 4096  # converted values remembered per column (most columns repeat few values)
_MISS = object()
_EMPTY = object()


class _Bad:
    """A cell value's error, remembered like a converted value."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def _convert_cell(raw, convert):
    if raw is None or raw == "" or (raw.__class__ is str and not raw.strip()):
        return _EMPTY
    try:
        return convert(raw)
    except CellError as exc:
        return _Bad(exc.message)


def _row_plan(sheet: Sheet) -> list[tuple]:
    """(field, column index, header, converter, required, memo, plugin field or None) per
    mapped column, made once.

    The converters are pure functions of the cell, so each column remembers up to
    ``MEMO_CAP`` results (value or error) by cell: scale, flags, industry, status, counts
    and the like then cost one dict lookup instead of a conversion. Credit codes and
    names are (nearly) all different, so they are not remembered.
    """
    plan = sheet.__dict__.get("_plan")
    if plan is None:
        plan = [(name, index, sheet.headers[name],
                 CONVERTERS.get(name) or sheet.converters[name], name in REQUIRED,
                 None if name in ("credit_code", "name") else {},
                 name.removeprefix(EXTRA_PREFIX) if name.startswith(EXTRA_PREFIX) else None)
                for name, index in sheet.columns.items()]
        sheet.__dict__["_plan"] = plan
    return plan


def check_row(cells: list, sheet: Sheet, areas: dict[str, int]) -> tuple[dict, list]:
    """One row's values (field → converted value) and errors [(header, message)]."""
    values, errors = {}, []
    width = len(cells)
    for name, index, header, convert, required, memo, extra in _row_plan(sheet):
        raw = cells[index] if index < width else None
        if memo is None:
            value = _convert_cell(raw, convert)
        else:
            key = raw if raw.__class__ is str else (raw.__class__, raw)  # 1 == 1.0 == True
            try:
                value = memo.get(key, _MISS)
            except TypeError:  # an unhashable cell: not remembered
                key, value = None, _MISS
            if value is _MISS:
                value = _convert_cell(raw, convert)
                if key is not None and len(memo) < MEMO_CAP:
                    memo[key] = value
        if value is _EMPTY:
            if required:
                errors.append((header, "不能为空"))
            continue
        if value.__class__ is _Bad:
            errors.append((header, value.message))
            continue
        if name == "area_code":
            area_id = areas.get(value)
            if area_id is None:
                errors.append((header, f"所属区域代码「{value}」不存在或已停用"))
                continue
            values["area_id"] = area_id
        elif extra is not None:
            values.setdefault("extra", {})[extra] = value
        else:
            values[name] = value
    return values, errors


def _rejection(number: int, errors: list, cells: list) -> Rejection:
    return Rejection(number, "；".join(dict.fromkeys(c for c, _ in errors)),
                     "；".join(f"{c}：{m}" for c, m in errors), list(cells))


@dataclass
class Scan:
    """The first pass over the file: only the credit-code column is read.

    ``shared``: codes written on more than one row. Whether such a code is really
    given twice depends on which of its rows are valid, so those rows are held back
    by the second pass and decided at its end (see ``iter_candidates``).
    """
    total: int  # data rows
    shared: set[str]
    coded: int  # distinct codes (check digits not yet checked): at most this many rows written


def scan_codes(sheet: Sheet) -> Scan:
    """Count the data rows and find codes on more than one row (no other cell is converted)."""
    index = sheet.columns["credit_code"]
    seen: dict[str, int] = {}
    shape = _USCC_SHAPE.fullmatch
    total = 0
    for _number, cells in sheet.data_rows():
        total += 1
        raw = cells[index] if index < len(cells) else None
        if raw is None or raw == "":
            continue
        code = raw.strip() if raw.__class__ is str else _text(raw)
        if not shape(code):  # else already in normal form (its check digit: second pass)
            try:
                code = _code(raw)
            except CellError:
                continue  # the row is rejected by the second pass
        seen[code] = seen.get(code, 0) + 1
    shared = {code for code, n in seen.items() if n > 1}
    sheet.total = total
    return Scan(total, shared, len(seen))


def iter_candidates(sheet: Sheet, areas: dict[str, int], scan: Scan,
                    rejected: list[Rejection], duplicates: list[Rejection]) -> Iterator[Candidate]:
    """The second pass: each row validated once; the rows to write, in file order.

    Rejected rows go to ``rejected``. Rows whose code the scan found on several rows
    are held until the end: if two or more of them are valid, every valid one is
    rejected as a duplicate (``duplicates``); a code left with one valid row is
    written after the others (still in a fixed order, so batches are the same on
    every run of the same file, which checkpoints rely on).
    """
    header = sheet.headers["credit_code"]
    shared = scan.shared
    held: dict[str, list[tuple[Candidate, list]]] = {}
    for number, cells in sheet.data_rows():
        values, errors = check_row(cells, sheet, areas)
        if errors:
            rejected.append(_rejection(number, errors, cells))
            continue
        code = values["credit_code"]
        if code in shared:
            held.setdefault(code, []).append((Candidate(number, values), cells))
            continue
        yield Candidate(number, values)
    singles = []
    for group in held.values():
        if len(group) == 1:
            singles.append(group[0][0])
            continue
        rows = [cand.row for cand, _ in group]
        for cand, cells in group:
            others = "、".join(str(r) for r in rows if r != cand.row)
            duplicates.append(Rejection(cand.row, header,
                                        f"统一社会信用代码在文件中重复（另见第 {others} 行），"
                                        f"重复的行均未导入", list(cells)))
    held.clear()
    singles.sort(key=lambda c: c.row)
    yield from singles


def validate_rows(sheet: Sheet, areas: dict[str, int]) -> tuple[list[Candidate], list[Rejection]]:
    """Every row checked (in memory; the import itself streams, see ``run_import``)."""
    scan = scan_codes(sheet)
    rejected: list[Rejection] = []
    duplicates: list[Rejection] = []
    candidates = list(iter_candidates(sheet, areas, scan, rejected, duplicates))
    return candidates, sorted(rejected + duplicates, key=lambda r: r.row)


# --------------------------------------------------------------------------- writing


def load_areas(tenant_id: int) -> dict[str, int]:
    from anjian.tenancy.models import Area

    t = Area.__table__
    rows = db.session.execute(
        select(t.c.code, t.c.id).where(t.c.tenant_id == tenant_id, t.c.is_active.is_(True)),
        execution_options=SCOPED)
    return {code: aid for code, aid in rows}


def load_existing(tenant_id: int, codes: Iterable[str] | None = None,
                  fields: Iterable[str] = COMPARED) -> dict[str, dict]:
    """The tenant's enterprises (deleted ones too) with these credit codes (or all), by code.

    Only ``fields`` (the compared columns the file gives) and id, credit_code,
    deleted_at are read. The codes go as one array parameter in an unprepared
    statement, so that every lookup is planned with its own codes (see ``run_import``).
    """
    t = Enterprise.__table__
    names = ("id", "credit_code", "deleted_at",
             *(n for n in dict.fromkeys(fields) if n not in ("id", "credit_code", "deleted_at")))
    out: dict[str, dict] = {}
    conn = db.session.connection()
    if codes is not None:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            # prepare=False: psycopg prepares a statement from its 5th run (prepare_threshold)
            # and PostgreSQL may then use a generic plan, where the codes are parameters,
            # not a constant: no hashed ScalarArrayOp (it needs a constant array), so each
            # row scanned is compared with every code; and a table just filled has no
            # statistics (the app role cannot ANALYZE it), so that plan scanned all the
            # tenant's rows: 17 s per batch of 5,000 against 100,000 rows. Unprepared,
            # each lookup is planned with its codes: index probes or a hashed filter.
            cur.execute(f"SELECT {', '.join(names)} FROM {t.name} "
                        f"WHERE tenant_id = %s AND credit_code = ANY(%s)",
                        (tenant_id, list(codes)), prepare=False)
            for row in cur:
                out[row[1]] = dict(zip(names, row, strict=True))
        return out
    stmt = select(*(t.c[n] for n in names)).where(t.c.tenant_id == tenant_id)
    for row in db.session.execute(stmt, execution_options=SCOPED):
        out[row[1]] = dict(zip(names, row, strict=True))
    return out


def compared_fields(sheet: Sheet) -> tuple[str, ...]:
    """The stored columns a file's rows can change (area_code is stored as area_id)."""
    return tuple(dict.fromkeys(
        "area_id" if n == "area_code" else "extra" if n.startswith(EXTRA_PREFIX) else n
        for n in sheet.columns if n != "credit_code"))


@dataclass
class Plan:
    inserts: list[dict] = field(default_factory=list)
    updates: list[tuple[int, dict]] = field(default_factory=list)  # (id, changed fields)
    unchanged: int = 0
    changes: list[dict] = field(default_factory=list)  # for dry runs: what would change


def plan_batch(tenant_id: int, batch: Iterable[Candidate], existing: dict[str, dict],
               keep_changes: int = 0) -> Plan:
    plan = Plan()
    for cand in batch:
        code = cand.values["credit_code"]
        current = existing.get(code)
        if current is None:
            plan.inserts.append(cand.values)
            if len(plan.changes) < keep_changes:
                plan.changes.append({"row": cand.row, "credit_code": code, "action": "create",
                                     "name": cand.values["name"]})
            continue
        changed = {k: v for k, v in cand.values.items()
                   if k not in ("credit_code", "extra") and current.get(k) != v}
        if "extra" in cand.values:  # the file's plugin fields, over the stored ones
            stored = current.get("extra") or {}
            merged = {**stored, **cand.values["extra"]}
            if merged != stored:
                changed["extra"] = merged
        if current["deleted_at"] is not None:
            changed["deleted_at"] = None
        if not changed:
            plan.unchanged += 1
            continue
        plan.updates.append((current["id"], changed))
        if len(plan.changes) < keep_changes:
            plan.changes.append({
                "row": cand.row, "credit_code": code, "action": "update",
                "changes": {k: [jsonable(current.get(k)), jsonable(v)] for k, v in changed.items()}})
    return plan


def apply_plan(tenant_id: int, plan: Plan, existing: dict[str, dict] | None = None) -> None:
    """Write one batch: new rows in bulk (COPY / executemany), updates grouped by changed columns."""
    now = utcnow()
    if plan.inserts:
        _insert_rows(tenant_id, plan.inserts, now)
    if plan.updates:
        _update_rows(tenant_id, plan.updates, now)


INSERTED = ("credit_code", "name", *DEFAULTS, "extra")
CONSTANT = ("tenant_id", "deleted_at", "created_at", "updated_at")
COPY_UPDATES_FROM = 50  # PostgreSQL: a batch with this many updates stages them with COPY


def _to_driver(dialect, name: str) -> Callable:
    """A value of column ``name`` of enterprises as the driver takes it (its type's bind
    processor; a None stays None)."""
    processor = Enterprise.__table__.c[name].type._cached_bind_processor(dialect)
    if processor is None:
        return lambda value: value
    return lambda value: None if value is None else processor(value)


def _constants(dialect, tenant_id: int, now) -> tuple:
    """tenant_id, deleted_at, created_at, updated_at as the driver takes them."""
    return tuple(_to_driver(dialect, name)(value)
                 for name, value in zip(CONSTANT, (tenant_id, None, now, now), strict=True))


def _stage(conn, name: str, columns: Iterable[str], key: str | None = None) -> None:
    """A temporary table (dropped at commit) with these columns of enterprises, typed alike.

    ``CREATE TABLE AS ... WITH NO DATA`` copies types but no NOT NULL, so a COPY may
    give only some columns. ``key``: a primary key (the join in ``_update_rows`` then
    has an index on either side, whatever the planner believes about row counts).
    """
    t = Enterprise.__table__
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DROP AS "
        f"SELECT {', '.join(columns)} FROM {t.name} WITH NO DATA", execution_options=SCOPED)
    if key is not None:
        conn.exec_driver_sql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = "
            f"'pg_temp.{name}'::regclass AND indisprimary) THEN "
            f"ALTER TABLE pg_temp.{name} ADD PRIMARY KEY ({key}); END IF; END $$",
            execution_options=SCOPED)


def _copy_rows(conn, table: str, columns: Iterable[str], rows: Iterable[tuple]) -> None:
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"TRUNCATE {table}")
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)


def _insert_rows(tenant_id: int, inserts: list[dict], now) -> None:
    """Insert new rows without per-row SQLAlchemy compiling: COPY into a staging table.

    The per-row values are plain str/int/bool/None (what the converters return), which
    psycopg takes as they are; the constant columns go through their column types'
    bind processors once.
    """
    t = Enterprise.__table__
    conn = db.session.connection()
    dialect = conn.dialect
    constant = _constants(dialect, tenant_id, now)
    base = {n: DEFAULTS.get(n) for n in INSERTED}
    base["extra"] = {}
    extra = _to_driver(dialect, "extra")
    pick = itemgetter(*INSERTED)  # the row's values, in INSERTED order, defaults filled in

    def columns(values):
        values["extra"] = extra(values["extra"])
        return pick(values)
    # COPY into a staging table, then one INSERT ... SELECT: COPY FROM is not allowed on
    # a table with row-level security; the INSERT is checked by RLS. Through the
    # session's own connection: same transaction, same tenant scope. Only the per-row
    # columns are copied; the constant ones are parameters.
    cols = ", ".join(INSERTED)
    _stage(conn, "enterprise_import_stage", INSERTED)
    _copy_rows(conn, "enterprise_import_stage", INSERTED,
               (columns({**base, **values}) for values in inserts))
    conn.exec_driver_sql(
        f"INSERT INTO {t.name} ({cols}, {', '.join(CONSTANT)}) "
        f"SELECT {cols}, %s, %s, %s, %s FROM enterprise_import_stage", constant,
        execution_options=SCOPED)


def _update_rows(tenant_id: int, updates: list[tuple[int, dict]], now) -> None:
    """Updates grouped by the set of columns they change (a file changes few such sets).

    From ``COPY_UPDATES_FROM`` updates: each group is copied into a staging table and
    applied with one ``UPDATE ... FROM``; below that, one executemany per group keyed by id.
    """
    t = Enterprise.__table__
    groups: dict[tuple, list[tuple[int, dict]]] = {}
    for ent_id, changed in updates:
        groups.setdefault(tuple(sorted(changed)), []).append((ent_id, changed))
    conn = db.session.connection()
    if len(updates) >= COPY_UPDATES_FROM:
        stage = "enterprise_update_stage"
        _stage(conn, stage, ("id", "deleted_at", *COMPARED), key="id")
        updated_at = _constants(conn.dialect, tenant_id, now)[-1]
        extra = _to_driver(conn.dialect, "extra")
        for keys, items in groups.items():
            _copy_rows(conn, stage, ("id", *keys), (
                (ent_id, *(extra(changed[k]) if k == "extra" else changed[k] for k in keys))
                for ent_id, changed in items))
            sets = ", ".join(f"{k} = s.{k}" for k in keys)
            conn.exec_driver_sql(
                f"UPDATE {t.name} AS e SET {sets}, updated_at = %s FROM {stage} AS s "
                f"WHERE e.id = s.id AND e.tenant_id = %s", (updated_at, tenant_id),
                execution_options=SCOPED)
        return
    for keys, items in groups.items():
        params = []
        for ent_id, changed in items:
            p = {f"v_{k}": v for k, v in changed.items()}
            p.update(b_id=ent_id, b_tenant=tenant_id, v_updated_at=now)
            params.append(p)
        stmt = (t.update()
                .where(t.c.id == bindparam("b_id"), t.c.tenant_id == bindparam("b_tenant"))
                .values({k: bindparam(f"v_{k}") for k in (*keys, "updated_at")}))
        db.session.execute(stmt, params, execution_options=SCOPED)


def audit_batch(tenant_id: int, actor: int | None, job_id: str, batch_no: int,
                plan: Plan) -> None:
    """One audit row per committed batch that changed something (same transaction)."""
    from anjian.audit.service import record_bulk_write

    if not plan.inserts and not plan.updates:
        return
    record_bulk_write(
        db.session, tenant_id=tenant_id, actor_user_id=actor, action="enterprise.import",
        entity_type="enterprise_import", entity_id=job_id,
        after={"job_id": job_id, "batch": batch_no,
               "created": [v["credit_code"] for v in plan.inserts],
               "updated": {str(i): sorted(c) for i, c in plan.updates}},
        detail=f"批量导入第 {batch_no} 批：新增 {len(plan.inserts)}，更新 {len(plan.updates)}",
    )


# --------------------------------------------------------------------------- rejected rows


def rejected_workbook(sheet_headers: list[str], rejected: list[Rejection]) -> bytes:
    """An .xlsx: 行号, 列, 原因, then the row's own cells under the file's headers (the
    headers and cells come from the uploaded file: the workbook neutralises them)."""
    buffer = io.BytesIO()
    book = SafeWorkbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("未导入的行")
    bold = book.add_format({"bold": True, "bg_color": "#F2DCDB"})
    head = ["行号", "列", "原因", *sheet_headers]
    ws.write_row(0, 0, head, bold)
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 22)
    ws.set_column(2, 2, 60)
    ws.set_column(3, 3 + len(sheet_headers), 18)
    for r, rej in enumerate(rejected, start=1):
        ws.write_number(r, 0, rej.row)
        ws.write_string(r, 1, rej.column)
        ws.write_string(r, 2, rej.message)
        for c, value in enumerate(rej.cells[:len(sheet_headers)]):
            ws.write_string(r, 3 + c, _text(value))
    ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


# --------------------------------------------------------------------------- template


def template_workbook(profile: dict | None = None) -> bytes:
    """The blank import template: bold header, widths, drop-down lists for yes/no and scale."""
    profile = profile or core_profile()
    headers = list(profile["headers"])
    fields = [profile["headers"][h] for h in headers]
    buffer = io.BytesIO()
    book = SafeWorkbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("企业名单")
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    text = book.add_format({"num_format": "@"})
    for c, (header, name) in enumerate(zip(headers, fields, strict=True)):
        ws.write_string(0, c, header, required if name in REQUIRED else bold)
        width = {"credit_code": 22, "name": 30, "address": 36, "main_products": 24,
                 "main_risk_factors": 24, "area_code": 20}.get(name, max(10, len(header) * 2 + 2))
        ws.set_column(c, c, width, text if name in (
            "credit_code", "principal_phone", "contact_phone", "industry_code", "area_code")
            else None)
        last = 1_048_575
        if name in FLAGS or name == "above_quota":
            ws.data_validation(1, c, last, c, {"validate": "list", "source": ["是", "否"],
                                               "error_message": "请填 是 或 否"})
        elif name == "scale":
            ws.data_validation(1, c, last, c, {"validate": "list",
                                               "source": list(SCALES.values()),
                                               "error_message": "请填 规上、规下 或 小微"})
        elif name == "status":
            ws.data_validation(1, c, last, c, {"validate": "list",
                                               "source": list(STATUSES.values())})
        elif name == "industry":
            ws.data_validation(1, c, last, c, {"validate": "list", "source": list(INDUSTRIES)})
        elif name in profile.get("choices", {}):  # a plugin field's values
            ws.data_validation(1, c, last, c, {"validate": "list",
                                               "source": profile["choices"][name]})
        elif name in ("employees", "safety_managers", "special_workers"):
            ws.data_validation(1, c, last, c, {"validate": "integer", "criteria": ">=",
                                               "value": 0, "error_message": "须为 0 或正整数"})
    ws.freeze_panes(1, 0)
    notes = book.add_worksheet("填写说明")
    lines = [
        "统一社会信用代码、企业名称为必填项；按统一社会信用代码新增或更新企业。",
        "空白单元格表示不修改已有的值（新增企业取默认值）。",
        "是/否列可填：是、否、Y、N、1、0、√。规模可填：规上、规下、小微。",
        "所属区域填区域代码（见系统“区域”列表）。",
        "同一文件内统一社会信用代码重复的行均不导入。",
    ]
    extra = [h for h in headers if profile["headers"][h].startswith(EXTRA_PREFIX)]
    if extra:
        lines.append(f"{'、'.join(extra)}：本单位启用的插件的扩展字段，空白不修改已有的值。")
    notes.set_column(0, 0, 90)
    for r, line in enumerate(lines):
        notes.write_string(r, 0, line)
    book.close()
    return buffer.getvalue()


# --------------------------------------------------------------------------- the run


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    total: int = 0
    changes: list[dict] = field(default_factory=list)


def _batches(candidates: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    batch: list[Candidate] = []
    for cand in candidates:
        batch.append(cand)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_import(*, tenant_id: int, actor: int | None, job_id: str, sheet: Sheet,
               dry_run: bool, checkpoint: dict | None = None,
               on_batch: Callable[[int, int, Outcome], None] | None = None,
               on_validated: Callable[[Outcome], None] | None = None,
               preview: int = 200) -> tuple[Outcome, list[Rejection]]:
    """Validate and upsert; commits per batch (not in a dry run) and calls ``on_batch``.

    The file is read twice, row by row, without holding its rows: first only the
    credit codes (``scan_codes``: the row count and the codes on several rows), then
    every row is validated once and the valid ones are written in batches of
    ``BATCH_SIZE`` (``iter_candidates``), each batch comparing against the stored
    enterprises with its own codes only (one indexed lookup per batch, on both
    backends: memory stays bounded however large the tenant). Codes are unique
    among the rows written, so batches are independent.

    ``on_validated`` is called after the first pass (the total is known; rejections
    are counted as the second pass finds them, ``on_batch`` reports them).

    ``checkpoint`` (from the job's counts of an earlier, interrupted delivery) names
    the last committed batch and the counts so far: those batches are skipped.
    """
    size = BATCH_SIZE
    areas = load_areas(tenant_id)
    scan = scan_codes(sheet)
    outcome = Outcome(total=scan.total)
    if on_validated is not None:
        on_validated(outcome)
    done = 0
    if checkpoint and not dry_run:
        done = int(checkpoint.get("batch", 0))
        for key in ("created", "updated", "unchanged"):
            setattr(outcome, key, int(checkpoint.get(key, 0)))
    count = -(-scan.coded // size)  # at most this many batches
    # Codes are unique among the rows written, so a batch only ever matches enterprises
    # stored before this import: none at all for a tenant's first import, which then
    # needs no lookups.
    t = Enterprise.__table__
    any_stored = db.session.execute(
        select(t.c.id).where(t.c.tenant_id == tenant_id).limit(1),
        execution_options=SCOPED).first() is not None
    fields = compared_fields(sheet)
    rejected: list[Rejection] = []
    duplicates: list[Rejection] = []
    candidates = iter_candidates(sheet, areas, scan, rejected, duplicates)
    for number, batch in enumerate(_batches(candidates, size), start=1):
        if number <= done:
            continue
        existing = (load_existing(tenant_id, [c.values["credit_code"] for c in batch], fields)
                    if any_stored else {})
        plan = plan_batch(tenant_id, batch, existing,
                          keep_changes=max(0, preview - len(outcome.changes)) if dry_run else 0)
        outcome.created += len(plan.inserts)
        outcome.updated += len(plan.updates)
        outcome.unchanged += plan.unchanged
        outcome.rejected = len(rejected) + len(duplicates)
        if dry_run:
            outcome.changes.extend(plan.changes)
            db.session.commit()  # nothing written; ends the read transaction
        else:
            apply_plan(tenant_id, plan)
            audit_batch(tenant_id, actor, job_id, number, plan)
            db.session.commit()
        if on_batch is not None:
            on_batch(number, max(count, number), outcome)
    outcome.rejected = len(rejected) + len(duplicates)
    return outcome, sorted(rejected + duplicates, key=lambda r: r.row)
