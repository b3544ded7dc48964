"""The dispatch table laid out as the annex's form (.xlsx, xlsxwriter).

Seven columns, as printed in the annex: the section (merged down its lines), then two
figures per line, each as number, label and value::

    A          B   C                         D      E   F                         G
    （一）总体情况 1   企业自查发现的重大事故隐患（个）  12     2   …已完成整改的（个）          7

A merged two-line title, the reporting unit and the date above; the annex's notes
below. A4 portrait, one page wide, centred. The workbook is the core's ``SafeWorkbook``:
every string cell (the tenant's name too) is neutralised there (RELIABILITY 17).
"""

from __future__ import annotations

from anjian_tianjin_hebei.dispatch import NOTES, date_cn

TITLE_LINES = ("河北区重大事故隐患专项排查整治", "2023行动进展情况调度表")
WIDTHS = {"A": 14, "B": 5, "C": 34, "D": 13, "E": 5, "F": 34, "G": 13}
LAST_COLUMN = 6  # G


def write(data: dict, workbook) -> None:
    """Lay out ``data`` (``dispatch.compute``'s JSON) on a new sheet of ``workbook``."""
    sheet = workbook.add_worksheet("调度表")
    base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter", "text_wrap": True}
    title = workbook.add_format({**base, "font_name": "方正小标宋简体", "font_size": 18,
                                 "bold": True, "align": "center"})
    plain_left = workbook.add_format({**base, "align": "left"})
    plain_right = workbook.add_format({**base, "align": "right"})
    section = workbook.add_format({**base, "bold": True, "align": "center", "border": 1})
    number = workbook.add_format({**base, "align": "center", "border": 1})
    label = workbook.add_format({**base, "align": "left", "border": 1})
    value = workbook.add_format({**base, "align": "center", "border": 1, "bold": True})
    money = workbook.add_format({**base, "align": "center", "border": 1, "bold": True,
                                 "num_format": "0.00####"})
    note = workbook.add_format({**base, "font_size": 10, "align": "left"})

    for letter, width in WIDTHS.items():
        sheet.set_column(f"{letter}:{letter}", width)

    sheet.set_row(0, 60)
    sheet.merge_range(0, 0, 0, LAST_COLUMN, "\n".join(TITLE_LINES), title)
    sheet.set_row(1, 24)
    sheet.merge_range(1, 0, 1, 3, f"{data['unit']}（单位）", plain_left)
    sheet.merge_range(1, 4, 1, LAST_COLUMN, f"时间：{date_cn(data['report_date'])}",
                      plain_right)

    row_index = 2
    for part in data["sections"]:
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
                _value(sheet, row_index + line, col + 2, row, value, money)
            if len(rows[2 * line:2 * line + 2]) == 1:  # the odd last item: an empty half
                for col in range(4, LAST_COLUMN + 1):
                    sheet.write_blank(row_index + line, col, None, number)
        row_index += lines

    sheet.merge_range(row_index, 0, row_index, LAST_COLUMN,
                      f"统计口径：自{date_cn(data['campaign']['starts_on'])}专项行动开展以来"
                      f"至{date_cn(data['week']['end'])}累计数据。", note)
    row_index += 1
    for text, height in zip(NOTES, (32, 78), strict=True):
        sheet.set_row(row_index, height)
        sheet.merge_range(row_index, 0, row_index, LAST_COLUMN, text, note)
        row_index += 1

    sheet.set_paper(9)  # A4
    sheet.set_portrait()
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.center_horizontally()
    sheet.fit_to_pages(1, 0)
    sheet.print_area(0, 0, row_index - 1, LAST_COLUMN)
    sheet.set_footer("&C第 &P 页，共 &N 页")
    sheet.hide_gridlines(2)


def _value(sheet, row: int, col: int, entry: dict, value_format, money_format) -> None:
    values = entry["values"]
    if len(values) != 1:
        sheet.write_string(row, col, entry["text"], value_format)
        return
    figure = values[0]["value"]
    if isinstance(figure, bool):
        sheet.write_string(row, col, "是" if figure else "否", value_format)
    elif values[0]["unit"] == "万元":
        sheet.write_number(row, col, figure, money_format)
    else:
        sheet.write_number(row, col, figure, value_format)
