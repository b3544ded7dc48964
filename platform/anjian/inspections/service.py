"""Inspection rules: evidence files and attaching them to results, hazards and hazard events."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select

from anjian.api.problems import ApiProblem
from anjian.enterprises.visibility import RESTRICTED_ROLES, can_see_enterprise
from anjian.extensions import db
from anjian.inspections.models import Evidence

EVIDENCE_KIND = "evidence"  # the storage kind: JPEG, PNG or PDF (anjian.storage.KINDS)
_ATTACHMENTS = ("inspection_result_id", "hazard_id", "hazard_event_id")


class InspectionError(ApiProblem):
    """A rule refused the request: answers problem+json by itself (``field`` gets the message)."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(status, detail=message, errors={field: [message]} if field else None)
        self.status, self.message, self.field = status, message, field


def _actor():
    if not has_request_context():
        return None, None
    return g.get("access"), g.get("user")


def evidence_visible(evidence: Evidence) -> bool:
    """The uploader sees its file; others see it through its enterprise (restricted roles
    only the enterprises they may see; a file of no enterprise is the uploader's alone)."""
    access, user = _actor()
    if access is None or access.role not in RESTRICTED_ROLES:
        return True
    if user is not None and evidence.uploaded_by == user.id:
        return True
    return evidence.enterprise_id is not None and can_see_enterprise(evidence.enterprise_id)


def attach_evidence(evidence_ids, *, inspection_result_id: int | None = None,
                    hazard_id: int | None = None, hazard_event_id: int | None = None,
                    enterprise_id: int | None = None) -> list[Evidence]:
    """Attach uploaded evidence files to one inspection result, or to a hazard and/or one of
    its events (``hazard_id`` with ``hazard_event_id``: the event that brought them).

    Each file must be unattached or already attached to that same object. A missing,
    foreign or invisible id is 404 (field ``evidence_ids``); a file attached elsewhere
    is 409; a file uploaded for another enterprise than ``enterprise_id`` is 422. Files
    with no enterprise take ``enterprise_id``. Raises ``InspectionError`` (problem+json).
    """
    target = {"inspection_result_id": inspection_result_id, "hazard_id": hazard_id,
              "hazard_event_id": hazard_event_id}
    if (inspection_result_id is None) == (hazard_id is None and hazard_event_id is None):
        raise ValueError("attach_evidence needs an inspection result, or a hazard and/or "
                         "a hazard event")
    ids = list(dict.fromkeys(int(i) for i in evidence_ids or ()))
    if not ids:
        return []
    found = {e.id: e for e in db.session.scalars(select(Evidence).where(Evidence.id.in_(ids)))}
    out = []
    for ident in ids:
        evidence = found.get(ident)
        if evidence is None or not evidence_visible(evidence):
            raise InspectionError(404, f"证据文件不存在: {ident}", "evidence_ids")
        current = {key: getattr(evidence, key) for key in _ATTACHMENTS}
        if any(v is not None for v in current.values()) and current != target:
            raise InspectionError(409, f"证据文件 {ident} 已用于其他记录", "evidence_ids")
        if enterprise_id is not None and evidence.enterprise_id not in (None, enterprise_id):
            raise InspectionError(422, f"证据文件 {ident} 属于其他企业", "evidence_ids")
        for key, value in target.items():
            setattr(evidence, key, value)
        if evidence.enterprise_id is None and enterprise_id is not None:
            evidence.enterprise_id = enterprise_id
        out.append(evidence)
    db.session.flush()
    return out
