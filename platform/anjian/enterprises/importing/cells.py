"""The enterprise list's own cells: credit code, industry, scale, status and the
plugin fields, read as people type them or refused with a Chinese reason
(``CellError``). Numbers, yes/no, phones and text are the intake's
(``anjian.intake.cells``). Pure functions of the cell."""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import mul

import marshmallow as ma

from anjian.enterprises.models import INDUSTRIES, SCALES, STATUSES
from anjian.enterprises.service import normalize_credit_code
from anjian.errors import Refused
from anjian.intake.cells import CellError, cell_text, halfwidth, read_code, read_date, read_integer, read_yes_no

# What lists write for each scale and status, beside the labels themselves.
SCALE_NAMES = {**{label: key for key, label in SCALES.items()}, **{k: k for k in SCALES},
               "规模以上": "above", "规上企业": "above", "规模以上企业": "above",
               "规模以下": "below", "规下企业": "below", "规模以下企业": "below",
               "小微企业": "micro", "小型": "micro", "微型": "micro", "小型企业": "micro", "微型企业": "micro"}
STATUS_NAMES = {**{label: key for key, label in STATUSES.items()}, **{k: k for k in STATUSES},
                "正常": "active", "营业": "active", "在业": "active", "存续": "active", "开业": "active",
                "生产": "active", "正常生产": "active", "在产": "active",
                "停业": "suspended", "停工": "suspended", "歇业": "suspended", "停产整顿": "suspended",
                "关停": "closed", "注销": "closed", "吊销": "closed", "已关闭": "closed"}
GBT4754 = re.compile(r"^[A-T](\d{2}|\d{3}|\d{4})?$")


def _named(names: dict, hint: str) -> Callable:
    def read(value):
        text = halfwidth(cell_text(value)).replace(" ", "")
        if text in names:
            return names[text]
        raise CellError(f"须为 {hint} 之一，而不是「{cell_text(value)}」")
    return read


read_scale = _named(SCALE_NAMES, "、".join(SCALES.values()))
read_status = _named(STATUS_NAMES, "、".join(STATUSES.values()))


def read_industry(value):
    text = cell_text(value).replace(" ", "")
    if text not in INDUSTRIES:
        raise CellError(f"须为 {'、'.join(INDUSTRIES)} 之一，而不是「{text}」")
    return text


def read_industry_code(value):
    text = read_code(value)
    if not GBT4754.match(text):
        raise CellError(f"国民经济行业分类代码格式错误（如 C3011），而不是「{text}」")
    return text


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_SHAPE = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")


def read_credit_code(value):
    """The 18-character code (check digit checked); full-width, lower-case and spaced
    forms are read too."""
    text = value.strip() if isinstance(value, str) else cell_text(value)
    if USCC_SHAPE.fullmatch(text):  # the common case, without stdnum's cleaning
        total = sum(map(mul, map(_USCC_VALUE.__getitem__, text[:17]), _USCC_WEIGHTS))
        if text[17] == _USCC_ALPHABET[(31 - total) % 31]:
            return text
    try:
        return normalize_credit_code(read_code(value))
    except Refused as exc:
        raise CellError(exc.message) from exc


# How a cell of a plugin field is read before the field loads it, and what a bad one is
# told (a Boolean's 是/否 reader says its own; a OneOf's values are named instead).
_EXTRA_CELLS = (
    (ma.fields.Boolean, read_yes_no, ""),
    (ma.fields.Integer, read_integer, "须为 0 或正整数"),
    ((ma.fields.Date, ma.fields.DateTime), lambda v: read_date(v).isoformat(), "须为日期（如 2022-08-01）"),
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
