"""The plugin API: everything a plugin may import from anjian, and nothing else.

A plugin (``plugins/anjian_*`` or an outside package) imports this module alone;
the core can change underneath it as long as this module keeps its promises. A
test scans the built-in plugins and fails on any other ``anjian`` import.

What is here:

* ``hookimpl``, the marker of a hook implementation (the hooks: ``anjian
  plugins hooks`` or docs/plugins.md);
* ``CONTRACT_VERSION``: a plugin declares the version it targets as a module
  attribute, ``PLUGIN_CONTRACT = 1``; a plugin that declares another version (or
  none) is refused at load with a message naming it;
* the typed catalogue entries the ``register_*`` hooks return (``CampaignKind``
  with ``Phase`` and ``Milestone``, ``ChecklistTemplate`` with ``ChecklistItem``,
  ``ReportKind`` with ``EnteredFigure`` and ``ReportSchedule``, ``Schedule``,
  ``ImportProfile``, ``LedgerKind`` with ``LedgerField``, ``RiskCatalogue`` with
  ``RiskCatalogueEntry`` (a locality's typical risks, their default levels and controls,
  and the columns of the city's risk-reporting export), ``PermitKind`` with
  ``PermitGrade`` (a kind of dangerous work under a permit: its grades and validities,
  gas analysis, the certificates its workers hold), and ``Route``: an API route of the plugin under its tenant's
  prefix, with the roles that may call it), checked when the plugins load: an invalid entry stops the
  start-up with a ``PluginError`` naming the plugin, the entry and the field;
* notification channels (``register_channel_kinds``): ``ChannelKind`` (with ``SecretField``;
  its ``send`` gets an ``Outgoing`` holding the ``Message``, with an ``Attachment`` or a link,
  and raises, e.g. ``ChannelError``, when it did not leave), ``SmsProvider`` (the SMS
  interface a plugin fills with its provider) and ``CHANNEL_EVENTS`` (the events, code →
  label);
* ``TenantInfo``, what policy hooks learn about their tenant;
* the typed answers of policy hooks: ``LedgerDuty`` (``ledger_duties``: a duty over an
  enterprise's ledgers, per month, quarter, year or standing, with the criterion cited),
  ``StandardisationRules``, ``StandardisationProgramme``, ``SupervisionClass``,
  ``ApprovalStep`` (``permit_approvals``: an approval, a guardian or an acceptance a
  dangerous-work permit needs; ``APPROVAL_STAGES``);
* ``RowView``: what policy hooks receive instead of live ORM entities (a hazard, a
  campaign, an enterprise, a contract, an inspection, the actor): a read-only
  snapshot of the row's columns, read as attributes;
* ``context(tenant)``: the ``PluginContext`` of read helpers (campaigns as
  ``CampaignView``, counts and aggregates of hazards, referrals, inspections and
  entered figures, a service contract's cost table, the enterprises' ledger duties
  met, due or missed, their risk points by level and overdue risk inspections, their
  dangerous-work permits counted and whether a moment is a key time), so a plugin
  never touches the ORM; they read inside the
  scope the core set, the tenant's;
* the core's vocabularies, code → Chinese label: hazard ``GRADES``, ``STATES``
  (``OPEN_STATES``), ``SOURCES``; inspection ``ANSWERS``; enterprise ``SCALES`` and
  ``FLAGS``; and the services core's ``SPOT_CHECK_SUBJECT`` and ``uniform_sample``
  (its reproducible draw);
* the clock (``CHINA``, ``local_now``, ``local_today``: China's time) and
  working days (``add_workdays``, ``is_workday``, ``workdays_between``: the
  platform's holiday calendar);
* the errors a plugin raises: the domain errors of ``anjian.errors``
  (``NotFound``, ``Refused`` with per-field messages, ``Conflict``, ``Forbidden``,
  ``PreconditionFailed``, ``TooMany``, ``Unavailable``, ``Defect``, ...: an API
  request answers problem+json, a job fails, with the same Chinese message) and
  ``JobError`` (a job fails with its message); ``PluginError`` and
  ``CatalogueError`` are what the core raises about a plugin.
"""

from __future__ import annotations

from anjian.channels.kinds import EVENTS as CHANNEL_EVENTS
from anjian.channels.kinds import (
    Attachment,
    ChannelError,
    ChannelKind,
    Message,
    Outgoing,
    SecretField,
    SmsProvider,
)
from anjian.clock import CHINA, local_now, local_today
from anjian.enterprises.models import FLAGS, SCALES
from anjian.errors import (
    Conflict,
    Defect,
    DomainError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Refused,
    TooLarge,
    TooMany,
    Unavailable,
    UnsupportedType,
)
from anjian.hazards.models import GRADES, OPEN_STATES, SOURCES, STATES
from anjian.inspections.models import ANSWERS
from anjian.jobs.service import JobError
from anjian.plugins.catalogue import (
    CampaignKind,
    CatalogueError,
    ChecklistItem,
    ChecklistTemplate,
    EnteredFigure,
    ImportProfile,
    LedgerField,
    LedgerKind,
    Milestone,
    PermitGrade,
    PermitKind,
    Phase,
    ReportKind,
    ReportSchedule,
    RiskCatalogue,
    RiskCatalogueEntry,
    Route,
    Schedule,
)
from anjian.plugins.context import CampaignView, ContractView, InspectionCount, PluginContext
from anjian.plugins.hookspecs import CONTRACT_VERSION, hookimpl
from anjian.plugins.manager import PluginError, TenantInfo
from anjian.plugins.views import (
    APPROVAL_STAGES,
    ApprovalStep,
    LedgerDuty,
    RowView,
    StandardisationProgramme,
    StandardisationRules,
    SupervisionClass,
)
from anjian.services.costs import COST_HEADERS, cost_rows
from anjian.services.spot_checks import SPOT_CHECK_SUBJECT, uniform_sample
from anjian.workdays.service import add_workdays, is_workday, workdays_between

__all__ = [
    "ANSWERS",
    "APPROVAL_STAGES",
    "CHANNEL_EVENTS",
    "CHINA",
    "CONTRACT_VERSION",
    "COST_HEADERS",
    "FLAGS",
    "GRADES",
    "OPEN_STATES",
    "SCALES",
    "SOURCES",
    "SPOT_CHECK_SUBJECT",
    "STATES",
    "ApprovalStep",
    "Attachment",
    "CampaignKind",
    "CampaignView",
    "CatalogueError",
    "ChannelError",
    "ChannelKind",
    "ChecklistItem",
    "ChecklistTemplate",
    "Conflict",
    "ContractView",
    "Defect",
    "DomainError",
    "EnteredFigure",
    "Forbidden",
    "ImportProfile",
    "InspectionCount",
    "JobError",
    "LedgerDuty",
    "LedgerField",
    "LedgerKind",
    "Message",
    "Milestone",
    "NotFound",
    "Outgoing",
    "PermitGrade",
    "PermitKind",
    "Phase",
    "PluginContext",
    "PluginError",
    "PreconditionFailed",
    "Refused",
    "ReportKind",
    "ReportSchedule",
    "RiskCatalogue",
    "RiskCatalogueEntry",
    "Route",
    "RowView",
    "Schedule",
    "SecretField",
    "SmsProvider",
    "StandardisationProgramme",
    "StandardisationRules",
    "SupervisionClass",
    "TenantInfo",
    "TooLarge",
    "TooMany",
    "Unavailable",
    "UnsupportedType",
    "add_workdays",
    "context",
    "cost_rows",
    "hookimpl",
    "is_workday",
    "local_now",
    "local_today",
    "uniform_sample",
    "workdays_between",
]


def context(tenant: TenantInfo | None = None) -> PluginContext:
    """The read helpers of ``tenant`` (the ``tenant`` a hook or a report's ``compute`` got).

    They read inside the tenant scope the core set; ``tenant`` is needed only by the
    helpers that ask the tenant's plugins again (``service_cost_table``), so a
    marshmallow validator, which has no tenant, may call ``context()``."""
    return PluginContext(tenant)
