"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Read by the gunicorn master before any worker starts; everything set here in
``os.environ`` is inherited by the workers.
"""

import glob
import os
import shutil
import tempfile

port = os.environ.get("ANJIAN_PORT", "8000")
bind = os.environ.get("ANJIAN_BIND", f"127.0.0.1:{port}")
# Sync workers: measured faster than gthread on 2 cores (see ../shared/STACK.md).
workers = int(os.environ.get("ANJIAN_WEB_WORKERS", "2"))
worker_class = "sync"
timeout = 60
graceful_timeout = 30
# Each worker builds its own app (and database pool) after the fork.
preload_app = False

# --- requests gunicorn refuses by itself -------------------------------------------
# A request line over 8190 bytes (method, path and query: 414), more than 100 headers or
# one over 8190 bytes (431), or a request it cannot parse (400) never reaches the app.
# gunicorn answers those itself, in the API's format: problem+json with a Chinese title
# and detail (anjian.api.server_errors), instead of its English HTML. 8190 is the most
# gunicorn takes for a line; the app's own limits (the body: MAX_CONTENT_LENGTH, 413)
# are answered by the app.
# (installed below, once the Prometheus folder is set: it imports the app's modules).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# --- Prometheus: several workers, one /metrics ------------------------------------
# prometheus_client's multiprocess mode: each worker writes its request counters to
# files in PROMETHEUS_MULTIPROC_DIR, and the worker that answers a scrape of /metrics
# adds up every worker's files. The variable must be set before a worker imports
# prometheus_client, hence here, in the master. A folder given in the environment
# (systemd: /run/anjian/prometheus) is emptied when the master starts: figures
# restart from zero, as after any restart; give each gunicorn its own. Unset, each
# master makes a private one and removes it on exit. Job and queue figures are not
# in it: they are read from Redis at scrape time (anjian.observability.metrics).
_own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="anjian-prometheus-")
metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    os.makedirs(metrics_dir, mode=0o700, exist_ok=True)
    for stale in glob.glob(os.path.join(metrics_dir, "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)


# --- logs --------------------------------------------------------------------------
# ANJIAN_LOG_FORMAT=json: gunicorn's own lines become JSON too, and its access log is
# off: the app writes one "request" line per request with the request id, tenant,
# endpoint, status and duration. Otherwise: gunicorn's usual access log.
if os.environ.get("ANJIAN_LOG_FORMAT", "console") == "json":
    from anjian.observability.logs import gunicorn_logconfig

    logconfig_dict = gunicorn_logconfig(os.environ.get("ANJIAN_LOG_LEVEL", "INFO").upper())
    accesslog = None
else:
    accesslog = "-"

# --- gunicorn's own refusals as problem+json (see "requests gunicorn refuses" above) --
from anjian.api import server_errors  # noqa: E402

server_errors.install()

# --- the garbage collector ----------------------------------------------------------
# Once a worker has built its app, everything made so far (modules, mappers, schemas,
# routes: most of the heap) is moved out of the collector's sight, and the youngest
# generation is collected every 10,000 new objects instead of 700. A list request
# makes thousands of short-lived objects; with the defaults a collection ran about
# once a request, often walking the whole heap: 0.15-0.4 ms of a 9-12 ms request,
# against ~0.04 ms now (in-process; see the git history of docs/benchmarks.md). Cycles
# are still collected.
GC_THRESHOLD = (10_000, 10, 10)


def post_worker_init(worker):
    import gc

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


# gunicorn 27's control socket sits at one fixed path per user: two services on one host
# would take it from each other. The platform does not use it.
control_socket_disable = True
