"""Deciding what an import writes: each batch of valid rows (``anjian.intake.rows``)
compared with the stored enterprises of its codes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from anjian.context import Context
from anjian.db import jsonable
from anjian.enterprises.importing.profiles import AREA, EXTRA_PREFIX
from anjian.enterprises.models import FLAGS, Enterprise
from anjian.extensions import db
from anjian.intake.rows import Candidate
from anjian.intake.table import Table
from anjian.tenancy.models import Area

SCOPED = {"tenant_scoped_sql": True}

# Values a new enterprise gets for fields the file leaves out.
DEFAULTS = {
    "address": "", "industry": None, "industry_code": None, "scale": "below",
    "above_quota": False, "employees": None, "safety_managers": None, "special_workers": None,
    "main_products": "", "main_risk_factors": "", "principal_name": "", "principal_phone": "",
    "contact_name": "", "contact_phone": "", "area_id": None, "status": "active",
    **{flag: False for flag in FLAGS},
}
COMPARED = ("name", *DEFAULTS, "extra")


def storer(table: Table) -> Callable[[dict], dict] | None:
    """What makes a row's values what the registry stores (the area's id under area_id,
    the plugin fields under extra), or None when the table has neither column."""
    extra = [c.field for c in table.columns if c.field.startswith(EXTRA_PREFIX)]
    area = any(c.field == AREA for c in table.columns)
    if not extra and not area:
        return None

    def store(values: dict) -> dict:
        if area and AREA in values:
            values["area_id"] = values.pop(AREA)
        given = {k.removeprefix(EXTRA_PREFIX): values.pop(k) for k in extra if k in values}
        if given:
            values["extra"] = given
        return values
    return store


def load_areas(context: Context) -> dict[str, int]:
    """The tenant's active areas: id by code, and by name where no other area has it."""
    t = Area.__table__
    rows = db.session.execute(
        select(t.c.code, t.c.name, t.c.id).where(t.c.tenant_id == context.tenant_id,
                                                 t.c.is_active.is_(True)),
        execution_options=SCOPED).all()
    names: dict[str, list[int]] = {}
    for _code, name, aid in rows:
        names.setdefault(name, []).append(aid)
    by_name = {name: ids[0] for name, ids in names.items() if len(ids) == 1}
    return {**by_name, **{code: aid for code, _name, aid in rows}}


def load_existing(context: Context, codes: Iterable[str] | None = None,
                  fields: Iterable[str] = COMPARED) -> dict[str, dict]:
    """The tenant's enterprises (deleted ones too) with these credit codes (or all), by code.

    Only ``fields`` (the compared columns the file gives) and id, credit_code,
    deleted_at are read. The codes go as one array parameter in an unprepared
    statement, so that every lookup is planned with its own codes (see ``run_import``).
    """
    t = Enterprise.__table__
    names = ("id", "credit_code", "deleted_at",
             *(n for n in dict.fromkeys(fields) if n not in ("id", "credit_code", "deleted_at")))
    out: dict[str, dict] = {}
    conn = db.session.connection()
    if codes is not None:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            # prepare=False: psycopg prepares a statement from its 5th run (prepare_threshold)
            # and PostgreSQL may then use a generic plan, where the codes are parameters,
            # not a constant: no hashed ScalarArrayOp (it needs a constant array), so each
            # row scanned is compared with every code; and a table just filled has no
            # statistics (the app role cannot ANALYZE it), so that plan scanned all the
            # tenant's rows: 17 s per batch of 5,000 against 100,000 rows. Unprepared,
            # each lookup is planned with its codes: index probes or a hashed filter.
            cur.execute(f"SELECT {', '.join(names)} FROM {t.name} "
                        f"WHERE tenant_id = %s AND credit_code = ANY(%s)",
                        (context.tenant_id, list(codes)), prepare=False)
            for row in cur:
                out[row[1]] = dict(zip(names, row, strict=True))
        return out
    stmt = select(*(t.c[n] for n in names)).where(t.c.tenant_id == context.tenant_id)
    for row in db.session.execute(stmt, execution_options=SCOPED):
        out[row[1]] = dict(zip(names, row, strict=True))
    return out


def compared_fields(table: Table) -> tuple[str, ...]:
    """The stored columns a file's rows can change (area_code is stored as area_id)."""
    return tuple(dict.fromkeys(
        "area_id" if c.field == AREA else "extra" if c.field.startswith(EXTRA_PREFIX) else c.field
        for c in table.columns if c.field != "credit_code"))


@dataclass
class Plan:
    inserts: list[dict] = field(default_factory=list)
    updates: list[tuple[int, dict]] = field(default_factory=list)  # (id, changed fields)
    unchanged: int = 0
    changes: list[dict] = field(default_factory=list)  # for dry runs: what would change


def plan_batch(batch: Iterable[Candidate], existing: dict[str, dict],
               keep_changes: int = 0) -> Plan:
    plan = Plan()
    for cand in batch:
        code = cand.values["credit_code"]
        current = existing.get(code)
        if current is None:
            plan.inserts.append(cand.values)
            if len(plan.changes) < keep_changes:
                plan.changes.append({"row": cand.row, "credit_code": code, "action": "create",
                                     "name": cand.values["name"]})
            continue
        changed = {k: v for k, v in cand.values.items()
                   if k not in ("credit_code", "extra") and current.get(k) != v}
        if "extra" in cand.values:  # the file's plugin fields, over the stored ones
            stored = current.get("extra") or {}
            merged = {**stored, **cand.values["extra"]}
            if merged != stored:
                changed["extra"] = merged
        if current["deleted_at"] is not None:
            changed["deleted_at"] = None
        if not changed:
            plan.unchanged += 1
            continue
        plan.updates.append((current["id"], changed))
        if len(plan.changes) < keep_changes:
            plan.changes.append({
                "row": cand.row, "credit_code": code, "action": "update",
                "changes": {k: [jsonable(current.get(k)), jsonable(v)] for k, v in changed.items()}})
    return plan
