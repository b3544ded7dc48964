"""Report rules: requesting a report, the job that makes it, and staff-entered figures.

Every function that reads or writes a tenant's reports takes the ``Context`` first (the
request's, or the job's); nothing here reads Flask. Requesting (``request_report``)
validates the parameters with the kind's schema, adds a ``Report`` row and a ``report``
job (queue ``reports``); RQ hears of the job only when the caller commits. The job (``run_report``, from
``anjian.reports.jobs.report``, with the job's context, parameters, storage and
progress):

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
from sqlalchemy import and_, case, false, or_, select, true

from anjian import notifications
from anjian.clock import CHINA, local_now, local_today, utcnow
from anjian.context import Context
from anjian.db import MAX_ID, jsonable
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Defect, DomainError, NotFound, Refused, translate
from anjian.extensions import db
from anjian.jobs.models import Job
from anjian.jobs.service import JobError, enqueue
from anjian.permissions import allows
from anjian.reports.figures import period_start
from anjian.reports.kinds import (
    FIGURE_PERIODS,
    ReportKind,
    ReportKindError,
    kind_for,
    kind_of_schedule,
    kinds_for,
    tenant_of,
)
from anjian.reports.models import FORMATS, EnteredFigure, Report
from anjian.reports.pdf import PdfError
from anjian.reports.pdf import render as render_pdf
from anjian.services.models import ServiceOrgStaff
from anjian.storage.backends import StorageError, UploadRejected
from anjian.xlsx import SafeWorkbook

log = logging.getLogger(__name__)

REPORT_JOB = "report"
URL_SECONDS = 600  # download links are short-lived; ask again for a fresh one
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
MAX_FIGURE = decimal.Decimal("99999999999999.99")  # Numeric(16, 2)
YES_NO = {"是": decimal.Decimal(1), "否": decimal.Decimal(0)}  # a yes_no figure, as stored
CENT = decimal.Decimal("0.01")  # an entered figure's scale


# --------------------------------------------------------------------------- kinds


def tenant_kinds(ctx: Context) -> dict[str, ReportKind]:
    """The kinds of the core and of the context's tenant's enabled plugins (a broken one is
    a 500 naming the plugin and the key)."""
    try:
        return kinds_for(ctx)
    except ReportKindError as exc:
        log.error("report kinds: %s", exc)
        raise Defect(f"报表类型定义有误（插件错误）：{exc}") from exc


def get_kind(ctx: Context, key: str, field: str | None = None) -> ReportKind:
    """One of the tenant's kinds; unknown: 404, or 422 on ``field`` when a body named it."""
    kind = tenant_kinds(ctx).get(key)
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


def request_report(ctx: Context, data: dict) -> tuple[Report, Job]:
    """Validate a request ``{kind, format, params}``; add the Report, requested by the
    context's actor, and its job (dispatched when the caller commits). 422 for an unknown
    kind, a format it lacks or bad params."""
    kind = get_kind(ctx, data["kind"], field="kind")
    fmt = data["format"]
    if fmt not in kind.formats:
        message = f"该报表不提供此格式，可选：{'、'.join(kind.formats)}"
        raise Refused(message, errors={"format": [message]})
    loaded = load_params(kind, data.get("params"))
    params = stored_params(kind, loaded)
    report = Report(kind=kind.key, plugin=kind.plugin, title=kind.title[:300], format=fmt,
                    params=params, status="queued", requested_by=ctx.user_id,
                    enterprise_id=about_enterprise(ctx, kind, loaded))
    db.session.add(report)
    db.session.flush()
    job = enqueue(REPORT_JOB, {"report_id": report.id})
    report.job_id = job.id
    return report, job


def about_enterprise(ctx: Context, kind: ReportKind, params: dict) -> int | None:
    """The tenant's enterprise the report is about (its kind's ``enterprise``), or None
    (none, or one the tenant does not have: the report's own computation says so)."""
    if kind.enterprise is None:
        return None
    found = kind.enterprise(tenant=tenant_of(ctx), params=params)
    if not isinstance(found, int) or isinstance(found, bool) or not 0 < found <= MAX_ID:
        return None
    return found if db.session.get(Enterprise, found) is not None else None  # scoped


# --------------------------------------------------------------------------- who reads


def readable(ctx: Context):
    """A WHERE clause on ``Report``: the reports the context's actor reads. The bureau
    (``report.read``) and the system read every report of the tenant; a service
    organisation's user (``report.read_delivered``) those its organisation's staff
    requested and those about an enterprise it serves (``enterprise_clause``)."""
    access = ctx.access
    if access is None or allows(access.role, "report.read"):
        return true()
    if not allows(access.role, "report.read_delivered") or ctx.user_id is None:
        return false()
    colleagues = select(ServiceOrgStaff.user_id).where(ServiceOrgStaff.organisation_id.in_(
        select(ServiceOrgStaff.organisation_id).where(ServiceOrgStaff.user_id == ctx.user_id)))
    return or_(Report.requested_by == ctx.user_id, Report.requested_by.in_(colleagues),
               and_(Report.enterprise_id.is_not(None),
                    enterprise_clause(ctx, Report.enterprise_id)))


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
def snapshot(ctx: Context, session=None):
    """One read-only transaction for every statement inside: the figures agree with each
    other. Yields the snapshot time (UTC, the context's clock). Ends with a rollback
    (nothing is written)."""
    session = session if session is not None else db.session
    session.commit()  # the snapshot must be the first read of its own transaction
    session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                          "postgresql_readonly": True})
    try:
        yield ctx.clock()
    finally:
        session.rollback()


def file_name(title: str, snapshot_at: dt.datetime, fmt: str) -> str:
    return f"{title}_{local_now(snapshot_at):%Y%m%d_%H%M}.{fmt}"


def render(ctx: Context, kind: ReportKind, report: Report, data: dict,
           snapshot_at: dt.datetime) -> bytes | None:
    """The file of one format (None for json: the data itself is the report), headed with
    the context's tenant's name."""
    tenant = tenant_of(ctx)
    stamp = f"数据时间：{local_now(snapshot_at):%Y-%m-%d %H:%M}（北京时间）"
    if report.format == "xlsx":
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
        body = kind.html(data=data)
        if not isinstance(body, str):
            raise TypeError(f"html() returned {type(body).__name__}, not str")
        return render_pdf(body, title=report.title, tenant=tenant.name, footer=stamp)
    return None


def _failure(exc: Exception, title: str) -> tuple[str, str]:
    """(message for users, technical line) of an exception raised while making a report."""
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


def _scheduled_report(ctx: Context, params: dict) -> Report | None:
    """The report of a schedule's slot: found by its schedule key, or made (once per slot).
    A report not yet made takes its parameters from the schedule again (same slot, same
    parameters), so a retry after a refused slot can succeed. ``params`` returning None
    means the kind has nothing to report for this tenant and slot (e.g. outside its
    reporting period): no report is made (None)."""
    schedule, slot = params["schedule"], params["slot"]
    key = f"{schedule}@{slot}"
    report = db.session.scalar(select(Report).where(Report.schedule_key == key))
    if report is not None and report.status == "ready":
        return report
    kind = kind_for(ctx, kind_of_schedule(schedule) or "")
    if kind is None or kind.schedule is None:
        if report is not None:
            return report  # run_report fails it: the kind is gone
        raise JobError("定时报表的类型已不可用（插件未启用或已卸载）",
                       f"no report kind for schedule {schedule!r}")
    moment = dt.datetime.fromisoformat(slot).astimezone(CHINA)
    try:
        raw = kind.schedule.params(tenant=tenant_of(ctx), slot=moment)
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
    db.session.rollback()
    report = db.session.get(Report, report_id)
    if report is not None:
        report.status = "failed"
        report.error = message
        report.finished_at = utcnow()
        db.session.commit()
    raise JobError(message, technical)


def run_report(ctx: Context, params: dict, storage, progress) -> dict:
    """The ``report`` job: compute, render, store one report (see the module docstring).
    ``params`` are the job's (``report_id``, or a schedule's ``schedule`` and ``slot``);
    ``progress(percent)`` records the job's progress."""
    info = tenant_of(ctx)
    if "schedule" in params:
        report = _scheduled_report(ctx, params)
        if report is None:
            return {"schedule": params["schedule"], "slot": params["slot"],
                    "skipped": True, "reason": "本期无需生成"}
    else:
        report_id = params.get("report_id")
        report = db.session.get(Report, report_id) if isinstance(report_id, int) else None
        if report is None:
            raise JobError("报表记录不存在", f"report {params.get('report_id')!r} not found")
    result = {"report_id": report.id, "kind": report.kind, "format": report.format}
    if report.status == "ready":  # delivered again after it was made: nothing to redo
        return {**result, "status": "ready", "skipped": True}
    report_id, title = report.id, report.title
    try:
        kind = kind_for(ctx, report.kind)
        if kind is None:
            raise JobError("报表类型已不可用（插件未启用或已卸载）",
                           f"report kind {report.kind!r} not available to tenant {info.code}")
        params = kind.schema().load(report.params or {})
        report.status, report.error, report.job_id = "running", None, ctx.job_id
        db.session.commit()
        progress(5)
        with snapshot(ctx) as snapshot_at:
            data = kind.compute(tenant=info, params=params, snapshot_at=snapshot_at)
        if not isinstance(data, dict):
            raise TypeError(f"compute returned {type(data).__name__}, not dict")
        data = jsonable(data, "data", decimals="number")
        if isinstance(data.get("title"), str) and data["title"].strip():
            title = data["title"].strip()[:300]
        progress(50)
        report = db.session.get(Report, report_id)
        report.title = title
        content = render(ctx, kind, report, data, snapshot_at)
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
    _announce_ready(ctx, report)
    return {**result, "status": "ready", "title": title, "filename": report.filename,
            "size": report.size, "snapshot_at": report.snapshot_at.isoformat()}


def _announce_ready(ctx: Context, report: Report) -> None:
    """Tell of a ready report (its requester; a scheduled one, the addresses the tenant's
    rules name): the channels write their deliveries, the job's commit sends them."""
    when = report.snapshot_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    notifications.announce(ctx, notifications.Event(
        kind="report_ready", title=f"报表已生成：{report.title}",
        body=f"“{report.title}”（{FORMATS[report.format]}，数据截至 {when}）已生成。",
        user_ids=(report.requested_by,) if report.requested_by else (), report_id=report.id,
        job_id=ctx.job_id))


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


def _entered_rows(kind: ReportKind, period: dt.date, office: str) -> dict[str, EnteredFigure]:
    """The kind's entered rows of one period and office, by key (one query)."""
    return {f.key: f for f in db.session.scalars(select(EnteredFigure).where(
        EnteredFigure.report_kind == kind.key, EnteredFigure.period == period,
        EnteredFigure.office == office))}


def parse_office(ctx: Context, kind: ReportKind, office: str) -> str:
    """``office`` when the kind takes figures from that section of the tenant (``""``: the
    unit's own, always); a 422 on ``office`` otherwise."""
    if office == "":
        return office
    offices = kind.figure_offices(tenant=tenant_of(ctx)) if kind.figure_offices else ()
    if office not in offices:
        message = (f"本单位没有该科室：{office}" if offices
                   else "该报表不按科室填报，请不要指定科室")
        raise Refused(message, errors={"office": [message]})
    return office


def figures_of(ctx: Context, kind: ReportKind, period: dt.date, office: str = "") -> dict:
    """The kind's declared figures for one period and office (``""``: the unit's own),
    entered or not (one query)."""
    tenant_of(ctx)
    rows = _entered_rows(kind, period, office)
    figures = []
    for spec in kind.entered_figures:
        row = rows.get(spec.key)
        figures.append({"key": spec.key, "label": spec.label, "kind": spec.kind,
                        "unit": spec.unit, "part_of": spec.part_of,
                        "value": shown_figure(spec, row.value) if row else None,
                        "note": row.note if row else "",
                        "entered_by": row.entered_by if row else None,
                        "updated_at": row.updated_at if row else None})
    return {"kind": kind.key, "period": period, "figures_period": kind.figures_period,
            "office": office, "figures": figures}


def shown_figure(spec, value):
    """An entered value as people read it: 是/否 for a yes/no figure, else the number."""
    if value is None or spec.kind != "yes_no":
        return value
    return "是" if value else "否"


def _stored_figure(spec, value) -> tuple[decimal.Decimal | None, str | None]:
    """(the value to store, or the Chinese reason it is refused) of one entered value:
    a number, or 是/否 (``FigureValue``), checked against the figure's kind."""
    if value is None:
        return None, None
    if spec.kind == "yes_no":
        if isinstance(value, str) and value in YES_NO:
            return YES_NO[value].quantize(CENT), None
        return None, "只能填“是”或“否”"
    if isinstance(value, str):
        return None, "须为数字"
    if spec.kind == "count" and value != value.to_integral_value():
        return None, f"须为整数（{spec.unit or '个数'}）"
    if value != value.quantize(CENT):
        return None, "最多两位小数"
    return value.quantize(CENT), None  # as the column keeps it (and the audit shows it)


def _figure_errors(ctx: Context, kind: ReportKind, period: dt.date, items: list[dict],
                   rows: dict) -> tuple[dict, dict, dict]:
    """(errors, values to store by key, the period's figures as they would be) of one
    PUT: each value against its figure's kind, every part (其中) against its total, the
    period (not a future one), then the kind's own ``figures_check``."""
    specs = {f.key: f for f in kind.entered_figures}
    errors: dict = {}
    where = {item["key"]: str(n) for n, item in enumerate(items)}
    stored: dict = {}
    for n, item in enumerate(items):
        value, problem = _stored_figure(specs[item["key"]], item["value"])
        if problem is not None:
            errors[str(n)] = {"value": [problem]}
        stored[item["key"]] = value
    merged = {key: row.value for key, row in rows.items() if key in specs}
    merged.update(stored)
    merged = {key: value for key, value in merged.items() if value is not None}
    for spec in kind.entered_figures:
        part, total = merged.get(spec.key), merged.get(spec.part_of, decimal.Decimal(0))
        if spec.part_of is None or part is None or part <= total:
            continue
        if spec.key not in where and spec.part_of not in where:
            continue  # stored before this rule: this request changes neither
        whole = specs[spec.part_of]
        if spec.key in where:
            errors.setdefault(where[spec.key], {"value": [
                f"其中数（{part.normalize():f}）不能大于“{whole.label}”（{total.normalize():f}）"]})
        else:
            errors.setdefault(where.get(spec.part_of, spec.part_of), {"value": [
                f"不能小于其中“{spec.label}”（{part.normalize():f}）"]})
    outer: dict = {}
    if period > local_today():
        outer["period"] = ["不能填报未来期间的数据"]
    if not errors and not outer and kind.figures_check is not None:
        for key, message in (kind.figures_check(tenant=tenant_of(ctx), period=period,
                                                values=dict(merged)) or {}).items():
            if key == "period":
                outer["period"] = [str(message)]
            else:
                errors.setdefault(where.get(key, key), {"value": [str(message)]})
    return {**outer, **({"figures": errors} if errors else {})}, stored, merged


def put_figures(ctx: Context, kind: ReportKind, period: dt.date, items: list[dict],
                office: str = "") -> None:
    """Enter figures of one period, for the unit (``office`` "") or one of its sections (a
    section's figures are its own: parts are checked against its own totals), by the
    context's actor: each listed key is set
    (``value`` None removes it); keys the kind does not declare, or listed twice, are a
    422 naming the item, and so is a value its figure's kind refuses (a count that is not
    whole, a yes/no other than 是 or 否, more than two decimals), a part (其中) above its
    total, a future period, or what the kind's ``figures_check`` says."""
    tenant_of(ctx)
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
    rows = _entered_rows(kind, period, office)
    errors, stored, _merged = _figure_errors(ctx, kind, period, items, rows)
    if errors:
        raise Refused("填报数据校验失败", errors=errors)
    for item in items:
        row = rows.get(item["key"])
        if stored[item["key"]] is None:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = EnteredFigure(report_kind=kind.key, period=period, key=item["key"], office=office)
            db.session.add(row)
        row.value = stored[item["key"]]
        row.note = item.get("note") or ""
        row.entered_by = ctx.user_id
    db.session.flush()


__all__ = ["CONTENT_TYPES", "FORMATS", "REPORT_JOB", "URL_SECONDS",
           "figures_of", "get_kind", "load_params", "parse_office", "put_figures", "readable", "render",
           "request_report", "run_report", "shown_status", "snapshot", "status_expression", "tenant_kinds"]
