"""The Redis connection behind the queues: real Redis, or fakeredis in-process (embedded default).

Connections are made lazily, per process (after RQ forks), never at import.
"""

from __future__ import annotations

import os
import threading

QUEUE_NAMES = ("imports", "reports", "default")

_lock = threading.Lock()
_connections: dict[tuple[int, str], object] = {}


def connection(app):
    """The process's Redis client for this app's configuration."""
    url = app.config.get("ANJIAN_REDIS_URL") or ""
    key = (os.getpid(), url or f"embedded:{id(app)}")
    with _lock:
        conn = _connections.get(key)
        if conn is None:
            if url:
                import redis

                conn = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            else:
                import fakeredis

                conn = fakeredis.FakeStrictRedis(server=fakeredis.FakeServer())
            _connections[key] = conn
    return conn


def ping(app) -> bool:
    return bool(connection(app).ping())
