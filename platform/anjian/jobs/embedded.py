"""The embedded default: without ANJIAN_REDIS_URL, jobs run on the app's in-process
fakeredis, worked by a daemon thread of the serving process.

The thread starts lazily, on the first dispatch (never at import). Under tests
(``app.testing``) it does not start unless ``ANJIAN_JOBS_EMBEDDED_WORKER`` is
true; tests call ``drain(app)`` to run what is queued, synchronously, or
``start(app)`` / ``stop(app)`` for a real background thread.
"""

from __future__ import annotations

import logging
import threading
import time

from rq import Queue, SimpleWorker
from rq.timeouts import TimerDeathPenalty

from anjian.jobs import schedules, service
from anjian.jobs.queues import QUEUE_NAMES, PromptPubSub, connection

log = logging.getLogger(__name__)

REAP_INTERVAL = 60.0


class ThreadWorker(PromptPubSub, SimpleWorker):
    """A SimpleWorker usable outside the main thread (no signals; timer-based timeouts)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


def make_worker(app, queues=QUEUE_NAMES) -> ThreadWorker:
    conn = connection(app)
    return ThreadWorker([Queue(name, connection=conn) for name in queues], connection=conn)


def drain(app, queues=QUEUE_NAMES) -> bool:
    """Run every queued job now, in the calling thread (burst), after moving in the jobs
    whose delay is up (``enqueue(delay=...)``: a retry's backoff). True if any job ran."""
    worker = make_worker(app, queues)
    with app.app_context():
        return worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


class EmbeddedWorker:
    def __init__(self, app):
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self._last_reap = 0.0

    def start(self) -> EmbeddedWorker:
        if self.thread is None or not self.thread.is_alive():
            self.stopping.clear()
            self.thread = threading.Thread(target=self._loop, name="anjian-embedded-worker",
                                           daemon=True)
            self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(1.0)
            self.wake.clear()
            if self.stopping.is_set():
                break
            try:
                drain(self.app)
                schedules.tick_embedded(self.app)
                if time.monotonic() - self._last_reap > REAP_INTERVAL:
                    self._last_reap = time.monotonic()
                    service.reap_abandoned(self.app)
            except Exception:
                log.exception("embedded worker: error while working the queues")
                self.stopping.wait(1.0)


_lock = threading.Lock()
_workers: dict[int, EmbeddedWorker] = {}


def get(app) -> EmbeddedWorker:
    with _lock:
        worker = _workers.get(id(app))
        if worker is None or worker.app is not app:
            worker = _workers[id(app)] = EmbeddedWorker(app)
        return worker


def start(app) -> EmbeddedWorker:
    return get(app).start()


def stop(app, timeout: float = 10.0) -> None:
    with _lock:
        worker = _workers.pop(id(app), None)
    if worker is not None:
        worker.stop(timeout)


def autostart(app) -> bool:
    return bool(app.config.get("ANJIAN_JOBS_EMBEDDED_WORKER", not app.testing))


def notify(app) -> None:
    """A job was dispatched: wake the thread (starting it unless under tests)."""
    worker = get(app)
    if worker.thread is None or not worker.thread.is_alive():
        if not autostart(app):
            return
        worker.start()
    worker.wake.set()


def start_if_enabled(app) -> None:
    """Start the embedded worker at serve time, so schedules fire before any job is sent."""
    if schedules.embedded_enabled(app):
        start(app)


def install(app) -> None:
    """Without ANJIAN_REDIS_URL, every dispatch wakes (or lazily starts) this worker."""
    if not app.config.get("ANJIAN_REDIS_URL"):
        app.extensions[service.DISPATCH_LISTENER] = notify
