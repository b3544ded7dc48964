"""Uploading a list to import (the enterprise registry, certificates, ...): one flow for
every list the intake engine reads."""

from __future__ import annotations

from collections.abc import Callable

import marshmallow as ma
from flask import current_app, request

from anjian.api.context import request_context
from anjian.api.problems import problem
from anjian.errors import DomainError
from anjian.intake.table import nothing_dropped
from anjian.jobs.models import Job
from anjian.jobs.service import enqueue
from anjian.storage.service import storage_for


def start_list_import(files, options_schema: type[ma.Schema], *, kind: str,
                      open_table: Callable[[bytes, dict], tuple],
                      job_params: Callable[[dict], dict] | None = None) -> Job:
    """Queue the import of an uploaded list; the caller commits and answers ``accepted``.

    The options come from the form's fields (422 on a bad one: webargs reads the "files"
    location only). The file is stored (413, 415, 422 from the storage's checks), its
    table found at once with ``open_table(data, options)`` → (profile, table), and unless
    it is a dry run no column may be dropped unannounced: a file that cannot be imported
    is refused now, with the plan, and not kept. ``job_params(options)``: what more the
    job is told (the ledger kind, the enterprise the list is of). The job gets the stored file and the
    options (the sheet found, so that the job reads the same table); a queue that refuses
    (503, 429) leaves no stored file behind either.
    """
    try:
        options = options_schema().load(request.form.to_dict())
    except ma.ValidationError as exc:
        problem(422, "导入选项无效", errors=exc.messages)
    upload = files["file"]
    try:
        data = upload.read()
    finally:
        upload.close()
    context = request_context()
    storage = storage_for(current_app)
    stored = storage.put(context.tenant_id, "imports", data, upload.mimetype, upload.filename or "upload")
    try:
        profile, table = open_table(data, options)
        if not options["dry_run"]:
            nothing_dropped(table)
    except DomainError as exc:  # told on the form's file field unless it names its own
        storage.delete(stored.key, context.tenant_id)
        exc.on("file")
        raise
    try:
        return enqueue(kind, {
            "object_key": stored.key, "content_type": stored.content_type,
            "file_name": stored.original_name, "size": stored.size, "sha256": stored.sha256,
            "dry_run": options["dry_run"], "profile": profile.key, "sheet": table.sheet,
            "mapping": options["mapping"], "tenant_code": context.tenant.code,
            **(job_params(options) if job_params is not None else {}),
        })
    except Exception:  # Redis down (503), the tenant's share of jobs used up (429), ...
        storage.delete(stored.key, context.tenant_id)
        raise
