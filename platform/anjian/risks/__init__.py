"""Dual prevention (双重预防): each enterprise's risk points, their hazard factors, gradings
(LEC or a risk matrix) and controls; the controls as check items of the enterprise's own
checklist, whose "no" raises a hazard linked to the point; re-gradings asked by closed or
repeated hazards; inspections by managing level; the four-colour picture."""
