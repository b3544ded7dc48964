"""Notifications out (issue 21, part 3): channels and their secrets, the senders against a
real local SMTP server (aiosmtpd) and a local HTTP receiver (企业微信, 钉钉 and the signed
webhook, payloads and signatures checked against values computed here by hand), retries
and the delivery log, tenant rules and users' preferences, enterprise contacts, SMS as a
plugin's provider, reports and failed jobs told, timeliness with the worker running."""

from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
import hmac
import io
import json
import socket
import threading
import time
import types
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from anjian.plugin_api import ChannelError, SecretField, SmsProvider, hookimpl
from tests.conftest import bearer
from tests.test_hazards import FIVE, add_evidence, build_world, moved, reported

SIGN_SECRET = "SEC0123456789abcdef-dingtalk"
HOOK_SECRET = "hook-signing-secret-42"


# --- the local servers ------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd's handler: every message received, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


class Receiver:
    """An HTTP receiver: records every POST and GET (path, query, headers, body) and answers
    the next scripted (status, JSON) of its path, else 200 {"errcode": 0, "errmsg": "ok"};
    a 3xx sends its caller on to ``/landed``."""

    def __init__(self):
        self.calls = []
        self.script: dict[str, list[tuple[int, dict]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parsed = urllib.parse.urlsplit(self.path)
                receiver.calls.append({"path": parsed.path, "query": parsed.query,
                                       "headers": dict(self.headers), "body": body,
                                       "at": time.monotonic()})
                answers = receiver.script.get(parsed.path) or []
                status, payload = answers.pop(0) if answers else (200, {"errcode": 0, "errmsg": "ok"})
                data = json.dumps(payload).encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"{receiver.base}/landed")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # a redirect followed as a GET would land here

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def to(self, path):
        return [c for c in self.calls if c["path"] == path]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


# --- the world --------------------------------------------------------------------------------


@pytest.fixture
def ch(app, client, factory, smtp, receiver):
    """The hazards' world (tests.test_hazards) with SMTP configured, retries without delay."""
    app.config.update(ANJIAN_SMTP_HOST="127.0.0.1", ANJIAN_SMTP_PORT=smtp.port,
                      ANJIAN_SMTP_FROM="noreply@anjian.test", ANJIAN_SMTP_TLS="none",
                      ANJIAN_CHANNEL_RETRY_SECONDS="0,0", ANJIAN_CHANNEL_TIMEOUT_SECONDS=5,
                      ANJIAN_CHANNEL_ALLOW_PRIVATE=True)  # the receiver is local
    w = build_world(app, factory, code="ch")
    w.smtp, w.receiver, w.client = smtp, receiver, client
    w.base = f"/api/v1/tenants/{w.code}"
    return w


def make_channel(w, kind, name, who="admin", **body):
    r = w.client.post(f"{w.base}/channels", json={"kind": kind, "name": name, **body},
                      headers=w.h[who])
    assert r.status_code == 201, r.json
    return r.json


def set_rules(w, rules, who="admin"):
    r = w.client.put(f"{w.base}/channel-rules", json={"rules": rules}, headers=w.h[who])
    assert r.status_code == 200, r.json
    return r.json["rules"]


def deliveries(w, who="admin", **query):
    r = w.client.get(f"{w.base}/channel-deliveries", query_string={"per_page": 200, **query},
                     headers=w.h[who])
    assert r.status_code == 200, r.json
    return r.json


def drain(app):
    from anjian.jobs.embedded import drain as run

    run(app)


def four_channels(w):
    """E-mail to the bureau's box, 企业微信 (text), 钉钉 (markdown, signed), the webhook."""
    base = w.receiver.base
    return {
        "email": make_channel(w, "email", "局邮箱", settings={"recipients": ["ju@anjian.test"]}),
        "wecom": make_channel(w, "wecom", "企业微信群", secrets={"url": f"{base}/wecom?key=WX-KEY-1"}),
        "dingtalk": make_channel(w, "dingtalk", "钉钉群", settings={"msgtype": "markdown"},
                                 secrets={"url": f"{base}/ding?access_token=DT-TOKEN",
                                          "sign_secret": SIGN_SECRET}),
        "webhook": make_channel(w, "webhook", "指挥中心", settings={"url": f"{base}/hook"},
                                secrets={"signing_secret": HOOK_SECRET}),
    }


# --- channels: configuration, secrets ----------------------------------------------------------


def test_channels_are_configured_by_tenant_admins_and_secrets_never_answered(app, ch):
    client = ch.client
    made = make_channel(ch, "wecom", "企业微信群",
                        secrets={"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcd-SECRET-9f3e"})
    assert made["secrets"] == {"url": "****9f3e"}
    assert made["settings"] == {"msgtype": "text"} and made["is_active"] is True
    got = client.get(f"{ch.base}/channels/{made['id']}", headers=ch.h["admin"])
    assert "SECRET" not in got.get_data(as_text=True)
    listed = client.get(f"{ch.base}/channels", headers=ch.h["admin"]).json
    assert listed["total"] == 1 and "SECRET" not in json.dumps(listed)
    # The audit log keeps the change, never the secret.
    audit = client.get(f"{ch.base}/audit", query_string={"entity_type": "channel"},
                       headers=ch.h["admin"]).json["items"]
    assert [a["action"] for a in audit] == ["channel.create"]
    assert audit[0]["after"]["secrets"] == "***"
    # A required secret missing, a setting wrong, an unknown kind: 422 on the field, nothing stored.
    r = client.post(f"{ch.base}/channels", json={"kind": "dingtalk", "name": "钉钉"},
                    headers=ch.h["admin"])
    assert r.status_code == 422
    assert r.json["errors"] == {"secrets.url": ["必填项（机器人 Webhook 地址（含 access_token））"]}
    r = client.post(f"{ch.base}/channels", json={"kind": "webhook", "name": "W", "settings": {
        "url": "ftp://x"}, "secrets": {"signing_secret": "s"}}, headers=ch.h["admin"])
    assert r.status_code == 422 and list(r.json["errors"]) == ["settings.url"]
    r = client.post(f"{ch.base}/channels", json={"kind": "pigeon", "name": "信鸽"}, headers=ch.h["admin"])
    assert r.status_code == 422 and list(r.json["errors"]) == ["kind"]
    # SMS without a plugin's provider is a clear 422.
    r = client.post(f"{ch.base}/channels", json={"kind": "sms", "name": "短信", "settings": {
        "provider": "any"}}, headers=ch.h["admin"])
    assert r.status_code == 422
    assert r.json["errors"] == {"kind": ["未启用提供短信服务商的插件，不能配置短信渠道"]}
    assert client.get(f"{ch.base}/channels", headers=ch.h["admin"]).json["total"] == 1
    # E-mail without the platform's SMTP server: 422 too.
    app.config["ANJIAN_SMTP_HOST"] = ""
    r = client.post(f"{ch.base}/channels", json={"kind": "email", "name": "邮件"}, headers=ch.h["admin"])
    assert r.status_code == 422 and "ANJIAN_SMTP_HOST" in r.json["errors"]["kind"][0]
    # A new secret replaces the old one (If-Match); others than admins get 403.
    url = f"{ch.base}/channels/{made['id']}"
    etag = client.get(url, headers=ch.h["admin"]).headers["ETag"]
    r = client.patch(url, json={"secrets": {"url": "https://qyapi.weixin.qq.com/x?key=new-key-7777"},
                                "name": "值班群"}, headers={**ch.h["admin"], "If-Match": etag})
    assert r.status_code == 200 and (r.json["name"], r.json["secrets"]) == ("值班群", {"url": "****7777"})
    for who in ("sup", "viewer", "svc", "ent"):
        assert client.get(f"{ch.base}/channels", headers=ch.h[who]).status_code == 403, who
        assert client.get(f"{ch.base}/channel-deliveries", headers=ch.h[who]).status_code == 403, who
    kinds = client.get(f"{ch.base}/channel-kinds", headers=ch.h["admin"]).json
    assert [k["key"] for k in kinds["items"]] == ["email", "wecom", "dingtalk", "webhook", "sms"]
    assert set(kinds["events"]) == {"major_hazard", "hazard_assigned", "hazard_rejected",
                                    "task_reminder", "overdue", "report_ready", "job_failed"}


# --- sending: every built-in channel, checked by hand -----------------------------------------


def test_a_major_hazard_goes_out_on_every_channel_after_the_commit(app, ch):
    channels = four_channels(ch)
    set_rules(ch, [{"event": "major_hazard", "channel_id": c["id"]} for c in channels.values()])
    before = int(time.time())
    hid = reported(ch.client, ch, "sup", title="重大：涉爆粉尘除尘系统无防爆装置", location="三车间")
    # Nothing is sent from the request: four deliveries wait in the queue.
    log = deliveries(ch)
    assert [(d["status"], d["attempts"]) for d in log["items"]] == [("queued", 0)] * 4
    assert ch.receiver.calls == [] and ch.smtp.messages == []
    drain(app)
    after = int(time.time())
    log = deliveries(ch)
    assert sorted((d["channel_id"], d["status"], d["attempts"], d["last_error"]) for d in log["items"]) == \
        sorted((c["id"], "sent", 1, None) for c in channels.values())
    assert all(d["data"] == {"hazard_id": hid, "enterprise_id": ch.e1} for d in log["items"])
    title = "重大事故隐患：甲机械厂 重大：涉爆粉尘除尘系统无防爆装置"
    # E-mail: one message to the channel's recipient.
    [(to, mail)] = ch.smtp.messages
    assert to == ["ju@anjian.test"] and mail["Subject"] == title
    assert "noreply@anjian.test" in mail["From"]
    assert "甲机械厂（三车间）" in mail.get_body().get_content()
    # 企业微信: text, the title then the body.
    [wecom] = ch.receiver.to("/wecom")
    assert wecom["query"] == "key=WX-KEY-1"
    sent = json.loads(wecom["body"])
    assert sent["msgtype"] == "text" and sent["text"]["content"].startswith(title + "\n甲机械厂（三车间）")
    # 钉钉: markdown, signed: sign = urlencode(base64(HMAC-SHA256(secret, "<ts>\n<secret>"))).
    [ding] = ch.receiver.to("/ding")
    query = urllib.parse.parse_qs(ding["query"])
    timestamp = int(query["timestamp"][0])
    assert before * 1000 <= timestamp <= (after + 1) * 1000
    expected = base64.b64encode(hmac.new(SIGN_SECRET.encode(), f"{timestamp}\n{SIGN_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected] and query["access_token"] == ["DT-TOKEN"]
    raw_sign = ding["query"].split("sign=")[1]
    assert raw_sign == urllib.parse.quote_plus(expected)  # sent URL-encoded, once
    sent = json.loads(ding["body"])
    assert sent["msgtype"] == "markdown" and sent["markdown"]["title"] == title
    assert sent["markdown"]["text"].startswith(f"### {title}\n\n甲机械厂")
    # The webhook: X-Anjian-Signature = sha256=hex(HMAC-SHA256(secret, "<ts>.<body>")).
    [hook] = ch.receiver.to("/hook")
    ts = hook["headers"]["X-Anjian-Timestamp"]
    assert before <= int(ts) <= after + 1
    assert hook["headers"]["X-Anjian-Signature"] == "sha256=" + hmac.new(
        HOOK_SECRET.encode(), ts.encode() + b"." + hook["body"], hashlib.sha256).hexdigest()
    assert hook["headers"]["X-Anjian-Event"] == "major_hazard"
    payload = json.loads(hook["body"])
    assert (payload["event"], payload["title"], payload["hazard_id"], payload["sent_at"]) == (
        "major_hazard", title, hid, int(ts))
    # A general hazard tells no channel; the delivery jobs ran on the notifications queue.
    reported(ch.client, ch, "sup", title="消防通道堆物")
    drain(app)
    assert deliveries(ch)["total"] == 4
    jobs = ch.client.get(f"{ch.base}/jobs", query_string={"per_page": 100}, headers=ch.h["admin"]).json
    assert sorted(j["kind"] for j in jobs["items"]) == ["channel_delivery"] * 4


def test_a_rolled_back_change_tells_nobody(app, ch):
    channels = four_channels(ch)
    set_rules(ch, [{"event": "major_hazard", "channel_id": channels["webhook"]["id"]}])
    r = ch.client.post(ch.url, json={"enterprise_id": ch.e1, "title": "重大：x", "found_on": "2999-01-01"},
                       headers=ch.h["sup"])
    assert r.status_code == 422
    drain(app)
    assert deliveries(ch)["total"] == 0 and ch.receiver.calls == []


# --- retries and the log ----------------------------------------------------------------------


def test_failures_are_retried_then_logged_as_failed(app, ch):
    base = ch.receiver.base
    flaky = make_channel(ch, "wecom", "时好时坏", secrets={"url": f"{base}/flaky?key=1"})
    down = make_channel(ch, "webhook", "宕机", settings={"url": f"{base}/down"},
                        secrets={"signing_secret": HOOK_SECRET})
    refused = make_channel(ch, "dingtalk", "被拒", secrets={"url": f"{base}/refused?access_token=x"})
    ch.receiver.script["/flaky"] = [(500, {"error": "busy"})]
    ch.receiver.script["/down"] = [(503, {})] * 3
    ch.receiver.script["/refused"] = [(200, {"errcode": 310000, "errmsg": "sign not match"})] * 3
    set_rules(ch, [{"event": "major_hazard", "channel_id": c["id"]} for c in (flaky, down, refused)])
    reported(ch.client, ch, "sup", title="重大：液氨管道泄漏")
    drain(app)
    log = {d["channel_id"]: d for d in deliveries(ch)["items"]}
    # Retry seconds "0,0": three attempts in all, then failed.
    assert (log[flaky["id"]]["status"], log[flaky["id"]]["attempts"]) == ("sent", 2)
    assert log[flaky["id"]]["last_error"] is None and log[flaky["id"]]["sent_at"] is not None
    assert (log[down["id"]]["status"], log[down["id"]]["attempts"]) == ("failed", 3)
    assert log[down["id"]]["last_error"] == "接收方答复 HTTP 503"
    assert (log[refused["id"]]["status"], log[refused["id"]]["attempts"]) == ("failed", 3)
    assert log[refused["id"]]["last_error"] == "钉钉拒绝了消息：errcode=310000 errmsg=sign not match"
    assert len(ch.receiver.to("/flaky")) == 2 and len(ch.receiver.to("/down")) == 3
    assert [d["id"] for d in deliveries(ch, status="failed")["items"]] == sorted(
        [log[down["id"]]["id"], log[refused["id"]]["id"]], reverse=True)
    # A tenant admin sends a failed one again: its attempts start over; sent ones refuse.
    r = ch.client.post(f"{ch.base}/channel-deliveries/{log[down['id']]['id']}/retry", headers=ch.h["admin"])
    assert r.status_code == 200 and (r.json["status"], r.json["attempts"]) == ("queued", 0)
    drain(app)
    again = {d["channel_id"]: d for d in deliveries(ch)["items"]}[down["id"]]
    assert (again["status"], again["attempts"], again["last_error"]) == ("sent", 1, None)
    r = ch.client.post(f"{ch.base}/channel-deliveries/{again['id']}/retry", headers=ch.h["admin"])
    assert r.status_code == 409 and r.json["detail"] == "已发送的消息不能重发"


def test_webhooks_reach_public_addresses_only(app, ch):
    """A tenant's URL must not reach the platform's own network: by default an address
    that resolves to loopback or a private network is refused, and a redirect is not
    followed."""
    app.config["ANJIAN_CHANNEL_ALLOW_PRIVATE"] = False
    inward = make_channel(ch, "webhook", "内网", settings={"url": f"{ch.receiver.base}/hook"},
                          secrets={"signing_secret": HOOK_SECRET})
    private = make_channel(ch, "wecom", "私网", secrets={"url": "http://10.1.2.3:8080/x?key=1"})
    set_rules(ch, [{"event": "major_hazard", "channel_id": c["id"]} for c in (inward, private)])
    reported(ch.client, ch, "sup", title="重大：配电室进水")
    drain(app)
    log = {d["channel_id"]: d for d in deliveries(ch)["items"]}
    for channel in (inward, private):
        assert log[channel["id"]]["status"] == "failed"
        assert log[channel["id"]]["last_error"] == "接收地址指向内网或本机，已拒绝发送（平台只向公网地址推送通知）"
    assert ch.receiver.to("/hook") == []
    # Allowed (an intranet deployment): a redirect is still not followed.
    app.config["ANJIAN_CHANNEL_ALLOW_PRIVATE"] = True
    ch.receiver.script["/moved"] = [(302, {})] * 3
    moved = make_channel(ch, "webhook", "跳转", settings={"url": f"{ch.receiver.base}/moved"},
                         secrets={"signing_secret": HOOK_SECRET})
    set_rules(ch, [{"event": "major_hazard", "channel_id": moved["id"]}])
    reported(ch.client, ch, "sup", title="重大：储罐区无防火堤")
    drain(app)
    log = {d["channel_id"]: d for d in deliveries(ch)["items"]}
    assert (log[moved["id"]]["status"], log[moved["id"]]["last_error"]) == ("failed", "接收方答复 HTTP 302")
    assert len(ch.receiver.to("/moved")) == 3 and ch.receiver.to("/landed") == []


def test_deliveries_the_queue_could_not_take_go_out_later(app, ch):
    """Redis down when a major hazard is reported: its delivery is kept, queued, with a
    note; the tenant's next event that reaches the queue takes it along, and so does the
    daily scan."""
    from anjian.extensions import db
    from anjian.jobs import embedded
    from anjian.jobs.service import enqueue
    from tests.test_hazards import scoped_to

    hook = make_channel(ch, "webhook", "大屏", settings={"url": f"{ch.receiver.base}/hook"},
                        secrets={"signing_secret": HOOK_SECRET})
    set_rules(ch, [{"event": "major_hazard", "channel_id": hook["id"]}])
    redis = app.config["ANJIAN_REDIS_URL"]
    app.config["ANJIAN_REDIS_URL"] = "redis://127.0.0.1:1/0"
    reported(ch.client, ch, "sup", title="重大：液氨管道泄漏")  # the report itself is kept
    app.config["ANJIAN_REDIS_URL"] = redis
    [stranded] = deliveries(ch)["items"]
    assert (stranded["status"], stranded["last_error"]) == ("queued", "任务队列暂不可用，未能安排发送，请稍后重试")
    reported(ch.client, ch, "sup", title="重大：储罐区无防火堤")
    drain(app)
    log = deliveries(ch)["items"]
    assert [(d["title"], d["status"]) for d in log] == [
        ("重大事故隐患：甲机械厂 重大：储罐区无防火堤", "sent"), ("重大事故隐患：甲机械厂 重大：液氨管道泄漏", "sent")]
    assert len(ch.receiver.to("/hook")) == 2
    # The daily scan takes along what is left (here: one more stranded delivery).
    app.config["ANJIAN_REDIS_URL"] = "redis://127.0.0.1:1/0"
    reported(ch.client, ch, "sup", title="重大：配电室进水")
    app.config["ANJIAN_REDIS_URL"] = redis
    with app.app_context(), scoped_to(ch.tenant):
        enqueue("overdue_scan", {}, tenant_id=ch.tenant, shared=False)
        db.session.commit()
    assert embedded.drain(app)
    drain(app)
    assert [d["status"] for d in deliveries(ch)["items"]] == ["sent"] * 3
    assert len(ch.receiver.to("/hook")) == 3


def test_a_retry_waits_its_backoff_in_rqs_schedule(app, ch):
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from anjian.jobs.queues import connection

    app.config["ANJIAN_CHANNEL_RETRY_SECONDS"] = "600"
    down = make_channel(ch, "webhook", "宕机", settings={"url": f"{ch.receiver.base}/down"},
                        secrets={"signing_secret": HOOK_SECRET})
    ch.receiver.script["/down"] = [(500, {})]
    set_rules(ch, [{"event": "major_hazard", "channel_id": down["id"]}])
    reported(ch.client, ch, "sup", title="重大：一")
    drain(app)
    [entry] = deliveries(ch)["items"]
    assert (entry["status"], entry["attempts"]) == ("retrying", 1)
    registry = ScheduledJobRegistry(queue=Queue("notifications", connection=connection(app)))
    assert registry.count == 1  # the second attempt, in ten minutes
    assert len(ch.receiver.to("/down")) == 1


def test_the_delivery_log_is_the_tenant_admins_and_paginated(app, ch, factory):
    channels = four_channels(ch)
    set_rules(ch, [{"event": "major_hazard", "channel_id": channels["webhook"]["id"]}])
    for n in range(3):
        reported(ch.client, ch, "sup", title=f"重大：第{n}条")
    drain(app)
    page = deliveries(ch, per_page=2, page=2)
    assert (page["total"], len(page["items"]), page["page"]) == (3, 1, 2)
    assert page["items"][0]["title"].endswith("第0条")  # newest first: the oldest on page 2
    # Another tenant's admin sees none of them and cannot retry one.
    other = f"/api/v1/tenants/{ch.code}-other/channel-deliveries"
    assert ch.client.get(other, headers=ch.h["other_admin"]).json["total"] == 0
    assert ch.client.get(f"{ch.base}/channel-deliveries", headers=ch.h["other_admin"]).status_code == 404
    first = page["items"][0]["id"]
    r = ch.client.post(f"/api/v1/tenants/{ch.code}-other/channel-deliveries/{first}/retry",
                       headers=ch.h["other_admin"])
    assert r.status_code == 404
    assert ch.client.get(f"{ch.base}/channel-deliveries", headers=ch.h["sup"]).status_code == 403


# --- preferences, enterprises -----------------------------------------------------------------


def test_users_preferences_are_respected(app, ch):
    client = ch.client
    mail = make_channel(ch, "email", "邮件", settings={"recipients": []})
    robot = make_channel(ch, "wecom", "值班群", secrets={"url": f"{ch.receiver.base}/wecom?key=1"})
    url = f"{ch.base}/my-channel-preferences"
    # An e-mail preference needs the person's address; a robot takes none.
    r = client.put(url, json={"rules": [{"event": "major_hazard", "channel_id": mail["id"]}]},
                   headers=ch.h["sup"])
    assert r.status_code == 422 and r.json["errors"] == {"rules.0.address": ["必填项（邮箱或手机号）"]}
    r = client.put(url, json={"rules": [{"event": "major_hazard", "channel_id": robot["id"],
                                         "address": "a@b.cn"}]}, headers=ch.h["sup"])
    assert r.status_code == 422 and list(r.json["errors"]) == ["rules.0.address"]
    r = client.put(url, json={"rules": [{"event": "major_hazard", "channel_id": mail["id"],
                                         "address": "not-mail"}]}, headers=ch.h["sup"])
    assert r.status_code == 422 and list(r.json["errors"]) == ["rules.0.address"]
    # sup: major hazards by e-mail; sup2: only reports; the enterprise user: rejections.
    r = client.put(url, json={"rules": [{"event": "major_hazard", "channel_id": mail["id"],
                                         "address": "sup@anjian.test"}]}, headers=ch.h["sup"])
    assert r.status_code == 200
    assert r.json["rules"] == [{"event": "major_hazard", "channel_id": mail["id"], "address": "sup@anjian.test"}]
    assert [c["name"] for c in r.json["channels"]] == ["值班群", "邮件"]
    assert client.put(url, json={"rules": [{"event": "report_ready", "channel_id": mail["id"],
                                            "address": "sup2@anjian.test"}]},
                      headers=ch.h["sup2"]).status_code == 200
    assert client.put(url, json={"rules": [{"event": "hazard_rejected", "channel_id": mail["id"],
                                            "address": "boss@factory.test"},
                                           {"event": "major_hazard", "channel_id": mail["id"],
                                            "address": "boss@factory.test"}]},
                      headers=ch.h["ent"]).status_code == 200
    # A viewer names another's channel of another tenant: 422, as a missing one.
    other_admin = ch.h["other_admin"]
    theirs = client.post(f"/api/v1/tenants/{ch.code}-other/channels", json={
        "kind": "email", "name": "x"}, headers=other_admin).json["id"]
    r = client.put(url, json={"rules": [{"event": "major_hazard", "channel_id": theirs,
                                         "address": "v@anjian.test"}]}, headers=ch.h["viewer"])
    assert r.status_code == 422 and r.json["errors"] == {"rules.0.channel_id": ["渠道不存在"]}
    hid = reported(client, ch, "sup", title="重大：配电室进水")
    drain(app)
    # The major hazard: sup (addressed) and the enterprise's boss (its enterprise's user).
    assert sorted(to[0] for to, _ in ch.smtp.messages) == ["boss@factory.test", "sup@anjian.test"]
    audiences = sorted(d["audience"] for d in deliveries(ch)["items"])
    assert audiences == sorted([f"user:{ch.ids['sup']}", f"user:{ch.ids['ent']}"])
    # Rejected at acceptance: the enterprise's user hears of it, in-app and by e-mail.
    moved(client, ch, hid, "plan", "sup", **FIVE)
    moved(client, ch, hid, "rectified", "ent", note="已整改",
          evidence_ids=add_evidence(app, ch.tenant, ch.e1, ch.ids["ent"]))
    ch.smtp.messages.clear()
    moved(client, ch, hid, "reject", "sup", note="接地电阻仍不合格")
    drain(app)
    [(to, message)] = ch.smtp.messages
    assert to == ["boss@factory.test"] and message["Subject"] == "隐患退回整改：重大：配电室进水"
    assert "意见：接地电阻仍不合格" in message.get_body().get_content()
    notes = client.get(f"{ch.base}/notifications", headers=ch.h["ent"]).json["items"]
    assert [(n["kind"], n["hazard_id"]) for n in notes] == [("hazard_rejected", hid),
                                                            ("hazard_assigned", hid)]
    assert client.get(url, headers=ch.h["ent"]).json["rules"][0]["event"] == "hazard_rejected"


class FakeSms(SmsProvider):
    key, title = "fake_sms", "测试短信"
    secrets = (SecretField("access_key", "AccessKey"),)

    def __init__(self):
        self.sent = []

    def send(self, phone, text, outgoing):
        if outgoing.secrets["access_key"] != "AK-1234567890":
            raise ChannelError("密钥错误")
        self.sent.append((phone, text))


class SmsPlugin:
    def __init__(self):
        self.provider = FakeSms()

    @hookimpl
    def register_channel_kinds(self):
        return [self.provider]


def test_sms_is_a_plugins_provider_and_reaches_the_enterprise_contact(app, client, factory):
    from anjian.enterprises.models import Enterprise
    from anjian.extensions import db
    from tests.test_hazards import scoped_to

    registry = app.extensions["anjian.plugins"]
    plugin = SmsPlugin()
    registry.register("sms_test", plugin)
    w = build_world(app, factory, code="sms")
    w.client = client
    w.base = f"/api/v1/tenants/{w.code}"
    with app.app_context(), scoped_to(w.tenant):
        db.session.get(Enterprise, w.e1).contact_phone = "13800000001"
        db.session.commit()
    # The tenant has not enabled the plugin: still no provider.
    r = client.post(f"{w.base}/channels", json={"kind": "sms", "name": "短信", "settings": {
        "provider": "fake_sms"}, "secrets": {"access_key": "AK-1234567890"}}, headers=w.h["admin"])
    assert r.status_code == 422 and list(r.json["errors"]) == ["kind"]
    root = w.h["root"]
    etag = client.get(f"/api/v1/tenants/{w.code}", headers=root).headers["ETag"]
    r = client.patch(f"/api/v1/tenants/{w.code}", json={"plugins": ["hz_recorder", "hz_major", "sms_test"]},
                     headers={**root, "If-Match": etag})
    assert r.status_code == 200, r.json
    r = client.post(f"{w.base}/channels", json={"kind": "sms", "name": "短信", "settings": {
        "provider": "nope"}, "secrets": {"access_key": "AK-1234567890"}}, headers=w.h["admin"])
    assert r.status_code == 422 and list(r.json["errors"]) == ["settings.provider"]
    sms = make_channel(w, "sms", "短信", settings={"provider": "fake_sms", "recipients": ["13900000009"]},
                       secrets={"access_key": "AK-1234567890"})
    assert sms["secrets"] == {"access_key": "****"}  # short: nothing of it shown
    set_rules(w, [{"event": "major_hazard", "channel_id": sms["id"], "enterprise_contacts": True}])
    reported(client, w, "sup", title="重大：无证动火")
    drain(app)
    assert sorted(phone for phone, _ in plugin.provider.sent) == ["13800000001", "13900000009"]
    assert all(text.startswith("重大事故隐患：甲机械厂 重大：无证动火") for _, text in plugin.provider.sent)
    assert sorted(d["audience"] for d in deliveries(w)["items"]) == ["channel", f"enterprise:{w.e1}"]


# --- reports, failed jobs, the overdue scan, timeliness ---------------------------------------


def test_a_ready_report_is_mailed_with_its_file_or_a_link(app, ch):
    from anjian import notifications
    from anjian.extensions import db
    from anjian.reports.models import Report
    from anjian.storage.backends import XLSX
    from anjian.storage.service import storage_for
    from anjian.xlsx import write_table
    from tests.conftest import tenant_context
    from tests.test_hazards import scoped_to

    attach = make_channel(ch, "email", "周报收件人", settings={"recipients": ["weekly@anjian.test"]})
    links = make_channel(ch, "webhook", "大屏", settings={"url": f"{ch.receiver.base}/hook"},
                         secrets={"signing_secret": HOOK_SECRET})
    set_rules(ch, [{"event": "report_ready", "channel_id": c["id"]} for c in (attach, links)])
    app.config["ANJIAN_PUBLIC_URL"] = "https://aj.example.cn"
    buffer = io.BytesIO()
    write_table(buffer, "调度表", ["街道", "检查企业数"], [["东街", 3]])
    content = buffer.getvalue()
    with app.app_context():
        stored = storage_for(app).put(ch.tenant, "reports", content, XLSX, "调度表.xlsx")
        with scoped_to(ch.tenant):
            report = Report(kind="campaign_progress", plugin="anjian.defaults", title="调度表",
                            format="xlsx", params={}, status="ready", object_key=stored.key,
                            filename="调度表.xlsx", content_type=XLSX, size=len(content))
            db.session.add(report)
            db.session.flush()
            notifications.announce(tenant_context(ch.tenant), notifications.Event(
                kind="report_ready", title="报表已生成：调度表", body="“调度表”已生成。",
                report_id=report.id))
            db.session.commit()
            report_id = report.id
    drain(app)
    [(to, mail)] = ch.smtp.messages
    assert to == ["weekly@anjian.test"] and "报表文件见附件" in mail.get_body().get_content()
    [part] = list(mail.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("调度表.xlsx", content)
    [hook] = ch.receiver.to("/hook")
    link = json.loads(hook["body"])["link"]
    assert link.startswith("https://aj.example.cn/api/v1/files/")
    token = link.rsplit("/", 1)[1]
    got = ch.client.get(f"/api/v1/files/{token}")
    try:
        assert got.status_code == 200 and got.data == content
    finally:
        got.close()
    assert json.loads(hook["body"])["report_id"] == report_id


def test_a_failed_job_and_the_overdue_scan_are_told(app, ch):
    from anjian.extensions import db
    from anjian.hazards.scan import scan_overdue
    from anjian.jobs.service import JobError, enqueue, job_function
    from tests.conftest import tenant_context
    from tests.test_hazards import scoped_to

    @job_function("channels_probe_failure")
    def probe(ctx):
        raise JobError("导入文件格式不对")

    hook = make_channel(ch, "webhook", "运维", settings={"url": f"{ch.receiver.base}/hook"},
                        secrets={"signing_secret": HOOK_SECRET})
    set_rules(ch, [{"event": "job_failed", "channel_id": hook["id"]},
                   {"event": "overdue", "channel_id": hook["id"]}])
    with app.app_context(), scoped_to(ch.tenant, ch.ids["sup"]):
        enqueue("channels_probe_failure", {})
        db.session.commit()
    drain(app)
    [call] = ch.receiver.to("/hook")
    sent = json.loads(call["body"])
    assert (sent["event"], sent["title"], sent["body"]) == (
        "job_failed", "后台任务失败：channels_probe_failure", "导入文件格式不对")
    # A hazard past its deadline: the scan's one event.
    hid = reported(ch.client, ch, "sup", title="消防通道堆物")
    import datetime as dt

    from anjian.hazards.models import Hazard

    with app.app_context(), scoped_to(ch.tenant):
        db.session.get(Hazard, hid).deadline = dt.date(2020, 1, 2)
        db.session.commit()
        scan_overdue(tenant_context(ch.tenant), dt.date(2020, 1, 10))
        db.session.commit()
    drain(app)
    sent = json.loads(ch.receiver.to("/hook")[1]["body"])
    assert (sent["event"], sent["title"]) == ("overdue", "逾期提醒：隐患 1 条、任务 0 条")


def test_with_the_worker_running_a_major_hazard_leaves_within_a_minute(app, ch):
    from anjian.jobs import embedded

    hook = make_channel(ch, "webhook", "指挥中心", settings={"url": f"{ch.receiver.base}/hook"},
                        secrets={"signing_secret": HOOK_SECRET})
    set_rules(ch, [{"event": "major_hazard", "channel_id": hook["id"]}])
    embedded.start(app)
    try:
        started = time.monotonic()
        reported(ch.client, ch, "sup", title="重大：有限空间无通风")
        while not ch.receiver.to("/hook") and time.monotonic() - started < 60:
            time.sleep(0.1)
    finally:
        embedded.stop(app)
    [call] = ch.receiver.to("/hook")
    assert call["at"] - started < 60
    assert json.loads(call["body"])["title"] == "重大事故隐患：甲机械厂 重大：有限空间无通风"


def test_the_secret_is_sent_by_nobody_to_the_api(app, ch):
    """A member's token never reads the channels' secrets, nor another tenant's channels."""
    made = make_channel(ch, "webhook", "W", settings={"url": f"{ch.receiver.base}/hook"},
                        secrets={"signing_secret": HOOK_SECRET})
    r = ch.client.get(f"/api/v1/tenants/{ch.code}-other/channels/{made['id']}",
                      headers=ch.h["other_admin"])
    assert r.status_code == 404
    r = ch.client.get(f"{ch.base}/channels/{made['id']}", headers=bearer("ajt_nonsense"))
    assert r.status_code == 401


def test_the_monday_dispatch_table_goes_to_the_tenants_addresses(app, client, factory, smtp):
    """The Tianjin Hebei schedule makes the dispatch table on the tenant's day (Monday, at
    09:00): the report job's commit mails it, the workbook attached, to the addresses the
    tenant's rule for "report ready" names."""
    import openpyxl

    from anjian.jobs import embedded, schedules
    from tests.test_tianjin_seed import CHINA, DISPATCH, small_campaign

    app.config.update(ANJIAN_SMTP_HOST="127.0.0.1", ANJIAN_SMTP_PORT=smtp.port,
                      ANJIAN_SMTP_FROM="noreply@anjian.test", ANJIAN_SMTP_TLS="none")
    _api, admin, _sup, _campaign = small_campaign(app, client, factory, "hbm")
    w = types.SimpleNamespace(client=client, base="/api/v1/tenants/hbm", h={"admin": admin})
    office = make_channel(w, "email", "局办公室", settings={"recipients": ["bgs@hebei.test",
                                                                         "leader@hebei.test"]})
    set_rules(w, [{"event": "report_ready", "channel_id": office["id"]}])
    with app.app_context():
        schedule = schedules.get(f"report-{DISPATCH}")
        assert schedules.fire(schedule, dt.datetime(2023, 6, 19, 9, 0, tzinfo=CHINA))["enqueued"] == 1
    assert embedded.drain(app)
    drain(app)
    [(to, mail)] = smtp.messages
    assert sorted(to) == ["bgs@hebei.test", "leader@hebei.test"]
    assert mail["Subject"].startswith("报表已生成：") and "报表文件见附件" in mail.get_body().get_content()
    [part] = list(mail.iter_attachments())
    assert part.get_filename().endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(part.get_content()))["调度表"]
    assert sheet["E2"].value == "时间：2023年6月19日"  # the week of 12 June, due that Monday
    [sent] = deliveries(w)["items"]
    assert (sent["event"], sent["status"]) == ("report_ready", "sent")
