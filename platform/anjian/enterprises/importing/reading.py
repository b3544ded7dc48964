"""Reading an import file (.xlsx, or .csv in UTF-8 or GB18030): its rows, streamed, and
its header row mapped through a profile."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from python_calamine import CalamineError, CalamineWorkbook

from anjian.enterprises.importing.cells import cell_text, norm_header
from anjian.enterprises.importing.profiles import CORE_HEADERS, REQUIRED, ImportFileError
from anjian.storage.backends import XLSX


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
    if content_type == XLSX or data[:4] == b"PK\x03\x04":
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
                if c is not None and c != "" and cell_text(c):
                    yield number, cells
                    break


def parse(data: bytes, content_type: str, profile: dict) -> Sheet:
    """Map the header row through the profile; ImportFileError naming missing required columns."""
    source = open_rows(data, content_type, profile.get("sheet"))
    header_row = int(profile.get("header_row") or 1)
    head = None
    for number, cells in enumerate(source(), start=1):
        if number == header_row:
            head = list(cells)
            break
    if head is None or not any(cell_text(c) for c in head):
        raise ImportFileError("文件中没有表头行（或文件为空）")
    mapping = {norm_header(h): f for h, f in profile["headers"].items()}
    columns, headers, ignored = {}, {}, []
    for index, cell in enumerate(head):
        header = cell_text(cell)
        name = mapping.get(norm_header(cell))
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
    sheet = Sheet(columns, headers, source, header_row, 0, ignored, [cell_text(c) for c in head],
                  profile.get("converters") or {})
    if next(sheet.data_rows(), None) is None:
        raise ImportFileError("文件中没有数据行")
    return sheet
