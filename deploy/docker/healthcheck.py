"""Container health checks: ``python deploy/docker/healthcheck.py web|worker|scheduler``.

web: /healthz answers. worker: an RQ worker of this container (by host name) is
registered in Redis (a registration lapses when the worker dies or hangs).
scheduler: the single-scheduler lock is held (compose runs exactly one scheduler).
Exit 0 healthy, 1 not.
"""

import os
import socket
import sys
import urllib.request


def web() -> bool:
    port = os.environ.get("ANJIAN_BIND", "0.0.0.0:8000").rpartition(":")[2]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as answer:
        return answer.status == 200


def _redis():
    import redis

    return redis.Redis.from_url(os.environ["ANJIAN_REDIS_URL"], socket_connect_timeout=2,
                                socket_timeout=3)


def worker() -> bool:
    from rq import Worker

    return any(w.hostname == socket.gethostname() for w in Worker.all(connection=_redis()))


def scheduler() -> bool:
    from anjian.jobs.schedules import LOCK_KEY

    return bool(_redis().exists(LOCK_KEY))


if __name__ == "__main__":
    check = {"web": web, "worker": worker, "scheduler": scheduler}[sys.argv[1]]
    try:
        sys.exit(0 if check() else 1)
    except Exception as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        sys.exit(1)
