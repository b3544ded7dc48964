"""Modules of anjian import at the top, not inside functions, but for the reasons listed here.

An import inside a function hides a dependency until the function runs: an import cycle
or a missing package shows in production, on the first call, instead of at start-up and
in the tests that import the module. Each allowed one says why it stays (and its line
says ``# lazy: ...``). The Alembic revisions (``migrations/versions``) are not scanned.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "platform" / "anjian"
SKIPPED = ("migrations/versions/",)

# (path under platform/anjian, module imported) -> why it is imported inside a function.
ALLOWED = {
    ("reports/pdf.py", "weasyprint"):
        "seconds to import, for PDF jobs only; a broken install must fail the PDF with a "
        "message, not the app at start-up",
    ("reports/pdf.py", "weasyprint.urls"): "part of weasyprint (as above)",
    ("storage/backends.py", "boto3"):
        "S3 storage only: ~0.2 s and ~180 modules that a deployment on a local folder never uses",
    ("storage/backends.py", "botocore.config"): "part of boto3, S3 storage only (as above)",
    ("storage/backends.py", "botocore.exceptions"): "part of boto3, S3 storage only (as above)",
    ("jobs/queues.py", "fakeredis"):
        "the embedded default's in-process Redis: ~0.17 s and a Lua runtime (lupa) that a "
        "deployment on ANJIAN_REDIS_URL never uses",
}


def _module_of(node: ast.ImportFrom, path: str) -> str:
    """The module a ``from ... import`` names, relative ones resolved against ``path``."""
    if not node.level:
        return node.module or ""
    package = ["anjian", *Path(path).parent.parts]  # level 1: the file's own package
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _is_anjian_module(name: str) -> bool:
    if not name.startswith("anjian."):
        return False
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative.with_suffix(".py")).is_file() or (PACKAGE / relative).is_dir()


class _Finder(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path = path
        self.depth = 0
        self.found: list[tuple[int, str]] = []

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node):
        if self.depth:
            self.found += [(node.lineno, alias.name) for alias in node.names]

    def visit_ImportFrom(self, node):
        if not self.depth:
            return
        module = _module_of(node, self.path)
        for alias in node.names:
            # ``from anjian import cli`` imports the module anjian.cli: name it.
            submodule = f"{module}.{alias.name}"
            self.found.append((node.lineno, submodule if _is_anjian_module(submodule) else module))


def local_imports(source: str, path: str = "module.py") -> list[tuple[int, str]]:
    """(line, module) of every import inside a function (or method) of ``source``; ``path``
    (under platform/anjian) resolves relative imports and the submodules of anjian."""
    finder = _Finder(path)
    finder.visit(ast.parse(source))
    return sorted(set(finder.found))


def _modules():
    for file in sorted(PACKAGE.rglob("*.py")):
        path = file.relative_to(PACKAGE).as_posix()
        if not path.startswith(SKIPPED):
            yield path, file.read_text(encoding="utf-8")


def test_no_module_imports_inside_a_function_but_the_allowed():
    found = {(path, line, module) for path, source in _modules()
             for line, module in local_imports(source, path)}
    refused = sorted(f"platform/anjian/{path}:{line}:{module}" for path, line, module in found
                     if (path, module) not in ALLOWED)
    assert refused == [], "import at the module's top, or add it to ALLOWED with its reason"
    stale = sorted(set(ALLOWED) - {(path, module) for path, _line, module in found})
    assert stale == [], "allowed, but imported at the top now: remove it from ALLOWED"


def test_allowed_imports_say_why_where_they_are():
    lines = {path: source.splitlines() for path, source in _modules()}
    for path, source in _modules():
        for line, module in local_imports(source, path):
            if (path, module) in ALLOWED:
                here = lines[path][line - 1]
                above = lines[path][line - 2] if line > 1 else ""
                assert "# lazy:" in here or above.strip().startswith("# lazy:"), (path, line)


def test_the_scan_sees_imports_in_functions_methods_and_nested_functions():
    source = textwrap.dedent("""
        import os
        from anjian import errors


        def top():
            import json
            from anjian import cli


            def nested():
                from . import views


        class Kind:
            from anjian import clock

            def method(self):
                from weasyprint.urls import URLFetcher


        async def waits():
            from anjian.plugins.views import TenantInfo, ViewError
    """)
    assert local_imports(source, "plugins/manager.py") == [
        (7, "json"), (8, "anjian.cli"), (12, "anjian.plugins.views"), (19, "weasyprint.urls"),
        (23, "anjian.plugins.views"),
    ]
    assert local_imports("import os\n\n\ndef f():\n    return os\n") == []
