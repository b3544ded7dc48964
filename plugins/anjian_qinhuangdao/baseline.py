"""The baseline survey (摸底, 验收标准 item 1): what the bureau must know of each enterprise.

"应急管理局掌握企业的基本信息和安全底数（包括各企业基本情况，地址、主要产品、员工人数、安全管理
人员数量、特种作业人员数量、主要风险因素、有无重大隐患等）". Six of these are core enterprise
fields; "有无重大隐患" is read from the hazard ledger (a major accident hazard found in the
programme), never typed in, so it cannot disagree with the ledger: 有 when one was found,
无 when the enterprise was surveyed and none was, and 未排查 when it was never surveyed
(no hazard found there means nothing yet). The plugin adds the date of the survey and the
number of certified special workers (item 7, 持证上岗) as enterprise extra fields; the
survey date is the day the programme's survey inspection was carried out, or, without
one on the platform, the date entered (the zone's survey sheets).
"""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from anjian.plugin_api import SCALES, ImportProfile, context
from anjian_qinhuangdao.catalogue import SURVEY_TEMPLATE
from anjian_qinhuangdao.settings import settings_of

SURVEY_ON = "qhd_survey_on"
CERTIFIED_SPECIAL_WORKERS = "qhd_certified_special_workers"

# The baseline's fields in the seed's order: (key, Chinese label).
BASELINE_FIELDS = (
    ("address", "地址"),
    ("main_products", "主要产品"),
    ("employees", "员工人数"),
    ("safety_managers", "安全管理人员数量"),
    ("special_workers", "特种作业人员数量"),
    ("main_risk_factors", "主要风险因素"),
)
LABELS = {**dict(BASELINE_FIELDS), "major_accident_hazard": "有无重大隐患",
          SURVEY_ON: "摸底排查日期", CERTIFIED_SPECIAL_WORKERS: "持证特种作业人员数量"}
# "有无重大隐患": found, surveyed and none found, never surveyed.
NOT_SURVEYED = "未排查"
MAJOR_LABELS = {True: "有", False: "无", None: NOT_SURVEYED}


def extra_fields() -> dict:
    """Fields the programme keeps on each enterprise beyond the core ones."""
    return {
        SURVEY_ON: fields.Date(allow_none=True, metadata={"title": LABELS[SURVEY_ON]}),
        CERTIFIED_SPECIAL_WORKERS: fields.Integer(
            allow_none=True, validate=validate.Range(min=0),
            metadata={"title": LABELS[CERTIFIED_SPECIAL_WORKERS],
                      "aliases": ("持证特种作业人数", "特种作业持证人数", "持证上岗人数")}),
    }


# The annex "2022年社会化服务企业名单" and the zone's survey sheets name the columns so.
SERVICE_LIST = ImportProfile(
    key="qhd_service_list", title="2022年社会化服务企业名单", target="enterprises",
    aliases={"name": ("服务对象企业", "服务对象", "服务企业名称"),
             "principal_name": ("企业主要负责人",),
             "main_risk_factors": ("主要风险", "风险因素辨识"),
             SURVEY_ON: ("排查日期", "摸底日期")})


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def targets_of(campaign_id: int) -> list:
    """The campaign's target enterprises (live ones), by name."""
    return context().campaign_targets(campaign_id)


def major_hazard_counts(campaign_id: int, enterprise_ids) -> dict[int, tuple[int, int]]:
    """{enterprise id: (major hazards found, of which verified)} in the campaign."""
    return context().hazard_counts_by_enterprise(campaign_id=campaign_id,
                                                 enterprise_ids=enterprise_ids, grade="major")


def inspection_dates(template_key: str, enterprise_ids, campaign_id: int | None = None,
                     first: bool = False) -> dict[int, dt.date]:
    """{enterprise id: the day its latest (``first``: earliest) submitted inspection on the
    template was carried out}, in the campaign when one is given."""
    return context().inspection_dates(template_key, enterprise_ids, campaign_id, first)


def surveyed_on(campaign_id: int | None, enterprise_ids) -> dict[int, dt.date]:
    """{enterprise id: the day its first submitted survey inspection was carried out} in the
    campaign (any, when None)."""
    return inspection_dates(SURVEY_TEMPLATE, enterprise_ids, campaign_id, first=True)


def enterprise_baseline(enterprise, majors: tuple[int, int] | None,
                        surveyed: dt.date | None = None) -> dict:
    """One enterprise's baseline: the seed's fields, the plugin's extras and the gaps
    (the fields still unknown, by their Chinese labels)."""
    extra = enterprise.extra or {}
    found, verified = majors or (0, 0)
    survey_on = (surveyed.isoformat() if surveyed else None) or extra.get(SURVEY_ON)
    major = True if found > 0 else (False if survey_on is not None else None)
    row = {
        "enterprise_id": enterprise.id,
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "scale": SCALES.get(enterprise.scale, enterprise.scale),
        "industry": enterprise.industry or "",
        **{key: getattr(enterprise, key) for key, _label in BASELINE_FIELDS},
        "major_hazard_installation": bool(enterprise.major_hazard),  # 重大危险源 (item 9)
        "surveyed": survey_on is not None,
        "major_accident_hazard": major,  # None: never surveyed (未排查)
        "major_accident_hazard_label": MAJOR_LABELS[major],
        "major_accident_hazards_found": found,
        "major_accident_hazards_verified": verified,
        SURVEY_ON: survey_on,
        CERTIFIED_SPECIAL_WORKERS: extra.get(CERTIFIED_SPECIAL_WORKERS),
    }
    gaps = [label for key, label in BASELINE_FIELDS if _blank(row[key])]
    if survey_on is None:
        gaps.append(LABELS[SURVEY_ON])
    row["gaps"] = gaps
    return row


def campaign_baseline(campaign, settings: dict) -> dict:
    """Every target's baseline, with the totals the bureau reads first."""
    enterprises = targets_of(campaign.id)
    ids = [e.id for e in enterprises]
    majors = major_hazard_counts(campaign.id, ids)
    surveyed = surveyed_on(campaign.id, ids)
    rows = [enterprise_baseline(e, majors.get(e.id), surveyed.get(e.id)) for e in enterprises]
    return {
        "campaign": {"id": campaign.id, "title": campaign.title},
        "planned": settings["target_enterprise_count"],
        "targets": len(rows),
        "complete": sum(1 for r in rows if not r["gaps"]),
        "with_gaps": sum(1 for r in rows if r["gaps"]),
        "with_major_accident_hazard": sum(1 for r in rows if r["major_accident_hazard"]),
        "not_surveyed": sum(1 for r in rows if not r["surveyed"]),
        "enterprises": rows,
    }


# --- the report kind "qinhuangdao_baseline" (安全底数表) ---------------------------------------

REPORT_KIND = "qinhuangdao_baseline"


class BaselineParameters(Schema):
    campaign_id = fields.Integer(required=True)


def compute(tenant, params: dict, snapshot_at) -> dict:
    campaign = context(tenant).campaign(params["campaign_id"])  # scoped
    if campaign is None:
        raise ValueError("专项行动不存在")
    return campaign_baseline(campaign, settings_of(tenant))


XLSX_COLUMNS = [("企业名称", 30, "name"), ("统一社会信用代码", 22, "credit_code"),
                ("规模", 8, "scale"), ("行业", 10, "industry"),
                *[(label, 14 if key not in ("address", "main_products", "main_risk_factors")
                   else 30, key) for key, label in BASELINE_FIELDS],
                ("有无重大隐患", 12, "major_accident_hazard_label"),
                ("重大危险源", 10, "major_hazard_installation"),
                (LABELS[CERTIFIED_SPECIAL_WORKERS], 14, CERTIFIED_SPECIAL_WORKERS),
                (LABELS[SURVEY_ON], 12, SURVEY_ON), ("尚缺信息", 40, "gaps")]


def xlsx(data: dict, workbook) -> None:
    """One sheet: a row per enterprise, then the totals."""
    sheet = workbook.add_worksheet("安全底数")
    bold = workbook.add_format({"bold": True})
    for col, (label, width, _key) in enumerate(XLSX_COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, label, bold)
    for n, row in enumerate(data["enterprises"], start=1):
        for col, (_label, _width, key) in enumerate(XLSX_COLUMNS):
            value = row[key]
            if isinstance(value, bool):
                value = "有" if value else "无"
            elif isinstance(value, list):
                value = "、".join(value)
            if value is None or value == "":
                continue
            if isinstance(value, (int, float)):
                sheet.write_number(n, col, value)
            else:
                sheet.write_string(n, col, str(value))
    last = len(data["enterprises"]) + 2
    sheet.write_string(last, 0, f"服务对象{data['targets']}家（方案{data['planned']}家），"
                                f"信息完整{data['complete']}家，尚缺信息{data['with_gaps']}家，"
                                f"有重大隐患{data['with_major_accident_hazard']}家，"
                                f"未排查{data['not_surveyed']}家", bold)
    sheet.freeze_panes(1, 1)
