"""Notifications out over HTTP: a tenant's channels and rules (tenant admins), each member's
own preferences, and the delivery log (tenant admins)."""

from __future__ import annotations

from sqlalchemy import select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema
from anjian.channels import service
from anjian.channels.kinds import EVENTS, ChannelKind
from anjian.channels.models import Channel, Delivery
from anjian.channels.schemas import (
    ChannelCreateSchema,
    ChannelKindListSchema,
    ChannelQuerySchema,
    ChannelSchema,
    ChannelUpdateSchema,
    DeliveryQuerySchema,
    DeliveryRetrySchema,
    DeliverySchema,
    TenantRulesSchema,
    UserPreferencesSchema,
    UserRulesSchema,
)
from anjian.extensions import db

PREFIX = "/api/v1/tenants/<tenant_code>"
blp = Blueprint("channels", __name__, url_prefix=PREFIX,
                description="通知外发：渠道（邮件、企业微信、钉钉、Webhook、短信）、订阅规则、发送记录")


def _kind_entry(kind: ChannelKind, plugin: str) -> dict:
    return {"key": kind.key, "title": kind.title, "description": kind.description,
            "personal": kind.personal, "plugin": plugin,
            "secrets": [{"name": s.name, "title": s.title, "required": s.required}
                        for s in kind.secrets]}


@blp.route("/channel-kinds")
@blp.response(200, ChannelKindListSchema)
@requires("channel.manage")
def list_channel_kinds(tenant_code):
    """可用的渠道类型（平台内置与本单位启用插件提供的）及可订阅的事件"""
    context = request_context()
    kinds = service.kinds(context)
    plugins = {entry.key: name for name, entry in service._entries(context.registry,
                                                                    context.tenant.plugins)
               if isinstance(entry, ChannelKind)}
    return {"items": [_kind_entry(kind, plugins.get(key, service.CORE)) for key, kind in kinds.items()],
            "events": EVENTS}


@blp.route("/channels")
@blp.arguments(ChannelQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ChannelSchema))
@requires("channel.manage")
def list_channels(query, pages, tenant_code):
    """本单位的通知渠道（密钥只显示末四位）"""
    stmt = select(Channel)
    if "kind" in query:
        stmt = stmt.where(Channel.kind == query["kind"])
    if "active" in query:
        stmt = stmt.where(Channel.is_active.is_(query["active"]))
    return paginate(stmt.order_by(Channel.name, Channel.id), pages["page"], pages["per_page"])


@blp.route("/channels", methods=["POST"])
@blp.arguments(ChannelCreateSchema)
@blp.response(201, ChannelSchema)
@blp.alt_response(422, schema=ProblemSchema,
                  description="设置或密钥无效；未配置邮件服务器时的邮件渠道、未启用短信服务商插件时的短信渠道")
@requires("channel.manage")
def create_channel(data, tenant_code):
    """新建通知渠道（邮件、企业微信群机器人、钉钉机器人、签名 Webhook、短信或插件提供的类型）"""
    channel = service.create_channel(request_context(), data)
    db.session.commit()
    return channel


@blp.route("/channels/<int:channel_id>")
@blp.etag
@blp.response(200, ChannelSchema)
@requires("channel.manage")
def get_channel(tenant_code, channel_id):
    """通知渠道详情（密钥只显示末四位）"""
    return get_or_404(Channel, channel_id, "通知渠道")


@blp.route("/channels/<int:channel_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(ChannelUpdateSchema)
@blp.response(200, ChannelSchema)
@requires("channel.manage")
def update_channel(data, tenant_code, channel_id):
    """修改通知渠道（需 If-Match）：名称、设置（整体替换）、密钥（只改给出的，空值删除可选项）、启用或停用"""
    channel = get_or_404(Channel, channel_id, "通知渠道")
    blp.check_etag(channel, ChannelSchema)
    service.update_channel(request_context(), channel, data)
    db.session.commit()
    return channel


@blp.route("/channel-rules")
@blp.response(200, TenantRulesSchema)
@requires("channel.manage")
def get_channel_rules(tenant_code):
    """本单位的通知规则：哪些事件发往哪些渠道（渠道自身的收件人，及所涉企业的联系人）"""
    return {"rules": service.tenant_rules(request_context())}


@blp.route("/channel-rules", methods=["PUT"])
@blp.arguments(TenantRulesSchema)
@blp.response(200, TenantRulesSchema)
@blp.alt_response(422, schema=ProblemSchema, description="有错误时全部不保存，errors 按“rules.序号.字段”列出")
@requires("channel.manage")
def set_channel_rules(data, tenant_code):
    """整体替换本单位的通知规则"""
    rules = service.set_tenant_rules(request_context(), data["rules"])
    db.session.commit()
    return {"rules": rules}


def _my_preferences(context) -> dict:
    return {"rules": service.user_rules(context, context.user_id),
            "channels": service.available_channels(context), "events": EVENTS}


@blp.route("/my-channel-preferences")
@blp.response(200, UserPreferencesSchema)
@requires("channel_preference.manage_own")
def get_my_channel_preferences(tenant_code):
    """我的通知订阅：发给我的哪些事件另经哪些渠道送达（及本单位可订阅的渠道）"""
    return _my_preferences(request_context())


@blp.route("/my-channel-preferences", methods=["PUT"])
@blp.arguments(UserRulesSchema)
@blp.response(200, UserPreferencesSchema)
@blp.alt_response(422, schema=ProblemSchema, description="有错误时全部不保存，errors 按“rules.序号.字段”列出")
@requires("channel_preference.manage_own")
def set_my_channel_preferences(data, tenant_code):
    """整体替换我的通知订阅（邮件、短信渠道须填本人地址）"""
    context = request_context()
    service.set_user_rules(context, context.user_id, data["rules"])
    db.session.commit()
    return _my_preferences(context)


@blp.route("/channel-deliveries")
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(DeliverySchema))
@requires("channel_delivery.read")
def list_channel_deliveries(query, pages, tenant_code):
    """发送记录（新的在前）：已发送、待重试、失败，尝试次数、最后错误与时间"""
    stmt = select(Delivery)
    for key in ("status", "channel_id", "event"):
        if key in query:
            stmt = stmt.where(getattr(Delivery, key) == query[key])
    return paginate(stmt.order_by(Delivery.created_at.desc(), Delivery.id.desc()),
                    pages["page"], pages["per_page"])


@blp.route("/channel-deliveries/<int:delivery_id>/retry", methods=["POST"])
@blp.arguments(DeliveryRetrySchema, required=False)
@blp.response(200, DeliverySchema)
@blp.alt_response(409, schema=ProblemSchema, description="已发送，或已在发送队列中")
@requires("channel.manage")
def retry_channel_delivery(data, tenant_code, delivery_id):
    """重发一条失败（或未能排队）的消息，尝试次数从头计"""
    delivery = get_or_404(Delivery, delivery_id, "发送记录")
    service.retry_delivery(request_context(), delivery)
    db.session.commit()
    return delivery

