"""Migrations are frozen and ship inside the package.

A revision is history: it must run the same way in a year, whatever the application code
has become by then. So no revision imports ``anjian`` (or a plugin, or chinese_calendar):
the SQL and data each one needs are written out in it. The revisions live in
``platform/anjian/migrations`` and a built wheel carries them, so an installed anjian can
migrate without a checkout.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "platform" / "anjian" / "migrations"
REVISIONS = sorted((MIGRATIONS / "versions").glob("*.py"))
# Live code a revision must not import: the application, its plugins, and the package the
# holiday calendar was once read from.
FORBIDDEN = ("anjian", "chinese_calendar")


def _forbidden(module: str) -> bool:
    top = module.split(".")[0]
    return top in FORBIDDEN or top.startswith("anjian_")


def forbidden_imports(source: str) -> list[str]:
    """Every import of live code in ``source``, at any depth (module level or inside a
    function), including ``importlib.import_module("...")`` and ``__import__("...")``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and _forbidden(node.module):
                found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            target = node.args[0].value
            if name in ("import_module", "__import__") and isinstance(target, str) and _forbidden(target):
                found.append((node.lineno, f"{name}({target!r})"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_revisions_are_where_the_app_looks_for_them():
    from anjian.app import _migrations_dir

    assert Path(_migrations_dir()).resolve() == MIGRATIONS.resolve()
    assert (MIGRATIONS / "env.py").is_file() and (MIGRATIONS / "alembic.ini").is_file()
    assert len(REVISIONS) >= 9
    assert not (ROOT / "migrations").exists()


@pytest.mark.parametrize("path", REVISIONS, ids=lambda p: p.name)
def test_no_revision_imports_live_code(path):
    assert forbidden_imports(path.read_text(encoding="utf-8")) == [], (
        f"{path.name} imports live code: write the SQL or data it needs into the revision")


def test_the_revision_template_imports_no_live_code():
    """New revisions start from script.py.mako: it must not bring the imports back."""
    template = (MIGRATIONS / "script.py.mako").read_text(encoding="utf-8")
    lines = [line.strip() for line in template.splitlines()]
    assert not [line for line in lines if line.startswith(("import ", "from "))
                and _forbidden(line.split()[1])]


def test_the_import_check_sees_every_form():
    """The check above can fail: imports at module level, inside a function, relative to
    nothing, of a plugin, and through importlib are all reported; lookalikes are not."""
    source = '''
import os
import anjian.db
from anjian.tenancy import rls
import sqlalchemy as sa
from alembic import op

def upgrade():
    import chinese_calendar
    from anjian_changshu import plugin
    import importlib
    importlib.import_module("anjian.workdays.service")
    __import__("chinese_calendar.constants")
    importlib.import_module("json")
    anjianish = "anjian"
'''
    assert [line.split(":")[0] for line in forbidden_imports(source)] == [
        "line 3", "line 4", "line 9", "line 10", "line 12", "line 13"]
    assert forbidden_imports("import anjianx\nfrom sqlalchemy import anjian\n") == []


def test_migrations_have_exactly_one_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    heads = script.get_heads()
    assert len(heads) == 1, f"several migration heads, add a merge migration: {heads}"
    # Every revision is reachable from that head, and every file is a revision.
    revisions = list(script.walk_revisions())
    assert revisions and revisions[-1].down_revision is None
    assert len(list(script.iterate_revisions(heads[0], "base"))) == len(revisions)
    assert sorted(Path(r.path).name for r in revisions) == [p.name for p in REVISIONS]


def test_a_built_wheel_carries_the_migrations(tmp_path):
    """``pip wheel`` of a copy of the sources (setuptools writes build/ beside them): the
    wheel holds the Alembic environment and every revision, as package data of anjian."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("platform", "plugins"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    out = tmp_path / "wheel"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q",
         "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [wheel] = out.glob("anjian-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"anjian/migrations/env.py", "anjian/migrations/alembic.ini",
                "anjian/migrations/script.py.mako",
                *(f"anjian/migrations/versions/{p.name}" for p in REVISIONS)}
    assert expected <= names, sorted(expected - names)


# --- the policies the revisions wrote ---------------------------------------------
# Each revision writes out its own copy of the policy SQL; the live catalogue must hold
# exactly these clauses on every table with RLS (PostgreSQL normalises both sides).

READ = "tenant_id = ANY (string_to_array(NULLIF(current_setting('app.tenant_ids', true), ''), ',')::int[])"
WRITE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::int"
POLICIES = {
    "tenant": (READ, WRITE),
    "memberships": (f"{READ} OR user_id = NULLIF(current_setting('app.user_id', true), '')::int", WRITE),
    "audit_log": (f"{READ} OR (tenant_id IS NULL AND current_setting('app.platform', true) = 'on')",
                  f"tenant_id IS NULL OR {WRITE}"),
}


def _policies(conn, table: str) -> dict[str, tuple]:
    rows = conn.execute(text(
        "SELECT policyname, cmd, roles::text, qual, with_check FROM pg_policies"
        " WHERE schemaname = 'public' AND tablename = :t"), {"t": table}).all()
    return {name: tuple(rest) for name, *rest in rows}


def test_every_tenant_table_has_the_policies_written_here(database):
    engine = create_engine(database.admin_url)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            expected = {}
            for kind, (read, write) in POLICIES.items():
                scratch = f"expected_{kind}"
                conn.execute(text(f"CREATE TABLE {scratch} (tenant_id int, user_id int)"))
                conn.execute(text(f"CREATE POLICY tenant_read ON {scratch} FOR SELECT USING ({read})"))
                conn.execute(text(f"CREATE POLICY tenant_insert ON {scratch} FOR INSERT"
                                  f" WITH CHECK ({write})"))
                conn.execute(text(f"CREATE POLICY tenant_update ON {scratch} FOR UPDATE"
                                  f" USING ({write}) WITH CHECK ({write})"))
                conn.execute(text(f"CREATE POLICY tenant_delete ON {scratch} FOR DELETE USING ({write})"))
                expected[kind] = _policies(conn, scratch)
            tables = conn.execute(text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity"
                "   AND c.relname NOT LIKE 'expected\\_%'")).scalars().all()
            assert {"areas", "memberships", "audit_log", "jobs", "enterprises", "hazards",
                    "reports", "spot_checks"} <= set(tables)
            wrong = {table: _policies(conn, table) for table in tables
                     if _policies(conn, table) != expected.get(table, expected["tenant"])}
            transaction.rollback()
    finally:
        engine.dispose()
    assert len(expected["tenant"]) == 4
    assert wrong == {}
