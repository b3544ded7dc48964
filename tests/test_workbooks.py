"""Every workbook the platform writes neutralises formula-looking text, headers included
(RELIABILITY 17): the enterprise export (``write_table``), a report's laid-out form (a
``SafeWorkbook``, whichever write method), the import template and the rejected rows.
Each is written with headers and cells beginning with = + - @ and a tab, then read back
with openpyxl."""

from __future__ import annotations

import io

import openpyxl
import pytest

from anjian.xlsx import DANGEROUS_PREFIXES, SafeWorkbook, write_table

PAYLOADS = ["=1+2", "+1", "-1", "@SUM(A1)", "\tcmd"]


def _strings(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    out = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    out.append(cell.value)
    return out


def _assert_neutralised(data: bytes, times: int) -> None:
    strings = _strings(data)
    assert not [s for s in strings if s.startswith(DANGEROUS_PREFIXES)], strings
    for payload in PAYLOADS:
        assert strings.count("'" + payload) >= times, (payload, strings)


def test_the_table_writer_neutralises_headers_and_cells():
    buffer = io.BytesIO()
    assert write_table(buffer, "企业台账", PAYLOADS, [PAYLOADS, PAYLOADS]) == 2
    _assert_neutralised(buffer.getvalue(), times=3)


@pytest.mark.parametrize("method", ["write", "write_string", "write_row", "write_column",
                                    "merge_range", "write_a1", "write_rich_string",
                                    "write_url"])
def test_a_laid_out_form_neutralises_every_write_method(method):
    buffer = io.BytesIO()
    workbook = SafeWorkbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("表")
    head = workbook.add_format({"bold": True})
    for row, cell_format in ((0, head), (10, None)):  # a header row, a body row
        if method == "write_row":
            sheet.write_row(row, 0, PAYLOADS, cell_format)
        elif method == "write_column":
            sheet.write_column(row, 10, PAYLOADS, cell_format)
        else:
            for col, payload in enumerate(PAYLOADS):
                if method == "merge_range":
                    sheet.merge_range(row, col * 2, row + 1, col * 2 + 1, payload, cell_format)
                elif method == "write_a1":  # A1 notation: the value is the second argument
                    sheet.write(f"{'ABCDE'[col]}{row + 1}", payload, cell_format)
                elif method == "write_rich_string":
                    sheet.write_rich_string(row, col, head, payload[0], payload[1:],
                                            *([cell_format] if cell_format else []))
                elif method == "write_url":
                    sheet.write_url(row, col, "https://example.com/", cell_format, payload)
                else:
                    getattr(sheet, method)(row, col, payload, cell_format)
    workbook.close()
    _assert_neutralised(buffer.getvalue(), times=2)


def test_a_tables_headers_totals_and_cells_are_neutralised():
    buffer = io.BytesIO()
    workbook = SafeWorkbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("表")
    sheet.add_table(0, 0, 3, len(PAYLOADS) - 1, {
        "data": [PAYLOADS, PAYLOADS], "total_row": True,
        "columns": [{"header": payload, "total_string": payload} for payload in PAYLOADS]})
    workbook.close()
    _assert_neutralised(buffer.getvalue(), times=4)


def test_the_rejected_rows_neutralise_the_files_headers_and_cells():
    from anjian.enterprises.importing.workbooks import rejected_workbook
    from anjian.intake.rows import Rejection

    data = rejected_workbook(PAYLOADS, [Rejection(2, payload, payload, PAYLOADS)
                                        for payload in PAYLOADS])
    _assert_neutralised(data, times=3)  # the header, the column and the reason (cells: stripped)


def test_the_import_template_neutralises_a_profiles_headers():
    from anjian.enterprises.importing.profiles import EXTRA_PREFIX
    from anjian.enterprises.importing.workbooks import template_workbook
    from anjian.intake.profile import Field, Profile

    profile = Profile("core", "模板", "enterprises", tuple(
        Field(f"{EXTRA_PREFIX}f{n}", payload, str) for n, payload in enumerate(PAYLOADS)), "f0")
    _assert_neutralised(template_workbook(profile), times=1)
