"""One spreadsheet cell, read as people type it: converted to what a registry stores, or
refused with a Chinese reason (``CellError``). Pure functions of the cell, stdlib only.

Cells arrive as python-calamine gives them (``str``, ``float`` -- 12 comes as ``12.0`` --,
``int``, ``bool``, ``date``, ``datetime``, ``time``, ``timedelta``, ``None`` or ``""``); a
CSV's cells are all ``str``.

The caller checks ``is_blank`` first and decides whether the field may be empty. The typed
readers (``read_code``, ``read_phone``, ``read_integer``, ``read_number``, ``read_yes_no``,
``read_date``) refuse a blank cell or a placeholder with ``CellError("不能为空")``;
``read_text`` returns the text as it is ("" for an empty cell). No reader raises anything
but ``CellError`` for any cell.

What the readers accept besides plain numbers and dates (the lists are below):

- measure words after a count (``COUNT_WORDS``): 人 名 位 个 个人 人次 口 户 家 所 台 套 部
  辆 艘 架 座 栋 幢 层 间 处 项 次 起 例 件 张 条 根 把 只 块 份 本 批 组;
- measure words after an amount (``MEASURE_WORDS``): the count words and 吨 公斤 千克 克 kg
  米 m 平方米 平米 平方 ㎡ m2 m² 立方米 立方 m³ m3 亩 %;
- multipliers before the word (``MULTIPLIERS``): 千 万 亿 百万 千万;
- yes and no (``YES``, ``NO``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal

__all__ = [
    "COUNT_WORDS",
    "MEASURE_WORDS",
    "MULTIPLIERS",
    "NO",
    "PLACEHOLDERS",
    "YES",
    "CellError",
    "cell_text",
    "halfwidth",
    "is_blank",
    "read_code",
    "read_date",
    "read_integer",
    "read_number",
    "read_phone",
    "read_text",
    "read_yes_no",
]


class CellError(Exception):
    """A cell that cannot be read: .message is the Chinese reason (no row/column; the caller adds them)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


EMPTY = "不能为空"

# What offices write for "nothing". Not 无 (No, for a yes/no field) nor 0.
PLACEHOLDERS = frozenset({
    "/", "//", "／", "\\", "＼", "、",
    "-", "--", "---", "－", "－－", "–", "—", "——", "―", "─",
    "…", "……", "...",
})


# --- text ---------------------------------------------------------------------------------

# CJK for the line-break rule: ideographs, radicals, kana, bopomofo, CJK punctuation and the
# full-width punctuation (not the full-width letters and digits: "ＡＢＣ　ＤＥＦ" keeps its space).
_CJK = ("\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
        "\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
        "\U00020000-\U0003ffff")
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_TO_FIX = re.compile(rf"[\s{_ZERO_WIDTH}]")
_ZERO_WIDTH_RUN = re.compile(rf"[{_ZERO_WIDTH}]+")
_SPACE_RUN = re.compile(r"\s+")
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


def _tidy(text: str) -> str:
    """Zero-width characters dropped, whitespace runs as one space, none between CJK."""
    text = _ZERO_WIDTH_RUN.sub("", text)
    text = _SPACE_RUN.sub(" ", text).strip()
    return _CJK_GAP.sub("", text)


def _int_text(number: int) -> str:
    try:
        return str(number)
    except ValueError:  # more digits than int-to-str allows (sys.get_int_max_str_digits)
        return "（位数过多的数）"


def cell_text(value) -> str:
    """A cell as clean text: strings stripped, runs of whitespace (spaces, tabs, NBSP, \\u3000,
    line breaks) as one space, none between two CJK characters ("常熟市某某\\n机械有限公司" →
    "常熟市某某机械有限公司"), zero-width characters dropped; whole floats without ".0"; bool →
    是/否; date → 2022-06-01; datetime at midnight → its date, else ISO; None → ""."""
    if value.__class__ is str:
        text = value.strip()
        if _TO_FIX.search(text) is None:
            return text
        return _tidy(text)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return _int_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return _tidy(str(value))


def is_blank(value) -> bool:
    """None, "", whitespace only (\\u3000 and NBSP too) or a placeholder ("/", "-", "——" ...).
    A number, a bool or a date is never blank."""
    if value is None:
        return True
    if isinstance(value, str):
        text = cell_text(value)
        return not text or text in PLACEHOLDERS
    return False


_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALFWIDTH |= {0x3000: 0x20, 0xFFE0: 0xA2, 0xFFE1: 0xA3, 0xFFE2: 0xAC, 0xFFE3: 0xAF,
               0xFFE4: 0xA6, 0xFFE5: 0xA5, 0xFFE6: 0x20A9}


def halfwidth(text: str) -> str:
    """Full-width ASCII (０-９ Ａ-Ｚ ａ-ｚ （），：．／－ ...), the full-width signs ￥ ￡ ... and the
    ideographic space as their half-width forms; everything else (CJK, 、 。 ㎡) unchanged."""
    if text.isascii():
        return text
    return text.translate(_HALFWIDTH)


def _required(value) -> str:
    """The cell's text for a typed reader: refused if blank or a placeholder."""
    text = cell_text(value)
    if not text or text in PLACEHOLDERS:
        raise CellError(EMPTY)
    return text


def read_text(max_len: int) -> Callable[[object], str]:
    """A reader of cell_text, refused if longer than max_len. An empty cell reads as ""."""

    def read(value) -> str:
        text = cell_text(value)
        if len(text) > max_len:
            raise CellError(f"超过 {max_len} 个字符")
        return text

    return read


# --- codes and phones ---------------------------------------------------------------------

# Excel keeps 15 significant digits: a longer number (an 18-digit ID) has lost its tail.
_EXACT_DIGITS_LIMIT = 1e15
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E\+[0-9]+")
_RETYPE = "请把该列设为文本格式后重新填写"


def _number_cell(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_number_code(value) -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"须为文本，而不是「{cell_text(value)}」")
        if abs(value) >= _EXACT_DIGITS_LIMIT:
            raise CellError(f"超过 15 位的数字已被 Excel 改动（「{cell_text(value)}」）：{_RETYPE}")


def read_code(value) -> str:
    """A code kept as text (credit code, area code, industry code, ID, certificate number): a
    number cell without ".0" and without exponent (13800000000.0 → "13800000000"), half-width,
    upper-case, no spaces. Refused: a number cell of 16 digits or more (Excel has changed its
    last digits) and a text in scientific notation ("9.13206E+17", what Excel shows)."""
    if _number_cell(value):
        _check_number_code(value)
        if isinstance(value, float) and not value.is_integer():
            return format(Decimal(repr(value)), "f")
    text = _required(value)
    code = halfwidth(text).replace(" ", "").upper()
    if _SCIENTIFIC.fullmatch(code):
        raise CellError(f"「{text}」是科学计数法，位数已丢失：{_RETYPE}")
    return code


_PHONE_ONE = r"\+?[0-9() -]*[0-9][0-9() -]*(?:转 ?[0-9]+)?"
_PHONE = re.compile(rf"{_PHONE_ONE}(?: ?[/、,;] ?{_PHONE_ONE})*")
PHONE_MAX = 40


def read_phone(value) -> str:
    """A phone number kept as text, half-width: digits, + - ( ) and spaces, 转 before an
    extension, and / 、 , ; between two numbers ("0512-52345678转8001、13800000000")."""
    if _number_cell(value):
        _check_number_code(value)
    text = _required(value)
    phone = halfwidth(text)
    if len(phone) > PHONE_MAX:
        raise CellError(f"超过 {PHONE_MAX} 个字符")
    if not _PHONE.fullmatch(phone):
        raise CellError(f"电话号码格式错误，而不是「{text}」")
    return phone


# --- numbers ------------------------------------------------------------------------------

COUNT_WORDS = frozenset({
    "人", "名", "位", "个", "个人", "人次", "口", "户", "家", "所",
    "台", "套", "部", "辆", "艘", "架", "座", "栋", "幢", "层", "间",
    "处", "项", "次", "起", "例", "件", "张", "条", "根", "把", "只", "块", "份", "本", "批", "组",
})
MEASURE_WORDS = COUNT_WORDS | {
    "吨", "公斤", "千克", "克", "kg", "米", "m", "平方米", "平米", "平方", "㎡", "m2", "m²",
    "立方米", "立方", "m³", "m3", "亩", "%",
}
_MONEY_WORDS = frozenset({"元"})
MULTIPLIERS = {"千": 3, "万": 4, "亿": 8, "百万": 6, "千万": 7}
# The units a money field is stored in, as powers of ten of 元.
MONEY_UNITS = {"元": 0, "千元": 3, "万元": 4, "百万元": 6, "千万元": 7, "亿元": 8}

_AMOUNT = re.compile(
    r"(?P<sign>[+\-−]?) ?"
    r"(?P<number>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r" ?(?P<rest>.*)",
    re.S,
)
_MAX_DIGITS = 24  # beyond, nobody means it (and Decimal's 28 digits stay exact)


def _split_word(rest: str, words: frozenset[str]) -> tuple[int, str] | None:
    """What follows the number: (power of ten of its multiplier, its word), or None."""
    if not rest or rest in words:
        return 0, rest
    for prefix, power in MULTIPLIERS.items():
        if rest.startswith(prefix):
            word = rest[len(prefix):].lstrip()
            if not word or word in words:
                return power, word
    return None


def _amount(text: str, words: frozenset[str]) -> tuple[Decimal, int, str] | None:
    """A typed amount, half-width ("1,200.50", "1.5万人", "+5") as (number, power of ten of
    the multiplier, word), or None. The multiplier is not applied."""
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return None
    digits = match["number"].replace(",", "")
    if len(digits) > _MAX_DIGITS + 1:
        return None
    split = _split_word(match["rest"].lower(), words)
    if split is None:
        return None
    number = Decimal(digits)
    return (-number if match["sign"] in ("-", "−") else number), *split


def _whole(number: Decimal) -> bool:
    return number == number.to_integral_value()


def read_integer(value, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
    """Counts as people type them: 39, 39.0, "39", "39人", "39 人", "1,200", "1，200", "１２",
    "1.2万" (12000), "1.5万人" (15000), "+5"; a word after the number from COUNT_WORDS."""
    if isinstance(value, bool):
        raise CellError(f"须为整数，而不是「{cell_text(value)}」")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():  # also NaN and ±inf
            raise CellError(f"须为整数，而不是「{cell_text(value)}」")
        number = int(value)
    else:
        text = _required(value)
        amount = _amount(halfwidth(text), COUNT_WORDS)
        if amount is None:
            raise CellError(f"须为整数，而不是「{text}」")
        scaled = amount[0].scaleb(amount[1])
        if not _whole(scaled):
            raise CellError(f"须为整数，而不是「{text}」")
        number = int(scaled)
    if not minimum <= number <= maximum:
        raise CellError(f"须在 {minimum} 到 {maximum} 之间，而不是 {_int_text(number)}")
    return number


def _plain(number: Decimal) -> Decimal:
    """A scaled number without exponent notation (Decimal("1.5E+4") → Decimal("15000"))."""
    number = number.normalize()
    if number.as_tuple().exponent > 0 and number.adjusted() < _MAX_DIGITS:
        return number.quantize(Decimal(1))
    return number


def _number_of_text(text: str, unit: str | None) -> Decimal:
    refused = CellError(f"须为数字，而不是「{text}」")
    if unit is None:
        amount = _amount(halfwidth(text), MEASURE_WORDS)
        if amount is None:
            raise refused
        number, power, _word = amount
        return _plain(number.scaleb(power)) if power else number
    amount = _amount(halfwidth(text).lstrip("¥ "), _MONEY_WORDS)
    if amount is None:
        raise refused
    number, power, word = amount
    if not power and not word:  # a plain number: already in the field's unit
        return number
    # 元 or a multiplier (a bare "1.5万" in a money field is 1.5万元): an amount in 元.
    return _plain(number.scaleb(power - MONEY_UNITS[unit]))


def _range_reason(number, minimum, maximum) -> str | None:
    shown = format(number, "f")
    if minimum is not None and maximum is not None:
        if not minimum <= number <= maximum:
            return f"须在 {minimum} 到 {maximum} 之间，而不是 {shown}"
    elif minimum is not None and number < minimum:
        return f"须不小于 {minimum}，而不是 {shown}"
    elif maximum is not None and number > maximum:
        return f"须不大于 {maximum}，而不是 {shown}"
    return None


def read_number(value, *, unit: str | None = None, minimum=None, maximum=None) -> Decimal:
    """Amounts and measures: "1,200.50" → Decimal("1200.50"), "15%" → Decimal("15").

    ``unit`` is the unit the field is stored in: None for a plain number (a word from
    MEASURE_WORDS may follow it, money words are refused), or a money unit ("元", "万元"; also
    千元 百万元 千万元 亿元): then 元 with a multiplier may follow ("1.5万元" → 15000 in 元,
    1.5 in 万元; "15000元" → 1.5 in 万元; a bare "1.5万" is 1.5万元), other words are
    refused, a leading ¥ is allowed, and a plain number ("1.5", or a number cell) is taken as
    already in the field's unit. Out of [minimum, maximum] (either may be None): CellError.
    An unknown ``unit`` is a programming error: ValueError."""
    if unit is not None and unit not in MONEY_UNITS:
        raise ValueError(f"unknown unit {unit!r}: None or one of {', '.join(MONEY_UNITS)}")
    if isinstance(value, bool):
        raise CellError(f"须为数字，而不是「{cell_text(value)}」")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"须为数字，而不是「{cell_text(value)}」")
        number = Decimal(repr(value))  # 0.1 as Decimal("0.1"), 12.0 as Decimal("12")
        if value.is_integer():
            number = _plain(number)
    else:
        number = _number_of_text(_required(value), unit)
    reason = _range_reason(number, minimum, maximum)
    if reason:
        raise CellError(reason)
    return number


# --- yes and no ---------------------------------------------------------------------------

# Compared half-width, lower-case, without emoji variation selectors. Not 在/不在, 已/未:
# an answer to "是否…" rarely, and a status column's words often.
YES = frozenset({"是", "是的", "有", "对", "涉及", "属于", "√", "✓", "✔", "☑", "✅",
                 "y", "yes", "t", "true", "1"})
NO = frozenset({"否", "不是", "无", "没有", "错", "不涉及", "不属于", "×", "✗", "✘", "☒", "❌", "x",
                "n", "no", "f", "false", "0"})
YES_NO_REASON = "须为 是/否（也可填 有/无、√/×、Y/N、1/0）"


def read_yes_no(value) -> bool:
    """bool cells as they are; number cells 1 and 0; texts from YES and NO."""
    if isinstance(value, bool):
        return value
    if _number_cell(value):
        if value == 1:
            return True
        if value == 0:
            return False
        raise CellError(YES_NO_REASON)
    text = halfwidth(_required(value)).lower().replace("\ufe0f", "")
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError(YES_NO_REASON)


# --- dates --------------------------------------------------------------------------------

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 0 (Excel's 1900 leap-year bug included)
FIRST_YEAR, LAST_YEAR = 1900, 2100
# Serial 1 (Excel shows it as 1900-01-01) to 2100-12-31.
LAST_SERIAL = (dt.date(LAST_YEAR, 12, 31) - EXCEL_EPOCH).days

_TIME = r"(?:(?: ?T ?| )[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?: ?(?:Z|[+-][0-9]{2}:?[0-9]{2}))?)?"
_DATES = tuple(re.compile(pattern + _TIME) for pattern in (
    r"(?P<y>[0-9]{4}) ?年 ?(?P<m>[0-9]{1,2}) ?月 ?(?P<d>[0-9]{1,2}) ?[日号]?",
    r"(?P<y>[0-9]{4}) ?(?P<sep>[./-]) ?(?P<m>[0-9]{1,2}) ?(?P=sep) ?(?P<d>[0-9]{1,2})",
    r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})",
))
_SERIAL = re.compile(r"[0-9]{5}")


def _not_a_date(text: str) -> CellError:
    return CellError(f"须为日期（如 2022-06-01 或 2022年6月1日），而不是「{text}」")


def _date(year: int, month: int, day: int, text: str) -> dt.date:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CellError(f"日期无效：「{text}」")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(f"日期无效：「{text}」") from None


def _serial_date(serial: float, text: str) -> dt.date:
    if not 1 <= serial < LAST_SERIAL + 1:
        raise _not_a_date(text)
    return EXCEL_EPOCH + dt.timedelta(days=math.floor(serial))


def _number_date(value: float, text: str) -> dt.date:
    """A number cell: 20220601 as a date typed without separators, else an Excel serial."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _not_a_date(text)
    if value == int(value) and FIRST_YEAR * 10_000 <= value <= LAST_YEAR * 10_000 + 1231:
        number = int(value)
        return _date(number // 10_000, number // 100 % 100, number % 100, text)
    return _serial_date(value, text)


def read_date(value) -> dt.date:
    """Dates as Chinese offices write them: date and datetime cells; Excel serials (number cells,
    and texts of 5 digits: 44713 → 2022-06-01; 1 → 1899-12-31, which Excel shows as
    1900-01-01; up to 2100-12-31); number cells like 20220601; texts 2022年6月1日 (also 号,
    spaces, full-width digits), 2022.6.1, 2022/6/1, 2022-06-01, 20220601, with or without a
    time after. Years outside 1900..2100 and impossible days: "日期无效"."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _required(value)
    if _number_cell(value):
        return _number_date(value, text)
    typed = halfwidth(text)
    if _SERIAL.fullmatch(typed):
        return _serial_date(int(typed), text)
    for pattern in _DATES:
        match = pattern.fullmatch(typed)
        if match:
            return _date(int(match["y"]), int(match["m"]), int(match["d"]), text)
    raise _not_a_date(text)
