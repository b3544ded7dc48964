"""Exports of the enterprise registry (.xlsx) through a job (``enterprise_export``)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, redirect

from anjian.api.blueprint import Blueprint
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.enterprises.jobs import EXPORT_KIND, EXPORT_URL_SECONDS
from anjian.enterprises.schemas import EnterpriseQuerySchema
from anjian.extensions import db
from anjian.jobs.api import JobSchema, accepted, readable_job, starts_a_job
from anjian.jobs.models import FINISHED
from anjian.jobs.service import enqueue
from anjian.storage.backends import ObjectNotFound
from anjian.storage.service import storage_for

blp = Blueprint("enterprise_exports", __name__,
                url_prefix="/api/v1/tenants/<tenant_code>/enterprise-exports",
                description="企业台账导出（Excel）")


class DownloadQuerySchema(ma.Schema):
    redirect = ma.fields.Boolean(load_default=True, metadata={
        "description": "true（默认）：302 重定向到下载链接；false：以 JSON 返回链接"})


class DownloadLinkSchema(ma.Schema):
    url = ma.fields.String(metadata={"description": "限时下载链接"})
    expires_in = ma.fields.Integer(metadata={"description": "有效秒数"})
    filename = ma.fields.String()


@blp.route("", methods=["POST"])
@blp.arguments(EnterpriseQuerySchema, required=False)
@blp.response(202, JobSchema)
@starts_a_job(blp)
@requires("enterprise.export")
def create_export(query, tenant_code):
    """导出企业台账（筛选条件同企业列表；后台任务，完成后下载 .xlsx）"""
    params = EnterpriseQuerySchema().dump(query or EnterpriseQuerySchema().load({}))
    job = enqueue(EXPORT_KIND, params)
    db.session.commit()
    return accepted(job)


@blp.route("/<job_id>/download")
@blp.arguments(DownloadQuerySchema, location="query")
@blp.response(200, DownloadLinkSchema, description="下载链接（redirect=false 时）")
@blp.alt_response(302, description="重定向到新的限时下载链接（默认）")
@blp.alt_response(404, description="导出任务不存在")
@blp.alt_response(409, description="导出尚未完成")
@requires("enterprise.export")
def download_export(query, tenant_code, job_id):
    """下载导出文件（重定向到新的限时链接）"""
    job = readable_job(job_id, kind=EXPORT_KIND, label="导出任务")
    result = job.result or {}
    if job.status != FINISHED or not result.get("object_key"):
        problem(409, f"导出文件尚未生成（任务状态：{job.status_label}）")
    storage = storage_for(current_app)
    try:
        url = storage.download_url(result["object_key"], job.tenant_id, result.get("filename"),
                                   expires_in=EXPORT_URL_SECONDS)
    except ObjectNotFound:
        problem(404, "导出文件已被删除")
    if not query["redirect"]:
        return {"url": url, "expires_in": EXPORT_URL_SECONDS, "filename": result.get("filename")}
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "private, no-store"
    return response
