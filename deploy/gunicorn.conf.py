"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``."""

import os

bind = os.environ.get("ANJIAN_BIND", f"127.0.0.1:{os.environ.get('ANJIAN_PORT', '8000')}")
# Sync workers: measured faster than gthread on 2 cores (see ../shared/STACK.md).
workers = int(os.environ.get("ANJIAN_WEB_WORKERS", "2"))
worker_class = "sync"
timeout = 60
graceful_timeout = 30
# Each worker builds its own app (and database pool) after the fork.
preload_app = False
accesslog = "-"
limit_request_line = 8190
