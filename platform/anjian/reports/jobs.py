"""Report jobs (queue ``reports``). ``report``: one report of a report kind (see
``anjian.reports.service``)."""

from __future__ import annotations

from flask import current_app

from anjian.jobs.service import JobContext, job_function
from anjian.reports.service import run_report
from anjian.storage.service import storage_for


@job_function("report", queue="reports", timeout=1800)
def report(ctx: JobContext) -> dict:
    """Compute, render and store one report (by ``report_id``, or a schedule's slot) with
    the job's context, parameters and progress, in the app's storage."""
    return run_report(ctx.context, ctx.params, storage_for(current_app), ctx.progress)
