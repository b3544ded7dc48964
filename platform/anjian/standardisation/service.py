"""Safety standardisation: the certification lifecycle and what bars it.

States (``models.STATES``) and the steps between them (``STEPS``)::

    applied ──self_evaluate──▶ self_evaluated ──review(passed)──▶ achieved
       ▲ │                          │ review(failed) → applied        │ open_renewal (window)
       │ └─exempt─▶ exempt          ▼                                 ▼
       └──resume───┘                                           renewal_due
    achieved ──rereview (relocated, rebuilt, wider scope)─▶ re_evaluating ◀─start_renewal─┘
    re_evaluating ──renew (换证) or review(passed)─▶ achieved;  review(failed) → renewal_due
    achieved / renewal_due / re_evaluating ──delist (the bureau)─▶ delisted
    achieved / renewal_due / re_evaluating ──demonstrate / undemonstrate─▶ (the same state)

At 达标 the certification gets a certificate number, an issue date and an expiry (the
scheme's validity, 3 years by default; ``validity_years`` in the tenant's settings of
this domain). Renewing (``renew``, or a passed ``review`` out of re_evaluating) is
barred (``blockers``) by a serious-injury or fatal accident in the certificate's
period, by an open major hazard of the enterprise, and, for ``renew`` without a
review, by a change of the enterprise since it was certified (address, industry code
or products: relocation, rebuilding, a wider scope, 需重新评审); the tenant's plugins
add their own reasons (``standardisation_transition``). Every step is an event in the
certification's history and audited; the caller commits.

An accident's record (date, severity, counts: what bars a renewal) is the bureau's; its
investigation (事故调查: causes, measures, accountability, the report file) is the
enterprise's as well. Each change is a ledger event of the accident (``LedgerEvent``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from anjian import evidence
from anjian.context import Context
from anjian.db import jsonable
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import area_enterprises, can_see_enterprise, enterprise_clause
from anjian.errors import Conflict, Forbidden, NotFound, Refused
from anjian.evidence import Evidence
from anjian.extensions import db
from anjian.hazards.models import OPEN_STATES, Hazard
from anjian.ledgers.models import LedgerEvent
from anjian.permissions import TENANT_ROLES, allows
from anjian.plugins.views import StandardisationRules
from anjian.services.models import ServiceOrganisation
from anjian.standardisation.models import (
    BARRING_SEVERITIES,
    CONCLUSIONS,
    REVIEWERS,
    SCHEMES,
    SEVERITIES,
    STATES,
    Accident,
    Certification,
    CertificationEvent,
    Check,
)

VALID = ("achieved", "renewal_due", "re_evaluating")  # a certificate in force
CHECKED = VALID  # what a look-back or an audit may be made of
DEFAULT_VALIDITY_YEARS = 3
DEFAULT_RENEWAL_WINDOW_MONTHS = 3
# What the certificate records of the enterprise: a change of any needs a new review.
CERTIFIED_AS = {"address": "地址", "industry_code": "行业代码", "main_products": "主要产品"}


@dataclass(frozen=True)
class Step:
    label: str
    sources: tuple[str, ...]
    permission: str  # the action of anjian.permissions that may take it


STEPS: dict[str, Step] = {
    "self_evaluate": Step("提交自评", ("applied",), "standardisation.self_evaluate"),
    "review": Step("评审", ("self_evaluated", "re_evaluating"), "standardisation.review"),
    "open_renewal": Step("进入期满换证", ("achieved",), "standardisation.manage"),
    "start_renewal": Step("启动复评", ("renewal_due",), "standardisation.manage"),
    "rereview": Step("要求重新评审", ("achieved",), "standardisation.manage"),
    "renew": Step("换证", ("re_evaluating",), "standardisation.manage"),
    "delist": Step("摘牌", VALID, "standardisation.delist"),
    "exempt": Step("暂不创建", ("applied",), "standardisation.manage"),
    "resume": Step("恢复创建", ("exempt",), "standardisation.manage"),
    "demonstrate": Step("设为示范企业", VALID, "standardisation.manage"),
    "undemonstrate": Step("取消示范企业", VALID, "standardisation.manage"),
}


# --------------------------------------------------------------------------- settings


def rules(context: Context) -> StandardisationRules:
    """The tenant's standing rules (its plugin's ``standardisation_rules``, else every
    scheme, 3 years, a window of 3 months)."""
    found = context.policy("standardisation_rules")
    return found if isinstance(found, StandardisationRules) else StandardisationRules()


def validity_years(context: Context, scheme: str) -> int:
    return int(rules(context).validity_years.get(scheme, DEFAULT_VALIDITY_YEARS))


def renewal_window_months(context: Context) -> int:
    return int(rules(context).renewal_window_months)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


# --------------------------------------------------------------------------- reading


def _enterprise(context: Context, enterprise_id: int) -> Enterprise:
    """A live enterprise the actor may see, else Refused on enterprise_id."""
    row = db.session.execute(
        select(Enterprise).where(Enterprise.id == enterprise_id, Enterprise.deleted_at.is_(None),
                                 enterprise_clause(context, Enterprise.id))).scalar_one_or_none()
    if row is None:
        raise Refused("企业不存在", field="enterprise_id")
    return row


def get_certification(context: Context, certification_id: int) -> Certification:
    row = db.session.execute(
        select(Certification).where(Certification.id == certification_id,
                                    enterprise_clause(context, Certification.enterprise_id))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("标准化记录不存在")
    return row


def list_certifications(context: Context, *, state: str | None = None, scheme: str | None = None,
                        enterprise_id: int | None = None, area_id: int | None = None,
                        due_by: dt.date | None = None,
                        demonstration: bool | None = None, delisting_recommended: bool | None = None):
    """A select of the certifications the actor may see, filtered (the API pages it)."""
    stmt = select(Certification).where(enterprise_clause(context, Certification.enterprise_id))
    if state:
        stmt = stmt.where(Certification.state == state)
    if scheme:
        stmt = stmt.where(Certification.scheme == scheme)
    if enterprise_id is not None:
        stmt = stmt.where(Certification.enterprise_id == enterprise_id)
    if area_id is not None:  # the area and those below it
        stmt = stmt.where(Certification.enterprise_id.in_(area_enterprises(area_id)))
    if due_by is not None:
        stmt = stmt.where(Certification.state.in_(VALID), Certification.expires_on <= due_by)
    if demonstration is not None:
        stmt = stmt.where(Certification.demonstration.is_(demonstration))
    if delisting_recommended is not None:
        stmt = stmt.where(Certification.delisting_recommended.is_(delisting_recommended))
    return stmt.order_by(Certification.id)


def history(context: Context, certification: Certification) -> list[CertificationEvent]:
    return list(db.session.scalars(
        select(CertificationEvent).where(CertificationEvent.certification_id == certification.id)
        .order_by(CertificationEvent.id)))


def checks_of(context: Context, certification: Certification) -> list[Check]:
    return list(db.session.scalars(
        select(Check).where(Check.certification_id == certification.id).order_by(Check.id)))


# --------------------------------------------------------------------------- what bars a step


def changes_since_certified(certification: Certification, enterprise: Enterprise) -> list[str]:
    """The labels of what changed in the enterprise since it was certified (需重新评审)."""
    if not certification.certified_as:
        return []
    return [label for key, label in CERTIFIED_AS.items()
            if (certification.certified_as.get(key) or "") != (getattr(enterprise, key) or "")]


def rereview_reason(certification: Certification, enterprise: Enterprise) -> str:
    """Why the certification needs a new review (empty: it does not)."""
    if certification.state not in VALID:
        return ""
    changed = changes_since_certified(certification, enterprise)
    reasons = [certification.rereview_reason] if certification.rereview_reason else []
    if changed:
        reasons.append(f"{'、'.join(changed)}已变更（搬迁、改建或扩大范围）")
    return "；".join(reasons)


@dataclass(frozen=True)
class RenewalFacts:
    """What bars renewing the certificates of some enterprises, read for all of them at
    once: their serious-injury and fatal accidents up to a day (by date), and how many
    major hazards each has open."""

    accidents: dict[int, list[Accident]]
    open_majors: dict[int, int]


def renewal_facts(enterprise_ids, until: dt.date) -> RenewalFacts:
    """The facts of ``enterprise_ids``: two statements, however many enterprises."""
    ids = list(set(enterprise_ids))
    accidents: dict[int, list[Accident]] = {}
    for accident in db.session.scalars(
            select(Accident).where(Accident.enterprise_id.in_(ids), Accident.severity.in_(BARRING_SEVERITIES),
                                   Accident.occurred_on <= until).order_by(Accident.occurred_on, Accident.id)):
        accidents.setdefault(accident.enterprise_id, []).append(accident)
    open_majors = dict(db.session.execute(
        select(Hazard.enterprise_id, func.count()).where(
            Hazard.enterprise_id.in_(ids), Hazard.grade == "major", Hazard.state.in_(OPEN_STATES))
        .group_by(Hazard.enterprise_id)).all())
    return RenewalFacts(accidents, open_majors)


def blockers(context: Context, certification: Certification, enterprise: Enterprise, action: str,
             on: dt.date, facts: RenewalFacts | None = None) -> list[str]:
    """Why ``action`` may not renew the certification (Chinese reasons; empty: nothing bars
    it): the core's rules, then the tenant's plugins' (``standardisation_transition``).
    ``facts``: ``renewal_facts`` of many enterprises read once (a list of certificates);
    read for this enterprise alone without them."""
    renewing = action == "renew" or (action == "review" and certification.state == "re_evaluating")
    reasons = []
    if renewing:
        facts = facts or renewal_facts([enterprise.id], on)
        since = certification.issued_on or certification.applied_on  # the certificate's period
        for accident in facts.accidents.get(enterprise.id, ()):
            if accident.occurred_on >= since:
                reasons.append(f"证书有效期内发生{SEVERITIES[accident.severity]}事故"
                               f"（{accident.occurred_on.isoformat()}），不得换证")
        majors = facts.open_majors.get(enterprise.id, 0)
        if majors:
            reasons.append(f"企业有 {majors} 项重大事故隐患未整改销号，不得换证")
        if action == "renew" and (why := rereview_reason(certification, enterprise)):
            reasons.append(f"需重新评审（{why}），须经评审后方可换证")
    for answer in context.policy("standardisation_transition", certification=certification,
                                 enterprise=enterprise, action=action, renewing=renewing) or ():
        reasons.extend(str(r) for r in (answer or ()) if str(r).strip())
    return reasons


# --------------------------------------------------------------------------- writing


def _event(certification: Certification, action: str, from_state: str | None, context: Context,
           on: dt.date, note: str = "", data: dict | None = None) -> CertificationEvent:
    event = CertificationEvent(certification_id=certification.id, action=action, from_state=from_state,
                               to_state=certification.state, on=on, actor_user_id=context.user_id,
                               note=note, data=data or {})
    db.session.add(event)
    db.session.flush()
    return event


def _may(context: Context, permission: str, label: str) -> None:
    access = context.access
    if access is not None and not allows(access.role, permission):
        raise Forbidden(f"{TENANT_ROLES.get(access.role, access.role)}无权{label}")


def create(context: Context, *, enterprise_id: int, scheme: str, applied_on: dt.date | None = None,
           note: str = "") -> Certification:
    """An enterprise applies (申报/创建) under a scheme; one record per enterprise and scheme."""
    _may(context, "standardisation.manage", "登记标准化创建")
    if scheme not in SCHEMES:
        raise Refused("未知的标准化类别", errors={"scheme": [f"须为以下之一: {', '.join(SCHEMES)}"]})
    offered = [s for s in rules(context).schemes if s in SCHEMES]
    if scheme not in offered:
        raise Refused(f"本单位不开展「{SCHEMES[scheme]}」标准化",
                      errors={"scheme": [f"本单位开展：{'、'.join(SCHEMES[s] for s in offered)}"]})
    enterprise = _enterprise(context, enterprise_id)
    exists = db.session.scalar(select(Certification.id).where(
        Certification.enterprise_id == enterprise.id, Certification.scheme == scheme))
    if exists is not None:
        raise Conflict(f"该企业已有「{SCHEMES[scheme]}」标准化记录（编号 {exists}）")
    on = applied_on or context.today()
    certification = Certification(enterprise_id=enterprise.id, scheme=scheme, state="applied",
                                  applied_on=on)
    db.session.add(certification)
    db.session.flush()
    _event(certification, "create", None, context, on, note)
    return certification


def _on(data: dict, context: Context, field: str = "on") -> dt.date:
    on = data.get(field) or context.today()
    if on > context.today():
        raise Refused("日期不能晚于今天", field=field)
    return on


def _need(data: dict, *fields: str) -> None:
    missing = {f: ["必填项"] for f in fields if data.get(f) in (None, "")}
    if missing:
        raise Refused("缺少必填项", errors=missing)


def transition(context: Context, certification: Certification, action: str,
               data: dict | None = None) -> CertificationEvent:
    """Take ``action`` (``STEPS``) on the certification; the caller commits. Refusals are
    domain errors: Forbidden (the role), Conflict (the state, a blocker), Refused (data)."""
    data = dict(data or {})
    step = STEPS.get(action)
    if step is None:
        raise Refused("未知的操作", errors={"action": [f"须为以下之一: {', '.join(STEPS)}"]})
    _may(context, step.permission, step.label)
    if certification.state not in step.sources:
        raise Conflict(f"标准化记录当前状态为「{STATES[certification.state]}」，不能{step.label}")
    enterprise = _enterprise(context, certification.enterprise_id)
    on = _on(data, context)
    found = blockers(context, certification, enterprise, action, on)
    if found and not (action == "review" and data.get("passed") is False):
        raise Conflict(f"不能{step.label}：" + "；".join(found), slug="standardisation-blocked",
                       members={"blockers": found})
    from_state = certification.state
    details = _APPLY[action](context, certification, enterprise, data, on)
    db.session.flush()  # the version check: a concurrent change fails here
    return _event(certification, action, from_state, context, on, (data.get("note") or "").strip(),
                  details)


def _self_evaluate(context, certification, enterprise, data, on) -> dict:
    _need(data, "score")
    certification.self_score = data["score"]
    certification.self_report = (data.get("report") or "").strip()
    certification.self_evaluated_on = on
    certification.state = "self_evaluated"
    return {"score": str(data["score"])}


def _review(context, certification, enterprise, data, on) -> dict:
    _need(data, "reviewer", "score", "passed")
    reviewer = data["reviewer"]
    if reviewer not in REVIEWERS:
        raise Refused("评审方须为第三方机构或主管部门", field="reviewer")
    organisation_id = data.get("organisation_id")
    if reviewer == "organisation":
        _need(data, "organisation_id")
        if db.session.get(ServiceOrganisation, organisation_id) is None:
            raise Refused("第三方机构不存在", field="organisation_id")
    certification.reviewer = reviewer
    certification.reviewer_organisation_id = organisation_id if reviewer == "organisation" else None
    certification.review_score = data["score"]
    certification.reviewed_on = on
    renewal = certification.state == "re_evaluating"
    if not data["passed"]:
        certification.state = "renewal_due" if renewal else "applied"
        return {"passed": False, "score": str(data["score"])}
    _need(data, "certificate_no")
    _achieve(context, certification, enterprise, data, on, renewal)
    return {"passed": True, "score": str(data["score"]), "certificate_no": certification.certificate_no,
            "expires_on": certification.expires_on.isoformat()}


def _achieve(context, certification, enterprise, data, on, renewal: bool) -> None:
    """达标: a certificate number, issue date and expiry, and what the enterprise was."""
    certification.certificate_no = str(data.get("certificate_no") or certification.certificate_no).strip()
    certification.issued_on = on
    certification.expires_on = add_years(on, validity_years(context, certification.scheme))
    certification.first_achieved_on = certification.first_achieved_on or on
    certification.certified_as = {key: getattr(enterprise, key) or "" for key in CERTIFIED_AS}
    certification.rereview_reason = ""
    certification.delisting_recommended = False
    if renewal:
        certification.renewals += 1
        certification.renewed_on = on
    certification.state = "achieved"


def _open_renewal(context, certification, enterprise, data, on) -> dict:
    opens = add_months(certification.expires_on, -renewal_window_months(context))
    if on < opens:
        raise Conflict(f"证书有效期至 {certification.expires_on.isoformat()}，"
                       f"{opens.isoformat()} 起方可进入期满换证")
    certification.state = "renewal_due"
    return {"expires_on": certification.expires_on.isoformat()}


def _start_renewal(context, certification, enterprise, data, on) -> dict:
    certification.state = "re_evaluating"
    return {}


def _rereview(context, certification, enterprise, data, on) -> dict:
    _need(data, "reason")
    certification.rereview_reason = str(data["reason"]).strip()[:300]
    certification.state = "re_evaluating"
    return {"reason": certification.rereview_reason}


def _renew(context, certification, enterprise, data, on) -> dict:
    previous = certification.expires_on
    _achieve(context, certification, enterprise, data, on, renewal=True)
    return {"previous_expires_on": previous.isoformat() if previous else None,
            "expires_on": certification.expires_on.isoformat()}


def _delist(context, certification, enterprise, data, on) -> dict:
    _need(data, "reason")
    certification.delisted_on = on
    certification.delisting_reason = str(data["reason"]).strip()[:500]
    certification.demonstration = False
    certification.state = "delisted"
    return {"reason": certification.delisting_reason}


def _exempt(context, certification, enterprise, data, on) -> dict:
    _need(data, "reason")
    certification.exempt_reason = str(data["reason"]).strip()[:500]
    certification.state = "exempt"
    return {"reason": certification.exempt_reason}


def _resume(context, certification, enterprise, data, on) -> dict:
    certification.exempt_reason = ""
    certification.state = "applied"
    return {}


def _demonstration(flag: bool):
    """The step that sets (or clears) the demonstration flag (示范企业), the state unchanged."""
    def apply(context, certification, enterprise, data, on) -> dict:
        certification.demonstration = flag
        return {}
    return apply


_APPLY = {"self_evaluate": _self_evaluate, "review": _review, "open_renewal": _open_renewal,
          "start_renewal": _start_renewal, "rereview": _rereview, "renew": _renew, "delist": _delist,
          "exempt": _exempt, "resume": _resume, "demonstrate": _demonstration(True),
          "undemonstrate": _demonstration(False)}


def record_check(context: Context, certification: Certification, *, kind: str, checked_on: dt.date,
                 conclusion: str, organisation_id: int | None = None, rectify_by: dt.date | None = None,
                 findings: str = "") -> Check:
    """A look-back or a quality audit. 建议摘牌 puts the certification on the bureau's
    delisting list (``delisting_recommended``); only the bureau delists."""
    _may(context, "standardisation.check", "登记“回头看”或质量审计")
    if certification.state not in CHECKED:
        raise Conflict(f"标准化记录当前状态为「{STATES[certification.state]}」，不能“回头看”或审计")
    if conclusion not in CONCLUSIONS:
        raise Refused("结论无效", errors={"conclusion": [f"须为以下之一: {', '.join(CONCLUSIONS)}"]})
    if checked_on > context.today():
        raise Refused("日期不能晚于今天", field="checked_on")
    if conclusion == "rectify" and rectify_by is None:
        raise Refused("限期整改须给出整改期限", field="rectify_by")
    if organisation_id is not None and db.session.get(ServiceOrganisation, organisation_id) is None:
        raise Refused("第三方机构不存在", field="organisation_id")
    check = Check(certification_id=certification.id, kind=kind, organisation_id=organisation_id,
                  checked_on=checked_on, conclusion=conclusion, rectify_by=rectify_by,
                  findings=findings.strip(), actor_user_id=context.user_id)
    db.session.add(check)
    if conclusion == "recommend_delisting":
        certification.delisting_recommended = True
    db.session.flush()
    _event(certification, kind, certification.state, context, checked_on, findings.strip()[:500],
           {"check_id": check.id, "conclusion": conclusion})
    return check


# --------------------------------------------------------------------------- accidents

# The accident's own record (the bureau's: what bars a renewal) and its investigation
# (事故调查: the enterprise's, the bureau's too), with their Chinese labels.
ACCIDENT_RECORD = {"occurred_on": "事故日期", "severity": "事故等级", "injured": "受伤人数",
                   "deaths": "死亡人数", "description": "事故经过"}
INVESTIGATION = {"causes": "原因分析", "measures": "整改措施", "accountability": "责任追究",
                 "investigated_on": "调查结论日期"}
_TEXTS = ("description", "causes", "measures", "accountability")


def _check_accident(context: Context, values: dict) -> None:
    """The rules of an accident's record and investigation, on its values as they will be."""
    if values["severity"] not in SEVERITIES:
        raise Refused("事故等级无效", errors={"severity": [f"须为以下之一: {', '.join(SEVERITIES)}"]})
    if values["occurred_on"] > context.today():
        raise Refused("事故日期不能晚于今天", field="occurred_on")
    if values["severity"] == "fatal" and values["deaths"] < 1:
        raise Refused("死亡事故的死亡人数至少为 1", field="deaths")
    investigated_on = values.get("investigated_on")
    if investigated_on is not None:
        if investigated_on < values["occurred_on"]:
            raise Refused(f"调查结论日期不能早于事故日期（{values['occurred_on'].isoformat()}）",
                          field="investigated_on")
        if investigated_on > context.today():
            raise Refused("调查结论日期不能晚于今天", field="investigated_on")


def _accident_event(context: Context, accident: Accident, action: str, changes: dict) -> LedgerEvent:
    event = LedgerEvent(accident_id=accident.id, action=action, changes=jsonable(changes, "changes"),
                        actor_user_id=context.user_id)
    db.session.add(event)
    db.session.flush()
    return event


def record_accident(context: Context, *, enterprise_id: int, occurred_on: dt.date, severity: str,
                    injured: int = 0, deaths: int = 0, description: str = "") -> Accident:
    """The core record of an accident (date, enterprise, severity, counts, description);
    its history starts with a "create" event."""
    _may(context, "accident.record", "登记事故")
    enterprise = _enterprise(context, enterprise_id)
    values = {"occurred_on": occurred_on, "severity": severity, "injured": injured,
              "deaths": deaths, "description": description.strip()}
    _check_accident(context, values)
    accident = Accident(enterprise_id=enterprise.id, actor_user_id=context.user_id, **values)
    db.session.add(accident)
    db.session.flush()
    _accident_event(context, accident, "create",
                    {name: [None, value] for name, value in {"enterprise_id": enterprise.id,
                                                             **values}.items()})
    return accident


def list_accidents(context: Context, enterprise_id: int | None = None):
    """A select of the accidents of the enterprises the actor sees (the API pages it)."""
    stmt = select(Accident).where(enterprise_clause(context, Accident.enterprise_id))
    if enterprise_id is not None:
        stmt = stmt.where(Accident.enterprise_id == enterprise_id)
    return stmt.order_by(Accident.occurred_on.desc(), Accident.id.desc())


def get_accident(context: Context, accident_id: int, *, lock: bool = False) -> Accident:
    """An accident of an enterprise the actor sees, else NotFound (as a missing one);
    ``lock``: locked for the change the caller is about to make."""
    stmt = select(Accident).where(Accident.id == accident_id,
                                  enterprise_clause(context, Accident.enterprise_id))
    if lock:
        stmt = stmt.with_for_update(of=Accident)
    row = db.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound("事故不存在")
    return row


def accident_history(context: Context, accident: Accident) -> list[LedgerEvent]:
    """The accident's changes, oldest first: what changed ({field: [before, after]}), by whom."""
    return list(db.session.scalars(select(LedgerEvent).where(LedgerEvent.accident_id == accident.id)
                                   .order_by(LedgerEvent.id)))


def accident_files(context: Context, accident: Accident) -> list[Evidence]:
    """The files attached to the accident (its investigation report), in the order uploaded."""
    return list(db.session.scalars(select(Evidence).where(Evidence.accident_id == accident.id)
                                   .order_by(Evidence.id)))


def accident_file_counts(accident_ids) -> dict[int, int]:
    """{accident id: the files attached to it} for those with any, in one statement."""
    ids = list(accident_ids)
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Evidence.accident_id, func.count()).where(Evidence.accident_id.in_(ids))
        .group_by(Evidence.accident_id)).all())


def investigation_complete(accident: Accident, files: int) -> bool:
    """Whether the accident is investigated (seed 004, item 10: 原因分析、措施整改、责任追究,
    形成事故调查分析报告): causes, measures and accountability recorded and a report file
    attached (any file: a PDF or a scan)."""
    return bool(accident.causes.strip() and accident.measures.strip()
                and accident.accountability.strip() and files > 0)


def update_accident(context: Context, accident: Accident, data: dict) -> Accident:
    """Record or change the investigation (causes, measures, accountability, the date it was
    concluded, ``evidence_ids``: report files to attach) and correct the record's own
    fields (the bureau's only: they decide what bars a renewal). Writes an "update"
    event with the changed fields; nothing changed writes nothing. The caller commits."""
    data = dict(data)
    evidence_ids = list(dict.fromkeys(data.pop("evidence_ids", None) or ()))
    unknown = sorted(set(data) - set(ACCIDENT_RECORD) - set(INVESTIGATION))
    if unknown:
        raise Refused("不允许的字段", errors={name: ["不允许的字段"] for name in unknown})
    if set(data) & set(ACCIDENT_RECORD):
        _may(context, "accident.record", "更正事故记录（日期、等级、人数、经过）")
    if set(data) & set(INVESTIGATION) or evidence_ids:
        _may(context, "accident.investigate", "记录事故调查")
    for name in _TEXTS:
        if name in data:
            data[name] = (data[name] or "").strip()
    current = {name: getattr(accident, name) for name in (*ACCIDENT_RECORD, *INVESTIGATION)}
    values = {**current, **data}
    _check_accident(context, values)
    changes = {name: [current[name], values[name]] for name in values if values[name] != current[name]}
    for name, (_before, after) in changes.items():
        setattr(accident, name, after)
    if evidence_ids:
        before = [e.id for e in accident_files(context, accident)]
        evidence.attach(context, evidence_ids, can_see_enterprise, accident_id=accident.id,
                        enterprise_id=accident.enterprise_id)
        after = [e.id for e in accident_files(context, accident)]
        if after != before:
            changes["evidence_ids"] = [before, after]
    if not changes:
        return accident
    accident.updated_at = context.now().astimezone(dt.UTC)  # a new file changes its ETag too
    db.session.flush()
    _accident_event(context, accident, "update", changes)
    return accident


def delete_accident(context: Context, accident: Accident) -> None:
    """Delete an accident recorded by mistake (the bureau's). One with a file attached (its
    investigation report) is kept: 409. Its history goes with it; the audit log keeps the
    deletion with the record as it was, and each event deleted."""
    _may(context, "accident.record", "删除事故记录")
    if accident_file_counts([accident.id]):
        raise Conflict("该事故已附有调查报告等文件，不能删除；登记有误的，请更正事故记录")
    for event in accident_history(context, accident):
        db.session.delete(event)
    db.session.flush()
    db.session.delete(accident)
    db.session.flush()


# --------------------------------------------------------------------------- the work list

STAGES = {None: (0, "登记创建"), "applied": (1, "提交自评"), "self_evaluated": (2, "组织评审"),
          "achieved": (3, "保持达标"), "renewal_due": (4, "启动复评"), "re_evaluating": (4, "评审或换证"),
          "exempt": (0, "复核暂不创建原因"), "delisted": (0, "摘牌后整改、重新创建")}
LAST_STAGE = 4


def worklist(context: Context) -> list[dict]:
    """What to push next for each enterprise the actor sees (a safety officer: his grid's),
    when, and how far it has got: small and micro enterprises without a record too. Most
    urgent first (a date before none)."""
    window = renewal_window_months(context)
    rows = db.session.execute(
        select(Enterprise, Certification)
        .outerjoin(Certification, Certification.enterprise_id == Enterprise.id)
        .where(Enterprise.deleted_at.is_(None), enterprise_clause(context, Enterprise.id),
               (Certification.id.is_not(None)) | Enterprise.scale.in_(("below", "micro")))
        .order_by(Enterprise.id, Certification.id)).all()
    rectify = dict(db.session.execute(
        select(Check.certification_id, func.max(Check.rectify_by))
        .where(Check.conclusion == "rectify").group_by(Check.certification_id)).all())
    out = []
    for enterprise, certification in rows:
        state = certification.state if certification is not None else None
        stage, step = STAGES[state]
        due = None
        if state == "achieved":
            why = rereview_reason(certification, enterprise)
            if why:
                step, due = f"重新评审（{why}）", context.today()
            elif certification.expires_on is not None:
                due = add_months(certification.expires_on, -window)
                step = "期满换证" if due <= context.today() else step
        elif state in ("renewal_due", "re_evaluating"):
            due = certification.expires_on
        if certification is not None and certification.id in rectify and state in VALID:
            step, due = "“回头看”限期整改", rectify[certification.id]
        out.append({"enterprise_id": enterprise.id, "enterprise_name": enterprise.name,
                    "area_id": enterprise.area_id,
                    "certification_id": certification.id if certification is not None else None,
                    "state": state, "state_label": STATES.get(state, "未创建"),
                    "next_step": step, "due": due, "stage": stage, "stages": LAST_STAGE,
                    "expires_on": certification.expires_on if certification is not None else None})
    out.sort(key=lambda r: (r["due"] is None, r["due"] or dt.date.max, r["enterprise_name"]))
    return out
