"""Importing the enterprise registry over HTTP: template, profiles, upload, rejected rows."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app, request
from flask_smorest.fields import Upload

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.enterprises.importing.profiles import (
    ImportFileError,
    find_profile,
    profiles_for,
    with_plugin_columns,
)
from anjian.enterprises.importing.reading import parse
from anjian.enterprises.importing.workbooks import template_workbook
from anjian.enterprises.jobs import KIND
from anjian.extensions import db
from anjian.jobs.api import JobSchema, accepted, readable_job, starts_a_job
from anjian.jobs.service import enqueue
from anjian.storage.backends import XLSX, content_disposition
from anjian.storage.service import storage_for

blp = Blueprint("enterprise_imports", __name__,
                url_prefix="/api/v1/tenants/<tenant_code>/enterprise-imports",
                description="企业台账导入（Excel / CSV）")


class EnterpriseImportOptionsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    dry_run = ma.fields.Boolean(load_default=False,
                                metadata={"description": "试运行：只报告将发生的变化，不写入"})
    profile = ma.fields.String(load_default=None, allow_none=True,
                               validate=ma.validate.Length(max=80),
                               metadata={"description": "导入模板（表头映射），默认 core"})


class EnterpriseImportUploadSchema(EnterpriseImportOptionsSchema):
    """The multipart body: the file, plus the options as form fields."""

    file = Upload(required=True, metadata={"description": ".xlsx 或 .csv（UTF-8 / GB18030）"})


class ImportProfileSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    plugin = ma.fields.String()
    headers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    sheet = ma.fields.String(allow_none=True)
    header_row = ma.fields.Integer()


class RejectedRowsSchema(ma.Schema):
    url = ma.fields.String(metadata={"description": "限时下载链接（未导入的行及原因）"})
    expires_in = ma.fields.Integer()
    rejected = ma.fields.Integer()


@blp.route("/template")
@blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX,
              description="空白导入模板（.xlsx）")
@requires("enterprise.import")
def download_template(tenant_code):
    """下载空白导入模板（表头、列宽、是/否与规模下拉选项；含本单位启用插件的扩展字段列）"""
    response = Response(template_workbook(find_profile(request_context(), None)),
                        status=200,
                        content_type=XLSX)
    response.headers["Content-Disposition"] = content_disposition("企业台账导入模板.xlsx")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/profiles")
@blp.response(200, ImportProfileSchema(many=True))
@requires("enterprise.import")
def list_profiles(tenant_code):
    """可用的导入模板（核心模板及本租户已启用插件提供的表头映射，含插件扩展字段列）"""
    context = request_context()
    return [{**with_plugin_columns(context, p), "plugin": p.get("plugin", "anjian.defaults")}
            for p in profiles_for(context)]


@blp.route("", methods=["POST"])
@blp.arguments(EnterpriseImportUploadSchema, location="files", content_type="multipart/form-data")
@blp.response(202, JobSchema)
@starts_a_job(blp)
@requires("enterprise.import")
def upload(files, tenant_code):
    """上传企业名单（.xlsx / .csv）并开始导入；返回任务（202，Location 指向任务）"""
    # webargs reads the "files" location only: the options come from the form fields.
    try:
        options = EnterpriseImportOptionsSchema().load(request.form.to_dict())
    except ma.ValidationError as exc:
        problem(422, "导入选项无效", errors=exc.messages)
    upload_file = files["file"]
    try:
        data = upload_file.read()
    finally:
        upload_file.close()
    name = upload_file.filename or "upload"
    context = request_context()
    try:
        profile = find_profile(context, options["profile"])
    except ImportFileError as exc:  # told on the form's profile field
        exc.on("profile")
        raise
    storage = storage_for(current_app)
    obj = storage.put(context.tenant_id, "imports", data, upload_file.mimetype, name)  # UploadRejected: 413/415/422
    try:  # the header row now: a file that cannot be imported is refused at once
        parse(data, obj.content_type, profile)
    except ImportFileError as exc:  # told on the form's file field
        storage.delete(obj.key, context.tenant_id)
        exc.on("file")
        raise
    try:
        job = enqueue(KIND, {
            "object_key": obj.key, "content_type": obj.content_type,
            "file_name": obj.original_name, "size": obj.size, "sha256": obj.sha256,
            "dry_run": options["dry_run"], "profile": profile["key"],
            "tenant_code": context.tenant.code,
        })
    except Exception:  # Redis down (503), the tenant's share of jobs used up (429), ...:
        storage.delete(obj.key, context.tenant_id)  # no stored file left behind
        raise
    db.session.commit()
    return accepted(job)


@blp.route("/<job_id>/rejected")
@blp.response(200, RejectedRowsSchema)
@requires("enterprise.import")
def rejected_rows(tenant_code, job_id):
    """未导入的行（.xlsx，含行号、列与原因）的限时下载链接"""
    job = readable_job(job_id, kind=KIND)
    result = job.result or {}
    if not result.get("rejected_rows_key"):
        problem(404, "该任务没有未导入的行")
    url = storage_for(current_app).download_url(
        result["rejected_rows_key"], request_context().tenant_id, filename="未导入的行.xlsx",
        content_type=XLSX, expires_in=600)
    return {"url": url, "expires_in": 600, "rejected": result.get("rejected", 0)}
