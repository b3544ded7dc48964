"""Access links over HTTP: issuing, listing and revoking them, the tenant's default validity,
and the holder's routes (``/link/...``: the link's secret as the bearer token, the
declared name in ``X-Anjian-Holder-Name``; see ``anjian.links.guard``)."""

from __future__ import annotations

import contextlib

import marshmallow as ma
from flask import current_app, g
from flask_smorest.fields import Upload
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema, problem
from anjian.clock import utcnow
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.inspections import service as inspection_service
from anjian.inspections.schemas import EvidenceSchema, InspectionDetailSchema
from anjian.links import service
from anjian.links.guard import HOLDER_HEADER, HOLDER_MAX
from anjian.links.models import AccessLink
from anjian.links.schemas import (
    HolderHazardSchema,
    HolderLinkSchema,
    HolderResultsSchema,
    HolderSubmitSchema,
    IssuedLinkSchema,
    LinkCreateSchema,
    LinkInspectionStartSchema,
    LinkPolicySchema,
    LinkQuerySchema,
    LinkRevokeSchema,
    LinkSchema,
    RectifiedSchema,
)
from anjian.storage.service import storage_for

PREFIX = "/api/v1/tenants/<tenant_code>"
blp = Blueprint("access_links", __name__, url_prefix=f"{PREFIX}/access-links",
                description="企业访问链接：为没有账号的企业联系人签发、查看、撤销")
policy_blp = Blueprint("access_link_policy", __name__, url_prefix=f"{PREFIX}/access-link-policy",
                       description="企业访问链接的本单位设置")
holder_blp = Blueprint("link", __name__, url_prefix=f"{PREFIX}/link",
                       description="持企业访问链接办理：查看本企业未销号隐患及整改期限、上传整改证据、"
                                   "提交整改完成、填写链接指定的自查")

HOLDER = {"name": HOLDER_HEADER, "in": "header", "required": True,
          "description": "办理人姓名（URL 编码的 UTF-8，如 encodeURIComponent('张三')），记入审计日志",
          "schema": {"type": "string", "minLength": 1, "maxLength": HOLDER_MAX * 9}}


def _holder_doc(view):
    """The holder's routes: the declared name, and the answers of a refused link."""
    view = holder_blp.doc(parameters=[HOLDER])(view)
    view = holder_blp.alt_response(401, schema=ProblemSchema,
                                   description="访问链接无效、已过期或已被撤销")(view)
    return holder_blp.alt_response(429, schema=ProblemSchema,
                                   description="该链接请求过于频繁，请按 Retry-After 稍后再试")(view)


# --- issuing, listing, revoking ------------------------------------------------------------

@blp.route("")
@blp.arguments(LinkQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(LinkSchema))
@requires("link.manage")
def list_links(query, pages, tenant_code):
    """访问链接列表（服务机构只看到其服务企业的链接），可按企业、状态筛选"""
    stmt = select(AccessLink).where(service.visible_clause(request_context()))
    if "enterprise_id" in query:
        stmt = stmt.where(AccessLink.enterprise_id == query["enterprise_id"])
    if "status" in query:
        stmt = stmt.where(service.status_clause(query["status"], utcnow()))
    stmt = stmt.order_by(AccessLink.created_at.desc(), AccessLink.id.desc())
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(LinkCreateSchema)
@blp.response(201, IssuedLinkSchema)
@requires("link.manage")
def issue_link(data, tenant_code):
    """为一家企业签发访问链接（可限定专项行动或一条隐患，可指定一份自查检查表）；链接密钥只在此显示一次"""
    data = dict(data)
    link, secret = service.issue(request_context(), valid_days_=data.pop("valid_days", None),
                                 **data)
    db.session.commit()
    link.secret = secret  # shown this once: not a column, never stored
    return link


def _link(link_id: int) -> AccessLink:
    return service.get_link(request_context(), link_id)


@blp.route("/<int:link_id>")
@blp.response(200, LinkSchema)
@requires("link.manage")
def get_link(tenant_code, link_id):
    """访问链接详情（不含密钥）"""
    return _link(link_id)


@blp.route("/<int:link_id>/revoke", methods=["POST"])
@blp.arguments(LinkRevokeSchema)
@blp.response(200, LinkSchema)
@blp.alt_response(409, schema=ProblemSchema, description="链接已被撤销")
@requires("link.manage")
def revoke_link(_body, tenant_code, link_id):
    """撤销访问链接：下一次使用即被拒绝"""
    db.session.get(AccessLink, link_id, with_for_update=True)  # two revocations: one wins
    link = service.revoke(request_context(), _link(link_id))
    db.session.commit()
    return link


@policy_blp.route("")
@policy_blp.response(200, LinkPolicySchema)
@requires("link.manage")
def get_policy(tenant_code):
    """本单位新签发访问链接的默认有效天数"""
    return {"valid_days": service.valid_days(request_context())}


@policy_blp.route("", methods=["PUT"])
@policy_blp.arguments(LinkPolicySchema)
@policy_blp.response(200, LinkPolicySchema)
@requires("link.configure")
def put_policy(data, tenant_code):
    """设置本单位新签发访问链接的默认有效天数（1–90 天；已签发的链接不变）"""
    days = service.set_valid_days(request_context(), data["valid_days"])
    db.session.commit()
    return {"valid_days": days}


# --- the holder -----------------------------------------------------------------------------

@contextlib.contextmanager
def _lost_race():
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        problem(409, "该隐患刚被他人修改，本次操作未生效，请刷新后重试", slug="concurrent-change")


@holder_blp.route("")
@holder_blp.response(200, HolderLinkSchema)
@_holder_doc
@requires("link.use")
def about_link(tenant_code):
    """本链接可办理的事项：企业、专项行动或隐患、自查检查表、有效期"""
    link = g.link
    enterprise = db.session.get(Enterprise, link.enterprise_id)
    return {**{key: getattr(link, key) for key in HolderLinkSchema().fields
               if key != "enterprise_name"},
            "enterprise_name": enterprise.name if enterprise else ""}


@holder_blp.route("/hazards")
@holder_blp.arguments(PageArgs, location="query")
@holder_blp.response(200, page_of(HolderHazardSchema))
@_holder_doc
@requires("link.use")
def holder_hazards(pages, tenant_code):
    """本企业未销号的隐患及整改期限（整改期限最近的在前）"""
    return paginate(service.hazards(request_context(), g.link), pages["page"], pages["per_page"])


@holder_blp.route("/hazards/<int:hazard_id>")
@holder_blp.response(200, HolderHazardSchema)
@_holder_doc
@requires("link.use")
def holder_hazard(tenant_code, hazard_id):
    """一条隐患（本链接可办理的）"""
    return service.hazard(request_context(), g.link, hazard_id)


@holder_blp.route("/hazards/<int:hazard_id>/rectified", methods=["POST"])
@holder_blp.arguments(RectifiedSchema)
@holder_blp.response(200, HolderHazardSchema)
@holder_blp.alt_response(409, schema=ProblemSchema,
                         description="当前状态不能提交整改完成（如重大事故隐患须先制定整改方案）")
@_holder_doc
@requires("link.use")
def holder_rectified(data, tenant_code, hazard_id):
    """提交整改完成（附先上传的整改证据）；尚未制定整改方案的一般隐患按立即整改处理，须说明整改情况"""
    context = request_context()
    found = service.hazard(context, g.link, hazard_id)
    with _lost_race():
        service.rectified(context, g.link, found, holder=g.link_holder, **data)
        db.session.commit()
    return found


class HolderUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "照片（JPEG、PNG）或 PDF"})


@holder_blp.route("/evidence", methods=["POST"])
@holder_blp.arguments(HolderUploadSchema, location="files", content_type="multipart/form-data")
@holder_blp.response(201, EvidenceSchema)
@_holder_doc
@requires("link.use")
def holder_upload(files, tenant_code):
    """上传整改证据（照片或 PDF），再在提交整改完成或填写自查时引用其 id"""
    upload = files["file"]
    try:
        evidence = service.upload(request_context(), g.link, storage_for(current_app),
                                  upload.stream, upload.mimetype, upload.filename)
    finally:
        upload.close()
    db.session.commit()
    return evidence


@holder_blp.route("/inspection")
@holder_blp.response(200, InspectionDetailSchema)
@_holder_doc
@requires("link.use")
def holder_inspection(tenant_code):
    """链接指定的企业自查：检查项、已填的回答（尚未开始时 404）"""
    inspection = service.self_inspection(request_context(), g.link)
    return inspection_service.inspection_view(inspection)


@holder_blp.route("/inspection", methods=["POST"])
@holder_blp.arguments(LinkInspectionStartSchema)
@holder_blp.response(200, InspectionDetailSchema)
@_holder_doc
@requires("link.use")
def holder_start_inspection(_body, tenant_code):
    """开始链接指定的企业自查（已开始的返回同一份）"""
    inspection = service.self_inspection(request_context(), g.link, start=True)
    db.session.commit()
    return inspection_service.inspection_view(inspection)


@holder_blp.route("/inspection/results", methods=["PUT"])
@holder_blp.arguments(HolderResultsSchema)
@holder_blp.response(200, InspectionDetailSchema)
@_holder_doc
@requires("link.use")
def holder_answer(data, tenant_code):
    """填写自查检查项（results: [{item_id, answer, note, evidence_ids}]）"""
    inspection = service.answer(request_context(), g.link, data["results"])
    db.session.commit()
    return inspection_service.inspection_view(inspection)


@holder_blp.route("/inspection/submit", methods=["POST"])
@holder_blp.arguments(HolderSubmitSchema)
@holder_blp.response(200, InspectionDetailSchema)
@_holder_doc
@requires("link.use")
def holder_submit(data, tenant_code):
    """提交自查（全部检查项须已填写；提交后不能再修改）"""
    inspection = service.submit(request_context(), g.link, data)
    db.session.commit()
    return inspection_service.inspection_view(inspection)


__all__ = ["blp", "holder_blp", "policy_blp"]
