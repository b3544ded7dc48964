"""Discovery for plugin authors: every hook with its signature (``anjian plugins hooks``)
and a working plugin skeleton with one test (``anjian plugins new NAME``)."""

from __future__ import annotations

import inspect
import keyword
import re
from pathlib import Path

from anjian.plugins import hookspecs
from anjian.plugins.catalogue import ENTRY_TYPES

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


def hooks() -> list[dict]:
    """Every hookspec, in declaration order: name, signature, kind and its docstring."""
    out = []
    for name, fn in vars(hookspecs).items():
        options = getattr(fn, f"{hookspecs.PROJECT}_spec", None)
        if not callable(fn) or options is None:
            continue
        catalogue = name.startswith("register_") or name == "settings_schema"
        out.append({
            "name": name,
            "signature": f"{name}{inspect.signature(fn)}",
            "kind": "catalogue" if catalogue else "policy",
            "firstresult": bool(options.get("firstresult")),
            "returns": ENTRY_TYPES[name].__name__ if name in ENTRY_TYPES else None,
            "doc": inspect.getdoc(fn) or "",
        })
    return out


def hook_lines() -> list[str]:
    """``hooks()`` as the lines ``anjian plugins hooks`` prints."""
    lines = []
    for hook in hooks():
        flags = [hook["kind"]] + (["firstresult"] if hook["firstresult"] else [])
        if hook["returns"]:
            flags.append(f"returns plugin_api.{hook['returns']}")
        lines.append(f"{hook['signature']}\t[{', '.join(flags)}]\t{hook['doc']}")
    return lines


class ScaffoldError(ValueError):
    """The skeleton cannot be written (a bad name, a folder already there)."""


def check_name(name: str) -> None:
    if not NAME_RE.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(f"插件名须为小写字母开头的 Python 模块名（如 anjian_example_town）: {name!r}")


def write_skeleton(name: str, parent: Path) -> Path:
    """Write ``<parent>/<name with '-'>/``: a pip-installable plugin (entry point ``anjian``)
    with a settings schema, a campaign kind, a policy hook, a route and one test on the
    fixtures of ``anjian.testing``. Returns the folder."""
    check_name(name)
    folder = Path(parent) / name.replace("_", "-")
    if folder.exists():
        raise ScaffoldError(f"目录已存在: {folder}")
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{name}/__init__.py": PLUGIN,
        "tests/conftest.py": CONFTEST,
        f"tests/test_{name}.py": TEST,
    }
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("{name}", name).replace("{dist}", name.replace("_", "-")),
                          encoding="utf-8")
    return folder


PYPROJECT = '''[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "An anjian plugin"
requires-python = ">=3.11"
dependencies = ["anjian", "marshmallow>=3.20"]

[project.entry-points.anjian]
{name} = "{name}"

[tool.setuptools]
packages = ["{name}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
'''

README = '''# {name}

An anjian plugin. `pip install -e .` next to anjian, enable it in a tenant file
(`plugins = ["{name}"]`), and restart anjian.

Tests: `pytest` (the fixtures of `anjian.testing` start a PostgreSQL of their own, or
use the database of `ANJIAN_TEST_DATABASE_URL`). The hooks: `anjian plugins hooks`.
'''

PLUGIN = '''"""{name}: an anjian plugin (imports anjian.plugin_api only)."""

from marshmallow import Schema, fields, validate

from anjian.plugin_api import CampaignKind, Phase, Route, hookimpl, local_today

# The plugin contract this plugin is written for.
PLUGIN_CONTRACT = 1

PLUGIN = "{name}"


class Settings(Schema):
    """What a tenant sets for this plugin (``[settings.{name}]`` in its tenant file)."""

    major_keywords = fields.List(fields.String(validate=validate.Length(min=1)),
                                 load_default=lambda: ["液化气钢瓶"])


@hookimpl
def settings_schema():
    return Settings


@hookimpl
def register_campaign_kinds():
    return [CampaignKind(key="{name}_campaign", title="专项整治", phases=(
        Phase(key="check", title="排查整治", rule="逐户排查，发现隐患限期整改"),
    ))]


@hookimpl
def grade_hazard(tenant, hazard):
    """A hazard naming one of the tenant's keywords is major; others are not ours."""
    text = f"{getattr(hazard, 'title', '')}{getattr(hazard, 'description', '')}"
    if any(word in text for word in tenant.settings[PLUGIN]["major_keywords"]):
        return "major"
    return None


def keywords(tenant):
    return {"today": local_today().isoformat(),
            "major_keywords": tenant.settings[PLUGIN]["major_keywords"]}


@hookimpl
def register_routes():
    return [Route(name="keywords", rule="keywords", view=keywords,
                  roles=("tenant_admin", "supervisor", "viewer"))]
'''

CONFTEST = '''import pytest


@pytest.fixture(scope="session")
def anjian_plugins():
    return ["{name}"]


@pytest.fixture
def anjian_tenant_spec():
    return {"code": "town", "plugins": ["{name}"],
            "settings": {"{name}": {"major_keywords": ["液化气钢瓶", "燃气"]}}}
'''

TEST = '''from stdnum.cn import uscc


def test_a_keyword_makes_a_hazard_major(anjian_clients):
    admin, supervisor = anjian_clients["tenant_admin"], anjian_clients["supervisor"]
    base = "91110000MA0000001"
    firm = admin.post("enterprises", json={"credit_code": base + uscc.calc_check_digit(base),
                                           "name": "示例餐馆"})
    assert firm.status_code == 201, firm.json
    major = supervisor.post("hazards", json={"enterprise_id": firm.json["id"],
                                             "title": "液化气钢瓶未使用专用储存间"})
    general = supervisor.post("hazards", json={"enterprise_id": firm.json["id"],
                                               "title": "灭火器压力不足"})
    assert (major.json["grade"], general.json["grade"]) == ("major", "general")
    route = anjian_clients["viewer"].get("plugins/{name}/keywords")
    assert route.status_code == 200 and route.json["major_keywords"] == ["液化气钢瓶", "燃气"]
    assert anjian_clients["enterprise"].get("plugins/{name}/keywords").status_code == 403
'''
