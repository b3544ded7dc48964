"""Chinese working days (工作日): the holiday calendar as data, and deadlines counted in it.

``service`` has the arithmetic (``add_workdays``, ``is_workday``, ``workdays_between``),
the deadline helpers for ``models.WorkdayDeadline`` objects, publishing a year
and seeding from chinese-calendar; ``api`` serves ``/api/v1/calendar``.
"""
