"""One cell of an import file: read as text, converted to what the registry stores,
or refused with a Chinese reason (``CellError``). Pure functions of the cell."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from operator import mul

import marshmallow as ma

from anjian.enterprises.models import FLAGS, INDUSTRIES, SCALES, STATUSES
from anjian.enterprises.service import normalize_credit_code
from anjian.errors import Refused


def cell_text(value) -> str:
    """A cell as text: whole floats without '.0' (calamine returns 12 as 12.0)."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


def _date_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return cell_text(value)


def norm_header(value) -> str:
    text = cell_text(value)
    text = text.replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", text)


YES = {"是", "y", "yes", "1", "√", "✓", "true", "t", "有"}
NO = {"否", "n", "no", "0", "×", "✗", "x", "false", "f", "无"}
SCALE_LABELS = {label: key for key, label in SCALES.items()} | {k: k for k in SCALES}
STATUS_LABELS = {label: key for key, label in STATUSES.items()} | {k: k for k in STATUSES}
GBT4754 = re.compile(r"^[A-T](\d{2}|\d{3}|\d{4})?$")
PHONE = re.compile(r"^[0-9+\-() ]{0,30}$")


class CellError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _string(max_len: int) -> Callable:
    def convert(value):
        text = cell_text(value)
        if len(text) > max_len:
            raise CellError(f"超过 {max_len} 个字符")
        return text
    return convert


def _yes_no(value):
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError("须为 是/否（也可填 Y/N、1/0、√）")


def _count(value):
    if isinstance(value, bool):
        raise CellError("须为整数")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not value.is_integer():
            raise CellError(f"须为整数，而不是 {value}")
        number = int(value)
    else:
        text = cell_text(value).replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise CellError(f"须为整数，而不是「{cell_text(value)}」")
        number = int(text)
    if not 0 <= number <= 1_000_000:
        raise CellError("须为 0 或正整数（不超过 1000000）")
    return number


def _choice(labels: dict, hint: str):
    def convert(value):
        text = cell_text(value)
        if text in labels:
            return labels[text]
        raise CellError(f"须为 {hint} 之一，而不是「{text}」")
    return convert


def _industry(value):
    text = cell_text(value)
    if text not in INDUSTRIES:
        raise CellError(f"须为 {'、'.join(INDUSTRIES)} 之一，而不是「{text}」")
    return text


def _industry_code(value):
    text = cell_text(value).upper()
    if not GBT4754.match(text):
        raise CellError("国民经济行业分类代码格式错误（如 C3011）")
    return text


def _phone(value):
    text = cell_text(value)
    if not PHONE.match(text):
        raise CellError("电话号码格式错误")
    return text


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_SHAPE = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")


def read_credit_code(value):
    text = value.strip() if isinstance(value, str) else cell_text(value)
    if USCC_SHAPE.fullmatch(text):  # the common case, without stdnum's cleaning
        total = sum(map(mul, map(_USCC_VALUE.__getitem__, text[:17]), _USCC_WEIGHTS))
        if text[17] == _USCC_ALPHABET[(31 - total) % 31]:
            return text
    try:
        return normalize_credit_code(cell_text(value))
    except Refused as exc:
        raise CellError(exc.message) from exc


def _name(value):
    text = cell_text(value)
    if len(text) > 200:
        raise CellError("超过 200 个字符")
    return text


CONVERTERS: dict[str, Callable] = {
    "credit_code": read_credit_code,
    "name": _name,
    "address": _string(300),
    "industry": _industry,
    "industry_code": _industry_code,
    "scale": _choice(SCALE_LABELS, "规上、规下、小微"),
    "above_quota": _yes_no,
    "employees": _count,
    "safety_managers": _count,
    "special_workers": _count,
    "main_products": _string(2000),
    "main_risk_factors": _string(2000),
    "principal_name": _string(50),
    "principal_phone": _phone,
    "contact_name": _string(50),
    "contact_phone": _phone,
    "area_code": _string(40),
    "status": _choice(STATUS_LABELS, "在营、停产、关闭"),
    **{flag: _yes_no for flag in FLAGS},
}

# How a cell of a plugin field is read before the field loads it, and what a bad one is
# told (a Boolean's 是/否 reader says its own; a OneOf's values are named instead).
_EXTRA_CELLS = (
    (ma.fields.Boolean, _yes_no, ""),
    (ma.fields.Integer, _count, "须为 0 或正整数"),
    ((ma.fields.Date, ma.fields.DateTime), _date_text, "须为日期（如 2022-08-01）"),
)


def choices_of(field: ma.fields.Field) -> list[str]:
    if isinstance(field, ma.fields.Boolean):
        return ["是", "否"]
    return [str(c) for v in field.validators if isinstance(v, ma.validate.OneOf)
            for c in v.choices]


def extra_converter(name: str, field: ma.fields.Field) -> Callable:
    """What the API would store for a cell of a plugin field (the field's load, then its
    dump: a date as 2022-08-01), or a CellError in Chinese."""
    schema = ma.Schema.from_dict({name: field})()
    read, hint = next(((read, hint) for kind, read, hint in _EXTRA_CELLS
                       if isinstance(field, kind)), (cell_text, "格式错误"))
    if choices := choices_of(field):
        hint = f"须为 {'、'.join(choices)} 之一"

    def convert(value):
        try:
            return schema.dump(schema.load({name: read(value)}))[name]
        except ma.ValidationError as exc:
            raise CellError(f"{hint}，而不是「{cell_text(value)}」") from exc
    return convert
