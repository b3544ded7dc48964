"""The Idempotency-Key protocol (RELIABILITY case 22).

Before a write with the header runs, its key is claimed in a transaction of its
own: a unique (tenant_id, user_id, key) row in state ``in_progress``. After the
response, the row keeps the answer (status, JSON body, Location) and the caller's
access — or is removed when the write failed with a 5xx, so that the client may try
again. A repeat by the same user then gets:

* the stored answer, when the first one completed with the same request and the
  caller's access (role, enterprise, area, write) is still what it was then;
* 409, while the first one is still running, or when the caller's access changed
  since (what the first request made may no longer be theirs to see);
* 422, when the same key comes with another method, path or body.

Keys are per user and tenant: the same key sent by another user, or in another
tenant, is another key (its request runs on its own), so a replay never hands one
user the answer made for another.
"""

from __future__ import annotations

import hashlib
import json

from flask import Response, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anjian.api.problems import problem
from anjian.extensions import db
from anjian.idempotency.models import IdempotencyKey
from anjian.tenancy.scope import Scope, scoped

HEADER = "Idempotency-Key"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 100


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _own_session(tenant_id: int):
    session = Session(db.engine)
    return session, scoped(session, Scope.tenant(tenant_id, g.user.id))


def _access() -> str:
    """The caller's access in the tenant, as the key keeps it."""
    access = g.access
    return (f"{access.role}|{access.enterprise_id or ''}|{access.area_id or ''}|"
            f"{'w' if access.can_write else 'r'}")


def _mine(key: str):
    return (IdempotencyKey.key == key) & (IdempotencyKey.user_id == g.user.id)


def claim() -> None:
    """Called by the guard once the tenant and user are known; may answer for the view."""
    key = request.headers.get(HEADER)
    tenant = g.get("tenant")
    if not key or request.method not in WRITE_METHODS or tenant is None:
        return None
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        problem(422, f"Idempotency-Key 须为不超过 {MAX_KEY_LENGTH} 个可打印字符",
                errors={HEADER: ["格式不正确"]})
    fingerprint = _fingerprint()
    session, scope = _own_session(tenant.id)
    access = _access()
    with session, scope:
        session.add(IdempotencyKey(key=key, user_id=g.user.id, access=access,
                                   fingerprint=fingerprint))
        try:
            session.commit()
            g.idempotency_key = key
            return None
        except IntegrityError:
            session.rollback()
        first = session.scalar(select(IdempotencyKey).where(_mine(key)))
    if first is None:  # claimed and released in between: the client may simply retry
        problem(409, "同一 Idempotency-Key 的请求正在处理，请稍后重试", headers={"Retry-After": "1"})
    if first.fingerprint != fingerprint:
        problem(422, "该 Idempotency-Key 已用于另一个请求", errors={HEADER: ["已用于不同的请求"]})
    if first.state != "done":
        problem(409, "同一 Idempotency-Key 的请求正在处理，请稍后重试", headers={"Retry-After": "1"})
    if first.access != access:
        problem(409, "您的权限在首次提交后已变更，不能重放该 Idempotency-Key 的结果；如需再次提交，请使用新的键",
                slug="idempotency-access-changed", errors={HEADER: ["权限已变更，不能重放"]})
    replay = Response(
        json.dumps(first.response_body, ensure_ascii=False) if first.response_body is not None
        else b"",
        status=first.response_status,
        content_type=(None if first.response_body is None else "application/problem+json"
                      if first.response_status >= 400 else "application/json"),
    )
    if first.response_location:
        replay.headers["Location"] = first.response_location
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


def settle(response):
    """After the view: keep the answer under the key, or release the key after a 5xx."""
    key = g.pop("idempotency_key", None)
    if key is None:
        return response
    tenant_id = g.tenant.id
    session, scope = _own_session(tenant_id)
    with session, scope:
        if response.status_code >= 500:
            session.execute(delete(IdempotencyKey).where(_mine(key)),
                            execution_options={"synchronize_session": False})
        else:
            body = response.get_json(silent=True) if response.is_json else None
            session.execute(
                update(IdempotencyKey).where(_mine(key)).values(
                    state="done", response_status=response.status_code, response_body=body,
                    response_location=response.headers.get("Location")),
                execution_options={"synchronize_session": False},
            )
        session.commit()
    return response
