"""Notification channels (通知渠道): the kinds of channel, what a sender receives, and the
events a channel can carry. A kernel module: the core's senders (``senders``), the plugin
API and the channels package read it; it imports nothing above the kernel.

A channel kind (``ChannelKind``) is a catalogue entry of the hook ``register_channel_kinds``
(the core's: e-mail, 企业微信 and 钉钉 group robots, a signed webhook, SMS): its ``send``
gets an ``Outgoing`` (the channel's settings and secrets, the message, the platform's
configuration) and raises on failure (any exception: the delivery is retried, then
failed). SMS is an interface: the core's ``sms`` kind hands its messages to an
``SmsProvider`` a plugin returns from the same hook.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from anjian.plugins.catalogue import CatalogueError, Entry

# The events a channel carries, code → Chinese label; the codes are the kinds of
# ``anjian.notifications.Event``.
EVENTS = {
    "major_hazard": "发现重大事故隐患",
    "hazard_assigned": "发现隐患、交企业整改",
    "hazard_rejected": "隐患验收不通过、退回整改",
    "task_reminder": "任务临近截止",
    "overdue": "隐患或任务逾期",
    "report_ready": "报表已生成",
    "job_failed": "后台任务失败",
}
# Events about one enterprise's hazard: the enterprise's own contacts may be told.
ENTERPRISE_EVENTS = frozenset({"major_hazard", "hazard_assigned", "hazard_rejected"})

KIND_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ChannelError(Exception):
    """A sender could not deliver (the message names why, for the delivery log)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Message:
    """What a channel sends: the event's kind, title and body (Chinese), the recipient's
    address (an e-mail address or a phone number; "" for a group channel: its own
    recipients), a short-lived download link and, by e-mail, the file itself."""

    event: str
    title: str
    body: str
    recipient: str = ""
    link: str | None = None
    attachment: Attachment | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outgoing:
    """What a sender receives: the channel's validated ``settings`` and its ``secrets``
    (name → value), the ``message``, the platform's configuration (``config``: the SMTP
    server, ...) and the ``timeout`` in seconds of any network call."""

    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    message: Message
    config: Mapping[str, Any]
    timeout: float = 10.0


@dataclass(frozen=True)
class SecretField:
    """A secret a channel kind takes (a robot's URL with its token, a signing key): stored,
    used by the sender, never answered in full."""

    name: str
    title: str
    required: bool = True


@dataclass(frozen=True)
class ChannelKind(Entry):
    """A kind of channel: ``key`` (2-40 lower-case letters, digits or '_'), Chinese
    ``title``, ``send(outgoing)``, the marshmallow ``settings`` schema (class or instance)
    of an instance's settings, its ``secrets``, and whether it is ``personal``: each
    recipient has an address on it (e-mail, phone), given in their preferences or as the
    channel's ``recipients`` setting."""

    key: str
    title: str
    send: Callable[[Outgoing], None]
    settings: Any = None
    secrets: tuple[SecretField, ...] = ()
    personal: bool = False
    description: str = ""

    def check(self, field: str = "") -> None:
        if not isinstance(self.key, str) or not KIND_KEY.match(self.key):
            raise CatalogueError("key", "须为 2–40 个小写字母、数字或 '_' / must be 2-40 lower-case "
                                        "letters, digits or '_'")
        if not isinstance(self.title, str) or not self.title.strip() or len(self.title) > 100:
            raise CatalogueError("title", "须为非空字符串（至多 100 字） / must be a non-empty string "
                                          "of at most 100 characters")
        if not callable(self.send):
            raise CatalogueError("send", "须为可调用对象 / must be callable")
        for n, secret in enumerate(self.secrets):
            if not isinstance(secret, SecretField) or not SECRET_NAME.match(secret.name):
                raise CatalogueError(f"secrets[{n}]", "须为 SecretField（name 为小写字母、数字或 '_'） / "
                                                      "must be a SecretField with a lower-case name")

    def as_entry(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class SmsProvider:
    """The SMS interface (短信): a plugin subclasses it with its provider (its ``key``,
    Chinese ``title``, the marshmallow ``settings`` of the provider's own settings, e.g. a
    sign name and template, and the names of the ``secrets`` it needs) and returns an
    instance from ``register_channel_kinds``. The core has no provider of its own: an SMS
    channel names one that an enabled plugin provides."""

    key: str = ""
    title: str = ""
    settings: Any = None
    secrets: tuple[SecretField, ...] = ()

    def send(self, phone: str, text: str, outgoing: Outgoing) -> None:
        """Send ``text`` to ``phone``; raise on failure (the delivery is retried)."""
        raise NotImplementedError

    def check(self) -> None:
        if not isinstance(self.key, str) or not KIND_KEY.match(self.key):
            raise CatalogueError("key", "短信服务商 key 须为 2–40 个小写字母、数字或 '_' / an SMS "
                                        "provider's key must be 2-40 lower-case letters, digits or '_'")
        if type(self).send is SmsProvider.send:
            raise CatalogueError("send", "短信服务商须实现 send / an SMS provider must implement send")


__all__ = ["ENTERPRISE_EVENTS", "EVENTS", "Attachment", "ChannelError", "ChannelKind", "Message",
           "Outgoing", "SecretField", "SmsProvider"]
