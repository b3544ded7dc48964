"""Opening a list file: .xlsx, .xls and .ods through python-calamine, .csv in UTF-8
(with or without BOM), UTF-16 (Excel's "Unicode text") or GB18030 (which GBK is part of).

A file is a list of ``Grid``s, one per sheet (a CSV is one grid without a name). A
grid's rows are read on demand, as many times as needed, one at a time; row 1 is the
spreadsheet's row 1, and column index 0 is the sheet's first used column
(``offset`` columns to its left are empty).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from python_calamine import CalamineError, CalamineWorkbook

from anjian.intake.errors import ImportFileError

SAVE_AS = "请在 Excel 或 WPS 中打开后“另存为” .xlsx（也可 .xls、.ods 或 .csv）再上传"
HEAD_ROWS = 40  # the header is looked for in the first rows of a sheet


@dataclass
class Grid:
    """One sheet of a list file."""

    name: str | None
    source: Callable[[], Iterator[list]]
    height: int  # rows, at most (for progress)
    offset: int = 0  # empty columns left of index 0
    merged: list[tuple[tuple[int, int], tuple[int, int]]] | None = None  # 0-based, inclusive
    _head: list[list] | None = field(default=None, repr=False)

    def rows(self) -> Iterator[list]:
        return self.source()

    def head(self) -> list[list]:
        """The first ``HEAD_ROWS`` rows, merged ranges filled with their first cell's value
        (a merged header cell then names each column it spans)."""
        if self._head is None:
            head = [list(r) for r in islice(self.source(), HEAD_ROWS)]
            for (r0, c0), (r1, c1) in self.merged or ():
                c0, c1 = c0 - self.offset, c1 - self.offset
                if r0 >= len(head) or c0 < 0 or c0 >= len(head[r0]):
                    continue
                value = head[r0][c0]
                for r in range(r0, min(r1, len(head) - 1) + 1):
                    row = head[r]
                    if len(row) <= c1:
                        row.extend([""] * (c1 + 1 - len(row)))
                    for c in range(c0, c1 + 1):
                        row[c] = value
            self._head = head
        return self._head


def _unreadable(kind: str, exc: Exception) -> ImportFileError:
    return ImportFileError(f"无法读取 {kind} 文件（{type(exc).__name__}），文件可能已损坏；{SAVE_AS}", 415)


def open_file(data: bytes) -> list[Grid]:
    """The sheets of a list file, by what its bytes are (not by its name)."""
    if not data:
        raise ImportFileError("文件为空")
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _workbook(data)
    return [_csv(data)]


def _workbook(data: bytes) -> list[Grid]:
    kind = "Excel" if data[:4] != b"PK\x03\x04" or b"opendocument" not in data[:200] else "ODS"
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
    except (CalamineError, ValueError, OSError) as exc:
        raise _unreadable(kind, exc) from exc
    if not names:
        raise ImportFileError("工作簿中没有工作表")
    grids = []
    for name in names:
        try:
            sheet = book.get_sheet_by_name(name)
            start = sheet.start
            merged = sheet.merged_cell_ranges
        except (CalamineError, ValueError, OSError) as exc:
            raise _unreadable(kind, exc) from exc

        def rows(sheet=sheet) -> Iterator[list]:
            try:
                yield from sheet.iter_rows()
            except (CalamineError, ValueError, OSError) as exc:
                raise _unreadable(kind, exc) from exc
        grids.append(Grid(name, rows, sheet.total_height if start else 0,
                          start[1] if start else 0, merged))
    return grids


def decode_csv(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("无法识别 CSV 文件的编码：须为 UTF-8、UTF-16 或 GB18030（GBK）；"
                          "或请在 Excel 中另存为 .xlsx 再上传", 415)


def _csv(data: bytes) -> Grid:
    if b"\x00" in data[:4096] and data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportFileError(f"不是表格文件（.xlsx、.xls、.ods 或 .csv）；{SAVE_AS}", 415)
    text = decode_csv(data)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel

    def rows() -> Iterator[list]:
        try:
            yield from csv.reader(io.StringIO(text), dialect)
        except csv.Error as exc:
            raise ImportFileError(f"CSV 文件格式错误：{exc}") from exc
    return Grid(None, rows, text.count("\n") + 1)
