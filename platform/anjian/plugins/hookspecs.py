"""The plugin contract (version 1).

Two kinds of hooks:

* **catalogue hooks** (``register_*``, ``settings_schema``) are called on every
  loaded plugin; they declare what a plugin offers (campaign kinds, templates,
  report kinds, ...). Every catalogue entry carries the plugin's name so that a
  tenant only sees entries of the plugins it enabled.
* **policy hooks** are called only on the plugins a tenant enabled, through the
  tenant's own caller (see ``manager.PluginRegistry.for_tenant``). The core's
  defaults (``anjian.plugins.defaults``) are registered ``trylast`` so a plugin
  overrides them; for ``firstresult`` hooks ``None`` means "not mine".

A catalogue hook returns the typed entries of ``anjian.plugin_api`` (a dict is
refused), checked when the plugins load. Hooks are always called with keyword
arguments. An implementation may accept
any subset of a hook's arguments, so new arguments can be added to a hook
without breaking plugins. Every hook is documented in docs/plugins.md; a test
keeps the two in step.

``tenant`` is an ``anjian.plugins.TenantInfo``: ``id``, ``code``, ``name``,
``level``, ``plugins`` and ``settings`` (validated, keyed by plugin name).
"""

import pluggy

PROJECT = "anjian"
CONTRACT_VERSION = 1

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- catalogue hooks: called on every loaded plugin -------------------------


@hookspec
def settings_schema():
    """Return the marshmallow Schema (class or instance) validating this plugin's tenant settings."""


@hookspec
def register_campaign_kinds():
    """Return campaign kinds (plugin_api.CampaignKind: key, title, phases, focus, milestones)."""


@hookspec
def register_checklist_templates():
    """Return checklist templates (plugin_api.ChecklistTemplate: key, title, version, items)."""


@hookspec
def register_report_kinds():
    """Return report kinds (plugin_api.ReportKind: key, title, formats, parameters, compute, ...)."""


@hookspec
def register_import_profiles():
    """Return import profiles (plugin_api.ImportProfile: key, title, a header → field mapping)."""


@hookspec
def register_ledger_kinds():
    """Return ledger kinds (plugin_api.LedgerKind: key, title, fields, expiry, reminders, evidence)."""



@hookspec
def register_risk_catalogues():
    """Return risk catalogues (plugin_api.RiskCatalogue: a locality's typical risks, levels, controls)."""


@hookspec
def register_permit_kinds():
    """Return permit kinds (plugin_api.PermitKind: a dangerous work's grades, validities, gas analysis)."""


@hookspec
def register_schedules():
    """Return recurring jobs (plugin_api.Schedule: key, cron in Asia/Shanghai, queue, function)."""


@hookspec
def register_channel_kinds():
    """Return notification channel kinds (plugin_api.ChannelKind) and SMS providers (plugin_api.SmsProvider)."""


@hookspec
def register_routes():
    """Return API routes (plugin_api.Route) under /api/v1/tenants/<code>/plugins/<plugin>/."""


# --- policy hooks: called on a tenant's enabled plugins ---------------------


@hookspec
def enterprise_extra_fields(tenant):
    """Return a dict of marshmallow fields a tenant's enterprises carry beyond the core ones."""


@hookspec(firstresult=True)
def grade_hazard(tenant, hazard, checklist_item):
    """Return "major" or "general" for a newly found hazard, or None to let others decide."""


@hookspec(firstresult=True)
def rectification_deadline(tenant, hazard, found_on):
    """Return the default rectification period in working days as an int, or None."""


@hookspec(firstresult=True)
def task_deadline(tenant, task_kind, start):
    """Return the deadline (working days as int) of a named task kind after ``start``, or None."""


@hookspec
def campaign_milestones(tenant, campaign):
    """Return dated milestones of a campaign: dicts with key, title, due (date) and remind_before."""


@hookspec(firstresult=True)
def select_spot_check_sample(tenant, subject, candidates, ratio, seed):
    """Return [(candidate, reason)] drawn for a spot check (抽查), reproducible from seed, or None."""


@hookspec
def on_inspection_completed(tenant, inspection, actor):
    """React to a submitted inspection or acceptance (a conclusion, a look-back, a delisting)."""


@hookspec(firstresult=True)
def select_campaign_targets(tenant, campaign, enterprises):
    """Return [(enterprise, reason)] chosen for a campaign from ``enterprises``, or None."""


@hookspec
def service_obligations(tenant, contract):
    """Return the obligations a service contract owes each served enterprise (list of dicts)."""


@hookspec
def ledger_duties(tenant):
    """Return the duties enterprises owe over their ledgers (plugin_api.LedgerDuty: a drill a year, ...)."""


@hookspec(firstresult=True)
def service_cost_shares(tenant, contract, enterprise, contract_year):
    """Return {"government": yuan, "enterprise": yuan} for one enterprise and contract year."""


@hookspec
def enforcement_candidates(tenant, campaign):
    """Return [(enterprise, reason)] that should be referred to enforcement in a campaign."""





@hookspec
def standardisation_transition(tenant, certification, enterprise, action, renewing):
    """Return the reasons (Chinese) that bar a standardisation step (a list, empty: none)."""


@hookspec(firstresult=True)
def standardisation_rules(tenant):
    """Return the tenant's standing standardisation rules (plugin_api.StandardisationRules), or None."""


@hookspec(firstresult=True)
def standardisation_programme(tenant, year):
    """Return the standardisation programme of a year (plugin_api.StandardisationProgramme), or None."""


@hookspec(firstresult=True)
def classify_enterprise(tenant, enterprise, certifications):
    """Return an enterprise's supervision class (plugin_api.SupervisionClass), or None."""


@hookspec(firstresult=True)
def permit_approvals(tenant, permit, key_time):
    """Return the approval steps a permit needs (plugin_api.ApprovalStep list), or None to leave it to others."""


@hookspec
def on_hazard_transition(tenant, hazard, from_state, to_state, actor):
    """React to a hazard changing state (notify the bureau of a major hazard, escalate, ...)."""


@hookspec
def on_overdue(tenant, item):
    """React to a hazard or task found overdue by the scheduled scan."""
