"""Column types and base helpers shared by every domain package."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

JSONType = JSONB()


def sql_values(values) -> str:
    """``'a', 'b'``: the list inside a CHECK constraint's ``IN (...)`` (from a dict's keys)."""
    return ", ".join(repr(k) for k in values)


def jsonable(value):
    """A stored value as JSON holds it (an audit row's before/after, an event's data, an
    import's changes): dates and datetimes in ISO 8601, decimals as exact strings, sets
    and tuples as lists, through dicts and lists; anything else as it is."""
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value


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
    """Timezone-aware UTC datetimes, given and returned in UTC."""

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


# A pooled PostgreSQL connection unused for longer than this is pinged before it is
# handed out; one used more recently is not (see ``install_idle_ping``).
PING_AFTER_IDLE_SECONDS = 1.0
_USED_AT = "anjian.used_at"


def install_idle_ping(engine) -> None:
    """Ping a pooled PostgreSQL connection before use when it has been idle for more than
    ``PING_AFTER_IDLE_SECONDS``; a dead one is replaced before the request sees it.
    Called once per engine, by the app factory (the listeners survive ``dispose()``).

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip for
    every request and job, the largest fixed cost of a read after the query itself.
    A server restart happens between requests far more often than within the second
    after one: the connections it left dead have been idle since, so they are pinged
    and replaced, and the next requests succeed. A connection that was busy within the
    second (a restart under load) meets the restart at its first statement, as the
    requests in flight do: that request answers 503 with Retry-After
    (``api.problems``), and SQLAlchemy, seeing a disconnect, discards every connection
    of the pool, so the ones after it connect afresh.
    """
    import time

    from sqlalchemy import event, exc

    def used(dbapi_connection, connection_record, *args):
        connection_record.info[_USED_AT] = time.monotonic()

    def ping_idle(dbapi_connection, connection_record, connection_proxy):
        used_at = connection_record.info.get(_USED_AT)
        if used_at is not None and time.monotonic() - used_at <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # dead or unusable: the pool connects afresh
            raise exc.DisconnectionError(str(error)) from error

    event.listen(engine, "connect", used)
    event.listen(engine, "checkin", used)
    event.listen(engine, "checkout", ping_idle)
