"""Settings, read from ``ANJIAN_*`` environment variables at app creation (never at import)."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from anjian.db import loads_stored


def _int(env, name, default):
    value = env.get(name)
    return int(value) if value not in (None, "") else default


def from_environment(env: dict[str, str] | None = None) -> dict:
    """The app's configuration from the environment; every key is documented in deploy/env.example."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("ANJIAN_DATA_DIR", "var")).resolve()
    return {
        # Where the embedded default keeps its PostgreSQL server (postgres/) and stored objects.
        "ANJIAN_DATA_DIR": str(data_dir),
        # The app's own connection: a PostgreSQL (>= 15) role that owns no table.
        # Unset → the embedded PostgreSQL server under the data folder (anjian.embedded).
        "SQLALCHEMY_DATABASE_URI": env.get("ANJIAN_DATABASE_URL", ""),
        # Migrations run as the schema owner; unset → the app's own URL.
        "ANJIAN_MIGRATION_DATABASE_URL": env.get("ANJIAN_MIGRATION_DATABASE_URL", ""),
        # The PostgreSQL role the app connects as; migrations grant it its rights.
        "ANJIAN_DB_APP_ROLE": env.get("ANJIAN_DB_APP_ROLE", "anjian_app"),
        # Unset → embedded in-process queue (fakeredis and a worker thread).
        "ANJIAN_REDIS_URL": env.get("ANJIAN_REDIS_URL", ""),
        # file:///path (embedded default) or s3://bucket/prefix.
        "ANJIAN_STORAGE_URL": env.get("ANJIAN_STORAGE_URL", (data_dir / "objects").as_uri()),
        "ANJIAN_S3_ENDPOINT_URL": env.get("ANJIAN_S3_ENDPOINT_URL", ""),
        # Signs download URLs of the local storage. Unset → a random key kept in
        # <ANJIAN_DATA_DIR>/secret_key (0600), made on first use (see ensure_secret_key).
        "SECRET_KEY": env.get("ANJIAN_SECRET_KEY") or None,
        # Largest request body accepted, in bytes (uploads included).
        "MAX_CONTENT_LENGTH": _int(env, "ANJIAN_MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        # Lifetime of a token made by password login, in hours.
        "ANJIAN_LOGIN_TOKEN_HOURS": _int(env, "ANJIAN_LOGIN_TOKEN_HOURS", 12),
        # Failed logins allowed per account / per address within the window.
        "ANJIAN_LOGIN_MAX_FAILURES_PER_USER": _int(env, "ANJIAN_LOGIN_MAX_FAILURES_PER_USER", 5),
        "ANJIAN_LOGIN_MAX_FAILURES_PER_ADDRESS": _int(
            env, "ANJIAN_LOGIN_MAX_FAILURES_PER_ADDRESS", 20
        ),
        "ANJIAN_LOGIN_WINDOW_SECONDS": _int(env, "ANJIAN_LOGIN_WINDOW_SECONDS", 900),
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host (werkzeug's
        # ProxyFix trusts that many hops): the login throttle then counts per real client
        # address. 0 (the default): the headers are ignored, the socket's address counts.
        "ANJIAN_TRUSTED_PROXIES": _int(env, "ANJIAN_TRUSTED_PROXIES", 0),
        # Requests one access link (企业访问链接) may make per minute; one more answers 429. 0: no limit.
        "ANJIAN_LINK_REQUESTS_PER_MINUTE": _int(env, "ANJIAN_LINK_REQUESTS_PER_MINUTE", 60),
        # Comma-separated plugin modules loaded beside the entry-point group "anjian".
        "ANJIAN_PLUGINS": env.get("ANJIAN_PLUGINS", ""),
        "ANJIAN_LOAD_ENTRY_POINTS": env.get("ANJIAN_LOAD_ENTRY_POINTS", "1") != "0",
        # The folder of tenant TOML files synced by `anjian tenants sync`.
        "ANJIAN_TENANTS_DIR": env.get("ANJIAN_TENANTS_DIR", "tenants"),
        "ANJIAN_PORT": _int(env, "ANJIAN_PORT", 8000),
        # Log lines: "console" (readable; `make run`) or "json" (one object a line; deployments).
        "ANJIAN_LOG_FORMAT": env.get("ANJIAN_LOG_FORMAT", "console"),
        "ANJIAN_LOG_LEVEL": env.get("ANJIAN_LOG_LEVEL", "INFO"),
        # Prometheus metrics at /metrics (aggregate figures, no tenant in any label); 0: off.
        "ANJIAN_METRICS_ENABLED": env.get("ANJIAN_METRICS_ENABLED", "1") != "0",
        # Jobs: extra modules of job functions; heartbeat interval; a running job whose
        # heartbeat is older than this is marked abandoned by the reaper (seconds).
        "ANJIAN_JOB_MODULES": env.get("ANJIAN_JOB_MODULES", ""),
        "ANJIAN_JOB_HEARTBEAT_SECONDS": _int(env, "ANJIAN_JOB_HEARTBEAT_SECONDS", 30),
        "ANJIAN_JOB_STALE_SECONDS": _int(env, "ANJIAN_JOB_STALE_SECONDS", 300),
        # Jobs one tenant may have queued or running from requests at once (imports,
        # exports, reports); one more answers 429. Keeps one tenant's burst from
        # filling the queue in front of everyone else's work. 0: no limit.
        "ANJIAN_JOBS_OPEN_PER_TENANT": _int(env, "ANJIAN_JOBS_OPEN_PER_TENANT", 6),
        # Notifications out (anjian.channels): the platform's SMTP server for e-mail channels
        # (TLS: starttls, ssl or none; login only when a username is set), the public base URL
        # of this API (download links in messages when storage is the local folder), the
        # backoff in seconds before each retry of a failed message (then it fails), and the
        # timeout of one network call to a channel.
        "ANJIAN_SMTP_HOST": env.get("ANJIAN_SMTP_HOST", ""),
        "ANJIAN_SMTP_PORT": _int(env, "ANJIAN_SMTP_PORT", 587),
        "ANJIAN_SMTP_FROM": env.get("ANJIAN_SMTP_FROM", ""),
        "ANJIAN_SMTP_TLS": env.get("ANJIAN_SMTP_TLS", "starttls"),
        "ANJIAN_SMTP_USERNAME": env.get("ANJIAN_SMTP_USERNAME", ""),
        "ANJIAN_SMTP_PASSWORD": env.get("ANJIAN_SMTP_PASSWORD", ""),
        "ANJIAN_PUBLIC_URL": env.get("ANJIAN_PUBLIC_URL", ""),
        "ANJIAN_CHANNEL_RETRY_SECONDS": env.get("ANJIAN_CHANNEL_RETRY_SECONDS", "30,300,1800"),
        "ANJIAN_CHANNEL_TIMEOUT_SECONDS": _int(env, "ANJIAN_CHANNEL_TIMEOUT_SECONDS", 10),
        # Webhook and robot channels reach public addresses only (a tenant's URL must not
        # reach the platform's own network); 1 lets them reach private and loopback ones
        # too (an intranet deployment, the tests' local receiver).
        "ANJIAN_CHANNEL_ALLOW_PRIVATE": env.get("ANJIAN_CHANNEL_ALLOW_PRIVATE", "0") == "1",
        # Fixed API prefixes and OpenAPI settings (flask-smorest).
        "API_TITLE": "anjian 安监 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
        # No ping on every checkout: anjian.db.install_idle_ping pings idle connections.
        # JSON columns are decoded by orjson. Sessions run in UTC: anjian.db.install_utc_sessions.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "json_deserializer": loads_stored},
        "JSON_AS_ASCII": False,
        # Embedded default only: whether its worker thread runs jobs / fires schedules
        # (unset: yes, except under tests). Set only when given, so the default stays.
        **{name: env[name] != "0" for name in ("ANJIAN_JOBS_EMBEDDED_WORKER",
                                                "ANJIAN_SCHEDULES_EMBEDDED")
           if env.get(name) not in (None, "")},
    }


def ensure_secret_key(config) -> str:
    """``config["SECRET_KEY"]``; when unset, the key persisted in the data dir (made once).

    The file is created 0600 and linked into place atomically, so two processes
    starting together agree on one key, and it survives restarts.
    """
    if config.get("SECRET_KEY"):
        return config["SECRET_KEY"]
    folder = Path(config["ANJIAN_DATA_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "secret_key"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secret_key-")  # mode 0600
        try:
            os.write(fd, secrets.token_urlsafe(48).encode())
            os.fsync(fd)
            os.close(fd)
            try:
                os.link(tmp, target)
            except FileExistsError:
                pass  # another process made it first; use theirs
        finally:
            os.unlink(tmp)
    key = target.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{target} holds too short a secret key")
    config["SECRET_KEY"] = key
    return key
