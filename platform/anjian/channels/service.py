"""Notifications out (通知外发): a tenant's channels, who hears of which event on which
channel, and the deliveries.

The hand-off: ``install(app)`` subscribes ``on_event`` to the kernel's notifications
(``anjian.notifications.subscribe``). Every ``notify`` / ``announce`` then reaches
``on_event`` inside the caller's transaction: it writes one ``Delivery`` per channel and
address the tenant's rules and the users' preferences ask for, and enqueues one job per
delivery (``channel_delivery``, queue ``notifications``), which RQ receives when the
caller commits: nothing is sent from a request, nothing is sent for a change rolled
back, and a major hazard's notice is in the queue the moment its report commits.

The job (``deliver``) sends through the channel's kind and writes the outcome in the
log: sent; or, on failure, retrying with the next attempt enqueued after a backoff
(``ANJIAN_CHANNEL_RETRY_SECONDS``), then failed when the attempts are spent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import and_, delete, or_, select

from anjian.auth.models import Membership, User
from anjian.channels.kinds import (
    ENTERPRISE_EVENTS,
    EVENTS,
    Attachment,
    ChannelKind,
    Message,
    Outgoing,
    SmsProvider,
)
from anjian.channels.models import FAILED, QUEUED, RETRYING, SENT, Channel, ChannelRule, Delivery
from anjian.channels.senders import PHONE, _url, smtp_configured, text_of
from anjian.clock import utcnow
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.errors import Conflict, PluginError, Refused
from anjian.extensions import db, this_app
from anjian.hazards.models import Hazard
from anjian.jobs.service import QueueUnavailable, enqueue
from anjian.notifications import Event, subscribe
from anjian.permissions import roles_allowed
from anjian.reports.models import Report
from anjian.storage.backends import MAX_URL_SECONDS

log = logging.getLogger(__name__)

CORE = "anjian.defaults"
JOB_KIND = "channel_delivery"
DEFAULT_RETRY_SECONDS = (30, 300, 1800)
ATTACH_MAX_BYTES = 10 * 1024 * 1024  # larger reports go as a link
MAX_RULES = 200
SECRET_MAX = 1000
# What of the platform's configuration a sender sees (never the SECRET_KEY or the database).
PLATFORM_SETTINGS = ("ANJIAN_SMTP_HOST", "ANJIAN_SMTP_PORT", "ANJIAN_SMTP_FROM", "ANJIAN_SMTP_TLS",
                     "ANJIAN_SMTP_USERNAME", "ANJIAN_SMTP_PASSWORD", "ANJIAN_CHANNEL_ALLOW_PRIVATE")


# --------------------------------------------------------------------------- kinds


def _entries(registry, enabled: tuple[str, ...] | None):
    """(plugin name, entry) of ``register_channel_kinds``: the core's and the enabled
    plugins' (``enabled`` None: every loaded plugin's); objects with a ``send``, not dicts."""
    return registry.hook_entries("register_channel_kinds", enabled)


def check_kinds(registry) -> None:
    """Every loaded plugin's channel kinds and SMS providers, typed and checked (start-up);
    an invalid one raises PluginError naming the plugin."""
    for name, entry in _entries(registry, None):
        if not isinstance(entry, (ChannelKind, SmsProvider)):
            raise PluginError(f"插件 {name} 的 register_channel_kinds 须返回 ChannelKind 或 "
                              f"SmsProvider，而不是 {type(entry).__name__}")
        try:
            entry.check()
        except ValueError as exc:
            raise PluginError(f"插件 {name} 的通知渠道 {getattr(entry, 'key', '?')} 无效：{exc}") from exc


def kinds(context: Context) -> dict[str, ChannelKind]:
    """The channel kinds of the context's tenant: the core's and its enabled plugins'
    (a plugin's kind of the same key replaces the core's)."""
    out: dict[str, ChannelKind] = {}
    for _name, entry in sorted(_entries(context.registry, context.tenant.plugins),
                              key=lambda pair: pair[0] != CORE):
        if isinstance(entry, ChannelKind):
            out[entry.key] = entry
    return out


def sms_providers(context: Context) -> dict[str, SmsProvider]:
    return {entry.key: entry for _name, entry in _entries(context.registry, context.tenant.plugins)
            if isinstance(entry, SmsProvider)}


# --------------------------------------------------------------------------- channels


def mask(value: str) -> str:
    """A secret as answered: never in full (its last four characters of a long one)."""
    return "****" + value[-4:] if len(value) >= 16 else "****"


def masked_secrets(channel: Channel) -> dict[str, str]:
    return {name: mask(value) for name, value in sorted((channel.secrets or {}).items())}


def _schema(spec):
    return spec() if isinstance(spec, type) else spec


def _load(schema_spec, raw, prefix: str) -> dict:
    if schema_spec is None:
        if raw:
            raise Refused("此类渠道不接受设置项", errors={prefix: ["此类渠道不接受设置项"]})
        return {}
    try:
        return _schema(schema_spec).load(raw or {})
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        raise Refused("渠道设置无效", errors={f"{prefix}.{key}": value if isinstance(value, list)
                                          else [str(value)] for key, value in messages.items()}) from None


def _secret_fields(context: Context, kind: ChannelKind, settings: dict):
    fields = list(kind.secrets)
    if kind.key == "sms":
        provider = sms_providers(context).get(settings.get("provider"))
        fields += list(provider.secrets if provider else ())
    return {field.name: field for field in fields}


def _settings(context: Context, kind: ChannelKind, raw: dict | None) -> dict:
    config = this_app().config
    if kind.key == "email" and not smtp_configured(config):
        raise Refused("平台未配置邮件服务器，暂不能使用邮件渠道（请平台管理员设置 ANJIAN_SMTP_HOST）",
                      field="kind")
    settings = _load(kind.settings, raw, "settings")
    if kind.key == "sms":
        providers = sms_providers(context)
        if not providers:
            raise Refused("未启用提供短信服务商的插件，不能配置短信渠道", field="kind")
        provider = providers.get(settings["provider"])
        if provider is None:
            raise Refused("未知的短信服务商", errors={"settings.provider": [
                f"须为以下之一: {', '.join(sorted(providers))}"]})
        settings["provider_settings"] = _load(provider.settings, settings.get("provider_settings"),
                                              "settings.provider_settings")
    return settings


def _secrets(fields: dict, given: Mapping | None, known: dict | None) -> dict:
    """The channel's secrets: ``known`` ones, with ``given`` ones set (a null or empty value
    removes an optional one); every required one present."""
    out = dict(known or {})
    errors: dict[str, list[str]] = {}
    for name, value in (given or {}).items():
        field = fields.get(name)
        if field is None:
            errors[f"secrets.{name}"] = ["此类渠道没有这项密钥"]
        elif value in (None, ""):
            out.pop(name, None)
        elif not isinstance(value, str) or len(value) > SECRET_MAX:
            errors[f"secrets.{name}"] = [f"须为至多 {SECRET_MAX} 字的字符串"]
        else:
            if name == "url":
                try:
                    _url(value)
                except ma.ValidationError as exc:
                    errors[f"secrets.{name}"] = list(exc.messages)
                    continue
            out[name] = value.strip()
    for name in list(out):
        if name not in fields:
            out.pop(name)  # e.g. another SMS provider's
    for name, field in fields.items():
        if field.required and not out.get(name) and f"secrets.{name}" not in errors:
            errors[f"secrets.{name}"] = [f"必填项（{field.title}）"]
    if errors:
        raise Refused("渠道密钥无效", errors=errors)
    return out


def _name_taken(name: str, but: int | None = None) -> bool:
    stmt = select(Channel.id).where(Channel.name == name)
    if but is not None:
        stmt = stmt.where(Channel.id != but)
    return db.session.scalar(stmt.limit(1)) is not None


def create_channel(context: Context, data: dict) -> Channel:
    """A new channel of the context's tenant; the caller commits."""
    kind = kinds(context).get(data["kind"])
    if kind is None:
        raise Refused("未知的渠道类型", errors={"kind": [f"须为以下之一: {', '.join(kinds(context))}"]})
    name = data["name"].strip()
    if not name:
        raise Refused("渠道名称不能为空", field="name")
    if _name_taken(name):
        raise Conflict("已有同名渠道", field="name")
    settings = _settings(context, kind, data.get("settings"))
    secrets = _secrets(_secret_fields(context, kind, settings), data.get("secrets"), None)
    channel = Channel(kind=kind.key, name=name, settings=settings, secrets=secrets,
                      is_active=data.get("is_active", True))
    db.session.add(channel)
    db.session.flush()
    return channel


def update_channel(context: Context, channel: Channel, data: dict) -> Channel:
    """Change a channel's name, settings (given whole), secrets (those given) or state."""
    kind = kinds(context).get(channel.kind)
    if kind is None and ({"settings", "secrets"} & set(data)):
        raise Conflict("此渠道的类型已不可用（插件未启用），只能停用或改名")
    if "name" in data:
        name = data["name"].strip()
        if not name:
            raise Refused("渠道名称不能为空", field="name")
        if _name_taken(name, channel.id):
            raise Conflict("已有同名渠道", field="name")
        channel.name = name
    settings = channel.settings
    if "settings" in data:
        settings = _settings(context, kind, data["settings"])
    if "settings" in data or "secrets" in data:
        channel.secrets = _secrets(_secret_fields(context, kind, settings), data.get("secrets"),
                                   channel.secrets)
        channel.settings = settings
    if "is_active" in data:
        channel.is_active = data["is_active"]
    db.session.flush()
    return channel


# --------------------------------------------------------------------------- rules


def _check_rules(context: Context, rules: list[dict], personal: bool) -> dict[int, Channel]:
    if len(rules) > MAX_RULES:
        raise Refused(f"至多 {MAX_RULES} 条", field="rules")
    ids = {rule["channel_id"] for rule in rules}
    channels = {c.id: c for c in db.session.scalars(select(Channel).where(Channel.id.in_(ids)))}
    known = kinds(context)
    errors: dict[str, list[str]] = {}
    seen = set()
    for n, rule in enumerate(rules):
        channel = channels.get(rule["channel_id"])
        if channel is None:
            errors[f"rules.{n}.channel_id"] = ["渠道不存在"]
            continue
        key = (rule["event"], channel.id, rule.get("address", ""))
        if key in seen:
            errors[f"rules.{n}"] = ["与前面的一条重复"]
        seen.add(key)
        if not personal:
            continue
        kind = known.get(channel.kind)
        address = rule.get("address", "")
        if kind is None or not kind.personal:
            if address:
                errors[f"rules.{n}.address"] = ["群机器人、Webhook 渠道不需要地址"]
        elif not address:
            errors[f"rules.{n}.address"] = ["必填项（邮箱或手机号）"]
        else:
            check = (validate.Email(error="不是有效的电子邮件地址") if channel.kind == "email"
                     else PHONE if channel.kind == "sms" else None)
            try:
                if check is not None:
                    check(address)
            except ma.ValidationError as exc:
                errors[f"rules.{n}.address"] = list(exc.messages)
    if errors:
        raise Refused("通知规则无效", errors=errors)
    return channels


def tenant_rules(context: Context) -> list[ChannelRule]:
    return list(db.session.scalars(select(ChannelRule).where(ChannelRule.user_id.is_(None))
                                   .order_by(ChannelRule.event, ChannelRule.channel_id)))


def user_rules(context: Context, user_id: int) -> list[ChannelRule]:
    return list(db.session.scalars(select(ChannelRule).where(ChannelRule.user_id == user_id)
                                   .order_by(ChannelRule.event, ChannelRule.channel_id)))


def set_tenant_rules(context: Context, rules: list[dict]) -> list[ChannelRule]:
    """Replace the tenant's rules: which event goes to which channel's recipients (and to
    the enterprise concerned, ``enterprise_contacts``). The caller commits."""
    _check_rules(context, rules, personal=False)
    db.session.execute(delete(ChannelRule).where(ChannelRule.user_id.is_(None)))
    for rule in rules:
        db.session.add(ChannelRule(user_id=None, event=rule["event"], channel_id=rule["channel_id"],
                                   enterprise_contacts=rule.get("enterprise_contacts", False)))
    db.session.flush()
    return tenant_rules(context)


def set_user_rules(context: Context, user_id: int, rules: list[dict]) -> list[ChannelRule]:
    """Replace one user's preferences in the tenant: which of the events addressed to them
    also go to which channel (at their address on a personal one). The caller commits."""
    channels = _check_rules(context, rules, personal=True)
    inactive = sorted({c.id for c in channels.values() if not c.is_active})
    if inactive:
        raise Refused("渠道已停用", errors={"rules": [f"渠道 {i} 已停用" for i in inactive]})
    db.session.execute(delete(ChannelRule).where(ChannelRule.user_id == user_id))
    for rule in rules:
        db.session.add(ChannelRule(user_id=user_id, event=rule["event"],
                                   channel_id=rule["channel_id"], address=rule.get("address", "")))
    db.session.flush()
    return user_rules(context, user_id)


def available_channels(context: Context) -> list[Channel]:
    return list(db.session.scalars(select(Channel).where(Channel.is_active.is_(True))
                                   .order_by(Channel.name)))


# --------------------------------------------------------------------------- the hand-off


def install(app) -> None:
    """At app start: check the channel kinds, and hear of every notification."""
    check_kinds(app.extensions["anjian.plugins"])
    subscribe(app, on_event)


def on_event(context: Context, event: Event) -> None:
    """The subscriber: the deliveries ``event`` calls for, in the caller's transaction (a
    savepoint: a mistake here never costs the caller its change), their jobs enqueued."""
    if event.kind not in EVENTS or context.tenant_id is None:
        return
    try:
        rows = _rules(event)  # a read: most events of most tenants stop here, no savepoint
        if not rows:
            return
        with db.session.begin_nested():
            deliveries = _deliveries(context, event, rows)
    except Exception:
        log.exception("notification %s: deliveries not written", event.kind)
        return
    dispatch(deliveries)
    if any(delivery.job_id for delivery in deliveries):  # the queue takes jobs again
        dispatch_stranded(context)


STRANDED_BATCH = 200


def dispatch_stranded(context: Context) -> int:
    """The tenant's deliveries the queue could not take when they were written (queued,
    no job): enqueued now, the oldest first (at most ``STRANDED_BATCH``); how many. Asked
    when a later event of the tenant reaches the queue, and by the daily scan."""
    stranded = db.session.scalars(
        select(Delivery).where(Delivery.status == QUEUED, Delivery.job_id.is_(None))
        .order_by(Delivery.id).limit(STRANDED_BATCH)).all()
    dispatch(stranded)
    return sum(1 for delivery in stranded if delivery.job_id)


def dispatch(deliveries: list[Delivery], delay: float = 0.0) -> None:
    """Enqueue one job per delivery (RQ gets them at commit). Redis down: the deliveries
    stay queued, their error says so, and a tenant admin retries them."""
    for delivery in deliveries:
        try:
            job = enqueue(JOB_KIND, {"delivery_id": delivery.id}, tenant_id=delivery.tenant_id,
                          actor_user_id=None, shared=False, delay=delay)
        except QueueUnavailable:
            log.warning("delivery %s: queue unavailable, left queued", delivery.id)
            delivery.last_error = "任务队列暂不可用，未能安排发送，请稍后重试"
            continue
        delivery.job_id = job.id
    db.session.flush()


def _rules(event: Event) -> list:
    """The tenant's rules and users' preferences for the event's kind, with their active
    channels: (rule, channel) rows."""
    return db.session.execute(
        select(ChannelRule, Channel)
        .join(Channel, and_(Channel.tenant_id == ChannelRule.tenant_id,
                            Channel.id == ChannelRule.channel_id))
        .where(ChannelRule.event == event.kind, Channel.is_active.is_(True))
        .order_by(ChannelRule.id)).all()


def _deliveries(context: Context, event: Event, rows: list) -> list[Delivery]:
    enterprise = _enterprise_of(event)
    addressed = _addressed(event, enterprise, {rule.user_id for rule, _ in rows if rule.user_id})
    known = kinds(context)
    data = {key: value for key, value in (
        ("hazard_id", event.hazard_id), ("task_id", event.task_id), ("report_id", event.report_id),
        ("job_id", event.job_id), ("enterprise_id", enterprise.id if enterprise else None))
        if value is not None}
    out: dict[tuple, Delivery] = {}

    def add(channel: Channel, recipient: str, audience: str) -> None:
        key = (channel.id, recipient)
        if key not in out:
            out[key] = Delivery(channel_id=channel.id, event=event.kind, title=event.title[:300],
                                body=event.body or "", recipient=recipient, audience=audience,
                                data=data, status=QUEUED, attempts=0)

    for rule, channel in rows:
        kind = known.get(channel.kind)
        if rule.user_id is not None:
            if rule.user_id in addressed:
                add(channel, rule.address or "", f"user:{rule.user_id}")
            continue
        if kind is None or not kind.personal or channel.settings.get("recipients"):
            add(channel, "", "channel")
        if rule.enterprise_contacts and enterprise is not None and event.kind in ENTERPRISE_EVENTS:
            contact = _contact(enterprise, channel.kind)
            if contact:
                add(channel, contact, f"enterprise:{enterprise.id}")
    deliveries = list(out.values())
    db.session.add_all(deliveries)
    db.session.flush()
    return deliveries


def _enterprise_of(event: Event) -> Enterprise | None:
    enterprise_id = event.enterprise_id
    if enterprise_id is None and event.hazard_id is not None:
        hazard = db.session.get(Hazard, event.hazard_id)
        enterprise_id = hazard.enterprise_id if hazard is not None else None
    return db.session.get(Enterprise, enterprise_id) if enterprise_id is not None else None


def _addressed(event: Event, enterprise: Enterprise | None, candidates: set[int]) -> set[int]:
    """The users (of ``candidates``, those with preferences) an event is for: those it
    names; for an enterprise's hazard, that enterprise's users too; for the overdue scan
    (which names nobody), the tenant's supervising members."""
    out = set(event.user_ids) & candidates
    rest = candidates - out
    if not rest:
        return out
    clauses = []
    if enterprise is not None and event.kind in ENTERPRISE_EVENTS:
        clauses.append(Membership.enterprise_id == enterprise.id)
    if event.kind == "overdue":
        clauses.append(Membership.role.in_(roles_allowed("hazard.notified_of_major")))
    if clauses:
        out |= set(db.session.scalars(
            select(Membership.user_id).join(User, User.id == Membership.user_id)
            .where(or_(*clauses), Membership.user_id.in_(rest), Membership.disabled_at.is_(None),
                   User.is_active.is_(True))))
    return out


def _contact(enterprise: Enterprise, kind: str) -> str:
    """The enterprise's own address on a personal channel: its contact's (else its
    principal's) phone for SMS; for e-mail the ``contact_email`` of its extra fields."""
    if kind == "sms":
        return enterprise.contact_phone or enterprise.principal_phone or ""
    if kind == "email":
        value = (enterprise.extra or {}).get("contact_email")
        return value if isinstance(value, str) else ""
    return ""


# --------------------------------------------------------------------------- sending


def retry_delays(config) -> tuple[int, ...]:
    raw = config.get("ANJIAN_CHANNEL_RETRY_SECONDS")
    if raw in (None, ""):
        return DEFAULT_RETRY_SECONDS
    return tuple(max(0, int(part)) for part in str(raw).split(",") if part.strip())


def _platform_config(config) -> dict:
    return {key: config.get(key) for key in PLATFORM_SETTINGS}


def _report_parts(context: Context, delivery: Delivery, channel: Channel, storage,
                  config) -> tuple[str | None, Attachment | None, str]:
    """A ready report's file: attached (e-mail, unless the channel asks for links or the
    file is large) or a short-lived download link; and a line for the body."""
    report = db.session.get(Report, delivery.data.get("report_id"))
    if report is None or not report.object_key:
        return None, None, ""
    if (channel.kind == "email" and channel.settings.get("report_delivery") != "link"
            and (report.size or 0) <= ATTACH_MAX_BYTES):
        data = storage.get_bytes(report.object_key, context.tenant_id)
        return None, Attachment(report.filename or "report", report.content_type
                                or "application/octet-stream", data), "报表文件见附件。"
    url = storage.download_url(report.object_key, context.tenant_id, report.filename,
                               MAX_URL_SECONDS, report.content_type)
    if url.startswith("/"):
        base = (config.get("ANJIAN_PUBLIC_URL") or "").rstrip("/")
        if not base:
            return None, None, "请登录平台下载报表。"
        url = base + url
    return url, None, f"下载链接 {MAX_URL_SECONDS // 3600} 小时内有效，过期请登录平台下载。"


def _message(context: Context, delivery: Delivery, channel: Channel, storage, config) -> Message:
    link = attachment = None
    body = delivery.body
    if delivery.event == "report_ready":
        link, attachment, note = _report_parts(context, delivery, channel, storage, config)
        body = f"{body}\n{note}".strip()
    return Message(event=delivery.event, title=delivery.title, body=body,
                   recipient=delivery.recipient, link=link, attachment=attachment,
                   data=dict(delivery.data or {}))


def _send(context: Context, channel: Channel, message: Message, config) -> None:
    kind = kinds(context).get(channel.kind)
    if kind is None:
        raise Conflict("渠道类型已不可用（插件未启用或已卸载）")
    outgoing = Outgoing(settings=dict(channel.settings or {}), secrets=dict(channel.secrets or {}),
                        message=message, config=_platform_config(config),
                        timeout=float(config.get("ANJIAN_CHANNEL_TIMEOUT_SECONDS") or 10))
    if kind.key != "sms":
        kind.send(outgoing)
        return
    provider = sms_providers(context).get(channel.settings.get("provider"))
    if provider is None:
        raise Conflict("短信服务商插件未启用")
    phones = [message.recipient] if message.recipient else list(channel.settings.get("recipients") or ())
    for phone in phones:
        provider.send(phone, text_of(message), outgoing)


def _error_text(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(f"{text}".split())[:1000]


def deliver(context: Context, delivery_id: int, storage) -> dict:
    """The ``channel_delivery`` job: one attempt at one delivery, its outcome in the log
    (sent; retrying, the next attempt enqueued after its backoff; failed). A delivery
    already sent or failed is left alone. The job commits."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        return {"delivery_id": delivery_id, "status": "missing"}
    if delivery.status in (SENT, FAILED):
        return {"delivery_id": delivery.id, "status": delivery.status, "skipped": True}
    config = this_app().config
    channel = db.session.get(Channel, delivery.channel_id)
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.next_attempt_at = None
    try:
        if not channel.is_active:
            raise Conflict("渠道已停用")
        _send(context, channel, _message(context, delivery, channel, storage, config), config)
    except Exception as exc:  # whatever a sender raises (storage too): logged, retried
        log.info("delivery %s attempt %s failed: %s", delivery.id, delivery.attempts, exc)
        delivery.last_error = _error_text(exc)
        delays = retry_delays(config)
        if delivery.attempts <= len(delays) and channel.is_active:
            delay = delays[delivery.attempts - 1]
            delivery.status = RETRYING
            delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
            db.session.flush()
            dispatch([delivery], delay=delay)
        else:
            delivery.status = FAILED
    else:
        delivery.status = SENT
        delivery.sent_at = now
        delivery.last_error = None
    db.session.flush()
    return {"delivery_id": delivery.id, "status": delivery.status, "attempts": delivery.attempts}


def retry_delivery(context: Context, delivery: Delivery) -> Delivery:
    """A tenant admin sends a failed delivery (or one the queue never took) again: its
    attempts start over. The caller commits."""
    if delivery.status == SENT:
        raise Conflict("已发送的消息不能重发")
    if delivery.status == RETRYING or (delivery.status == QUEUED and delivery.job_id):
        raise Conflict("该消息已在发送队列中")
    delivery.status, delivery.attempts, delivery.next_attempt_at = QUEUED, 0, None
    delivery.last_error = None
    db.session.flush()
    dispatch([delivery])
    if delivery.job_id is None:
        raise QueueUnavailable()
    return delivery


__all__ = ["JOB_KIND", "available_channels", "check_kinds", "create_channel", "deliver", "dispatch_stranded",
           "install", "kinds", "mask", "masked_secrets", "on_event", "retry_delivery",
           "set_tenant_rules", "set_user_rules", "sms_providers", "tenant_rules", "update_channel",
           "user_rules"]
