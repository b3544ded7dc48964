"""The ledgers' job: ``ledger_import`` (queue ``imports``) reads a stored list of one
ledger kind and creates or updates the entries (``anjian.ledgers.entry_import``).

Its result is the plan (the table found, each column's fate), the rows' summary (counts,
skipped rows, rejections with row, column and reason), the counts created / updated /
unchanged and the warnings; a dry run adds the conversions, the first rows and the
changes it would make, and writes nothing.
"""

from __future__ import annotations

from flask import current_app

from anjian.extensions import db
from anjian.intake.rows import Reading
from anjian.intake.table import nothing_dropped
from anjian.jobs.service import JobError, job_function
from anjian.ledgers import kinds as kinds_
from anjian.ledgers.entry_import import open_kind_list, run_entry_import
from anjian.storage.service import storage_for

LEDGER_IMPORT = "ledger_import"


@job_function(LEDGER_IMPORT, queue="imports", timeout=1800)
def ledger_import(ctx):
    params = ctx.params
    dry_run = bool(params.get("dry_run"))
    kind = kinds_.kinds(ctx.context).get(params.get("ledger_kind") or "")
    if kind is None:
        raise JobError("台账类别不存在或已停用", f"unknown ledger kind {params.get('ledger_kind')!r}")
    enterprise_id = params.get("enterprise_id")
    data = storage_for(current_app).get_bytes(params["object_key"], ctx.tenant_id)
    profile, table = open_kind_list(kind, data, one_enterprise=enterprise_id is not None,
                                    sheet=params.get("sheet"), mapping=params.get("mapping"))
    if not dry_run:
        nothing_dropped(table)
    reading = Reading(table, profile, explain=dry_run)
    ctx.progress(1, dry_run=dry_run)
    outcome = run_entry_import(ctx.context, kind, reading, dry_run, enterprise_id=enterprise_id,
                               source=params.get("file_name"))
    if dry_run:
        db.session.rollback()  # nothing was written; ends the read transaction
    else:
        db.session.commit()
    result = {"dry_run": dry_run, "ledger_kind": kind["key"], "enterprise_id": enterprise_id,
              "file_name": params.get("file_name"), **table.plan(), **reading.summary(),
              "created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
              "warnings": reading.warnings(dry_run)}
    if dry_run:
        result["changes"] = outcome.changes
    ctx.progress(100, created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged,
                 rejected=len(reading.rejections))
    return result
