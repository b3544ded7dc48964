"""The intake engine without a database: finding the table, mapping columns, the rows.

A small profile of its own (code, name, count, yes/no) so that each rule is seen alone;
the enterprise list's names and the corpus of real-shaped files are in
tests/test_intake_corpus.py."""

from __future__ import annotations

import io

import pytest
import xlsxwriter

from anjian.intake.cells import read_code, read_integer, read_text, read_yes_no
from anjian.intake.errors import ImportFileError
from anjian.intake.files import open_file
from anjian.intake.profile import Field, Profile
from anjian.intake.rows import Reading
from anjian.intake.table import locate

PROFILE = Profile("t", "测试名单", "things", (
    Field("code", "统一代码", read_code, ("代码", "编码"), required=True, remember=False),
    Field("name", "单位名称", read_text(50), ("名称", "企业名称"), required=True, remember=False),
    Field("count", "人数", read_integer, ("从业人数", "职工人数")),
    Field("phone", "负责人电话", read_code, ("主要负责人电话", "负责人联系电话")),
    Field("boss", "负责人", read_text(20), ("主要负责人", "主要负责人姓名")),
    Field("flag", "涉氨", read_yes_no, ("是否涉氨",)),
), "code", noun="单位")


def workbook(build) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    build(book)
    book.close()
    return buffer.getvalue()


def read(data: bytes, **kwargs):
    table = locate(open_file(data), PROFILE, **kwargs)
    reading = Reading(table, PROFILE, explain=True)
    rows = {c.row: c.values for c in reading.candidates()}
    return table, reading, rows


def titled(book):
    """A street office's list: blank rows and a blank column, a merged title, a notes
    row, a two-row header (a group over two columns; the rest merged down), a blank row
    in the table, a total, a note and a signature row."""
    ws = book.add_worksheet("名单")
    ws.merge_range("B2:G2", "附件1：2024年度涉氨单位名单")
    ws.write("B3", "填报单位：某镇安监办    填报日期：2024年3月5日")
    for col, header in zip("BCDE", ("序号", "统一代码", "单位名称", "人数（人）"), strict=True):
        ws.merge_range(f"{col}4:{col}5", header)
    ws.merge_range("F4:G4", "主要负责人")
    ws.write("F5", "姓名")
    ws.write("G5", "电话")
    ws.write_row("B6", [1, "A001", "甲厂", "39人", " 张三 ", 13800000001])
    ws.write_row("B7", [2, "A002", "乙厂\n分厂", "1,200", "李四", "13800000002"])
    ws.write_row("B9", [3, "A003", "丙厂", "很多", "王五", ""])
    ws.write_row("B10", [4, "A001", "甲厂重复", 5, "赵六", ""])
    ws.write_row("B11", ["合计", "", "", 1244])
    ws.write("B12", "注：人数含外包人员。")
    ws.write("B13", "填表人：张某    审核人：李某")


def test_the_table_is_found_below_titles_with_a_merged_two_row_header():
    table, reading, rows = read(workbook(titled))
    assert (table.sheet, table.header_rows) == ("名单", [4, 5])
    assert [(c.letter, c.header, c.field) for c in table.columns] == [
        ("C", "统一代码", "code"), ("D", "单位名称", "name"), ("E", "人数（人）", "count"),
        ("F", "主要负责人/姓名", "boss"), ("G", "主要负责人/电话", "phone")]
    assert [(c.letter, c.how) for c in table.ignored] == [("B", "序号列")]
    assert table.unmapped == []
    assert rows == {
        6: {"code": "A001", "name": "甲厂", "count": 39, "boss": "张三", "phone": "13800000001"},
        7: {"code": "A002", "name": "乙厂分厂", "count": 1200, "boss": "李四", "phone": "13800000002"}}
    summary = reading.summary()
    assert (summary["total"], summary["blank_rows"], summary["rejected"]) == (4, 1, 2)
    assert [(s["row"], s["reason"].split("：")[0]) for s in summary["skipped"]] == [
        (11, "合计行"), (12, "说明行"), (13, "落款行")]
    assert [(r["row"], r["column"]) for r in summary["rejections"]] == [(9, "人数（人）"), (10, "统一代码")]
    assert "须为整数" in summary["rejections"][0]["message"]
    assert summary["rejections"][1]["message"] == "统一代码与第6行重复（已导入第6行）"
    conversions = {c["field"]: c for c in summary["conversions"]}
    assert conversions["count"]["count"] == 2
    assert conversions["count"]["examples"] == [{"from": "39人", "to": "39"}, {"from": "1,200", "to": "1200"}]
    assert summary["preview"][0] == {"row": 6, "values": {"code": "A001", "name": "甲厂", "count": "39",
                                                           "boss": "张三", "phone": "13800000001"}}


def test_the_first_valid_row_of_a_key_is_imported_even_after_an_invalid_one():
    def build(book):
        ws = book.add_worksheet()
        ws.write_row(0, 0, ["统一代码", "单位名称", "人数"])
        ws.write_row(1, 0, ["B1", "", 3])  # invalid: no name
        ws.write_row(2, 0, ["B1", "乙", 4])
        ws.write_row(3, 0, ["B1", "丙", 5])
    _table, reading, rows = read(workbook(build))
    assert rows == {3: {"code": "B1", "name": "乙", "count": 4}}
    assert [(r.row, r.message) for r in reading.rejections] == [
        (2, "单位名称：不能为空"), (4, "统一代码与第3行重复（已导入第3行）")]


def test_the_sheet_holding_the_table_is_chosen_unless_one_is_named():
    def build(book):
        notes = book.add_worksheet("填表说明")
        notes.write("A1", "一、请按单位名称填写。")
        notes.write("A2", "二、人数填写在岗职工数。")
        first = book.add_worksheet("一季度")
        first.write_row(0, 0, ["代码", "名称", "职工人数"])
        first.write_row(1, 0, ["Q1", "一季度厂", 1])
        second = book.add_worksheet("二季度")
        second.write_row(0, 0, ["统一代码", "单位名称", "人数", "是否涉氨"])
        second.write_row(1, 0, ["Q2", "二季度厂", 2, "√"])
    data = workbook(build)
    table, _reading, rows = read(data)
    assert table.sheet == "二季度" and rows == {2: {"code": "Q2", "name": "二季度厂", "count": 2, "flag": True}}
    table, _reading, rows = read(data, sheet="一季度")
    assert table.sheet == "一季度" and rows == {2: {"code": "Q1", "name": "一季度厂", "count": 1}}
    with pytest.raises(ImportFileError) as err:
        read(data, sheet="三季度")
    assert "没有名为「三季度」的工作表" in err.value.message and "「一季度」" in err.value.message
    with pytest.raises(ImportFileError) as err:
        read(data, sheet="填表说明")
    assert "未找到单位名单的表头" in err.value.message


def test_unknown_columns_are_announced_with_suggestions_and_mapped_when_told():
    def build(book):
        ws = book.add_worksheet()
        ws.write_row(0, 0, ["统一代码", "单位名字", "从业人员总数量", "备注", "*人数(必填)"])
        ws.write_row(1, 0, ["C1", "丙厂", 7, "无", "8人"])
    data = workbook(build)
    with pytest.raises(ImportFileError) as err:  # the required name is not among the names
        locate(open_file(data), PROFILE)
    assert "缺少必需的列：单位名称" in err.value.message
    plan = err.value.members["plan"]
    assert [c["field"] for c in plan["columns"]] == ["code", "count"]  # the decorated 人数
    unmapped = {c["header"]: c for c in plan["unmapped"]}
    assert set(unmapped) == {"单位名字", "从业人员总数量", "备注"}
    assert unmapped["单位名字"]["suggestions"][0] == {"field": "name", "label": "单位名称"}
    assert "suggestions" not in unmapped["备注"]

    table, _reading, rows = read(data, mapping={"单位名字": "单位名称", "C": "ignore", "备注": "忽略"})
    assert rows == {2: {"code": "C1", "name": "丙厂", "count": 8}}
    assert [(c.header, c.how) for c in table.ignored] == [("从业人员总数量", "按映射忽略"), ("备注", "按映射忽略")]
    assert table.unmapped == []
    for mapping, message in (({"单位名字": "名字"}, "映射中的字段「名字」不存在"),
                             ({"不存在的列": "name"}, "映射中的列「不存在的列」不在表头中"),
                             ({"单位名字": "name", "*人数(必填)": "name"}, "对应了不止一列")):
        with pytest.raises(ImportFileError) as err:
            locate(open_file(data), PROFILE, mapping=mapping)
        assert message in err.value.message


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_in_every_encoding_with_a_title_line_and_a_two_row_header(encoding):
    """A CSV records no merged cells: an empty group cell takes the group on its left."""
    text = ("附件：2024年名单,,,,\n"
            "统一代码,单位名称,主要负责人,,是否涉氨\n"
            ",,姓名,电话,\n"
            "D1,丁厂,赵六,0512-1234567,有\n"
            "D2,戊厂,钱七,,无\n"
            "合计,2家,,,\n")
    table, reading, rows = read(text.encode(encoding))
    assert (table.sheet, table.header_rows) == (None, [2, 3])
    assert [c.header for c in table.columns] == [
        "统一代码", "单位名称", "主要负责人/姓名", "主要负责人/电话", "是否涉氨"]
    assert rows == {4: {"code": "D1", "name": "丁厂", "boss": "赵六", "phone": "0512-1234567", "flag": True},
                    5: {"code": "D2", "name": "戊厂", "boss": "钱七", "flag": False}}
    assert [s["row"] for s in reading.skipped] == [6]


@pytest.mark.parametrize(("data", "status", "message"), [
    (b"", 422, "文件为空"),
    (b"PK\x03\x04garbage", 415, "另存为"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, 415, "另存为"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", 415, "另存为"),
    ("\u00ff\u00fe".encode("latin-1") + b"\x00\xd8", 415, "编码"),
])
def test_files_that_are_not_lists_are_refused_with_what_to_do(data, status, message):
    with pytest.raises(ImportFileError) as err:
        locate(open_file(data), PROFILE)
    assert err.value.status == status and message in err.value.message


def test_a_column_with_data_but_no_header_is_announced_and_taken_by_its_letter():
    def build(book):
        ws = book.add_worksheet()
        ws.write_row(0, 0, ["统一代码", "单位名称", None, "人数"])
        ws.write_row(1, 0, ["E1", "己厂", "己厂的备注", 3])
        ws.write_row(2, 0, ["填表人：张某", None, None, None, "审核人：李某"])  # no column of data
    data = workbook(build)
    table = locate(open_file(data), PROFILE)
    assert [(c.letter, c.header) for c in table.unmapped] == [("C", "（无表头）")]
    table, _reading, rows = read(data, mapping={"C": "ignore"})
    assert table.unmapped == [] and rows == {2: {"code": "E1", "name": "己厂", "count": 3}}


def test_every_trailer_marker_starts_with_a_character_looked_at():
    from anjian.intake.trailers import TRAILER_STARTS, TRAILERS

    starts = {alternative.lstrip("^(")[0] for _reason, pattern in TRAILERS
              for alternative in pattern.pattern.split("|") if alternative.lstrip("^(")[:1].strip()}
    assert starts <= TRAILER_STARTS
