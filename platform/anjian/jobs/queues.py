"""The Redis connection behind the queues: real Redis, or fakeredis in-process (embedded default).

Connections are made lazily, per process (after RQ forks), never at import.
"""

from __future__ import annotations

import os
import threading

import redis
from rq import Worker, worker_registration

# In a worker's order of priority: notifications first (a major hazard's notice leaves
# within the minute, whatever imports are queued).
QUEUE_NAMES = ("notifications", "imports", "reports", "default")

# What a Redis that is down or gone raises (connection refused, timeouts, a reset socket).
REDIS_ERRORS = (redis.exceptions.RedisError, OSError)

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
                conn = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            else:
                # lazy: embedded default only; ~0.17 s and a Lua runtime a Redis deployment never uses
                import fakeredis

                conn = fakeredis.FakeStrictRedis(server=fakeredis.FakeServer())
            _connections[key] = conn
    return conn


def ping(app) -> bool:
    return bool(connection(app).ping())


class PromptPubSub:
    """RQ workers listen for commands (stop a job, shut down) on a pubsub thread whose
    reads block for up to 60 s, and closing the pubsub at the worker's teardown waits
    for the read in progress (redis-py): a worker lingered up to a minute after it was
    done (a burst worker before exiting, the embedded one before it stopped). The same
    thread here reads for at most a second at a time. Mixed into every worker class."""

    def subscribe(self):
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler)


class RegisteredWorker(PromptPubSub, Worker):
    """RQ's Worker, made to register itself again in Redis when Redis lost it.

    A Redis restarted without its data forgets the registry of workers: RQ's heartbeat
    refreshes only the worker's own hash, so the worker went on working but was gone
    from ``Worker.all()`` and from the ``anjian_workers`` metric until it restarted. At
    each heartbeat (outside a pipeline) this one checks its place in the registry and,
    when it is gone, writes its hash and registration again, as at its birth."""

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        if pipeline is None and not self.connection.sismember(
                worker_registration.REDIS_WORKER_KEYS, self.key):
            self.log.warning("Worker %s: gone from Redis's registry; registering again",
                             self.name)
            with self.connection.pipeline() as again:
                again.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, again)
                again.expire(self.key, timeout or self.worker_ttl + 60)
                again.execute()
