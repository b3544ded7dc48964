import marshmallow as ma
from marshmallow import validate

from anjian.jobs.api import JobSchema
from anjian.reports.models import FORMATS, REPORT_STATUSES
from anjian.reports.service import MAX_FIGURE


class ReportKindSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    plugin = ma.fields.String(metadata={"description": "提供该报表的插件（anjian.defaults 为平台自带）"})
    formats = ma.fields.List(ma.fields.String(), metadata={"description": "xlsx、pdf、json 的子集"})
    parameters = ma.fields.Dict(metadata={"description": "请求参数（JSON Schema）"})
    entered_figures = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "需人工填报的数据项：key、label"})
    figures_period = ma.fields.String(metadata={"description": "填报周期：week、month、day"})
    schedule = ma.fields.Dict(allow_none=True, metadata={
        "description": "定时生成：cron（北京时间）、format；无则为 null"})


class ReportRequestSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.Length(min=1, max=80),
                            metadata={"description": "报表类型（见 report-kinds）"})
    format = ma.fields.String(required=True, validate=validate.OneOf(list(FORMATS)),
                              metadata={"description": "xlsx、pdf 或 json"})
    params = ma.fields.Dict(load_default=dict, metadata={"description": "该报表类型的参数"})


class ReportAcceptedSchema(JobSchema):
    """The job (its URL is the Location) and the report it makes."""

    report_id = ma.fields.Integer()
    report_url = ma.fields.String()


class ReportQuerySchema(ma.Schema):
    kind = ma.fields.String(validate=validate.Length(min=1, max=80))
    status = ma.fields.String(validate=validate.OneOf(list(REPORT_STATUSES)))
    format = ma.fields.String(validate=validate.OneOf(list(FORMATS)))


class ReportSchema(ma.Schema):
    """A report as the API shows it (dumps the dict of ``api.describe``)."""

    id = ma.fields.Integer()
    kind = ma.fields.String()
    plugin = ma.fields.String(allow_none=True)
    title = ma.fields.String()
    format = ma.fields.String()
    params = ma.fields.Dict()
    status = ma.fields.String(metadata={"description": "queued, running, ready, failed"})
    status_label = ma.fields.String()
    error = ma.fields.String(allow_none=True)
    job_id = ma.fields.String(allow_none=True)
    job_url = ma.fields.String(allow_none=True)
    schedule_key = ma.fields.String(allow_none=True, metadata={
        "description": "定时生成的报表：report-<类型>@<时间点>；人工请求为 null"})
    requested_by = ma.fields.Integer(allow_none=True)
    requested_by_name = ma.fields.String(allow_none=True)
    snapshot_at = ma.fields.DateTime(allow_none=True, metadata={"description": "数据读取时间"})
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    filename = ma.fields.String(allow_none=True)
    content_type = ma.fields.String(allow_none=True)
    size = ma.fields.Integer(allow_none=True)
    url = ma.fields.String()
    download = ma.fields.String(allow_none=True, metadata={
        "description": "下载地址（重定向到新的限时链接）；未生成或 JSON 格式为 null"})


class ReportDetailSchema(ReportSchema):
    download_url = ma.fields.String(allow_none=True, metadata={"description": "限时下载链接"})
    download_url_expires_in = ma.fields.Integer(allow_none=True)
    data = ma.fields.Raw(allow_none=True, metadata={"description": "JSON 格式报表的数据"})


class ReportDownloadQuerySchema(ma.Schema):
    redirect = ma.fields.Boolean(load_default=True, metadata={
        "description": "true（默认）：302 重定向到下载链接；false：以 JSON 返回链接"})


class ReportDownloadLinkSchema(ma.Schema):
    url = ma.fields.String(metadata={"description": "限时下载链接"})
    expires_in = ma.fields.Integer(metadata={"description": "有效秒数"})
    filename = ma.fields.String()


class EnteredFigureSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    value = ma.fields.Float(allow_none=True)
    note = ma.fields.String()
    entered_by = ma.fields.Integer(allow_none=True)
    updated_at = ma.fields.DateTime(allow_none=True)


class EnteredFiguresSchema(ma.Schema):
    kind = ma.fields.String()
    period = ma.fields.Date(metadata={"description": "期间的第一天（按周填报为周一）"})
    figures_period = ma.fields.String()
    figures = ma.fields.List(ma.fields.Nested(EnteredFigureSchema))


class EnteredFigureInSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    value = ma.fields.Decimal(required=True, allow_none=True, places=2,
                              validate=validate.Range(min=0, max=MAX_FIGURE),
                              metadata={"description": "数值（≥ 0，两位小数）；null 删除该项"})
    note = ma.fields.String(load_default="", validate=validate.Length(max=2000))


class EnteredFiguresInSchema(ma.Schema):
    figures = ma.fields.List(ma.fields.Nested(EnteredFigureInSchema), required=True,
                             validate=validate.Length(max=500))
