"""The campaign kind (four phases), and its dated tasks: the enterprises' recurring duties
(二（一）1, 2 and 6 of the plan) and the two reports the sections owe the bureau."""

from __future__ import annotations

import datetime as dt

from anjian.plugin_api import CampaignKind, Milestone, Phase

CAMPAIGN_KEY = "hebei_major_hazards_2023"
PLUGIN = "anjian_tianjin_hebei"

FOCUS_SECTORS = ("大型商超", "标准化菜市场", "非星级酒店", "商业综合体")
# Principal-led inspection monthly instead of quarterly (任务1).
HIGH_RISK_SECTORS = ("建筑施工", "危险物品经营储存")
# Drills quarterly instead of once (任务6): the seed adds road transport here.
HIGH_RISK_DRILL_SECTORS = ("建筑施工", "道路运输", "危险物品经营储存")

# Working days before the due date at which the task reminds (campaign_milestones).
REMIND_REPORT = 5
REMIND_QUARTER = 5
REMIND_MONTH = 3

QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


KIND = CampaignKind(
    key=CAMPAIGN_KEY,
    title="河北区商务局重大事故隐患排查整治2023专项行动",
    year=2023,
    phases=(
        Phase(
            key="mobilisation",
            title="动员部署",
            start="2023-05-01",
            end="2023-05-31",
            rule="召开动员部署会议，印发方案，下发重大事故隐患判定标准和重点检查事项；"
            "5月中下旬各科室动员部署，明确重点检查事项清单，编制明白纸，向企业传达专项行动要求",
        ),
        Phase(
            key="self_inspection",
            title="企业自查自改",
            start="2023-06-01",
            end="2023-06-30",
            rule="企业依据重大事故隐患判定标准或重点检查事项清单自查自改，"
            "建立重大事故隐患台账清单，实行闭环管理",
        ),
        Phase(
            key="supervision",
            title="部门督导",
            start="2023-07-01",
            end="2023-11-30",
            rule="聚焦重大事故隐患判定标准和企业主要负责人履职情况精准督促检查，"
            "通过移交或配合执法部门联合执法推动企业真查真改，主动报告重大事故隐患",
        ),
        Phase(
            key="summary",
            title="总结提高",
            start="2023-12-01",
            end="2023-12-31",
            rule="全面总结成效，梳理好经验、好做法，健全完善长效工作机制",
        ),
    ),
    focus=(*FOCUS_SECTORS, "消防安全", "电气焊等动火作业", "燃气报警器", "燃气设施"),
    # The stage report (29 July) and the summary (28 November) come from
    # campaign_milestones, with reminders and the tenant's dates.
    milestones=(
        Milestone(date="2023-05-23", rule="专项行动工作方案传达部署到相关企业"),
        Milestone(date="2023-05-24", rule="动员部署情况汇总报送企业服务科"),
        Milestone(date="2023-05-25", rule="首次上报调度表（此后每周一中午前上报累计数据）"),
    ),
)


# --- dated tasks (campaign_milestones) -------------------------------------------------------

def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def months(start: dt.date, end: dt.date) -> list[tuple[int, int, dt.date]]:
    """(year, month, due) of every calendar month overlapping [start, end]; due is the
    month's last day, or ``end`` in the last month."""
    out, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append((year, month, min(_month_end(year, month), end)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def quarters(start: dt.date, end: dt.date) -> list[tuple[int, int, dt.date]]:
    """(year, quarter, due) of every calendar quarter overlapping [start, end]."""
    out = []
    for year, month, due in months(start, end):
        quarter = (month - 1) // 3 + 1
        if month % 3 == 0 or due == end:
            if not out or out[-1][:2] != (year, quarter):
                out.append((year, quarter, due))
    return out


def _sectors(names) -> str:
    return "、".join(names)


def milestones(settings: dict, campaign) -> list[dict]:
    """The tasks of a campaign of this plugin's kind (any other campaign: none)."""
    if getattr(campaign, "kind", None) != CAMPAIGN_KEY:
        return []
    start = getattr(campaign, "starts_on", None) or settings["campaign_start"]
    end = getattr(campaign, "ends_on", None) or settings["campaign_end"]
    high_risk = _sectors(settings["high_risk_sectors"])
    drill_sectors = _sectors(settings["high_risk_drill_sectors"])
    out = [
        {"key": "hebei-stage-report", "title": "行动阶段进展汇总报送企业服务科",
         "due": settings["stage_report_due"], "remind_before": REMIND_REPORT},
        {"key": "hebei-final-summary", "title": "专项行动工作总结汇总报送企业服务科",
         "due": settings["final_report_due"], "remind_before": REMIND_REPORT},
        {"key": "hebei-drill", "title": "企业至少组织开展1次事故应急救援预案演练（工作总结报送前）",
         "due": min(settings["final_report_due"], end), "remind_before": REMIND_QUARTER},
    ]
    for year, quarter, due in quarters(start, end):
        label = f"{year}年{QUARTER_NAMES[quarter]}"
        out.append({"key": f"hebei-principal-inspection-{year}Q{quarter}",
                    "title": f"企业主要负责人带队检查重大事故隐患排查整治情况（{label}，每季度至少1次）",
                    "due": due, "remind_before": REMIND_QUARTER})
        if drill_sectors:
            out.append({"key": f"hebei-drill-high-risk-{year}Q{quarter}",
                        "title": f"高危行业领域企业（{drill_sectors}）事故应急救援演练"
                                 f"（{label}，每季度至少1次）",
                        "due": due, "remind_before": REMIND_QUARTER})
    for year, month, due in months(start, end):
        label = f"{year}年{month}月"
        if high_risk:
            out.append({"key": f"hebei-principal-inspection-high-risk-{year}-{month:02d}",
                        "title": f"高危行业领域企业（{high_risk}）主要负责人带队检查（{label}，"
                                 "每月至少1次）",
                        "due": due, "remind_before": REMIND_MONTH})
        out.append({"key": f"hebei-certificates-{year}-{month:02d}",
                    "title": f"动火等危险作业人员和关键岗位人员持证及岗位责任落实情况全面排查"
                             f"（{label}，每月至少1次）",
                    "due": due, "remind_before": REMIND_MONTH})
    return out
