"""The standardisation rules of seed 003: the 2019 programme, the ABCD classes, and what
bars a step of a certification beyond the core's rules.

Programme (二、工作目标): the targets come from the tenant's settings, for the settings'
``year`` only; the key industries are given to the core as the enterprise flags that
mark them (液氨制冷 → ``ammonia_refrigeration``, 有限空间作业 → ``confined_space``,
劳动密集型加工 → ``labour_intensive``).

Classes (三（五）): "要结合示范企业、期满换证企业、初评达标企业以及未达标企业进行ABCD分类".
A certificate is in force in the states achieved (达标), renewal_due (期满换证) and
re_evaluating (复评): the certificate stands until the renewal is decided or it is
delisted. A: a certificate in force marked demonstration (示范企业); B: one in force
renewed at least once (期满换证企业); C: one in force never renewed (初评达标企业); D:
none in force (not started, applied, self-evaluated, exempt or delisted: 未达标企业).
With several certificates (schemes) the best class counts. Each class has its
inspections a year (settings ``inspections_per_year_a`` .. ``_d``), plus
``key_industry_extra_inspections`` for an enterprise flagged with a key industry.

Steps (四（二）, 三（三）): the core already refuses renewal after a serious-injury or
fatal accident, with an open major hazard, and without a new review after
relocation, rebuilding or a wider scope. The plugin adds one rule, from "对一些为应付而
创建，走形式、不再符合安全生产标准化条件的企业要坚决摘牌": a certificate that a look-back
or quality audit recommended for delisting (``delisting_recommended``) is not simply
renewed (``renew``, 换证 without a review); it is either re-evaluated and passes a
review (the review clears the recommendation) or delisted by the bureau. The seed's
other conditions ("四个必须", "五个到位") name no facts the platform records, so no rule
is made of them.
"""

from __future__ import annotations

import datetime

from anjian.plugin_api import FLAGS, StandardisationProgramme, StandardisationRules, SupervisionClass, context
from anjian_changshu.settings import key_industry_flags, settings_of

# A certificate in force: achieved, and while its renewal is due or being re-evaluated.
IN_FORCE = ("achieved", "renewal_due", "re_evaluating")

# What the core keeps of a class's reason (enterprise_classes.reason).
REASON_LIMIT = 300

LABELS = {"A": "示范企业", "B": "期满换证企业", "C": "初评达标企业", "D": "未达标企业"}

_NOT_IN_FORCE = {
    "applied": "申报创建中，尚未达标",
    "self_evaluated": "已自评，尚未通过评审",
    "exempt": "暂不创建",
    "delisted": "已摘牌",
}


# --------------------------------------------------------------------------- the programme


def rules(tenant) -> StandardisationRules:
    """The schemes the county runs (the settings' ``schemes``: 小微企业标准化 and 三级 by
    default, the small enterprises' grades), certificates valid 3 years
    (《企业安全生产标准化建设定级办法》), the renewal window ``renewal_window_months``."""
    settings = settings_of(tenant)
    return StandardisationRules(schemes=tuple(settings["schemes"]),
                                validity_years={scheme: 3 for scheme in settings["schemes"]},
                                renewal_window_months=settings["renewal_window_months"])


def programme(tenant, year) -> StandardisationProgramme | None:
    """The 2019 targets of the settings, for the settings' year; None for another year."""
    settings = settings_of(tenant)
    if year is None or int(year) != settings["year"]:
        return None
    return StandardisationProgramme(
        targets={
            "achieved_total": settings["target_achieved_total"],
            "achieved_ratio": settings["target_achieved_ratio"],
            "key_industry_ratio": settings["target_key_industry_ratio"],
            "renewed_total": settings["target_renewed_total"],
            "renewed_ratio_of_due": settings["target_renewed_ratio_of_due"],
            "demonstration": settings["target_demonstration"],
            "lookbacks": settings["target_lookbacks"],
            "key_industry_lookbacks": settings["target_key_industry_lookbacks"],
            "delisting_ratio": settings["min_delisting_ratio"],
        },
        key_industries=key_industry_flags(settings["key_industries"]),
        due=settings["targets_due"],
    )


# --------------------------------------------------------------------------- ABCD


def _expiry(certification) -> str:
    expires_on = getattr(certification, "expires_on", None)
    return f"证书有效至 {expires_on.isoformat()}" if expires_on else "证书在有效期内"


def _in_force_detail(certification) -> str:
    state = certification.state
    detail = _expiry(certification)
    if state == "renewal_due":
        detail += "，已进入期满换证"
    elif state == "re_evaluating":
        detail += "，复评中"
    return detail


def _latest(certifications):
    """The certificate that lasts longest (one without an expiry counts as the shortest)."""
    return max(certifications,
               key=lambda c: getattr(c, "expires_on", None) or datetime.date.min)


def _short(text, limit: int = 60) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _not_in_force(certification) -> str:
    state = certification.state
    text = _NOT_IN_FORCE.get(state, state)
    if state == "delisted":
        on = getattr(certification, "delisted_on", None)
        parts = [on.isoformat() if on else "", _short(getattr(certification, "delisting_reason", ""))]
    elif state == "exempt":
        parts = [_short(getattr(certification, "exempt_reason", ""))]
    else:
        parts = []
    parts = [p for p in parts if p]
    return f"{text}（{'，'.join(parts)}）" if parts else text


def classify(tenant, enterprise, certifications) -> SupervisionClass | None:
    """The enterprise's ABCD class (see the module's docstring); None for a closed one."""
    if getattr(enterprise, "status", None) == "closed":
        return None  # 关闭: no longer supervised, so no class
    settings = settings_of(tenant)
    certifications = list(certifications or ())
    in_force = [c for c in certifications if c.state in IN_FORCE]
    demonstration = [c for c in in_force if getattr(c, "demonstration", False)]
    renewed = [c for c in in_force if (getattr(c, "renewals", 0) or 0) >= 1]
    if demonstration:
        code, chosen = "A", _latest(demonstration)
        reason = f"示范企业（{_in_force_detail(chosen)}）"
    elif renewed:
        code, chosen = "B", _latest(renewed)
        reason = f"期满换证企业（已换证 {chosen.renewals} 次，{_in_force_detail(chosen)}）"
    elif in_force:
        code, chosen = "C", _latest(in_force)
        reason = f"初评达标企业（{_in_force_detail(chosen)}）"
    else:
        code = "D"
        states = "；".join(dict.fromkeys(_not_in_force(c) for c in certifications))
        reason = f"未达标：{states or '未开展标准化创建'}；列为重点执法对象"
    per_year = settings[f"inspections_per_year_{code.lower()}"]
    flags = [flag for flag in key_industry_flags(settings["key_industries"])
             if getattr(enterprise, flag, False)]
    extra = settings["key_industry_extra_inspections"]
    if flags and extra:
        per_year += extra
        reason += f"；重点行业（{'、'.join(FLAGS.get(f, f) for f in flags)}），每年加查 {extra} 次"
    return SupervisionClass(code=code, label=LABELS[code], reason=_short(reason, REASON_LIMIT),
                            inspections_per_year=per_year)


SMALL_MICRO = ("below", "micro")


def campaign_targets(tenant, enterprises) -> list:
    """"2019年底前，全市规模以下企业原则上全部开展标准化创建（确有特殊原因或暂不具备创建条件
    的企业除外）": every live below-scale enterprise, except those exempted (暂不创建) and
    closed ones."""
    candidates = [e for e in enterprises if getattr(e, "scale", None) in SMALL_MICRO
                  and getattr(e, "status", None) != "closed"]
    records = context(tenant).certifications([e.id for e in candidates])
    out = []
    for enterprise in candidates:
        if any(c.state == "exempt" for c in records.get(enterprise.id, ())):
            continue
        out.append((enterprise, "规模以下企业全部开展标准化创建"))
    return out


def enforcement_candidates(tenant, campaign) -> list:
    """"将未达标企业或拒绝开展达标创建的小微企业作为重点执法对象": the campaign's live targets
    with no certificate in force (class D), each with why; a closed enterprise is not."""
    helpers = context(tenant)
    targets = helpers.campaign_targets(campaign.id)
    records = helpers.certifications([e.id for e in targets])
    out = []
    for enterprise in targets:
        certifications = records.get(enterprise.id, [])
        if getattr(enterprise, "status", None) == "closed" or any(c.state in IN_FORCE for c in certifications):
            continue
        states = "；".join(dict.fromkeys(_not_in_force(c) for c in certifications))
        out.append((enterprise, f"未达标：{states or '未开展标准化创建'}（重点执法对象）"))
    return out


# --------------------------------------------------------------------------- steps

RECOMMENDED_DELISTING = ("“回头看”或运行质量审计结论为建议摘牌（不再符合安全生产标准化条件的"
                         "应坚决摘牌），不得直接换证：须复评并经评审通过，或由主管部门摘牌")


def blockers(tenant, certification, enterprise, action, renewing) -> list[str]:
    """The Changshu reasons that bar ``action`` on the certification (see the module's
    docstring); the core's accident, major-hazard and re-review rules are not repeated."""
    if action == "renew" and getattr(certification, "delisting_recommended", False):
        return [RECOMMENDED_DELISTING]
    return []
