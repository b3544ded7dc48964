"""The registry's list filters as one statement, shared by the list view and the export."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from anjian.db import subtree_ids
from anjian.enterprises.models import Enterprise
from anjian.sorting import order_by
from anjian.tenancy.models import Area


def area_and_below(area_id: int) -> set[int]:
    """``area_id`` and every area below it (of the session's tenant)."""
    return subtree_ids(Area.id, Area.parent_id, area_id)


def filtered_statement(query: dict, columns=None) -> Select:
    """``SELECT`` of enterprises matching ``query`` (loaded by ``EnterpriseQuerySchema``),
    ordered by its ``sort`` (then id). ``columns`` selects columns instead of entities."""
    stmt = select(*columns) if columns else select(Enterprise)
    if not query.get("include_deleted", False):
        stmt = stmt.where(Enterprise.deleted_at.is_(None))
    if "q" in query:
        text = query["q"].strip()
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Enterprise.name.ilike(like, escape="\\"),
                              Enterprise.credit_code.ilike(like, escape="\\")))
    if "area_id" in query:
        stmt = stmt.where(Enterprise.area_id.in_(area_and_below(query["area_id"])))
    for key in ("industry", "scale", "above_quota", "status"):
        if key in query:
            stmt = stmt.where(getattr(Enterprise, key) == query[key])
    if "industry_code" in query:
        stmt = stmt.where(Enterprise.industry_code.startswith(query["industry_code"],
                                                              autoescape=True))
    for flag in query.get("flag", []):
        stmt = stmt.where(getattr(Enterprise, flag).is_(True))
    return stmt.order_by(*order_by(Enterprise, query.get("sort", "name"), tie_descending=False))
