"""Which enterprises the current actor may see inside its tenant.

The tenant scope decides which tenant's rows a request reads; this decides which
of that tenant's enterprises a role reaches: an enterprise user only its own
enterprise, a service organisation's user only the enterprises assigned to it,
everybody else the whole tenant. Every list and lookup of enterprise-bound rows
(inspections, hazards, referrals, ...) goes through ``enterprise_clause``.
"""

from __future__ import annotations

from sqlalchemy import false, select, true

from anjian.campaigns.models import CampaignTarget
from anjian.context import Context, NoContext
from anjian.errors import NotFound
from anjian.extensions import db
from anjian.permissions import allows
from anjian.services.models import ContractEnterprise, ServiceContract, ServiceOrgStaff


def actor(context: Context | None):
    """The context's (access, user id); without a context nothing is seen (fails closed,
    like the tenant scope). A job's or the CLI's context has no access: the system."""
    if context is None:
        raise NoContext("enterprise visibility needs a context")
    return context.access, context.user_id


def assigned_enterprises(user_id: int):
    """Enterprise ids a service organisation's user may see: assigned to it in a campaign, or
    served under an active contract of its organisation (revoking the contract ends it at
    the next request)."""
    contracted = (
        select(ContractEnterprise.enterprise_id)
        .join(ServiceContract, ServiceContract.id == ContractEnterprise.contract_id)
        .join(ServiceOrgStaff, ServiceOrgStaff.organisation_id == ServiceContract.organisation_id)
        .where(ServiceOrgStaff.user_id == user_id, ServiceContract.status == "active",
               ContractEnterprise.left_on.is_(None))
    )
    return select(CampaignTarget.enterprise_id).where(
        CampaignTarget.assignee_user_id == user_id).union(contracted)


def sees_every_enterprise(access) -> bool:
    """Whether ``access`` (None: the system) reaches every enterprise of its tenant; the
    others (``enterprise.read_own``, ``enterprise.read_assigned``) reach some."""
    return access is None or allows(access.role, "enterprise.read_all")


def enterprise_clause(context: Context | None, column):
    """A WHERE clause limiting ``column`` (an enterprise id) to what the context's actor
    may see. For the system (jobs, CLI) the tenant scope alone applies.
    """
    access, user_id = actor(context)
    if sees_every_enterprise(access):
        return true()
    if allows(access.role, "enterprise.read_own"):
        return column == access.enterprise_id if access.enterprise_id else false()
    return column.in_(assigned_enterprises(user_id))


def can_see_enterprise(context: Context | None, enterprise_id: int | None) -> bool:
    access, user_id = actor(context)
    if sees_every_enterprise(access) or enterprise_id is None:
        return True
    if allows(access.role, "enterprise.read_own"):
        return enterprise_id == access.enterprise_id
    visible = assigned_enterprises(user_id).subquery()
    return db.session.scalar(
        select(visible.c[0]).where(visible.c[0] == enterprise_id).limit(1)) is not None


def require_enterprise(context: Context | None, enterprise_id: int | None,
                       label: str = "对象") -> None:
    """404 (never 403) for an enterprise the actor may not see: its existence is not told."""
    if not can_see_enterprise(context, enterprise_id):
        raise NotFound(f"{label}不存在")
