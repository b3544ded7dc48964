"""Column types and base helpers shared by every domain package."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

JSONType = JSON().with_variant(JSONB(), "postgresql")


def sql_values(values) -> str:
    """``'a', 'b'``: the list inside a CHECK constraint's ``IN (...)`` (from a dict's keys)."""
    return ", ".join(repr(k) for k in values)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def subtree_ids(id_column, parent_column, root_id: int) -> set[int]:
    """``root_id`` and every row below it in a parent-linked tree (tenants, areas).

    One query for the edges, walked in Python: trees here are hundreds of rows.
    Reads go through the session, so a tenant-owned tree is the scope's own.
    """
    from sqlalchemy import select

    from anjian.extensions import db

    children: dict = {}
    for node, parent in db.session.execute(select(id_column, parent_column)):
        children.setdefault(parent, []).append(node)
    out, stack = set(), [root_id]
    while stack:
        node = stack.pop()
        if node not in out:
            out.add(node)
            stack.extend(children.get(node, ()))
    return out


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on PostgreSQL and SQLite alike (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _sqlite_pragmas(dbapi_connection, connection_record):
    # SQLite leaves foreign keys unchecked unless asked; our composite keys need them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def install_sqlite_pragmas() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)


def _on_connect(dbapi_connection, connection_record):
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        _sqlite_pragmas(dbapi_connection, connection_record)
