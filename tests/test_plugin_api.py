"""The public plugin API: every hook has a caller, plugins declare their contract,
plugins import ``anjian.plugin_api`` alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from anjian import plugin_api
from anjian.errors import PluginError
from anjian.plugins import hookspecs
from anjian.plugins.manager import PluginRegistry
from tests.conftest import cli_runner

ROOT = Path(__file__).parents[1]
CORE = ROOT / "platform" / "anjian"
# Where a hook is declared or implemented, not called.
NOT_CALLERS = {CORE / "plugins" / "hookspecs.py", CORE / "plugins" / "defaults.py"}
# What a core module calls a hook through: the tenant's caller, or the registry by name.
CALLS_BY_NAME = {"policy", "catalogue", "call", "catalogue_entries", "hook_entries"}


def _hookspec_names() -> set[str]:
    return {name for name, fn in vars(hookspecs).items()
            if callable(fn) and getattr(fn, f"{hookspecs.PROJECT}_spec", None) is not None}


def _called_hooks(tree: ast.AST) -> set[str]:
    """Hooks a module calls: ``<x>.hook.NAME``, ``hook.NAME`` (a caller's ``.hook`` kept in a
    variable) and ``context.policy("NAME", ...)`` / ``context.catalogue("NAME")`` /
    ``registry.call(..., "NAME")`` / ``catalogue_entries("NAME")`` / ``hook_entries("NAME")``."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            if (isinstance(owner, ast.Attribute) and owner.attr == "hook") or (
                    isinstance(owner, ast.Name) and owner.id in {"hook", "listening"}):
                out.add(node.attr)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in CALLS_BY_NAME:
                out.update(a.value for a in node.args
                           if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return out


def test_every_hookspec_has_a_caller_in_the_core():
    called: set[str] = set()
    for path in CORE.rglob("*.py"):
        if path in NOT_CALLERS or "migrations" in path.parts:
            continue
        called |= _called_hooks(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    specs = _hookspec_names()
    uncalled = sorted(specs - called)
    assert not uncalled, (f"hookspecs no core module calls: {uncalled} (remove them, or call "
                          "them where the core decides)")
    assert {"permit_approvals", "register_permit_kinds"} <= called  # issue 20: back with callers


def test_the_caller_scan_sees_a_dead_hook():
    tree = ast.parse("def f(context):\n    context.policy('grade_hazard', hazard=None)\n"
                     "    pm.hook.on_overdue(tenant=tenant, item=None)\n")
    assert _called_hooks(tree) == {"grade_hazard", "on_overdue"}
    assert "task_deadline" not in _called_hooks(ast.parse("'task_deadline'"))


# --- the contract version -----------------------------------------------------------------


def test_the_five_plugins_declare_the_contract_they_target():
    registry = PluginRegistry()
    for name in ("anjian_changshu", "anjian_jinbei", "anjian_qinhuangdao", "anjian_shenyang",
                 "anjian_tianjin_hebei"):
        assert registry.plugins[name].PLUGIN_CONTRACT == plugin_api.CONTRACT_VERSION


@pytest.fixture
def module_plugin(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    names = []

    def write(name: str, declaration: str) -> str:
        (tmp_path / f"{name}.py").write_text(
            f"from anjian.plugin_api import hookimpl\n{declaration}\n\n"
            "@hookimpl\ndef task_deadline(task_kind):\n    return 3\n", encoding="utf-8")
        names.append(name)
        return name

    yield write
    import sys

    for name in names:
        sys.modules.pop(name, None)


def test_a_plugin_for_another_contract_is_refused_with_a_clear_message(module_plugin):
    name = module_plugin("anjian_test_future", "PLUGIN_CONTRACT = 99")
    with pytest.raises(PluginError) as raised:
        PluginRegistry(extra_modules=[name], use_entry_points=False)
    message = str(raised.value)
    assert "插件 anjian_test_future 针对插件契约版本 99" in message
    assert f"本 anjian 提供版本 {plugin_api.CONTRACT_VERSION}" in message
    assert "plugin anjian_test_future targets plugin contract version 99" in message


def test_a_loaded_plugin_without_a_contract_is_refused(module_plugin):
    name = module_plugin("anjian_test_undeclared", "")
    with pytest.raises(PluginError, match=r"anjian_test_undeclared 未声明.*PLUGIN_CONTRACT = 1"):
        PluginRegistry(extra_modules=[name], use_entry_points=False)
    ok = module_plugin("anjian_test_declared", "PLUGIN_CONTRACT = 1")
    assert list(PluginRegistry(extra_modules=[ok], use_entry_points=False).plugins) == [ok]


def test_a_run_time_plugin_declaring_another_contract_is_refused():
    registry = PluginRegistry(use_entry_points=False)

    class Future:
        PLUGIN_CONTRACT = 2

        @plugin_api.hookimpl
        def task_deadline(self, task_kind):
            return 3

    with pytest.raises(PluginError, match="targets plugin contract version 2"):
        registry.register("test_future", Future())
    assert "test_future" not in registry.plugins


# --- typed catalogue entries --------------------------------------------------------------


def _startup_with(module_plugin, name: str, body: str) -> PluginError:
    module_plugin(name, "PLUGIN_CONTRACT = 1\nfrom anjian.plugin_api import *  # noqa\n" + body)
    with pytest.raises(PluginError) as raised:
        PluginRegistry(extra_modules=[name], use_entry_points=False)
    return raised.value


def test_an_invalid_entry_stops_startup_naming_plugin_entry_and_field(module_plugin):
    error = _startup_with(module_plugin, "anjian_test_bad_phase", """
@hookimpl
def register_campaign_kinds():
    return [CampaignKind(key="bad_dates", title="日期有误", phases=(
        Phase(key="one", title="第一阶段", start="2025-03-01", end="2025-05-31"),
        Phase(key="two", title="第二阶段", start="2025-13-01"),
    ))]
""")
    message = str(error)
    assert "插件 anjian_test_bad_phase" in message
    assert "register_campaign_kinds 'bad_dates'" in message
    assert "field phases[1].start" in message
    assert isinstance(error.__cause__, plugin_api.CatalogueError)
    assert (error.__cause__.plugin, error.__cause__.entry, error.__cause__.field) == (
        "anjian_test_bad_phase", "bad_dates", "phases[1].start")


@pytest.mark.parametrize(("body", "field"), [
    ("register_checklist_templates():\n    return [ChecklistTemplate(key='t', title='表', items=("
     "ChecklistItem(code='1', text='甲'), ChecklistItem(code='1', text='乙')))]", "items[1].code"),
    ("register_report_kinds():\n    return [ReportKind(key='r_kind', title='报表', formats=('pdf',),"
     " parameters=__import__('marshmallow').Schema, compute=print)]", "html"),
    ("register_schedules():\n    return [Schedule(key='s', cron='0 25 * * *', queue='default',"
     " function='a.b')]", "cron"),
    ("register_import_profiles():\n    return [ImportProfile(key='p', title='模板', aliases={'name': ()})]",
     "aliases['name']"),
    ("register_campaign_kinds():\n    return [CampaignKind(key='k', title='行动', phases=())]",
     "phases"),
])
def test_every_catalogue_hook_is_typed_and_checked(module_plugin, body, field):
    error = _startup_with(module_plugin, f"anjian_test_bad_{field.split('[')[0]}",
                          f"@hookimpl\ndef {body}\n")
    assert f"field {field}:" in str(error)


@pytest.mark.parametrize(("body", "entry", "field"), [
    ("register_campaign_kinds():\n    return [{'key': 'as_dict', 'title': '行动', 'phases': ["
     "{'key': 'p', 'title': '排查'}]}]", "as_dict", "CampaignKind"),
    ("register_campaign_kinds():\n    return [CampaignKind(key='half', title='行动', phases=("
     "Phase(key='p', title='排查'), {'key': 'q', 'title': '整改'}))]", "half", "phases[1]"),
    ("register_checklist_templates():\n    return [ChecklistTemplate(key='tpl', title='表', items=("
     "{'code': '1', 'text': '甲'},))]", "tpl", "items[0]"),
    ("register_report_kinds():\n    return [ReportKind(key='weekly', title='周报', formats=('json',),"
     " parameters=__import__('marshmallow').Schema, compute=print, schedule={'cron': '0 9 * * 1',"
     " 'params': print, 'format': 'json'})]", "weekly", "schedule"),
    ("register_schedules():\n    return [{'key': 'nightly', 'cron': '0 1 * * *', 'queue': 'default',"
     " 'function': 'a.b'}]", "nightly", "Schedule"),
])
def test_a_dict_is_refused_where_a_typed_entry_belongs(module_plugin, body, entry, field):
    """The catalogue is typed all the way down: a dict, even of valid fields, stops the
    start-up naming the plugin, the entry and where the dict is."""
    name = f"anjian_test_dict_{entry}"
    error = _startup_with(module_plugin, name, f"@hookimpl\ndef {body}\n")
    assert f"插件 {name}" in str(error) and f"field {field}:" in str(error)
    assert "dict" in str(error)
    assert (error.__cause__.plugin, error.__cause__.entry, error.__cause__.field) == (
        name, entry, field)


def test_typed_entries_reach_the_core_as_the_dicts_it_reads(module_plugin):
    name = module_plugin("anjian_test_typed", "PLUGIN_CONTRACT = 1\n"
                         "from anjian.plugin_api import CampaignKind, Milestone, Phase\n"
                         "@hookimpl\ndef register_campaign_kinds():\n"
                         "    return [CampaignKind(key='typed', title='类型化', year=2025,"
                         " focus=('燃气',), phases=(Phase(key='p', title='排查',"
                         " start='2025-03-01'),), milestones=(Milestone(date='2025-04-30',"
                         " rule='报送'),))]\n")
    registry = PluginRegistry(extra_modules=[name], use_entry_points=False)
    [kind] = registry.catalogue_entries("register_campaign_kinds", enabled=(name,))
    assert kind == {"key": "typed", "title": "类型化", "year": 2025, "focus": ["燃气"],
                    "phases": [{"key": "p", "title": "排查", "start": "2025-03-01", "end": None}],
                    "milestones": [{"date": "2025-04-30", "rule": "报送"}], "plugin": name}


# --- plugins import the plugin API alone ---------------------------------------------------

PLUGINS = ROOT / "plugins"
def internal_imports(path: Path) -> list[str]:
    """The ``anjian`` modules a file imports other than ``anjian.plugin_api`` (anywhere in
    it, function-local imports included)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "anjian" else [
                f"anjian.{alias.name}" for alias in node.names]
        else:
            continue
        out += [n for n in names if (n == "anjian" or n.startswith("anjian."))
                and n != "anjian.plugin_api"]
    return out


def test_plugins_import_only_the_plugin_api():
    assert len(list(PLUGINS.glob("anjian_*/**/*.py"))) >= 20
    offending = {}
    for path in sorted(PLUGINS.glob("anjian_*/**/*.py")):
        name = path.relative_to(PLUGINS).as_posix()
        if imports := internal_imports(path):
            offending[name] = imports
    assert not offending, f"plugin modules importing anjian beyond anjian.plugin_api: {offending}"


def test_the_import_scan_sees_every_form(tmp_path):
    path = tmp_path / "plugin.py"
    path.write_text("import anjian.extensions\nfrom anjian import db\nfrom anjian.plugin_api import"
                    " hookimpl\nimport anjian_other\ndef f():\n    from anjian.jobs import x\n",
                    encoding="utf-8")
    assert internal_imports(path) == ["anjian.extensions", "anjian.db", "anjian.jobs"]


# --- routes -------------------------------------------------------------------------------


def test_a_plugin_route_is_guarded_like_a_core_route(app, client, factory):
    from tests.conftest import bearer

    url = "/api/v1/tenants/{}/plugins/anjian_shenyang/deadlines"
    assert "plugin_anjian_shenyang.deadlines" in app.view_functions
    on = factory.tenant("sy-on", plugins=["anjian_shenyang"],
                        settings={"anjian_shenyang": {"crackdown_end": "2024-05-22"}})
    off = factory.tenant("sy-off")
    _, admin = factory.user("sy-admin", {on: "tenant_admin", off: "tenant_admin"})
    _, company = factory.user("sy-company", {on: "enterprise"})
    r = client.get(url.format("sy-on"), headers=bearer(admin))
    assert r.status_code == 200, r.json
    items = {item["key"]: item for item in r.json["items"]}
    assert items["crackdown_end"] == {"key": "crackdown_end", "title": "集中攻坚结束",
                                      "due": "2024-05-22", "passed": True, "days_left": 0}
    assert items["planned_enterprises_deadline"]["enterprises"] == 16
    # The declared roles: an enterprise user is refused; no token is 401.
    assert client.get(url.format("sy-on"), headers=bearer(company)).status_code == 403
    assert client.get(url.format("sy-on")).status_code == 401
    # A tenant that has not enabled the plugin: as if the route did not exist.
    r = client.get(url.format("sy-off"), headers=bearer(admin))
    assert r.status_code == 404 and r.is_json
    # Reads only: the route declares GET.
    assert client.post(url.format("sy-on"), headers=bearer(admin), json={}).status_code == 405


def test_an_invalid_route_stops_startup(module_plugin):
    error = _startup_with(module_plugin, "anjian_test_bad_route", """
@hookimpl
def register_routes():
    return [Route(name="x", rule="/absolute", view=print, roles=("viewer",))]
""")
    assert "register_routes 'x'" in str(error)  # a route is named by its name
    assert "field rule:" in str(error) and "anjian_test_bad_route" in str(error)


# --- discovery: anjian plugins hooks, anjian plugins new -----------------------------------


def test_plugins_hooks_lists_every_hook_with_its_signature(tmp_path):
    import inspect

    from anjian.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@/none?host=/nowhere",
                      "ANJIAN_DATA_DIR": str(tmp_path)})
    result = cli_runner(app).invoke(args=["plugins", "hooks"])
    assert result.exit_code == 0, result.output
    lines = {line.split("(")[0]: line for line in result.output.splitlines()}
    specs = {name: fn for name, fn in vars(hookspecs).items() if name in _hookspec_names()}
    assert set(lines) == set(specs)
    for name, fn in specs.items():
        assert lines[name].startswith(f"{name}{inspect.signature(fn)}\t"), lines[name]
    assert "[policy, firstresult]" in lines["grade_hazard"]
    assert "returns plugin_api.CampaignKind" in lines["register_campaign_kinds"]


def test_plugins_new_writes_a_plugin_whose_test_passes(tmp_path, postgres_admin_url):
    import os
    import subprocess
    import sys

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from anjian.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@/none?host=/nowhere",
                      "ANJIAN_DATA_DIR": str(tmp_path)})
    runner = cli_runner(app)
    result = runner.invoke(args=["plugins", "new", "anjian_demo_town", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "anjian-demo-town"
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == {
        "pyproject.toml", "README.md", "anjian_demo_town/__init__.py", "tests/conftest.py",
        "tests/test_anjian_demo_town.py"}
    assert internal_imports(folder / "anjian_demo_town" / "__init__.py") == []
    again = runner.invoke(args=["plugins", "new", "anjian_demo_town", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "目录已存在" in again.output
    assert runner.invoke(args=["plugins", "new", "Bad-Name"]).exit_code == 2

    # Its test, in a pytest of its own, on the fixtures anjian ships (a database of its own).
    name = f"skeleton_{os.getpid()}"
    engine = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_", "ANJIAN_"))}
        env["ANJIAN_TEST_DATABASE_URL"] = url
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                             cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "1 passed" in run.stdout
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


# --- policy hooks get read-only views -----------------------------------------------------


def test_policy_hooks_receive_read_only_views_not_entities():
    from anjian.hazards.models import Hazard
    from anjian.inspections.models import ChecklistItem
    from anjian.plugins.views import RowView, TenantInfo

    seen = {}

    class Recorder:
        @plugin_api.hookimpl
        def grade_hazard(self, hazard, checklist_item):
            seen["hazard"], seen["item"] = hazard, checklist_item
            with pytest.raises(AttributeError, match="read-only"):
                hazard.grade = "major"
            with pytest.raises(AttributeError, match="no attribute 'nothing'"):
                _ = hazard.nothing
            return "major" if checklist_item.is_major_criterion else None

    registry = PluginRegistry(use_entry_points=False)
    registry.register("test_recorder", Recorder())
    tenant = TenantInfo(id=1, code="t", name="测试", level="street", plugins=("test_recorder",))
    hazard = Hazard(title="配电箱未接地", description="一楼", enterprise_id=3)
    item = ChecklistItem(code="1", text="配电箱接地", is_major_criterion=True)
    assert registry.call(tenant, "grade_hazard", hazard=hazard, checklist_item=item) == "major"
    assert isinstance(seen["hazard"], RowView) and isinstance(seen["item"], RowView)
    assert (seen["hazard"].title, seen["hazard"].enterprise_id) == ("配电箱未接地", 3)
    assert hazard.grade is None  # the entity itself never reached the plugin
    # Lists of entities become lists of views; plain values pass as they are.
    from anjian.plugins.views import view_of

    assert [type(v) for v in view_of([hazard, item])] == [RowView, RowView]
    assert view_of(tenant) is tenant and view_of(3) == 3


# --- the import contracts (import-linter) ---------------------------------------------------


def test_the_import_contracts_hold():
    import shutil
    import subprocess

    lint = shutil.which("lint-imports", path=str(Path(__import__("sys").executable).parent))
    assert lint, "import-linter is in the test extra (pyproject.toml)"
    run = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "3 kept, 0 broken" in run.stdout


def test_the_plugin_contract_forbids_every_module_but_the_plugin_api():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    forbidden = set(next(c for c in contracts if c["name"].startswith("Plugins import"))
                    ["forbidden_modules"])
    modules = {f"anjian.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__"}
    modules |= {f"anjian.{p.parent.name}" for p in CORE.glob("*/__init__.py")}
    assert forbidden == modules - {"anjian.plugin_api"}


WRITE_ROUTE_PLUGIN = """
from anjian.plugin_api import Refused, Route, hookimpl

PLUGIN_CONTRACT = 1


def echo(tenant, body, query, item_id):
    if not body.get("note"):
        raise Refused("须填写说明", field="note")
    return {"tenant": tenant.code, "item": item_id, "note": body["note"], "query": query}


@hookimpl
def register_routes():
    return [Route(name="echo", rule="items/<int:item_id>/echo", view=echo, methods=("POST",),
                  roles=("tenant_admin", "supervisor"), summary="回显")]
"""


def test_a_plugin_write_route_gets_its_body_and_the_guards_write_rules(
        database, tmp_path, monkeypatch):
    from anjian.app import create_app
    from anjian.extensions import db, plugin_registry
    from anjian.tenancy import service
    from anjian.testing import make_user
    from tests.conftest import app_config, bearer

    (tmp_path / "anjian_test_writer.py").write_text(WRITE_ROUTE_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        app = create_app(app_config(database.fresh(), tmp_path, ANJIAN_PLUGINS="anjian_test_writer",
                                    ANJIAN_LOAD_ENTRY_POINTS=False))
        with app.app_context():
            for spec in ({"code": "wr-parent", "name": "上级", "level": "city",
                          "plugins": ["anjian_test_writer"]},
                         {"code": "wr", "name": "写入", "level": "district", "parent": "wr-parent",
                          "plugins": ["anjian_test_writer"]}):
                service.apply_spec(service.validate_spec(spec, "test", plugin_registry()),
                                   service.SyncReport())
            db.session.commit()
            ids = {t.code: t.id for t in db.session.scalars(db.select(service.Tenant))}
        _, admin = make_user(app, "wr-admin", ids["wr"], "tenant_admin")
        _, viewer = make_user(app, "wr-viewer", ids["wr"], "viewer")
        _, above = make_user(app, "wr-above", ids["wr-parent"], "tenant_admin")
        client = app.test_client()
        url = "/api/v1/tenants/wr/plugins/anjian_test_writer/items/7/echo"
        r = client.post(url, headers=bearer(admin), json={"note": "你好"}, query_string={"x": "1"})
        assert r.status_code == 200, r.json
        assert r.json == {"tenant": "wr", "item": 7, "note": "你好", "query": {"x": "1"}}
        refused = client.post(url, headers=bearer(admin), json={})
        assert refused.status_code == 422 and refused.json["errors"] == {"note": ["须填写说明"]}
        assert client.post(url, headers=bearer(viewer), json={"note": "x"}).status_code == 403
        # An ancestor tenant reads its descendants, never writes to them.
        assert client.post(url, headers=bearer(above), json={"note": "x"}).status_code == 403
        spec = client.get("/api/openapi.json").json
        operation = spec["paths"]["/api/v1/tenants/{tenant_code}/plugins/anjian_test_writer"
                                  "/items/{item_id}/echo"]["post"]
        assert "$ref" in operation["requestBody"]["content"]["application/json"]["schema"]
        assert operation["summary"] == "回显"
    finally:
        import sys

        sys.modules.pop("anjian_test_writer", None)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
