"""Report rules: requesting a report, the job that makes it, and staff-entered figures.

Requesting (``request_report``) validates the parameters with the kind's schema,
adds a ``Report`` row and a ``report`` job (queue ``reports``); RQ hears of the
job only when the caller commits. The job (``run_report``, from
``anjian.reports.jobs.report``):

1. finds its ``Report`` (by id; or, fired by a schedule, by ``schedule_key`` =
   ``"report-<kind>@<slot>"``, creating it the first time: one report per slot);
2. computes the figures with the kind's ``compute`` inside **one read-only
   transaction** (REPEATABLE READ) under the tenant's scope: every figure is read from the same snapshot,
   whose time is ``snapshot_at``;
3. renders the format: ``xlsx`` through the kind's layout on a ``SafeWorkbook``
   (strings neutralised), ``pdf`` through weasyprint with the CJK font
   (``anjian.reports.pdf``), ``json`` kept in ``Report.data``; files go to object
   storage (kind ``reports``) under a platform-made key, with a Chinese file name
   as metadata;
4. marks the report ``ready``, or ``failed`` with a Chinese message (the job
   fails too, and a tenant admin may retry it like any job).

A report's status as shown (``status_expression``) also reads its job: a retried
report is ``queued`` again, one whose worker died (job abandoned) ``failed``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import io
import logging

from marshmallow import ValidationError
from sqlalchemy import and_, case, select

from anjian.clock import CHINA, local_now, utcnow
from anjian.db import jsonable
from anjian.errors import Defect, DomainError, NotFound, Refused, translate
from anjian.extensions import db
from anjian.jobs.models import Job
from anjian.reports.figures import period_start
from anjian.reports.kinds import (
    FIGURE_PERIODS,
    ReportKind,
    ReportKindError,
    kind_for,
    kind_of_schedule,
    kinds_for,
)
from anjian.reports.models import FORMATS, EnteredFigure, Report
from anjian.tenancy.service import as_tenant_info, tenant_info

log = logging.getLogger(__name__)

REPORT_JOB = "report"
URL_SECONDS = 600  # download links are short-lived; ask again for a fresh one
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
MAX_FIGURE = decimal.Decimal("99999999999999.99")  # Numeric(16, 2)


# --------------------------------------------------------------------------- kinds


def tenant_kinds(tenant) -> dict[str, ReportKind]:
    """The kinds of the core and of the tenant's enabled plugins (a broken one is a 500
    naming the plugin and the key); ``tenant`` is a Tenant or a hook's TenantInfo."""
    try:
        return kinds_for(as_tenant_info(tenant))
    except ReportKindError as exc:
        log.error("report kinds: %s", exc)
        raise Defect(f"报表类型定义有误（插件错误）：{exc}") from exc


def get_kind(tenant, key: str, field: str | None = None) -> ReportKind:
    """One of the tenant's kinds; unknown: 404, or 422 on ``field`` when a body named it."""
    kind = tenant_kinds(tenant).get(key)
    if kind is None:
        message = "报表类型不存在或未启用"
        if field:
            raise Refused(message, errors={field: [message]})
        raise NotFound(message)
    return kind


def load_params(kind: ReportKind, raw) -> dict:
    """The parameters loaded by the kind's schema; 422 with per-field Chinese messages."""
    try:
        return kind.schema().load(raw or {})
    except ValidationError as exc:
        raise Refused("报表参数校验失败", errors={"params": translate(exc.messages)}) \
            from exc


def stored_params(kind: ReportKind, loaded: dict) -> dict:
    """The loaded parameters as JSON (dumped by the same schema; loaded again by the job)."""
    return jsonable(kind.schema().dump(loaded), "params", decimals="number")


# --------------------------------------------------------------------------- requesting


def request_report(tenant, data: dict, user_id: int | None) -> tuple[Report, Job]:
    """Validate a request ``{kind, format, params}``; add the Report and its job (dispatched
    when the caller commits). 422 for an unknown kind, a format it lacks or bad params."""
    from anjian.jobs.service import enqueue

    kind = get_kind(tenant, data["kind"], field="kind")
    fmt = data["format"]
    if fmt not in kind.formats:
        message = f"该报表不提供此格式，可选：{'、'.join(kind.formats)}"
        raise Refused(message, errors={"format": [message]})
    params = stored_params(kind, load_params(kind, data.get("params")))
    report = Report(kind=kind.key, plugin=kind.plugin, title=kind.title[:300], format=fmt,
                    params=params, status="queued", requested_by=user_id)
    db.session.add(report)
    db.session.flush()
    job = enqueue(REPORT_JOB, {"report_id": report.id})
    report.job_id = job.id
    return report, job


# --------------------------------------------------------------------------- status as shown


def status_expression():
    """The status a report shows, in SQL (needs ``Job`` outer-joined): ready once made;
    otherwise its job's state, so a retried report is queued again and one whose worker
    died is failed."""
    return case(
        (Report.status == "ready", "ready"),
        (Job.status == "queued", "queued"),
        (Job.status == "started", "running"),
        (Job.status.in_(("failed", "abandoned")), "failed"),
        else_=Report.status)


def job_join():
    return and_(Job.tenant_id == Report.tenant_id, Job.id == Report.job_id)


def shown_status(report: Report, job: Job | None) -> tuple[str, str | None]:
    """``(status, error)`` as shown (the Python twin of ``status_expression``)."""
    if report.status == "ready" or job is None:
        return report.status, report.error
    status = {"queued": "queued", "started": "running", "failed": "failed",
              "abandoned": "failed"}.get(job.status, report.status)
    error = None
    if status == "failed":
        error = report.error or (job.error or "").split("\n", 1)[0] or "报表生成失败"
    return status, error


# --------------------------------------------------------------------------- the job


@contextlib.contextmanager
def snapshot(session):
    """One read-only transaction for every statement inside: the figures agree with each
    other. Yields the snapshot time (UTC). Ends with a rollback (nothing is written)."""
    session.commit()  # the snapshot must be the first read of its own transaction
    session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                          "postgresql_readonly": True})
    try:
        yield utcnow()
    finally:
        session.rollback()


def file_name(title: str, snapshot_at: dt.datetime, fmt: str) -> str:
    return f"{title}_{local_now(snapshot_at):%Y%m%d_%H%M}.{fmt}"


def render(kind: ReportKind, report: Report, data: dict, tenant, snapshot_at) -> bytes | None:
    """The file of one format (None for json: the data itself is the report)."""
    stamp = f"数据时间：{local_now(snapshot_at):%Y-%m-%d %H:%M}（北京时间）"
    if report.format == "xlsx":
        from anjian.xlsx import SafeWorkbook

        buffer = io.BytesIO()
        workbook = SafeWorkbook(buffer, {"in_memory": True})
        workbook.set_properties({
            "title": report.title, "company": tenant.name, "author": "安监平台",
            "comments": stamp,
            "created": snapshot_at.replace(tzinfo=None)})
        try:
            kind.xlsx(data=data, workbook=workbook)
        finally:
            workbook.close()
        return buffer.getvalue()
    if report.format == "pdf":
        from anjian.reports import pdf

        body = kind.html(data=data)
        if not isinstance(body, str):
            raise TypeError(f"html() returned {type(body).__name__}, not str")
        return pdf.render(body, title=report.title, tenant=tenant.name, footer=stamp)
    return None


def _failure(exc: Exception, title: str) -> tuple[str, str]:
    """(message for users, technical line) of an exception raised while making a report."""
    from anjian.reports.pdf import PdfError
    from anjian.storage import StorageError, UploadRejected

    technical = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, PdfError):
        return exc.message, exc.technical or technical
    if isinstance(exc, UploadRejected):
        return f"报表文件无法保存：{exc.message}", technical
    if isinstance(exc, StorageError):
        return "报表文件无法保存（存储不可用），请稍后重试", technical
    if isinstance(exc, ValidationError):
        return f"报表参数无效：{_messages(translate(exc.messages))}", technical
    if isinstance(exc, DomainError):  # JobError too: a rule said no, its message is the report's
        return exc.message, exc.technical or technical
    log.exception("report %s failed", title)
    return f"报表“{title}”生成失败（计算或排版出错），请联系管理员", technical


def _messages(messages) -> str:
    """marshmallow's messages as one line: ``week：须为周一；on：不是有效的日期``."""
    if isinstance(messages, dict):
        return "；".join(f"{key}：{_messages(value)}" for key, value in messages.items())
    if isinstance(messages, list):
        return "、".join(_messages(m) for m in messages)
    return str(messages)


def _scheduled_report(ctx, info) -> Report | None:
    """The report of a schedule's slot: found by its schedule key, or made (once per slot).
    A report not yet made takes its parameters from the schedule again (same slot, same
    parameters), so a retry after a refused slot can succeed. ``params`` returning None
    means the kind has nothing to report for this tenant and slot (e.g. outside its
    reporting period): no report is made (None)."""
    schedule, slot = ctx.params["schedule"], ctx.params["slot"]
    key = f"{schedule}@{slot}"
    report = db.session.scalar(select(Report).where(Report.schedule_key == key))
    if report is not None and report.status == "ready":
        return report
    kind = kind_for(info, kind_of_schedule(schedule) or "")
    if kind is None or kind.schedule is None:
        if report is not None:
            return report  # run_report fails it: the kind is gone
        from anjian.jobs.service import JobError

        raise JobError("定时报表的类型已不可用（插件未启用或已卸载）",
                       f"no report kind for schedule {schedule!r}")
    moment = dt.datetime.fromisoformat(slot).astimezone(CHINA)
    try:
        raw = kind.schedule.params(tenant=info, slot=moment)
    except Exception as exc:
        raw, failure = {}, exc
    else:
        failure = None
        if raw is None and report is None:
            return None
    if report is None:
        report = Report(kind=kind.key, plugin=kind.plugin, title=kind.title[:300],
                        format=kind.schedule.format, params={}, status="queued",
                        schedule_key=key, requested_by=None, job_id=ctx.job_id)
        db.session.add(report)
        db.session.commit()
    try:
        if failure is not None:
            raise failure
        report.params = stored_params(kind, kind.schema().load(raw or {}))
    except Exception as exc:
        _fail(report.id, *_failure(exc, report.title))
    return report


def _fail(report_id: int, message: str, technical: str):
    """Mark the report failed (in a fresh transaction) and fail the job with the message."""
    from anjian.jobs.service import JobError

    db.session.rollback()
    report = db.session.get(Report, report_id)
    if report is not None:
        report.status = "failed"
        report.error = message
        report.finished_at = utcnow()
        db.session.commit()
    raise JobError(message, technical)


def run_report(ctx, storage) -> dict:
    """The ``report`` job: compute, render, store one report (see the module docstring)."""
    from anjian.jobs.service import JobError
    from anjian.tenancy.models import Tenant

    tenant = db.session.get(Tenant, ctx.tenant_id)
    info = tenant_info(tenant)
    if "schedule" in ctx.params:
        report = _scheduled_report(ctx, info)
        if report is None:
            return {"schedule": ctx.params["schedule"], "slot": ctx.params["slot"],
                    "skipped": True, "reason": "本期无需生成"}
    else:
        report_id = ctx.params.get("report_id")
        report = db.session.get(Report, report_id) if isinstance(report_id, int) else None
        if report is None:
            raise JobError("报表记录不存在", f"report {ctx.params.get('report_id')!r} not found")
    result = {"report_id": report.id, "kind": report.kind, "format": report.format}
    if report.status == "ready":  # delivered again after it was made: nothing to redo
        return {**result, "status": "ready", "skipped": True}
    report_id, title = report.id, report.title
    try:
        kind = kind_for(info, report.kind)
        if kind is None:
            raise JobError("报表类型已不可用（插件未启用或已卸载）",
                           f"report kind {report.kind!r} not available to tenant {info.code}")
        params = kind.schema().load(report.params or {})
        report.status, report.error, report.job_id = "running", None, ctx.job_id
        db.session.commit()
        ctx.progress(5)
        with snapshot(db.session) as snapshot_at:
            data = kind.compute(tenant=info, params=params, snapshot_at=snapshot_at)
        if not isinstance(data, dict):
            raise TypeError(f"compute returned {type(data).__name__}, not dict")
        data = jsonable(data, "data", decimals="number")
        if isinstance(data.get("title"), str) and data["title"].strip():
            title = data["title"].strip()[:300]
        ctx.progress(50)
        report = db.session.get(Report, report_id)
        report.title = title
        content = render(kind, report, data, info, snapshot_at)
        stored = None
        if content is not None:
            stored = storage.put(
                ctx.tenant_id, "reports", content, CONTENT_TYPES[report.format],
                file_name(title, snapshot_at, report.format))
        report.status = "ready"
        report.snapshot_at = snapshot_at
        report.finished_at = utcnow()
        report.data = data if report.format == "json" else None
        if stored is not None:
            report.object_key, report.filename = stored.key, stored.original_name
            report.content_type, report.size = stored.content_type, stored.size
        db.session.commit()
    except Exception as exc:
        _fail(report_id, *_failure(exc, title))
    return {**result, "status": "ready", "title": title, "filename": report.filename,
            "size": report.size, "snapshot_at": report.snapshot_at.isoformat()}


# --------------------------------------------------------------------------- entered figures


def parse_period(kind: ReportKind, raw: str) -> dt.date:
    """The period named in a URL: an ISO date that starts one of the kind's periods."""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        message = "期间须为日期（YYYY-MM-DD）"
        raise Refused(message, errors={"period": [message]}) from None
    if period_start(day, kind.figures_period) != day:
        first = {"week": "周一", "month": "每月 1 日", "day": "当日"}[kind.figures_period]
        message = f"该报表按{FIGURE_PERIODS[kind.figures_period]}填报，期间须为{first}的日期"
        raise Refused(message, errors={"period": [message]})
    return day


def _entered_rows(kind: ReportKind, period: dt.date) -> dict[str, EnteredFigure]:
    """The kind's entered rows of one period, by key (one query)."""
    return {f.key: f for f in db.session.scalars(select(EnteredFigure).where(
        EnteredFigure.report_kind == kind.key, EnteredFigure.period == period))}


def figures_of(kind: ReportKind, period: dt.date) -> dict:
    """The kind's declared figures for one period, entered or not (one query)."""
    rows = _entered_rows(kind, period)
    figures = []
    for spec in kind.entered_figures:
        row = rows.get(spec.key)
        figures.append({"key": spec.key, "label": spec.label,
                        "value": row.value if row else None, "note": row.note if row else "",
                        "entered_by": row.entered_by if row else None,
                        "updated_at": row.updated_at if row else None})
    return {"kind": kind.key, "period": period, "figures_period": kind.figures_period,
            "figures": figures}


def put_figures(kind: ReportKind, period: dt.date, items: list[dict], user_id: int | None) -> None:
    """Enter figures of one period: each listed key is set (``value`` None removes it);
    keys the kind does not declare, or listed twice, are a 422 naming the item."""
    declared = kind.figure_keys
    errors: dict = {}
    seen: set[str] = set()
    for n, item in enumerate(items):
        if item["key"] not in declared:
            errors[str(n)] = {"key": [f"该报表没有填报项“{item['key']}”"]}
        elif item["key"] in seen:
            errors[str(n)] = {"key": ["同一填报项重复出现"]}
        seen.add(item["key"])
    if errors:
        raise Refused("填报数据校验失败", errors={"figures": errors})
    rows = _entered_rows(kind, period)
    for item in items:
        row = rows.get(item["key"])
        if item["value"] is None:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = EnteredFigure(report_kind=kind.key, period=period, key=item["key"])
            db.session.add(row)
        row.value = item["value"]
        row.note = item.get("note") or ""
        row.entered_by = user_id
    db.session.flush()


__all__ = ["CONTENT_TYPES", "FORMATS", "REPORT_JOB", "URL_SECONDS",
           "figures_of", "get_kind", "load_params", "put_figures", "request_report",
           "run_report", "shown_status", "snapshot", "status_expression", "tenant_kinds"]
