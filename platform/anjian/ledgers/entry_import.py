"""Importing a ledger's entries from a list (a city system's export of certified workers,
an enterprise's training register) on the intake engine (``anjian.intake``): title rows,
merged headers, 序号 and 合计 rows, everyday column names (each field's ``aliases``), dates
and counts as people write them.

A kind's list profile is made from its fields (``kind_profile``): a column per field, read
by its type, and the enterprise's credit code (企业统一社会信用代码), which a list of several
enterprises needs; a list of one enterprise is imported for the enterprise the import
names (an enterprise user's own, always). A row is one entry:

* a kind with ``key_fields`` (a certificate's number) updates the enterprise's entry with
  those values, or creates it; a row that changes nothing counts as unchanged;
* a kind without (trainings, drills) creates an entry, unless the enterprise already has
  one with the very same content (a list imported twice changes nothing);
* the enterprise must be one the importer sees ("企业不存在或无权导入"); every value goes
  through the kind's own validation, so an imported entry is one the API would accept.

Each entry written gets an ``import`` event in its history. The caller commits; a dry run
writes nothing and counts what the import would do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import marshmallow as ma
from sqlalchemy import select
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from anjian.context import Context
from anjian.enterprises.importing.cells import read_credit_code
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import DomainError, translate
from anjian.extensions import db
from anjian.intake.cells import (
    CellError,
    cell_text,
    read_code,
    read_date,
    read_integer,
    read_number,
    read_text,
    read_yes_no,
)
from anjian.intake.profile import Field, Profile
from anjian.intake.rows import Candidate, Reading, Rejection
from anjian.intake.table import Table, open_table
from anjian.ledgers import kinds as kinds_
from anjian.ledgers.models import LedgerEntry, LedgerEvent
from anjian.ledgers.service import apply_data, create_entry

ENTERPRISE = "enterprise_code"
ENTERPRISE_LABEL = "企业统一社会信用代码"
ENTERPRISE_ALIASES = ("企业信用代码", "所属企业信用代码", "企业社会信用代码")
PREVIEW = 200


def _choice(choices) -> Callable:
    def read(value):
        text = cell_text(value).strip()
        found = kinds_.choice_of(tuple(choices), text)
        if found is None:
            raise CellError(f"须为以下之一：{'、'.join(choices)}")
        return found
    return read


def _id_number(value) -> str:
    text = read_code(value).upper()
    try:
        return ric.validate(text)
    except StdnumError:
        raise CellError("身份证号无效") from None


# An assessment or a signature is written as its outcome (考核情况: 合格).
PASSED = {"合格": True, "通过": True, "已签": True, "已签订": True,
          "不合格": False, "未通过": False, "未签": False, "未签订": False}


def _yes_no(value) -> bool:
    text = cell_text(value).strip()
    return PASSED[text] if text in PASSED else read_yes_no(value)


def _number(value) -> float:
    number = read_number(value, minimum=Decimal(0))
    return float(number)


def _reader(spec: Mapping) -> Callable:
    kind = spec.get("type", "text")
    if kind == "date":
        return read_date
    if kind == "integer":
        return read_integer
    if kind == "number":
        return _number
    if kind == "boolean":
        return _yes_no
    if kind == "choice":
        return _choice(spec["choices"])
    if kind == "id_number":
        return _id_number
    if kind == "credit_code":
        return read_credit_code
    return read_text(spec.get("max_length") or kinds_.TEXT_LIMIT)


def kind_profile(kind: Mapping, *, one_enterprise: bool) -> Profile:
    """The list profile of ``kind``: its fields under their labels and everyday names, and
    the enterprise's credit code (required unless the list is of ``one_enterprise``)."""
    key_fields = tuple(kind.get("key_fields") or ())
    fields = [Field(ENTERPRISE, ENTERPRISE_LABEL, read_credit_code, ENTERPRISE_ALIASES,
                    required=not one_enterprise, remember=False)]
    for spec in kind["fields"]:
        fields.append(Field(spec["key"], spec["label"], _reader(spec), tuple(spec.get("aliases") or ()),
                            required=bool(spec.get("required")),
                            remember=spec.get("type") in ("choice", "boolean", "date", "integer"),
                            choices=tuple(spec.get("choices") or ())))
    required = [f["key"] for f in kind["fields"] if f.get("required")]
    key_field = key_fields[0] if key_fields else (kind.get("date_field") or required[0])
    unique = (((ENTERPRISE,) if not one_enterprise else ()) + key_fields) if key_fields else ()
    return Profile(f"ledger:{kind['key']}", f"{kind['title']}台账", f"ledgers.{kind['key']}", tuple(fields),
                   key_field=key_field, noun=kind["title"], unique_fields=unique)


def describe(kind: Mapping, *, one_enterprise: bool) -> dict:
    profile = kind_profile(kind, one_enterprise=one_enterprise)
    return {"key": profile.key, "title": profile.title,
            "fields": [{"name": f.name, "label": f.label, "aliases": list(f.aliases), "required": f.required,
                        "choices": list(f.choices)} for f in profile.fields]}


def open_kind_list(kind: Mapping, data: bytes, *, one_enterprise: bool, sheet: str | None = None,
                   mapping: Mapping[str, str] | None = None) -> tuple[Profile, Table]:
    profile = kind_profile(kind, one_enterprise=one_enterprise)
    return profile, open_table(data, profile, sheet=sheet, mapping=mapping)


@dataclass
class EntryOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[dict] = field(default_factory=list)  # a dry run's, the first PREVIEW


def _plain(values: dict) -> dict:
    """A row's values as the kind's validation takes them (dates as ISO text)."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items() if k != ENTERPRISE}


def run_entry_import(context: Context, kind: Mapping, reading: Reading, dry_run: bool, *,
                     enterprise_id: int | None = None, source: str | None = None) -> EntryOutcome:
    """Create or update an entry per valid row (see the module's doc); rows refused here
    join ``reading.rejections``. Nothing is written in a dry run; else the caller commits."""
    outcome = EntryOutcome()
    rows = list(reading.candidates())
    codes = {c.values[ENTERPRISE] for c in rows if c.values.get(ENTERPRISE)}
    visible = {}
    if codes:
        visible = dict(db.session.execute(
            select(Enterprise.credit_code, Enterprise.id).where(
                Enterprise.credit_code.in_(sorted(codes)), Enterprise.deleted_at.is_(None),
                enterprise_clause(context, Enterprise.id))).all())
    key_fields = tuple(kind.get("key_fields") or ())
    existing: dict[int, list[LedgerEntry]] = {}
    owners = set(visible.values()) | ({enterprise_id} if enterprise_id else set())
    if owners:
        for entry in db.session.scalars(select(LedgerEntry).where(
                LedgerEntry.kind == kind["key"], LedgerEntry.deleted_at.is_(None),
                LedgerEntry.enterprise_id.in_(sorted(owners)))):
            existing.setdefault(entry.enterprise_id, []).append(entry)
    headers = {c.field: c.header for c in reading.table.columns}

    def refuse(cand: Candidate, column: str, message: str) -> None:
        header = headers.get(column, "")
        reading.rejections.append(Rejection(cand.row, header, f"{header}：{message}" if header else message, []))

    for cand in rows:
        code = cand.values.get(ENTERPRISE)
        owner = visible.get(code) if code else enterprise_id
        if owner is None or (code and enterprise_id and owner != enterprise_id):
            refuse(cand, ENTERPRISE, "企业不存在或无权导入" if code else "须填写企业统一社会信用代码")
            continue
        values = _plain(cand.values)
        try:
            clean = kinds_.stored(kinds_.data_schema(kind).load(values))
        except ma.ValidationError as exc:  # the kind's own validation: its first message
            name, problems = next(iter(translate(exc.messages).items()))
            refuse(cand, name, str(problems[0] if isinstance(problems, list) else problems))
            continue
        same = [e for e in existing.get(owner, ())
                if (all(e.data.get(k) == clean.get(k) for k in key_fields) if key_fields else e.data == clean)]
        if same and same[0].data == clean:
            outcome.unchanged += 1
            continue
        action = "updated" if same else "created"
        setattr(outcome, action, getattr(outcome, action) + 1)
        if dry_run:
            if len(outcome.changes) < PREVIEW:
                before = same[0].data if same else {}
                outcome.changes.append({"row": cand.row, "action": action, "enterprise_id": owner,
                                        "changes": {k: {"from": before.get(k), "to": clean.get(k)}
                                                    for k in sorted(set(before) | set(clean))
                                                    if before.get(k) != clean.get(k)}})
            continue
        try:
            if same:
                _update(context, kind, same[0], clean, cand.row, source)
            else:
                entry = create_entry(context, kind["key"], enterprise_id=owner, data=clean, action="import")
                existing.setdefault(owner, []).append(entry)
        except DomainError as exc:
            refuse(cand, "", exc.message)
            setattr(outcome, action, getattr(outcome, action) - 1)
    db.session.flush()
    return outcome


def _update(context: Context, kind: Mapping, entry: LedgerEntry, clean: dict, row: int, source: str | None) -> None:
    before = dict(entry.data or {})
    apply_data(entry, kind, clean)
    where = f"{source}第{row}行" if source else f"第{row}行"
    changes = {k: [before.get(k), clean.get(k)] for k in sorted(set(before) | set(clean))
               if before.get(k) != clean.get(k)}
    db.session.add(LedgerEvent(entry_id=entry.id, action="import", changes={**changes, "source": [None, where]},
                               actor_user_id=context.user_id))
