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
from anjian.enterprises.importing.profiles import find_profile
from anjian.enterprises.importing.reading import parse
from anjian.enterprises.importing.run import run_import
from anjian.enterprises.importing.workbooks import rejected_workbook
from anjian.enterprises.schemas import EnterpriseQuerySchema
from anjian.extensions import db
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
    # ImportFileError (a domain error) fails the job with its message
    profile = find_profile(ctx.context, params.get("profile"))
    data = storage.get_bytes(params["object_key"], ctx.tenant_id)
    sheet = parse(data, params.get("content_type") or "", profile)
    db.session.commit()  # end the read transaction before progress writes
    ctx.progress(1, dry_run=dry_run)

    def on_validated(outcome):  # the rows are counted; rejections are counted per batch
        db.session.commit()  # end the read transaction before progress writes
        ctx.progress(5, total=outcome.total)

    def on_batch(number, count, outcome):
        done = {"batch": number, "created": outcome.created, "updated": outcome.updated,
                "unchanged": outcome.unchanged}
        ctx.progress(5 + 90 * number // max(count, 1), **done, rejected=outcome.rejected,
                     checkpoint=None if dry_run else done)

    outcome, rejected = run_import(
        ctx.context, sheet=sheet, dry_run=dry_run, checkpoint=checkpoint, on_batch=on_batch,
        on_validated=on_validated)
    db.session.commit()

    result = {
        "dry_run": dry_run, "profile": profile["key"], "file_name": params.get("file_name"),
        "total": outcome.total, "created": outcome.created, "updated": outcome.updated,
        "unchanged": outcome.unchanged, "rejected": outcome.rejected,
        "ignored_columns": sheet.ignored, "rejected_rows_key": None,
    }
    if dry_run:
        result["changes"] = outcome.changes
        result["changes_truncated"] = (outcome.created + outcome.updated) > len(outcome.changes)
    if rejected:
        book = rejected_workbook(sheet.header_cells, rejected)
        obj = storage.put(ctx.tenant_id, "imports", book, XLSX, "未导入的行.xlsx")
        result["rejected_rows_key"] = obj.key
        code = params.get("tenant_code")
        if code:
            result["rejected_rows_path"] = (
                f"/api/v1/tenants/{code}/enterprise-imports/{ctx.job_id}/rejected")
    ctx.progress(100, created=outcome.created, updated=outcome.updated,
                 unchanged=outcome.unchanged, rejected=outcome.rejected)
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
