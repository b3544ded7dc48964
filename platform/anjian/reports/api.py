"""Reports over HTTP: kinds, requests (a ``reports`` job each), status, downloads, and the
figures staff enter per period."""

from __future__ import annotations

from flask import current_app, g, redirect, url_for
from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.audit.service import record_event
from anjian.auth.models import User
from anjian.extensions import db
from anjian.jobs.api import accepted, starts_a_job
from anjian.jobs.models import Job
from anjian.reports import service
from anjian.reports.models import REPORT_STATUSES, Report
from anjian.reports.schemas import (
    EnteredFiguresInSchema,
    EnteredFiguresSchema,
    FiguresQuerySchema,
    ReportAcceptedSchema,
    ReportDetailSchema,
    ReportDownloadLinkSchema,
    ReportDownloadQuerySchema,
    ReportKindSchema,
    ReportQuerySchema,
    ReportRequestSchema,
    ReportSchema,
)
from anjian.storage.backends import ObjectNotFound
from anjian.storage.service import storage_for

blp = Blueprint("reports", __name__, url_prefix="/api/v1/tenants/<tenant_code>/reports",
                description="报表：后台生成（Excel、PDF、JSON）、下载、人工填报数据")
kinds_blp = Blueprint("report_kinds", __name__,
                      url_prefix="/api/v1/tenants/<tenant_code>/report-kinds",
                      description="报表类型（平台自带与本单位启用的插件提供）")


def describe(report: Report, job: Job | None, requested_by_name: str | None, tenant_code: str,
             detail: bool = False) -> dict:
    """The report as the API shows it; ``detail`` adds a fresh download link and, for the
    JSON format, the data."""
    status, error = service.shown_status(report, job)
    out = {
        "id": report.id, "kind": report.kind, "plugin": report.plugin, "title": report.title,
        "format": report.format, "params": report.params, "status": status,
        "status_label": REPORT_STATUSES.get(status, status), "error": error,
        "job_id": report.job_id, "schedule_key": report.schedule_key,
        "requested_by": report.requested_by, "requested_by_name": requested_by_name,
        "enterprise_id": report.enterprise_id,
        "snapshot_at": report.snapshot_at, "created_at": report.created_at,
        "finished_at": report.finished_at, "filename": report.filename,
        "content_type": report.content_type, "size": report.size,
        "url": url_for("reports.get_report", tenant_code=tenant_code, report_id=report.id),
        "job_url": (url_for("jobs.get_job", tenant_code=tenant_code, job_id=report.job_id)
                    if report.job_id else None),
        "download": None,
    }
    if status == "ready" and report.object_key:
        out["download"] = url_for("reports.download_report", tenant_code=tenant_code,
                                  report_id=report.id)
    if detail:
        out["download_url"] = download_url(report) if out["download"] else None
        out["download_url_expires_in"] = service.URL_SECONDS if out["download_url"] else None
        out["data"] = report.data if report.format == "json" and status == "ready" else None
    return out


def download_url(report: Report) -> str | None:
    """A fresh short-lived link to the report's file (its own tenant's key only)."""
    try:
        return storage_for(current_app).download_url(
            report.object_key, report.tenant_id, report.filename, expires_in=service.URL_SECONDS,
            content_type=report.content_type)
    except ObjectNotFound:
        return None


def _kind_view(kind, converter) -> dict:
    schedule = None
    if kind.schedule is not None:
        schedule = {"cron": kind.schedule.cron, "timezone": "Asia/Shanghai",
                    "format": kind.schedule.format, "key": kind.schedule_key}
    return {"key": kind.key, "title": kind.title, "description": kind.description,
            "plugin": kind.plugin, "formats": list(kind.formats),
            "parameters": converter.schema2jsonschema(kind.schema()),
            "entered_figures": [{"key": f.key, "label": f.label, "kind": f.kind, "unit": f.unit,
                                 "part_of": f.part_of} for f in kind.entered_figures],
            "figures_period": kind.figures_period, "schedule": schedule}


@kinds_blp.route("")
@kinds_blp.response(200, ReportKindSchema(many=True))
@requires("report.read")
def list_kinds(tenant_code):
    """本单位可用的报表类型：参数（JSON Schema）、格式、填报项、定时生成"""
    converter = current_app.extensions["anjian.api"].ma_plugin.converter
    kinds = service.tenant_kinds(request_context())
    return [_kind_view(kind, converter) for kind in kinds.values()]


def _rows(stmt):
    """(Report, Job | None, username | None) rows of a Report statement."""
    return (stmt.add_columns(Job, User.username)
            .outerjoin(Job, service.job_join())
            .outerjoin(User, User.id == Report.requested_by))


@blp.route("")
@blp.arguments(ReportQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ReportSchema))
@requires("report.read_delivered")
def list_reports(query, pages, tenant_code):
    """报表列表（可按类型、状态、格式筛选；新的在前）。第三方服务机构只看到本机构请求的报表和关于其服务企业的报表"""
    stmt = _rows(select(Report).where(service.readable(request_context())))
    if "kind" in query:
        stmt = stmt.where(Report.kind == query["kind"])
    if "format" in query:
        stmt = stmt.where(Report.format == query["format"])
    if "status" in query:
        stmt = stmt.where(service.status_expression() == query["status"])
    stmt = stmt.order_by(Report.created_at.desc(), Report.id.desc())
    page = paginate(stmt, pages["page"], pages["per_page"], scalars=False)
    page["items"] = [describe(report, job, name, tenant_code)
                     for report, job, name in page["items"]]
    return page


@blp.route("", methods=["POST"])
@blp.arguments(ReportRequestSchema)
@blp.response(202, ReportAcceptedSchema)
@starts_a_job(blp)
@blp.alt_response(422, description="未知的报表类型、不提供的格式或参数无效（逐字段说明）")
@requires("report.request")
def create_report(data, tenant_code):
    """生成报表（后台任务：202 与任务地址；完成后在报表详情中下载）"""
    report, job = service.request_report(request_context(), data)
    db.session.commit()
    body, status, headers = accepted(job)
    body = {**body, "report_id": report.id,
            "report_url": url_for("reports.get_report", tenant_code=tenant_code,
                                  report_id=report.id)}
    return body, status, headers


def _report(report_id: int):
    """(Report, Job | None, username | None) in one statement, as the list reads them; a
    report missing, of another tenant or not the caller's to read is one and the same
    (logged) 404."""
    row = db.session.execute(_rows(select(Report).where(
        Report.id == report_id, service.readable(request_context())))).one_or_none()
    if row is None:
        record_event(db.engine, action="denied.not_found", tenant_id=g.tenant.id,
                     actor_user_id=g.user.id, entity_type=Report.__tablename__,
                     entity_id=str(report_id), request_id=g.get("request_id"))
        problem(404, "报表不存在")
    return tuple(row)


@blp.route("/<int:report_id>")
@blp.response(200, ReportDetailSchema)
@requires("report.read_delivered")
def get_report(tenant_code, report_id):
    """报表详情：参数、请求人、数据时间、状态；已生成的给出限时下载链接，JSON 格式附数据"""
    report, job, name = _report(report_id)
    return describe(report, job, name, tenant_code, detail=True)


@blp.route("/<int:report_id>/download")
@blp.arguments(ReportDownloadQuerySchema, location="query")
@blp.response(200, ReportDownloadLinkSchema, description="下载链接（redirect=false 时）")
@blp.alt_response(302, description="重定向到新的限时下载链接（默认）")
@blp.alt_response(404, description="报表不存在或文件已被删除")
@blp.alt_response(409, description="报表尚未生成，或为 JSON 格式（无文件）")
@requires("report.read_delivered")
def download_report(query, tenant_code, report_id):
    """下载报表文件（重定向到新的限时链接）"""
    report, job, _name = _report(report_id)
    status, _error = service.shown_status(report, job)
    if report.format == "json":
        problem(409, "JSON 格式的报表没有文件，数据见报表详情的 data")
    if status != "ready" or not report.object_key:
        problem(409, f"报表尚未生成（状态：{REPORT_STATUSES.get(status, status)}）")
    url = download_url(report)
    if url is None:
        problem(404, "报表文件已被删除")
    if not query["redirect"]:
        return {"url": url, "expires_in": service.URL_SECONDS, "filename": report.filename}
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- entered figures ------------------------------------------------------------------------


@blp.route("/figures/<kind>/<period>")
@blp.etag
@blp.arguments(FiguresQuerySchema, location="query")
@blp.response(200, EnteredFiguresSchema)
@blp.alt_response(404, description="报表类型不存在或未启用")
@blp.alt_response(422, description="期间不是该报表填报周期的第一天")
@requires("figures.read")
def get_figures(args, tenant_code, kind, period):
    """某期间的人工填报数据（该报表声明的每一项，未填为 null）；office 指定科室时为该科室填报的数据"""
    ctx = request_context()
    report_kind = service.get_kind(ctx, kind)
    office = service.parse_office(ctx, report_kind, args["office"])
    return service.figures_of(ctx, report_kind, service.parse_period(report_kind, period), office)


@blp.route("/figures/<kind>/<period>", methods=["PUT"])
@blp.etag
@blp.arguments(FiguresQuerySchema, location="query")
@blp.arguments(EnteredFiguresInSchema)
@blp.response(200, EnteredFiguresSchema)
@blp.alt_response(404, description="报表类型不存在或未启用")
@blp.alt_response(422, description="未声明的填报项、重复项或数值无效（逐项说明）")
@requires("figures.enter")
def put_figures(args, data, tenant_code, kind, period):
    """填报某期间的数据（只含该报表声明的项；value 为 null 删除该项；需 If-Match）

    设有科室的单位可用 office 按科室分别填报；汇总表为本级与各科室之和。"""
    ctx = request_context()
    report_kind = service.get_kind(ctx, kind)
    day = service.parse_period(report_kind, period)
    office = service.parse_office(ctx, report_kind, args["office"])
    blp.check_etag(service.figures_of(ctx, report_kind, day, office), EnteredFiguresSchema)
    service.put_figures(ctx, report_kind, day, data["figures"], office)
    db.session.commit()
    return service.figures_of(ctx, report_kind, day, office)
