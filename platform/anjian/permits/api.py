"""Dangerous-work permits (作业票) over HTTP: the tenant's kinds, the permits (request,
read with history and ETag, each step with If-Match), the open ones, the ledger per
enterprise with its dangerous-work drills, the workbook, and whether a moment is a key
time."""

from __future__ import annotations

import contextlib
import io

from flask import Response
from sqlalchemy.orm.exc import StaleDataError

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate, paginate_list
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema, problem
from anjian.extensions import db
from anjian.ledgers.kinds import mask_id_number
from anjian.permits import kinds as kinds_
from anjian.permits import service
from anjian.permits.models import Permit
from anjian.permits.schemas import (
    PermitCreateSchema,
    PermitDetailSchema,
    PermitEnterpriseSummarySchema,
    PermitKeyTimeQuerySchema,
    PermitKeyTimeSchema,
    PermitKindSchema,
    PermitOpenQuerySchema,
    PermitQuerySchema,
    PermitSchema,
    PermitSummaryQuerySchema,
    PermitTransitionSchema,
)
from anjian.storage.backends import content_disposition

blp = Blueprint("permits", __name__, url_prefix="/api/v1/tenants/<tenant_code>/permits",
                description="危险作业票：申请、危害辨识与安全措施、气体分析、审批、签发、监护、验收、关闭")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 50_000  # permits of one workbook; more: filter by enterprise or dates
IF_MATCH = {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
            "description": "读取作业票时得到的 ETag"}


def _etag(permit: Permit) -> dict:
    return {"id": permit.id, "version": permit.version}


def _check_if_match(permit: Permit) -> None:
    blp.check_if_match_on_post(_etag(permit), "作业票")


@contextlib.contextmanager
def _rules():
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        problem(409, "该作业票刚被他人修改，本次操作未生效，请刷新后重试", slug="concurrent-change")


def _shown(context, permit: Permit, kinds: dict, names: dict[int, str], *, mask: bool) -> dict:
    kind = kinds.get(permit.kind)
    workers = [{**w, "id_number": mask_id_number(w["id_number"]) if mask and w.get("id_number")
                else w.get("id_number")} for w in permit.workers or ()]
    return {
        "id": permit.id, "number": permit.number, "enterprise_id": permit.enterprise_id,
        "enterprise_name": names.get(permit.enterprise_id), "kind": permit.kind,
        "kind_title": kind["title"] if kind else permit.kind, "grade": permit.grade,
        "grade_title": kinds_.grade_title(kind, permit.grade), "location": permit.location,
        "content": permit.content, "state": permit.state,
        "state_label": service.STATES.get(permit.state, permit.state), "workers": workers,
        "guardian": permit.guardian, "second_guardian": permit.second_guardian,
        "key_time": permit.key_time, "key_time_reason": permit.key_time_reason,
        "planned_start": permit.planned_start, "planned_end": permit.planned_end,
        "issued_at": permit.issued_at, "valid_until": permit.valid_until,
        "expired": service.is_expired(permit, context.clock()), "started_at": permit.started_at,
        "closed_at": permit.closed_at, "refusal": permit.refusal, "requested_by": permit.requested_by,
        "version": permit.version, "created_at": permit.created_at, "updated_at": permit.updated_at}


def _page(context, stmt, pages, *, rows: bool = False) -> dict:
    """A page of permits (``rows``: of the rows of the open list, which carry their
    enterprise's name) as a list shows them."""
    page = paginate(stmt, pages["page"], pages["per_page"], scalars=not rows)
    kinds = kinds_.kinds(context)
    names = ({p.enterprise_id: p.enterprise_name for p in page["items"]} if rows
             else service.enterprise_names(p.enterprise_id for p in page["items"]))
    return {**page, "items": [_shown(context, p, kinds, names, mask=True) for p in page["items"]]}


def _steps(permit: Permit, people: dict[int, str]) -> list[dict]:
    signed = {item["step"]: item for item in (*(permit.approvals or ()), *(permit.acceptances or ()))}
    guardians = iter((permit.guardian, permit.second_guardian) if permit.started_at else ())
    out = []
    for step in permit.required_steps or ():
        if step["stage"] == "supervise":
            guardian = next(guardians, None) or None
            out.append({**step, "done": guardian is not None, "by": guardian,
                        "at": service.iso_utc(permit.started_at) if guardian else None})
            continue
        item = signed.get(step["key"])
        out.append({**step, "done": item is not None,
                    "by": people.get(item.get("user_id")) if item else None,
                    "at": item.get("at") if item else None})
    return out


def _detail(context, permit: Permit) -> dict:
    names = service.enterprise_names([permit.enterprise_id])
    signers = [item.get("user_id") for item in (*(permit.approvals or ()), *(permit.acceptances or ()))]
    people = service.user_names([permit.requested_by, *signers])

    def named(items):
        return [{**item, "user_name": people.get(item.get("user_id"))} for item in items or ()]

    return {**_shown(context, permit, kinds_.kinds(context), names, mask=False),
            "requested_by_name": people.get(permit.requested_by),
            "hazards_identified": permit.hazards_identified or [], "gas_analyses": permit.gas_analyses or [],
            "steps": _steps(permit, people), "approvals": named(permit.approvals),
            "acceptances": named(permit.acceptances), "history": service.history(context, permit)}


@blp.route("/kinds")
@blp.response(200, PermitKindSchema(many=True))
@requires("permit.read")
def list_kinds(tenant_code):
    """本单位的作业类别（GB 30871-2022 八大特殊作业及已启用插件的作业）：级别、有效期、是否须气体分析、须持的操作证"""
    return list(kinds_.kinds(request_context()).values())


@blp.route("/key-time")
@blp.arguments(PermitKeyTimeQuerySchema, location="query")
@blp.response(200, PermitKeyTimeSchema)
@requires("permit.read")
def key_time(query, tenant_code):
    """某时刻是否重点时段（夜间 22:00—06:00、公休日、法定节假日、插件设置的重点时段）：
    重点时段作业须双审批、双监督、双验收"""
    reasons = service.key_time_reasons(request_context(), query["at"])
    return {"at": query["at"], "key_time": bool(reasons), "reasons": reasons}


@blp.route("")
@blp.arguments(PermitQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(PermitSchema))
@requires("permit.read")
def list_permits(query, pages, tenant_code):
    """作业票台账：本人可见企业的作业票，按企业、类别、状态、是否未结束、计划日期、重点时段筛选（身份证号遮蔽）"""
    context = request_context()
    return _page(context, service.list_permits(context, **query), pages)


@blp.route("", methods=["POST"])
@blp.arguments(PermitCreateSchema)
@blp.response(201, PermitDetailSchema)
@blp.alt_response(422, schema=ProblemSchema, description="输入无效，或作业人员无有效特种作业操作证（reasons）")
@requires("permit.request")
def create_permit(data, tenant_code):
    """申请作业票：作业类别与级别、地点、内容、作业人员（从事特种作业的须持有效操作证）、计划时间；
    按计划开始时间判断重点时段，并按本单位规则确定审批、监护、验收步骤"""
    context = request_context()
    permit = service.create_permit(context, **data)
    db.session.commit()
    blp.set_etag(_etag(permit))
    return _detail(context, permit)


@blp.route("/open")
@blp.arguments(PermitOpenQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(PermitSchema))
@requires("permit.read")
def open_permits(query, pages, tenant_code):
    """未结束的作业票（未关闭、取消、驳回），按计划开始时间排列；标出已过有效期仍未结束的"""
    context = request_context()
    return _page(context, service.open_permits(context, **query), pages, rows=True)


@blp.route("/summary")
@blp.arguments(PermitSummaryQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(PermitEnterpriseSummarySchema))
@requires("permit.read")
def permit_summary(query, pages, tenant_code):
    """各企业的作业票台账汇总（当年计划的作业票按状态、类别、重点时段计数）及当年危险作业应急演练次数"""
    context = request_context()
    rows = service.summary(context, year=query.get("year") or context.today().year,
                           enterprise_id=query.get("enterprise_id"))
    return paginate_list(rows, pages["page"], pages["per_page"])


@blp.route("/export")
@blp.arguments(PermitQuerySchema, location="query")
@blp.response(200, {"format": "binary", "type": "string"}, content_type=XLSX,
              description="作业票台账（本人可见企业的）.xlsx")
@requires("permit.read")
def export_permits(query, tenant_code):
    """导出作业票台账为 Excel（筛选同列表；时间为北京时间；作业票过多时请按企业或日期导出）"""
    context = request_context()
    buffer = io.BytesIO()
    service.export_workbook(context, service.list_permits(context, **query), buffer, limit=EXPORT_LIMIT)
    response = Response(buffer.getvalue(), mimetype=XLSX)
    response.headers["Content-Disposition"] = content_disposition("作业票台账.xlsx")
    return response


@blp.route("/<int:permit_id>")
@blp.etag
@blp.response(200, PermitDetailSchema)
@requires("permit.read")
def get_permit(tenant_code, permit_id):
    """作业票详情：作业人员、危害辨识与安全措施、气体分析、审批监护验收步骤及完成情况、处理记录
    （ETag 用于之后的操作）"""
    context = request_context()
    permit = service.get_permit(context, permit_id)
    blp.set_etag(_etag(permit))
    return _detail(context, permit)


@blp.route("/<int:permit_id>/transitions", methods=["POST"])
@blp.etag
@blp.arguments(PermitTransitionSchema)
@blp.response(200, PermitDetailSchema)
@blp.doc(parameters=[IF_MATCH])
@blp.alt_response(403, schema=ProblemSchema, description="当前角色无权执行该操作")
@blp.alt_response(409, schema=ProblemSchema,
                  description="当前状态不允许该操作，或规则不允许（reasons：已过有效期、本人审批本人申请、"
                              "缺少或不合格或过期的气体分析、作业人员无有效操作证、缺少监护人）")
@blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：作业票已被他人修改")
@blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("permit.request")
def transition_permit(data, tenant_code, permit_id):
    """作业票的各步（需 If-Match）：identify 危害辨识与安全措施确认、gas_analysis 记录气体分析、approve 审批、
    refuse 驳回、issue 签发、start 开始作业（指定监护人）、resume 继续作业、accept 验收、close 关闭、cancel 取消。
    审批、驳回、签发、验收须有审批权限；审批人不能审批本人的申请，双审批、双验收须由不同的人完成"""
    context = request_context()
    permit = service.get_permit(context, permit_id)
    _check_if_match(permit)
    data = dict(data)
    action = data.pop("action")
    with _rules():
        service.transition(context, permit, action, data)
        db.session.commit()
    blp.set_etag(_etag(permit))
    return _detail(context, permit)
