"""What a plugin reads of the core, without the ORM: read-only views and aggregates.

``PluginContext(tenant)`` is what ``anjian.plugin_api.context(tenant)`` gives a
plugin. Its methods read the current database session inside the scope the core
already set (a request's tenant, a job's tenant), so a plugin sees exactly what
its tenant may see. Each returns plain values or frozen views (``CampaignView``,
...), never a live entity: a plugin cannot change a row by accident, and the core
may change its tables underneath.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import and_, case, distinct, func, select

from anjian.campaigns.models import Campaign
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.hazards.models import EnforcementReferral, Hazard
from anjian.inspections.models import ChecklistItem, ChecklistTemplate, Inspection, InspectionResult
from anjian.jobs.service import JobError
from anjian.plugins.manager import TenantInfo
from anjian.reports.figures import entered_latest, entered_totals
from anjian.services.models import ServiceContract
from anjian.services.service import ServiceError, cost_table


@dataclass(frozen=True)
class CampaignView:
    """A campaign (专项行动) as plugins see it."""

    id: int
    kind: str | None
    plugin: str | None
    title: str
    status: str
    starts_on: dt.date | None
    ends_on: dt.date | None

    @classmethod
    def of(cls, campaign) -> CampaignView:
        return cls(campaign.id, campaign.kind, campaign.plugin, campaign.title, campaign.status,
                   campaign.starts_on, campaign.ends_on)


@dataclass(frozen=True)
class ContractView:
    """A service contract (社会化服务合同) as plugins see it."""

    id: int
    title: str
    plugin: str | None

    @classmethod
    def of(cls, contract) -> ContractView:
        return cls(contract.id, contract.title, getattr(contract, "plugin", None))


@dataclass(frozen=True)
class InspectionCount:
    """One count of ``PluginContext.count_inspections``: the submitted inspections by one
    kind of inspector (or the distinct enterprises they covered), limited to enterprises
    whose plugin field ``enterprise_field[0]`` is one of ``enterprise_field[1]``."""

    inspector_kind: str
    distinct_enterprises: bool = False
    enterprise_field: tuple[str, Iterable[str]] | None = None


class PluginContext:
    """The read helpers of one tenant's plugins (see the module's docstring)."""

    def __init__(self, tenant: TenantInfo | None = None):
        self.tenant = tenant

    # --- campaigns ---------------------------------------------------------------------------

    def campaign(self, campaign_id: int) -> CampaignView | None:
        """A campaign of the tenant, or None (another tenant's is as absent as a missing one)."""
        campaign = db.session.get(Campaign, int(campaign_id))
        return CampaignView.of(campaign) if campaign is not None else None

    def latest_campaign(self, kind: str, *, statuses: Iterable[str] = ("active", "closed"),
                        started_by: dt.date | None = None) -> CampaignView | None:
        """The tenant's most recently started campaign of ``kind`` in one of ``statuses``,
        started on or before ``started_by`` when given."""
        stmt = (select(Campaign).where(Campaign.kind == kind, Campaign.status.in_(list(statuses)))
                .order_by(Campaign.starts_on.desc(), Campaign.id.desc()).limit(1))
        if started_by is not None:
            stmt = stmt.where(Campaign.starts_on <= started_by)
        campaign = db.session.scalar(stmt)
        return CampaignView.of(campaign) if campaign is not None else None

    # --- hazards -----------------------------------------------------------------------------

    def hazard_tally(self, *, campaign_id: int, grade: str | None = None,
                     found_until: dt.date | None = None,
                     verified_before: dt.datetime | None = None) -> dict[str, tuple[int, int]]:
        """Hazards of a campaign by source: ``{source: (found, verified)}``, ``verified``
        counting those verified (closed) before ``verified_before`` (ever, without it)."""
        fixed = Hazard.state == "verified"
        if verified_before is not None:
            fixed = and_(fixed, Hazard.verified_at < verified_before)
        stmt = (select(Hazard.source, func.count(), func.count().filter(fixed))
                .where(Hazard.campaign_id == campaign_id).group_by(Hazard.source))
        if grade is not None:
            stmt = stmt.where(Hazard.grade == grade)
        if found_until is not None:
            stmt = stmt.where(Hazard.found_on <= found_until)
        return {source: (found, verified) for source, found, verified in db.session.execute(stmt)}

    def referral_tally(self, *, campaign_id: int,
                       decided_before: dt.datetime | None = None) -> dict[str, object]:
        """Enforcement decisions on a campaign's referrals (移交执法): ``penalties`` (count),
        ``penalty_amount`` (yuan, Decimal or None), ``transfers`` (to the judiciary) and
        ``suspended_enterprises`` (distinct enterprises ordered to suspend)."""
        decision = EnforcementReferral.decision
        stmt = (select(func.count().filter(decision == "penalty"),
                       func.sum(EnforcementReferral.penalty_amount).filter(decision == "penalty"),
                       func.count().filter(decision == "transfer"),
                       func.count(distinct(case((decision == "suspension",
                                                 EnforcementReferral.enterprise_id)))))
                .where(EnforcementReferral.campaign_id == campaign_id, decision.is_not(None)))
        if decided_before is not None:
            stmt = stmt.where(EnforcementReferral.decided_at < decided_before)
        penalties, amount, transfers, suspended = db.session.execute(stmt).one()
        return {"penalties": penalties, "penalty_amount": amount, "transfers": transfers,
                "suspended_enterprises": suspended}

    # --- inspections -------------------------------------------------------------------------

    def count_inspections(self, *, campaign_id: int, counts: Mapping[str, InspectionCount],
                          submitted_before: dt.datetime | None = None) -> dict[str, int]:
        """Several counts of a campaign's submitted inspections in one statement:
        ``{name: n}`` for each ``InspectionCount`` of ``counts``."""
        columns, kinds, join = [], set(), False
        for count in counts.values():
            where = [Inspection.inspector_kind == count.inspector_kind]
            if count.enterprise_field is not None:
                name, values = count.enterprise_field
                where.append(Enterprise.extra[name].as_string().in_(list(values)))
                join = True
            if count.distinct_enterprises:
                columns.append(func.count(distinct(case((and_(*where), Inspection.enterprise_id)))))
            else:
                columns.append(func.count().filter(and_(*where)))
            kinds.add(count.inspector_kind)
        stmt = (select(*columns).select_from(Inspection)
                .where(Inspection.campaign_id == campaign_id, Inspection.status == "submitted",
                       Inspection.inspector_kind.in_(sorted(kinds))))
        if join:
            stmt = stmt.join(Enterprise, and_(Enterprise.tenant_id == Inspection.tenant_id,
                                              Enterprise.id == Inspection.enterprise_id))
        if submitted_before is not None:
            stmt = stmt.where(Inspection.submitted_at < submitted_before)
        return dict(zip(counts, db.session.execute(stmt).one(), strict=True))

    def answer_tally(self, *, campaign_id: int, template_key: str, groups: Mapping[str, object],
                     answer: str = "no", inspector_kind: str | None = None,
                     submitted_before: dt.datetime | None = None) -> dict[object, int]:
        """Distinct enterprises that answered ``answer`` to an item of template
        ``template_key`` in a campaign's submitted inspections, by group: ``groups`` maps
        item codes to the group they count for; ``{group: enterprises}``."""
        group = case(dict(groups), value=ChecklistItem.code)
        stmt = (select(group, func.count(distinct(Inspection.enterprise_id)))
                .select_from(InspectionResult)
                .join(Inspection, and_(Inspection.tenant_id == InspectionResult.tenant_id,
                                       Inspection.id == InspectionResult.inspection_id))
                .join(ChecklistItem, and_(ChecklistItem.tenant_id == InspectionResult.tenant_id,
                                          ChecklistItem.id == InspectionResult.item_id))
                .join(ChecklistTemplate,
                      and_(ChecklistTemplate.tenant_id == ChecklistItem.tenant_id,
                           ChecklistTemplate.id == ChecklistItem.template_id))
                .where(Inspection.campaign_id == campaign_id, Inspection.status == "submitted",
                       InspectionResult.answer == answer, ChecklistTemplate.key == template_key,
                       ChecklistItem.code.in_(list(groups)))
                .group_by(group))
        if inspector_kind is not None:
            stmt = stmt.where(Inspection.inspector_kind == inspector_kind)
        if submitted_before is not None:
            stmt = stmt.where(Inspection.submitted_at < submitted_before)
        return dict(db.session.execute(stmt).all())

    # --- entered figures ---------------------------------------------------------------------

    def entered_totals(self, kind: str, *, since: dt.date | None = None,
                       until: dt.date | None = None) -> dict[str, decimal.Decimal]:
        """Each entered figure's sum over the periods starting in ``[since, until]``."""
        return entered_totals(kind, since=since, until=until)

    def entered_latest(self, kind: str, keys: Iterable[str], *, since: dt.date | None = None,
                       until: dt.date | None = None) -> dict[str, decimal.Decimal]:
        """Each of ``keys``' value in the latest period in ``[since, until]`` it was entered for."""
        return entered_latest(kind, keys, since=since, until=until)

    # --- services ----------------------------------------------------------------------------

    def service_cost_table(self, contract_id: int, year: int) -> tuple[ContractView, dict]:
        """A service contract and its cost table of contract year ``year`` (the core's, which
        asks ``service_cost_shares``); a ``JobError`` when there is none."""
        contract = db.session.get(ServiceContract, int(contract_id))
        if contract is None:
            raise JobError("服务合同不存在", f"service contract {contract_id} not found")
        try:
            table = cost_table(self.tenant, contract, year)
        except ServiceError as exc:
            raise JobError(exc.message, f"cost table: {exc.message}") from exc
        return ContractView.of(contract), table
