"""The platform admins' view of every tenant's jobs: failed ones, and a retry.

Reading all tenants is a deliberate, explicit scope: a read-only ``Scope`` naming
every tenant's id (``all_tenants_read_scope``), so the ORM filter and PostgreSQL's
Row-Level Security still apply — nothing here bypasses them. A retry then writes
in the one tenant the job belongs to, under that tenant's write scope, and is
audited there with the platform admin as the actor.
"""

from __future__ import annotations

import marshmallow as ma
from flask import g, url_for
from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.extensions import db
from anjian.jobs.api import JobSchema, RetrySchema, retry_and_accept, starts_a_job
from anjian.jobs.models import STATUSES, Job
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, set_scope

blp = Blueprint("jobs_admin", __name__, url_prefix="/api/v1/admin/jobs",
                description="后台任务（平台管理员）：各租户的任务、失败任务与重试")


class AdminJobSchema(JobSchema):
    tenant_code = ma.fields.String()
    tenant_name = ma.fields.String()


class AdminJobQuerySchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(list(STATUSES)))
    kind = ma.fields.String()
    tenant = ma.fields.String(metadata={"description": "租户代码"})


def all_tenants_read_scope(tenant_ids, user_id: int) -> Scope:
    """Read-only over the given tenants (no write tenant): the platform admin's job view."""
    return Scope(frozenset(tenant_ids), None, user_id)


def _tenants(code: str | None) -> dict[int, Tenant]:
    statement = select(Tenant)
    if code is not None:
        statement = statement.where(Tenant.code == code)
    return {t.id: t for t in db.session.scalars(statement)}


def _item(job: Job, tenants: dict[int, Tenant]) -> dict:
    tenant = tenants[job.tenant_id]
    body = JobSchema().dump(job) | {"tenant_code": tenant.code, "tenant_name": tenant.name}
    body["url"] = url_for("jobs.get_job", tenant_code=tenant.code, job_id=job.id)
    return body


@blp.route("")
@blp.arguments(AdminJobQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(AdminJobSchema))
@requires("platform_job.manage")
def list_all_jobs(query, pages):
    """所有租户的后台任务（可按状态、类型、租户筛选；最新的在前）"""
    tenants = _tenants(query.get("tenant"))
    if "tenant" in query and not tenants:
        problem(404, "租户不存在")
    set_scope(db.session, all_tenants_read_scope(tenants, g.user.id))
    statement = select(Job).order_by(Job.created_at.desc(), Job.id)
    if "status" in query:
        statement = statement.where(Job.status == query["status"])
    if "kind" in query:
        statement = statement.where(Job.kind == query["kind"])
    page = paginate(statement, pages["page"], pages["per_page"])
    page["items"] = [_item(job, tenants) for job in page["items"]]
    return page


@blp.route("/<job_id>/retry", methods=["POST"])
@blp.arguments(RetrySchema, required=False)
@blp.response(202, JobSchema)
@starts_a_job(blp, shared=False)
@requires("platform_job.manage")
def retry_any_job(data, job_id):
    """重试任一租户失败或中断的任务（平台管理员；记入该租户的审计日志）"""
    tenants = _tenants(None)
    set_scope(db.session, all_tenants_read_scope(tenants, g.user.id))
    job = get_or_404(Job, job_id, "任务")
    tenant = tenants[job.tenant_id]
    if not tenant.is_active:
        problem(409, f"租户「{tenant.name}」已停用，其任务不能重试")
    # The write happens in the job's own tenant, nowhere else.
    set_scope(db.session, Scope.tenant(tenant.id, g.user.id))
    g.tenant = tenant  # the job's URL names its tenant
    return retry_and_accept(job)
