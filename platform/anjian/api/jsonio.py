"""The app's JSON: Flask's provider, with orjson doing the encoding.

Every answer of a list is JSON of up to 200 rows; the standard library's encoder
(with Flask's default of sorting every key) was about a tenth of a list request.
orjson writes the same JSON, UTF-8 as it is (``ensure_ascii`` off, as before), keys
in the order the schema dumps them. What orjson would write differently is handed
back to Flask's own ``default`` instead: dates and datetimes (Flask writes them as
HTTP dates), dataclasses, decimals, UUIDs, ``__html__``. Dict keys that are not
strings become strings, as ``json.dumps`` makes them. Decoding request bodies stays
the standard library's (they are small, and its errors are the ones Flask knows);
JSON columns the database hands back (every enterprise of a list has one) are decoded
by orjson (``anjian.db.loads_stored``, the engines' ``json_deserializer``).

A request body is read by ``loads`` alone (Flask's ``request.get_json`` through the
provider, webargs through ``anjian.api.blueprint``), which bounds what a client may send:
nesting to ``MAX_DEPTH`` levels, integers to 64 bits, numbers to ``MAX_NUMBER_LENGTH``
characters and finite values (no NaN or Infinity), text without NUL characters or lone
surrogates (neither can be stored in PostgreSQL or encoded as UTF-8). Anything else is a
400 problem with a Chinese detail, never a 500 (a body nested 20,000 deep was a
RecursionError; an integer of 4,300 digits a ValueError).
"""

from __future__ import annotations

import json
import math
import typing as t

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_NON_STR_KEYS)


class JSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """As ``DefaultJSONProvider.dumps``; a call with options orjson has no twin for
        (``ensure_ascii=True``, ``cls``, custom separators...) goes to ``json.dumps``."""
        indent = kwargs.pop("indent", None)
        separators = kwargs.pop("separators", (",", ":"))
        sort_keys = kwargs.pop("sort_keys", self.sort_keys)
        default = kwargs.pop("default", self.default)
        ascii_only = kwargs.pop("ensure_ascii", self.ensure_ascii)
        if kwargs or ascii_only or indent not in (None, 2) or (
                indent is None and separators != (",", ":")):
            return super().dumps(obj, indent=indent, separators=separators,
                                 sort_keys=sort_keys, default=default,
                                 ensure_ascii=ascii_only, **kwargs)
        option = _OPTIONS
        if indent == 2:
            option |= orjson.OPT_INDENT_2
        if sort_keys:
            option |= orjson.OPT_SORT_KEYS
        return orjson.dumps(obj, default=default, option=option).decode()


# A request body's bounds (see the module's docstring).
MAX_DEPTH = 32
MAX_NUMBER_LENGTH = 64
_INT64 = 2**63


class InvalidJSON(ValueError):
    """A request body that is not JSON, or JSON past the bounds; ``detail`` says which."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def invalid_json(error: InvalidJSON | None = None) -> BadRequest:
    """The 400 answer to a body ``loads`` refused (problem ``invalid-json``)."""
    answer = BadRequest()
    answer.slug = "invalid-json"
    answer.detail = error.detail if error is not None else "请求体不是有效的 JSON"
    return answer


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise InvalidJSON(f"请求体中的数字过长（超过 {MAX_NUMBER_LENGTH} 个字符）")
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise InvalidJSON("请求体中的整数超出 64 位整数的范围")
    return value


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_LENGTH:
        raise InvalidJSON(f"请求体中的数字过长（超过 {MAX_NUMBER_LENGTH} 个字符）")
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJSON("请求体中的数字超出范围")
    return value


def _parse_constant(name: str) -> t.NoReturn:
    raise InvalidJSON(f"请求体不是有效的 JSON：不接受 {name}")


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidJSON("请求体中的文本不能包含 NUL 字符（\\u0000）")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJSON("请求体中的文本含有无效的 Unicode 字符（单独的代理项）") from None


def _check(value: t.Any) -> None:
    """Nesting depth and text of a decoded body, without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise InvalidJSON(f"请求体的嵌套层数超过 {MAX_DEPTH} 层")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                pending.append((child, depth + 1))
        else:
            pending.extend((child, depth + 1) for child in item)


def loads(data: str | bytes) -> t.Any:
    """A request body as JSON, within the bounds; raises ``InvalidJSON``."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJSON("请求体不是有效的 UTF-8 文本") from None
    try:
        value = json.loads(data, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_parse_constant)
    except RecursionError:
        raise InvalidJSON(f"请求体的嵌套层数超过 {MAX_DEPTH} 层") from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"请求体不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    _check(value)
    return value
