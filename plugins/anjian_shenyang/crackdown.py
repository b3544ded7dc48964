"""The crackdown's own rules: which enterprises it targets and with what deadline, the rules
self-check against the district's templates by group, and who is referred for a penalty.

- **Targets, planned or not.** The crackdown covers the street's 建材, 机械 and 轻工
  enterprises (``focus_sectors``). An enterprise's mark "列入2024年行政检查计划" (the plugin
  field ``inspection_plan_2024``) puts it in the planned group: "4月30日前 … 列入2024年行政
  检查计划内的16家企业全面建立完善安全生产规章制度和安全操作规程；5月15日前，推进计划外33家
  企业建立完善". Each target's reason says its group and deadline.
- **The rules self-check** (``rules_progress``): against the tenant's rule templates (the
  district's 271, ``template_rule_count``), an enterprise is *done* when every template is
  assessed and none is missing or outdated, *overdue* when its group's deadline has passed
  without that, else *due*. The group counts are set against the plan's 16 and 33, and the
  end-of-May evaluation (``evaluation_deadline``) is the report's (``anjian_shenyang.report``).
- **Dual control** (task 2): each target's risk registration (at least one risk point
  registered) against its date: the planned enterprises by 30 April, every other by the
  end of May (``risk_deadline``), counted beside the rules in ``rules_progress``.
- **The crackdown rule** ("集中攻坚阶段…对发现的隐患问题依法下达责令限期整改，对未按期整改的，
  依法实施行政处罚"): a hazard of the campaign found in the crackdown phase (1–20 May) with a
  deadline, overdue on the day asked, makes its enterprise a candidate for a penalty.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields

from anjian.plugin_api import NotFound, Refused, context, local_today

PLUGIN = "anjian_shenyang"
CAMPAIGN_KEY = "shenyang_small_industrial_crackdown_2024"
PLANNED = "inspection_plan_2024"
GROUPS = {"planned": "计划内企业", "other": "计划外企业"}
STATUSES = {"done": "已完成", "due": "进行中", "overdue": "逾期未完成"}


def extra_fields() -> dict:
    return {PLANNED: fields.Boolean(load_default=False, metadata={
        "title": "列入2024年行政检查计划", "aliases": ["2024年行政检查计划", "行政检查计划", "是否列入检查计划"]})}


def planned(enterprise) -> bool:
    return bool((getattr(enterprise, "extra", None) or {}).get(PLANNED))


def group_of(settings: dict, enterprise) -> tuple[str, dt.date]:
    if planned(enterprise):
        return "planned", settings["planned_enterprises_deadline"]
    return "other", settings["other_enterprises_deadline"]


def select_targets(tenant, enterprises) -> list:
    settings = tenant.settings[PLUGIN]
    sectors = settings["focus_sectors"]
    out = []
    for enterprise in enterprises:
        if enterprise.status == "closed" or enterprise.industry not in sectors:
            continue
        group, due = group_of(settings, enterprise)
        what = "计划内（列入2024年行政检查计划）" if group == "planned" else "计划外"
        out.append((enterprise, f"{enterprise.industry}行业，{what}：{due.month}月{due.day}日前建立完善"
                                f"安全生产规章制度和安全操作规程"))
    return out


class RulesProgressQuery(Schema):
    campaign_id = fields.Integer(load_default=None, allow_none=True)
    as_of = fields.Date(load_default=None, allow_none=True, metadata={"description": "统计日期，默认今天"})


def _campaign(campaign_id: int | None):
    """The campaign named (any of the tenant's: its targets are counted), else the latest
    crackdown."""
    ctx = context()
    campaign = ctx.campaign(campaign_id) if campaign_id else ctx.latest_campaign(CAMPAIGN_KEY)
    if campaign is None:
        raise NotFound("未找到该专项行动" if campaign_id else "尚未开展小微工业企业集中攻坚整治专项行动",
                       field="campaign_id")
    return campaign


def risk_deadline(settings: dict, group: str) -> dt.date:
    """Dual control (task 2): "4月30日前…计划内的16家企业全部录入《沈阳市风险报告动态管理系统》…；
    5月底前，实现全街道工业企业依托系统开展隐患自查自报自改" — a planned enterprise registers its
    risks by the planned deadline, every other by the evaluation deadline."""
    return settings["planned_enterprises_deadline"] if group == "planned" else settings["evaluation_deadline"]


def standing(counts: dict, due: dt.date, as_of: dt.date) -> str:
    done = counts["templates"] > 0 and counts["unassessed"] == counts["missing"] == counts["outdated"] == 0
    return "done" if done else "overdue" if as_of > due else "due"


def rules_progress(tenant, campaign_id: int | None = None, as_of: dt.date | None = None) -> dict:
    """Each target's rules against the templates, by group (see the module's doc); dates as
    ISO text."""
    settings = tenant.settings[PLUGIN]
    as_of = as_of or local_today()
    campaign = _campaign(campaign_id)
    ctx = context(tenant)
    targets = ctx.campaign_targets(campaign.id)
    counts = ctx.rules_counts([e.id for e in targets])
    risks = ctx.risk_counts([e.id for e in targets])
    empty = {"templates": 0, "present": 0, "missing": 0, "outdated": 0, "unassessed": 0}
    loaded = max((c["templates"] for c in counts.values()), default=0)
    groups = {key: {"key": key, "title": title, "enterprises": 0, "done": 0, "due": 0, "overdue": 0,
                    "risk_done": 0, "risk_due": 0, "risk_overdue": 0}
              for key, title in GROUPS.items()}
    groups["planned"].update(deadline=settings["planned_enterprises_deadline"].isoformat(),
                             risk_deadline=settings["planned_enterprises_deadline"].isoformat(),
                             planned_count=settings["planned_enterprise_count"])
    groups["other"].update(deadline=settings["other_enterprises_deadline"].isoformat(),
                           risk_deadline=settings["evaluation_deadline"].isoformat(),
                           planned_count=settings["other_enterprise_count"])
    rows = []
    for enterprise in targets:
        group, due = group_of(settings, enterprise)
        mine = counts.get(enterprise.id, empty)
        state = standing(mine, due, as_of)
        points = risks.get(enterprise.id, {}).get("points", 0)
        risk_due = risk_deadline(settings, group)
        risk_state = "done" if points else "overdue" if as_of > risk_due else "due"
        groups[group]["enterprises"] += 1
        groups[group][state] += 1
        groups[group][f"risk_{risk_state}"] += 1
        rows.append({"enterprise_id": enterprise.id, "enterprise_name": enterprise.name,
                     "industry": enterprise.industry, "group": group, "group_label": GROUPS[group],
                     "deadline": due.isoformat(), "status": state, "status_label": STATUSES[state], **mine,
                     "share_present": round(mine["present"] / mine["templates"], 4) if mine["templates"] else 0.0,
                     "risk_points": points, "risk_deadline": risk_due.isoformat(), "risk_status": risk_state,
                     "risk_status_label": STATUSES[risk_state]})
    warnings = []
    if loaded != settings["template_rule_count"]:
        warnings.append(f"已导入规章制度模板 {loaded} 个，方案要求对标 {settings['template_rule_count']} 个，"
                        "请导入区应急管理局推送的模板清单")
    for group in groups.values():
        if group["enterprises"] != group["planned_count"]:
            warnings.append(f"{group['title']}实有 {group['enterprises']} 家，方案为 {group['planned_count']} 家")
    return {"campaign_id": campaign.id, "as_of": as_of.isoformat(),
            "template_rule_count": settings["template_rule_count"], "templates_loaded": loaded,
            "evaluation_deadline": settings["evaluation_deadline"].isoformat(),
            "groups": list(groups.values()), "enterprises": rows, "warnings": warnings}


def rules_progress_route(tenant, query) -> dict:
    try:
        params = RulesProgressQuery().load(query or {})
    except ValidationError as exc:
        raise Refused("查询参数无效", errors=exc.messages) from exc
    return rules_progress(tenant, params["campaign_id"], params["as_of"])


def enforcement(tenant, campaign) -> list:
    """Enterprises with a hazard ordered fixed in the crackdown phase and now overdue."""
    if getattr(campaign, "kind", None) != CAMPAIGN_KEY:
        return []
    settings = tenant.settings[PLUGIN]
    ctx = context(tenant)
    hazards = ctx.hazards(campaign_id=campaign.id, with_deadline=True, found_from=settings["crackdown_start"],
                          found_until=settings["crackdown_end"], overdue_on=local_today(), by_found_on=True)
    enterprises = ctx.enterprises({h.enterprise_id for h in hazards})
    out = []
    for hazard in hazards:
        enterprise = enterprises.get(hazard.enterprise_id)
        if enterprise is not None:
            out.append((enterprise, f"集中攻坚阶段责令限期整改的隐患逾期未整改：{hazard.title}"
                                    f"（{hazard.found_on.isoformat()}发现，整改期限{hazard.deadline.isoformat()}），"
                                    "依法实施行政处罚"))
    return out
