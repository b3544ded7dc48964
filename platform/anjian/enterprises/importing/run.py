"""The run of an import: upsert the valid rows of a list, batch by batch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from anjian.context import Context
from anjian.enterprises.importing import writing
from anjian.enterprises.importing.planning import (
    SCOPED,
    compared_fields,
    load_existing,
    plan_batch,
    storer,
)
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.intake.rows import Candidate, Reading

BATCH_SIZE = 5000


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[dict] = field(default_factory=list)


def _batches(candidates: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    batch: list[Candidate] = []
    for cand in candidates:
        batch.append(cand)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_import(context: Context, *, reading: Reading, dry_run: bool, checkpoint: dict | None = None,
               on_batch: Callable[[int, int, Outcome], None] | None = None,
               preview: int = 200) -> Outcome:
    """Upsert the rows ``reading`` finds valid; commits per batch (not in a dry run) and
    calls ``on_batch``. The rows' counts, skips and rejections stay on ``reading``.

    The file is read once, row by row, without holding its rows: the valid ones are
    written in batches of ``BATCH_SIZE``, each batch comparing against the stored
    enterprises with its own codes only (one indexed lookup per batch: memory stays
    bounded however large the tenant). Codes are unique among the rows written (a
    later row of a code is rejected), so batches are independent, and the same file
    gives the same batches on every run, which checkpoints rely on.

    ``checkpoint`` (from the job's counts of an earlier, interrupted delivery) names
    the last committed batch and the counts so far: those batches are skipped.
    """
    size = BATCH_SIZE
    outcome = Outcome()
    done = 0
    if checkpoint and not dry_run:
        done = int(checkpoint.get("batch", 0))
        for key in ("created", "updated", "unchanged"):
            setattr(outcome, key, int(checkpoint.get(key, 0)))
    count = -(-reading.table.grid.height // size)  # about this many batches
    # Codes are unique among the rows written, so a batch only ever matches enterprises
    # stored before this import: none at all for a tenant's first import, which then
    # needs no lookups.
    t = Enterprise.__table__
    any_stored = db.session.execute(
        select(t.c.id).where(t.c.tenant_id == context.tenant_id).limit(1),
        execution_options=SCOPED).first() is not None
    fields = compared_fields(reading.table)
    store = storer(reading.table)
    candidates = reading.candidates()
    for number, batch in enumerate(_batches(candidates, size), start=1):
        if number <= done:
            continue
        if store is not None:
            for cand in batch:
                store(cand.values)
        existing = (load_existing(context, [c.values["credit_code"] for c in batch], fields)
                    if any_stored else {})
        plan = plan_batch(batch, existing,
                          keep_changes=max(0, preview - len(outcome.changes)) if dry_run else 0)
        outcome.created += len(plan.inserts)
        outcome.updated += len(plan.updates)
        outcome.unchanged += plan.unchanged
        if dry_run:
            outcome.changes.extend(plan.changes)
            db.session.commit()  # nothing written; ends the read transaction
        else:
            writing.apply_plan(context, plan)
            writing.audit_batch(context, number, plan)
            db.session.commit()
        if on_batch is not None:
            on_batch(number, max(count, number), outcome)
    return outcome
