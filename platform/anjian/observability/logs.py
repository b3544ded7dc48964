"""Structured logs: one processor chain (structlog) for our lines and for every library's.

Lines from ``logging.getLogger(...)`` anywhere (Flask, SQLAlchemy, RQ, gunicorn)
go through structlog's ``ProcessorFormatter``, so they carry the same fields as
lines from ``structlog.get_logger()``: the context bound for the current request
or job (``request_id``, ``tenant``, ``user_id``; ``job_id``, ``job_kind``),
``logger``, ``level``, ``timestamp`` (UTC) and any ``extra={...}``.

``ANJIAN_LOG_FORMAT=json`` renders one JSON object per line (deployments);
``console`` renders readable lines (the default, for ``make run``).
"""

from __future__ import annotations

import logging
import sys

import structlog

FORMATS = ("console", "json")


class StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is when a line is emitted
    (test runners and daemons replace it after start-up)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _pre_chain() -> list:
    """What every line gets before rendering: the bound context, logger, level, time."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(fmt: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of a handler: JSON objects or console lines."""
    if fmt not in FORMATS:
        raise ValueError(f"ANJIAN_LOG_FORMAT must be one of {FORMATS}, not {fmt!r}")
    if fmt == "json":
        render = [structlog.processors.format_exc_info,
                  structlog.processors.JSONRenderer(ensure_ascii=False)]
    else:
        render = [structlog.dev.ConsoleRenderer(colors=False)]
    return structlog.stdlib.ProcessorFormatter(
        # Lines from stdlib loggers: the same chain, plus their extra={...} fields.
        foreign_pre_chain=[*_pre_chain(), structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
    )


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """Factory for logging.config.dictConfig (gunicorn's ``logconfig_dict``)."""
    return formatter("json")


def handler(fmt: str = "json", stream=None) -> logging.Handler:
    """A handler rendering in ``fmt``, to ``stream`` (default: the current stderr)."""
    out = StderrHandler() if stream is None else logging.StreamHandler(stream)
    out.setFormatter(formatter(fmt))
    out._anjian = True
    return out


def _ours(h: logging.Handler) -> bool:
    return getattr(h, "_anjian", False) or isinstance(
        h.formatter, structlog.stdlib.ProcessorFormatter)


def configure(fmt: str = "console", level: str | int = "INFO") -> logging.Handler:
    """Route all logging of this process through structlog, rendered in ``fmt``.

    Idempotent: a handler installed earlier (by another app of the same process, or
    by gunicorn's ``logconfig_dict``) is replaced, never doubled; handlers of others
    (a test runner's) are left alone.
    """
    structlog.configure(
        processors=[
            *_pre_chain(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    installed = handler(fmt)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if _ours(existing):
            root.removeHandler(existing)
    root.addHandler(installed)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return installed


def gunicorn_logconfig(level: str = "INFO") -> dict:
    """gunicorn's ``logconfig_dict`` for JSON logs: its own lines (boot, worker exits)
    become JSON lines on stderr; its access log is off (the app writes one ``request``
    line per request, with the request id and tenant gunicorn does not know)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"anjian_json": {"()": "anjian.observability.logs.json_formatter"}},
        "handlers": {"anjian_stderr": {"class": "anjian.observability.logs.StderrHandler",
                                       "formatter": "anjian_json"}},
        "root": {"level": level, "handlers": ["anjian_stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
