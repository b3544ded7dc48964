"""Writing the audit log.

Every flush writes one audit row per changed entity, in the same transaction,
through a Core insert on the flush's own connection (so it commits or rolls
back with the change itself). Events outside a write (denials, failed logins)
go through ``record_event`` in a transaction of their own, because the request
that caused them is about to fail and roll back.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from anjian.audit.models import AuditEntry
from anjian.clock import utcnow
from anjian.db import jsonable
from anjian.tenancy.scope import Scope, TenantOwned, TenantScopeError, get_scope, scoped

REQUEST_ID_KEY = "anjian.request_id"


class AuditError(RuntimeError):
    """Someone tried to change or delete an audit row."""


def _snapshot(obj, keys=None):
    mapper = inspect(obj).mapper
    redact = getattr(obj, "__audit_redact__", frozenset())
    out = {}
    for attr in mapper.column_attrs:
        if keys is not None and attr.key not in keys:
            continue
        out[attr.key] = "***" if attr.key in redact else jsonable(getattr(obj, attr.key))
    return out


def _changes(obj):
    state = inspect(obj)
    redact = getattr(obj, "__audit_redact__", frozenset())
    ignore = getattr(obj, "__audit_ignore__", frozenset())
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        if attr.key in ignore:
            continue
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        before[attr.key] = "***" if attr.key in redact else jsonable(old)
        after[attr.key] = "***" if attr.key in redact else jsonable(new)
    return before, after


def _entity_type(obj) -> str:
    return getattr(obj, "__audit_name__", type(obj).__name__.lower())


def _row(session, obj, action, before, after):
    scope = get_scope(session)
    state = inspect(obj)
    ident = state.identity or state.mapper.primary_key_from_instance(obj)
    return {
        "tenant_id": obj.tenant_id if isinstance(obj, TenantOwned) else None,
        "actor_user_id": scope.user_id if scope else None,
        "action": f"{_entity_type(obj)}.{action}",
        "entity_type": _entity_type(obj),
        "entity_id": ",".join(str(i) for i in ident) if any(i is not None for i in ident) else None,
        "before": before,
        "after": after,
        "request_id": session.info.get(REQUEST_ID_KEY),
        "result": "ok",
        "detail": None,
    }


def _audited(obj) -> bool:
    return getattr(obj, "__audit__", True)


def _before_flush(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry):
            raise AuditError("the audit log is append-only")


def _after_flush(session, flush_context):
    rows = []
    for obj in session.new:
        if _audited(obj):
            rows.append(_row(session, obj, "create", None, _snapshot(obj)))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj):
            before, after = _changes(obj)
            if after or before:
                rows.append(_row(session, obj, "update", before, after))
    for obj in session.deleted:
        if _audited(obj):
            rows.append(_row(session, obj, "delete", _snapshot(obj), None))
    if rows:
        session.connection().execute(AuditEntry.__table__.insert(), rows)


def _on_execute(state):
    if (state.is_update or state.is_delete) and any(
        m.class_ is AuditEntry for m in state.all_mappers
    ):
        raise AuditError("the audit log is append-only")


def record_event(engine, *, action, tenant_id=None, actor_user_id=None, entity_type="request",
                 entity_id=None, result="denied", detail=None, request_id=None, after=None):
    """Write one audit row in a transaction of its own (denials, failed logins)."""
    with Session(engine) as session:
        scope = Scope(
            frozenset({tenant_id}) if tenant_id else frozenset(), tenant_id, actor_user_id,
            platform=tenant_id is None,
        )
        with scoped(session, scope):
            session.connection().execute(
                AuditEntry.__table__.insert(),
                [{
                    "tenant_id": tenant_id, "actor_user_id": actor_user_id, "action": action,
                    "entity_type": entity_type, "entity_id": entity_id, "before": None,
                    "after": after, "request_id": request_id, "result": result,
                    "detail": (detail or "")[:500] or None,
                }],
            )
            session.commit()


def record_bulk_write(session, *, tenant_id, actor_user_id, action, entity_type, entity_id,
                      after, detail, at=None) -> None:
    """One summary row for a set-based write the flush never sees (a bulk import batch, the
    overdue scan), in the caller's own transaction so that it commits with the write."""
    # inline(): the id comes from the column's own default, no nextval() round trip first.
    session.execute(AuditEntry.__table__.insert().inline(), [{
        "tenant_id": tenant_id, "actor_user_id": actor_user_id, "action": action,
        "entity_type": entity_type, "entity_id": entity_id, "before": None, "after": after,
        "request_id": session.info.get(REQUEST_ID_KEY), "result": "ok", "at": at or utcnow(),
        "detail": (detail or "")[:500] or None,
    }], execution_options={"tenant_scoped_sql": True})


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    _installed = True


__all__ = ["AuditError", "TenantScopeError", "install", "record_bulk_write", "record_event"]
