"""Phase 3 (复查验收): the per-enterprise report with a conclusion (情况报告和结论性意见).

"对企业整改情况进行全面复查验收，验收完成后对每家企业出具情况报告和结论性意见。" The
re-inspection is an inspection against the acceptance checklist (the nine 验收标准);
submitting it asks the reports core for this report (``qinhuangdao_acceptance``, PDF),
generated in the background. The report gathers the enterprise's baseline (item 1),
the nine criteria as answered, the hazards found and rectified in the programme, and
the conclusion.

The conclusion rule. The seed grades nothing itself; it names what the service must
achieve (the nine criteria), what it is about above all (major hazards: "尤其是针对行业内
重大隐患的排查", "重大隐患能够第一时间掌握", "重大危险源有效监管") and whom phase 5 pursues
(逾期不改, 拒不整改). So:

- 不合格 (fails) when a major accident hazard found in the programme is still open
  (reported, rectifying, overdue) or was referred; when any hazard is overdue or was
  referred to enforcement (the conduct phase 5 pursues); when criterion 2 (major
  hazards known at once) or 9 (major hazard installations effectively supervised) is
  not met; or when more criteria are unmet than ``basic_pass_max_unmet`` (2) allows;
- 合格 (passes) when all nine criteria are met (or do not apply) and every hazard found
  is rectified (整改完成, verified or awaiting the bureau's 销号);
- 基本合格 (basically passes) otherwise: some criteria unmet (at most the allowed number,
  neither 2 nor 9), or general hazards still being rectified within their deadline.

The report states one conclusion (结论性意见): the one computed by this rule, labelled as
such, beside the service organisation's own opinion (the acceptance's 结论性意见 as it
wrote it), labelled as its opinion; neither is passed off as the other. The report is
issued by the service organisation (the inspector's) for the bureau (报送), numbered
``<report_number_prefix>-<year>-<acceptance id>``; its dates are the days the survey and
the acceptance were carried out (``performed_on``), and a working-day deadline counted
over a year whose holidays are not published yet is marked 暂定.
"""

from __future__ import annotations

from html import escape

from marshmallow import Schema, ValidationError, fields, validates_schema

from anjian.plugin_api import ANSWERS, GRADES, OPEN_STATES, SOURCES, STATES, context
from anjian_qinhuangdao import spot_checks
from anjian_qinhuangdao.baseline import (
    BASELINE_FIELDS,
    CERTIFIED_SPECIAL_WORKERS,
    LABELS,
    SURVEY_ON,
    enterprise_baseline,
    surveyed_on,
)
from anjian_qinhuangdao.catalogue import ACCEPTANCE_TEMPLATE
from anjian_qinhuangdao.settings import settings_of

REPORT_KIND = "qinhuangdao_acceptance"

PASS, BASIC_PASS, FAIL = "合格", "基本合格", "不合格"
CONCLUSION_LABEL = "按验收判定规则得出的结论"
OPINION_LABEL = "服务机构复查验收意见"
PROVISIONAL = "（暂定）"  # a working-day deadline over holidays not yet published
# Criteria whose failure alone fails the enterprise: the seed's two "major" ones.
VETO_CRITERIA = ("YS02", "YS09")
RECTIFIED_STATES = ("rectified", "verified")

RULE_TEXT = (
    "判定规则：重大事故隐患未整改或已移交执法、存在逾期未整改或移交执法的隐患、验收标准第2项"
    "（重大隐患第一时间掌握）或第9项（重大危险源有效监管）未达到、未达到的验收标准超过{limit}项的，"
    "为“不合格”；九项验收标准全部达到（或不适用）且排查出的隐患全部整改完成的，为“合格”；其余为“基本合格”。"
)


class AcceptanceError(ValueError):
    """The report cannot be made from these parameters (a Chinese message)."""


class AcceptanceParameters(Schema):
    """Which acceptance: an inspection, or an enterprise's latest one in a campaign."""

    inspection_id = fields.Integer(load_default=None, allow_none=True)
    enterprise_id = fields.Integer(load_default=None, allow_none=True)
    campaign_id = fields.Integer(load_default=None, allow_none=True)

    @validates_schema
    def _one_way(self, data, **kwargs):
        if data.get("inspection_id") is not None:
            if data.get("enterprise_id") is not None or data.get("campaign_id") is not None:
                raise ValidationError("给出复查验收检查，或给出企业和专项行动，二者选一", "inspection_id")
            return
        if data.get("enterprise_id") is None or data.get("campaign_id") is None:
            raise ValidationError("须给出复查验收检查（inspection_id），或企业和专项行动", "inspection_id")


def enterprise_of(tenant, params: dict) -> int | None:
    """The enterprise the report is about (``ReportKind.enterprise``): the service
    organisations serving it read the report."""
    if params.get("enterprise_id") is not None:
        return params["enterprise_id"]
    inspection = context(tenant).inspection(params["inspection_id"])  # scoped
    return inspection.enterprise_id if inspection is not None else None


def report_number(settings: dict, inspection) -> str:
    """The report's number: one per acceptance, the same in every format."""
    return f"{settings['report_number_prefix']}-{inspection.performed_on.year}-{inspection.id:05d}"


def template_key(inspection) -> str | None:
    return context().template_key(inspection)


def is_acceptance(inspection) -> bool:
    return template_key(inspection) == ACCEPTANCE_TEMPLATE


def find_inspection(params: dict):
    """The submitted acceptance inspection the parameters name."""
    reads = context()
    if params.get("inspection_id") is not None:
        inspection = reads.inspection(params["inspection_id"])  # scoped
        if inspection is None or not is_acceptance(inspection):
            raise AcceptanceError("复查验收检查不存在")
    else:
        inspection = reads.latest_inspection(enterprise_id=params["enterprise_id"],
                                             campaign_id=params["campaign_id"],
                                             template_key=ACCEPTANCE_TEMPLATE)
        if inspection is None:
            raise AcceptanceError("该企业在此专项行动中尚无已提交的复查验收")
    if inspection.status != "submitted":
        raise AcceptanceError("复查验收尚未提交")
    return inspection


def hazard_summary(hazards: list, overdue: int) -> dict:
    """Counts the conclusion reads; ``overdue``: how many of ``hazards`` were overdue at the
    acceptance, by the core's rule (``context().hazards(overdue_on=...)``)."""
    return {
        "found": len(hazards),
        "rectified": sum(1 for h in hazards if h.state in RECTIFIED_STATES),
        "verified": sum(1 for h in hazards if h.state == "verified"),
        "open": sum(1 for h in hazards if h.state in OPEN_STATES),
        "overdue": overdue,
        "referred": sum(1 for h in hazards if h.state == "referred"),
        "major_found": sum(1 for h in hazards if h.grade == "major"),
        "major_verified": sum(1 for h in hazards if h.grade == "major" and h.state == "verified"),
        "major_open": sum(1 for h in hazards if h.grade == "major"
                          and h.state not in RECTIFIED_STATES),
    }


def conclude(criteria: list[dict], summary: dict, max_unmet: int) -> tuple[str, list[str]]:
    """The conclusion and its reasons (see the module's rule)."""
    unmet = [c for c in criteria if c["answer"] == "no"]
    unanswered = [c for c in criteria if c["answer"] is None]
    fail: list[str] = []
    if summary["major_open"]:
        fail.append(f"重大事故隐患{summary['major_open']}项未整改完成")
    if summary["overdue"]:
        fail.append(f"隐患{summary['overdue']}项逾期未整改")
    if summary["referred"]:
        fail.append(f"隐患{summary['referred']}项拒不整改或逾期已移交执法")
    for c in unmet:
        if c["code"] in VETO_CRITERIA:
            fail.append(f"验收标准第{c['number']}项未达到：{c['text']}")
    if len(unmet) > max_unmet:
        fail.append(f"{len(unmet)}项验收标准未达到（超过{max_unmet}项）")
    if unanswered:
        fail.append("验收标准未全部复查：第" + "、".join(str(c["number"]) for c in unanswered) + "项")
    if fail:
        return FAIL, fail
    open_count = summary["found"] - summary["rectified"]
    if not unmet and open_count == 0:
        reasons = ["九项验收标准全部达到"]
        if summary["found"]:
            reasons.append(f"排查出的{summary['found']}项隐患全部整改完成")
        return PASS, reasons
    reasons = [f"验收标准第{c['number']}项未达到：{c['text']}" for c in unmet]
    if open_count:
        reasons.append(f"一般隐患{open_count}项正在整改期限内")
    return BASIC_PASS, reasons


def _person(user_id: int | None) -> str:
    return context().user_name(user_id)


def _organisation(user_id: int | None) -> str:
    """The service organisation the inspector works for, if any."""
    return context().organisation_of(user_id)


def _criteria(inspection) -> list[dict]:
    rows = context().inspection_results(inspection.id)
    return [{"number": n, "code": r["code"], "text": r["text"], "part": r["part"],
             "answer": r["answer"], "answer_label": ANSWERS.get(r["answer"], "未复查"),
             "note": r["note"] or ""}
            for n, r in enumerate(rows, start=1)]


def _hazard_row(h) -> dict:
    return {"id": h.id, "title": h.title, "grade": h.grade, "grade_label": GRADES[h.grade],
            "grade_criterion": h.grade_criterion or "",
            "state": h.state, "state_label": STATES[h.state],
            "source_label": SOURCES.get(h.source, h.source), "found_on": h.found_on.isoformat(),
            "deadline": h.deadline.isoformat() if h.deadline else None,
            "deadline_provisional": bool(h.deadline and h.deadline_provisional)}


def compute(tenant, params: dict, snapshot_at) -> dict:
    """The report's data (JSON): runs in the report job, from ids only."""
    settings = settings_of(tenant)
    inspection = find_inspection(params)
    reads = context(tenant)
    enterprise = reads.enterprise(inspection.enterprise_id)
    if enterprise is None:
        raise AcceptanceError("企业不存在")
    accepted_on = inspection.performed_on  # the day it was carried out, not entered
    if inspection.campaign_id is not None:
        which = {"enterprise_id": enterprise.id, "campaign_id": inspection.campaign_id}
    else:  # alone: the hazards found in the service window up to the acceptance
        which = {"enterprise_id": enterprise.id, "found_from": settings["service_start"],
                 "found_until": accepted_on}
    hazards = reads.hazards(**which, by_found_on=True)
    criteria = _criteria(inspection)
    summary = hazard_summary(hazards, len(reads.hazards(**which, overdue_on=accepted_on)))
    conclusion, reasons = conclude(criteria, summary, settings["basic_pass_max_unmet"])
    # The baseline's "有无重大隐患" counts the very hazards the conclusion reads (the
    # campaign's, or the service window's when the acceptance stands alone).
    majors = (summary["major_found"], summary["major_verified"])
    # The survey date is the day the survey inspection was carried out (the campaign's,
    # or any survey of the enterprise when the acceptance stands alone).
    surveyed = surveyed_on(inspection.campaign_id, [enterprise.id]).get(enterprise.id)
    spot_check_due = spot_checks.due_date(tenant, accepted_on)
    organisation = _organisation(inspection.inspector_user_id)
    bureau = getattr(tenant, "name", "")
    return {
        "tenant": bureau,
        "title": "安全生产社会化服务企业复查验收情况报告",
        "report_number": report_number(settings, inspection),
        # Issued by the service organisation for the bureau (a bureau's own acceptance: by it).
        "issued_by": organisation or bureau,
        "issued_by_service_organisation": bool(organisation),
        "issued_for": bureau,
        "inspection_id": inspection.id,
        "campaign_id": inspection.campaign_id,
        "enterprise": enterprise_baseline(enterprise, majors, surveyed),
        "accepted_on": accepted_on.isoformat(),
        "inspector": _person(inspection.inspector_user_id),
        "service_organisation": organisation,
        "summary_text": inspection.summary or "",
        "criteria": criteria,
        "criteria_met": sum(1 for c in criteria if c["answer"] in ("yes", "na")),
        "hazards": [_hazard_row(h) for h in hazards],
        "hazard_summary": summary,
        # One conclusion: the rule's, labelled as computed; the organisation's own words
        # beside it, labelled as its opinion.
        "conclusion": conclusion,
        "conclusion_label": CONCLUSION_LABEL,
        "reasons": reasons,
        "service_opinion": inspection.conclusion or "",
        "service_opinion_label": OPINION_LABEL,
        "rule": RULE_TEXT.format(limit=settings["basic_pass_max_unmet"]),
        "spot_check_due": spot_check_due.date.isoformat(),
        "spot_check_due_provisional": bool(spot_check_due.provisional),
        "spot_check_workdays": settings["spot_check_workdays"],
        "snapshot_at": snapshot_at.isoformat() if hasattr(snapshot_at, "isoformat") else snapshot_at,
    }


# --- rendering --------------------------------------------------------------------------------

def _cell(value) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return "有"
    if value is False:
        return "无"
    return escape(str(value))


def _dated(day: str | None, provisional: bool) -> str:
    """A deadline's date, marked 暂定 when counted over holidays not published yet."""
    if not day:
        return "—"
    return escape(day) + (PROVISIONAL if provisional else "")


def html(data: dict) -> str:
    """The report's HTML body (the reports core adds the page, the CJK font and the PDF)."""
    ent = data["enterprise"]
    hs = data["hazard_summary"]
    baseline_rows = [("企业名称", ent["name"]), ("统一社会信用代码", ent["credit_code"]),
                     ("规模", ent["scale"]), ("行业", ent["industry"])]
    baseline_rows += [(label, ent[key]) for key, label in BASELINE_FIELDS]
    major = ent["major_accident_hazard_label"]
    if ent["major_accident_hazard"] is not None:
        major += (f"（排查出重大事故隐患{ent['major_accident_hazards_found']}项，"
                  f"已销号{ent['major_accident_hazards_verified']}项）")
    baseline_rows += [
        (LABELS["major_accident_hazard"], major),
        ("重大危险源", ent["major_hazard_installation"]),
        (LABELS[CERTIFIED_SPECIAL_WORKERS], ent[CERTIFIED_SPECIAL_WORKERS]),
        (LABELS[SURVEY_ON], ent[SURVEY_ON] or "未排查"),
    ]
    issuer = escape(data["issued_by"])
    if data["issued_by_service_organisation"]:
        issuer += "（第三方安全技术服务机构）"
    out = [
        f"<h1>{escape(data['title'])}</h1>",
        f"<p class=\"meta\">报告编号：{escape(data['report_number'])}</p>",
        f"<p class=\"meta\">出具单位：{issuer}　报送：{escape(data['issued_for'])}</p>",
        f"<p class=\"meta\">企业：{escape(ent['name'])}　复查验收日期：{escape(data['accepted_on'])}"
        f"　复查人：{_cell(data['inspector'])}</p>",
        "<h3>一、企业基本情况和安全底数</h3>",
        "<table class=\"baseline\"><colgroup><col style=\"width:30%\"><col></colgroup>",
        *[f"<tr><th>{escape(label)}</th><td>{_cell(value)}</td></tr>" for label, value in baseline_rows],
        "</table>",
    ]
    if ent["gaps"]:
        out.append(f"<p>基本信息尚缺：{escape('、'.join(ent['gaps']))}</p>")
    out += [
        f"<h3>二、验收标准逐项复查情况（达到{data['criteria_met']}项，共{len(data['criteria'])}项）</h3>",
        "<table class=\"criteria\"><colgroup><col style=\"width:8%\"><col style=\"width:60%\">"
        "<col style=\"width:10%\"><col style=\"width:22%\"></colgroup>"
        "<tr><th>序号</th><th>验收标准</th><th>结果</th><th>说明</th></tr>",
        *[f"<tr><td>{c['number']}</td><td>{escape(c['text'])}</td><td>{escape(c['answer_label'])}</td>"
          f"<td>{_cell(c['note'])}</td></tr>" for c in data["criteria"]],
        "</table>",
        "<h3>三、隐患排查及整改情况</h3>",
        f"<p>排查出隐患{hs['found']}项（其中重大事故隐患{hs['major_found']}项），已整改完成{hs['rectified']}项"
        f"（已验收销号{hs['verified']}项），未整改{hs['open']}项，逾期{hs['overdue']}项，"
        f"移交执法{hs['referred']}项。</p>",
    ]
    if data["hazards"]:
        out += [
            "<table class=\"hazards\"><tr><th>隐患</th><th>等级</th><th>发现日期</th><th>来源</th>"
            "<th>整改期限</th><th>状态</th></tr>",
            *[f"<tr><td>{escape(h['title'])}</td><td>{escape(h['grade_label'])}"
              + (f"<br>判定依据：{escape(h['grade_criterion'])}" if h["grade_criterion"] else "")
              + f"</td><td>{escape(h['found_on'])}</td><td>{escape(h['source_label'])}</td>"
              f"<td>{_dated(h['deadline'], h['deadline_provisional'])}</td>"
              f"<td>{escape(h['state_label'])}</td></tr>"
              for h in data["hazards"]],
            "</table>",
        ]
    opinion = data["service_opinion"] or "（未填写）"
    out += [
        "<h3>四、结论性意见</h3>",
        f"<p class=\"conclusion\" style=\"font-size:14pt;font-weight:bold\">"
        f"结论：{escape(data['conclusion'])}</p>",
        f"<p>（{escape(data['conclusion_label'])}，理由如下）</p>",
        "<ul>", *[f"<li>{escape(r)}</li>" for r in data["reasons"]], "</ul>",
        f"<p>{escape(data['service_opinion_label'])}：{escape(opinion)}</p>",
        f"<p class=\"rule\">{escape(data['rule'])}</p>",
        f"<p>应急管理局抽查验收期限（复查验收后{data['spot_check_workdays']}个工作日内）："
        f"{_dated(data['spot_check_due'], data['spot_check_due_provisional'])}</p>",
    ]
    return "\n".join(out)


def request_report(tenant, inspection, actor):
    """Ask the reports core for this enterprise's report (PDF), made in the background once
    the submission commits; the requester is the inspector, so that a service organisation
    can deliver the report as its own."""
    return context(tenant).request_report(REPORT_KIND, "pdf", {"inspection_id": inspection.id},
                                          getattr(actor, "id", None))
