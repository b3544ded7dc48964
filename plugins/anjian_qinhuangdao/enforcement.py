"""Phase 5 (执法检查阶段): whom the bureau inspects with its enforcement officers, and how.

"针对社会化服务过程中不积极配合、对社会化服务发现提出的问题逾期不改或者拒不整改的企业由应急局
安排执法人员开展集中执法检查。根据企业行业规模不同以及在基础管理、风险管控方面的差异性，有针对性
的制定具体执法检查方案，做到一企一策 ... 涉及安全技术服务的事项，必须查实查透".

An enterprise of the campaign is a candidate when

- it did not cooperate (不积极配合): referred to enforcement as ``uncooperative`` (the record
  of its refusal), its details adding when it was never inspected in the service window;
- it left a problem past its deadline (逾期不改): a hazard of the campaign overdue on the
  plan's date (the core's rule: marked overdue, or still open past its deadline), or
  referred as ``overdue``;
- it refused (拒不整改): a hazard referred as ``refused``;
- it was not surveyed (尚未排查): a target never inspected in the campaign once the service
  window (the acceptance phase) closed, with no record of refusing. Nobody visiting an
  enterprise is not the enterprise failing to cooperate, so it is named for what it is: the
  bureau verifies why (the enterprise barred the door: refer it as uncooperative; the
  service organisation never came: it surveys it late).

Each gets a plan (一企一策): the reasons, the measures they call for, the points to
inspect from its own weaknesses (the acceptance criteria it did not meet: basic
management 基础管理 and risk control 风险管控; its risk flags; its open hazards), who
inspects (``enforcement_department``) and by when (the end of the enforcement phase,
or ``enforcement_workdays`` working days after the plan's date when the tenant left
the phase undated).
"""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields

from anjian.plugin_api import FLAGS, GRADES, OPEN_STATES, SCALES, STATES, add_workdays, context
from anjian.plugin_api import local_today as today  # today in China
from anjian_qinhuangdao.catalogue import ACCEPTANCE_CRITERIA, ACCEPTANCE_TEMPLATE, CAMPAIGN_KEY
from anjian_qinhuangdao.settings import settings_of

REPORT_KIND = "qinhuangdao_enforcement_plan"

REASONS = {
    "uncooperative": "不积极配合社会化服务",
    "overdue": "对社会化服务发现提出的问题逾期不改",
    "refused": "对社会化服务发现提出的问题拒不整改",
    "not_surveyed": "服务期内尚未排查（待核实原因，不等同于不积极配合）",
}
MEASURES = {
    "uncooperative": "开展执法检查，核实不配合、拒绝或阻挠社会化服务检查的情况，依法依规处理",
    "overdue": "逐项核查逾期未整改的隐患，责令限期整改，逾期仍不整改的依法实施处罚",
    "refused": "对拒不整改的隐患依法实施行政处罚，存在重大事故隐患的依法责令停产停业整顿",
    "not_surveyed": "核实未排查的原因：企业拒绝或阻挠服务机构检查的，按不积极配合移交执法；"
                    "服务机构未到企业排查的，责成其限期补充排查",
}
# Acceptance criteria by the seed's two axes of difference.
BASIC_MANAGEMENT = ("YS01", "YS02", "YS03", "YS04", "YS05", "YS07", "YS08")
RISK_CONTROL = ("YS06", "YS09")
FLAG_FOCUS = {
    "dust_explosion": "粉尘防爆：除尘系统、防爆电气、粉尘清扫制度",
    "ammonia_refrigeration": "液氨制冷：液氨储存和使用、泄漏报警和应急处置",
    "confined_space": "有限空间：辨识清单台账、作业审批、检测通风和监护",
    "major_hazard": "重大危险源：登记建档、监测监控和定期检测评估",
    "labour_intensive": "劳动密集：疏散通道、安全出口和消防设施",
}
TECHNICAL_SERVICE_CHECK = "核查社会化服务机构对该企业的服务情况，涉及安全技术服务的事项查实查透"
CRITERION_TEXT = {c.code: c.text for c in ACCEPTANCE_CRITERIA}


class EnforcementPlanParameters(Schema):
    campaign_id = fields.Integer(required=True)
    on = fields.Date(load_default=None, allow_none=True)  # the plan's date (default: today)


def is_programme(campaign) -> bool:
    return campaign is not None and campaign.kind == CAMPAIGN_KEY


def _phase(campaign_id: int, key: str):
    return context().campaign_phase(campaign_id, key)


def service_window_end(campaign) -> dt.date | None:
    phase = _phase(campaign.id, "acceptance")
    return (phase.ends_on if phase is not None and phase.ends_on else None) or campaign.ends_on


def findings(campaign, on: dt.date) -> dict[int, dict[str, list[str]]]:
    """{enterprise id: {reason code: [details]}} for the campaign as of ``on``."""
    out: dict[int, dict[str, list[str]]] = {}

    def add(enterprise_id, code, detail):
        out.setdefault(enterprise_id, {}).setdefault(code, []).append(detail)

    reads = context()
    for referral in reads.referrals(campaign_id=campaign.id):
        if referral.reason in REASONS:
            detail = referral.reason_text or f"移交执法记录 {referral.id}"
            add(referral.enterprise_id, referral.reason, detail)
    for hazard in reads.hazards(campaign_id=campaign.id, overdue_on=on, with_deadline=True):
        add(hazard.enterprise_id, "overdue",
            f"{GRADES[hazard.grade]}“{hazard.title}”整改期限{hazard.deadline.isoformat()}，"
            f"{STATES[hazard.state]}")
    end = service_window_end(campaign)
    if end is not None and on > end:
        for enterprise_id in reads.targets_not_inspected(campaign.id):
            if "uncooperative" in out.get(enterprise_id, {}):  # its refusal is on record
                add(enterprise_id, "uncooperative", f"服务期（至{end.isoformat()}）内未接受检查")
            else:
                add(enterprise_id, "not_surveyed",
                    f"服务期（至{end.isoformat()}）内未排查，无拒绝或阻挠检查的记录")
    return out


def _reason_text(found: dict[str, list[str]]) -> str:
    return "；".join(REASONS[code] for code in REASONS if code in found)


def candidates(tenant, campaign) -> list[tuple]:
    """The ``enforcement_candidates`` answer: [(enterprise, reason)], one per enterprise."""
    if not is_programme(campaign):
        return []
    found = findings(campaign, today())
    enterprises = _enterprises(found)
    return [(enterprises[e], _reason_text(found[e])) for e in found if e in enterprises]


def _enterprises(found) -> dict:
    return context().enterprises(found) if found else {}


def unmet_criteria(campaign_id: int, enterprise_ids) -> dict[int, list[str]]:
    """{enterprise id: codes answered "no"} in its latest submitted acceptance."""
    return context().latest_answers(campaign_id=campaign_id, template_key=ACCEPTANCE_TEMPLATE,
                                    enterprise_ids=enterprise_ids, answer="no")


def _open_hazards(campaign_id: int, enterprise_ids) -> dict[int, list]:
    out: dict[int, list] = {}
    for hazard in context().hazards(campaign_id=campaign_id, enterprise_ids=enterprise_ids,
                                    states=(*OPEN_STATES, "referred")):
        out.setdefault(hazard.enterprise_id, []).append(hazard)
    return out


def plan_deadline(campaign, settings: dict, on: dt.date) -> tuple[dt.date, str]:
    phase = _phase(campaign.id, "enforcement")
    if phase is not None and phase.ends_on is not None and phase.ends_on >= on:
        return phase.ends_on, "执法检查阶段结束日期"
    days = settings["enforcement_workdays"]
    return add_workdays(on, days).date, f"制定方案后{days}个工作日内"


def plan_for(enterprise, found: dict[str, list[str]], unmet: list[str],
             open_hazards: list, department: str, deadline: dt.date,
             deadline_basis: str) -> dict:
    """One enterprise's plan (一企一策)."""
    measures = [MEASURES[code] for code in REASONS if code in found]
    focus = []
    for code in unmet:
        axis = "基础管理" if code in BASIC_MANAGEMENT else "风险管控"
        focus.append(f"{axis}：{CRITERION_TEXT.get(code, code)}（验收未达到）")
    focus += [FLAG_FOCUS[flag] for flag in FLAGS if getattr(enterprise, flag, False)]
    focus += [f"隐患复查：{h.title}（{GRADES[h.grade]}，{STATES[h.state]}）" for h in open_hazards]
    measures.append(TECHNICAL_SERVICE_CHECK)
    return {
        "enterprise_id": enterprise.id,
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "industry": enterprise.industry or "",
        "scale": SCALES.get(enterprise.scale, enterprise.scale),
        "employees": enterprise.employees,
        "reasons": [{"code": code, "title": REASONS[code], "details": found[code]}
                    for code in REASONS if code in found],
        "reason": _reason_text(found),
        "measures": measures,
        "focus": focus,
        "responsible_department": department,
        "deadline": deadline.isoformat(),
        "deadline_basis": deadline_basis,
    }


def plans(tenant, campaign, on: dt.date | None = None) -> dict:
    """The plans of every candidate of the campaign as of ``on`` (default today)."""
    on = on or today()
    settings = settings_of(tenant)
    if not is_programme(campaign):
        return {"campaign": {"id": campaign.id, "title": campaign.title}, "on": on.isoformat(),
                "enterprises": []}
    found = findings(campaign, on)
    enterprises = _enterprises(found)
    ids = [e for e in found if e in enterprises]
    unmet = unmet_criteria(campaign.id, ids)
    open_hazards = _open_hazards(campaign.id, ids)
    deadline, basis = plan_deadline(campaign, settings, on)
    rows = [plan_for(enterprises[e], found[e], unmet.get(e, []), open_hazards.get(e, []),
                     settings["enforcement_department"], deadline, basis)
            for e in sorted(ids, key=lambda e: (enterprises[e].name, e))]
    return {"campaign": {"id": campaign.id, "title": campaign.title}, "on": on.isoformat(),
            "enterprises": rows}


def compute(tenant, params: dict, snapshot_at) -> dict:
    campaign = context(tenant).campaign(params["campaign_id"])  # scoped
    if campaign is None:
        raise ValueError("专项行动不存在")
    return plans(tenant, campaign, params.get("on"))


XLSX_HEADERS = [("企业名称", 30), ("统一社会信用代码", 22), ("行业", 10), ("规模", 8),
                ("纳入执法原因", 40), ("执法措施", 60), ("检查重点", 60), ("责任部门", 20),
                ("完成期限", 12)]


def xlsx_rows(data: dict) -> list[list]:
    """One row per enterprise (the lists joined one per line)."""
    return [[p["name"], p["credit_code"], p["industry"], p["scale"], p["reason"],
             "\n".join(p["measures"]), "\n".join(p["focus"]), p["responsible_department"],
             p["deadline"]] for p in data["enterprises"]]


def xlsx(data: dict, workbook) -> None:
    """One sheet: a plan per enterprise (lists one item per line)."""
    sheet = workbook.add_worksheet("执法检查方案")
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    for col, (label, width) in enumerate(XLSX_HEADERS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, label, bold)
    for n, row in enumerate(xlsx_rows(data), start=1):
        for col, value in enumerate(row):
            if value is not None and value != "":
                sheet.write_string(n, col, str(value), wrap)
    sheet.freeze_panes(1, 1)
