"""The workbooks an import gives back: the blank template and the rejected rows."""

from __future__ import annotations

import io

from anjian.enterprises.importing.profiles import EXTRA_PREFIX, REQUIRED
from anjian.enterprises.models import FLAGS, INDUSTRIES, SCALES, STATUSES
from anjian.intake.cells import cell_text
from anjian.intake.profile import Profile
from anjian.intake.rows import Rejection
from anjian.xlsx import SafeWorkbook


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
            ws.write_string(r, 3 + c, cell_text(value))
    ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def template_workbook(profile: Profile) -> bytes:
    """The blank import template: bold header, widths, drop-down lists for yes/no and scale."""
    headers = [f.label for f in profile.fields]
    fields = [f.name for f in profile.fields]
    choices = {f.name: list(f.choices) for f in profile.fields if f.choices}
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
        elif name in choices:  # a plugin field's values
            ws.data_validation(1, c, last, c, {"validate": "list", "source": choices[name]})
        elif name in ("employees", "safety_managers", "special_workers"):
            ws.data_validation(1, c, last, c, {"validate": "integer", "criteria": ">=",
                                               "value": 0, "error_message": "须为 0 或正整数"})
    ws.freeze_panes(1, 0)
    notes = book.add_worksheet("填写说明")
    lines = [
        "统一社会信用代码、企业名称为必填项；按统一社会信用代码新增或更新企业。",
        "空白单元格表示不修改已有的值（新增企业取默认值）。",
        "是/否列可填：是、否、有、无、√、×、Y、N、1、0。规模可填：规上、规下、小微。",
        "人数可带单位或千分位，如 39人、1,200。",
        "所属区域填区域代码或名称（见系统“区域”列表）。",
        "同一文件内统一社会信用代码重复的，导入第一条有效的行，其后的行不导入并说明原因。",
        "也可直接上传本单位自己的名单：标题行、合并表头、序号列、合计行都能识别，"
        "列名不同的可在导入时指定对应关系。",
    ]
    extra = [f.label for f in profile.fields if f.name.startswith(EXTRA_PREFIX)]
    if extra:
        lines.append(f"{'、'.join(extra)}：本单位启用的插件的扩展字段，空白不修改已有的值。")
    notes.set_column(0, 0, 90)
    for r, line in enumerate(lines):
        notes.write_string(r, 0, line)
    book.close()
    return buffer.getvalue()
