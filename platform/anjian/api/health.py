"""Liveness and readiness."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app
from sqlalchemy import text

from anjian.api.blueprint import Blueprint
from anjian.api.policy import requires
from anjian.extensions import db
from anjian.jobs import queues
from anjian.storage import service as storage

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__, description="健康检查")


class HealthSchema(ma.Schema):
    status = ma.fields.String()
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("/healthz")
@blp.response(200, HealthSchema)
@requires("health.read")
def healthz():
    """进程存活"""
    return {"status": "ok", "checks": {}}


@blp.route("/readyz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema)
@requires("health.read")
def readyz():
    """数据库、队列与对象存储均可用"""
    checks = {}

    def run(name, probe):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name] = "unavailable"

    run("database", lambda: db.session.execute(
        text("SELECT 1"), execution_options={"tenant_scoped_sql": True}))
    run("queue", lambda: queues.ping(current_app))
    run("storage", lambda: storage.check(current_app))
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
