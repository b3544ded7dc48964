"""Enterprise ledgers over HTTP: what goes in and out (Chinese labels beside keys)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anjian.db import ID
from anjian.ledgers.kinds import REVIEW_WINDOW_DAYS
from anjian.ledgers.models import EVENT_ACTIONS
from anjian.ledgers.service import STANDINGS

EVIDENCE_IDS = ma.fields.List(ma.fields.Integer(validate=ID), validate=validate.Length(max=20),
                              load_default=list,
                              metadata={"description": "已上传的证据文件（签到表、协议、证书扫描件等）"})
DATA = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(max=80)),
                      metadata={"description": "台账内容：字段 → 值（字段见台账类别）"})


class LedgerFieldSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    type = ma.fields.String()
    required = ma.fields.Boolean()
    choices = ma.fields.List(ma.fields.String())
    aliases = ma.fields.List(ma.fields.String())


class LedgerKindSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    plugin = ma.fields.String()
    fields = ma.fields.List(ma.fields.Nested(LedgerFieldSchema))
    date_field = ma.fields.String(allow_none=True)
    expires_field = ma.fields.String(allow_none=True)
    validity_years = ma.fields.Integer(allow_none=True)
    review_years = ma.fields.Integer(allow_none=True)
    remind_days = ma.fields.List(ma.fields.Integer())
    evidence = ma.fields.List(ma.fields.String(), metadata={"description": "该台账应有的证据文件"})


class LedgerEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(metadata={"description": "台账内容（列表中身份证号已遮蔽）"})
    dated_on = ma.fields.Date(allow_none=True)
    expires_on = ma.fields.Date(allow_none=True, metadata={"description": "到期日期"})
    review_due_on = ma.fields.Date(allow_none=True, metadata={"description": "下次复审日期"})
    standing = ma.fields.String(metadata={"description": "、".join(f"{k}（{v}）" for k, v in STANDINGS.items())})
    standing_label = ma.fields.String()
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class LedgerEventSchema(ma.Schema):
    id = ma.fields.Integer()
    action = ma.fields.String()
    action_label = ma.fields.Function(lambda e: EVENT_ACTIONS.get(e.action))
    changes = ma.fields.Dict(metadata={"description": "字段 → [修改前, 修改后]"})
    actor_user_id = ma.fields.Integer(allow_none=True)
    at = ma.fields.DateTime()


class EvidenceBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()


class LedgerEntryDetailSchema(LedgerEntrySchema):
    history = ma.fields.List(ma.fields.Nested(LedgerEventSchema))
    evidence = ma.fields.List(ma.fields.Nested(EvidenceBriefSchema))


class LedgerEntryCreateSchema(ma.Schema):
    enterprise_id = ma.fields.Integer(required=True, validate=ID)
    data = DATA
    evidence_ids = EVIDENCE_IDS

    @ma.validates_schema
    def _has_data(self, values, **kwargs):
        if "data" not in values:
            raise ma.ValidationError("必填项", "data")


class LedgerEntryUpdateSchema(ma.Schema):
    data = DATA
    evidence_ids = EVIDENCE_IDS


class LedgerEntryQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)
    standing = ma.fields.String(validate=validate.OneOf(list(STANDINGS)))
    q = ma.fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "按内容搜索"})
    dated_from = ma.fields.Date()
    dated_until = ma.fields.Date()


class AttentionQuerySchema(ma.Schema):
    kind = ma.fields.String(validate=validate.Length(min=1, max=80))
    enterprise_id = ma.fields.Integer(validate=ID)
    standing = ma.fields.String(validate=validate.OneOf([s for s in STANDINGS if s != "valid"]))


class ExportQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(validate=ID)


class CertifiedQuerySchema(ma.Schema):
    enterprise_id = ma.fields.Integer(required=True, validate=ID)
    work_kind = ma.fields.String(required=True, validate=validate.Length(min=1, max=40),
                                 metadata={"description": "作业类别，如 焊接与热切割作业（可简写：焊接）"})
    on = ma.fields.Date(metadata={"description": "作业日期，默认今天"})
    id_number = ma.fields.String(validate=validate.Length(min=15, max=18))
    name = ma.fields.String(validate=validate.Length(min=1, max=60))


class CertifiedSchema(ma.Schema):
    certified = ma.fields.Boolean()
    work_kind = ma.fields.String()
    on = ma.fields.Date()
    entry_id = ma.fields.Integer(allow_none=True)
    certificate_no = ma.fields.String(allow_none=True)
    expires_on = ma.fields.Date(allow_none=True)
    review_due_on = ma.fields.Date(allow_none=True)
    reasons = ma.fields.List(ma.fields.String(), metadata={
        "description": f"不能作业的原因（复审在到期前 {REVIEW_WINDOW_DAYS} 日内办理）"})
