"""Ledger duties over HTTP: each enterprise's duties over its ledgers per period (met, due,
missed), and the hazards raised for the missed ones (``anjian.ledgers.duties``)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, paginate_list
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema
from anjian.db import ID
from anjian.extensions import db
from anjian.ledgers import duties
from anjian.ledgers.duties import DUTY_ALIGNS, DUTY_PERIOD_LABELS, DUTY_STATUSES

blp = Blueprint("ledger_duties", __name__, url_prefix="/api/v1/tenants/<tenant_code>/ledger-duties",
                description="台账义务：演练、培训、检查等按周期是否完成，未完成的可形成隐患")


# --- schemas ----------------------------------------------------------------------------------

class DutyQuerySchema(ma.Schema):
    as_of = ma.fields.Date(metadata={"description": "按哪一天计算（默认今天）"})
    since = ma.fields.Date(metadata={"description": "从哪一天起算周期（默认计算日当年 1 月 1 日）"})
    enterprise_id = ma.fields.Integer(validate=ID, metadata={"description": "只看一家企业"})
    status = ma.fields.String(validate=validate.OneOf(list(DUTY_STATUSES)),
                              metadata={"description": "只列出该状态的条目及有该状态条目的企业（如 missed）"})


class LedgerDutySchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    ledger_kind = ma.fields.String(metadata={"description": "台账类别"})
    ledger_title = ma.fields.String()
    count = ma.fields.Integer(metadata={"description": "每个周期至少几条（持续有效：至少几条有效记录）"})
    per = ma.fields.String(metadata={"description": "month / quarter / year / standing（持续有效）"})
    per_label = ma.fields.Function(lambda d: DUTY_PERIOD_LABELS.get(d["per"]))
    align = ma.fields.String(metadata={"description": f"周期起点：{' / '.join(DUTY_ALIGNS)}"})
    in_last_months = ma.fields.Integer(allow_none=True)
    where = ma.fields.Dict(metadata={"description": "计入的记录须满足的字段值"})
    criterion = ma.fields.String(metadata={"description": "依据"})
    raise_hazard = ma.fields.Boolean(metadata={"description": "未完成时可形成隐患"})


class DutyItemSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    ledger_kind = ma.fields.String()
    per = ma.fields.String()
    per_label = ma.fields.Function(lambda i: DUTY_PERIOD_LABELS.get(i["per"]))
    period = ma.fields.String(metadata={"description": "周期（如 2024年第1季度）"})
    period_start = ma.fields.Date()
    period_end = ma.fields.Date(metadata={"description": "截止日期"})
    required = ma.fields.Integer()
    done = ma.fields.Integer(metadata={"description": "周期内的记录数（持续有效：有效记录数）"})
    expired = ma.fields.Integer(metadata={"description": "已过期的记录数（持续有效的义务）"})
    status = ma.fields.String(metadata={"description": "met 已完成 / due 进行中 / missed 未完成"})
    status_label = ma.fields.Function(lambda i: DUTY_STATUSES.get(i["status"]))
    reason = ma.fields.String(metadata={"description": "未完成的原因（无记录、N 条已过期……）"})
    criterion = ma.fields.String()
    raise_hazard = ma.fields.Boolean()


class DutySummarySchema(ma.Schema):
    met = ma.fields.Integer()
    due = ma.fields.Integer()
    missed = ma.fields.Integer()


class EnterpriseDutiesSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    credit_code = ma.fields.String()
    summary = ma.fields.Nested(DutySummarySchema)
    items = ma.fields.List(ma.fields.Nested(DutyItemSchema))


class DutyStatusPageSchema(ma.Schema):
    as_of = ma.fields.Date()
    since = ma.fields.Date()
    duties = ma.fields.List(ma.fields.Nested(LedgerDutySchema))
    summary = ma.fields.Nested(DutySummarySchema, metadata={"description": "所有企业的合计"})
    items = ma.fields.List(ma.fields.Nested(EnterpriseDutiesSchema), metadata={"description": "本页的企业"})
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer(metadata={"description": "企业数"})


class FindingsRequestSchema(ma.Schema):
    as_of = ma.fields.Date(metadata={"description": "按哪一天计算（默认今天，不能晚于今天）"})
    since = ma.fields.Date(metadata={"description": "从哪一天起算周期（默认计算日当年 1 月 1 日）"})


class LedgerFindingSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    key = ma.fields.String()
    title = ma.fields.String()
    period = ma.fields.String()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    hazard_id = ma.fields.Integer()


class LedgerFindingsSchema(ma.Schema):
    as_of = ma.fields.Date()
    since = ma.fields.Date()
    raised = ma.fields.List(ma.fields.Nested(LedgerFindingSchema), metadata={"description": "本次形成的隐患"})
    already = ma.fields.List(ma.fields.Nested(LedgerFindingSchema),
                             metadata={"description": "此前已形成、本次未重复形成的隐患"})


# --- routes -----------------------------------------------------------------------------------

@blp.route("")
@blp.arguments(DutyQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, DutyStatusPageSchema)
@blp.alt_response(404, schema=ProblemSchema, description="企业不存在或不可见")
@requires("ledger_duty.read")
def list_duty_status(query, pages, tenant_code):
    """台账义务完成情况：每家企业每项义务每个周期为已完成、进行中或未完成（按企业分页）"""
    context = request_context()
    enterprise_id = query.get("enterprise_id")
    found = duties.duty_status(context, query.get("as_of") or context.today(), since=query.get("since"),
                               enterprise_ids=None if enterprise_id is None else [enterprise_id],
                               status=query.get("status"))
    page = paginate_list(found["enterprises"], pages["page"], pages["per_page"])
    return {"as_of": found["as_of"], "since": found["since"], "duties": found["duties"],
            "summary": found["summary"], **page}


@blp.route("/findings", methods=["POST"])
@blp.arguments(FindingsRequestSchema)
@blp.response(200, LedgerFindingsSchema)
@blp.alt_response(403, schema=ProblemSchema, description="当前角色无权执行该操作")
@requires("ledger_duty.raise_findings")
def raise_findings(data, tenant_code):
    """未完成的台账义务形成隐患：按插件规定，引用依据，每家企业每项义务每个周期只形成一次"""
    context = request_context()
    found = duties.raise_findings(context, data.get("as_of") or context.today(), since=data.get("since"))
    db.session.commit()
    return found
