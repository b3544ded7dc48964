"""Finding the table in a list file and what each of its columns is.

The header is looked for in the first rows of each sheet (or the sheet the user
named): a row, or two rows (a group cell over its sub-columns), whose cells name the
most fields of the profile by their labels or everyday names, the profile's required
fields among them. Title rows, notes and blank rows above it, blank columns to its
left and merged cells do not matter. A column is then a field (by its label, one of
its names, or the user's explicit mapping), the serial-number column (序号, ignored),
a column the user told us to ignore, or unmapped: announced with suggestions, never
dropped silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice

from anjian.intake.cells import cell_text, halfwidth
from anjian.intake.errors import ImportFileError
from anjian.intake.files import Grid, open_file
from anjian.intake.profile import Column, Profile, column_letter
from anjian.intake.trailers import trailer

IGNORE = ("ignore", "忽略", "不导入")
NO_HEADER = "（无表头）"  # a column with data under an empty header
SERIAL = {"序号", "序", "no", "no.", "编号序号", "顺序号"}
# Decorations around a header's name: 必填 marks, a unit in brackets, a colon.
_DECORATION = re.compile(
    r"^[*※]+|[*※]+$|[:：]$"
    r"|\((必填|选填|必填项|选填项|非必填|可选|必须)\)"
    r"|\((人|名|个|家|台|套|处|项|次|户|辆|元|万元|亿元|吨|米|平方米|㎡|m2|%|年|月|日|岁)\)$")
_SPACE = re.compile(r"\s+")


def header_key(text: str) -> str:
    """A header as compared: half-width, no spaces, lower case."""
    return _SPACE.sub("", halfwidth(text)).lower()


def _bare(key: str) -> str:
    """A compared header without its decorations (*, （必填）, a unit in brackets)."""
    previous = None
    while previous != key:
        previous, key = key, _DECORATION.sub("", key)
    return key


@dataclass
class Names:
    """Every name of every field of a profile, compared as ``header_key``s."""

    profile: Profile
    by_key: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (field, how)

    def __post_init__(self):
        for f in self.profile.fields:  # labels first: a label is never taken by an alias
            self.by_key.setdefault(header_key(f.label), (f.name, "label"))
        for f in self.profile.fields:
            self.by_key.setdefault(header_key(f.name), (f.name, "alias"))
            for alias in f.aliases:
                self.by_key.setdefault(header_key(alias), (f.name, "alias"))

    def match(self, key: str) -> tuple[str, str] | None:
        if not key:
            return None
        found = self.by_key.get(key)
        if found is None:
            bare = _bare(key)
            found = self.by_key.get(bare) or self.by_key.get(bare.removeprefix("企业"))
        return found

    def suggest(self, header: str, taken: set[str]) -> list[dict]:
        """Up to three fields a header may mean: names it contains or that contain it,
        then names spelled alike."""
        key = _bare(header_key(header))
        if not key:
            return []
        fields: dict[str, None] = {}
        for name, (f, _how) in self.by_key.items():
            if len(name) >= 2 and (name in key or key in name):
                fields.setdefault(f)
        for name in difflib.get_close_matches(key, list(self.by_key), n=6, cutoff=0.5):
            fields.setdefault(self.by_key[name][0])
        labels = {f.name: f.label for f in self.profile.fields}
        return [{"field": f, "label": labels[f]} for f in fields if f not in taken][:3]


@dataclass
class Table:
    """A list's table: where it is, and its columns."""

    grid: Grid
    header_rows: list[int]  # 1-based spreadsheet rows
    columns: list[Column]  # mapped to a field
    ignored: list[Column]  # 序号, or ignored by the user's mapping
    unmapped: list[Column]  # with suggestions

    @property
    def sheet(self) -> str | None:
        return self.grid.name

    @property
    def first_data_row(self) -> int:
        return self.header_rows[-1] + 1

    @property
    def header_cells(self) -> list[str]:
        """The header as written, one per column (a two-row header's "group/sub")."""
        width = 1 + max((c.index for c in (*self.columns, *self.ignored, *self.unmapped)), default=-1)
        cells = [""] * width
        for c in (*self.columns, *self.ignored, *self.unmapped):
            cells[c.index] = c.header
        return cells

    def plan(self) -> dict:
        """Where the table is and what becomes of each column (the plan's first part)."""
        return {"sheet": self.sheet, "header_rows": self.header_rows,
                "columns": [c.as_dict() for c in self.columns],
                "ignored": [c.as_dict() for c in self.ignored],
                "unmapped": [c.as_dict() for c in self.unmapped]}


def _headers(head: list[list], r: int, two: bool, filled: bool) -> list[str]:
    """The header texts of row ``r`` (0-based), or of rows r and r+1 as group/sub.

    Where the file says nothing of merged cells (.ods, .csv), an empty group cell
    takes the group on its left while the cells under it name sub-columns."""
    top = [cell_text(c) for c in head[r]]
    if not two:
        return top
    sub = [cell_text(c) for c in head[r + 1]] if r + 1 < len(head) else []
    width = max(len(top), len(sub))
    top += [""] * (width - len(top))
    sub += [""] * (width - len(sub))
    out, group = [], ""
    for i in range(width):
        g, s = top[i], sub[i]
        if g:
            group = g
        elif not filled and s and group and i > 0 and sub[i - 1]:
            g = group  # fill forward under a group whose merge the file does not record
        if g and s and g != s:
            out.append(f"{g}/{s}")
        else:
            out.append(g or s)
    return out


def _match_column(names: Names, header: str) -> tuple[str, str] | None:
    """The field a header names: the whole of it, else a two-row header's group and sub
    read as one name (主要负责人/电话 → 主要负责人电话), else its sub alone."""
    if "/" in header:
        group, _, sub = header.partition("/")
        return (names.match(header_key(header)) or names.match(header_key(group + sub))
                or names.match(header_key(sub)))
    return names.match(header_key(header))


def _score(names: Names, headers: list[str]) -> tuple[int, set[str]]:
    found = set()
    for h in headers:
        hit = _match_column(names, h)
        if hit:
            found.add(hit[0])
    return len(found), found


def locate(grids: list[Grid], profile: Profile, *, sheet: str | None = None,
           mapping: Mapping[str, str] | None = None) -> Table:
    """The table of ``profile`` in the file: the sheet (the one named, else the one whose
    header names the most fields), the header row(s) and every column's fate.
    ``mapping`` (column header as written, or its letter → field name, label, or
    "ignore") decides over the names. ImportFileError when no sheet holds the table."""
    names = Names(profile)
    wanted = sheet or profile.sheet
    if wanted:
        chosen = [g for g in grids if g.name == wanted]
        if not chosen:
            listed = "、".join(f"「{g.name}」" for g in grids if g.name)
            raise ImportFileError(f"工作簿中没有名为「{wanted}」的工作表（有：{listed}）", field="sheet")
        grids = chosen
    required = set(profile.required) | {profile.key_field}
    best = None  # (score, -sheet order, -row, grid, row, two)
    for order, grid in enumerate(grids):
        head = grid.head()
        filled = grid.merged is not None
        rows = ([profile.header_row - 1] if profile.header_row else range(len(head)))
        for r in rows:
            if r >= len(head):
                continue
            single, found = _score(names, _headers(head, r, False, filled))
            candidates = [(single, found, False)]
            if r + 1 < len(head):
                double, found2 = _score(names, _headers(head, r, True, filled))
                if double > single:
                    candidates.append((double, found2, True))
            for score, found, two in candidates:
                if score < 2 and profile.key_field not in found:
                    continue
                # On a tie, one header row rather than two (a title over the header is
                # no group), then the first sheet and row.
                rank = (required <= found or bool(mapping), score, not two, -order, -r)
                if best is None or rank > best[0]:
                    best = (rank, grid, r, two)
    if best is None:
        labels = "、".join(f.label for f in profile.fields if f.name in required)
        raise ImportFileError(
            f"未找到{profile.noun}名单的表头：文件{'的工作表「' + wanted + '」' if wanted else ''}"
            f"前 {len(grids[0].head()) if grids else 0} 行中没有一行包含「{labels}」等列名；"
            f"请确认上传的是{profile.noun}名单，或使用导入模板")
    _rank, grid, r, two = best
    headers = _headers(grid.head(), r, two, grid.merged is not None)
    header_rows = [r + 1, r + 2] if two else [r + 1]
    table = _columns(grid, header_rows, _with_headerless(grid, header_rows, headers), names, mapping or {})
    missing = [f.label for f in profile.fields
               if f.name in required and f.name not in {c.field for c in table.columns}]
    if missing:
        unmapped = f"；{describe_unmapped(table)}" if table.unmapped else ""
        raise ImportFileError(f"缺少必需的列：{'、'.join(missing)}{unmapped}（可在 mapping 中指定对应的列）",
                              field="mapping", members={"plan": table.plan()})
    return table


def describe_unmapped(table: Table) -> str:
    """The columns no field took, for a message: header, letter, the fields they may be."""
    return f"有 {len(table.unmapped)} 列无法对应到字段：" + "；".join(
        f"「{c.header}」（{c.letter}列）" + (
            "，可能是：" + "、".join(s["label"] for s in c.suggestions) if c.suggestions else "")
        for c in table.unmapped)


def _lead(row: list):
    return next((c for c in row if cell_text(c)), None)


def _with_headerless(grid: Grid, header_rows: list[int], headers: list[str]) -> list[str]:
    """``headers`` widened to every column the first rows below them fill: a column
    without a header but with data is a column too (announced, never dropped silently)."""
    below = [row for row in grid.head()[header_rows[-1]:] if not trailer(_lead(row))]
    width = max((len(row) for row in below), default=0)
    headers = headers + [""] * (width - len(headers))
    for i, header in enumerate(headers):
        if not header and any(i < len(row) and cell_text(row[i]) for row in below):
            headers[i] = NO_HEADER
    return headers


def _columns(grid: Grid, header_rows: list[int], headers: list[str], names: Names,
             mapping: Mapping[str, str]) -> Table:
    by_field = {f.name: f for f in names.profile.fields}
    by_label = {f.label: f.name for f in names.profile.fields}
    explicit: dict[int, str | None] = {}  # column index → field, None to ignore
    letters = {column_letter(i + grid.offset): i for i in range(len(headers))}
    by_header = {h: i for i, h in reversed(list(enumerate(headers))) if h and h != NO_HEADER}
    for ref, target in mapping.items():
        index = by_header.get(ref, letters.get(str(ref).strip().upper()))
        if index is None:
            raise ImportFileError(f"映射中的列「{ref}」不在表头中", field="mapping")
        target = str(target).strip()
        if target in IGNORE:
            explicit[index] = None
        elif target in by_field or target in by_label:
            explicit[index] = target if target in by_field else by_label[target]
        else:
            raise ImportFileError(f"映射中的字段「{target}」不存在（列「{ref}」）", field="mapping")
    columns, ignored, unmapped = [], [], []
    taken: set[str] = set()
    for index, header in enumerate(headers):
        column = Column(index, column_letter(index + grid.offset), header)
        if index in explicit:
            column.field, column.how = explicit[index], "mapping"
        elif header_key(header) in SERIAL:
            column.how = "序号列"
            ignored.append(column)
            continue
        elif header:
            hit = _match_column(names, header)
            if hit and hit[0] not in taken and hit[0] not in explicit.values():
                column.field, column.how = hit
        if column.field is None:
            if index in explicit:
                column.how = "按映射忽略"
                ignored.append(column)
            elif header:
                unmapped.append(column)
            continue
        if column.field in taken:
            raise ImportFileError(f"字段「{by_field[column.field].label}」对应了不止一列", field="mapping")
        taken.add(column.field)
        columns.append(column)
    for column in unmapped:
        column.suggestions = names.suggest(column.header, taken)
        if column.header and _match_column(names, column.header):  # a second column of a field
            column.how = "与前面的列同名"
    return Table(grid, header_rows, columns, ignored, unmapped)


def open_table(data: bytes, profile: Profile, *, sheet: str | None = None,
               mapping: Mapping[str, str] | None = None) -> Table:
    """The table of ``profile`` in a list file: ImportFileError when there is none, or when
    no row follows its header."""
    table = locate(open_file(data), profile, sheet=sheet, mapping=mapping)
    if not any(any(cell_text(c) for c in cells)
               for cells in islice(table.grid.rows(), table.first_data_row - 1, None)):
        raise ImportFileError(f"文件中没有数据行（表头在第 {table.header_rows[-1]} 行）",
                              members={"plan": table.plan()})
    return table


def nothing_dropped(table: Table) -> None:
    """Before anything is written: a column the import would drop must have been named
    in the user's mapping (mapped or ignored); else ImportFileError with the plan, which
    lists each such column and the fields it may be."""
    if not table.unmapped:
        return
    raise ImportFileError(
        f"{describe_unmapped(table)}。导入前须说明如何处理：请在 mapping 中为每列指定字段，"
        f"或指定 \"ignore\" 忽略该列（可先试运行查看导入计划）",
        field="mapping", members={"plan": table.plan()})
