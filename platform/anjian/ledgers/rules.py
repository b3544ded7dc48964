"""Rules (规章制度): the tenant's rule templates (the district's 271, say) and each
enterprise's state against them.

A template (``RuleTemplate``) is one rule or operating procedure of the tenant's list,
identified by its code; the list is loaded from the district's Excel
(``anjian.ledgers.importing``). An enterprise's state against a template
(``EnterpriseRule``) is ``present`` (已建立), ``missing`` (缺失) or ``outdated``
(需修订), with the date it was last revised and a note; a template the enterprise has
no row for is ``unassessed`` (未自查): no row is stored for it.

The counts of an enterprise: ``templates`` (every template of the tenant), ``present``,
``missing``, ``outdated``, ``unassessed`` (templates − the three), and ``met``, which
is ``present``: a rule is met when it is in place and current; an outdated one is not
met until it is revised. A template is never deleted (a re-load keeps the codes the
new list no longer has, and reports them), so the counts always cover every template.

Visibility: an enterprise's rules are read and written by whoever sees the enterprise
(``anjian.enterprises.visibility``); another enterprise is as absent as a missing one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import and_, func, select

from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import area_enterprises, enterprise_clause
from anjian.errors import Forbidden, NotFound, Refused
from anjian.extensions import db
from anjian.ledgers.models import RULE_STATUSES, EnterpriseRule, RuleTemplate
from anjian.permissions import TENANT_ROLES, allows

UNASSESSED = "unassessed"
# Every state an enterprise's rule can be in, as users read it.
STATUS_LABELS = {**RULE_STATUSES, UNASSESSED: "未自查"}
# The counts of an enterprise, in the order the API and the reports show them.
COUNT_KEYS = ("templates", "present", "missing", "outdated", "unassessed", "met")
NOTE_MAX = 2000
SET_MAX = 1000  # statuses set in one call (a list of a few hundred templates at most)


# --------------------------------------------------------------------------- templates


def list_templates(context: Context, *, category: str | None = None, q: str | None = None):
    """A select of the tenant's templates in the list's order (seq, then code); the API
    pages it. ``q``: a part of the code or the title."""
    stmt = select(RuleTemplate)
    if category:
        stmt = stmt.where(RuleTemplate.category == category)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(RuleTemplate.code.ilike(pattern, escape="\\")
                          | RuleTemplate.title.ilike(pattern, escape="\\"))
    return stmt.order_by(RuleTemplate.seq, RuleTemplate.code, RuleTemplate.id)


# --------------------------------------------------------------------------- counts


def counts_of(templates: int, present: int, missing: int, outdated: int) -> dict:
    """An enterprise's counts from its stored rows (see the module's doc: met = present)."""
    return {"templates": templates, "present": present, "missing": missing, "outdated": outdated,
            "unassessed": templates - present - missing - outdated, "met": present}


def _template_total():
    return select(func.count(RuleTemplate.id)).scalar_subquery()


def _status_count(status: str):
    return func.count(EnterpriseRule.id).filter(EnterpriseRule.status == status)


def _grouped(context: Context):
    """One row per live enterprise the actor sees: its id, name, area and counts (one
    grouped statement over the enterprises and their rules)."""
    return (select(Enterprise.id, Enterprise.name, Enterprise.area_id,
                   _template_total().label("templates"),
                   _status_count("present").label("present"),
                   _status_count("missing").label("missing"),
                   _status_count("outdated").label("outdated"))
            .select_from(Enterprise)
            .outerjoin(EnterpriseRule, EnterpriseRule.enterprise_id == Enterprise.id)
            .where(Enterprise.deleted_at.is_(None), enterprise_clause(context, Enterprise.id))
            .group_by(Enterprise.id))


def counts(context: Context, enterprise_ids: Iterable[int] | None = None) -> dict[int, dict]:
    """{enterprise id: counts} for the live enterprises the actor sees (these ones, when
    given; an id not seen is absent), in one statement."""
    stmt = _grouped(context)
    if enterprise_ids is not None:
        stmt = stmt.where(Enterprise.id.in_([int(i) for i in enterprise_ids]))
    return {row.id: counts_of(row.templates, row.present, row.missing, row.outdated)
            for row in db.session.execute(stmt)}


def summary(context: Context, *, enterprise_id: int | None = None, area_id: int | None = None,
            page: int = 1, per_page: int = 50) -> dict:
    """Every visible enterprise's counts, by name, one page of them, in one grouped
    statement: {items: [{enterprise_id, enterprise_name, area_id, **counts}], total (the
    enterprises), totals (the counts summed over every enterprise of the filter, not only
    the page's)}. ``area_id``: the area and the areas below it."""
    grouped = _grouped(context)
    if enterprise_id is not None:
        grouped = grouped.where(Enterprise.id == enterprise_id)
    if area_id is not None:
        grouped = grouped.where(Enterprise.id.in_(area_enterprises(area_id)))
    # Window functions run after GROUP BY: each row of the page carries the number of
    # enterprises and the sums over all of them.
    stmt = grouped.add_columns(
        func.count().over().label("enterprises"),
        func.sum(_status_count("present")).over().label("all_present"),
        func.sum(_status_count("missing")).over().label("all_missing"),
        func.sum(_status_count("outdated")).over().label("all_outdated"),
    ).order_by(Enterprise.name, Enterprise.id).limit(per_page).offset((page - 1) * per_page)
    rows = db.session.execute(stmt).all()
    if rows:
        first = rows[0]
        total = first.enterprises
        totals = _totals(total, first.templates, first.all_present, first.all_missing, first.all_outdated)
    elif page == 1:  # no enterprise at all
        total, totals = 0, _totals(0, 0, 0, 0, 0)
    else:  # a page past the end: the totals counted on their own
        sub = grouped.subquery()
        total, templates, present, missing, outdated = db.session.execute(select(
            func.count(), func.coalesce(func.max(sub.c.templates), 0), func.sum(sub.c.present),
            func.sum(sub.c.missing), func.sum(sub.c.outdated)).select_from(sub)).one()
        totals = _totals(total, templates, present, missing, outdated)
    items = [{"enterprise_id": r.id, "enterprise_name": r.name, "area_id": r.area_id,
              **counts_of(r.templates, r.present, r.missing, r.outdated)} for r in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total, "totals": totals}


def _totals(enterprises: int, templates: int, present, missing, outdated) -> dict:
    """The counts summed over ``enterprises`` enterprises (each has every template)."""
    present, missing, outdated = int(present or 0), int(missing or 0), int(outdated or 0)
    return {"enterprises": enterprises, **counts_of(templates * enterprises, present, missing, outdated)}


# --------------------------------------------------------------------------- one enterprise


def _enterprise(context: Context, enterprise_id: int) -> Enterprise:
    """A live enterprise the actor sees, else NotFound (its existence is not told)."""
    row = db.session.scalar(select(Enterprise).where(
        Enterprise.id == enterprise_id, Enterprise.deleted_at.is_(None),
        enterprise_clause(context, Enterprise.id)))
    if row is None:
        raise NotFound("企业不存在")
    return row


def checklist(context: Context, enterprise_id: int, *, status: str | None = None,
              category: str | None = None) -> dict:
    """The enterprise's checklist: every template (in the list's order) with its status
    (``unassessed`` when no row), revised_on, note and who changed it when; ``status`` and
    ``category`` filter the items, never the counts (always over every template)."""
    enterprise = _enterprise(context, enterprise_id)
    rows = db.session.execute(
        select(RuleTemplate, EnterpriseRule)
        .outerjoin(EnterpriseRule, and_(EnterpriseRule.template_id == RuleTemplate.id,
                                        EnterpriseRule.enterprise_id == enterprise.id))
        .order_by(RuleTemplate.seq, RuleTemplate.code, RuleTemplate.id)).all()
    tally = {key: 0 for key in STATUS_LABELS}
    items = []
    for template, rule in rows:
        state = rule.status if rule is not None else UNASSESSED
        tally[state] += 1
        if (status and state != status) or (category and template.category != category):
            continue
        items.append({"template_id": template.id, "code": template.code, "title": template.title,
                      "category": template.category, "seq": template.seq, "status": state,
                      "revised_on": rule.revised_on if rule is not None else None,
                      "note": rule.note if rule is not None else "",
                      "updated_by": rule.updated_by if rule is not None else None,
                      "updated_at": rule.updated_at if rule is not None else None})
    return {"enterprise_id": enterprise.id, "enterprise_name": enterprise.name,
            "counts": counts_of(len(rows), tally["present"], tally["missing"], tally["outdated"]),
            "items": items}


def _check(context: Context, changes: Sequence[Mapping], known: set[int]) -> dict[str, list[str]]:
    """Every reason the changes may not be stored, by field ("2.revised_on")."""
    errors: dict[str, list[str]] = {}
    today = context.today()
    seen: dict[int, int] = {}
    for i, change in enumerate(changes):
        template_id, status = change.get("template_id"), change.get("status")
        revised_on, note = change.get("revised_on"), change.get("note")
        if template_id is None:
            errors[f"{i}.template_id"] = ["必填项"]
        elif template_id not in known:
            errors[f"{i}.template_id"] = [f"规章制度模板 {template_id} 不存在"]
        elif template_id in seen:
            errors[f"{i}.template_id"] = [f"与第 {seen[template_id] + 1} 项重复（同一模板只能填写一次）"]
        else:
            seen[template_id] = i
        if status not in STATUS_LABELS:
            errors[f"{i}.status"] = ["须为以下之一: " + "、".join(f"{k}（{v}）" for k, v in STATUS_LABELS.items())]
        if revised_on is not None:
            if not isinstance(revised_on, dt.date):
                errors[f"{i}.revised_on"] = ["不是有效的日期"]
            elif revised_on > today:
                errors[f"{i}.revised_on"] = [
                    f"修订日期不能晚于今天（{revised_on.isoformat()} 晚于 {today.isoformat()}）"]
            elif status in ("missing", UNASSESSED):
                errors[f"{i}.revised_on"] = [f"「{STATUS_LABELS[status]}」的制度不填写修订日期"]
        if note is not None and len(note) > NOTE_MAX:
            errors[f"{i}.note"] = [f"超过 {NOTE_MAX} 个字符"]
    return errors


def set_statuses(context: Context, enterprise_id: int, changes: Sequence[Mapping]) -> dict:
    """Set the enterprise's state against one or many templates at once, all or nothing:
    each change is {template_id, status, revised_on (optional; not later than today; not
    for a missing rule), note (optional)}, which replace what was stored for the template
    (an absent date or note is none); status ``unassessed`` removes the enterprise's row
    (the template is to be assessed again). Refused, with every fault by item and field,
    when any change is wrong: nothing is stored. The caller commits; returns the checklist.
    """
    access = context.access
    if access is not None and not allows(access.role, "rule.write"):
        raise Forbidden(f"{TENANT_ROLES.get(access.role, access.role)}无权填写规章制度自查情况")
    enterprise = _enterprise(context, enterprise_id)
    if len(changes) > SET_MAX:
        raise Refused(f"一次最多填写 {SET_MAX} 项")
    ids = {c.get("template_id") for c in changes if isinstance(c.get("template_id"), int)}
    known = set(db.session.scalars(select(RuleTemplate.id).where(RuleTemplate.id.in_(ids)))) if ids else set()
    errors = _check(context, changes, known)
    if errors:
        raise Refused(f"规章制度自查情况有 {len(errors)} 处错误，均未保存", errors=errors)
    stored = {r.template_id: r for r in db.session.scalars(select(EnterpriseRule).where(
        EnterpriseRule.enterprise_id == enterprise.id, EnterpriseRule.template_id.in_(ids)))} if ids else {}
    for change in changes:
        template_id, status = change["template_id"], change["status"]
        rule = stored.get(template_id)
        if status == UNASSESSED:
            if rule is not None:
                db.session.delete(rule)
            continue
        values = {"status": status, "revised_on": change.get("revised_on"), "note": change.get("note") or ""}
        if rule is None:
            db.session.add(EnterpriseRule(enterprise_id=enterprise.id, template_id=template_id,
                                          updated_by=context.user_id, **values))
            continue
        if any(getattr(rule, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(rule, key, value)
            rule.updated_by = context.user_id
    db.session.flush()
    return checklist(context, enterprise.id)


__all__ = ["COUNT_KEYS", "STATUS_LABELS", "UNASSESSED", "checklist", "counts", "counts_of",
           "list_templates", "set_statuses", "summary"]
