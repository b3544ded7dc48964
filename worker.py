"""An RQ worker with the app wired in: ``python worker.py [queue ...]``.

Needs ANJIAN_REDIS_URL (the embedded default runs its worker inside the web
process instead). The app is created here, in the worker process; every job
opens its own app context and sets its tenant from the job's record.
"""

import sys

from rq import Queue, Worker

from anjian.app import create_app
from anjian.jobs.queues import QUEUE_NAMES, connection


def main(argv: list[str]) -> int:
    app = create_app()
    if not app.config["ANJIAN_REDIS_URL"]:
        print("ANJIAN_REDIS_URL is not set: nothing to work on (the embedded queue runs in the"
              " web process).", file=sys.stderr)
        return 2
    names = argv or list(QUEUE_NAMES)
    conn = connection(app)
    worker = Worker([Queue(name, connection=conn) for name in names], connection=conn)
    with app.app_context():
        worker.work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
