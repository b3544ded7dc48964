"""Who may do what: one table of actions → the roles allowed, and nothing else.

The route guard reads it (``@requires("hazard.verify")`` on a view: the roles come
from here) and so do the services for their own role rules (who may verify a
hazard, which inspections a role does, who hears of a major hazard, whose
enterprises a role sees): ``allows(role, action)``. No other module lists roles.

Roles are the tenant roles of ``anjian.auth.models.TENANT_ROLES`` and three special
names for routes: ``public`` (no token), ``authenticated`` (any valid token) and
``platform_admin`` (who also acts as a tenant administrator in every tenant, and
whose access the guard gives as ``tenant_admin``). A tenant route lets the roles in
for reads and writes; a read-only access (an ancestor tenant's member) never writes.

An action is named by its domain object and a verb (``enterprise.import``).
"""

from __future__ import annotations

# Roles inside a tenant, with their Chinese names. platform_admin is a property of the
# user, not of a membership.
TENANT_ROLES = {
    "tenant_admin": "租户管理员",
    "supervisor": "监管人员",
    "service_org": "第三方服务机构",
    "enterprise": "企业用户",
    "viewer": "查看人员",
}
PUBLIC = "public"
AUTHENTICATED = "authenticated"
PLATFORM_ADMIN = "platform_admin"
# Whoever holds a valid access link (企业访问链接) of the route's tenant: no account, only
# the link routes. The services see a holder as this tenant role, acting for the link's
# one enterprise (whose hazards, which transitions, which kind of inspection).
LINK_HOLDER = "link_holder"
LINK_ACTS_AS = "enterprise"
ROLES = (PLATFORM_ADMIN, *TENANT_ROLES)
SPECIAL = frozenset({PUBLIC, AUTHENTICATED, PLATFORM_ADMIN, LINK_HOLDER})

# The groups the table is written with (a group is not a permission: ask the table).
_ALL = frozenset(TENANT_ROLES)  # every member of the tenant
_BUREAU = frozenset({"tenant_admin", "supervisor", "viewer"})  # the supervising department
_SUPERVISING = frozenset({"tenant_admin", "supervisor"})
_ADMIN = frozenset({"tenant_admin"})
_FIELD = frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"})  # who works
_BUREAU_AND_SERVICES = _BUREAU | {"service_org"}

ACTIONS: dict[str, frozenset[str]] = {
    # --- the platform -----------------------------------------------------------------
    "docs.read": frozenset({PUBLIC}),  # the OpenAPI document, Swagger UI and its assets
    "health.read": frozenset({PUBLIC}),
    "metrics.read": frozenset({PUBLIC}),  # the endpoint answers 404 unless enabled
    "file.download": frozenset({PUBLIC}),  # a signed, short-lived link is the credential
    "session.login": frozenset({PUBLIC}),
    "account.read": frozenset({AUTHENTICATED}),  # who am I, my memberships
    "token.manage": frozenset({AUTHENTICATED}),  # my own API tokens
    "account.password": frozenset({AUTHENTICATED}),  # change my own password (the current one given)
    "invitation.accept": frozenset({AUTHENTICATED}),  # join a tenant I was invited to, as myself
    "invitation.register": frozenset({PUBLIC}),  # the invitation's token is the credential
    "calendar.read": frozenset({AUTHENTICATED}),  # holidays, working-day deadlines
    "calendar.publish": frozenset({PLATFORM_ADMIN}),
    "tenant.list": frozenset({PLATFORM_ADMIN}),
    "tenant.create": frozenset({PLATFORM_ADMIN}),
    "tenant.update": frozenset({PLATFORM_ADMIN}),
    "user.manage": frozenset({PLATFORM_ADMIN}),
    "platform_audit.read": frozenset({PLATFORM_ADMIN}),
    "platform_job.manage": frozenset({PLATFORM_ADMIN}),  # every tenant's jobs, retried
    # --- a tenant ---------------------------------------------------------------------
    "tenant.read": _ALL,
    # a member of an ancestor tenant with one of these roles reads the tenant (as a viewer)
    "tenant.read_descendants": _BUREAU,
    "area.read": _ALL,
    "area.manage": _ADMIN,
    "member.manage": _ADMIN,
    "member.reset_password": _ADMIN,  # of a member of this tenant alone (the service's rule)
    "invitation.manage": _ADMIN,  # invite, list, revoke
    "audit.read": _ADMIN,
    # jobs: everybody reads the jobs they started; these read every job of the tenant
    "job.read": _ALL,
    "job.read_all": _SUPERVISING,
    "job.retry": _ADMIN,
    # enterprises, and whose of them a role sees
    "enterprise.read": _ALL,
    "enterprise.read_all": _BUREAU,  # the others: see below
    "enterprise.read_own": frozenset({"enterprise"}),  # acts for one enterprise, sees it only
    "enterprise.read_assigned": frozenset({"service_org"}),  # assigned or under contract
    "enterprise.write": _SUPERVISING,
    "enterprise.delete": _ADMIN,
    "enterprise.import": _SUPERVISING,
    "enterprise.export": _BUREAU,
    # campaigns
    "campaign.read": _ALL,
    "campaign.manage": _SUPERVISING,
    "campaign.be_assigned": frozenset({"supervisor", "service_org"}),  # a target's assignee
    "campaign_task.complete": _FIELD,
    # checklists, inspections, evidence
    "checklist.read": _ALL,
    "checklist.manage": _ADMIN,
    "inspection.read": _ALL,
    "inspection.conduct": _FIELD,
    # which kinds of inspection a role does (the first it has is its default) ...
    "inspection.conduct_department": _SUPERVISING,
    "inspection.conduct_service_org": frozenset({"service_org"}),
    "inspection.conduct_self": frozenset({"enterprise"}),
    "inspection.conduct_spot_check": _SUPERVISING,
    # ... and whose inspections it may fill in (an administrator any)
    "inspection.fill_department": _SUPERVISING,
    "inspection.fill_service_org": frozenset({"tenant_admin", "service_org"}),
    "inspection.fill_self": frozenset({"tenant_admin", "enterprise"}),
    "inspection.fill_spot_check": _SUPERVISING,
    "evidence.read": _ALL,
    "evidence.upload": _FIELD,
    # hazards: the routes ...
    "hazard.read": _ALL,
    "hazard.report": _FIELD,
    "hazard.update": _FIELD,
    "hazard.transition": _FIELD,  # which transition: the hazard.<transition> actions
    # ... the source a report takes from its reporter's role ...
    "hazard.report_as_department": _SUPERVISING,  # may name spot_check instead
    "hazard.report_as_service_org": frozenset({"service_org"}),
    "hazard.report_as_self": frozenset({"enterprise"}),
    # ... the transitions of the closed loop (overdue: the system alone) ...
    "hazard.plan": _FIELD,
    "hazard.rectify_now": frozenset({"tenant_admin", "supervisor", "enterprise"}),
    "hazard.rectified": _FIELD,
    "hazard.verify": _SUPERVISING,
    "hazard.reject": _SUPERVISING,
    "hazard.refer": _SUPERVISING,
    # ... regrading (重新定级, with a reason; whose: the enterprises the role sees): a service
    # organisation grades what it finds, and only the bureau makes a major hazard general
    "hazard.regrade": _SUPERVISING | {"service_org"},
    "hazard.regrade_down": _SUPERVISING,
    # ... and who hears of a major hazard at once (重大事故隐患)
    "hazard.notified_of_major": _SUPERVISING,
    "notification.read": _ALL,  # one's own notifications, marked read too
    # notifications out (通知外发): the tenant's channels and rules, the delivery log; each
    # member's own preferences (which events addressed to them go to which channel)
    "channel.manage": _ADMIN,
    "channel_delivery.read": _ADMIN,
    "channel_preference.manage_own": _ALL,
    "referral.read": _BUREAU,
    "referral.manage": _SUPERVISING,  # refer an enterprise, decide, close
    # reports
    "report.read": _BUREAU,  # every report of the tenant
    # a report's detail and file: the bureau every one; a service organisation the ones its
    # organisation requested and those about the enterprises it serves (else 404)
    "report.read_delivered": _BUREAU_AND_SERVICES,
    "report.request": _SUPERVISING,
    "figures.read": _BUREAU,
    "figures.enter": _SUPERVISING,
    # third-party services
    "service_org.read": _BUREAU_AND_SERVICES,
    "service_org.manage": _ADMIN,
    "service_org.be_staff": frozenset({"service_org"}),  # may work for an organisation
    "contract.read": _BUREAU_AND_SERVICES,
    "contract.read_own_organisation": frozenset({"service_org"}),  # its organisation's only
    "contract.read_costs": _BUREAU,
    "contract.manage": _ADMIN,
    "spot_check.read": _BUREAU,
    "spot_check.conduct": _SUPERVISING,
    "service_record.read": _ALL,
    "service_record.create": frozenset({"tenant_admin", "service_org"}),
    # safety standardisation (安全生产标准化): the routes ...
    "standardisation.read": _ALL,  # whose: the enterprises the role sees
    "standardisation.transition": _FIELD,  # which step: the standardisation.<step> actions
    "standardisation.progress": _BUREAU,  # figures against targets, the reports
    # ... and the steps: an enterprise evaluates itself, a service organisation or the
    # bureau reviews and looks back, the bureau manages and alone delists
    "standardisation.manage": _SUPERVISING,
    "standardisation.self_evaluate": _FIELD,
    "standardisation.review": _SUPERVISING | {"service_org"},
    "standardisation.check": _SUPERVISING | {"service_org"},
    "standardisation.delist": _SUPERVISING,
    "accident.read": _ALL,  # whose: the enterprises the role sees (an enterprise its own)
    "accident.record": _SUPERVISING,
    "classification.read": _BUREAU,
    "classification.run": _SUPERVISING,
    # enterprise ledgers (台账): an enterprise keeps its own, a service organisation sees
    # those of the enterprises it serves, the bureau reads all (whose: the enterprises
    # the role sees)
    "ledger.read": _ALL,
    "ledger.write": frozenset({"tenant_admin", "enterprise"}),
    "ledger.import": frozenset({"tenant_admin", "enterprise"}),
    "accident.investigate": frozenset({"tenant_admin", "supervisor", "enterprise"}),
    "ledger_duty.read": _ALL,
    "ledger_duty.raise_findings": _SUPERVISING,  # a missed duty becomes a hazard
    "rule.read": _ALL,
    "rule.write": frozenset({"tenant_admin", "enterprise"}),
    "rule_template.manage": _ADMIN,  # load the tenant's rule templates
    # dual prevention (双重预防): an enterprise (or the service organisation serving it)
    # identifies and grades its risks; the bureau reads the four-colour picture
    "risk.read": _ALL,  # whose: the enterprises the role sees
    "risk.write": frozenset({"tenant_admin", "enterprise", "service_org"}),
    "risk.picture": _BUREAU,  # counts by level per area, grid and enterprise; the city export
    # dangerous-work permits (作业票): an enterprise's own, approved by its principal or a
    # delegate; the bureau and the services serving it read them
    "permit.read": _ALL,  # whose: the enterprises the role sees
    "permit.request": frozenset({"tenant_admin", "enterprise"}),
    "permit.approve": frozenset({"tenant_admin", "enterprise"}),  # the principal or a delegate
    # access links for enterprises without accounts: issued, listed and revoked by the
    # bureau and by service organisations (for the enterprises they see); the holder's
    # routes take the link, never a user's token
    "link.manage": _SUPERVISING | {"service_org"},
    "link.configure": _ADMIN,  # the tenant's default validity
    "link.use": frozenset({LINK_HOLDER}),
}

_KNOWN = SPECIAL | _ALL
for _action, _roles in ACTIONS.items():
    if not _roles or not _roles <= _KNOWN:
        raise ValueError(f"permission {_action!r}: unknown roles {_roles - _KNOWN or 'none'}")


def roles_for(action: str) -> frozenset[str]:
    """The roles allowed ``action``; KeyError for an action the table does not know."""
    return ACTIONS[action]


def allows(role: str | None, action: str) -> bool:
    """Whether ``role`` (a tenant role, as in a membership or a request's access) may do
    ``action``. None (the system: jobs, the CLI) is no role: ask ``allows`` only for an
    actor."""
    return role is not None and role in ACTIONS[action]


def roles_allowed(*actions: str) -> tuple[str, ...]:
    """The tenant roles allowed any of ``actions``, in TENANT_ROLES' order (for a query of
    the members who may, e.g. who hears of a major hazard)."""
    return tuple(r for r in TENANT_ROLES if any(r in ACTIONS[a] for a in actions))


__all__ = ["ACTIONS", "AUTHENTICATED", "LINK_ACTS_AS", "LINK_HOLDER", "PLATFORM_ADMIN", "PUBLIC",
           "SPECIAL", "allows", "roles_allowed", "roles_for"]
