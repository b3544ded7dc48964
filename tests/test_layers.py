"""The layers of the core (pyproject.toml's import contract "The core's layers").

``lint-imports`` (tests/test_plugin_api.py runs it) proves no module imports from a
layer above its own. That proof is only as good as the list: a module in no layer is
not checked at all. So every module of anjian must be in exactly one layer; only a
package's ``__init__`` that imports nothing is left out (it cannot break a layer).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "platform" / "anjian"
# Alembic loads these by path, not as modules of the package; they import no anjian module
# (test_migrations_frozen.py keeps the versions as they were written).
NOT_MODULES = ("migrations",)


def layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["type"] == "layers")
    return [[name.strip() for name in layer.replace("|", ":").split(":")]
            for layer in contract["layers"]]


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_anything(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(tree))


def core_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(CORE.rglob("*.py"))
            if p.relative_to(CORE).parts[0] not in NOT_MODULES}


def owners(module: str, declared: list[list[str]]) -> list[tuple[int, str]]:
    """The layer entries (layer index, entry) that hold ``module``."""
    return [(i, entry) for i, layer in enumerate(declared) for entry in layer
            if module == entry or module.startswith(entry + ".")]


def test_every_module_is_in_exactly_one_layer():
    declared = layers()
    unplaced, twice = [], []
    for name, path in core_modules().items():
        found = owners(name, declared)
        if not found and (path.name != "__init__.py" or imports_anything(path)):
            unplaced.append(name)
        if len(found) > 1:
            twice.append((name, found))
    assert not unplaced, f"modules in no layer (add each to one in pyproject.toml): {unplaced}"
    assert not twice, f"modules in more than one layer: {twice}"


def test_every_layer_entry_is_a_module_of_the_core():
    modules = core_modules()
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    for layer in layers():
        for entry in layer:
            assert entry in modules or entry in packages, f"no such module: {entry}"


def test_the_layers_read_top_down_as_the_design_says():
    """Entry points first, the kernel last; the domain's packages each a layer of their own
    (so none can import another above it: no cycle between domain packages)."""
    declared = layers()
    assert "anjian.app" in declared[0] and "anjian.cli" in declared[0]
    assert "anjian.api" in declared[1]
    for kernel in ("anjian.context", "anjian.errors", "anjian.clock", "anjian.permissions",
                   "anjian.evidence", "anjian.notifications"):
        assert kernel in declared[-1]
    assert all(name.endswith(".models") or name == "anjian.idempotency" for name in declared[-2])
    domain = declared[2:-2]
    packages = [{name.split(".")[1] for name in layer} for layer in domain]
    assert all(len(p) == 1 for p in packages[:-1]), packages  # one package a layer


def test_the_placement_check_sees_a_module_in_no_layer():
    declared = [["anjian.app"], ["anjian.api"]]
    assert owners("anjian.api.problems", declared) == [(1, "anjian.api")]
    assert owners("anjian.apis", declared) == []
    assert owners("anjian.app", [["anjian.app"], ["anjian.app"]]) == [(0, "anjian.app"),
                                                                      (1, "anjian.app")]
