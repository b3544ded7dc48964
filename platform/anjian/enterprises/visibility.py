"""Which enterprises the current actor may see inside its tenant.

The tenant scope decides which tenant's rows a request reads; this decides which
of that tenant's enterprises a role reaches: an enterprise user only its own
enterprise, a service organisation's user only the enterprises assigned to it,
everybody else the whole tenant; a member given an area (a full-time safety
officer's grid) only the enterprises of that area and the areas below it. Every list and lookup of enterprise-bound rows
(inspections, hazards, referrals, ...) goes through ``enterprise_clause``.
"""

from __future__ import annotations

from sqlalchemy import and_, false, select, true

from anjian.campaigns.models import CampaignTarget
from anjian.context import Context, NoContext
from anjian.db import subtree_ids
from anjian.enterprises.models import Enterprise
from anjian.errors import NotFound
from anjian.extensions import db
from anjian.permissions import allows
from anjian.services.models import ContractEnterprise, ServiceContract, ServiceOrgStaff
from anjian.tenancy.models import Area


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


def area_enterprises(area_id: int):
    """Enterprise ids of an area and of the areas below it (a 板块's villages and grids)."""
    return select(Enterprise.id).where(Enterprise.area_id.in_(subtree_ids(Area.id, Area.parent_id, area_id)))


def sees_every_enterprise(access) -> bool:
    """Whether ``access`` (None: the system) reaches every enterprise of its tenant; the
    others (``enterprise.read_own``, ``enterprise.read_assigned``, a member given an
    area) reach some."""
    return access is None or (allows(access.role, "enterprise.read_all") and access.area_id is None)


def enterprise_clause(context: Context | None, column):
    """A WHERE clause limiting ``column`` (an enterprise id) to what the context's actor
    may see. For the system (jobs, CLI) the tenant scope alone applies.
    """
    access, user_id = actor(context)
    if sees_every_enterprise(access):
        return true()
    if allows(access.role, "enterprise.read_own"):
        return column == access.enterprise_id if access.enterprise_id else false()
    in_area = column.in_(area_enterprises(access.area_id)) if access.area_id is not None else true()
    if allows(access.role, "enterprise.read_all"):
        return in_area
    return and_(column.in_(assigned_enterprises(user_id)), in_area)


def can_see_enterprise(context: Context | None, enterprise_id: int | None) -> bool:
    access, _user_id = actor(context)
    if sees_every_enterprise(access) or enterprise_id is None:
        return True
    if allows(access.role, "enterprise.read_own"):
        return enterprise_id == access.enterprise_id
    return db.session.scalar(
        select(Enterprise.id).where(Enterprise.id == enterprise_id,
                                    enterprise_clause(context, Enterprise.id)).limit(1)) is not None


def require_enterprise(context: Context | None, enterprise_id: int | None,
                       label: str = "对象") -> None:
    """404 (never 403) for an enterprise the actor may not see: its existence is not told."""
    if not can_see_enterprise(context, enterprise_id):
        raise NotFound(f"{label}不存在")
