import decimal

import marshmallow as ma
from marshmallow import validate

from anjian.jobs.api import JobSchema
from anjian.reports.models import FORMATS, REPORT_STATUSES
from anjian.reports.service import MAX_FIGURE, YES_NO


class ReportKindSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    plugin = ma.fields.String(metadata={"description": "提供该报表的插件（anjian.defaults 为平台自带）"})
    formats = ma.fields.List(ma.fields.String(), metadata={"description": "xlsx、pdf、json 的子集"})
    parameters = ma.fields.Dict(metadata={"description": "请求参数（JSON Schema）"})
    entered_figures = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "需人工填报的数据项：key、label、kind（number 数值、count 整数、amount 金额、"
                       "yes_no 是/否）、unit、part_of（其中项所属总数的 key）"})
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
    enterprise_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "报表所关于的企业（如一家企业的复查验收报告）；服务该企业的第三方机构可读取"})
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


class FigureValue(ma.fields.Field):
    """An entered figure's value: a number ≥ 0 (a JSON number, or a string of one), or the
    answer 是 / 否 of a yes/no figure; which one a figure takes, its kind says (checked when
    entered, ``reports.service``)."""

    default_error_messages = {"invalid": "须为数字，或“是”“否”",
                              "range": f"须在 0 到 {MAX_FIGURE} 之间"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip() in YES_NO:
            return value.strip()
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.make_error("invalid")
        try:
            number = decimal.Decimal(str(value).strip())
        except (decimal.InvalidOperation, ValueError):
            raise self.make_error("invalid") from None
        if not number.is_finite():
            raise self.make_error("invalid")
        if not 0 <= number <= MAX_FIGURE:
            raise self.make_error("range")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return float(value)


class EnteredFigureSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "number 数值、count 整数、amount 金额、"
                                                     "yes_no 是/否"})
    unit = ma.fields.String(metadata={"description": "单位（人、次、万元 ……）"})
    part_of = ma.fields.String(allow_none=True, metadata={
        "description": "其中项：所属总数的 key（不能大于该项）"})
    value = FigureValue(allow_none=True, metadata={
        "description": "数值；是/否项为“是”或“否”；未填为 null",
        "oneOf": [{"type": "number"}, {"type": "string", "enum": list(YES_NO)}]})
    note = ma.fields.String()
    entered_by = ma.fields.Integer(allow_none=True)
    updated_at = ma.fields.DateTime(allow_none=True)


class EnteredFiguresSchema(ma.Schema):
    kind = ma.fields.String()
    period = ma.fields.Date(metadata={"description": "期间的第一天（按周填报为周一）"})
    figures_period = ma.fields.String()
    office = ma.fields.String(metadata={"description": "填报的科室；空为本单位（局本级）"})
    figures = ma.fields.List(ma.fields.Nested(EnteredFigureSchema))


class FiguresQuerySchema(ma.Schema):
    office = ma.fields.String(load_default="", validate=validate.Length(max=80), metadata={
        "description": "科室（报表按科室填报时）：该科室自己的数据；不填为本单位（局本级）的数据"})


class EnteredFigureInSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    value = FigureValue(required=True, allow_none=True, metadata={
        "description": "数值（≥ 0，至多两位小数；整数项须为整数）；是/否项只填“是”或“否”；"
                       "null 删除该项",
        "oneOf": [{"type": "number", "minimum": 0}, {"type": "string"}]})
    note = ma.fields.String(load_default="", validate=validate.Length(max=2000))


class EnteredFiguresInSchema(ma.Schema):
    figures = ma.fields.List(ma.fields.Nested(EnteredFigureInSchema), required=True,
                             validate=validate.Length(max=500))
