"""The channels' job (queue ``notifications``): one attempt at one delivery."""

from __future__ import annotations

from flask import current_app

from anjian.channels.service import JOB_KIND, deliver
from anjian.jobs.service import JobContext, job_function
from anjian.storage.service import storage_for


@job_function(JOB_KIND, queue="notifications", timeout=120)
def channel_delivery(ctx: JobContext) -> dict:
    """Send one delivery (``delivery_id``) on its channel; a failure is retried by a job
    enqueued after its backoff (``anjian.channels.service.deliver``)."""
    return deliver(ctx.context, int(ctx.params["delivery_id"]), storage_for(current_app))
