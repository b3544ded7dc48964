"""Access links (企业访问链接): issuing, listing and revoking them (a supervisor, a tenant
admin, or a service organisation for the enterprises it serves), the tenant's policy,
and what a holder does with one.

A holder has no account. The request guard (``anjian.links.guard``) finds the link by
its secret and gives the request a Context that acts for exactly the link's enterprise,
with the role ``anjian.permissions.LINK_ACTS_AS`` and no user: the hazard, evidence and
inspection services below apply their usual rules to it (whose enterprise, which
transition, which kind of inspection). What a holder may reach at all is narrower
still, and decided here: the link's open hazards (of its campaign, or its one hazard),
evidence for them, "rectified", and the one self-inspection the link names.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from sqlalchemy import and_, select

from anjian.auth.service import AuthError, token_digest
from anjian.campaigns.models import Campaign
from anjian.clock import utcnow
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import can_see_enterprise, enterprise_clause
from anjian.errors import Conflict, NotFound, Refused
from anjian.extensions import db
from anjian.hazards import service as hazard_service
from anjian.hazards.models import OPEN_STATES, Hazard, HazardEvent
from anjian.inspections import service as inspection_service
from anjian.inspections.models import Inspection
from anjian.links.models import DEFAULT_VALID_DAYS, MAX_VALID_DAYS, AccessLink, AccessLinkPolicy
from anjian.storage.backends import Storage

LINK_PREFIX = "ajl_"
# What a holder sees: the open hazards, and those rectified but not yet verified (its own
# submission, waiting for the bureau).
HOLDER_STATES = (*OPEN_STATES, "rectified")
STATUSES = {"active": "有效", "expired": "已过期", "revoked": "已撤销"}


# --- the tenant's policy ------------------------------------------------------------------

def valid_days(context: Context) -> int:
    """How long a new link of the context's tenant lives by default (days)."""
    policy = db.session.scalar(select(AccessLinkPolicy))
    return policy.valid_days if policy is not None else DEFAULT_VALID_DAYS


def _checked_days(days: int) -> int:
    if not 1 <= days <= MAX_VALID_DAYS:
        raise Refused(f"有效天数须在 1 到 {MAX_VALID_DAYS} 之间", field="valid_days")
    return days


def set_valid_days(context: Context, days: int) -> int:
    _checked_days(days)
    policy = db.session.scalar(select(AccessLinkPolicy))
    if policy is None:
        policy = AccessLinkPolicy(valid_days=days)
        db.session.add(policy)
    policy.valid_days = days
    db.session.flush()
    return days


# --- issuing, listing, revoking ---------------------------------------------------------

def status_of(link: AccessLink, now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= now else "active"


def status_clause(status: str, now: dt.datetime):
    """The links in ``status`` at ``now``, as SQL (the list's filter; ``status_of``'s twin)."""
    live = AccessLink.expires_at > now
    return {"revoked": AccessLink.revoked_at.is_not(None),
            "active": and_(AccessLink.revoked_at.is_(None), live),
            "expired": and_(AccessLink.revoked_at.is_(None), ~live)}[status]


def visible_clause(context: Context):
    """The links the context's actor may see and revoke: those of the enterprises it sees."""
    return enterprise_clause(context, AccessLink.enterprise_id)


def _enterprise(context: Context, enterprise_id: int) -> Enterprise:
    enterprise = db.session.get(Enterprise, enterprise_id)  # scoped: a foreign id is absent
    if enterprise is None or enterprise.deleted_at is not None \
            or not can_see_enterprise(context, enterprise_id):
        raise NotFound("企业不存在", field="enterprise_id")  # as for an inspection or a hazard
    return enterprise


def issue(context: Context, *, enterprise_id: int, campaign_id: int | None = None,
          hazard_id: int | None = None, template_key: str | None = None,
          contact_name: str = "", valid_days_: int | None = None) -> tuple[AccessLink, str]:
    """A new link for one enterprise the actor sees; returns (link, secret). The secret
    (256 random bits) is shown once and stored only as its digest. The caller commits."""
    _enterprise(context, enterprise_id)
    if campaign_id is not None and db.session.get(Campaign, campaign_id) is None:
        raise Refused("专项行动不存在", field="campaign_id")
    if hazard_id is not None:
        hazard = db.session.get(Hazard, hazard_id)
        if hazard is None or hazard.enterprise_id != enterprise_id:
            raise Refused("该企业没有这条隐患", field="hazard_id")
        if hazard.state not in HOLDER_STATES:
            raise Refused("隐患已销号或已移交执法，无需通过链接整改", field="hazard_id")
        if campaign_id is not None and hazard.campaign_id != campaign_id:
            raise Refused("隐患不属于该专项行动", field="hazard_id")
    if template_key is not None:
        found = inspection_service.current_template(context, template_key,
                                                    materialise_plugin=False)
        if found is None:
            raise Refused(f"检查表不存在: {template_key}", field="template_key")
    days = _checked_days(valid_days_ if valid_days_ is not None else valid_days(context))
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    link = AccessLink(token_hash=token_digest(secret), prefix=secret[:12],
                      enterprise_id=enterprise_id, campaign_id=campaign_id, hazard_id=hazard_id,
                      template_key=template_key, contact_name=(contact_name or "").strip(),
                      created_by=context.user_id, expires_at=utcnow() + dt.timedelta(days=days))
    db.session.add(link)
    db.session.flush()
    return link, secret


def get_link(context: Context, link_id: int) -> AccessLink:
    link = db.session.get(AccessLink, link_id)
    if link is None or not can_see_enterprise(context, link.enterprise_id):
        raise NotFound("访问链接不存在")
    return link


def revoke(context: Context, link: AccessLink) -> AccessLink:
    """Revoke a link: its very next use is refused. The caller commits."""
    if link.revoked_at is not None:
        raise Conflict("访问链接已被撤销")
    link.revoked_at, link.revoked_by = utcnow(), context.user_id
    db.session.flush()
    return link


# --- the holder ---------------------------------------------------------------------------

def admit(secret: str) -> AccessLink:
    """The link a secret names in the current (tenant) scope, if it may be used now;
    AuthError (``reason``: Chinese, ``code``: for the audit log) if not."""
    link = db.session.scalar(select(AccessLink).where(
        AccessLink.token_hash == token_digest(secret)))
    if link is None:
        raise AuthError("访问链接无效", "invalid_link")
    status = status_of(link)
    if status == "revoked":
        raise AuthError("访问链接已被撤销", "revoked_link")
    if status == "expired":
        raise AuthError("访问链接已过期", "expired_link")
    enterprise = db.session.get(Enterprise, link.enterprise_id)
    if enterprise is None or enterprise.deleted_at is not None:
        raise AuthError("访问链接所属企业已被删除", "deleted_enterprise_link")
    return link


def hazards(context: Context, link: AccessLink):
    """The statement of the hazards a holder sees, soonest deadline first."""
    stmt = select(Hazard).where(enterprise_clause(context, Hazard.enterprise_id),
                                Hazard.enterprise_id == link.enterprise_id,
                                Hazard.state.in_(HOLDER_STATES))
    if link.campaign_id is not None:
        stmt = stmt.where(Hazard.campaign_id == link.campaign_id)
    if link.hazard_id is not None:
        stmt = stmt.where(Hazard.id == link.hazard_id)
    return stmt.order_by(Hazard.deadline.asc().nulls_last(), Hazard.id)


def hazard(context: Context, link: AccessLink, hazard_id: int) -> Hazard:
    """One hazard the link reaches; any other is absent (404), its existence not told."""
    found = db.session.scalar(hazards(context, link).where(Hazard.id == hazard_id))
    if found is None:
        raise NotFound("隐患不存在")
    return found


def rectified(context: Context, link: AccessLink, found: Hazard, *, holder: str, note: str = "",
              evidence_ids: Iterable[int] = ()) -> HazardEvent:
    """The holder says the hazard is rectified, with evidence: ``rectified`` after a plan, or
    立即整改 (``rectify_now``) of a general hazard that has none, as an enterprise user
    would; the event names the link and the holder's declared name. The caller commits."""
    action = "rectify_now" if found.state == "reported" else "rectified"
    event = hazard_service.transition(context, found, action,
                                      {"note": note, "evidence_ids": list(evidence_ids)})
    event.data = {**event.data, "access_link_id": link.id, "declared_name": holder}
    db.session.flush()
    return event


def upload(context: Context, link: AccessLink, storage: Storage, data, content_type: str | None,
           filename: str | None):
    """A rectification photo or PDF of the link's enterprise (``anjian.evidence``)."""
    return inspection_service.upload_evidence(context, storage, data, content_type, filename,
                                              link.enterprise_id)


def self_inspection(context: Context, link: AccessLink, *, start: bool = False) -> Inspection:
    """The self-inspection the link names: started on first ``start`` (in the link's
    campaign, against the current version of its checklist), the same one afterwards."""
    if link.template_key is None:
        raise NotFound("该链接未指定自查")
    if link.inspection_id is None and start:
        # Two first starts at once: the second waits here, then finds the first's.
        db.session.refresh(link, with_for_update=True)
    if link.inspection_id is not None:
        return db.session.get(Inspection, link.inspection_id)
    if not start:
        raise NotFound("自查尚未开始")
    inspection = inspection_service.create_inspection(context, {
        "enterprise_id": link.enterprise_id, "campaign_id": link.campaign_id,
        "template_key": link.template_key, "inspector_kind": "self"})
    link.inspection_id = inspection.id
    db.session.flush()
    return inspection


def answer(context: Context, link: AccessLink, results: list[dict]) -> Inspection:
    inspection = self_inspection(context, link)
    inspection_service.set_results(context, inspection, results)
    return inspection


def submit(context: Context, link: AccessLink, data: dict) -> Inspection:
    inspection = self_inspection(context, link)
    return inspection_service.submit(context, inspection, data)


__all__ = ["HOLDER_STATES", "LINK_PREFIX", "admit", "answer", "hazard", "hazards", "issue",
           "rectified", "revoke", "self_inspection", "submit", "upload"]
