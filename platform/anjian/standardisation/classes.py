"""The supervision class of each enterprise (ABCD where the tenant's plugin says so):
asked of the plugin (``classify_enterprise``) with the enterprise's certifications,
stored, and read back filtered."""

from __future__ import annotations

from sqlalchemy import select

from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.errors import Defect
from anjian.extensions import db
from anjian.plugins.views import SupervisionClass
from anjian.standardisation.models import Certification, EnterpriseClass


def classify(context: Context, on_progress=None) -> dict:
    """Classify every live enterprise of the tenant; returns {class code: count} (an
    enterprise no plugin classifies keeps no class). The caller commits."""
    today = context.today()
    certifications: dict[int, list] = {}
    for row in db.session.scalars(select(Certification).order_by(Certification.id)):
        certifications.setdefault(row.enterprise_id, []).append(row)
    stored = {row.enterprise_id: row for row in db.session.scalars(select(EnterpriseClass))}
    counts: dict[str, int] = {}
    enterprises = list(db.session.scalars(select(Enterprise).where(Enterprise.deleted_at.is_(None))
                                          .order_by(Enterprise.id)))
    for n, enterprise in enumerate(enterprises, start=1):
        answer = context.policy("classify_enterprise", enterprise=enterprise,
                                certifications=certifications.get(enterprise.id, []))
        row = stored.get(enterprise.id)
        if answer is None:
            if row is not None:
                db.session.delete(row)
            continue
        if not isinstance(answer, SupervisionClass):
            raise Defect(f"classify_enterprise 须返回 SupervisionClass，而不是 {type(answer).__name__}")
        if row is None:
            row = EnterpriseClass(enterprise_id=enterprise.id)
            db.session.add(row)
        row.code, row.label = answer.code[:8], answer.label[:40]
        row.reason, row.inspections_per_year = (answer.reason or "")[:300], answer.inspections_per_year
        row.classified_on = today
        counts[row.code] = counts.get(row.code, 0) + 1
        if on_progress is not None and n % 500 == 0:
            on_progress(n, len(enterprises))
    db.session.flush()
    return counts


def list_classes(context: Context, code: str | None = None):
    stmt = select(EnterpriseClass).where(enterprise_clause(context, EnterpriseClass.enterprise_id))
    if code:
        stmt = stmt.where(EnterpriseClass.code == code)
    return stmt.order_by(EnterpriseClass.code, EnterpriseClass.enterprise_id)
