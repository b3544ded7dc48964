"""Importing the enterprise registry over HTTP: template, profiles, upload, rejected rows."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app
from flask_smorest.fields import Upload

from anjian.api import jsonio
from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.list_imports import start_list_import
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.enterprises.importing.profiles import enterprise_profile, profiles_for
from anjian.enterprises.importing.reading import open_list
from anjian.enterprises.importing.workbooks import template_workbook
from anjian.enterprises.jobs import KIND
from anjian.extensions import db
from anjian.jobs.api import JobSchema, accepted, readable_job, starts_a_job
from anjian.storage.backends import XLSX, content_disposition
from anjian.storage.service import storage_for

blp = Blueprint("enterprise_imports", __name__,
                url_prefix="/api/v1/tenants/<tenant_code>/enterprise-imports",
                description="企业台账导入（Excel / CSV）")


class ColumnMapping(ma.fields.String):
    """A form field holding a JSON object: column (header as written, or letter) → field
    name, label or "ignore"."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            return None
        try:
            mapping = jsonio.loads(text)
        except ValueError as exc:
            raise ma.ValidationError('须为 JSON 对象，如 {"备注": "ignore"}') from exc
        if (not isinstance(mapping, dict) or len(mapping) > 500
                or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= 200 and len(v) <= 80
                           for k, v in mapping.items())):
            raise ma.ValidationError('须为 {"列": "字段"} 形式的 JSON 对象（列名与字段名均为字符串）')
        return mapping


class EnterpriseImportOptionsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    dry_run = ma.fields.Boolean(load_default=False,
                                metadata={"description": "试运行：只报告将发生的变化，不写入"})
    profile = ma.fields.String(load_default=None, allow_none=True,
                               validate=ma.validate.Length(max=80),
                               metadata={"description": "导入模板（表头映射），默认 core"})
    sheet = ma.fields.String(load_default=None, allow_none=True,
                             validate=ma.validate.Length(max=31),
                             metadata={"description": "工作表名称；不填则自动找出含企业名单的工作表"})
    mapping = ColumnMapping(
        load_default=None, allow_none=True,
        metadata={"description": '列与字段的对应（JSON 对象）：{"表头或列字母": "字段名或中文标签" 或 "ignore"}，'
                                 '如 {"企业名字": "name", "备注": "ignore"}'})


class EnterpriseImportUploadSchema(EnterpriseImportOptionsSchema):
    """The multipart body: the file, plus the options as form fields."""

    file = Upload(required=True, metadata={
        "description": ".xlsx、.xls、.ods 或 .csv（UTF-8、UTF-16 或 GB18030/GBK）"})


class ImportFieldSchema(ma.Schema):
    name = ma.fields.String()
    label = ma.fields.String()
    aliases = ma.fields.List(ma.fields.String(), metadata={"description": "能识别的其他列名"})
    required = ma.fields.Boolean()


class ImportProfileSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    plugin = ma.fields.String()
    fields = ma.fields.List(ma.fields.Nested(ImportFieldSchema))
    sheet = ma.fields.String(allow_none=True)
    header_row = ma.fields.Integer(allow_none=True)


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
    response = Response(template_workbook(enterprise_profile(request_context())),
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
    """可用的导入模板：每个字段的中文标签与能识别的其他列名（含本租户已启用插件增加的列名和扩展字段）"""
    return profiles_for(request_context())


@blp.route("", methods=["POST"])
@blp.arguments(EnterpriseImportUploadSchema, location="files", content_type="multipart/form-data")
@blp.response(202, JobSchema)
@starts_a_job(blp)
@requires("enterprise.import")
def upload(files, tenant_code):
    """上传企业名单并开始导入（或试运行）；返回任务（202，Location 指向任务）。

    名单可带标题行、合并表头、两行表头、序号列、合计行；表头与列的对应在上传时确定，
    无法对应的列须在 mapping 中说明（指定字段或忽略），否则正式导入以 422 拒绝并给出导入计划；
    试运行（dry_run）不写入，任务结果即导入计划。"""
    context = request_context()
    job = start_list_import(files, EnterpriseImportOptionsSchema, kind=KIND, open_table=lambda data, options: open_list(
        context, data, profile=options["profile"], sheet=options["sheet"], mapping=options["mapping"]))
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
