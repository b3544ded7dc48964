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
"""

from __future__ import annotations

import typing as t

import orjson
from flask.json.provider import DefaultJSONProvider

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
