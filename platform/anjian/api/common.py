"""Small view helpers shared by every blueprint."""

from __future__ import annotations

from flask import g
from werkzeug.routing import IntegerConverter

from anjian.api.problems import problem
from anjian.audit.service import record_event
from anjian.db import MAX_ID
from anjian.extensions import db


class DatabaseInteger(IntegerConverter):
    """``<int:...>`` in every route (the app's ``int`` converter): an integer the database
    can hold; a larger one matches no route (404, like any absent object). The OpenAPI
    document shows the maximum."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def get_or_404(model, ident, label: str = "对象"):
    """Load a row through the scoped session; a missing or foreign id is one and the same 404.

    Every miss is logged: a guessed foreign id leaves the same trace as a typo.
    """
    obj = db.session.get(model, ident)
    if obj is None:
        tenant = g.get("tenant")
        user = g.get("user")
        record_event(
            db.engine, action="denied.not_found", tenant_id=tenant.id if tenant else None,
            actor_user_id=user.id if user else None, entity_type=model.__tablename__,
            entity_id=str(ident), request_id=g.get("request_id"),
        )
        problem(404, f"{label}不存在")
    return obj
