"""The plugin API: everything a plugin may import from anjian, and nothing else.

A plugin (``plugins/anjian_*`` or an outside package) imports this module alone;
the core can change underneath it as long as this module keeps its promises. A
test scans the built-in plugins and fails on any other ``anjian`` import.

What is here:

* ``hookimpl``, the marker of a hook implementation (the hooks: ``anjian
  plugins hooks`` or docs/plugins.md);
* ``CONTRACT_VERSION``: a plugin declares the version it targets as a module
  attribute, ``ANJIAN_CONTRACT = 1``; a plugin that declares another version (or
  none) is refused at load with a message naming it;
* the typed catalogue entries the ``register_*`` hooks return (``CampaignKind``
  with ``Phase`` and ``Milestone``, ``ChecklistTemplate`` with ``ChecklistItem``,
  ``ReportKind`` with ``EnteredFigure`` and ``ReportSchedule``, ``Schedule``,
  ``ImportProfile``), checked when the plugins load: an invalid entry stops the
  start-up with a ``PluginError`` naming the plugin, the entry and the field;
* ``TenantInfo``, what policy hooks learn about their tenant;
* the errors a plugin raises (``JobError``: a job fails with its Chinese message).
"""

from __future__ import annotations

from anjian.jobs.service import JobError
from anjian.plugins.catalogue import (
    CampaignKind,
    CatalogueError,
    ChecklistItem,
    ChecklistTemplate,
    EnteredFigure,
    ImportProfile,
    Milestone,
    Phase,
    ReportKind,
    ReportSchedule,
    Schedule,
)
from anjian.plugins.hookspecs import CONTRACT_VERSION, hookimpl
from anjian.plugins.manager import PluginError, TenantInfo

__all__ = [
    "CONTRACT_VERSION",
    "CampaignKind",
    "CatalogueError",
    "ChecklistItem",
    "ChecklistTemplate",
    "EnteredFigure",
    "ImportProfile",
    "JobError",
    "Milestone",
    "Phase",
    "PluginError",
    "ReportKind",
    "ReportSchedule",
    "Schedule",
    "TenantInfo",
    "hookimpl",
]
