"""The kinds of ledger a tenant has (the core's, ``anjian.ledgers.core_kinds``, and its
plugins', ``register_ledger_kinds``), and what a kind says about an entry: how its fields
are validated, the dates the core keeps (``dates``), and how an ID number shows in a list
(``masked``).

A review (复审) is applied for in the 60 days before it falls due (``REVIEW_WINDOW_DAYS``;
《特种作业人员安全技术培训考核管理规定》).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import marshmallow as ma
from marshmallow import validate
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from anjian.context import Context, NoContext
from anjian.errors import NotFound
from anjian.plugins.catalogue import LedgerKind

REVIEW_WINDOW_DAYS = 60
TEXT_LIMIT = 2000


def kinds(context: Context) -> dict[str, dict]:
    """The tenant's ledger kinds (the core's and its enabled plugins'), by key, as dicts
    (``LedgerKind.as_entry`` with the plugin that gave it)."""
    return {entry["key"]: entry for entry in context.catalogue("register_ledger_kinds")}


@dataclass(frozen=True, slots=True)
class Outline:
    """What the duties and the daily reminders read of a ledger kind: its title, its
    fields' keys and its reminders (``LedgerKind.remind_days``)."""

    title: str
    fields: frozenset[str]
    remind_days: tuple[int, ...]


def outlines(context: Context) -> dict[str, Outline]:
    """The tenant's ledger kinds as ``kinds`` has them (the same entries, read from the
    plugins on every call, the last of a key winning), outlined: turning every field of
    every kind into dicts, as ``kinds`` does for the API, was a good part of a small
    tenant's daily scan, which reads three things of a few kinds. A plugin registered at
    run time may give plain dicts (``catalogue.as_entry``); they are read as such."""
    if context.tenant is None:
        raise NoContext("no tenant: no catalogue (register_ledger_kinds)")
    out = {}
    entries = context.registry.hook_entries("register_ledger_kinds", context.tenant.plugins)
    for _plugin, entry in entries:
        if isinstance(entry, LedgerKind):
            out[entry.key] = Outline(entry.title, frozenset(f.key for f in entry.fields),
                                     tuple(entry.remind_days))
        else:
            out[entry["key"]] = Outline(entry["title"], frozenset(f["key"] for f in entry["fields"]),
                                        tuple(entry.get("remind_days") or ()))
    return out


def kind_of(context: Context, key: str) -> dict:
    kind = kinds(context).get(key)
    if kind is None:
        raise NotFound(f"台账类别不存在：{key}", field="kind")
    return kind


def field_map(kind: dict) -> dict[str, dict]:
    return {f["key"]: f for f in kind["fields"]}


# --- validation -----------------------------------------------------------------------


def _valid_id_number(value: str) -> None:
    try:
        ric.validate(value)
    except StdnumError:
        raise ma.ValidationError("身份证号无效") from None


def _valid_credit_code(value: str) -> None:
    try:
        uscc.validate(value)
    except StdnumError:
        raise ma.ValidationError("统一社会信用代码无效") from None


class _Choice(ma.fields.String):
    """One of the choices; a shortened name is taken for the full one (电工 → 电工作业)."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        found = choice_of(self.choices, text)
        if found is None:
            raise ma.ValidationError(f"须为以下之一：{'、'.join(self.choices)}")
        return found


def choice_of(choices, text: str) -> str | None:
    """The choice ``text`` names: itself, the one it begins (电工 → 电工作业), else None."""
    if text in choices:
        return text
    starting = [c for c in choices if c.startswith(text)] if text else []
    return starting[0] if len(starting) == 1 else None


def _field(spec: dict) -> ma.fields.Field:
    kind, required = spec["type"], bool(spec.get("required"))
    common = {"required": required, "allow_none": not required,
              "metadata": {"title": spec["label"]}}
    if kind == "date":
        return ma.fields.Date(**common)
    if kind == "integer":
        return ma.fields.Integer(strict=False, validate=validate.Range(min=0, max=10_000_000), **common)
    if kind == "number":
        return ma.fields.Float(allow_nan=False, validate=validate.Range(min=0, max=10_000_000), **common)
    if kind == "boolean":
        return ma.fields.Boolean(**common)
    if kind == "choice":
        return _Choice(spec["choices"], **common)
    if kind == "id_number":
        return ma.fields.String(validate=_valid_id_number, **common)
    if kind == "credit_code":
        return ma.fields.String(validate=_valid_credit_code, **common)
    limit = spec.get("max_length") or TEXT_LIMIT
    return ma.fields.String(validate=validate.Length(min=1 if required else 0, max=limit), **common)


def _freeze(kind: dict):
    return tuple((f["key"], f["label"], f.get("type", "text"), bool(f.get("required")),
                  tuple(f.get("choices") or ()), f.get("max_length")) for f in kind["fields"])


@lru_cache(maxsize=256)
def _schema_class(frozen) -> type[ma.Schema]:
    fields = {key: _field({"key": key, "label": label, "type": kind, "required": required,
                           "choices": choices, "max_length": limit})
              for key, label, kind, required, choices, limit in frozen}
    return ma.Schema.from_dict(fields, name="LedgerEntryData")


def data_schema(kind: dict, partial: bool = False) -> ma.Schema:
    """The marshmallow schema of an entry's ``data`` for ``kind`` (unknown fields refused)."""
    return _schema_class(_freeze(kind))(partial=partial)


def stored(data: dict) -> dict:
    """Loaded data as kept in JSON: dates as ISO strings, text stripped, blanks dropped."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        out[key] = value
    return out


# --- the dates the core keeps -----------------------------------------------------------


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def dates(kind: dict, data: dict) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    """(dated_on, expires_on, review_due_on) of an entry with ``data``.

    The expiry is the ``expires_field``, or ``validity_years`` after the date. Reviews fall
    every ``review_years`` after the date, before the expiry; the next one due is the first
    not covered by the last review (``reviewed_field``, done at most ``REVIEW_WINDOW_DAYS``
    before it falls due or later). None when no review is left before the expiry."""
    dated_on = _date(data.get(kind.get("date_field"))) if kind.get("date_field") else None
    expires_on = None
    if kind.get("expires_field"):
        expires_on = _date(data.get(kind["expires_field"]))
    elif kind.get("validity_years") and dated_on is not None:
        expires_on = add_years(dated_on, kind["validity_years"])
    review_due_on = None
    if kind.get("review_years") and dated_on is not None:
        reviewed = _date(data.get(kind.get("reviewed_field"))) if kind.get("reviewed_field") else None
        k = 1
        while True:
            point = add_years(dated_on, kind["review_years"] * k)
            if expires_on is not None and point >= expires_on:
                break
            if reviewed is None or reviewed < point - dt.timedelta(days=REVIEW_WINDOW_DAYS):
                review_due_on = point
                break
            k += 1
    return dated_on, expires_on, review_due_on


# --- what a list shows ---------------------------------------------------------------------


def mask_id_number(value: str) -> str:
    """110101199003071234 → 110101********1234 (the area code and the last four)."""
    value = str(value)
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def masked(kind: dict, data: dict) -> dict:
    """``data`` with every ID number masked (for lists and exports to many readers)."""
    hidden = {f["key"] for f in kind["fields"] if f.get("type") == "id_number"}
    return {k: mask_id_number(v) if k in hidden and v else v for k, v in data.items()}
