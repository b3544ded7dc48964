"""Overdue (逾期), written once as SQL: the scan, the list filters, the counts and the
plugins' figures all use these expressions.

A hazard is overdue when the scan marked it (state ``overdue``), or when it is still
open (``reported``, ``rectifying``) with a deadline before today and the scan has not
marked it yet; the scan moves the second kind into the first. A campaign task alike:
status ``overdue``, or ``open`` with a deadline before today.

Each function takes the columns to read (the mapped class, an ``aliased()`` of it, or a
table's ``.c``) and ``today`` (a date or a bound parameter).
"""

from __future__ import annotations

from sqlalchemy import and_, or_

# What the scan moves to ``overdue``: the open states that are not yet overdue.
HAZARD_DUE_STATES = ("reported", "rectifying")


def hazard_due(hazard, today):
    """Open, not yet marked overdue, with a deadline before ``today``: what the scan marks."""
    return and_(hazard.state.in_(HAZARD_DUE_STATES), hazard.deadline.is_not(None),
                hazard.deadline < today)


def overdue_clause(hazard, today):
    """The hazard is overdue as of ``today``: marked so, or past its deadline unmarked."""
    return or_(hazard.state == "overdue", hazard_due(hazard, today))


def task_due(task, today):
    """An open campaign task with a deadline before ``today``: what the scan marks."""
    return and_(task.status == "open", task.deadline.is_not(None), task.deadline < today)


def task_overdue_clause(task, today):
    """The campaign task is overdue as of ``today``: marked so, or past its deadline unmarked."""
    return or_(task.status == "overdue", task_due(task, today))
