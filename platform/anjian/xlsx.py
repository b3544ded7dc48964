"""The one .xlsx writer of the platform: formula-injection safe (RELIABILITY 17).

Every workbook the platform writes is a ``SafeWorkbook``: the reports' laid-out
forms (a report kind's ``xlsx`` callable gets one), the enterprise export
(``write_table``, constant memory), the import template and the rejected-rows
workbook of an import. It is plain xlsxwriter, except that every string cell of its
sheets, headers included, whichever public method wrote it (``write``,
``write_string``, ``write_row``, ``write_column``, ``merge_range``, ``add_table``,
``write_rich_string``, a link's text), goes through ``neutralize``, and strings are
never turned into formulas, numbers or links. A formula the layout means (a total)
is written with ``write_formula``.

    rows = write_table(path_or_buffer, "企业台账", [("统一社会信用代码", 22), "企业名称"], rows)

``write_table`` writes one sheet: numbers with ``write_number``; booleans as 是/否;
dates and datetimes with a date format; None is left blank. The header row is bold,
frozen and carries an autofilter.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet, convert_cell_args, convert_range_args

# A cell starting with one of these is read as a formula (or DDE) by spreadsheet apps.
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
MAX_CELL_CHARS = 32767  # Excel's limit for one cell
MAX_ROWS = 1_048_576
DEFAULT_WIDTH_MIN, DEFAULT_WIDTH_MAX = 8, 60
# Workbook options: strings stay strings (never formulas, numbers or links); datetimes
# are written without their zone.
SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False,
                "strings_to_urls": False, "remove_timezone": True}


def neutralize(value):
    """A string that begins like a formula gets a leading ``'``; anything else unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


class SafeWorksheet(Worksheet):
    """A worksheet whose string cells are neutralised: each public method that puts text in
    a cell neutralises it before xlsxwriter sees it (A1 or row/column notation alike).
    ``write_row``, ``write_column``, ``merge_range`` and ``add_table`` write their cells
    with xlsxwriter's own ``write`` dispatch, so they neutralise their values here too."""

    @convert_cell_args
    def write(self, row, col, *args):
        return super().write(row, col, *_neutral_first(args))

    @convert_cell_args
    def write_string(self, row, col, string, cell_format=None):
        return super().write_string(row, col, neutralize(string), cell_format)

    @convert_cell_args
    def write_rich_string(self, row, col, *args):
        return super().write_rich_string(row, col, *_neutral_first(args, skip=Format))

    @convert_cell_args
    def write_url(self, row, col, url, cell_format=None, string=None, tip=None):
        return super().write_url(row, col, url, cell_format, neutralize(string), tip)

    @convert_cell_args
    def write_row(self, row, col, data, cell_format=None):
        return super().write_row(row, col, [neutralize(v) for v in data], cell_format)

    @convert_cell_args
    def write_column(self, row, col, data, cell_format=None):
        return super().write_column(row, col, [neutralize(v) for v in data], cell_format)

    @convert_range_args
    def merge_range(self, first_row, first_col, last_row, last_col, data, cell_format=None):
        return super().merge_range(first_row, first_col, last_row, last_col,
                                   neutralize(data), cell_format)

    @convert_range_args
    def add_table(self, first_row, first_col, last_row, last_col, options=None):
        options = dict(options or {})
        if "data" in options:
            options["data"] = [[neutralize(v) for v in row] for row in options["data"]]
        if "columns" in options:
            options["columns"] = [
                {**column, **{key: neutralize(column[key])
                              for key in ("header", "total_string") if key in column}}
                for column in options["columns"]]
        return super().add_table(first_row, first_col, last_row, last_col, options)


def _neutral_first(args, skip=()):
    """``args`` with its first value (a format in ``skip`` passed over) neutralised."""
    args = list(args)
    for n, value in enumerate(args):
        if not isinstance(value, skip):
            args[n] = neutralize(value)
            break
    return args


class SafeWorkbook(xlsxwriter.Workbook):
    """A workbook whose sheets are ``SafeWorksheet``s, with strings kept as strings."""

    def __init__(self, filename=None, options=None):
        super().__init__(filename, {**(options or {}), **SAFE_OPTIONS})

    def add_worksheet(self, name=None, worksheet_class=None):
        return super().add_worksheet(name, worksheet_class=worksheet_class or SafeWorksheet)


def display_width(text: str) -> int:
    """Columns the text needs: East Asian wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _header(spec) -> tuple[str, float | None]:
    if isinstance(spec, (tuple, list)):
        return str(spec[0]), spec[1]
    return str(spec), None


def write_table(path_or_buffer, sheet_title: str, headers: Sequence,
                rows: Iterable[Sequence], *, on_row=None, every: int = 5000) -> int:
    """Write one sheet: a header row, then ``rows`` (any iterable, consumed once,
    streamed: nothing is kept in memory). ``headers`` are labels or (label, width).
    ``on_row(n)`` is called every ``every`` rows (progress). Returns the data row count."""
    workbook = SafeWorkbook(path_or_buffer, {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet(_sheet_name(sheet_title))
        head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                    "valign": "vcenter"})
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        specs = [_header(h) for h in headers]
        for col, (label, width) in enumerate(specs):
            if width is None:
                width = display_width(label) + 4
            sheet.set_column(col, col, max(DEFAULT_WIDTH_MIN, min(DEFAULT_WIDTH_MAX, width)))
        # constant_memory: rows must be written in order, the header first.
        for col, (label, _width) in enumerate(specs):
            sheet.write_string(0, col, label, head)
        sheet.freeze_panes(1, 0)
        n = 0
        for n, values in enumerate(rows, 1):
            if n >= MAX_ROWS:
                raise ValueError(f"more than {MAX_ROWS - 1} rows do not fit in one sheet")
            for col, value in enumerate(values):
                _write_cell(sheet, n, col, value, date_format, datetime_format)
            if on_row is not None and n % every == 0:
                on_row(n)
        sheet.autofilter(0, 0, max(n, 1), max(len(specs) - 1, 0))
    finally:
        workbook.close()
    return n


def _write_cell(sheet, row, col, value, date_format, datetime_format) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_string(row, col, "是" if value else "否")
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(row, col, value, datetime_format)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, value, date_format)
    else:
        sheet.write_string(row, col, str(value)[:MAX_CELL_CHARS])


def _sheet_name(title: str) -> str:
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'") or "Sheet1"
    return name[:31]
