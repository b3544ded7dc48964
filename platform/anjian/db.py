"""Column types and base helpers shared by every domain package."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import time

import orjson
from marshmallow import validate
from sqlalchemy import DateTime, String, TypeDecorator, event, exc, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from anjian.extensions import db

# The range of PostgreSQL's ``integer`` (every integer column, ids included), and the check
# of an id given in a body or a query (422, never a database error). Every integer field of
# a request schema without a range of its own gets ``MIN_INTEGER..MAX_INTEGER``
# (``anjian.api.blueprint``); a path's ``<int:...>`` stops at ``MAX_ID``.
MIN_INTEGER = -(2**31)
MAX_INTEGER = 2**31 - 1
MAX_ID = MAX_INTEGER
ID = validate.Range(min=1, max=MAX_ID)

JSONType = JSONB()
# A Python string as a PostgreSQL string literal ('it''s'), for one_of.
_STRING_LITERAL = String().literal_processor(psycopg_dialect())


def sql_values(values) -> str:
    """``'a', 'b'``: the list inside a CHECK constraint's ``IN (...)`` (from a dict's keys)."""
    return ", ".join(repr(k) for k in values)


def one_of(column, values):
    """``column IN ('a', 'b')``: ``column.in_(values)`` for a statement built once and run
    often, with a list of the code's constants (states, roles, scales). The values are
    written into the statement's text as SQL literals (quoted by SQLAlchemy's string
    type), where ``in_`` would expand a list of parameters into the text on every call (a
    pass over the whole SQL), and an array parameter would leave PostgreSQL's cached
    generic plan without the values: it then plans the statement anew on every call."""
    values = tuple(values)
    if not values or not all(isinstance(v, str) for v in values):
        raise TypeError("one_of takes a list of strings: the code's constants")
    return column.in_([literal_column(_STRING_LITERAL(v)) for v in values])


def jsonable(value, where: str = "value", *, decimals: str = "text"):
    """``value`` as JSON holds it: the one conversion of the platform's values to JSON (an
    audit row's before/after, an event's data, an import's changes, a job's result, a
    report's parameters and data). A new value is built; ``value`` is not changed.

    - None, booleans, integers, strings: as they are; a float as it is when finite;
    - dates and datetimes: ISO 8601 (``2026-11-24``, ``2026-11-24T08:30:00+00:00``);
    - Decimals: their exact text (``"1.50"``: a stored amount keeps its scale), or, with
      ``decimals="number"``, a number (an int when integral, else a float): a report's
      figures, which its layouts write as numbers;
    - dicts: string keys as they are, integer keys as their text, values converted;
    - lists and tuples: lists; sets: sorted lists (a set has no order: the same set
      always gives the same JSON).

    Anything else is a ``TypeError`` naming where it sits (``data.rows[3].total``): a
    value JSON cannot hold (an object, a key of another type, NaN or infinity, which
    PostgreSQL's jsonb refuses) fails where it is made, not as an obscure error when the
    row is written.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where}: {value} is not a finite number")
        return value
    if isinstance(value, decimal.Decimal):
        if decimals != "number":
            return str(value)
        if not value.is_finite():
            raise TypeError(f"{where}: {value} is not a finite number")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise TypeError(f"{where}: key {key!r} is not a string")
            out[str(key)] = jsonable(item, f"{where}.{key}", decimals=decimals)
        return out
    if isinstance(value, list | tuple):
        return [jsonable(item, f"{where}[{n}]", decimals=decimals)
                for n, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [jsonable(item, f"{where}[]", decimals=decimals) for item in value]
        try:
            return sorted(items)
        except TypeError:  # members of different types: in the order of their text
            return sorted(items, key=repr)
    raise TypeError(f"{where}: {type(value).__name__} is not JSON")


def subtree_ids(id_column, parent_column, root_id: int) -> set[int]:
    """``root_id`` and every row below it in a parent-linked tree (tenants, areas).

    One query for the edges, walked in Python: trees here are hundreds of rows.
    Reads go through the session, so a tenant-owned tree is the scope's own.
    """
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
        if value is None or value.tzinfo is dt.UTC:  # the app's sessions run in UTC
            return value
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


def install_utc_sessions(engine) -> None:
    """Every connection of ``engine`` runs in UTC (PostgreSQL's ``TimeZone``), so the
    driver gives UTC datetimes that ``UTCDateTime`` passes through as they come. The
    setting is added to the connection's ``options``, after any the database URL gives
    (``?options=-c search_path=...`` keeps its effect). Called once per engine, by the app
    factory."""
    def utc(dialect, connection_record, cargs, cparams):
        cparams["options"] = " ".join(filter(None, (cparams.get("options"), "-c TimeZone=UTC")))

    event.listen(engine, "do_connect", utc)


def loads_stored(data: str | bytes) -> object:
    """A JSON column's value as ``json.loads`` gives it, decoded by orjson; what orjson
    refuses (an integer past 64 bits) goes to ``json.loads``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
