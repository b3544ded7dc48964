"""The registry's jobs. ``enterprise_import`` (queue ``imports``): read a stored upload,
validate, upsert by credit code. ``enterprise_export`` (queue ``reports``): the filtered
registry as .xlsx.

An export's params are the registry's list filters (``EnterpriseQuerySchema``). Its
result carries the row count, the storage key and a signed download URL valid
``EXPORT_URL_SECONDS``; later, ``GET .../enterprise-exports/<job_id>/download``
redirects to a fresh one.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from anjian.enterprises.export import export_registry
from anjian.enterprises.importing.planning import load_areas
from anjian.enterprises.importing.reading import open_list
from anjian.enterprises.importing.run import run_import
from anjian.enterprises.importing.workbooks import rejected_workbook
from anjian.enterprises.schemas import EnterpriseQuerySchema
from anjian.extensions import db
from anjian.intake.rows import Reading
from anjian.intake.table import nothing_dropped
from anjian.jobs.models import Job
from anjian.jobs.service import JobError, job_function
from anjian.storage.backends import XLSX
from anjian.storage.service import storage_for
from anjian.tenancy.scope import Scope, set_scope

KIND = "enterprise_import"
EXPORT_KIND = "enterprise_export"
EXPORT_URL_SECONDS = 600


def _checkpoint(ctx) -> dict | None:
    """What an earlier delivery of this job (or its failed run before a retry) committed.

    ``counts["checkpoint"]`` (kept by ``jobs.service.retry``): the last committed
    batch and the counts so far; an older job may carry them at the top level.
    """
    with Session(db.engine) as s:
        set_scope(s, Scope.tenant(ctx.tenant_id, ctx.actor_user_id))
        job = s.get(Job, ctx.job_id)
        counts = dict(job.counts or {}) if job is not None else {}
    mark = counts.get("checkpoint") or counts
    if not mark.get("batch"):
        return None
    return {k: int(mark.get(k, 0)) for k in ("batch", "created", "updated", "unchanged")}


@job_function(KIND, queue="imports", timeout=1800)
def enterprise_import(ctx):
    params = ctx.params
    dry_run = bool(params.get("dry_run"))
    checkpoint = None if dry_run else _checkpoint(ctx)
    if checkpoint:
        ctx.counts.update(checkpoint, checkpoint=checkpoint)
    storage = storage_for(current_app)
    data = storage.get_bytes(params["object_key"], ctx.tenant_id)
    # ImportFileError (a domain error) fails the job with its message
    profile, table = open_list(ctx.context, data, profile=params.get("profile"),
                               sheet=params.get("sheet"), mapping=params.get("mapping"),
                               areas=load_areas(ctx.context))
    if not dry_run:
        nothing_dropped(table)
    reading = Reading(table, profile, explain=dry_run)
    db.session.commit()  # end the read transaction before progress writes
    ctx.progress(1, dry_run=dry_run)

    def on_batch(number, count, outcome):
        done = {"batch": number, "created": outcome.created, "updated": outcome.updated,
                "unchanged": outcome.unchanged}
        ctx.progress(min(95, 5 + 90 * number // max(count, 1)), **done, rejected=len(reading.rejections),
                     checkpoint=None if dry_run else done)

    outcome = run_import(ctx.context, reading=reading, dry_run=dry_run, checkpoint=checkpoint,
                         on_batch=on_batch)
    db.session.commit()

    result = {
        "dry_run": dry_run, "profile": profile.key, "file_name": params.get("file_name"),
        **table.plan(), **reading.summary(),
        "created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
        "warnings": reading.warnings(dry_run, "rejections 及“未导入的行”工作簿"), "rejected_rows_key": None,
    }
    if dry_run:
        result["changes"] = outcome.changes
        result["changes_truncated"] = (outcome.created + outcome.updated) > len(outcome.changes)
    if reading.rejections:
        book = rejected_workbook(table.header_cells, sorted(reading.rejections, key=lambda r: r.row))
        obj = storage.put(ctx.tenant_id, "imports", book, XLSX, "未导入的行.xlsx")
        result["rejected_rows_key"] = obj.key
        code = params.get("tenant_code")
        if code:
            result["rejected_rows_path"] = (
                f"/api/v1/tenants/{code}/enterprise-imports/{ctx.job_id}/rejected")
    ctx.progress(100, created=outcome.created, updated=outcome.updated,
                 unchanged=outcome.unchanged, rejected=len(reading.rejections))
    return result


def download_path(tenant_code: str, job_id: str) -> str:
    return f"/api/v1/tenants/{tenant_code}/enterprise-exports/{job_id}/download"


@job_function(EXPORT_KIND, queue="reports", timeout=1800)
def enterprise_export(ctx) -> dict:
    try:
        query = EnterpriseQuerySchema().load(ctx.params)
    except Exception as exc:  # marshmallow.ValidationError: params edited or stale
        raise JobError("导出条件无效", f"{type(exc).__name__}: {exc}") from exc
    storage = storage_for(current_app)
    stored, count = export_registry(ctx.context, query, storage, ctx.progress)
    ctx.progress(100, rows=count)
    tenant = ctx.context.tenant
    return {
        "rows": count,
        "object_key": stored.key,
        "filename": stored.original_name,
        "size": stored.size,
        "download_url": storage.download_url(stored.key, ctx.tenant_id, stored.original_name,
                                             expires_in=EXPORT_URL_SECONDS),
        "download_url_expires_in": EXPORT_URL_SECONDS,
        "download": download_path(tenant.code, ctx.job_id) if tenant else None,
    }
