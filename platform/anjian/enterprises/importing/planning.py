"""Deciding what an import writes: each row checked once (two passes over the file, for
the codes given on several rows), then each batch compared with the stored enterprises
of its codes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from anjian.context import Context
from anjian.db import jsonable
from anjian.enterprises.importing.cells import (
    CONVERTERS,
    USCC_SHAPE,
    CellError,
    cell_text,
    read_credit_code,
)
from anjian.enterprises.importing.profiles import EXTRA_PREFIX, REQUIRED
from anjian.enterprises.importing.reading import Sheet
from anjian.enterprises.models import FLAGS, Enterprise
from anjian.extensions import db
from anjian.tenancy.models import Area

SCOPED = {"tenant_scoped_sql": True}

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
    shape = USCC_SHAPE.fullmatch
    total = 0
    for _number, cells in sheet.data_rows():
        total += 1
        raw = cells[index] if index < len(cells) else None
        if raw is None or raw == "":
            continue
        code = raw.strip() if raw.__class__ is str else cell_text(raw)
        if not shape(code):  # else already in normal form (its check digit: second pass)
            try:
                code = read_credit_code(raw)
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


def load_areas(context: Context) -> dict[str, int]:
    """The tenant's active areas: id by code."""
    t = Area.__table__
    rows = db.session.execute(
        select(t.c.code, t.c.id).where(t.c.tenant_id == context.tenant_id, t.c.is_active.is_(True)),
        execution_options=SCOPED)
    return {code: aid for code, aid in rows}


def load_existing(context: Context, codes: Iterable[str] | None = None,
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
                        (context.tenant_id, list(codes)), prepare=False)
            for row in cur:
                out[row[1]] = dict(zip(names, row, strict=True))
        return out
    stmt = select(*(t.c[n] for n in names)).where(t.c.tenant_id == context.tenant_id)
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


def plan_batch(batch: Iterable[Candidate], existing: dict[str, dict],
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
