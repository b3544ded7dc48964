"""Writing an import's batch: new rows and updates in bulk, one audit row per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import itemgetter

from sqlalchemy import bindparam

from anjian.audit.service import record_bulk_write
from anjian.context import Context
from anjian.enterprises.importing.planning import COMPARED, DEFAULTS, SCOPED, Plan
from anjian.enterprises.models import Enterprise
from anjian.extensions import db


def apply_plan(context: Context, plan: Plan) -> None:
    """Write one batch: new rows in bulk (COPY / executemany), updates grouped by changed columns."""
    now = context.clock()
    if plan.inserts:
        _insert_rows(context.tenant_id, plan.inserts, now)
    if plan.updates:
        _update_rows(context.tenant_id, plan.updates, now)


INSERTED = ("credit_code", "name", *DEFAULTS, "extra")
CONSTANT = ("tenant_id", "deleted_at", "created_at", "updated_at")
COPY_UPDATES_FROM = 50  # PostgreSQL: a batch with this many updates stages them with COPY


def _to_driver(dialect, name: str) -> Callable:
    """A value of column ``name`` of enterprises as the driver takes it (its type's bind
    processor; a None stays None)."""
    processor = Enterprise.__table__.c[name].type._cached_bind_processor(dialect)
    if processor is None:
        return lambda value: value
    return lambda value: None if value is None else processor(value)


def _constants(dialect, tenant_id: int, now) -> tuple:
    """tenant_id, deleted_at, created_at, updated_at as the driver takes them."""
    return tuple(_to_driver(dialect, name)(value)
                 for name, value in zip(CONSTANT, (tenant_id, None, now, now), strict=True))


def _stage(conn, name: str, columns: Iterable[str], key: str | None = None) -> None:
    """A temporary table (dropped at commit) with these columns of enterprises, typed alike.

    ``CREATE TABLE AS ... WITH NO DATA`` copies types but no NOT NULL, so a COPY may
    give only some columns. ``key``: a primary key (the join in ``_update_rows`` then
    has an index on either side, whatever the planner believes about row counts).
    """
    t = Enterprise.__table__
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DROP AS "
        f"SELECT {', '.join(columns)} FROM {t.name} WITH NO DATA", execution_options=SCOPED)
    if key is not None:
        conn.exec_driver_sql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = "
            f"'pg_temp.{name}'::regclass AND indisprimary) THEN "
            f"ALTER TABLE pg_temp.{name} ADD PRIMARY KEY ({key}); END IF; END $$",
            execution_options=SCOPED)


def _copy_rows(conn, table: str, columns: Iterable[str], rows: Iterable[tuple]) -> None:
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"TRUNCATE {table}")
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)


def _insert_rows(tenant_id: int, inserts: list[dict], now) -> None:
    """Insert new rows without per-row SQLAlchemy compiling: COPY into a staging table.

    The per-row values are plain str/int/bool/None (what the converters return), which
    psycopg takes as they are; the constant columns go through their column types'
    bind processors once.
    """
    t = Enterprise.__table__
    conn = db.session.connection()
    dialect = conn.dialect
    constant = _constants(dialect, tenant_id, now)
    base = {n: DEFAULTS.get(n) for n in INSERTED}
    base["extra"] = {}
    extra = _to_driver(dialect, "extra")
    pick = itemgetter(*INSERTED)  # the row's values, in INSERTED order, defaults filled in

    def columns(values):
        values["extra"] = extra(values["extra"])
        return pick(values)
    # COPY into a staging table, then one INSERT ... SELECT: COPY FROM is not allowed on
    # a table with row-level security; the INSERT is checked by RLS. Through the
    # session's own connection: same transaction, same tenant scope. Only the per-row
    # columns are copied; the constant ones are parameters.
    cols = ", ".join(INSERTED)
    _stage(conn, "enterprise_import_stage", INSERTED)
    _copy_rows(conn, "enterprise_import_stage", INSERTED,
               (columns({**base, **values}) for values in inserts))
    conn.exec_driver_sql(
        f"INSERT INTO {t.name} ({cols}, {', '.join(CONSTANT)}) "
        f"SELECT {cols}, %s, %s, %s, %s FROM enterprise_import_stage", constant,
        execution_options=SCOPED)


def _update_rows(tenant_id: int, updates: list[tuple[int, dict]], now) -> None:
    """Updates grouped by the set of columns they change (a file changes few such sets).

    From ``COPY_UPDATES_FROM`` updates: each group is copied into a staging table and
    applied with one ``UPDATE ... FROM``; below that, one executemany per group keyed by id.
    """
    t = Enterprise.__table__
    groups: dict[tuple, list[tuple[int, dict]]] = {}
    for ent_id, changed in updates:
        groups.setdefault(tuple(sorted(changed)), []).append((ent_id, changed))
    conn = db.session.connection()
    if len(updates) >= COPY_UPDATES_FROM:
        stage = "enterprise_update_stage"
        _stage(conn, stage, ("id", "deleted_at", *COMPARED), key="id")
        updated_at = _constants(conn.dialect, tenant_id, now)[-1]
        extra = _to_driver(conn.dialect, "extra")
        for keys, items in groups.items():
            _copy_rows(conn, stage, ("id", *keys), (
                (ent_id, *(extra(changed[k]) if k == "extra" else changed[k] for k in keys))
                for ent_id, changed in items))
            sets = ", ".join(f"{k} = s.{k}" for k in keys)
            conn.exec_driver_sql(
                f"UPDATE {t.name} AS e SET {sets}, updated_at = %s FROM {stage} AS s "
                f"WHERE e.id = s.id AND e.tenant_id = %s", (updated_at, tenant_id),
                execution_options=SCOPED)
        return
    for keys, items in groups.items():
        params = []
        for ent_id, changed in items:
            p = {f"v_{k}": v for k, v in changed.items()}
            p.update(b_id=ent_id, b_tenant=tenant_id, v_updated_at=now)
            params.append(p)
        stmt = (t.update()
                .where(t.c.id == bindparam("b_id"), t.c.tenant_id == bindparam("b_tenant"))
                .values({k: bindparam(f"v_{k}") for k in (*keys, "updated_at")}))
        db.session.execute(stmt, params, execution_options=SCOPED)


def audit_batch(context: Context, batch_no: int, plan: Plan) -> None:
    """One audit row per committed batch that changed something (same transaction), by
    the context's actor, on the context's job."""
    if not plan.inserts and not plan.updates:
        return
    job_id = context.job_id
    record_bulk_write(
        db.session, tenant_id=context.tenant_id, actor_user_id=context.user_id,
        action="enterprise.import",
        entity_type="enterprise_import", entity_id=job_id,
        after={"job_id": job_id, "batch": batch_no,
               "created": [v["credit_code"] for v in plan.inserts],
               "updated": {str(i): sorted(c) for i, c in plan.updates}},
        detail=f"批量导入第 {batch_no} 批：新增 {len(plan.inserts)}，更新 {len(plan.updates)}",
    )
