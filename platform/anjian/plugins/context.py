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

from sqlalchemy import and_, case, distinct, func, inspect, or_, select

from anjian.auth.models import User
from anjian.auth.service import acting_in
from anjian.campaigns.models import Campaign, CampaignPhase, CampaignTarget, CampaignTask
from anjian.campaigns.service import mark_task_done
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.errors import DomainError
from anjian.extensions import db
from anjian.hazards.models import EnforcementReferral, Hazard
from anjian.hazards.rules import overdue_clause
from anjian.inspections.models import ChecklistItem, ChecklistTemplate, Inspection, InspectionResult
from anjian.inspections.service import inspection_view
from anjian.jobs.service import JobError
from anjian.ledgers import rules as ledger_rules
from anjian.ledgers.duties import duty_status
from anjian.permits import service as permits
from anjian.plugins.manager import TenantInfo
from anjian.plugins.views import RowView, view_of
from anjian.reports.figures import entered_latest, entered_totals
from anjian.reports.service import request_report
from anjian.risks.service import counts_by_enterprise as risk_counts_by_enterprise
from anjian.services.costs import cost_table
from anjian.services.models import (
    ContractEnterprise,
    ServiceContract,
    ServiceOrganisation,
    ServiceOrgStaff,
    ServiceRecord,
)
from anjian.services.records import create_record
from anjian.services.spot_checks import draw_sample, served_population
from anjian.standardisation.models import Accident, Certification
from anjian.standardisation.service import accident_file_counts, investigation_complete
from anjian.workdays.service import set_deadline_date


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
                     verified_before: dt.datetime | None = None,
                     enterprise_ids: Iterable[int] | None = None) -> dict[str, tuple[int, int]]:
        """Hazards of a campaign by source: ``{source: (found, verified)}``, ``verified``
        counting those verified (closed) before ``verified_before`` (ever, without it);
        of the enterprises ``enterprise_ids`` only, when given."""
        fixed = Hazard.state == "verified"
        if verified_before is not None:
            fixed = and_(fixed, Hazard.verified_at < verified_before)
        stmt = (select(Hazard.source, func.count(), func.count().filter(fixed))
                .where(Hazard.campaign_id == campaign_id).group_by(Hazard.source))
        if grade is not None:
            stmt = stmt.where(Hazard.grade == grade)
        if found_until is not None:
            stmt = stmt.where(Hazard.found_on <= found_until)
        if enterprise_ids is not None:
            stmt = stmt.where(Hazard.enterprise_id.in_(list(enterprise_ids)))
        return {source: (found, verified) for source, found, verified in db.session.execute(stmt)}

    def referral_tally(self, *, campaign_id: int, decided_before: dt.datetime | None = None,
                       enterprise_ids: Iterable[int] | None = None) -> dict[str, object]:
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
        if enterprise_ids is not None:  # of these enterprises only
            stmt = stmt.where(EnforcementReferral.enterprise_id.in_(list(enterprise_ids)))
        penalties, amount, transfers, suspended = db.session.execute(stmt).one()
        return {"penalties": penalties, "penalty_amount": amount, "transfers": transfers,
                "suspended_enterprises": suspended}

    # --- inspections -------------------------------------------------------------------------

    def count_inspections(self, *, campaign_id: int, counts: Mapping[str, InspectionCount],
                          submitted_before: dt.datetime | None = None,
                          enterprise_ids: Iterable[int] | None = None) -> dict[str, int]:
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
        if enterprise_ids is not None:  # of these enterprises only
            stmt = stmt.where(Inspection.enterprise_id.in_(list(enterprise_ids)))
        return dict(zip(counts, db.session.execute(stmt).one(), strict=True))

    def answer_tally(self, *, campaign_id: int, template_key: str, groups: Mapping[str, object],
                     answer: str = "no", inspector_kind: str | None = None,
                     submitted_before: dt.datetime | None = None,
                     enterprise_ids: Iterable[int] | None = None) -> dict[object, int]:
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
        if enterprise_ids is not None:  # of these enterprises only
            stmt = stmt.where(Inspection.enterprise_id.in_(list(enterprise_ids)))
        return dict(db.session.execute(stmt).all())

    # --- entered figures ---------------------------------------------------------------------

    def entered_totals(self, kind: str, *, since: dt.date | None = None,
                       until: dt.date | None = None, office: str | None = None
                       ) -> dict[str, decimal.Decimal]:
        """Each entered figure's sum over the periods starting in ``[since, until]``: the
        unit's and its sections' together, or one ``office``'s (``""``: the unit's own)."""
        return entered_totals(kind, since=since, until=until, office=office)

    def entered_latest(self, kind: str, keys: Iterable[str], *, since: dt.date | None = None,
                       until: dt.date | None = None, office: str | None = None
                       ) -> dict[str, decimal.Decimal]:
        """Each of ``keys``' value in the latest period in ``[since, until]`` it was entered
        for: each office's latest summed, or one ``office``'s."""
        return entered_latest(kind, keys, since=since, until=until, office=office)

    # --- services ----------------------------------------------------------------------------

    def service_cost_table(self, contract_id: int, year: int) -> tuple[ContractView, dict]:
        """A service contract and its cost table of contract year ``year`` (the core's, which
        asks ``service_cost_shares``); a ``JobError`` when there is none."""
        contract = db.session.get(ServiceContract, int(contract_id))
        if contract is None:
            raise JobError("服务合同不存在", f"service contract {contract_id} not found")
        try:
            table = cost_table(Context.for_system(self.tenant), contract, year)
        except DomainError as exc:  # a rule of the core said no: the job fails with its message
            raise JobError(exc.message, f"cost table: {exc.message}") from exc
        return ContractView.of(contract), table

    # --- what a programme plugin reads of enterprises, campaigns, inspections ------------------

    def enterprise(self, enterprise_id: int) -> RowView | None:
        """An enterprise of the tenant (deleted ones included), or None."""
        return view_of(db.session.get(Enterprise, int(enterprise_id)))

    def enterprises(self, enterprise_ids: Iterable[int]) -> dict[int, RowView]:
        """The live enterprises among ``enterprise_ids``, by id."""
        ids = list(enterprise_ids)
        if not ids:
            return {}
        return {e.id: view_of(e) for e in db.session.scalars(select(Enterprise).where(
            Enterprise.id.in_(ids), Enterprise.deleted_at.is_(None)))}

    def enterprise_ids_by_field(self, name: str) -> dict[str, list[int]]:
        """The tenant's live enterprises grouped by the value of their plugin field ``name``
        (``extra``; a text value): ``{value: [enterprise id, ...]}``, ids sorted; those
        without the field are absent."""
        value = Enterprise.extra[name].as_string()
        out: dict[str, list[int]] = {}
        for key, ident in db.session.execute(
                select(value, Enterprise.id).where(Enterprise.deleted_at.is_(None), value.is_not(None))
                .order_by(Enterprise.id)):
            out.setdefault(key, []).append(ident)
        return out

    def campaign_targets(self, campaign_id: int) -> list[RowView]:
        """A campaign's target enterprises (live ones), by name."""
        return view_of(list(db.session.scalars(
            select(Enterprise).join(CampaignTarget, CampaignTarget.enterprise_id == Enterprise.id)
            .where(CampaignTarget.campaign_id == campaign_id, Enterprise.deleted_at.is_(None))
            .order_by(Enterprise.name, Enterprise.id))))

    def rules_counts(self, enterprise_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
        """The rules (规章制度) of the tenant's live enterprises (these ones, when given)
        against its templates: {enterprise id: {"templates", "present", "missing",
        "outdated", "unassessed"}} (unassessed: templates without a self-check; a rule is
        met when present), in one grouped statement."""
        counts = ledger_rules.counts(Context.for_system(self.tenant),
                                     None if enterprise_ids is None else list(enterprise_ids))
        return {enterprise_id: {key: c[key] for key in ("templates", "present", "missing", "outdated",
                                                         "unassessed")}
                for enterprise_id, c in counts.items()}

    def certifications(self, enterprise_ids: Iterable[int]) -> dict[int, list[RowView]]:
        """The safety-standardisation records of these enterprises (every scheme and state),
        by enterprise id; an enterprise without one is absent."""
        out: dict[int, list[RowView]] = {}
        ids = list(enterprise_ids)
        if ids:
            for row in db.session.scalars(select(Certification).where(Certification.enterprise_id.in_(ids))
                                          .order_by(Certification.id)):
                out.setdefault(row.enterprise_id, []).append(view_of(row))
        return out

    def accidents(self, enterprise_ids: Iterable[int]) -> dict[int, list[RowView]]:
        """The accidents of these enterprises, oldest first, by enterprise id (one without any
        is absent): each a view of the record and its investigation (causes, measures,
        accountability, investigated_on) with ``investigation_complete`` (those three
        recorded and a report file attached: seed 004's item 10) and ``report_files``."""
        out: dict[int, list[RowView]] = {}
        ids = list(enterprise_ids)
        if ids:
            rows = list(db.session.scalars(select(Accident).where(Accident.enterprise_id.in_(ids))
                                           .order_by(Accident.occurred_on, Accident.id)))
            files = accident_file_counts(row.id for row in rows)
            for row in rows:
                count = files.get(row.id, 0)
                values = {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}
                out.setdefault(row.enterprise_id, []).append(RowView("Accident", {
                    **values, "report_files": count,
                    "investigation_complete": investigation_complete(row, count)}))
        return out

    def targets_not_inspected(self, campaign_id: int) -> list[int]:
        """The campaign's targets with no submitted inspection in it, in the order targeted."""
        inspected = select(Inspection.enterprise_id).where(Inspection.campaign_id == campaign_id,
                                                           Inspection.status == "submitted")
        return list(db.session.scalars(select(CampaignTarget.enterprise_id).where(
            CampaignTarget.campaign_id == campaign_id,
            CampaignTarget.enterprise_id.not_in(inspected)).order_by(CampaignTarget.id)))

    def campaign_phase(self, campaign_id: int, key: str) -> RowView | None:
        """One phase of a campaign by its key (``starts_on``, ``ends_on``, ...), or None."""
        return view_of(db.session.scalar(select(CampaignPhase).where(
            CampaignPhase.campaign_id == campaign_id, CampaignPhase.key == key)))

    def latest_campaign_targeting(self, kind: str, enterprise_id: int,
                                  status: str = "active") -> CampaignView | None:
        """The newest campaign of ``kind`` in ``status`` that targets the enterprise."""
        campaign = db.session.scalar(
            select(Campaign).join(CampaignTarget, CampaignTarget.campaign_id == Campaign.id)
            .where(Campaign.kind == kind, Campaign.status == status,
                   CampaignTarget.enterprise_id == enterprise_id)
            .order_by(Campaign.id.desc()).limit(1))
        return CampaignView.of(campaign) if campaign is not None else None

    def record_done_task(self, campaign_id: int, *, key: str, title: str, enterprise_id: int,
                         due: dt.date, phase_key: str | None = None,
                         actor_id: int | None = None) -> RowView:
        """A campaign task recording something done (its deadline ``due``), made once per
        ``key``: the one already there is returned as it is."""
        task = db.session.scalar(select(CampaignTask).where(CampaignTask.campaign_id == campaign_id,
                                                            CampaignTask.key == key))
        if task is None:
            phase_id = None
            if phase_key is not None:
                phase_id = db.session.scalar(select(CampaignPhase.id).where(
                    CampaignPhase.campaign_id == campaign_id, CampaignPhase.key == phase_key))
            task = CampaignTask(campaign_id=campaign_id, phase_id=phase_id,
                                enterprise_id=enterprise_id, key=key, status="open",
                                title=title[:300])
            set_deadline_date(task, due)
            db.session.add(task)
            db.session.flush()
            task = mark_task_done(acting_in(self.tenant, actor_id), task)
        return view_of(task)

    def hazards(self, *, campaign_id: int | None = None, enterprise_id: int | None = None,
                enterprise_ids: Iterable[int] | None = None, states: Iterable[str] | None = None,
                with_deadline: bool = False, found_from: dt.date | None = None,
                found_until: dt.date | None = None, overdue_on: dt.date | None = None,
                by_found_on: bool = False) -> list[RowView]:
        """Hazards matching every filter given, by id (``by_found_on``: by date found).
        ``overdue_on``: only those overdue as of that day, by the core's one rule (the
        scan's and the lists', ``anjian.hazards.rules``)."""
        stmt = select(Hazard)
        if overdue_on is not None:
            stmt = stmt.where(overdue_clause(Hazard, overdue_on))
        if campaign_id is not None:
            stmt = stmt.where(Hazard.campaign_id == campaign_id)
        if enterprise_id is not None:
            stmt = stmt.where(Hazard.enterprise_id == enterprise_id)
        if enterprise_ids is not None:
            stmt = stmt.where(Hazard.enterprise_id.in_(list(enterprise_ids)))
        if states is not None:
            stmt = stmt.where(Hazard.state.in_(list(states)))
        if with_deadline:
            stmt = stmt.where(Hazard.deadline.is_not(None))
        if found_from is not None:
            stmt = stmt.where(Hazard.found_on >= found_from)
        if found_until is not None:
            stmt = stmt.where(Hazard.found_on <= found_until)
        order = (Hazard.found_on, Hazard.id) if by_found_on else (Hazard.id,)
        return view_of(list(db.session.scalars(stmt.order_by(*order))))

    def hazard_counts_by_enterprise(self, *, campaign_id: int, enterprise_ids: Iterable[int],
                                    grade: str | None = None) -> dict[int, tuple[int, int]]:
        """{enterprise id: (hazards found, of which verified)} in a campaign."""
        ids = list(enterprise_ids)
        if not ids:
            return {}
        verified = func.sum(case((Hazard.state == "verified", 1), else_=0))
        stmt = (select(Hazard.enterprise_id, func.count(Hazard.id), func.coalesce(verified, 0))
                .where(Hazard.enterprise_id.in_(ids), Hazard.campaign_id == campaign_id)
                .group_by(Hazard.enterprise_id))
        if grade is not None:
            stmt = stmt.where(Hazard.grade == grade)
        return {e: (int(n), int(v)) for e, n, v in db.session.execute(stmt)}

    def referrals(self, *, campaign_id: int) -> list[RowView]:
        """A campaign's enforcement referrals (移交执法), by id."""
        return view_of(list(db.session.scalars(select(EnforcementReferral).where(
            EnforcementReferral.campaign_id == campaign_id).order_by(EnforcementReferral.id))))

    def inspection(self, inspection_id: int) -> RowView | None:
        return view_of(db.session.get(Inspection, int(inspection_id)))

    def template_key(self, inspection) -> str | None:
        """The key of the checklist template an inspection used."""
        template = db.session.get(ChecklistTemplate, inspection.template_id)
        return template.key if template is not None else None

    def template_title(self, inspection) -> str:
        """The title of the checklist template an inspection used ("" when gone)."""
        template = db.session.get(ChecklistTemplate, inspection.template_id)
        return template.title if template is not None else ""

    def latest_inspection(self, *, enterprise_id: int, campaign_id: int, template_key: str,
                          status: str = "submitted") -> RowView | None:
        """An enterprise's newest inspection on a template in a campaign."""
        return view_of(db.session.scalar(
            select(Inspection).join(ChecklistTemplate, ChecklistTemplate.id == Inspection.template_id)
            .where(Inspection.enterprise_id == enterprise_id, Inspection.campaign_id == campaign_id,
                   Inspection.status == status, ChecklistTemplate.key == template_key)
            .order_by(Inspection.submitted_at.desc(), Inspection.id.desc()).limit(1)))

    def inspection_moments(self, template_key: str, enterprise_ids: Iterable[int],
                           campaign_id: int | None = None,
                           first: bool = False) -> dict[int, dt.datetime]:
        """{enterprise id: when its latest (``first``: earliest) submitted inspection on the
        template was submitted}, in the campaign when one is given."""
        ids = list(enterprise_ids)
        if not ids:
            return {}
        moment = (func.min if first else func.max)(Inspection.submitted_at)
        stmt = (select(Inspection.enterprise_id, moment)
                .join(ChecklistTemplate, ChecklistTemplate.id == Inspection.template_id)
                .where(Inspection.status == "submitted", ChecklistTemplate.key == template_key,
                       Inspection.enterprise_id.in_(ids))
                .group_by(Inspection.enterprise_id))
        if campaign_id is not None:
            stmt = stmt.where(Inspection.campaign_id == campaign_id)
        return {e: at for e, at in db.session.execute(stmt) if at is not None}

    def inspection_dates(self, template_key: str, enterprise_ids: Iterable[int],
                         campaign_id: int | None = None,
                         first: bool = False) -> dict[int, dt.date]:
        """{enterprise id: the day its latest (``first``: earliest) submitted inspection on
        the template was carried out (``performed_on``, not when it was entered)}, in the
        campaign when one is given."""
        ids = list(enterprise_ids)
        if not ids:
            return {}
        day = (func.min if first else func.max)(Inspection.performed_on)
        stmt = (select(Inspection.enterprise_id, day)
                .join(ChecklistTemplate, ChecklistTemplate.id == Inspection.template_id)
                .where(Inspection.status == "submitted", ChecklistTemplate.key == template_key,
                       Inspection.enterprise_id.in_(ids))
                .group_by(Inspection.enterprise_id))
        if campaign_id is not None:
            stmt = stmt.where(Inspection.campaign_id == campaign_id)
        return {e: on for e, on in db.session.execute(stmt) if on is not None}

    def latest_answers(self, *, campaign_id: int, template_key: str, enterprise_ids: Iterable[int],
                       answer: str = "no") -> dict[int, list[str]]:
        """{enterprise id: the item codes answered ``answer``} in its latest submitted
        inspection on the template in the campaign (in the checklist's order)."""
        ids = list(enterprise_ids)
        if not ids:
            return {}
        latest: dict[int, int] = {}
        for inspection_id, enterprise_id in db.session.execute(
                select(Inspection.id, Inspection.enterprise_id)
                .join(ChecklistTemplate, ChecklistTemplate.id == Inspection.template_id)
                .where(Inspection.campaign_id == campaign_id, Inspection.status == "submitted",
                       ChecklistTemplate.key == template_key, Inspection.enterprise_id.in_(ids))
                .order_by(Inspection.submitted_at, Inspection.id)):
            latest[enterprise_id] = inspection_id
        out: dict[int, list[str]] = {}
        if latest:
            by_inspection = {i: e for e, i in latest.items()}
            for inspection_id, code in db.session.execute(
                    select(InspectionResult.inspection_id, ChecklistItem.code)
                    .join(ChecklistItem, ChecklistItem.id == InspectionResult.item_id)
                    .where(InspectionResult.inspection_id.in_(list(by_inspection)),
                           InspectionResult.answer == answer)
                    .order_by(ChecklistItem.position)):
                out.setdefault(by_inspection[inspection_id], []).append(code)
        return out

    def inspection_results(self, inspection_id: int) -> list[dict]:
        """An inspection's answers item by item, as its API view gives them."""
        return inspection_view(db.session.get(Inspection, int(inspection_id)))["results"]

    # --- people and services -----------------------------------------------------------------

    def user_name(self, user_id: int | None) -> str:
        """A user's display name (or username); "" for nobody."""
        user = db.session.get(User, user_id) if user_id is not None else None
        return (user.display_name or user.username) if user is not None else ""

    def organisation_of(self, user_id: int | None) -> str:
        """The name of the service organisation a user works for; "" for none."""
        if user_id is None:
            return ""
        return db.session.scalar(
            select(ServiceOrganisation.name)
            .join(ServiceOrgStaff, ServiceOrgStaff.organisation_id == ServiceOrganisation.id)
            .where(ServiceOrgStaff.user_id == user_id).limit(1)) or ""

    def served_enterprise_ids(self, contract_id: int) -> list[int]:
        """The ids of the enterprises a service contract serves now, sorted."""
        return served_population(db.session.get(ServiceContract, int(contract_id)))

    def service_start(self, enterprise_id: int, *,
                      plugins: Iterable[str | None]) -> dt.date | None:
        """The first day any of the tenant's service contracts under one of ``plugins``
        (``None``: a contract that names no plugin) served the enterprise: the day it
        joined, or the contract's start; across contracts and renewals. None when none did."""
        names = list(plugins)
        which = [ServiceContract.plugin.in_([p for p in names if p is not None])]
        if None in names:
            which.append(ServiceContract.plugin.is_(None))
        first = case((and_(ContractEnterprise.joined_on.is_not(None),
                           ContractEnterprise.joined_on > ServiceContract.starts_on),
                      ContractEnterprise.joined_on), else_=ServiceContract.starts_on)
        return db.session.scalar(
            select(func.min(first)).select_from(ContractEnterprise)
            .join(ServiceContract, ServiceContract.id == ContractEnterprise.contract_id)
            .where(ContractEnterprise.enterprise_id == int(enterprise_id), or_(*which)))

    def permit_counts(self, enterprise_ids: Iterable[int],
                      since: dt.date | None = None) -> dict[int, dict]:
        """{enterprise id: {"total", "open", "closed", "refused", "by_kind": {kind: n}}}: the
        dangerous-work permits of these enterprises planned to start on or after ``since`` (a
        China date; all when None), in one grouped statement. ``open``: not yet closed,
        cancelled or refused; ``total`` counts cancelled ones too. An enterprise without a
        permit is absent."""
        ids = list(enterprise_ids)
        if not ids:
            return {}
        counts = permits.counts_by_enterprise(Context.for_system(self.tenant), ids, since=since)
        return {enterprise_id: {key: c[key] for key in ("total", "open", "closed", "refused", "by_kind")}
                for enterprise_id, c in counts.items()}

    def key_time(self, moment: dt.datetime) -> list[str]:
        """Why ``moment`` (an aware datetime) is a key time for dangerous work (重点时段),
        in Chinese; empty when it is not: a night (22:00–06:00 China time), a weekend or
        statutory holiday of the platform's calendar, or a key period of the tenant's
        plugins' settings (``double_approval_key_periods``). The core's one rule, the one
        that decides the ``key_time`` ``permit_approvals`` is given."""
        return permits.key_time_reasons(Context.for_system(self.tenant), moment)

    def ledger_duty_status(self, as_of: dt.date, enterprise_ids: Iterable[int] | None = None,
                           since: dt.date | None = None) -> dict[int, list[dict]]:
        """{enterprise id: its ledger duties at ``as_of``}, each item a dict with ``key``,
        ``title``, ``status`` (met, due, missed), ``done``, ``required`` and ``period`` (its
        label: 2024年第1季度, 截至2024-05-15), one per duty and period from ``since`` (1
        January of ``as_of``'s year by default), the core's rule (``anjian.ledgers.duties``,
        the tenant's ``ledger_duties``). For the tenant's live enterprises, or those among
        ``enterprise_ids`` (others are absent)."""
        found = duty_status(Context.for_system(self.tenant), as_of, since=since,
                            enterprise_ids=None if enterprise_ids is None else list(enterprise_ids),
                            missing_ok=True)
        fields = ("key", "title", "status", "done", "required", "period")
        return {e["enterprise_id"]: [{f: item[f] for f in fields} for item in e["items"]]
                for e in found["enterprises"]}

    def risk_counts(self, enterprise_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
        """The risk register of enterprises (双重预防): {enterprise id: {"points", "major",
        "large", "general", "low", "overdue_inspections"}}, their active risk points by level
        (重大, 较大, 一般, 低) and those whose inspection is overdue by their managing level's
        frequency (the core's rule, ``anjian.risks.service``). Every one of ``enterprise_ids``
        is a key (zeros: nothing registered, or not a live enterprise of the tenant); without
        them, the tenant's live enterprises that registered a point."""
        ids = None if enterprise_ids is None else list(enterprise_ids)
        found = risk_counts_by_enterprise(Context.for_system(self.tenant), ids)
        if ids is None:
            return found
        zero = {"points": 0, "major": 0, "large": 0, "general": 0, "low": 0, "overdue_inspections": 0}
        return {enterprise_id: found.get(enterprise_id, dict(zero)) for enterprise_id in ids}

    def has_service_record(self, *, inspection_id: int) -> bool:
        return db.session.scalar(select(ServiceRecord.id).where(
            ServiceRecord.inspection_id == inspection_id).limit(1)) is not None

    def active_contract_serving(self, *, staff_user_id: int, enterprise_id: int, plugin: str,
                                on: dt.date) -> int | None:
        """The newest active contract of ``plugin`` whose organisation employs the user and
        that serves the enterprise on day ``on`` (its id), or None."""
        return db.session.scalar(
            select(ServiceContract.id)
            .join(ServiceOrgStaff, ServiceOrgStaff.organisation_id == ServiceContract.organisation_id)
            .join(ContractEnterprise, ContractEnterprise.contract_id == ServiceContract.id)
            .where(ServiceOrgStaff.user_id == staff_user_id, ServiceContract.status == "active",
                   ServiceContract.plugin == plugin,
                   ContractEnterprise.enterprise_id == enterprise_id,
                   ContractEnterprise.left_on.is_(None),
                   or_(ContractEnterprise.joined_on.is_(None), ContractEnterprise.joined_on <= on),
                   ServiceContract.starts_on <= on, ServiceContract.ends_on >= on)
            .order_by(ServiceContract.id.desc()).limit(1))

    # --- writes through the core's services ----------------------------------------------------

    def create_service_record(self, data: dict, actor_id: int | None) -> RowView:
        """Record a service delivered (the services core's rules apply)."""
        return view_of(create_record(acting_in(self.tenant, actor_id), data))

    def draw_spot_check_sample(self, contract_id: int, data: dict,
                               actor_id: int | None) -> RowView:
        """Draw the bureau's spot check of a contract's results (the services core)."""
        return view_of(draw_sample(acting_in(self.tenant, actor_id),
                                   db.session.get(ServiceContract, int(contract_id)), data))

    def request_report(self, kind: str, format: str, params: dict,
                       actor_id: int | None) -> RowView:
        """Ask the reports core for a report, made in the background after the commit."""
        report, _job = request_report(acting_in(self.tenant, actor_id),
                                      {"kind": kind, "format": format, "params": params})
        return view_of(report)
