"""The RQ processes of a deployment with Redis: ``anjian worker`` and ``anjian scheduler``.

``anjian worker [--burst] [QUEUE ...]`` runs an RQ worker with the app wired in;
``anjian scheduler`` runs the one RQ cron scheduler of the recurring jobs (the same as
``anjian schedules run``; see anjian.jobs.scheduler). Both are commands of the installed
``anjian`` script, so a built wheel runs them; ``python worker.py`` in a checkout is the
same (``legacy_main``).

Both need ANJIAN_REDIS_URL (the embedded default runs its worker inside the web process
instead). Every job runs through ``anjian.jobs.runner.run_job``, which builds the app in
the process that executes it (RQ forks a work horse per job, so no database connection
crosses the fork), opens an app context and sets the tenant and actor from the job's
record: the commands hang on the ``anjian`` group itself, not on ``app.cli``, so no app
context is pushed around the worker. At start, and every minute while working
(``--reap-interval``), jobs left "started" by a dead worker are marked abandoned: RQ
itself notices a work horse killed with its worker only after the job's heartbeat TTL (at
least 60 s) and its next maintenance run, while the platform's reaper marks a job
abandoned once its heartbeat in the jobs table is older than ``--stale-after`` seconds
(default ANJIAN_JOB_STALE_SECONDS, 300). Keep ``--stale-after`` well above the longest
pause between a job's progress reports and heartbeats (ANJIAN_JOB_HEARTBEAT_SECONDS, 30),
or live jobs are reaped. ``--worker-ttl`` and ``--maintenance-interval`` go to RQ's worker.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import click
from rq import Queue

from anjian.app import create_app
from anjian.extensions import db
from anjian.jobs import service
from anjian.jobs.queues import QUEUE_NAMES, RegisteredWorker, connection
from anjian.jobs.scheduler import run_scheduler

REAP_INTERVAL = 60.0
SECONDS = click.FloatRange(min=0, min_open=True)


def _reap(app, stale_after: float | None = None) -> None:
    try:
        counts = service.reap_abandoned(app, stale_after=stale_after)
        if any(counts.values()):
            print(f"reaped stale jobs: {counts}", file=sys.stderr)
    except Exception as exc:
        print(f"reaping stale jobs failed: {exc}", file=sys.stderr)
    finally:
        with app.app_context():
            db.engine.dispose()


def _reaper(app, stop: threading.Event, interval: float, stale_after: float | None) -> None:
    while not stop.wait(interval):
        _reap(app, stale_after)


def run_worker(app, queues: Sequence[str] = (), *, burst: bool = False,
               reap_interval: float = REAP_INTERVAL, stale_after: float | None = None,
               worker_ttl: int | None = None, maintenance_interval: int | None = None) -> int:
    """Work ``queues`` (default: all) until stopped (SIGTERM: RQ's warm shutdown), or with
    ``burst`` until they are empty. Returns the exit code."""
    unknown = set(queues) - set(QUEUE_NAMES)
    if unknown:
        print(f"unknown queues: {sorted(unknown)}", file=sys.stderr)
        return 2
    service.load_job_modules(app)  # imported once here, inherited by every work horse
    names = list(queues) or list(QUEUE_NAMES)
    conn = connection(app)
    options = {key: value for key, value in (("worker_ttl", worker_ttl),
                                             ("maintenance_interval", maintenance_interval))
               if value is not None}
    rq_worker = RegisteredWorker([Queue(name, connection=conn) for name in names],
                                 connection=conn, **options)
    _reap(app, stale_after)
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_reaper, args=(app, stop, reap_interval, stale_after),
                         daemon=True).start()
    try:
        # No app context here: each work horse builds its own app (see run_job).
        rq_worker.work(burst=burst, with_scheduler=not burst)
    finally:
        stop.set()
    return 0


def _app_with_redis():
    app = create_app()
    if not app.config["ANJIAN_REDIS_URL"]:
        click.echo("错误: 未设置 ANJIAN_REDIS_URL；内置队列在 Web 进程中运行，无需单独启动"
                   " worker 或 scheduler", err=True)
        sys.exit(2)
    return app


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.option("--reap-interval", type=SECONDS, default=REAP_INTERVAL, show_default=True,
              help="Seconds between looks for abandoned jobs.")
@click.option("--stale-after", type=SECONDS, default=None,
              help="A started job whose last heartbeat is older than this many seconds is "
                   "abandoned (default: ANJIAN_JOB_STALE_SECONDS, 300).")
@click.option("--worker-ttl", type=click.IntRange(min=1), default=None,
              help="RQ's worker TTL in seconds (default: RQ's, 420).")
@click.option("--maintenance-interval", type=click.IntRange(min=1), default=None,
              help="Seconds between RQ's registry clean-ups (default: RQ's, 600).")
@click.argument("queues", nargs=-1, type=click.Choice(QUEUE_NAMES), metavar="[QUEUE]...")
def worker(burst, reap_interval, stale_after, worker_ttl, maintenance_interval, queues):
    """Run an RQ worker on QUEUES (default: all of them). Needs ANJIAN_REDIS_URL."""
    sys.exit(run_worker(_app_with_redis(), queues, burst=burst, reap_interval=reap_interval,
                        stale_after=stale_after, worker_ttl=worker_ttl,
                        maintenance_interval=maintenance_interval))


@click.command("scheduler")
def scheduler():
    """Run the one RQ cron scheduler of the schedules (needs ANJIAN_REDIS_URL; a second
    one waits as a standby on the lock). SIGTERM stops it and releases the lock."""
    sys.exit(run_scheduler(_app_with_redis()))


def legacy_main(argv: Sequence[str]) -> None:
    """``python worker.py [--burst] [QUEUE ...]`` is ``anjian worker``;
    ``python worker.py --scheduler`` is ``anjian scheduler``. Exits."""
    args = list(argv)
    command = worker
    if "--scheduler" in args:
        args.remove("--scheduler")
        command = scheduler
    command.main(args=args, prog_name="worker.py")
