"""The rows that end a list's table: totals, notes and signatures (skipped and
reported, never rejected as rows of data)."""

from __future__ import annotations

import re

from anjian.intake.cells import cell_text

# What ends a table: totals, notes, signatures (the reason a row is skipped, by its start).
TRAILERS = (
    ("合计行", re.compile(r"^(合\s*计|小\s*计|总\s*计|共\s*计|累\s*计)")),
    ("说明行", re.compile(r"^(注|备注|说明|附注|填表说明|注意)\s*[0-9一二三四五六七八九十]?\s*[:：、.．]")),
    ("落款行", re.compile(r"^(填表人|填报人|制表人|审核人|审核|审批人|复核人|统计人|经办人|负责人签字|单位负责人"
                       r"|分管领导|填报单位|填表单位|报送单位|制表单位|填报日期|填表日期|制表日期|报送日期"
                       r"|联系人|联系电话)\s*[:：]?")),
)

# The first characters of every marker above: a row starting otherwise is not looked at.
TRAILER_STARTS = frozenset("合小总共累注备说附填审复统经负单分制报联")


def trailer(value) -> str | None:
    """Why a row whose first cell is ``value`` is no row of data ("合计行：合计"), or None."""
    text = cell_text(value)
    for reason, pattern in TRAILERS:
        if pattern.match(text):
            return f"{reason}：{text[:30]}"
    return None
