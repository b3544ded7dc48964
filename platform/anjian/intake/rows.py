"""The rows of a list's table: each one blank, a total or note row, or data; each data
row's cells read into the profile's fields, or the row rejected with the column and a
Chinese reason; a key given on several rows imported from its first valid row.

One pass, row by row, nothing held but the keys seen: ``Reading`` is consumed once and
keeps the counts, the skipped rows and the rejections; in a dry run (``explain``) also
the conversions the cells go through and the first rows as they would be stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from anjian.intake.cells import CellError, cell_text, is_blank
from anjian.intake.profile import Profile
from anjian.intake.table import Table
from anjian.intake.trailers import TRAILER_STARTS, trailer

MEMO_CAP = 4096  # converted values remembered per column (most columns repeat few values)
PREVIEW_ROWS = 10
EXAMPLES = 5  # conversions shown per column
_MISS = object()
_EMPTY = object()

@dataclass
class Rejection:
    row: int
    column: str  # the headers of the cells at fault, or "" for the row as a whole
    message: str
    cells: list

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Candidate:
    row: int
    values: dict  # field → stored value, the fields the row gives


class _Bad:
    """A cell value's error, remembered like a converted value."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def _read(raw, read):
    if raw is None or raw == "" or is_blank(raw):
        return _EMPTY
    try:
        return read(raw)
    except CellError as exc:
        return _Bad(exc.message)


def shown(value) -> str:
    """A stored value as the plan shows it (是/否, 2022-06-01, 39)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return cell_text(value)


@dataclass
class Reading:
    """The rows of one table, read once (iterate ``candidates()``), and what was found."""

    table: Table
    profile: Profile
    explain: bool = False  # a dry run: keep conversions and the first rows
    total: int = 0  # data rows (not blank, not skipped)
    blank: int = 0
    skipped: list[dict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    conversions: dict[int, dict] = field(default_factory=dict)  # column index → {count, examples}
    preview: list[dict] = field(default_factory=list)

    def __post_init__(self):
        by_name = {f.name: f for f in self.profile.fields}
        self._plan = [(c.field, c.index, c.header, by_name[c.field].read, by_name[c.field].required,
                       {} if by_name[c.field].remember else None)
                      for c in self.table.columns]
        self._key_index = next(c.index for c in self.table.columns if c.field == self.profile.key_field)

    # ------------------------------------------------------------------ rows

    def _data_rows(self) -> Iterator[tuple[int, list]]:
        """(spreadsheet row, cells) of each row below the header that is not blank and not a
        total, note or signature row (those are counted and listed)."""
        first, key = self.table.first_data_row, self._key_index
        for number, cells in enumerate(self.table.grid.rows(), start=1):
            if number < first:
                continue
            lead = None
            for c in cells:
                if c is not None and c != "" and (c.__class__ is not str or c.strip()):
                    lead = c
                    break
            if lead is None:
                self.blank += 1
                continue
            if (lead.__class__ is str and lead.lstrip()[:1] in TRAILER_STARTS
                    and (key >= len(cells) or cells[key] is lead or is_blank(cells[key]))):
                reason = trailer(lead)
                if reason:
                    self.skipped.append({"row": number, "reason": reason})
                    continue
            yield number, cells

    def check(self, cells: list) -> tuple[dict, list]:
        """One row's values (field → stored value) and errors [(header, message)]."""
        values, errors = {}, []
        width = len(cells)
        explain = self.explain
        for name, index, header, read, required, memo in self._plan:
            raw = cells[index] if index < width else None
            if memo is None:
                value = _read(raw, read)
            else:
                key = raw if raw.__class__ is str else (raw.__class__, raw)  # 1 == 1.0 == True
                try:
                    value = memo.get(key, _MISS)
                except TypeError:  # an unhashable cell: not remembered
                    key, value = None, _MISS
                if value is _MISS:
                    value = _read(raw, read)
                    if key is not None and len(memo) < MEMO_CAP:
                        memo[key] = value
            if value is _EMPTY:
                if required:
                    errors.append((header, "不能为空"))
                continue
            if value.__class__ is _Bad:
                errors.append((header, value.message))
                continue
            values[name] = value
            if explain:
                self._note_conversion(index, raw, value)
        return values, errors

    def _note_conversion(self, index: int, raw, value) -> None:
        before, after = cell_text(raw), shown(value)
        if before == after:
            return
        seen = self.conversions.setdefault(index, {"count": 0, "examples": {}})
        seen["count"] += 1
        if before in seen["examples"] or len(seen["examples"]) < EXAMPLES:
            seen["examples"][before] = after

    def candidates(self) -> Iterator[Candidate]:
        """The rows to write, in file order: valid, and the first valid row of their key.
        Rejected rows go to ``rejections`` (a later row of a key: "与第N行重复")."""
        profile = self.profile
        unique = profile.unique_fields if profile.unique_fields is not None else (profile.key_field,)
        key_header = "、".join(c.header for c in self.table.columns if c.field in unique)
        noun = "、".join(profile.field(name).label for name in unique)
        seen: dict = {}
        for number, cells in self._data_rows():
            self.total += 1
            values, errors = self.check(cells)
            if errors:
                self.rejections.append(Rejection(
                    number, "；".join(dict.fromkeys(c for c, _ in errors)),
                    "；".join(f"{c}：{m}" for c, m in errors), list(cells)))
                continue
            key = tuple(values.get(name) for name in unique)
            first = seen.get(key) if unique else None
            if first is not None:
                self.rejections.append(Rejection(
                    number, key_header, f"{noun}与第{first}行重复（已导入第{first}行）", list(cells)))
                continue
            seen[key] = number
            if self.explain and len(self.preview) < PREVIEW_ROWS:
                self.preview.append({"row": number, "values": {k: shown(v) for k, v in values.items()}})
            yield Candidate(number, values)

    # ------------------------------------------------------------------ the plan

    def warnings(self, dry_run: bool, rejections_in: str = "rejections") -> list[str]:
        """What the user must not miss, in Chinese: columns not imported (ignored by the
        mapping; in a dry run the ones still to be named), rows not imported or skipped."""
        table = self.table
        out = [f"「{c.header}」（{c.letter}列）按映射忽略，未导入" for c in table.ignored if c.how == "按映射忽略"]
        if dry_run:
            out += [f"「{c.header}」（{c.letter}列）无法对应到字段，正式导入前须在 mapping 中指定字段或忽略"
                    for c in table.unmapped]
        if self.rejections:
            out.append(f"{len(self.rejections)} 行未导入，原因见 {rejections_in}")
        if self.skipped:
            rows = "、".join(str(s["row"]) for s in self.skipped[:10])
            out.append(f"跳过 {len(self.skipped)} 行合计、说明或落款行（第 {rows} 行"
                       f"{' 等' if len(self.skipped) > 10 else ''}）")
        return out

    def summary(self, limit: int = 200) -> dict:
        """The rows' part of the plan: counts, skipped rows, rejections (the first
        ``limit``), and in a dry run the conversions and the first rows."""
        out = {"total": self.total, "blank_rows": self.blank, "skipped": self.skipped[:limit],
               "skipped_count": len(self.skipped), "rejected": len(self.rejections),
               "rejections": [r.as_dict() for r in sorted(self.rejections, key=lambda r: r.row)[:limit]]}
        if self.explain:
            columns = {c.index: c for c in self.table.columns}
            out["conversions"] = [
                {"column": columns[i].letter, "header": columns[i].header, "field": columns[i].field,
                 "count": seen["count"],
                 "examples": [{"from": a, "to": b} for a, b in seen["examples"].items()]}
                for i, seen in sorted(self.conversions.items())]
            out["preview"] = self.preview
        return out
