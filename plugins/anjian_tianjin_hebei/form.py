"""The dispatch table laid out as the annex's form: .xlsx (xlsxwriter) and PDF (HTML for the
core's renderer), the same layout in both.

Seven columns, as printed in the annex: the section (merged down its lines), then two
figures per line, each as number, label and value::

    A          B   C                         D      E   F                         G
    （一）总体情况 1   企业自查发现的重大事故隐患（个）  12     2   …已完成整改的（个）          7

A merged two-line title, the reporting unit and the date above; the annex's notes
below. A4 portrait, one page. The workbook is the core's ``SafeWorkbook``: every string
cell (the tenant's name too) is neutralised there (RELIABILITY 17); the HTML escapes
everything it interpolates.

Where the report holds the tables of the bureau's sections (``by_office``), each table is
a sheet of its own (the bureau's first), or a page of its own in the PDF.
"""

from __future__ import annotations

import html as html_lib
import re

from anjian_tianjin_hebei.dispatch import NOTES, date_cn

TITLE_LINES = ("河北区重大事故隐患专项排查整治", "2023行动进展情况调度表")
WIDTHS = {"A": 14, "B": 5, "C": 34, "D": 13, "E": 5, "F": 34, "G": 13}
LAST_COLUMN = 6  # G
OFFICE_NOTE = "注：本表平台统计项为本科室负责企业的数据；人工填报项为本科室填报的数据（局汇总表为局本级与各科室之和）。"


def tables(data: dict) -> list[dict]:
    """The report's tables: the bureau's (or one section's), then each section's."""
    first = {"unit": data["unit"], "office": data.get("office"), "sections": data["sections"],
             "figures": data.get("figures", {})}
    return [first, *data.get("by_office", [])]


def through(data: dict) -> str:
    """The last day the data covers (截至): older reports have only the week's end."""
    return data.get("through") or data["week"]["end"]


def scope_note(data: dict) -> str:
    starts = data["campaign"].get("starts_on")
    since = f"自{date_cn(starts)}" if starts else "自"
    return f"统计口径：{since}专项行动开展以来至{date_cn(through(data))}累计数据。"


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (at most 31 characters, none of []:*?/\\)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'")[:28] or "科室"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base[:26]}_{n}", n + 1
    taken.add(candidate)
    return candidate


# --- xlsx ------------------------------------------------------------------------------------

def write(data: dict, workbook) -> None:
    """Lay out ``data`` (``dispatch.compute``'s JSON) on new sheets of ``workbook``: the
    table (sheet 调度表), then one sheet per section of the bureau."""
    taken = {"调度表"}
    for n, table in enumerate(tables(data)):
        name = "调度表" if n == 0 else sheet_name(table["unit"], taken)
        _write_sheet(data, table, workbook.add_worksheet(name), workbook)


def _write_sheet(data: dict, table: dict, sheet, workbook) -> None:
    base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter", "text_wrap": True}
    title = workbook.add_format({**base, "font_name": "方正小标宋简体", "font_size": 18,
                                 "bold": True, "align": "center"})
    plain_left = workbook.add_format({**base, "align": "left"})
    plain_right = workbook.add_format({**base, "align": "right"})
    section = workbook.add_format({**base, "bold": True, "align": "center", "border": 1})
    number = workbook.add_format({**base, "align": "center", "border": 1})
    label = workbook.add_format({**base, "align": "left", "border": 1})
    value = workbook.add_format({**base, "align": "center", "border": 1, "bold": True})
    note = workbook.add_format({**base, "font_size": 10, "align": "left"})

    for letter, width in WIDTHS.items():
        sheet.set_column(f"{letter}:{letter}", width)

    sheet.set_row(0, 60)
    sheet.merge_range(0, 0, 0, LAST_COLUMN, "\n".join(TITLE_LINES), title)
    sheet.set_row(1, 24)
    sheet.merge_range(1, 0, 1, 3, f"{table['unit']}（单位）", plain_left)
    sheet.merge_range(1, 4, 1, LAST_COLUMN, f"时间：{date_cn(data['report_date'])}",
                      plain_right)

    row_index = 2
    for part in table["sections"]:
        rows = part["rows"]
        lines = (len(rows) + 1) // 2
        caption = f"{part['number']}\n{part['title']}"
        if lines > 1:
            sheet.merge_range(row_index, 0, row_index + lines - 1, 0, caption, section)
        else:
            sheet.write_string(row_index, 0, caption, section)
        for line in range(lines):
            sheet.set_row(row_index + line, 48)
            for half, row in enumerate(rows[2 * line:2 * line + 2]):
                col = 1 + 3 * half
                sheet.write_number(row_index + line, col, row["number"], number)
                sheet.write_string(row_index + line, col + 1, row["label"], label)
                _value(sheet, row_index + line, col + 2, row, value)
            if len(rows[2 * line:2 * line + 2]) == 1:  # the odd last item: an empty half
                for col in range(4, LAST_COLUMN + 1):
                    sheet.write_blank(row_index + line, col, None, number)
        row_index += lines

    sheet.merge_range(row_index, 0, row_index, LAST_COLUMN, scope_note(data), note)
    row_index += 1
    for text, height in zip(NOTES, (32, 78), strict=True):
        sheet.set_row(row_index, height)
        sheet.merge_range(row_index, 0, row_index, LAST_COLUMN, text, note)
        row_index += 1
    if table.get("office"):
        sheet.merge_range(row_index, 0, row_index, LAST_COLUMN, OFFICE_NOTE, note)
        row_index += 1

    sheet.set_paper(9)  # A4
    sheet.set_portrait()
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.center_horizontally()
    sheet.fit_to_pages(1, 1)  # the whole form on one page
    sheet.print_area(0, 0, row_index - 1, LAST_COLUMN)
    sheet.set_footer("&C第 &P 页，共 &N 页")
    sheet.hide_gridlines(2)


def _value(sheet, row: int, col: int, entry: dict, value_format) -> None:
    """A value cell: a number as a number (an amount to two decimals, as its text shows
    it), 是/否 and two-figure cells as their text, a figure left to the bureau blank."""
    values = entry["values"]
    if len(values) != 1:
        sheet.write_string(row, col, entry["text"], value_format)
        return
    figure = values[0]["value"]
    if figure is None:
        sheet.write_blank(row, col, None, value_format)
    elif isinstance(figure, bool):
        sheet.write_string(row, col, "是" if figure else "否", value_format)
    else:
        sheet.write_number(row, col, figure, value_format)


# --- PDF (HTML for the core's renderer) --------------------------------------------------------

CSS = """
<style>
@page { size: A4 portrait; margin: 12mm 12mm 14mm 12mm;
        @top-left { content: none; } @top-right { content: none; } }
.dispatch { font-size: 9pt; line-height: 1.25; }
.dispatch + .dispatch { page-break-before: always; }
.dispatch h1 { font-size: 15pt; line-height: 1.35; margin: 0 0 3mm; text-align: center; }
.dispatch .head { display: flex; justify-content: space-between; margin: 0 0 1.5mm; }
.dispatch table { border-collapse: collapse; width: 100%; margin: 0; table-layout: fixed; }
.dispatch td { border: 0.6pt solid #000; padding: 0.8mm 1mm; vertical-align: middle; }
.dispatch td.part { text-align: center; font-weight: bold; }
.dispatch td.no { text-align: center; }
.dispatch td.value { text-align: center; font-weight: bold; }
.dispatch p.note { font-size: 8pt; margin: 1.5mm 0 0; }
</style>
"""
COLUMN_WIDTHS = ("13%", "3.5%", "28%", "12%", "3.5%", "28%", "12%")  # A-G, as the sheet's


def _e(value) -> str:
    return html_lib.escape("" if value is None else str(value))


def html(data: dict) -> str:
    """The same form as HTML (one A4 page per table), for the core's PDF renderer."""
    return CSS + "".join(_html_table(data, table) for table in tables(data))


def _html_table(data: dict, table: dict) -> str:
    out = ['<div class="dispatch">',
           f"<h1>{_e(TITLE_LINES[0])}<br>{_e(TITLE_LINES[1])}</h1>",
           f'<div class="head"><span>{_e(table["unit"])}（单位）</span>'
           f"<span>时间：{_e(date_cn(data['report_date']))}</span></div>",
           "<table><colgroup>", *[f'<col style="width:{w}">' for w in COLUMN_WIDTHS],
           "</colgroup><tbody>"]
    for part in table["sections"]:
        rows = part["rows"]
        lines = (len(rows) + 1) // 2
        for line in range(lines):
            cells = []
            if line == 0:
                cells.append(f'<td class="part" rowspan="{lines}">{_e(part["number"])}<br>'
                             f'{_e(part["title"])}</td>')
            pair = rows[2 * line:2 * line + 2]
            for row in pair:
                cells.append(f'<td class="no">{_e(row["number"])}</td><td>{_e(row["label"])}</td>'
                             f'<td class="value">{_e(row["text"])}</td>')
            if len(pair) == 1:
                cells.append("<td></td><td></td><td></td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    notes = [scope_note(data), *NOTES] + ([OFFICE_NOTE] if table.get("office") else [])
    out.extend(f'<p class="note">{_e(text)}</p>' for text in notes)
    out.append("</div>")
    return "".join(out)
