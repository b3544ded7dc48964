"""The permission table is the one place that lists roles (issue 16, point 3).

Services and routes ask ``anjian.permissions``; no other module of the core keeps a
tuple, list or set of role names, or compares a role with a role name. (The locality
plugins in plugins/ are not scanned: they move to the plugin API on their own.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from anjian import permissions
from anjian.api.policy import requires
from anjian.permissions import TENANT_ROLES

CORE = Path(__file__).resolve().parent.parent / "platform" / "anjian"
ROLE_NAMES = frozenset(TENANT_ROLES) | permissions.SPECIAL
# The table itself, the model that defines the roles (and their Chinese names), and the
# pytest plugin for plugin authors (it makes a user of every role: no rule).
ALLOWED_TO_LIST = {"permissions.py", "auth/models.py", "testing.py"}


def _core_modules():
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(CORE).as_posix()
        if relative in ALLOWED_TO_LIST or relative.startswith("migrations/"):
            continue
        yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _role_constant(node) -> bool:
    return isinstance(node, ast.Constant) and node.value in ROLE_NAMES


def _mentions_role(node) -> bool:
    """A name or attribute about a role: ``role``, ``access.role``, ``Membership.role``."""
    if isinstance(node, ast.Attribute):
        return "role" in node.attr
    if isinstance(node, ast.Name):
        return "role" in node.id
    if isinstance(node, ast.Subscript):
        return _mentions_role(node.value) or _mentions_role(node.slice)
    return isinstance(node, ast.Constant) and node.value == "role"


def role_lists_and_checks(relative: str, tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            strings = [e for e in node.elts if isinstance(e, ast.Constant)
                       and isinstance(e.value, str)]
            if strings and len(strings) == len(node.elts) and all(map(_role_constant, strings)):
                found.append(f"{relative}:{node.lineno}: roles listed: "
                             f"{[e.value for e in strings]}")
        elif isinstance(node, ast.Dict) and node.keys and all(map(_role_constant, node.keys)):
            found.append(f"{relative}:{node.lineno}: roles as keys: "
                         f"{[k.value for k in node.keys]}")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(map(_mentions_role, sides)) and any(map(_role_constant, sides)):
                found.append(f"{relative}:{node.lineno}: a role compared with a role name")
    return found


def test_no_core_module_lists_roles_or_checks_one_by_name():
    found = [hit for relative, tree in _core_modules()
             for hit in role_lists_and_checks(relative, tree)]
    assert found == [], "ask anjian.permissions instead:\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for():
    source = '''
READERS = ("tenant_admin", "supervisor", "viewer")
ADMINS = {"tenant_admin"}
def f(access):
    return access.role == "enterprise" or access.role in ["viewer"]
SOURCES = ("self", "department")  # not roles
KINDS = {"supervisor": ("department",), "enterprise": ("self",)}
'''
    found = role_lists_and_checks("probe.py", ast.parse(source))
    assert sorted(hit.split(": ", 1)[0] for hit in found) == [
        "probe.py:2", "probe.py:3", "probe.py:5", "probe.py:5", "probe.py:7"]


def test_every_action_names_known_roles_by_object_and_verb():
    for action, roles in permissions.ACTIONS.items():
        obj, _, verb = action.partition(".")
        assert obj and verb, action
        assert roles and roles <= ROLE_NAMES, action


def test_allows_reads_the_table():
    assert permissions.allows("supervisor", "hazard.verify")
    assert not permissions.allows("enterprise", "hazard.verify")
    assert not permissions.allows(None, "hazard.verify")
    assert permissions.roles_allowed("hazard.notified_of_major") == ("tenant_admin", "supervisor")
    with pytest.raises(KeyError):
        permissions.allows("supervisor", "hazard.no_such_thing")


def test_a_route_declares_an_action_of_the_table():
    @requires("report.request")
    def view():
        pass

    assert view._anjian_policy.roles == permissions.ACTIONS["report.request"]
    assert view._anjian_policy.action == "report.request"
    with pytest.raises(ValueError):
        requires("report.no_such_thing")
