"""Plugins: loading, catalogue and policy hooks, per-tenant callers, outside packages, docs."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
import types
from pathlib import Path

import pluggy
import pytest

from anjian.errors import PluginError
from anjian.plugin_api import hookimpl
from anjian.plugins import hookspecs
from anjian.plugins.manager import PluginRegistry
from anjian.plugins.views import TenantInfo
from tests.conftest import cli_runner

ROOT = Path(__file__).parents[1]
# Apps that never connect: create_app opens no connection.
NO_DATABASE = "postgresql+psycopg://nobody@/none?host=/nonexistent"
FIVE = ("anjian_changshu", "anjian_jinbei", "anjian_qinhuangdao", "anjian_shenyang",
        "anjian_tianjin_hebei")


def info(plugins=(), settings=None, id=1, code="ta"):
    return TenantInfo(id=id, code=code, name=f"租户{code}", level="street",
                      plugins=tuple(plugins), settings=settings or {})


@pytest.fixture(scope="module")
def registry():
    """The installed plugins, loaded through the entry-point group (read-only use)."""
    return PluginRegistry()


def fresh_registry():
    return PluginRegistry()


class MajorEverything:
    """A test plugin: every hazard is major."""

    @hookimpl
    def grade_hazard(self, hazard, checklist_item):
        return "major"


class NotMine:
    """A test plugin that never decides."""

    @hookimpl
    def grade_hazard(self, hazard):
        return None


@pytest.fixture
def clean_modules():
    """Forget modules a test imported from tmp_path, so the next test starts clean."""
    names = []
    yield names
    for name in names:
        sys.modules.pop(name, None)


# --- catalogue hooks ----------------------------------------------------------


def test_the_five_plugins_load_from_entry_points(registry):
    assert set(FIVE) <= set(registry.plugins)
    for name in FIVE:
        assert registry.plugins[name].__name__ == name
        assert registry.settings_schema(name) is not None


def test_catalogue_hooks_are_called_on_all_plugins(registry):
    kinds = registry.catalogue_entries("register_campaign_kinds")
    by_plugin = {}
    for kind in kinds:
        by_plugin.setdefault(kind["plugin"], []).append(kind["key"])
    assert {p: len(keys) for p, keys in by_plugin.items() if p in FIVE} == dict.fromkeys(FIVE, 1)
    assert by_plugin["anjian_changshu"] == ["changshu_small_micro_standardisation_2019"]
    assert by_plugin["anjian_jinbei"] == ["jinbei_social_service"]
    assert by_plugin["anjian_qinhuangdao"] == ["qhd_social_service_2022"]
    assert by_plugin["anjian_shenyang"] == ["shenyang_small_industrial_crackdown_2024"]
    assert by_plugin["anjian_tianjin_hebei"] == ["hebei_major_hazards_2023"]
    for kind in kinds:
        assert kind["title"] and kind["phases"] and kind["focus"]


def test_catalogue_entries_limited_to_enabled_plugins(registry):
    kinds = registry.catalogue_entries("register_campaign_kinds",
                                       enabled=("anjian_jinbei", "anjian_changshu"))
    assert sorted(k["plugin"] for k in kinds) == ["anjian_changshu", "anjian_jinbei"]
    assert registry.catalogue_entries("register_campaign_kinds", enabled=()) == []


# --- policy hooks -------------------------------------------------------------


def test_policy_hooks_run_only_for_enabled_plugins(app, factory):
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant

    registry = app.extensions["anjian.plugins"]
    registry.register("test_major", MajorEverything())
    a = factory.tenant("ta", plugins=["test_major"])
    b = factory.tenant("tb", plugins=["anjian_jinbei"])
    with app.app_context():
        info_a = registry.tenant_info(db.session.get(Tenant, a))
        info_b = registry.tenant_info(db.session.get(Tenant, b))
    assert info_a.plugins == ("test_major",)
    hazard = types.SimpleNamespace(description="配电箱未接地")
    item = types.SimpleNamespace(text="配电箱接地", is_major_criterion=False)
    assert registry.call(info_a, "grade_hazard", hazard=hazard, checklist_item=item) == "major"
    assert registry.call(info_b, "grade_hazard", hazard=hazard, checklist_item=item) == "general"
    # Catalogue: the test plugin offers nothing, tenant B sees only Jinbei's kind.
    kinds = registry.catalogue_entries("register_campaign_kinds", enabled=info_b.plugins)
    assert [k["plugin"] for k in kinds] == ["anjian_jinbei"]


def test_core_default_is_trylast_and_none_falls_through():
    registry = fresh_registry()
    registry.register("test_major", MajorEverything())
    registry.register("test_not_mine", NotMine())
    major_item = types.SimpleNamespace(is_major_criterion=True)
    plain_item = types.SimpleNamespace(is_major_criterion=False)

    core = info(id=1)
    assert registry.call(core, "grade_hazard", hazard=None, checklist_item=major_item) == "major"
    assert registry.call(core, "grade_hazard", hazard=None, checklist_item=plain_item) == "general"

    # None means "not mine": the core's default still decides.
    not_mine = info(("test_not_mine",), id=2)
    assert registry.call(not_mine, "grade_hazard", hazard=None,
                         checklist_item=plain_item) == "general"
    assert registry.call(not_mine, "grade_hazard", hazard=None,
                         checklist_item=major_item) == "major"
    # A plugin's answer wins over the default, whichever order the tenant lists them in.
    for plugins in (("test_major",), ("test_not_mine", "test_major"),
                    ("test_major", "test_not_mine")):
        tenant = info(plugins, id=3)
        assert registry.call(tenant, "grade_hazard", hazard=None,
                             checklist_item=plain_item) == "major"
    pm = registry.for_tenant(info(("test_major",), id=4))
    impls = pm.hook.grade_hazard.get_hookimpls()
    assert pm.get_name(impls[0].plugin) == "anjian.defaults" and impls[0].trylast
    # The default rectification deadline: 10 working days for a general hazard.
    general = types.SimpleNamespace(grade="general")
    assert registry.call(core, "rectification_deadline", hazard=general, found_on=None) == 10


def test_policy_hooks_take_keyword_arguments_only(registry):
    pm = registry.for_tenant(info())
    with pytest.raises(TypeError):
        pm.hook.grade_hazard(info(), None, None)


def test_per_tenant_caller_is_built_once_and_rebuilt_on_change():
    registry = fresh_registry()
    registry.register("test_major", MajorEverything())
    settings = {"anjian_jinbei": registry.validate_settings("anjian_jinbei", {})}
    tenant = info(("anjian_jinbei",), settings, id=7)
    first = registry.for_tenant(tenant)
    assert registry.for_tenant(tenant) is first
    # An equal description of the same tenant (loaded again) gets the same caller.
    same = info(("anjian_jinbei",),
                {"anjian_jinbei": registry.validate_settings("anjian_jinbei", {})}, id=7)
    assert registry.for_tenant(same) is first
    assert isinstance(first, pluggy.PluginManager)

    other_plugins = info(("anjian_jinbei", "test_major"), settings, id=7)
    second = registry.for_tenant(other_plugins)
    assert second is not first
    assert registry.for_tenant(other_plugins) is second

    changed = {"anjian_jinbei": registry.validate_settings("anjian_jinbei",
                                                           {"subsidy_years": 2})}
    third = registry.for_tenant(info(("anjian_jinbei", "test_major"), changed, id=7))
    assert third is not second
    # Another tenant with the same plugins has a caller of its own.
    assert registry.for_tenant(info(("anjian_jinbei",), settings, id=8)) is not first


def test_tenant_policy_is_cached_across_loads_of_the_tenant(app, factory):
    from anjian.context import Context
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant

    def caller():
        return Context.for_system(db.session.get(Tenant, a)).caller

    a = factory.tenant("ta", plugins=["anjian_jinbei"])
    with app.app_context():
        pm1 = caller()
    with app.app_context():
        pm2 = caller()
    assert pm1 is pm2
    factory.tenant("ta", plugins=["anjian_jinbei"],
                   settings={"anjian_jinbei": {"subsidy_years": 2}})
    with app.app_context():
        pm3 = caller()
    assert pm3 is not pm1


def test_enabled_plugin_that_is_not_installed_is_an_error():
    registry = fresh_registry()
    with pytest.raises(PluginError, match="anjian_nowhere"):
        registry.for_tenant(info(("anjian_nowhere",)))


# --- validation at registration -----------------------------------------------


def test_misspelled_hook_is_rejected_at_registration():
    registry = fresh_registry()

    class Misspelt:
        @hookimpl
        def grade_hazzard(self, hazard, checklist_item):
            return "major"

    with pytest.raises(pluggy.PluginValidationError, match="grade_hazzard"):
        registry.register("test_misspelt", Misspelt())
    # Refused whole: the registry is as it was, and still validates.
    assert "test_misspelt" not in registry.plugins
    assert not any(registry.catalogue.get_name(p) == "test_misspelt"
                   for p in registry.catalogue.get_plugins())
    registry.catalogue.check_pending()
    registry.register("test_major", MajorEverything())
    assert "test_major" in registry.plugins


def test_unknown_hook_argument_is_rejected():
    registry = fresh_registry()

    class WrongArgument:
        @hookimpl
        def grade_hazard(self, hazard, severity):
            return "major"

    with pytest.raises(pluggy.PluginValidationError):
        registry.register("test_wrong_argument", WrongArgument())
    assert "test_wrong_argument" not in registry.plugins


def test_misspelled_hook_in_a_module_stops_startup(tmp_path, monkeypatch, clean_modules):
    (tmp_path / "anjian_test_misspelt.py").write_text(textwrap.dedent("""
        from anjian.plugin_api import hookimpl

        PLUGIN_CONTRACT = 1

        @hookimpl
        def grade_hazzard(hazard):
            return "major"
    """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    clean_modules.append("anjian_test_misspelt")
    with pytest.raises(pluggy.PluginValidationError, match="grade_hazzard"):
        PluginRegistry(extra_modules=["anjian_test_misspelt"], use_entry_points=False)


def test_broken_plugin_module_is_named():
    with pytest.raises(PluginError, match="anjian_no_such_module"):
        PluginRegistry(extra_modules=["anjian_no_such_module"], use_entry_points=False)


# --- ANJIAN_PLUGINS -----------------------------------------------------------

MODULE_PLUGIN = """
from marshmallow import Schema, fields, validate

from anjian.plugin_api import hookimpl

PLUGIN_CONTRACT = 1


class Settings(Schema):
    rectification_workdays = fields.Integer(load_default=5, validate=validate.Range(min=1))


@hookimpl
def settings_schema():
    return Settings


@hookimpl
def rectification_deadline(tenant, hazard):
    return tenant.settings["{name}"]["rectification_workdays"]
"""


def test_anjian_plugins_loads_a_module_by_name(tmp_path, monkeypatch, clean_modules):
    name = "anjian_test_by_name"
    (tmp_path / f"{name}.py").write_text(MODULE_PLUGIN.replace("{name}", name), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    clean_modules.append(name)

    registry = PluginRegistry(extra_modules=[name], use_entry_points=False)
    assert list(registry.plugins) == [name]
    settings = {name: registry.validate_settings(name, {})}
    assert settings[name] == {"rectification_workdays": 5}
    tenant = info((name,), settings)
    assert registry.call(tenant, "rectification_deadline", hazard=None, found_on=None) == 5

    # The environment variable, as the app reads it (names may carry spaces).
    monkeypatch.setenv("ANJIAN_PLUGINS", f" {name} ,")
    from_env = PluginRegistry.from_environment(use_entry_points=True)
    assert name in from_env.plugins and set(FIVE) <= set(from_env.plugins)

    from anjian.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": NO_DATABASE, "ANJIAN_DATA_DIR": str(tmp_path),
                      "ANJIAN_PLUGINS": name, "ANJIAN_LOAD_ENTRY_POINTS": False})
    assert list(app.extensions["anjian.plugins"].plugins) == [name]


# --- an outside package, installed on its own ---------------------------------

OUTSIDE_PACKAGE = '''
"""An outside locality: installed on its own, found through the entry-point group."""

from marshmallow import Schema, fields, validate

from anjian.plugin_api import CampaignKind, Phase, hookimpl

PLUGIN_CONTRACT = 1


class OutsideSettings(Schema):
    inspections_per_month = fields.Integer(load_default=4, validate=validate.Range(min=1))
    district = fields.String(load_default="示范区")


@hookimpl
def settings_schema():
    return OutsideSettings


@hookimpl
def register_campaign_kinds():
    return [CampaignKind(
        key="outside_demo_gas_2025",
        title="燃气安全专项整治",
        year=2025,
        phases=(Phase(key="check", title="排查", start="2025-03-01", end="2025-05-31",
                      rule="逐户排查燃气报警器"),),
        focus=("燃气报警器",),
    )]


@hookimpl
def grade_hazard(hazard):
    if "燃气" in getattr(hazard, "description", ""):
        return "major"
    return None
'''


@pytest.fixture
def outside_package(tmp_path, monkeypatch, clean_modules):
    """A package with its own dist-info (what pip install leaves), on sys.path only."""
    site = tmp_path / "site-packages"
    package = site / "anjian_outside_demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(OUTSIDE_PACKAGE, encoding="utf-8")
    dist_info = site / "anjian_outside_demo-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: anjian-outside-demo\nVersion: 0.1\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(
        "[anjian]\nanjian_outside_demo = anjian_outside_demo\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    clean_modules.append("anjian_outside_demo")
    return site


def test_outside_package_is_found_by_entry_point(outside_package):
    import anjian

    registry = PluginRegistry()
    assert "anjian_outside_demo" in registry.plugins
    assert set(FIVE) <= set(registry.plugins)
    module = registry.plugins["anjian_outside_demo"]
    assert Path(module.__file__).is_relative_to(outside_package)
    # Nothing of the core knows about it.
    core = Path(anjian.__file__).parent
    assert not any("anjian_outside_demo" in p.read_text(encoding="utf-8")
                   for p in core.rglob("*.py"))
    kinds = registry.catalogue_entries("register_campaign_kinds",
                                       enabled=("anjian_outside_demo",))
    assert [(k["key"], k["plugin"]) for k in kinds] == [
        ("outside_demo_gas_2025", "anjian_outside_demo")
    ]


def test_outside_package_without_install_is_not_loaded(registry):
    assert "anjian_outside_demo" not in registry.plugins


@pytest.mark.own_app  # the app must load the package installed just before
def test_outside_plugin_enabled_by_a_tenant_file(outside_package, app, runner, tmp_path):
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant

    folder = tmp_path / "tenants"
    folder.mkdir()
    (folder / "gas-town.toml").write_text(textwrap.dedent("""
        code = "gas-town"
        name = "示范镇应急办"
        level = "street"
        plugins = ["anjian_outside_demo"]

        [settings.anjian_outside_demo]
        inspections_per_month = 2
    """), encoding="utf-8")
    result = runner.invoke(args=["tenants", "sync", str(folder)])
    assert result.exit_code == 0, result.output
    assert "gas-town: created" in result.output

    registry = app.extensions["anjian.plugins"]
    with app.app_context():
        tenant = db.session.scalar(db.select(Tenant).where(Tenant.code == "gas-town"))
        assert tenant.settings == {"anjian_outside_demo": {"inspections_per_month": 2,
                                                           "district": "示范区"}}
        tinfo = registry.tenant_info(tenant)
    kinds = registry.catalogue_entries("register_campaign_kinds", enabled=tinfo.plugins)
    assert [k["key"] for k in kinds] == ["outside_demo_gas_2025"]
    gas = types.SimpleNamespace(description="燃气报警器缺失")
    assert registry.call(tinfo, "grade_hazard", hazard=gas, checklist_item=None) == "major"

    # A bad value is refused, naming the file and the key; nothing changes.
    (folder / "gas-town.toml").write_text(
        (folder / "gas-town.toml").read_text(encoding="utf-8").replace(
            "inspections_per_month = 2", "inspections_per_month = 0"), encoding="utf-8")
    result = runner.invoke(args=["tenants", "sync", str(folder)])
    assert result.exit_code == 2
    assert "gas-town.toml" in result.output
    assert "settings.anjian_outside_demo.inspections_per_month" in result.output
    with app.app_context():
        tenant = db.session.scalar(db.select(Tenant).where(Tenant.code == "gas-town"))
        assert tenant.settings["anjian_outside_demo"]["inspections_per_month"] == 2


# --- settings -----------------------------------------------------------------


def test_settings_defaults_applied_and_bad_values_named(registry):
    jinbei = registry.validate_settings("anjian_jinbei", {"subsidy_years": 4})
    assert jinbei["subsidy_years"] == 4
    assert jinbei["subsidy_per_year_yuan"] == 2000
    assert jinbei["subsidised_scales"] == ["规上", "限上"]
    with pytest.raises(PluginError, match="subsidy_per_year_yuan"):
        registry.validate_settings("anjian_jinbei", {"subsidy_per_year_yuan": -1})
    with pytest.raises(PluginError, match="subsidy_colour"):
        registry.validate_settings("anjian_jinbei", {"subsidy_colour": 1})
    with pytest.raises(PluginError, match="service_end"):
        registry.validate_settings("anjian_qinhuangdao", {"service_start": "2022-09-01",
                                                          "service_end": "2022-08-31"})
    with pytest.raises(PluginError, match="anjian_nowhere"):
        registry.validate_settings("anjian_nowhere", {})


def test_tenant_file_settings_validated_at_load(app, factory):
    from anjian.tenancy.service import TenantConfigError

    a = factory.tenant("ta", plugins=["anjian_shenyang"],
                       settings={"anjian_shenyang": {"drills_per_year": 3}})
    from anjian.extensions import db, plugin_registry
    from anjian.tenancy.models import Tenant

    with app.app_context():
        tinfo = plugin_registry().tenant_info(db.session.get(Tenant, a))
    assert tinfo.settings["anjian_shenyang"]["drills_per_year"] == 3
    assert tinfo.settings["anjian_shenyang"]["template_rule_count"] == 271
    import datetime

    # Loaded again through the schema: real dates for the plugin, not strings.
    assert tinfo.settings["anjian_shenyang"]["crackdown_start"] == datetime.date(2024, 5, 1)
    with pytest.raises(TenantConfigError) as exc:
        factory.tenant("tb", plugins=["anjian_shenyang"],
                       settings={"anjian_shenyang": {"crackdown_start": "2024-06-01"}})
    assert exc.value.key == "settings.anjian_shenyang.crackdown_end"


# --- the registry lives on the app --------------------------------------------


def _bare_app(tmp_path, name):
    from anjian.app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": NO_DATABASE,
                       "ANJIAN_DATA_DIR": str(tmp_path / name)})


def test_each_app_has_its_own_registry(tmp_path):
    one, two = _bare_app(tmp_path, "one"), _bare_app(tmp_path, "two")
    r1, r2 = one.extensions["anjian.plugins"], two.extensions["anjian.plugins"]
    assert r1 is not r2
    assert r1.catalogue is not r2.catalogue
    r1.register("test_major", MajorEverything())
    assert "test_major" in r1.plugins
    assert "test_major" not in r2.plugins
    assert r2.catalogue.get_plugin("test_major") is None
    with pytest.raises(PluginError):
        r2.for_tenant(info(("test_major",)))
    tenant = info(("test_major",))
    assert r1.call(tenant, "grade_hazard", hazard=None, checklist_item=None) == "major"
    assert r2.call(info(), "grade_hazard", hazard=None, checklist_item=None) == "general"


def test_plugins_list_command(tmp_path):
    app = _bare_app(tmp_path, "cli")
    result = cli_runner(app).invoke(args=["plugins", "list"])
    assert result.exit_code == 0, result.output
    listed = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert set(FIVE) <= set(listed)
    for name in FIVE:
        assert "register_campaign_kinds" in listed[name]
        assert "settings_schema" in listed[name]


# --- docs and specs stay in step ----------------------------------------------


def _hookspecs():
    return {name: fn for name, fn in vars(hookspecs).items()
            if callable(fn) and getattr(fn, f"{hookspecs.PROJECT}_spec", None) is not None}


def test_every_hook_is_documented_with_its_signature():
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    documented = {m["name"]: [a.strip() for a in m["args"].split(",") if a.strip()]
                  for m in re.finditer(r"^### `(?P<name>\w+)\((?P<args>[^)]*)\)`", docs, re.M)}
    specs = _hookspecs()
    assert len(specs) >= 19
    missing = sorted(set(specs) - set(documented))
    assert not missing, f"hooks without a section in docs/plugins.md: {missing}"
    stale = sorted(set(documented) - set(specs))
    assert not stale, f"docs/plugins.md documents hooks that do not exist: {stale}"
    for name, fn in specs.items():
        assert documented[name] == list(inspect.signature(fn).parameters), name


def test_every_hook_has_a_docstring_and_no_defaults():
    for name, fn in _hookspecs().items():
        assert (fn.__doc__ or "").strip(), name
        for param in inspect.signature(fn).parameters.values():
            assert param.default is inspect.Parameter.empty, f"{name}({param.name}=...)"
