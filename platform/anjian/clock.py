"""The clock: now in UTC (what is stored), now and today in China (what deadlines mean).

Deadlines, working days and report periods are Beijing dates; timestamps are stored in
UTC. Everything that asks the time asks it here (or of its Context, whose clock a test
may set), so there is one answer to "what day is it".
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_now(moment: dt.datetime | None = None) -> dt.datetime:
    """``moment`` (default: now) in China's time."""
    return (moment or utcnow()).astimezone(CHINA)


def local_today() -> dt.date:
    """Today in China (deadlines are Beijing dates)."""
    return local_now().date()
