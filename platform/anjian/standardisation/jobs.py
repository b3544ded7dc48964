"""The standardisation's jobs: ``standardisation_classify`` (queue ``default``) classifies
every enterprise of the tenant with its plugin's supervision classes."""

from __future__ import annotations

from anjian.jobs.service import job_function
from anjian.standardisation.classes import classify

CLASSIFY = "standardisation_classify"


@job_function(CLASSIFY, queue="default", timeout=1800)
def classify_enterprises(ctx):
    counts = classify(ctx.context, lambda n, total: ctx.progress(min(95, 100 * n // max(total, 1))))
    ctx.progress(100, classified=sum(counts.values()))
    return {"classes": counts, "classified": sum(counts.values())}
