"""The run of an import: validate and upsert a parsed file, batch by batch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from anjian.context import Context
from anjian.enterprises.importing import writing
from anjian.enterprises.importing.planning import (
    SCOPED,
    Candidate,
    Rejection,
    compared_fields,
    iter_candidates,
    load_areas,
    load_existing,
    plan_batch,
    scan_codes,
)
from anjian.enterprises.importing.reading import Sheet
from anjian.enterprises.models import Enterprise
from anjian.extensions import db

BATCH_SIZE = 5000


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    total: int = 0
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


def run_import(context: Context, *, sheet: Sheet, dry_run: bool, checkpoint: dict | None = None,
               on_batch: Callable[[int, int, Outcome], None] | None = None,
               on_validated: Callable[[Outcome], None] | None = None,
               preview: int = 200) -> tuple[Outcome, list[Rejection]]:
    """Validate and upsert; commits per batch (not in a dry run) and calls ``on_batch``.

    The file is read twice, row by row, without holding its rows: first only the
    credit codes (``scan_codes``: the row count and the codes on several rows), then
    every row is validated once and the valid ones are written in batches of
    ``BATCH_SIZE`` (``iter_candidates``), each batch comparing against the stored
    enterprises with its own codes only (one indexed lookup per batch, on both
    backends: memory stays bounded however large the tenant). Codes are unique
    among the rows written, so batches are independent.

    ``on_validated`` is called after the first pass (the total is known; rejections
    are counted as the second pass finds them, ``on_batch`` reports them).

    ``checkpoint`` (from the job's counts of an earlier, interrupted delivery) names
    the last committed batch and the counts so far: those batches are skipped.
    """
    size = BATCH_SIZE
    areas = load_areas(context)
    scan = scan_codes(sheet)
    outcome = Outcome(total=scan.total)
    if on_validated is not None:
        on_validated(outcome)
    done = 0
    if checkpoint and not dry_run:
        done = int(checkpoint.get("batch", 0))
        for key in ("created", "updated", "unchanged"):
            setattr(outcome, key, int(checkpoint.get(key, 0)))
    count = -(-scan.coded // size)  # at most this many batches
    # Codes are unique among the rows written, so a batch only ever matches enterprises
    # stored before this import: none at all for a tenant's first import, which then
    # needs no lookups.
    t = Enterprise.__table__
    any_stored = db.session.execute(
        select(t.c.id).where(t.c.tenant_id == context.tenant_id).limit(1),
        execution_options=SCOPED).first() is not None
    fields = compared_fields(sheet)
    rejected: list[Rejection] = []
    duplicates: list[Rejection] = []
    candidates = iter_candidates(sheet, areas, scan, rejected, duplicates)
    for number, batch in enumerate(_batches(candidates, size), start=1):
        if number <= done:
            continue
        existing = (load_existing(context, [c.values["credit_code"] for c in batch], fields)
                    if any_stored else {})
        plan = plan_batch(batch, existing,
                          keep_changes=max(0, preview - len(outcome.changes)) if dry_run else 0)
        outcome.created += len(plan.inserts)
        outcome.updated += len(plan.updates)
        outcome.unchanged += plan.unchanged
        outcome.rejected = len(rejected) + len(duplicates)
        if dry_run:
            outcome.changes.extend(plan.changes)
            db.session.commit()  # nothing written; ends the read transaction
        else:
            writing.apply_plan(context, plan)
            writing.audit_batch(context, number, plan)
            db.session.commit()
        if on_batch is not None:
            on_batch(number, max(count, number), outcome)
    outcome.rejected = len(rejected) + len(duplicates)
    return outcome, sorted(rejected + duplicates, key=lambda r: r.row)
