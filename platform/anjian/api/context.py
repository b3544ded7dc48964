"""The current request's Context, kept on ``flask.g`` by the guard (adapters only)."""

from __future__ import annotations

from flask import g, has_request_context

from anjian.context import Context, NoContext

_KEY = "context"


def current() -> Context | None:
    """The current request's context; None outside a request or before the guard built it."""
    return g.get(_KEY) if has_request_context() else None


def request_context() -> Context:
    """The current request's context, which a tenant route always has."""
    context = current()
    if context is None:
        raise NoContext("this route runs without a context")
    return context


def keep(context: Context) -> Context:
    """Keep ``context`` as the current request's (the guard, and a route that moves the
    request into the tenant its URL names)."""
    setattr(g, _KEY, context)
    return context
