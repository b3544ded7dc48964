"""Access links over HTTP: what the issuers send and read, and what a holder sees."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anjian.db import ID
from anjian.hazards.models import GRADES, STATES
from anjian.inspections.models import ANSWERS
from anjian.links.models import MAX_VALID_DAYS
from anjian.links.service import STATUSES, status_of

DAYS = validate.Range(min=1, max=MAX_VALID_DAYS)


class LinkCreateSchema(ma.Schema):
    enterprise_id = ma.fields.Integer(required=True, validate=ID)
    campaign_id = ma.fields.Integer(allow_none=True, validate=ID,
                                    metadata={"description": "只涉及该专项行动的隐患和自查"})
    hazard_id = ma.fields.Integer(allow_none=True, validate=ID,
                                  metadata={"description": "只涉及这一条隐患"})
    template_key = ma.fields.String(allow_none=True, validate=validate.Length(min=1, max=80),
                                    metadata={"description": "持链接者可填写的企业自查所用检查表"})
    contact_name = ma.fields.String(load_default="", validate=validate.Length(max=50),
                                    metadata={"description": "链接交给谁（企业联系人）"})
    valid_days = ma.fields.Integer(validate=DAYS, metadata={
        "description": "有效天数（默认按本单位设置，未设置为 14 天）"})


class LinkSchema(ma.Schema):
    id = ma.fields.Integer()
    prefix = ma.fields.String(metadata={"description": "链接密钥的开头，便于辨认"})
    enterprise_id = ma.fields.Integer()
    campaign_id = ma.fields.Integer(allow_none=True)
    hazard_id = ma.fields.Integer(allow_none=True)
    template_key = ma.fields.String(allow_none=True)
    inspection_id = ma.fields.Integer(allow_none=True)
    contact_name = ma.fields.String()
    created_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    revoked_by = ma.fields.Integer(allow_none=True)
    status = ma.fields.Function(status_of, metadata={"description": "active / expired / revoked"})
    status_label = ma.fields.Function(lambda link: STATUSES[status_of(link)])


class IssuedLinkSchema(LinkSchema):
    secret = ma.fields.String(metadata={
        "description": "链接密钥（只显示这一次）：持有者以 Authorization: Bearer <secret> 调用 "
                       "/api/v1/tenants/{tenant_code}/link/... 接口"})


class LinkQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)
    status = ma.fields.String(validate=validate.OneOf(list(STATUSES)))


class LinkRevokeSchema(ma.Schema):
    pass


class LinkPolicySchema(ma.Schema):
    valid_days = ma.fields.Integer(required=True, validate=DAYS,
                                   metadata={"description": "新链接的默认有效天数"})


# --- the holder ---------------------------------------------------------------------------

class HolderLinkSchema(ma.Schema):
    """What a link allows, as its holder sees it."""

    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    campaign_id = ma.fields.Integer(allow_none=True)
    hazard_id = ma.fields.Integer(allow_none=True)
    template_key = ma.fields.String(allow_none=True)
    inspection_id = ma.fields.Integer(allow_none=True)
    expires_at = ma.fields.DateTime()


class HolderHazardSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    location = ma.fields.String()
    grade = ma.fields.String()
    grade_label = ma.fields.Function(lambda h: GRADES.get(h.grade))
    state = ma.fields.String()
    state_label = ma.fields.Function(lambda h: STATES.get(h.state))
    campaign_id = ma.fields.Integer(allow_none=True)
    found_on = ma.fields.Date()
    deadline = ma.fields.Date(allow_none=True, metadata={"description": "整改期限"})
    responsible_person = ma.fields.String()
    measures = ma.fields.String()
    rectified_at = ma.fields.DateTime(allow_none=True)


class RectifiedSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=5000),
                            metadata={"description": "整改情况说明（未制定整改方案的一般隐患须填写）"})
    evidence_ids = ma.fields.List(ma.fields.Integer(validate=ID), required=True,
                                  validate=validate.Length(min=1, max=50),
                                  metadata={"description": "先上传的整改证据文件"})


class HolderResultSchema(ma.Schema):
    item_id = ma.fields.Integer(required=True, validate=ID)
    answer = ma.fields.String(required=True, validate=validate.OneOf(list(ANSWERS)),
                              metadata={"description": "yes 是 / no 否 / na 不适用"})
    note = ma.fields.String(validate=validate.Length(max=5000))
    evidence_ids = ma.fields.List(ma.fields.Integer(validate=ID), validate=validate.Length(max=50))


class HolderResultsSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(HolderResultSchema), required=True,
                             validate=validate.Length(min=1, max=1000))


class HolderSubmitSchema(ma.Schema):
    summary = ma.fields.String(validate=validate.Length(max=5000))
    conclusion = ma.fields.String(validate=validate.Length(max=5000))


class LinkInspectionStartSchema(ma.Schema):
    pass
