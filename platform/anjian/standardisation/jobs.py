"""The standardisation's jobs: ``standardisation_classify`` (queue ``default``) classifies
every enterprise of the tenant with its plugin's supervision classes;
``certificate_import`` (queue ``imports``) reads a stored list of existing certificates
(达标证书) and creates or updates the certifications (``anjian.standardisation.importing``).

An import's result is its plan (the table found, each column's fate), the rows' summary
(counts, skipped rows, rejections with row, column and reason), the counts created /
updated / unchanged and the warnings; a dry run adds the conversions, the first rows and
the changes it would make, and writes nothing.
"""

from __future__ import annotations

from flask import current_app

from anjian.extensions import db
from anjian.intake.rows import Reading
from anjian.intake.table import nothing_dropped
from anjian.jobs.service import job_function
from anjian.standardisation.classes import classify, schedule_inspections
from anjian.standardisation.importing import INFORMATIONAL, open_certificate_list, run_certificate_import
from anjian.storage.service import storage_for

CLASSIFY = "standardisation_classify"
CERTIFICATE_IMPORT = "certificate_import"


@job_function(CLASSIFY, queue="default", timeout=1800)
def classify_enterprises(ctx):
    counts = classify(ctx.context, lambda n, total: ctx.progress(min(90, 100 * n // max(total, 1))))
    result = {"classes": counts, "classified": sum(counts.values())}
    if ctx.params.get("campaign_id"):  # the classes' inspections, as dated tasks of the campaign
        year = int(ctx.params.get("year") or ctx.context.today().year)
        result["inspection_tasks"] = schedule_inspections(ctx.context, int(ctx.params["campaign_id"]), year)
    ctx.progress(100, classified=sum(counts.values()))
    return result


@job_function(CERTIFICATE_IMPORT, queue="imports", timeout=1800)
def certificate_import(ctx):
    params = ctx.params
    dry_run = bool(params.get("dry_run"))
    data = storage_for(current_app).get_bytes(params["object_key"], ctx.tenant_id)
    # ImportFileError (a domain error) fails the job with its message
    profile, table = open_certificate_list(data, sheet=params.get("sheet"), mapping=params.get("mapping"))
    if not dry_run:
        nothing_dropped(table)
    reading = Reading(table, profile, explain=dry_run)
    ctx.progress(1, dry_run=dry_run)
    outcome = run_certificate_import(ctx.context, reading, dry_run, source=params.get("file_name"))
    if dry_run:
        db.session.rollback()  # nothing was written; ends the read transaction
    else:
        db.session.commit()
    result = {
        "dry_run": dry_run, "profile": profile.key, "file_name": params.get("file_name"),
        **table.plan(), **reading.summary(),
        "created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
        "expired": outcome.expired, "warnings": warnings(table, reading, outcome, dry_run),
    }
    if dry_run:
        result["changes"] = outcome.changes
        result["changes_truncated"] = (outcome.created + outcome.updated) > len(outcome.changes)
    ctx.progress(100, created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged,
                 rejected=len(reading.rejections))
    return result


def warnings(table, reading, outcome, dry_run: bool) -> list[str]:
    """The intake's warnings, with the columns only read to recognise the list and the
    certificates past their expiry."""
    out = reading.warnings(dry_run)
    after = sum(1 for c in table.ignored if c.how == "按映射忽略")  # the columns ignored first
    out[after:after] = [
        f"「{c.header}」（{c.letter}列）仅供识别，不导入（以企业台账为准）"
        for c in table.columns if c.field in INFORMATIONAL]
    if outcome.expired:
        out.append(f"{outcome.expired} 张证书已过有效期，仍按达标记录，请及时办理期满换证")
    return out
