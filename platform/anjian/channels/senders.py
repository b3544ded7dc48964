"""The core's channel kinds and their senders: e-mail over SMTP, 企业微信 and 钉钉 group
robots, a signed webhook, and SMS as an interface (``anjian.channels.kinds.SmsProvider``).

Each sender takes an ``Outgoing`` and raises ``ChannelError`` (or anything) when the
message did not leave. The platform's SMTP server is configuration (``ANJIAN_SMTP_HOST`` and the like);
everything else is the tenant's channel: its settings and secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import marshmallow as ma
from marshmallow import validate

from anjian.channels.kinds import ChannelError, ChannelKind, Message, Outgoing, SecretField
from anjian.clock import utcnow

MAX_RECIPIENTS = 50
SMTP_TLS = ("starttls", "ssl", "none")
# The generic webhook's headers: the time (Unix seconds) and sha256=HMAC-SHA256(secret,
# "<timestamp>.<body>") in hex.
TIMESTAMP_HEADER = "X-Anjian-Timestamp"
SIGNATURE_HEADER = "X-Anjian-Signature"
EVENT_HEADER = "X-Anjian-Event"
PHONE = validate.Regexp(r"^\+?[0-9][0-9-]{4,19}$", error="手机号格式不正确")


def _url(value: str) -> None:
    try:
        parsed = urllib.parse.urlsplit(value)
        ok = parsed.scheme in ("http", "https") and bool(parsed.hostname)
        parsed.port  # noqa: B018 (a port out of range raises here)
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise ma.ValidationError("须为 http:// 或 https:// 开头的完整网址")


URL_FIELD = {"validate": [validate.Length(max=500), _url]}


def text_of(message: Message) -> str:
    """The message as plain text: title, body, and the download link if there is one."""
    lines = [message.title, message.body]
    if message.link:
        lines.append(f"下载（限时有效）：{message.link}")
    return "\n".join(line for line in lines if line)


def markdown_of(message: Message) -> str:
    lines = [f"### {message.title}", message.body]
    if message.link:
        lines.append(f"[下载文件（限时有效）]({message.link})")
    return "\n\n".join(line for line in lines if line)


# --------------------------------------------------------------------------- e-mail


class EmailSettings(ma.Schema):
    recipients = ma.fields.List(ma.fields.Email(validate=validate.Length(max=200)),
                                validate=validate.Length(max=MAX_RECIPIENTS), load_default=list,
                                metadata={"description": "本渠道的收件人（全单位的事件、定时报表发往这些地址）"})
    report_delivery = ma.fields.String(
        load_default="attachment", validate=validate.OneOf(("attachment", "link")),
        metadata={"description": "报表随邮件发送方式：attachment 附件，link 限时下载链接"})


def smtp_configured(config) -> bool:
    return bool(config.get("ANJIAN_SMTP_HOST") and config.get("ANJIAN_SMTP_FROM"))


def send_email(outgoing: Outgoing) -> None:
    config, message = outgoing.config, outgoing.message
    if not smtp_configured(config):
        raise ChannelError("平台未配置邮件服务器（ANJIAN_SMTP_HOST、ANJIAN_SMTP_FROM）")
    recipients = [message.recipient] if message.recipient else list(
        outgoing.settings.get("recipients") or ())
    if not recipients:
        raise ChannelError("邮件渠道没有收件人")
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = formataddr(("安监平台", config["ANJIAN_SMTP_FROM"]))
    mail["To"] = ", ".join(recipients)
    mail["Message-ID"] = make_msgid(domain="anjian")
    mail.set_content(text_of(message))
    if message.attachment is not None:
        maintype, _, subtype = message.attachment.content_type.partition("/")
        mail.add_attachment(message.attachment.data, maintype=maintype or "application",
                            subtype=subtype or "octet-stream",
                            filename=message.attachment.filename)
    host, port = config["ANJIAN_SMTP_HOST"], int(config.get("ANJIAN_SMTP_PORT") or 25)
    tls = config.get("ANJIAN_SMTP_TLS") or "starttls"
    try:
        if tls == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=outgoing.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=outgoing.timeout)
        with smtp:
            if tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("ANJIAN_SMTP_USERNAME"):
                smtp.login(config["ANJIAN_SMTP_USERNAME"], config.get("ANJIAN_SMTP_PASSWORD") or "")
            smtp.send_message(mail, to_addrs=recipients)
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"邮件发送失败：{type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------- HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A receiver answers where it is: a redirect (perhaps inward) is not followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)
INWARD = "接收地址指向内网或本机，已拒绝发送（平台只向公网地址推送通知）"


def _check_public(url: str) -> None:
    """Refuse a URL whose host resolves to an address that is not public (loopback,
    private, link-local, reserved): a tenant's channel must not reach the platform's own
    network (server-side request forgery). ``ANJIAN_CHANNEL_ALLOW_PRIVATE`` lifts it."""
    parsed = urllib.parse.urlsplit(url)
    try:
        found = socket.getaddrinfo(parsed.hostname, parsed.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ChannelError(f"无法解析接收方地址：{parsed.hostname}") from exc
    for *_rest, address in found:
        if not ipaddress.ip_address(address[0].split("%")[0]).is_global:
            raise ChannelError(INWARD)


def post_json(url: str, payload: dict, timeout: float, headers: dict | None = None,
              body: bytes | None = None, *, allow_private: bool = False) -> dict | None:
    """POST ``payload`` (or ``body``) as JSON to a public address (``allow_private``: any);
    the answer's JSON (None if it is not JSON). A status other than 2xx, a redirect, an
    inward address or no answer raises ChannelError."""
    if not allow_private:
        _check_public(url)
    data = body if body is not None else json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={  # noqa: S310 (http(s): checked)
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "anjian-notifier",
        **(headers or {})})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"接收方答复 HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"无法连接接收方：{getattr(exc, 'reason', exc)}") from exc
    try:
        return json.loads(answer) if answer else None
    except ValueError:
        return None


def _private(outgoing: Outgoing) -> bool:
    return bool(outgoing.config.get("ANJIAN_CHANNEL_ALLOW_PRIVATE"))


def _robot_answer(answer: dict | None, who: str) -> None:
    """企业微信 and 钉钉 answer 200 with {"errcode": 0, "errmsg": "ok"}; another errcode failed."""
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        errmsg = answer.get("errmsg") if isinstance(answer, dict) else None
        raise ChannelError(f"{who}拒绝了消息：errcode={errcode} errmsg={errmsg}")


class RobotSettings(ma.Schema):
    msgtype = ma.fields.String(load_default="text", validate=validate.OneOf(("text", "markdown")),
                               metadata={"description": "消息类型：text 文本，markdown"})


def _robot_url(outgoing: Outgoing) -> str:
    url = outgoing.secrets.get("url") or ""
    if not url:
        raise ChannelError("机器人地址未配置")
    return url


def wecom_payload(message: Message, msgtype: str) -> dict:
    """企业微信群机器人: {"msgtype": "text", "text": {"content": ...}} or markdown."""
    if msgtype == "markdown":
        return {"msgtype": "markdown", "markdown": {"content": markdown_of(message)}}
    return {"msgtype": "text", "text": {"content": text_of(message)}}


def send_wecom(outgoing: Outgoing) -> None:
    payload = wecom_payload(outgoing.message, outgoing.settings.get("msgtype", "text"))
    _robot_answer(post_json(_robot_url(outgoing), payload, outgoing.timeout,
                            allow_private=_private(outgoing)), "企业微信")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉 custom robot's signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")),
    URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def dingtalk_payload(message: Message, msgtype: str) -> dict:
    if msgtype == "markdown":
        return {"msgtype": "markdown", "markdown": {"title": message.title,
                                                    "text": markdown_of(message)}}
    return {"msgtype": "text", "text": {"content": text_of(message)}}


def send_dingtalk(outgoing: Outgoing) -> None:
    url = _robot_url(outgoing)
    secret = outgoing.secrets.get("sign_secret")
    if secret:
        timestamp = int(utcnow().timestamp() * 1000)
        joiner = "&" if urllib.parse.urlsplit(url).query else "?"
        url = f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"
    payload = dingtalk_payload(outgoing.message, outgoing.settings.get("msgtype", "text"))
    _robot_answer(post_json(url, payload, outgoing.timeout, allow_private=_private(outgoing)), "钉钉")


class WebhookSettings(ma.Schema):
    url = ma.fields.String(required=True, **URL_FIELD,
                           metadata={"description": "接收通知的地址（POST JSON）"})


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` under the secret."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def webhook_body(message: Message, sent_at: int) -> bytes:
    payload = {"event": message.event, "title": message.title, "body": message.body,
               "link": message.link, "sent_at": sent_at, **dict(message.data)}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


def send_webhook(outgoing: Outgoing) -> None:
    timestamp = int(utcnow().timestamp())
    body = webhook_body(outgoing.message, timestamp)
    headers = {TIMESTAMP_HEADER: str(timestamp), EVENT_HEADER: outgoing.message.event,
               SIGNATURE_HEADER: webhook_signature(outgoing.secrets["signing_secret"], timestamp,
                                                   body)}
    post_json(outgoing.settings["url"], {}, outgoing.timeout, headers=headers, body=body,
              allow_private=_private(outgoing))


# --------------------------------------------------------------------------- SMS


class SmsSettings(ma.Schema):
    provider = ma.fields.String(required=True, validate=validate.Length(min=1, max=40),
                                metadata={"description": "短信服务商（由插件提供）"})
    recipients = ma.fields.List(ma.fields.String(validate=PHONE),
                                validate=validate.Length(max=MAX_RECIPIENTS), load_default=list,
                                metadata={"description": "本渠道的收信手机号"})
    provider_settings = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(max=60)),
                                       load_default=dict,
                                       metadata={"description": "服务商自己的设置（签名、模板等）"})


def send_sms(outgoing: Outgoing) -> None:
    # The channels service hands SMS to the provider itself (it knows the plugins).
    raise ChannelError("短信须由插件提供的服务商发送")


CORE_KINDS = (
    ChannelKind(key="email", title="电子邮件", send=send_email, settings=EmailSettings,
                personal=True, description="经平台邮件服务器（SMTP）发送；报表可作附件或限时下载链接"),
    ChannelKind(key="wecom", title="企业微信群机器人", send=send_wecom, settings=RobotSettings,
                secrets=(SecretField("url", "机器人 Webhook 地址（含 key）"),),
                description="向企业微信群机器人的 Webhook 地址发送文本或 markdown 消息"),
    ChannelKind(key="dingtalk", title="钉钉自定义机器人", send=send_dingtalk, settings=RobotSettings,
                secrets=(SecretField("url", "机器人 Webhook 地址（含 access_token）"),
                         SecretField("sign_secret", "加签密钥（SEC 开头）", required=False)),
                description="向钉钉自定义机器人发送消息，按加签密钥签名（timestamp + HMAC-SHA256）"),
    ChannelKind(key="webhook", title="通用 Webhook（签名）", send=send_webhook, settings=WebhookSettings,
                secrets=(SecretField("signing_secret", "签名密钥"),),
                description=f"POST JSON；{TIMESTAMP_HEADER} 为 Unix 秒，{SIGNATURE_HEADER} 为 "
                            "sha256=HMAC-SHA256(密钥, “时间戳.请求体”) 的十六进制"),
    ChannelKind(key="sms", title="短信", send=send_sms, settings=SmsSettings, personal=True,
                description="短信接口：须启用提供短信服务商的插件"),
)

__all__ = ["CORE_KINDS", "dingtalk_sign", "smtp_configured", "webhook_signature"]
