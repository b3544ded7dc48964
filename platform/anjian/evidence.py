"""Evidence files (证据): photos and PDFs uploaded first, then attached to what they prove.

A kernel concept shared by inspections (an item's answer), the hazard closed loop (a
hazard and the event that brought the file) and services (a service record). This
module stores a file, attaches it and decides who sees it. It knows no enterprise:
whether the actor sees one is the enterprise visibility rule
(``anjian.enterprises.visibility.can_see_enterprise``), which the domain callers hand
in as ``sees_enterprise``. The caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from anjian.clock import utcnow
from anjian.context import Context, NoContext
from anjian.db import UTCDateTime
from anjian.errors import Conflict, NotFound, Refused
from anjian.extensions import db
from anjian.permissions import allows
from anjian.storage.backends import Storage, UploadRejected
from anjian.tenancy.scope import TenantOwned

KIND = "evidence"  # the storage kind: JPEG, PNG or PDF (anjian.storage.KINDS)
ATTACHMENTS = ("inspection_result_id", "hazard_id", "hazard_event_id", "service_record_id",
               "ledger_entry_id", "accident_id")

# Whether the context's actor sees an enterprise (the enterprise visibility rule).
SeesEnterprise = Callable[[Context, int], bool]


class Evidence(TenantOwned, db.Model):
    """A stored file (photo, PDF) given as evidence. Uploaded first, then attached to one
    inspection result, hazard or hazard event; the object key is the platform's own."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "object_key"),
        ForeignKeyConstraint(["tenant_id", "inspection_result_id"],
                             ["inspection_results.tenant_id", "inspection_results.id"]),
        ForeignKeyConstraint(["tenant_id", "hazard_id"], ["hazards.tenant_id", "hazards.id"]),
        ForeignKeyConstraint(["tenant_id", "hazard_event_id"],
                             ["hazard_events.tenant_id", "hazard_events.id"]),
        ForeignKeyConstraint(["tenant_id", "service_record_id"],
                             ["service_records.tenant_id", "service_records.id"]),
        ForeignKeyConstraint(["tenant_id", "ledger_entry_id"],
                             ["ledger_entries.tenant_id", "ledger_entries.id"]),
        ForeignKeyConstraint(["tenant_id", "accident_id"], ["accidents.tenant_id", "accidents.id"]),
        Index("ix_evidence_tenant_ledger_entry", "tenant_id", "ledger_entry_id"),
        Index("ix_evidence_tenant_hazard", "tenant_id", "hazard_id"),
        Index("ix_evidence_tenant_result", "tenant_id", "inspection_result_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200), default="")  # sanitised, for display
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    inspection_result_id: Mapped[int | None] = mapped_column(Integer)
    hazard_id: Mapped[int | None] = mapped_column(Integer)
    hazard_event_id: Mapped[int | None] = mapped_column(Integer)
    service_record_id: Mapped[int | None] = mapped_column(Integer)
    ledger_entry_id: Mapped[int | None] = mapped_column(Integer)  # a ledger entry's file
    accident_id: Mapped[int | None] = mapped_column(Integer)  # an accident's report
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def visible(context: Context, evidence: Evidence, sees_enterprise: SeesEnterprise) -> bool:
    """The uploader sees its file; others see it through its enterprise (restricted roles
    only the enterprises they may see; a file of no enterprise is the uploader's alone).
    Without a context nothing is seen (fails closed)."""
    if context is None:
        raise NoContext("evidence visibility needs a context")
    access, user_id = context.access, context.user_id
    if access is None or allows(access.role, "enterprise.read_all"):
        return True
    if user_id is not None and evidence.uploaded_by == user_id:
        return True
    return evidence.enterprise_id is not None and sees_enterprise(context, evidence.enterprise_id)


def attach(context: Context, evidence_ids: Iterable[int], sees_enterprise: SeesEnterprise, *,
           inspection_result_id: int | None = None, hazard_id: int | None = None,
           hazard_event_id: int | None = None, service_record_id: int | None = None,
           ledger_entry_id: int | None = None, accident_id: int | None = None,
           enterprise_id: int | None = None) -> list[Evidence]:
    """Attach uploaded evidence files to one inspection result, to a hazard and/or one of
    its events (``hazard_id`` with ``hazard_event_id``: the event that brought them), to
    one service record (``service_record_id``), one ledger entry (``ledger_entry_id``: a
    sign-in sheet, an agreement) or one accident (``accident_id``: its report).

    Each file must be unattached or already attached to that same object. A missing,
    foreign or invisible id is 404 (field ``evidence_ids``); a file attached elsewhere
    is 409; a file uploaded for another enterprise than ``enterprise_id`` is 422. Files
    with no enterprise take ``enterprise_id``. Raises domain errors (``anjian.errors``).
    """
    target = {"inspection_result_id": inspection_result_id, "hazard_id": hazard_id,
              "hazard_event_id": hazard_event_id, "service_record_id": service_record_id,
              "ledger_entry_id": ledger_entry_id, "accident_id": accident_id}
    owners = (inspection_result_id is not None,
              hazard_id is not None or hazard_event_id is not None,
              service_record_id is not None, ledger_entry_id is not None, accident_id is not None)
    if sum(owners) != 1:
        raise ValueError("attach needs an inspection result, a hazard and/or a hazard event, "
                         "a service record, a ledger entry or an accident")
    ids = list(dict.fromkeys(int(i) for i in evidence_ids or ()))
    if not ids:
        return []
    found = {e.id: e for e in db.session.scalars(select(Evidence).where(Evidence.id.in_(ids)))}
    out = []
    for ident in ids:
        evidence = found.get(ident)
        if evidence is None or not visible(context, evidence, sees_enterprise):
            raise NotFound(f"证据文件不存在: {ident}", field="evidence_ids")
        current = {key: getattr(evidence, key) for key in ATTACHMENTS}
        if any(v is not None for v in current.values()) and current != target:
            raise Conflict(f"证据文件 {ident} 已用于其他记录", field="evidence_ids")
        if enterprise_id is not None and evidence.enterprise_id not in (None, enterprise_id):
            raise Refused(f"证据文件 {ident} 属于其他企业", field="evidence_ids")
        for key, value in target.items():
            setattr(evidence, key, value)
        if evidence.enterprise_id is None and enterprise_id is not None:
            evidence.enterprise_id = enterprise_id
        out.append(evidence)
    db.session.flush()
    return out


def store(context: Context, storage: Storage, data, content_type: str | None,
          filename: str | None, enterprise_id: int | None = None) -> Evidence:
    """Store a photo or PDF in ``storage`` (the app's object storage, handed in by the
    adapter) under a platform-made key, uploaded by the context's actor; the file name is
    kept as sanitised metadata only. ``enterprise_id`` is the caller's to check."""
    try:
        stored = storage.put(context.tenant_id, KIND, data, content_type, filename)
    except UploadRejected as exc:  # told on the body's file field
        exc.on("file")
        raise
    evidence = Evidence(object_key=stored.key, filename=stored.original_name[:200],
                        content_type=stored.content_type, size=stored.size,
                        enterprise_id=enterprise_id, uploaded_by=context.user_id)
    db.session.add(evidence)
    db.session.flush()
    return evidence


def download_url(context: Context, storage: Storage, evidence: Evidence, expires_in: int) -> str:
    """A short-lived signed link to the file (check ``visible`` first)."""
    return storage.download_url(
        evidence.object_key, context.tenant_id, filename=evidence.filename or "evidence",
        expires_in=expires_in, content_type=evidence.content_type)


__all__ = ["ATTACHMENTS", "KIND", "Evidence", "attach", "download_url", "store", "visible"]
