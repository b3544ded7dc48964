"""Service organisations (第三方安全生产服务机构) and their staff, and what a service
organisation's user may see of them. The caller commits."""

from __future__ import annotations

from sqlalchemy import false, select, true
from sqlalchemy.exc import IntegrityError

from anjian.auth.models import Membership
from anjian.context import Context
from anjian.enterprises.service import normalize_credit_code
from anjian.enterprises.visibility import actor
from anjian.errors import Conflict, Refused
from anjian.extensions import db
from anjian.permissions import allows
from anjian.services.models import ServiceContract, ServiceOrganisation, ServiceOrgStaff


def my_organisation_id(context: Context) -> int | None:
    """The organisation the context's service-organisation user works for (None for others)."""
    access, user_id = actor(context)
    if access is None or not allows(access.role, "contract.read_own_organisation") \
            or user_id is None:
        return None
    return db.session.scalar(select(ServiceOrgStaff.organisation_id)
                             .where(ServiceOrgStaff.user_id == user_id))


def is_service_org(context: Context) -> bool:
    access, _user_id = actor(context)
    return access is not None and allows(access.role, "contract.read_own_organisation")


def organisation_clause(context: Context, column):
    """Limits ``column`` (an organisation id) to the caller's own organisation when it is a
    service organisation's user; everybody else sees all of the tenant's."""
    if not is_service_org(context):
        return true()
    mine = my_organisation_id(context)
    return column == mine if mine is not None else false()


def _name_taken(name: str, but: int | None = None) -> bool:
    stmt = select(ServiceOrganisation.id).where(ServiceOrganisation.name == name)
    if but is not None:
        stmt = stmt.where(ServiceOrganisation.id != but)
    return db.session.scalar(stmt.limit(1)) is not None


def _credit_code(data: dict) -> dict:
    if data.get("credit_code"):
        data["credit_code"] = normalize_credit_code(data["credit_code"])  # Refused on credit_code
    elif "credit_code" in data:
        data["credit_code"] = None
    return data


def create_organisation(context: Context, data: dict) -> ServiceOrganisation:
    data = _credit_code({**data, "name": data["name"].strip()})
    if _name_taken(data["name"]):
        raise Conflict("同名服务机构已登记", field="name")
    organisation = ServiceOrganisation(**data)
    db.session.add(organisation)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise Conflict("同名服务机构已登记", field="name") from exc
    return organisation


def update_organisation(context: Context, organisation: ServiceOrganisation,
                        data: dict) -> ServiceOrganisation:
    data = _credit_code(dict(data))
    if "name" in data:
        data["name"] = data["name"].strip()
        if _name_taken(data["name"], but=organisation.id):
            raise Conflict("同名服务机构已登记", field="name")
    for key, value in data.items():
        setattr(organisation, key, value)
    db.session.flush()
    return organisation


def delete_organisation(context: Context, organisation: ServiceOrganisation) -> None:
    """Only an organisation without contracts goes (its staff links with it); one that
    served keeps its history and is deactivated instead (``is_active`` false)."""
    used = db.session.scalar(select(ServiceContract.id)
                             .where(ServiceContract.organisation_id == organisation.id).limit(1))
    if used is not None:
        raise Conflict("该服务机构已有服务合同，不能删除；可将其停用")
    for staff in db.session.scalars(select(ServiceOrgStaff)
                                    .where(ServiceOrgStaff.organisation_id == organisation.id)):
        db.session.delete(staff)
    db.session.flush()
    db.session.delete(organisation)
    db.session.flush()


def add_staff(context: Context, organisation: ServiceOrganisation,
              user_id: int) -> ServiceOrgStaff:
    """Link a user to the organisation: the user must be a member of the context's tenant
    with the role service_org, and works for one organisation of the tenant at a time."""
    # Memberships are also visible to their own user in other tenants: name this one.
    role = db.session.scalar(select(Membership.role).where(
        Membership.tenant_id == context.tenant_id, Membership.user_id == user_id,
        Membership.disabled_at.is_(None)))
    if not allows(role, "service_org.be_staff"):
        raise Refused("该用户不是本单位的第三方服务机构人员（角色须为 service_org）",
                      field="user_id")
    current = db.session.scalar(select(ServiceOrgStaff).where(ServiceOrgStaff.user_id == user_id))
    if current is not None:
        if current.organisation_id == organisation.id:
            return current
        raise Conflict("该用户已是其他服务机构的人员", field="user_id")
    staff = ServiceOrgStaff(organisation_id=organisation.id, user_id=user_id)
    db.session.add(staff)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same user added by another request meanwhile
        raise Conflict("该用户正在被同时添加，请重试", field="user_id") from exc
    return staff


def remove_staff(context: Context, staff: ServiceOrgStaff) -> None:
    db.session.delete(staff)
    db.session.flush()
