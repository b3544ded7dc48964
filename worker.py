"""An RQ worker with the app wired in: ``python worker.py [--burst] [queue ...]``.

``python worker.py --scheduler`` runs the one RQ cron scheduler of the recurring
jobs instead (the same as ``anjian schedules run``; see anjian.jobs.schedules).

Needs ANJIAN_REDIS_URL (the embedded default runs its worker inside the web
process instead). Every job runs through ``anjian.jobs.service.run_job``, which
builds the app in the process that executes it (RQ forks a work horse per job,
so no database connection crosses the fork), opens an app context and sets the
tenant and actor from the job's record. At start, and every minute while
working (``--reap-interval``), jobs left "started" by a dead worker are marked
abandoned: RQ itself notices a work horse killed with its worker only after the
job's heartbeat TTL (at least 60 s) and its next maintenance run, while the
platform's reaper marks a job abandoned once its heartbeat in the jobs table is
older than ``--stale-after`` seconds (default ANJIAN_JOB_STALE_SECONDS, 300).
Keep ``--stale-after`` well above the longest pause between a job's progress
reports and heartbeats (ANJIAN_JOB_HEARTBEAT_SECONDS, 30), or live jobs are
reaped. ``--worker-ttl`` and ``--maintenance-interval`` go to RQ's worker.
"""

import argparse
import sys
import threading

from rq import Queue

from anjian.app import create_app
from anjian.jobs.queues import QUEUE_NAMES, connection, worker_class

REAP_INTERVAL = 60.0


def _reap(app, stale_after: float | None = None) -> None:
    from anjian.extensions import db
    from anjian.jobs import service

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


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="anjian RQ worker")
    parser.add_argument("--burst", action="store_true",
                        help="work until the queues are empty, then exit")
    parser.add_argument("--scheduler", action="store_true",
                        help="run the one cron scheduler of the schedules, not a worker")
    parser.add_argument("--reap-interval", type=_seconds, default=REAP_INTERVAL,
                        help="seconds between looks for abandoned jobs (default: %(default)s)")
    parser.add_argument("--stale-after", type=_seconds, default=None,
                        help="a started job whose last heartbeat is older than this many "
                             "seconds is abandoned (default: ANJIAN_JOB_STALE_SECONDS, 300)")
    parser.add_argument("--worker-ttl", type=int, default=None,
                        help="RQ's worker TTL in seconds (default: RQ's, 420)")
    parser.add_argument("--maintenance-interval", type=int, default=None,
                        help="seconds between RQ's registry clean-ups (default: RQ's, 600)")
    parser.add_argument("queues", nargs="*", help=f"queues to work (default: {QUEUE_NAMES})")
    args = parser.parse_args(argv)

    app = create_app()
    if not app.config["ANJIAN_REDIS_URL"]:
        print("ANJIAN_REDIS_URL is not set: nothing to work on (the embedded queue runs in the"
              " web process).", file=sys.stderr)
        return 2
    if args.scheduler:
        from anjian.jobs.schedules import run_scheduler

        return run_scheduler(app)
    unknown = set(args.queues) - set(QUEUE_NAMES)
    if unknown:
        print(f"unknown queues: {sorted(unknown)}", file=sys.stderr)
        return 2
    from anjian.jobs import service

    service.load_job_modules(app)  # imported once here, inherited by every work horse
    names = args.queues or list(QUEUE_NAMES)
    conn = connection(app)
    options = {key: value for key, value in (("worker_ttl", args.worker_ttl),
                                             ("maintenance_interval", args.maintenance_interval))
               if value is not None}
    worker = worker_class()([Queue(name, connection=conn) for name in names],
                            connection=conn, **options)
    _reap(app, args.stale_after)
    stop = threading.Event()
    if not args.burst:
        threading.Thread(target=_reaper, args=(app, stop, args.reap_interval, args.stale_after),
                         daemon=True).start()
    try:
        # No app context here: each work horse builds its own app (see run_job).
        worker.work(burst=args.burst, with_scheduler=not args.burst)
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
