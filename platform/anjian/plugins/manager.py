"""Loading plugins and building the per-tenant hook callers.

The registry lives on the Flask app (``app.extensions[anjian.extensions.PLUGINS_KEY]``),
never in a module global, so two apps (or two tests) never share plugins.
"""

from __future__ import annotations

import importlib
import os
import threading
from importlib.metadata import entry_points
from typing import Any

import pluggy
from marshmallow import Schema, ValidationError

from anjian.errors import PluginError, one_line
from anjian.plugins import catalogue, defaults, hookspecs
from anjian.plugins.views import TenantInfo, view_of

ENTRY_POINT_GROUP = "anjian"


def check_contract(name: str, plugin: Any, required: bool = True) -> None:
    """Refuse a plugin that targets another contract version than this anjian's.

    A plugin declares ``PLUGIN_CONTRACT = <version>`` (a module attribute). Loaded
    plugins must declare it; objects registered at run time (tests, embedding) that
    declare nothing are taken to target the current version.
    """
    declared = getattr(plugin, "PLUGIN_CONTRACT", None)
    if declared is None and not required:
        return
    if declared is None:
        raise PluginError(
            f"插件 {name} 未声明所针对的插件契约版本（PLUGIN_CONTRACT = {hookspecs.CONTRACT_VERSION}）"
            f" / plugin {name} does not declare the plugin contract version it targets "
            f"(PLUGIN_CONTRACT = {hookspecs.CONTRACT_VERSION})")
    if declared != hookspecs.CONTRACT_VERSION:
        raise PluginError(
            f"插件 {name} 针对插件契约版本 {declared!r}，本 anjian 提供版本 "
            f"{hookspecs.CONTRACT_VERSION}，拒绝加载 / plugin {name} targets plugin contract "
            f"version {declared!r}, this anjian provides version {hookspecs.CONTRACT_VERSION}: "
            "not loaded")


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


class PluginRegistry:
    """All loaded plugins, plus one cached hook caller per tenant."""

    def __init__(self, extra_modules: list[str] | tuple[str, ...] = (), use_entry_points=True):
        self.catalogue = _new_manager()
        self.catalogue.register(defaults, name="anjian.defaults")
        self.plugins: dict[str, Any] = {}
        if use_entry_points:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                self._add(ep.name, lambda ep=ep: ep.load())
        for module_name in extra_modules:
            module_name = module_name.strip()
            if module_name and module_name not in self.plugins:
                self._add(module_name, lambda m=module_name: importlib.import_module(m))
        self.catalogue.check_pending()
        self.check_catalogue()
        self._tenant_callers: dict[int, tuple[tuple, pluggy.PluginManager]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, use_entry_points=True):
        extra = os.environ.get("ANJIAN_PLUGINS", "").split(",")
        return cls(extra_modules=[m for m in extra if m.strip()], use_entry_points=use_entry_points)

    def _add(self, name: str, load) -> None:
        try:
            module = load()
        except Exception as exc:  # an installed plugin that does not import is an operator error
            raise PluginError(f"插件 {name} 无法加载: {exc}") from exc
        check_contract(name, module)
        self.plugins[name] = module
        self.catalogue.register(module, name=name)

    def register(self, name: str, module: Any) -> None:
        """Register a plugin object at run time (tests, embedding).

        A plugin that does not validate (a misspelt hook, an unknown argument) is
        refused and leaves the registry as it was.
        """
        if name in self.plugins:
            raise PluginError(f"插件已加载: {name}")
        check_contract(name, module, required=False)
        try:
            self.catalogue.register(module, name=name)
            self.catalogue.check_pending()
        except Exception:
            if self.catalogue.is_registered(module):
                self.catalogue.unregister(module)
            raise
        self.plugins[name] = module
        with self._lock:
            self._tenant_callers.clear()

    # --- catalogue ---------------------------------------------------------

    def check_catalogue(self) -> None:
        """Type and check every catalogue entry of every loaded plugin (at start-up).

        An invalid entry raises ``PluginError`` naming the plugin, the hook, the entry
        and the field. Plugins registered later at run time (``register``) are checked
        where their entries are used.
        """
        for hook_name in catalogue.ENTRY_TYPES:
            for impl in getattr(self.catalogue.hook, hook_name).get_hookimpls():
                name = self.catalogue.get_name(impl.plugin)
                for entry in impl.function() or ():
                    try:
                        catalogue.checked(name, hook_name, entry)
                    except catalogue.CatalogueError as exc:
                        raise PluginError(str(exc)) from exc

    def catalogue_entries(self, hook_name: str, enabled: tuple[str, ...] | None = None):
        """Entries of a ``register_*`` hook, each tagged with its plugin's name.

        ``enabled`` limits the result to the core and the named plugins.
        """
        return [{**catalogue.as_entry(hook_name, entry), "plugin": name}
                for name, entry in self.hook_entries(hook_name, enabled)]

    def hook_entries(self, hook_name: str, enabled: tuple[str, ...] | None = None):
        """(plugin name, entry as the plugin gave it) of a ``register_*`` hook, the core's
        and, ``enabled`` given, only those plugins' (None: every loaded plugin's)."""
        for impl in getattr(self.catalogue.hook, hook_name).get_hookimpls():
            name = self.catalogue.get_name(impl.plugin)
            if enabled is not None and name != "anjian.defaults" and name not in enabled:
                continue
            for entry in impl.function() or ():
                yield name, entry

    def settings_schema(self, plugin_name: str) -> Schema | None:
        module = self.plugins.get(plugin_name)
        if module is None:
            raise PluginError(f"未知插件: {plugin_name}")
        for impl in self.catalogue.hook.settings_schema.get_hookimpls():
            if impl.plugin is module:
                schema = impl.function()
                return schema() if isinstance(schema, type) else schema
        return None

    def validate_settings(self, plugin_name: str, values: dict) -> dict:
        """Validate one plugin's settings for a tenant; raises PluginError naming the key."""
        schema = self.settings_schema(plugin_name)
        if schema is None:
            if values:
                raise PluginError(f"插件 {plugin_name} 不接受设置项: {sorted(values)}")
            return {}
        try:
            return schema.load(values or {})
        except ValidationError as exc:
            raise PluginError(f"插件 {plugin_name} 的设置无效：{one_line(exc.messages)}") from exc

    # --- per-tenant callers ------------------------------------------------

    def for_tenant(self, tenant: TenantInfo) -> pluggy.PluginManager:
        """The hook caller of one tenant: the core defaults plus its enabled plugins.

        Built once per tenant version and cached; a changed tenant (other plugins
        or settings) gets a new caller, an unchanged one never does.
        """
        key = (tenant.plugins, repr(sorted(tenant.settings.items())))
        with self._lock:
            cached = self._tenant_callers.get(tenant.id)
            if cached and cached[0] == key:
                return cached[1]
            pm = _new_manager()
            pm.register(defaults, name="anjian.defaults")
            for name in tenant.plugins:
                if name not in self.plugins:
                    raise PluginError(f"租户 {tenant.code} 启用了未安装的插件: {name}")
                pm.register(self.plugins[name], name=name)
            pm.check_pending()
            self._tenant_callers[tenant.id] = (key, pm)
            return pm

    def tenant_info(self, tenant) -> TenantInfo:
        """A Tenant row as policy hooks see it, its settings validated by each enabled
        plugin's schema (a TenantInfo is returned as it is)."""
        if isinstance(tenant, TenantInfo):
            return tenant
        settings = {name: self.validate_settings(name, tenant.settings.get(name, {}))
                    for name in tenant.plugins}
        return TenantInfo(tenant.id, tenant.code, tenant.name, tenant.level,
                          tuple(tenant.plugins), settings)

    def call(self, tenant: TenantInfo, hook_name: str, **kwargs):
        """Call a policy hook for a tenant (keyword arguments only); entities are given
        as read-only views (``anjian.plugins.views``), never live."""
        kwargs = {name: view_of(value) for name, value in kwargs.items()}
        return getattr(self.for_tenant(tenant).hook, hook_name)(tenant=tenant, **kwargs)
