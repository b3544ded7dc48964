"""Tenant scoping: the one mechanism every tenant-owned query goes through.

A ``Scope`` lives in ``session.info``. Three session events enforce it:

* ``do_orm_execute`` adds ``with_loader_criteria`` to every ORM select, update
  and delete (joins, lazy loads and ``Session.get`` included); with no scope,
  a query of a tenant-owned entity raises and any tenant-owned join yields
  nothing. Raw SQL through the session is refused unless the caller marks it
  ``execution_options(tenant_scoped_sql=True)``, promising it scoped itself.
* ``before_flush`` refuses inserts, updates and deletes outside the scope's
  write tenant, and any change of ``tenant_id``.
* ``after_begin`` gives PostgreSQL the same scope per transaction
  (``set_config(..., true)``), which Row-Level Security enforces again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from sqlalchemy import event, false, or_, true
from sqlalchemy.orm import (
    Session,
    declared_attr,
    mapped_column,
    scoped_session,
    with_loader_criteria,
)
from sqlalchemy.sql import TextClause
from sqlalchemy.sql.util import find_tables

SCOPE_KEY = "anjian.scope"


class TenantScopeError(RuntimeError):
    """A tenant-owned query or write without a tenant context, or across tenants."""


@dataclass(frozen=True)
class Scope:
    """What the current unit of work may read and write.

    ``tenant_ids``: tenants whose rows are visible. ``write_tenant_id``: the one
    tenant rows may be written to (None: read-only). ``user_id``: the actor
    (also sees its own memberships). ``platform``: may see platform-level rows
    (audit rows with no tenant).
    """

    tenant_ids: frozenset[int] = field(default_factory=frozenset)
    write_tenant_id: int | None = None
    user_id: int | None = None
    platform: bool = False

    @classmethod
    def tenant(cls, tenant_id: int, user_id: int | None = None, write: bool = True) -> Scope:
        return cls(frozenset({tenant_id}), tenant_id if write else None, user_id)

    @classmethod
    def platform_scope(cls, user_id: int | None = None) -> Scope:
        """No tenant rows at all; platform tables and the actor's own memberships."""
        return cls(frozenset(), None, user_id, platform=True)


class TenantOwned:
    """Mixin of every tenant-owned model: a ``tenant_id`` that the scope filters on."""

    __tenant_nullable__ = False

    @declared_attr
    def tenant_id(cls):
        from sqlalchemy import ForeignKey, Integer

        return mapped_column(
            Integer, ForeignKey("tenants.id"), nullable=cls.__tenant_nullable__, index=True
        )

    @classmethod
    def scope_clause(cls, scope: Scope):
        ids = tuple(sorted(scope.tenant_ids))
        return cls.tenant_id.in_(ids)

    def writable_in(self, scope: Scope) -> bool:
        """Whether this row may be written in ``scope`` although it is not the write tenant's."""
        return False


def tenant_classes():
    from anjian.extensions import db

    return [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TenantOwned)]


def tenant_tables():
    return {cls.__table__ for cls in tenant_classes()}


def _real(session):
    return session() if isinstance(session, scoped_session) else session


def get_scope(session: Session) -> Scope | None:
    return _real(session).info.get(SCOPE_KEY)


def set_scope(session: Session, scope: Scope | None) -> None:
    """Set the scope; when a transaction is open, PostgreSQL learns it at once."""
    session = _real(session)
    session.info[SCOPE_KEY] = scope
    if session.in_transaction():
        _apply_to_connection(session, session.connection())


@contextlib.contextmanager
def scoped(session: Session, scope: Scope | None):
    session = _real(session)
    previous = session.info.get(SCOPE_KEY)
    set_scope(session, scope)
    try:
        yield
    finally:
        set_scope(session, previous)


def _criteria_options(scope: Scope | None):
    """One loader criterion per tenant-owned class (each class may refine its clause)."""
    options = []
    for cls in tenant_classes():
        if scope is None:
            options.append(
                with_loader_criteria(cls, lambda c: false(), include_aliases=True)
            )
            continue
        clause = cls.scope_clause(scope)
        if clause is True:
            clause = true()
        # The clause is built now, per execution, so no lambda caching of ids can occur.
        options.append(
            with_loader_criteria(cls, clause, include_aliases=True, propagate_to_loaders=True)
        )
    return options


def _on_execute(state):
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    scope = get_scope(state.session)
    statement = state.statement
    if not state.is_orm_statement:
        if state.execution_options.get("tenant_scoped_sql"):
            return
        if isinstance(statement, TextClause):
            raise TenantScopeError(
                "raw SQL through the session must be marked tenant_scoped_sql=True"
            )
        touched = set(find_tables(statement, include_crud=True, include_joins=True))
        if touched & tenant_tables():
            raise TenantScopeError(
                "Core statement on a tenant table must be marked tenant_scoped_sql=True"
            )
        return
    if state.is_insert:
        return  # ORM bulk inserts are checked like flushes by the statement's own values
    if scope is None:
        owned = [m for m in state.all_mappers if issubclass(m.class_, TenantOwned)]
        if owned:
            raise TenantScopeError(
                f"tenant-owned query ({owned[0].class_.__name__}) without a tenant context"
            )
    state.statement = statement.options(*_criteria_options(scope))


def _check_write(scope: Scope | None, obj, action: str):
    if scope is None:
        raise TenantScopeError(f"{action} of {type(obj).__name__} without a tenant context")
    if obj.tenant_id is None and action == "insert":
        if scope.write_tenant_id is None:
            raise TenantScopeError(f"insert of {type(obj).__name__} in a read-only scope")
        obj.tenant_id = scope.write_tenant_id
        return
    if obj.tenant_id != scope.write_tenant_id and not obj.writable_in(scope):
        raise TenantScopeError(
            f"{action} of {type(obj).__name__} outside the tenant being written"
        )


def _before_flush(session, flush_context, instances):
    from sqlalchemy import inspect

    scope = get_scope(session)
    for obj in session.new:
        if isinstance(obj, TenantOwned):
            _check_write(scope, obj, "insert")
    for obj in session.dirty:
        if isinstance(obj, TenantOwned) and session.is_modified(obj):
            history = inspect(obj).attrs.tenant_id.history
            if history.has_changes() and history.deleted:
                raise TenantScopeError(f"moving a {type(obj).__name__} to another tenant")
            _check_write(scope, obj, "update")
    for obj in session.deleted:
        if isinstance(obj, TenantOwned):
            _check_write(scope, obj, "delete")


def _apply_to_connection(session, connection):
    if connection.dialect.name != "postgresql":
        return
    scope = get_scope(session)
    ids = ",".join(str(i) for i in sorted(scope.tenant_ids)) if scope else ""
    write = str(scope.write_tenant_id) if scope and scope.write_tenant_id else ""
    user = str(scope.user_id) if scope and scope.user_id else ""
    platform = "on" if scope and scope.platform else ""
    connection.exec_driver_sql(
        "SELECT set_config('app.tenant_ids', %s, true), set_config('app.tenant_id', %s, true),"
        " set_config('app.user_id', %s, true), set_config('app.platform', %s, true)",
        (ids, write, user, platform),
    )


def _after_begin(session, transaction, connection):
    _apply_to_connection(session, connection)


_installed = False


def install() -> None:
    """Attach the scoping events to every SQLAlchemy Session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_begin", _after_begin)
    _installed = True


def membership_clause(cls, scope: Scope):
    """Rows of the scope's tenants, or rows that belong to the actor (its memberships)."""
    ids = tuple(sorted(scope.tenant_ids))
    if scope.user_id is None:
        return cls.tenant_id.in_(ids)
    return or_(cls.tenant_id.in_(ids), cls.user_id == scope.user_id)
