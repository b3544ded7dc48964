"""What a list is made of: its fields, each with a Chinese label and the everyday names
people give its column, and the field whose value identifies a row (the key)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as _field
from typing import Any


@dataclass(frozen=True)
class Field:
    """A column a list may have.

    ``read`` turns a non-blank cell into the stored value or raises ``CellError``;
    ``remember``: its results are remembered per cell value (a column of few distinct
    values: scale, flags, counts); columns of unique values (codes, names) are not.
    ``choices``: the values a template's drop-down offers.
    """

    name: str
    label: str
    read: Callable[[Any], Any]
    aliases: tuple[str, ...] = ()
    required: bool = False
    remember: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A list the platform imports (``target``: enterprises, ...), as one profile sees it.

    ``key_field``: the field that identifies a row; a value given on several rows is
    imported from its first valid row. ``unique_fields``: the fields whose values together
    identify a row instead (a post and its person), or ``()`` for a list whose rows
    nothing identifies (trainings: two on one day are two); the key field still marks
    where the table is. ``sheet`` / ``header_row``: where a profile
    pins its table (else it is found). ``noun``: what a row is, in messages (企业).
    """

    key: str
    title: str
    target: str
    fields: tuple[Field, ...]
    key_field: str
    noun: str = "记录"
    sheet: str | None = None
    header_row: int | None = None
    unique_fields: tuple[str, ...] | None = None

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def with_aliases(self, aliases: Mapping[str, Sequence[str]]) -> Profile:
        """The profile with more everyday names for its fields (a plugin's); names of
        fields it does not have are ignored."""
        fields = tuple(replace(f, aliases=tuple(dict.fromkeys((*f.aliases, *aliases.get(f.name, ())))))
                       for f in self.fields)
        return replace(self, fields=fields)

    def with_fields(self, extra: Iterable[Field]) -> Profile:
        return replace(self, fields=(*self.fields, *extra))


@dataclass
class Column:
    """A column of the file: its position, its header as written (a two-row header's
    "group/sub"), and what becomes of it."""

    index: int  # in the rows as read (0-based)
    letter: str  # as the spreadsheet names it (B, AA)
    header: str
    field: str | None = None
    how: str = ""  # label, alias, mapping; for an ignored column why (序号列, 按映射忽略)
    suggestions: list[dict] = _field(default_factory=list)

    def as_dict(self) -> dict:
        out = {"column": self.letter, "header": self.header}
        if self.field is not None:
            out["field"] = self.field
        if self.how:
            out["how"] = self.how
        if self.suggestions:
            out["suggestions"] = self.suggestions
        return out


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
