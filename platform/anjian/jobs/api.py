"""Background jobs over HTTP: list, status and progress, retry; ``accepted`` for other views."""

from __future__ import annotations

import marshmallow as ma
from flask import g, url_for
from sqlalchemy import select

from anjian import permissions
from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.extensions import db
from anjian.jobs import service
from anjian.jobs.models import STATUSES, Job
from anjian.tenancy.models import Tenant

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/tenants/<tenant_code>/jobs",
                description="后台任务：状态、进度、结果与重试")


class _DateTime(ma.fields.DateTime):
    """Also passes through a datetime already dumped (``accepted`` bodies are dumped twice)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class JobSchema(ma.Schema):
    """A job as the API shows it (dumps a Job or a dict already dumped)."""

    id = ma.fields.String()
    kind = ma.fields.String()
    queue = ma.fields.String()
    status = ma.fields.String(
        metadata={"description": "queued, started, finished, failed, abandoned"})
    status_label = ma.fields.String()
    progress_percent = ma.fields.Integer()
    counts = ma.fields.Dict()
    params = ma.fields.Dict()
    result = ma.fields.Raw(allow_none=True)
    error = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer()
    actor_user_id = ma.fields.Integer(allow_none=True)
    created_at = _DateTime()
    started_at = _DateTime(allow_none=True)
    finished_at = _DateTime(allow_none=True)
    heartbeat_at = _DateTime(allow_none=True)
    url = ma.fields.Method("get_url")

    def get_url(self, obj):
        if isinstance(obj, dict):
            return obj.get("url")
        return job_url(obj)


class JobQuerySchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(list(STATUSES)))
    kind = ma.fields.String()


class RetrySchema(ma.Schema):
    """An optional note on why the job is retried (accepted; not stored yet)."""

    reason = ma.fields.String(validate=ma.validate.Length(max=200))


def job_url(job: Job) -> str:
    code = g.tenant.code if g.get("tenant") is not None and g.tenant.id == job.tenant_id else None
    if code is None:
        code = db.session.get(Tenant, job.tenant_id).code
    return url_for("jobs.get_job", tenant_code=code, job_id=job.id)


def accepted(job: Job):
    """``202 Accepted`` with the job's URL in Location; call it after ``db.session.commit()``.

    Answers 503 (Retry-After) if the job could not be handed to the queue at commit.
    Use as ``return accepted(job)`` from a view declared ``@blp.response(202, JobSchema)``
    (or with no response schema).
    """
    if service.dispatch_failed(job):
        raise service.QueueUnavailable()
    body = JobSchema().dump(job)
    return body, 202, {"Location": body["url"]}


def starts_a_job(blueprint: Blueprint, *, shared: bool = True):
    """Declare (OpenAPI) the refusals of a route that queues a job, besides its 202: the
    queue unavailable (503) and, for a new job (``shared``; not a retry), the tenant's
    share of open jobs used up (429); problem+json with Retry-After."""
    def decorate(view):
        if shared:
            view = blueprint.alt_response(
                429, description="本单位排队或运行中的后台任务已达上限"
                                 "（ANJIAN_JOBS_OPEN_PER_TENANT），请按 Retry-After 稍后再试")(view)
        return blueprint.alt_response(
            503, description="任务队列暂不可用，请按 Retry-After 稍后再试")(view)
    return decorate


def readable_job(job_id: str, kind: str | None = None, label: str = "任务") -> Job:
    """A job the caller may read: admins read all, others the jobs they started.

    ``kind`` narrows it to one job kind (an export's download, an import's rejected
    rows); any other job answers 404 like a missing one.
    """
    job = get_or_404(Job, job_id, label)
    if (kind is not None and job.kind != kind) or (
        not permissions.allows(g.access.role, "job.read_all") and job.actor_user_id != g.user.id
    ):
        problem(404, f"{label}不存在")
    return job


@blp.route("")
@blp.arguments(JobQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(JobSchema))
@requires("job.read_all")
def list_jobs(query, pages, tenant_code):
    """后台任务列表（可按状态、类型筛选）"""
    stmt = select(Job).order_by(Job.created_at.desc(), Job.id)
    if "status" in query:
        stmt = stmt.where(Job.status == query["status"])
    if "kind" in query:
        stmt = stmt.where(Job.kind == query["kind"])
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("/<job_id>")
@blp.response(200, JobSchema)
@requires("job.read")
def get_job(tenant_code, job_id):
    """任务状态、进度、结果与错误（管理员可看全部，其他角色只看自己发起的）"""
    return readable_job(job_id)


@blp.route("/<job_id>/retry", methods=["POST"])
@blp.arguments(RetrySchema, required=False)
@blp.response(202, JobSchema)
@starts_a_job(blp, shared=False)
@requires("job.retry")
def retry_job(data, tenant_code, job_id):
    """重试失败或中断的任务（租户管理员）"""
    return retry_and_accept(get_or_404(Job, job_id, "任务"))


def retry_and_accept(job: Job):
    """Retry a failed or abandoned job (409 otherwise: JobStateError), commit, answer 202
    with its URL."""
    service.retry(job)
    db.session.commit()
    return accepted(job)
