"""Tenant scoping: the one mechanism every tenant-owned query goes through.

A ``Scope`` lives in ``session.info``. Three session events enforce it:

* ``do_orm_execute`` adds ``with_loader_criteria`` to every ORM select, update
  and delete (joins, lazy loads and ``Session.get`` included); with no scope,
  a query of a tenant-owned entity raises and any tenant-owned join yields
  nothing. An ORM insert gives its rows as parameters, each in the write tenant;
  a bulk update neither moves rows to another tenant nor goes by primary key.
  Raw SQL through the session is refused unless the caller marks it
  ``execution_options(tenant_scoped_sql=True)``, promising it scoped itself.
* ``before_flush`` refuses inserts, updates and deletes outside the scope's
  write tenant, and any change of ``tenant_id``.
* ``after_begin`` gives PostgreSQL the same scope per transaction
  (``set_config(..., true)``), which Row-Level Security enforces again.

Only SQLAlchemy's public API: the session events and their ``ORMExecuteState``,
``with_loader_criteria``, ``sqlalchemy.inspect`` and the statements' own traversal
(``visitors.iterate``, ``get_children``, ``compare``).
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Integer,
    Table,
    event,
    false,
    insert,
    inspect,
    or_,
    true,
)
from sqlalchemy.orm import (
    Session,
    declared_attr,
    mapped_column,
    scoped_session,
    with_loader_criteria,
)
from sqlalchemy.sql import TextClause, visitors
from sqlalchemy.sql.util import find_tables

from anjian.extensions import db

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
        return mapped_column(
            Integer, ForeignKey("tenants.id"), nullable=cls.__tenant_nullable__, index=True
        )

    @classmethod
    def scope_clause(cls, scope: Scope, entity=None):
        """The rows of ``entity`` (this class, or an ``aliased()`` of it) that ``scope``
        shows; a class may refine it (audit rows, memberships)."""
        entity = cls if entity is None else entity
        return entity.tenant_id.in_(tuple(sorted(scope.tenant_ids)))

    def writable_in(self, scope: Scope) -> bool:
        """Whether this row may be written in ``scope`` although it is not the write tenant's."""
        return False


def tenant_classes() -> tuple:
    """Every mapped tenant-owned class (in a stable order), as of now: a plugin's models
    may be mapped after the core's, so the answer is kept per set of mappers."""
    return _tenant_classes_of(db.Model.registry.mappers)


@functools.lru_cache(maxsize=8)
def _tenant_classes_of(mappers: frozenset) -> tuple:
    return tuple(sorted((m.class_ for m in mappers if issubclass(m.class_, TenantOwned)),
                        key=lambda c: c.__name__))


def tenant_tables() -> frozenset:
    return _tenant_tables_of(tenant_classes())


@functools.lru_cache(maxsize=8)
def _tenant_tables_of(classes: tuple) -> frozenset:
    return frozenset(cls.__table__ for cls in classes)


def _real(session):
    return session() if isinstance(session, scoped_session) else session


def get_scope(session: Session) -> Scope | None:
    return _real(session).info.get(SCOPE_KEY)


def _visible(scope: Scope | None, tenant_id) -> bool:
    if scope is None:
        return False
    if tenant_id is None:
        return scope.platform
    return tenant_id in scope.tenant_ids


def _forget_foreign_rows(session: Session, scope: Scope | None) -> None:
    """Drop clean tenant-owned rows the new scope may not see from the identity map.

    ``Session.get`` answers from the identity map without any SQL, so a row loaded
    under an earlier scope (a job looping over tenants, a ``scoped()`` block) would
    otherwise be returned under the next one. Pending and changed rows stay: the
    flush refuses to write them outside their tenant.
    """
    pending = set(map(id, session.dirty)) | set(map(id, session.deleted))
    for obj in list(session.identity_map.values()):
        if not isinstance(obj, TenantOwned) or id(obj) in pending:
            continue
        loaded = inspect(obj).dict
        if "tenant_id" in loaded and _visible(scope, loaded["tenant_id"]):
            continue
        session.expunge(obj)


def set_scope(session: Session, scope: Scope | None) -> None:
    """Set the scope; when a transaction is open, PostgreSQL learns it at once."""
    session = _real(session)
    if SCOPE_KEY in session.info and session.info[SCOPE_KEY] == scope:
        return  # the open transaction, if any, has it already (after_begin or below)
    _record(session, scope)
    if session.in_transaction():
        _apply_to_connection(session, session.connection())


def _record(session: Session, scope: Scope | None) -> None:
    if session.identity_map:
        _forget_foreign_rows(session, scope)
    session.info[SCOPE_KEY] = scope


@contextlib.contextmanager
def scoped(session: Session, scope: Scope | None):
    session = _real(session)
    previous = session.info.get(SCOPE_KEY)
    set_scope(session, scope)
    try:
        yield
    finally:
        set_scope(session, previous)


# --- reads: loader criteria ----------------------------------------------------------

def _clause(scope: Scope | None, entity, cls):
    """The rows of ``entity`` (``cls`` or an alias of it) that ``scope`` shows: nothing
    without a scope."""
    if scope is None:
        return false()
    clause = cls.scope_clause(scope, entity)
    return true() if clause is True else clause


@functools.lru_cache(maxsize=16384)
def _criterion(scope: Scope | None, cls) -> object:
    """The loader criterion of one tenant-owned class in one scope.

    Built once per (scope, class) and reused: options are immutable, and the tenant
    ids are bound parameters of the clause, so one compiled form serves every scope of
    a shape. A clause, not a lambda: the ids are literal values of this scope, never a
    closure that SQLAlchemy's lambda cache could keep from another scope.
    """
    return with_loader_criteria(cls, _clause(scope, cls, cls), include_aliases=True,
                                propagate_to_loaders=True)


@functools.lru_cache(maxsize=8)
def _mappers_by_table(mappers: frozenset) -> dict:
    return {mapper.local_table: mapper for mapper in mappers}


def _statement_entities(statement) -> tuple[tuple, list]:
    """What a statement can read: the tenant-owned classes (by entity, column, join,
    subquery or plain table, widened along relationships, since an eager load joins a
    related class the statement never names), and the aliases of tenant-owned classes
    in it (``aliased()``: self-joins, explicit aliases).

    Each ORM element of a statement names its entity (``entity_namespace``: the class
    or the ``aliased()`` class it comes from); a plain table is looked up among the
    mapped tables.
    """
    by_table = _mappers_by_table(db.Model.registry.mappers)
    mappers, aliases = set(), {}
    for element in visitors.iterate(statement):
        entity = inspect(getattr(element, "entity_namespace", None), raiseerr=False)
        mapper = getattr(entity, "mapper", None)
        if mapper is not None:
            mappers.add(mapper)
            if entity.is_aliased_class and issubclass(mapper.class_, TenantOwned):
                aliases[entity.entity] = entity.entity
        elif isinstance(element, Table) and element in by_table:
            mappers.add(by_table[element])
    reached, todo = set(), list(mappers)
    while todo:
        mapper = todo.pop()
        if mapper not in reached:
            reached.add(mapper)
            todo.extend(rel.mapper for rel in mapper.relationships)
    classes = sorted((m.class_ for m in reached if issubclass(m.class_, TenantOwned)),
                     key=lambda c: c.__name__)
    return tuple(classes), list(aliases)


def _scope_options(statement, scope: Scope | None) -> tuple:
    """The loader criteria one ORM statement needs: one per tenant-owned class it can
    read, then one per alias of such a class. A criterion given for a class is not
    applied to an alias of it when the class itself is in the same statement (a
    self-join would leak the alias side), so every alias gets its own, written on the
    alias's columns. Only the classes the statement reaches: criteria for all 28 on
    every statement were a third of a list request's time."""
    classes, aliases = _statement_entities(statement)
    options = [_criterion(scope, cls) for cls in classes]
    for alias in aliases:
        cls = inspect(alias).mapper.class_
        options.append(with_loader_criteria(alias, _clause(scope, alias, cls)))
    return tuple(options)


# A statement built once and run on every request (the guard's, always in no scope)
# is scoped once: its scoped form is kept for the last scope it ran in, for as long as
# the statement object lives, and SQLAlchemy finds that form's cache key computed.
_last_scoped: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scoped(statement, scope: Scope | None):
    """``statement`` with the loader criteria of ``scope``."""
    kept = _last_scoped.get(statement)
    if kept is not None and kept[0] == scope:
        return kept[1]
    scoped = statement.options(*_scope_options(statement, scope))
    _last_scoped[statement] = (scope, scoped)
    return scoped


# --- ORM statements: reads, bulk writes, raw SQL ------------------------------------

def _owned_mappers(state) -> list:
    """The tenant-owned mappers an ORM statement names itself (its entities, or the
    target of a bulk write)."""
    return [m for m in state.all_mappers if issubclass(m.class_, TenantOwned)]


def _names_tenant_id(row) -> bool:
    return any((key if isinstance(key, str) else getattr(key, "key", None)) == "tenant_id"
               for key in row)


def _rows_of(state) -> list:
    params = state.parameters
    if isinstance(params, dict):
        return [params] if params else []
    return list(params or ())


def _check_orm_insert(state, scope: Scope | None, marked: bool):
    """An ORM INSERT of a tenant-owned entity needs a writable scope, and is
    ``insert(Entity)`` with its rows as parameters, each naming the write tenant;
    anything else (``values()``, ``from_select()``) must be marked ``tenant_scoped_sql``."""
    owned = _owned_mappers(state)
    if not owned:
        return
    cls = owned[0].class_
    name = cls.__name__
    if scope is None or scope.write_tenant_id is None:
        raise TenantScopeError(f"insert of {name} without a writable tenant context")
    if marked:
        return
    if not state.statement.compare(insert(cls)):
        raise TenantScopeError(
            f"an ORM insert of {name} takes its rows as parameters "
            f"(session.execute(insert({name}), rows)), or is marked tenant_scoped_sql=True")
    rows = _rows_of(state)
    if not rows:
        raise TenantScopeError(f"insert of {name} without values")
    for row in rows:
        if row.get("tenant_id") != scope.write_tenant_id:
            raise TenantScopeError(f"insert of {name} outside the tenant being written")


def _sets_tenant_id(state) -> bool:
    """Whether an ORM UPDATE sets ``tenant_id``. The columns among the statement's own
    children are those it SETs (its WHERE clause is one child, an expression) and those
    it RETURNs: a RETURNING of ``tenant_id`` is refused too, on the safe side."""
    if any(isinstance(child, ColumnElement) and getattr(child, "key", None) == "tenant_id"
           for child in state.statement.get_children()):
        return True
    return isinstance(state.parameters, dict) and _names_tenant_id(state.parameters)


def _check_bulk_write(state, scope: Scope | None, marked: bool) -> Scope | None:
    """Refuse an ORM UPDATE or DELETE of a tenant-owned entity that could cross tenants;
    the scope it runs in: the write tenant only (not every readable one, nor the
    actor's own memberships elsewhere)."""
    owned = _owned_mappers(state)
    if not owned:
        return scope
    name = owned[0].class_.__name__
    if scope.write_tenant_id is None:
        raise TenantScopeError(f"bulk write of {name} in a read-only scope")
    if state.is_update and isinstance(state.parameters, list | tuple) and not marked:
        # "bulk UPDATE by primary key" ignores loader criteria entirely.
        raise TenantScopeError(
            f"bulk UPDATE by primary key of {name} is not scoped; use a WHERE clause")
    if state.is_update and _sets_tenant_id(state):
        raise TenantScopeError(f"moving {name} rows to another tenant")
    return Scope(frozenset({scope.write_tenant_id}), scope.write_tenant_id)


def _on_execute(state):
    statement = state.statement
    marked = bool(state.execution_options.get("tenant_scoped_sql"))
    if state.is_from_statement:
        # select(Area).from_statement(text(...)): no criteria can reach the inner SQL.
        if _owned_mappers(state) and not marked:
            raise TenantScopeError(
                "from_statement() of a tenant-owned entity must be marked tenant_scoped_sql=True"
            )
        return
    if isinstance(statement, TextClause):
        # text() is neither is_select nor is_update to the event: check it first.
        if not marked:
            raise TenantScopeError(
                "raw SQL through the session must be marked tenant_scoped_sql=True"
            )
        return
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    scope = get_scope(state.session)
    if state.is_column_load:
        # Refreshing an expired or deferred attribute of a row already in the session:
        # loader criteria do not reach this primary-key load, so add the scope here.
        owned = _owned_mappers(state)
        if owned:
            cls = owned[0].class_
            state.statement = statement.where(_clause(scope, cls, cls))
        return
    if not state.is_orm_statement:
        if marked:
            return
        touched = set(find_tables(statement, include_crud=True, include_joins=True))
        if touched & tenant_tables():
            raise TenantScopeError(
                "Core statement on a tenant table must be marked tenant_scoped_sql=True"
            )
        return
    if state.is_insert:
        _check_orm_insert(state, scope, marked)
        return
    if scope is None:
        owned = _owned_mappers(state)
        if owned:
            raise TenantScopeError(
                f"tenant-owned query ({owned[0].class_.__name__}) without a tenant context"
            )
    if state.is_update or state.is_delete:
        scope = _check_bulk_write(state, scope, marked)
    state.statement = _scoped(statement, scope)


# --- the unit of work ------------------------------------------------------------------

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


SETTINGS = ("app.tenant_ids", "app.tenant_id", "app.user_id", "app.platform")


_SET_SCOPE = "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in SETTINGS)


def _settings(scope: Scope | None) -> tuple[str, str, str, str]:
    """The values of ``SETTINGS`` that give PostgreSQL ``scope`` ('' for none)."""
    ids = ",".join(str(i) for i in sorted(scope.tenant_ids)) if scope else ""
    write = str(scope.write_tenant_id) if scope and scope.write_tenant_id else ""
    user = str(scope.user_id) if scope and scope.user_id else ""
    platform = "on" if scope and scope.platform else ""
    return ids, write, user, platform


def _apply_to_connection(session, connection):
    connection.exec_driver_sql(_SET_SCOPE, _settings(get_scope(session)))


def adopt(session: Session, scope: Scope | None, applied: tuple | None) -> None:
    """``set_scope`` without the round trip, when the statement just run in the open
    transaction gave PostgreSQL that scope already: ``applied`` is the settings
    (``SETTINGS``) as that statement set them (``anjian_read_scope``). Values that do not
    match the scope's (or none) raise, and nothing is recorded."""
    session = _real(session)
    if not session.in_transaction() or applied is None or tuple(applied) != _settings(scope):
        raise TenantScopeError("the settings PostgreSQL holds are not the scope's")
    _record(session, scope)


def _after_begin(session, transaction, connection):
    # A transaction starts with every app.* setting empty ('' or unset: they are only
    # ever set transaction-locally), which is exactly an empty scope; only a scope that
    # shows something needs the round trip.
    scope = get_scope(session)
    if scope is not None and (scope.tenant_ids or scope.user_id or scope.platform):
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
