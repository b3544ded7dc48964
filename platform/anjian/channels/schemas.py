"""The channels' API schemas: channels (secrets masked), rules, preferences, deliveries."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anjian.channels.kinds import EVENTS
from anjian.channels.models import DELIVERY_STATUSES
from anjian.channels.service import mask

EVENT = validate.OneOf(list(EVENTS), error="须为以下之一: " + ", ".join(EVENTS))
KIND = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="须为 2–40 个小写字母、数字或 '_'")
SECRETS = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(min=1, max=40)),
                         values=ma.fields.String(allow_none=True, validate=validate.Length(max=1000)),
                         validate=validate.Length(max=10),
                         metadata={"description": "密钥（机器人地址、签名密钥等）；只写入，读取时只显示末四位"})
SETTINGS = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(min=1, max=60)),
                          validate=validate.Length(max=20),
                          metadata={"description": "渠道设置，按渠道类型（见 /channel-kinds）"})


class SecretFieldSchema(ma.Schema):
    name = ma.fields.String()
    title = ma.fields.String()
    required = ma.fields.Boolean()


class ChannelKindSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    personal = ma.fields.Boolean(metadata={"description": "按人发送（邮箱、手机号），可供个人订阅"})
    secrets = ma.fields.List(ma.fields.Nested(SecretFieldSchema))
    plugin = ma.fields.String()


class ChannelKindListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ChannelKindSchema))
    events = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                            metadata={"description": "可订阅的事件：代码 → 名称"})


class ChannelSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    settings = ma.fields.Dict()
    secrets = ma.fields.Method("masked", metadata={"description": "密钥，只显示末四位"})
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def masked(self, channel) -> dict:
        return {name: mask(value) for name, value in sorted((channel.secrets or {}).items())}


class ChannelCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=KIND)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    settings = SETTINGS
    secrets = SECRETS
    is_active = ma.fields.Boolean()


class ChannelUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=100))
    settings = SETTINGS
    secrets = SECRETS
    is_active = ma.fields.Boolean()


class ChannelQuerySchema(ma.Schema):
    kind = ma.fields.String(validate=KIND)
    active = ma.fields.Boolean()


class TenantRuleSchema(ma.Schema):
    event = ma.fields.String(required=True, validate=EVENT)
    channel_id = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    enterprise_contacts = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "同时告知所涉企业（短信：企业联系人电话；邮件：企业 contact_email）"})


class TenantRulesSchema(ma.Schema):
    rules = ma.fields.List(ma.fields.Nested(TenantRuleSchema), required=True,
                           validate=validate.Length(max=200))


class UserRuleSchema(ma.Schema):
    event = ma.fields.String(required=True, validate=EVENT)
    channel_id = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    address = ma.fields.String(load_default="", validate=validate.Length(max=200),
                               metadata={"description": "本人在该渠道的地址（邮箱、手机号）；群机器人不填"})


class UserRulesSchema(ma.Schema):
    rules = ma.fields.List(ma.fields.Nested(UserRuleSchema), required=True,
                           validate=validate.Length(max=200))


class AvailableChannelSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()


class UserPreferencesSchema(ma.Schema):
    rules = ma.fields.List(ma.fields.Nested(UserRuleSchema))
    channels = ma.fields.List(ma.fields.Nested(AvailableChannelSchema),
                              metadata={"description": "本单位可订阅的渠道"})
    events = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    channel_id = ma.fields.Integer()
    event = ma.fields.String()
    title = ma.fields.String()
    recipient = ma.fields.String()
    audience = ma.fields.String(metadata={"description": "user:<id>、enterprise:<id> 或 channel（渠道自身的收件人）"})
    status = ma.fields.String()
    status_label = ma.fields.String()
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    sent_at = ma.fields.DateTime(allow_none=True)


class DeliveryQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(list(DELIVERY_STATUSES)))
    channel_id = ma.fields.Integer(validate=validate.Range(min=1))
    event = ma.fields.String(validate=EVENT)


class DeliveryRetrySchema(ma.Schema):
    """A retry takes no fields (an empty object, or no body)."""
