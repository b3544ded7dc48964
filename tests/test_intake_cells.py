"""anjian.intake.cells: one spreadsheet cell read as people type it. Pure functions, no
database: no test here uses the app or client fixtures.

Every expected value below is written by hand."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from anjian.intake.cells import (
    COUNT_WORDS,
    MEASURE_WORDS,
    NO,
    PLACEHOLDERS,
    YES,
    CellError,
    cell_text,
    halfwidth,
    is_blank,
    read_code,
    read_date,
    read_integer,
    read_number,
    read_phone,
    read_text,
    read_yes_no,
)

NOT_A_DATE = "须为日期（如 2022-06-01 或 2022年6月1日），而不是「{}」"
YES_NO_REASON = "须为 是/否（也可填 有/无、√/×、Y/N、1/0）"


def refused(read, value, **kwargs) -> str:
    with pytest.raises(CellError) as caught:
        read(value, **kwargs)
    assert str(caught.value) == caught.value.message
    return caught.value.message


# --- CellError, blanks ---------------------------------------------------------------------

def test_cell_error_carries_its_message():
    error = CellError("不能为空")
    assert error.message == "不能为空"
    assert str(error) == "不能为空"
    assert isinstance(error, Exception)


@pytest.mark.parametrize("value", [
    None, "", " ", "   ", "\t", "\n", "\r\n", "\u3000", "\u00a0", " \u3000\u00a0\t\n ", "\u200b",
    "/", "／", "\\", "＼", "、", "-", "－", "--", "—", "——", "…", "……", " / ", "\u3000—\u3000",
])
def test_blank(value):
    assert is_blank(value) is True


@pytest.mark.parametrize("value", [
    "无", "否", "0", "N", "a", "/a", "-5", "——1", 0, 0.0, 12, 1.5, False, True,
    dt.date(2022, 6, 1), dt.datetime(2022, 6, 1), dt.time(0), dt.timedelta(0),
])
def test_not_blank(value):
    assert is_blank(value) is False


def test_placeholders_leave_no_and_zero_alone():
    assert "无" not in PLACEHOLDERS
    assert "0" not in PLACEHOLDERS
    assert {"/", "／", "-", "－", "—", "——", "--", "\\", "、"} <= PLACEHOLDERS


# --- cell_text -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("常熟市", "常熟市"),
    ("  常熟市  ", "常熟市"),
    ("\u3000常熟市\u00a0", "常熟市"),
    ("常熟市某某\n机械有限公司", "常熟市某某机械有限公司"),
    ("常熟市某某\r\n机械有限公司", "常熟市某某机械有限公司"),
    ("常熟市某某 \n  机械有限公司", "常熟市某某机械有限公司"),
    ("张\u3000三", "张三"),
    ("张 三", "张三"),
    ("常 熟 市", "常熟市"),
    ("常熟市（某某）\n机械有限公司", "常熟市（某某）机械有限公司"),
    # Not between two CJK characters: one space.
    ("常熟市XX\n机械有限公司", "常熟市XX 机械有限公司"),
    ("ABC  Co.,\nLtd", "ABC Co., Ltd"),
    ("a\tb", "a b"),
    ("a\u00a0\u00a0b", "a b"),
    ("a\u3000b", "a b"),
    ("39 人", "39 人"),
    ("2022 年 6 月 1 日", "2022 年 6 月 1 日"),
    ("主要产品：\n1、轴承\n2、齿轮", "主要产品： 1、轴承 2、齿轮"),
    ("ＡＢＣ\u3000ＤＥＦ", "ＡＢＣ ＤＥＦ"),
    ("\u200b常熟\u200b市\ufeff", "常熟市"),
    ("😀 ok", "😀 ok"),
    (12.0, "12"),
    (-3.0, "-3"),
    (13800000000.0, "13800000000"),
    (12.5, "12.5"),
    (12, "12"),
    (True, "是"),
    (False, "否"),
    (dt.date(2022, 6, 1), "2022-06-01"),
    (dt.datetime(2022, 6, 1), "2022-06-01"),
    (dt.datetime(2022, 6, 1, 8, 30), "2022-06-01T08:30:00"),
    (dt.time(8, 30), "08:30:00"),
    (None, ""),
    ("", ""),
])
def test_cell_text(value, expected):
    assert cell_text(value) == expected


def test_cell_text_fast_path_returns_clean_strings_as_they_are():
    text = "常熟市某某机械有限公司"
    assert cell_text(text) is text


# --- halfwidth -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("０１２３４５６７８９", "0123456789"),
    ("ＡＢＣＸＹＺａｂｃｘｙｚ", "ABCXYZabcxyz"),
    ("（），：．／－＋％", "(),:./-+%"),
    ("１\u3000２", "1 2"),
    ("２０２２年６月１日", "2022年6月1日"),
    ("常熟市、某某。「公司」", "常熟市、某某。「公司」"),
    ("㎡", "㎡"),
    ("￥１２", "¥12"),
    ("plain ascii", "plain ascii"),
    ("", ""),
])
def test_halfwidth(text, expected):
    assert halfwidth(text) == expected


# --- read_text -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("常熟市某某\n机械有限公司", "常熟市某某机械有限公司"),
    ("12345", "12345"),
    (12.0, "12"),
    (None, ""),
    ("", ""),
])
def test_read_text(value, expected):
    assert read_text(20)(value) == expected


def test_read_text_refuses_too_long():
    assert refused(read_text(5), "123456") == "超过 5 个字符"
    assert refused(read_text(200), "字" * 201) == "超过 200 个字符"


# --- read_code -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (13800000000.0, "13800000000"),
    (320581.0, "320581"),
    (320581, "320581"),
    ("91320581MA1234567X", "91320581MA1234567X"),
    ("91320581ma1234567x", "91320581MA1234567X"),
    ("９１３２０５８１ＭＡ１２３４５６７Ｘ", "91320581MA1234567X"),
    (" 9132 0581 MA12 3456 7X ", "91320581MA1234567X"),
    ("c3011", "C3011"),
    ("320581\u3000199001011234", "320581199001011234"),
    ("苏安许证字〔2022〕001号", "苏安许证字〔2022〕001号"),
])
def test_read_code(value, expected):
    assert read_code(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    (None, "不能为空"),
    ("", "不能为空"),
    ("/", "不能为空"),
    ("9.13206E+17", "「9.13206E+17」是科学计数法，位数已丢失：请把该列设为文本格式后重新填写"),
    ("3.20581e+17", "「3.20581e+17」是科学计数法，位数已丢失：请把该列设为文本格式后重新填写"),
    (3.20581199001011e17,
     "超过 15 位的数字已被 Excel 改动（「320581199001011008」）：请把该列设为文本格式后重新填写"),
    (float("nan"), "须为文本，而不是「nan」"),
])
def test_read_code_refuses(value, message):
    assert refused(read_code, value) == message


# --- read_phone ----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (13800000000.0, "13800000000"),
    ("13800000000", "13800000000"),
    ("0512-52345678", "0512-52345678"),
    ("(0512)52345678", "(0512)52345678"),
    ("（０５１２）５２３４５６７８", "(0512)52345678"),
    ("０５１２－５２３４５６７８", "0512-52345678"),
    ("+86 138 0000 0000", "+86 138 0000 0000"),
    ("0512-52345678转8001", "0512-52345678转8001"),
    ("0512-52345678 转 8001", "0512-52345678 转 8001"),
    ("13800000000/13900000000", "13800000000/13900000000"),
    ("13800000000、13900000000", "13800000000、13900000000"),
    ("13800000000，13900000000", "13800000000,13900000000"),
    ("13800000000, 13900000000", "13800000000, 13900000000"),
    ("13800000000；13900000000", "13800000000;13900000000"),
    ("0512-52345678转8001、13800000000", "0512-52345678转8001、13800000000"),
])
def test_read_phone(value, expected):
    assert read_phone(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("微信同号", "电话号码格式错误，而不是「微信同号」"),
    ("138 0000 0000（微信同号）", "电话号码格式错误，而不是「138 0000 0000（微信同号）」"),
    ("手机：13800000000", "电话号码格式错误，而不是「手机：13800000000」"),
    ("转8001", "电话号码格式错误，而不是「转8001」"),
    ("13800000000/", "电话号码格式错误，而不是「13800000000/」"),
    ("13800000000//13900000000", "电话号码格式错误，而不是「13800000000//13900000000」"),
    ("---", "不能为空"),
    ("()", "电话号码格式错误，而不是「()」"),
    ("138.5", "电话号码格式错误，而不是「138.5」"),
    (138.5, "电话号码格式错误，而不是「138.5」"),
    ("1" * 41, "超过 40 个字符"),
    (None, "不能为空"),
    ("/", "不能为空"),
])
def test_read_phone_refuses(value, message):
    assert refused(read_phone, value) == message


def test_read_phone_takes_forty_characters():
    assert read_phone("1" * 40) == "1" * 40


# --- read_integer --------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (39, 39),
    (39.0, 39),
    ("39", 39),
    ("39人", 39),
    ("39 人", 39),
    ("39\u3000人", 39),
    ("1,200", 1200),
    ("1，200", 1200),
    ("1,000,000", 1_000_000),
    ("１２", 12),
    ("１２人", 12),
    ("3家", 3),
    ("12名", 12),
    ("5个人", 5),
    ("8台", 8),
    ("2起", 2),
    ("1.2万", 12000),
    ("1.5万人", 15000),
    ("1.55万", 15500),
    ("1.5 万人", 15000),
    ("3千", 3000),
    ("+5", 5),
    ("＋5", 5),
    ("0", 0),
    ("0039", 39),
    ("39.0", 39),
    ("39.00人", 39),
    (0.0, 0),
    (1_000_000, 1_000_000),
])
def test_read_integer(value, expected):
    assert read_integer(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("1.5", "须为整数，而不是「1.5」"),
    ("1.5人", "须为整数，而不是「1.5人」"),
    ("1.55555万", "须为整数，而不是「1.55555万」"),
    (39.5, "须为整数，而不是「39.5」"),
    ("三十九", "须为整数，而不是「三十九」"),
    ("约39人", "须为整数，而不是「约39人」"),
    ("39人左右", "须为整数，而不是「39人左右」"),
    ("39元", "须为整数，而不是「39元」"),
    ("39吨", "须为整数，而不是「39吨」"),
    ("15%", "须为整数，而不是「15%」"),
    ("1,2", "须为整数，而不是「1,2」"),
    ("12,00", "须为整数，而不是「12,00」"),
    ("1e3", "须为整数，而不是「1e3」"),
    ("人", "须为整数，而不是「人」"),
    ("万", "须为整数，而不是「万」"),
    (True, "须为整数，而不是「是」"),
    (False, "须为整数，而不是「否」"),
    (float("nan"), "须为整数，而不是「nan」"),
    (float("inf"), "须为整数，而不是「inf」"),
    (dt.date(2022, 6, 1), "须为整数，而不是「2022-06-01」"),
    ("-5", "须在 0 到 1000000 之间，而不是 -5"),
    (-1.0, "须在 0 到 1000000 之间，而不是 -1"),
    (1_000_001, "须在 0 到 1000000 之间，而不是 1000001"),
    ("120万", "须在 0 到 1000000 之间，而不是 1200000"),
    (None, "不能为空"),
    ("", "不能为空"),
    ("-", "不能为空"),
    ("/", "不能为空"),
])
def test_read_integer_refuses(value, message):
    assert refused(read_integer, value) == message


def test_read_integer_bounds():
    assert read_integer("-5", minimum=-10, maximum=10) == -5
    assert read_integer("10", minimum=1, maximum=10) == 10
    assert refused(read_integer, "11", minimum=1, maximum=10) == "须在 1 到 10 之间，而不是 11"
    assert refused(read_integer, 0, minimum=1, maximum=10) == "须在 1 到 10 之间，而不是 0"


def test_count_words():
    assert {"人", "名", "个", "家", "台", "套", "处", "项", "次", "辆", "座", "间", "户", "件",
            "张", "条", "位", "只", "栋", "个人"} <= COUNT_WORDS
    assert not {"元", "万元", "吨", "%", "年", "月"} & COUNT_WORDS


# --- read_number ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "expected", "shown"), [
    ("1,200.50", None, Decimal("1200.50"), "1200.50"),
    ("1，200．50", None, Decimal("1200.50"), "1200.50"),
    ("1200", None, Decimal("1200"), "1200"),
    ("1.5", None, Decimal("1.5"), "1.5"),
    (".5", None, Decimal("0.5"), "0.5"),
    ("-2.5", None, Decimal("-2.5"), "-2.5"),
    (12.0, None, Decimal("12"), "12"),
    (0.1, None, Decimal("0.1"), "0.1"),
    (12, None, Decimal("12"), "12"),
    ("1.2万", None, Decimal("12000"), "12000"),
    ("3千", None, Decimal("3000"), "3000"),
    ("2亿", None, Decimal("200000000"), "200000000"),
    ("1千万", None, Decimal("10000000"), "10000000"),
    ("15%", None, Decimal("15"), "15"),
    ("15％", None, Decimal("15"), "15"),
    ("12.5 %", None, Decimal("12.5"), "12.5"),
    ("39人", None, Decimal("39"), "39"),
    ("20吨", None, Decimal("20"), "20"),
    ("1.2万平方米", None, Decimal("12000"), "12000"),
    ("350平米", None, Decimal("350"), "350"),
    ("350㎡", None, Decimal("350"), "350"),
    ("350m2", None, Decimal("350"), "350"),
    ("350M2", None, Decimal("350"), "350"),
    ("350 m²", None, Decimal("350"), "350"),
    ("12米", None, Decimal("12"), "12"),
    ("30公斤", None, Decimal("30"), "30"),
    ("30千克", None, Decimal("30"), "30"),
    ("30kg", None, Decimal("30"), "30"),
    ("30KG", None, Decimal("30"), "30"),
    ("5立方米", None, Decimal("5"), "5"),
    ("5m3", None, Decimal("5"), "5"),
    # Money, stored in 元.
    ("1.5万元", "元", Decimal("15000"), "15000"),
    ("1.5万", "元", Decimal("15000"), "15000"),
    ("15000元", "元", Decimal("15000"), "15000"),
    ("15000", "元", Decimal("15000"), "15000"),
    ("1,200.50元", "元", Decimal("1200.5"), "1200.5"),
    ("2亿元", "元", Decimal("200000000"), "200000000"),
    ("3千元", "元", Decimal("3000"), "3000"),
    ("¥1,200", "元", Decimal("1200"), "1200"),
    ("￥1,200元", "元", Decimal("1200"), "1200"),
    (1200.5, "元", Decimal("1200.5"), "1200.5"),
    # Money, stored in 万元.
    ("1.5万元", "万元", Decimal("1.5"), "1.5"),
    ("1.5", "万元", Decimal("1.5"), "1.5"),
    ("15000元", "万元", Decimal("1.5"), "1.5"),
    ("1.5万", "万元", Decimal("1.5"), "1.5"),
    ("2亿元", "万元", Decimal("20000"), "20000"),
    ("1.5 万 元", "万元", Decimal("1.5"), "1.5"),
    ("１．５万元", "万元", Decimal("1.5"), "1.5"),
    (300.0, "万元", Decimal("300"), "300"),
])
def test_read_number(value, unit, expected, shown):
    number = read_number(value, unit=unit)
    assert isinstance(number, Decimal)
    assert number == expected
    assert str(number) == shown


@pytest.mark.parametrize(("value", "unit", "message"), [
    ("abc", None, "须为数字，而不是「abc」"),
    ("1.2.3", None, "须为数字，而不是「1.2.3」"),
    ("1,2", None, "须为数字，而不是「1,2」"),
    ("约12", None, "须为数字，而不是「约12」"),
    ("12个月", None, "须为数字，而不是「12个月」"),
    ("1e309", None, "须为数字，而不是「1e309」"),
    ("∞", None, "须为数字，而不是「∞」"),
    ("15元", None, "须为数字，而不是「15元」"),
    ("1.5万元", None, "须为数字，而不是「1.5万元」"),
    ("15吨", "元", "须为数字，而不是「15吨」"),
    ("15%", "元", "须为数字，而不是「15%」"),
    ("15美元", "元", "须为数字，而不是「15美元」"),
    (True, None, "须为数字，而不是「是」"),
    (float("nan"), None, "须为数字，而不是「nan」"),
    (float("-inf"), None, "须为数字，而不是「-inf」"),
    (dt.date(2022, 6, 1), None, "须为数字，而不是「2022-06-01」"),
    (None, None, "不能为空"),
    ("——", "元", "不能为空"),
])
def test_read_number_refuses(value, unit, message):
    assert refused(read_number, value, unit=unit) == message


def test_read_number_bounds():
    assert read_number("15%", minimum=0, maximum=100) == Decimal("15")
    assert refused(read_number, "150%", minimum=0, maximum=100) == "须在 0 到 100 之间，而不是 150"
    assert refused(read_number, "-1.5", minimum=0) == "须不小于 0，而不是 -1.5"
    assert refused(read_number, "2亿", maximum=1000) == "须不大于 1000，而不是 200000000"
    assert read_number("-1.5", maximum=0) == Decimal("-1.5")


def test_read_number_refuses_an_unknown_unit_as_a_programming_error():
    with pytest.raises(ValueError, match="unknown unit"):
        read_number("1", unit="吨")


def test_measure_words():
    assert {"吨", "平方米", "㎡", "m2", "米", "公斤", "千克", "kg", "立方米", "m3", "%"} <= MEASURE_WORDS
    assert COUNT_WORDS <= MEASURE_WORDS
    assert "元" not in MEASURE_WORDS


# --- read_yes_no ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), (1, True), (0, False), (1.0, True), (0.0, False),
    ("是", True), ("否", False), ("有", True), ("无", False), ("是的", True), ("不是", False),
    ("对", True), ("错", False), ("涉及", True), ("不涉及", False), ("属于", True), ("不属于", False),
    ("没有", False),
    ("√", True), ("×", False), ("✓", True), ("✗", False), ("✔", True), ("✘", False),
    ("✔️", True), ("✅", True), ("❌", False), ("☑", True), ("☒", False),
    ("Y", True), ("N", False), ("y", True), ("n", False), ("Yes", True), ("NO", False),
    ("TRUE", True), ("false", False), ("T", True), ("F", False), ("1", True), ("0", False),
    ("X", False), ("x", False), ("Ｙ", True), ("ｎｏ", False), ("１", True), ("０", False),
    ("\u3000是 ", True), (" 无\n", False),
])
def test_read_yes_no(value, expected):
    assert read_yes_no(value) is expected


@pytest.mark.parametrize("value", [
    "在", "不在", "已", "未", "是否", "是（已整改）", "2", 2, 0.5, -1, "yes!", "有无",
    dt.date(2022, 6, 1), float("nan"),
])
def test_read_yes_no_refuses(value):
    assert refused(read_yes_no, value) == YES_NO_REASON


@pytest.mark.parametrize("value", [None, "", "/", "—"])
def test_read_yes_no_refuses_blank(value):
    assert refused(read_yes_no, value) == "不能为空"


def test_yes_and_no_do_not_overlap():
    assert not YES & NO
    assert {"是", "有", "√", "y", "1"} <= YES
    assert {"否", "无", "×", "n", "0"} <= NO


# --- read_date -----------------------------------------------------------------------------

JUNE_1 = dt.date(2022, 6, 1)


@pytest.mark.parametrize(("value", "expected"), [
    (JUNE_1, JUNE_1),
    (dt.datetime(2022, 6, 1), JUNE_1),
    (dt.datetime(2022, 6, 1, 23, 59), JUNE_1),
    # Excel serials.
    (44713, JUNE_1),
    (44713.0, JUNE_1),
    (44713.75, JUNE_1),
    ("44713", JUNE_1),
    ("４４７１３", JUNE_1),
    (1, dt.date(1899, 12, 31)),
    (2, dt.date(1900, 1, 1)),
    (61, dt.date(1900, 3, 1)),
    (73415, dt.date(2100, 12, 31)),
    # A date typed without separators into a number cell.
    (20220601.0, JUNE_1),
    (20220601, JUNE_1),
    # Texts.
    ("2022年6月1日", JUNE_1),
    ("2022年06月01日", JUNE_1),
    ("2022 年 6 月 1 日", JUNE_1),
    ("2022年6月1号", JUNE_1),
    ("2022年6月1", JUNE_1),
    ("２０２２年６月１日", JUNE_1),
    ("２０２２－０６－０１", JUNE_1),
    ("2022.6.1", JUNE_1),
    ("2022.06.01", JUNE_1),
    ("2022/6/1", JUNE_1),
    ("2022-6-1", JUNE_1),
    ("2022-06-01", JUNE_1),
    ("2022 - 06 - 01", JUNE_1),
    ("2022-06-01 00:00:00", JUNE_1),
    ("2022-06-01 08:30", JUNE_1),
    ("2022-06-01T08:30", JUNE_1),
    ("2022-06-01T08:30:00.000+08:00", JUNE_1),
    ("2022/6/1 8:30", JUNE_1),
    ("2022年6月1日 08:30", JUNE_1),
    ("20220601", JUNE_1),
    (" 2022-06-01\n", JUNE_1),
    ("2024-02-29", dt.date(2024, 2, 29)),
    ("1900-01-01", dt.date(1900, 1, 1)),
    ("2100-12-31", dt.date(2100, 12, 31)),
])
def test_read_date(value, expected):
    assert read_date(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("2022-02-30", "日期无效：「2022-02-30」"),
    ("2023年2月29日", "日期无效：「2023年2月29日」"),
    ("2022-13-01", "日期无效：「2022-13-01」"),
    ("2022.6.31", "日期无效：「2022.6.31」"),
    ("2022-06-00", "日期无效：「2022-06-00」"),
    ("20221301", "日期无效：「20221301」"),
    (20220230.0, "日期无效：「20220230」"),
    ("1899-12-31", "日期无效：「1899-12-31」"),
    ("2101-01-01", "日期无效：「2101-01-01」"),
    ("9999-99-99", "日期无效：「9999-99-99」"),
    ("2022年6月", NOT_A_DATE.format("2022年6月")),
    ("2022-06", NOT_A_DATE.format("2022-06")),
    ("2022.06", NOT_A_DATE.format("2022.06")),
    ("2022", NOT_A_DATE.format("2022")),
    ("2022.6/1", NOT_A_DATE.format("2022.6/1")),
    ("22.6.1", NOT_A_DATE.format("22.6.1")),
    ("6/1/2022", NOT_A_DATE.format("6/1/2022")),
    ("二〇二二年六月一日", NOT_A_DATE.format("二〇二二年六月一日")),
    ("明天", NOT_A_DATE.format("明天")),
    ("0", NOT_A_DATE.format("0")),
    (0, NOT_A_DATE.format("0")),
    (0.5, NOT_A_DATE.format("0.5")),
    (-1.0, NOT_A_DATE.format("-1")),
    (73416, NOT_A_DATE.format("73416")),
    (2958465, NOT_A_DATE.format("2958465")),
    ("99999", NOT_A_DATE.format("99999")),
    (float("inf"), NOT_A_DATE.format("inf")),
    (float("nan"), NOT_A_DATE.format("nan")),
    (True, NOT_A_DATE.format("是")),
    (dt.time(8, 30), NOT_A_DATE.format("08:30:00")),
    (dt.timedelta(days=1), NOT_A_DATE.format("1 day, 0:00:00")),
    (None, "不能为空"),
    ("", "不能为空"),
    ("/", "不能为空"),
])
def test_read_date_refuses(value, message):
    assert refused(read_date, value) == message


# --- nothing but CellError -----------------------------------------------------------------

ODD_VALUES = [
    None, "", " ", "\u3000\u00a0\u200b\ufeff", " \n\t \u3000 \n ", "a\n\n\t\u3000b", "常\n\u3000\t熟",
    "😀", "😀人", "👍🏽", "✔️", "∞", "-∞", "NaN", "nan", "inf", "1e309", "-1e309", "1e-400",
    "9" * 5000, "9" * 30 + "人", "9" * 24 + "万", "1" + "0" * 40 + "亿元", "0." + "0" * 50 + "1",
    "1万万", "万元", "千克", "%", "1%%", ",", ".", "..", "+", "-", "−5", "+-5", "1,,000", "1.", "١٢٣",
    "²", "½", "Ⅻ", "①", "\x00", "\x00123", "1\x002", "\ud800", "﷽", "𠀀𠀀", "ｶﾀｶﾅ", "'0123",
    "=1+1", "#N/A", "#VALUE!", "2022-06-01T25:99", "0000-00-00", "2022年13月32日", "9999年1月1日",
    "2022/06/01/01", "44713.5", "00000", "4471３", "转", "()", "+", "转转", "1" * 40, "1转" * 30,
    0, 1, -1, 2**63, -(2**63), 10**5000, -(10**5000), 0.0, -0.0, 5e-324, 1e308, -1e308, 1.7976931348623157e308,
    float("nan"), float("inf"), float("-inf"), 0.1, 44713.999999, 1e15, 1e16, 123456789012345.0,
    True, False,
    dt.date.min, dt.date.max, dt.datetime.min, dt.datetime.max, dt.datetime(2022, 6, 1, tzinfo=dt.UTC),
    dt.time(0), dt.time(23, 59, 59, 999999), dt.timedelta(0), dt.timedelta(days=-1),
    dt.timedelta(days=999999999), dt.timedelta(microseconds=1),
]

READERS = {
    "read_text": read_text(40),
    "read_code": read_code,
    "read_phone": read_phone,
    "read_integer": read_integer,
    "read_integer_wide": lambda v: read_integer(v, minimum=-(10**9), maximum=10**9),
    "read_number": read_number,
    "read_number_yuan": lambda v: read_number(v, unit="元"),
    "read_number_wan": lambda v: read_number(v, unit="万元", minimum=0, maximum=10**6),
    "read_yes_no": read_yes_no,
    "read_date": read_date,
}


def only_cell_errors(read, value) -> None:
    try:
        read(value)
    except CellError as error:
        assert isinstance(error.message, str)
        assert error.message


@pytest.mark.parametrize("reader", sorted(READERS))
def test_odd_values_raise_nothing_but_cell_error(reader):
    for value in ODD_VALUES:
        only_cell_errors(READERS[reader], value)


def test_odd_values_as_text_and_blank_raise_nothing():
    for value in ODD_VALUES:
        assert isinstance(cell_text(value), str)
        assert is_blank(value) in (True, False)
        if isinstance(value, str):
            assert isinstance(halfwidth(value), str)


# Pieces people put in cells, shuffled together: no reader may raise anything but CellError.
PIECES = [
    "0", "1", "9", "12", "2022", "06", "44713", ".", ",", "，", "．", "-", "－", "/", "／", "+", " ",
    "\u3000", "\n", "\u00a0", "年", "月", "日", "号", "万", "千", "亿", "元", "人", "%", "㎡", "m2",
    "转", "、", "(", "（", ")", "E+", "e", "T", ":", "是", "否", "√", "×", "Y", "N", "１", "２",
    "∞", "😀", "\u200b", "¥", "−", "—", "个人", "平方米",
]


def test_shuffled_pieces_raise_nothing_but_cell_error():
    rng = random.Random(20220601)
    for _ in range(3000):
        value = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8)))
        for read in READERS.values():
            only_cell_errors(read, value)
