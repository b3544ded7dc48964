"""Plugins: the contract (``hookspecs``), loading (``manager``) and the core defaults."""

from anjian.plugins.hookspecs import hookimpl
from anjian.plugins.manager import PluginError, PluginRegistry, TenantInfo

__all__ = ["PluginError", "PluginRegistry", "TenantInfo", "hookimpl"]
