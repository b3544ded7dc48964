"""The Context: one immutable object per request or job, and who may read Flask's globals."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from anjian.auth.service import Access
from anjian.context import Context
from anjian.plugins.views import TenantInfo
from tests.test_layers import layers

INFO = TenantInfo(7, "demo", "演示", "county", ())


def test_a_context_is_immutable():
    context = Context.for_request(INFO, 3, Access("admin", True, "member"), "rid")
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.user_id = 4  # type: ignore[misc]
    assert (context.tenant_id, context.user_id, context.request_id, context.job_id) == (
        7, 3, "rid", None)
    assert context.tenant is INFO


def test_a_job_acts_as_the_system_for_the_user_who_asked():
    context = Context.for_job(INFO, 3, "job-1")
    assert (context.tenant_id, context.user_id, context.access, context.job_id) == (
        7, 3, None, "job-1")


def test_the_clock_reads_china_time():
    late = dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC)  # 01:30 on 2 March in Beijing
    context = Context(7, None, clock=lambda: late)
    assert context.today() == dt.date(2026, 3, 2)
    assert context.now().utcoffset() == dt.timedelta(hours=8)


def test_visibility_fails_closed_without_a_context():
    from sqlalchemy import true

    from anjian.context import NoContext
    from anjian.enterprises.models import Enterprise
    from anjian.enterprises.visibility import can_see_enterprise, enterprise_clause

    with pytest.raises(NoContext):
        enterprise_clause(None, Enterprise.id)
    with pytest.raises(NoContext):
        can_see_enterprise(None, 1)
    # The system's context (a job, the CLI) reaches every enterprise of the tenant scope.
    assert enterprise_clause(Context(7, None), Enterprise.id) is true()
    viewer = Context(7, 3, Access("enterprise", True, "member", enterprise_id=5))
    assert str(enterprise_clause(viewer, Enterprise.id).compile(
        compile_kwargs={"literal_binds": True})) == "enterprises.id = 5"


# --- who reads Flask's request globals ------------------------------------------------------

# What only a request has: its globals, and what asks for the request (its URL, its host).
REQUEST_GLOBALS = {"g", "request", "session", "has_request_context", "url_for"}
PACKAGE = Path(__file__).parents[1] / "platform" / "anjian"


def _is_adapter(name: str) -> bool:
    """In the two top layers of the import contract (entry points and adapters: they know
    HTTP, RQ or the shell, and build or read the Context), or a migration."""
    module = "anjian." + name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    top = layers()[0] + layers()[1]
    return name.startswith("migrations/") or any(
        module == entry or module.startswith(entry + ".") for entry in top)


def _request_globals(source: str, names: set[str] = REQUEST_GLOBALS) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            found |= {alias.name for alias in node.names} & names
        elif (isinstance(node, ast.Attribute) and node.attr in names
              and isinstance(node.value, ast.Name) and node.value.id == "flask"):
            found.add(node.attr)
    return found


def _below_the_adapters(names: set[str], allowed: tuple[str, ...] = ()) -> dict:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if _is_adapter(name) or name in allowed:
            continue
        used = _request_globals(path.read_text(encoding="utf-8"), names)
        if used:
            offenders[name] = sorted(used)
    return offenders


def test_no_domain_module_reads_flasks_request_globals():
    assert _below_the_adapters(REQUEST_GLOBALS) == {}


def test_below_the_adapters_only_the_extensions_reach_the_app():
    """The app's configuration and extensions are reached through ``anjian.extensions``
    (``this_app()``, ``plugin_registry()``, ``db``), never through Flask's ``current_app``."""
    assert _below_the_adapters({"current_app"}, allowed=("extensions.py",)) == {}


def test_the_scan_sees_both_spellings():
    assert _request_globals("from flask import g, current_app") == {"g"}
    assert _request_globals("import flask\nflask.request.args") == {"request"}
    assert _request_globals("from flask import current_app") == set()
