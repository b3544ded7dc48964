"""Inspection rules: checklist templates (versioned; plugin templates copied on first use),
inspections and their answers (with their evidence files, ``anjian.evidence``), and the
hazards a "no" raises. The caller commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from anjian import evidence
from anjian.auth.models import User
from anjian.campaigns.models import Campaign
from anjian.clock import local_today, utcnow
from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import can_see_enterprise
from anjian.errors import Conflict, Defect, DomainError, Forbidden, NotFound, Refused
from anjian.extensions import db
from anjian.hazards import service as hazard_service
from anjian.hazards.models import Hazard
from anjian.inspections.models import (
    INSPECTOR_KINDS,
    PARTS,
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionResult,
)
from anjian.permissions import allows
from anjian.risks import feedback as risk_feedback
from anjian.storage.backends import Storage

PART_LABELS = {label: key for key, label in PARTS.items()}


# --- checklist templates ----------------------------------------------------------------------

def normalise_part(value) -> str | None:
    """``document``/``onsite``, also from the Chinese labels (软件资料/现场); None if neither."""
    if value is None or value == "":
        return "onsite"
    value = str(value).strip()
    if value in PARTS:
        return value
    return PART_LABELS.get(value)


def check_items(items: list[dict], where: str = "items") -> list[dict]:
    """Items with unique codes, each with its part normalised; Chinese messages per field."""
    if not items:
        raise Refused("检查表至少需要一个检查项", field=where)
    seen: set[str] = set()
    out = []
    for i, item in enumerate(items):
        code = str(item.get("code") or "").strip()
        text = str(item.get("text") or "").strip()
        if not code:
            raise Refused("检查项须有编号", field=f"{where}[{i}].code")
        if len(code) > 40:
            raise Refused("检查项编号最长 40 个字符", field=f"{where}[{i}].code")
        if code in seen:
            raise Refused(f"检查项编号重复: {code}", field=f"{where}[{i}].code")
        if not text:
            raise Refused("检查项须有检查内容", field=f"{where}[{i}].text")
        part = normalise_part(item.get("part"))
        if part is None:
            raise Refused("检查部分须为 document（软件资料）或 onsite（现场）",
                          field=f"{where}[{i}].part")
        seen.add(code)
        out.append({"code": code, "text": text, "category": str(item.get("category") or "")[:100],
                    "part": part, "legal_basis": str(item.get("legal_basis") or ""),
                    "is_major_criterion": bool(item.get("is_major_criterion", False))})
    return out


def plugin_templates(context: Context) -> dict[str, dict]:
    """The checklist templates the context's tenant's enabled plugins offer, by key (newest
    version)."""
    out: dict[str, dict] = {}
    for entry in context.catalogue("register_checklist_templates"):
        key = entry.get("key")
        if not key:
            continue
        entry = {**entry, "version": int(entry.get("version") or 1)}
        if key not in out or out[key]["version"] < entry["version"]:
            out[key] = entry
    return out


def template_rows(key: str) -> list[ChecklistTemplate]:
    return list(db.session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.key == key)
                                   .order_by(ChecklistTemplate.version)))


def items_of(template_id: int) -> list[ChecklistItem]:
    return list(db.session.scalars(select(ChecklistItem)
                                   .where(ChecklistItem.template_id == template_id)
                                   .order_by(ChecklistItem.position, ChecklistItem.id)))


def _add_items(template: ChecklistTemplate, items: list[dict]) -> None:
    for position, item in enumerate(items):
        db.session.add(ChecklistItem(template_id=template.id, position=position, **item))


def _make_current(template: ChecklistTemplate) -> None:
    for row in template_rows(template.key):
        row.is_current = row.id == template.id


def plugin_items(entry: dict) -> list[dict]:
    """A plugin template's items, checked; a broken template is the plugin's fault (500)."""
    try:
        return check_items(list(entry.get("items") or ()))
    except DomainError as exc:
        raise Defect(f"插件 {entry.get('plugin')} 的检查表 {entry.get('key')} "
                     f"无效: {exc.field}: {exc.message}") from exc


def materialise(context: Context, entry: dict) -> ChecklistTemplate:
    """The tenant's copy of a plugin template version (made on first use; the same key and
    version always give the same row)."""
    key, version = entry["key"], int(entry.get("version") or 1)
    existing = db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.key == key, ChecklistTemplate.version == version))
    if existing is not None:
        return existing
    items = plugin_items(entry)
    newest = max((r.version for r in template_rows(key)), default=0)
    try:
        with db.session.begin_nested():
            template = ChecklistTemplate(key=key, version=version,
                                         title=str(entry.get("title") or key)[:200],
                                         source="plugin", plugin=entry.get("plugin"),
                                         is_current=version >= newest)
            db.session.add(template)
            db.session.flush()
            _add_items(template, items)
            if template.is_current:
                _make_current(template)
            db.session.flush()
    except IntegrityError:  # made at the same moment by another request
        template = db.session.scalar(select(ChecklistTemplate).where(
            ChecklistTemplate.key == key, ChecklistTemplate.version == version))
        if template is None:
            raise
    return template


def template_visible(context: Context, key: str) -> bool:
    """Whether the actor may see the checklist ``key``: every member sees the tenant's and
    the plugins' checklists; an enterprise's own (its risk points' controls) is seen by
    whoever sees that enterprise."""
    enterprise_id = risk_feedback.checklist_enterprise(key)
    return enterprise_id is None or can_see_enterprise(context, enterprise_id)


def current_template(context: Context, key: str, *, materialise_plugin: bool) -> \
        ChecklistTemplate | dict | None:
    """The newest version of ``key``: the tenant's own current row, or the plugin's newest
    catalogue version (materialised when asked, else the catalogue entry itself); None when
    there is none the actor may see (``template_visible``)."""
    if not template_visible(context, key):
        return None
    rows = template_rows(key)
    own = [r for r in rows if r.source == "tenant"]
    if own:
        return next((r for r in own if r.is_current), own[-1])
    entry = plugin_templates(context).get(key)
    if entry is not None:
        match = next((r for r in rows if r.version == entry["version"]), None)
        if match is not None:
            return match
        return materialise(context, entry) if materialise_plugin else entry
    return next((r for r in rows if r.is_current), rows[-1] if rows else None)


def template_summary(template: ChecklistTemplate | dict, versions: list[int]) -> dict:
    if isinstance(template, dict):  # a plugin's catalogue entry not copied yet
        return {"id": None, "key": template["key"], "title": template.get("title") or "",
                "version": template["version"], "source": "plugin",
                "plugin": template.get("plugin"), "is_current": True, "materialised": False,
                "versions": versions}
    return {"id": template.id, "key": template.key, "title": template.title,
            "version": template.version, "source": template.source, "plugin": template.plugin,
            "is_current": template.is_current, "materialised": True, "versions": versions,
            "created_at": template.created_at}


def list_templates(context: Context) -> list[dict]:
    """The tenant's templates (current versions) and the plugin templates it may use."""
    rows: dict[str, list[ChecklistTemplate]] = {}
    for row in db.session.scalars(select(ChecklistTemplate).order_by(ChecklistTemplate.key,
                                                                     ChecklistTemplate.version)):
        rows.setdefault(row.key, []).append(row)
    offered = plugin_templates(context)
    out = []
    for key in sorted(set(rows) | set(offered)):
        if not template_visible(context, key):
            continue
        versions = sorted({r.version for r in rows.get(key, [])}
                          | ({offered[key]["version"]} if key in offered
                             and not any(r.source == "tenant" for r in rows.get(key, []))
                             else set()))
        own = [r for r in rows.get(key, []) if r.source == "tenant"]
        if own or key not in offered:
            listed = rows[key]
            current = next((r for r in listed if r.is_current), listed[-1])
        else:
            entry = offered[key]
            current = next((r for r in rows.get(key, []) if r.version == entry["version"]), entry)
        out.append(template_summary(current, versions))
    return out


def template_view(template: ChecklistTemplate | dict, versions: list[int]) -> dict:
    """A template (a row, or a catalogue entry not copied yet) with its items."""
    view = template_summary(template, versions)
    if isinstance(template, dict):
        items = [{"id": None, "position": i, **item}
                 for i, item in enumerate(plugin_items(template))]
    else:
        items = items_of(template.id)
    view["items"] = items
    return view


def template_versions(context: Context, key: str) -> list[int]:
    """The versions of ``key`` (none when the actor may not see it)."""
    if not template_visible(context, key):
        return []
    rows = template_rows(key)
    versions = {r.version for r in rows}
    entry = plugin_templates(context).get(key)
    if entry is not None and not any(r.source == "tenant" for r in rows):
        versions.add(entry["version"])
    return sorted(versions)


def template_in_use(template_id: int) -> bool:
    return db.session.scalar(select(Inspection.id).where(Inspection.template_id == template_id)
                             .limit(1)) is not None


def create_template(context: Context, data: dict) -> ChecklistTemplate:
    """A new template of the tenant's own (version 1), made by the context's actor."""
    key = data["key"]
    if template_rows(key) or key in plugin_templates(context):
        raise Conflict(f"检查表代码已存在: {key}", field="key")
    items = check_items(data.get("items") or [])
    template = ChecklistTemplate(key=key, version=1, title=data["title"].strip(),
                                 source="tenant", is_current=True, created_by=context.user_id)
    db.session.add(template)
    db.session.flush()
    _add_items(template, items)
    db.session.flush()
    return template


def edit_template(context: Context, template: ChecklistTemplate, data: dict) -> ChecklistTemplate:
    """Replace title and items. A version some inspection used is never changed: a new
    version is made and becomes current; an unused one is edited in place."""
    if template.source != "tenant":
        raise Conflict("插件提供的检查表不能修改；可新建本单位的检查表")
    items = check_items(data.get("items") or [])
    title = data["title"].strip()
    if not template_in_use(template.id):
        template.title = title
        for item in items_of(template.id):
            db.session.delete(item)
        db.session.flush()
        _add_items(template, items)
        db.session.flush()
        return template
    newest = max(r.version for r in template_rows(template.key))
    new = ChecklistTemplate(key=template.key, version=newest + 1, title=title, source="tenant",
                            is_current=True, created_by=context.user_id)
    db.session.add(new)
    db.session.flush()
    _add_items(new, items)
    _make_current(new)
    db.session.flush()
    return new


# --- inspections ------------------------------------------------------------------------------

def role_kinds(role: str) -> tuple[str, ...]:
    """The kinds of inspection ``role`` may do (``inspection.conduct_<kind>``); the first
    is its default."""
    return tuple(k for k in INSPECTOR_KINDS if allows(role, f"inspection.conduct_{k}"))


def may_fill(role: str, kind: str) -> bool:
    """Whether ``role`` may fill in an inspection of ``kind`` (an administrator any)."""
    return allows(role, f"inspection.fill_{kind}")


HAZARD_SOURCES = {"department": "department", "service_org": "service_org", "self": "self",
                  "spot_check": "spot_check"}


def inspector_kind_for(role: str, requested: str | None) -> str:
    kinds = role_kinds(role)
    if not kinds:
        raise Forbidden("当前角色不能进行检查")
    if requested is None:
        return kinds[0]
    if requested not in kinds:
        allowed = "、".join(INSPECTOR_KINDS[k] for k in kinds)
        raise Refused(f"当前角色只能进行：{allowed}", field="inspector_kind")
    return requested


def _resolve_template(context: Context, data: dict) -> ChecklistTemplate:
    if data.get("template_id") is not None:
        template = db.session.get(ChecklistTemplate, data["template_id"])  # scoped
        if template is None:
            raise Refused("检查表不存在", field="template_id")
        return template
    template = current_template(context, data["template_key"], materialise_plugin=True)
    if template is None:
        raise Refused(f"检查表不存在: {data['template_key']}", field="template_key")
    return template


def create_inspection(context: Context, data: dict) -> Inspection:
    """An inspection of one enterprise (in a campaign or alone) against one template version;
    the inspector kind follows the caller's role."""
    access, actor_id = context.access, context.user_id
    kind = inspector_kind_for(access.role, data.get("inspector_kind"))
    enterprise = db.session.get(Enterprise, data["enterprise_id"])  # scoped: foreign is absent
    if enterprise is None or enterprise.deleted_at is not None \
            or not can_see_enterprise(context, enterprise.id):
        raise NotFound("企业不存在", field="enterprise_id")
    if data.get("campaign_id") is not None:
        campaign = db.session.get(Campaign, data["campaign_id"])
        if campaign is None:
            raise Refused("专项行动不存在", field="campaign_id")
        if campaign.status != "active":
            raise Conflict("专项行动未启动或已结束，不能在其中检查", field="campaign_id")
    template = _resolve_template(context, data)
    inspection = Inspection(enterprise_id=enterprise.id, campaign_id=data.get("campaign_id"),
                            template_id=template.id, inspector_kind=kind,
                            inspector_user_id=actor_id, status="draft",
                            summary=data.get("summary") or "",
                            performed_on=_performed_on(data.get("performed_on")))
    db.session.add(inspection)
    db.session.flush()
    return inspection


def _performed_on(day):
    """The day an inspection was carried out: given (not after today, China's date), or
    today."""
    today = local_today()
    if day is None:
        return today
    if day > today:
        raise Refused("检查日期不能晚于今天", field="performed_on")
    return day


def check_editable(context: Context, inspection: Inspection) -> None:
    """Only a draft changes, and only by a role that does this kind of inspection."""
    access = context.access
    if inspection.status == "submitted":
        raise Conflict("检查已提交，不能再修改")
    if access is not None and not may_fill(access.role, inspection.inspector_kind):
        raise Forbidden(f"当前角色不能填写“{INSPECTOR_KINDS[inspection.inspector_kind]}”")


def hazard_of_result(result_id: int) -> int | None:
    return db.session.scalar(select(Hazard.id).where(Hazard.inspection_result_id == result_id)
                             .limit(1))


def set_result(context: Context, inspection: Inspection, item_id: int, data: dict,
               field: str = "item_id") -> InspectionResult:
    """Answer one item (yes / no / not applicable) with a note and evidence; a "no" may
    raise a hazard at once (``raise_hazard``)."""
    actor_id = context.user_id
    check_editable(context, inspection)
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.template_id != inspection.template_id:
        raise Refused("检查项不属于本次检查所用的检查表", field=field)
    result = db.session.scalar(select(InspectionResult).where(
        InspectionResult.inspection_id == inspection.id, InspectionResult.item_id == item.id))
    hazard_id = hazard_of_result(result.id) if result is not None else None
    if hazard_id is not None and data["answer"] != "no":
        raise Conflict("该检查项已登记隐患，不能改为“是”或“不适用”", field="answer")
    raise_hazard = data.get("raise_hazard")
    if raise_hazard is not None and data["answer"] != "no":
        raise Refused("只有回答“否”的检查项才能登记隐患", field="raise_hazard")
    if raise_hazard is not None and hazard_id is not None:
        raise Conflict("该检查项已登记隐患", field="raise_hazard")
    if result is None:
        result = InspectionResult(inspection_id=inspection.id, item_id=item.id)
        db.session.add(result)
    result.answer, result.answered_by, result.answered_at = data["answer"], actor_id, utcnow()
    if "note" in data:
        result.note = data["note"] or ""
    db.session.flush()
    if "evidence_ids" in data:
        wanted = set(data["evidence_ids"] or ())
        for row in db.session.scalars(select(evidence.Evidence).where(
                evidence.Evidence.inspection_result_id == result.id)):
            if row.id not in wanted:
                row.inspection_result_id = None
        evidence.attach(context, data["evidence_ids"], can_see_enterprise,
                        inspection_result_id=result.id, enterprise_id=inspection.enterprise_id)
    if raise_hazard is not None:
        _raise_hazard(context, inspection, result, item, raise_hazard)
    return result


def finding_of(item: ChecklistItem, note: str, title: str | None = None,
               description: str | None = None) -> tuple[str, str]:
    """(title, description) of a hazard raised from a checklist item answered "no".

    The title is what was found: the reporter's ``title``, else the first line of the
    answer's note, else that the item's requirement is not met ("不符合要求：…"), never
    the requirement alone. The requirement stays the hazard's criterion: the description
    ends with "检查依据/要求：<item>（<legal basis>）" (no column of its own)."""
    note = (note or "").strip()
    first_line = note.splitlines()[0].strip() if note else ""
    found = (title or "").strip() or first_line or f"不符合要求：{item.text}"
    details = (description or "").strip() or (note if note and note != found else "")
    basis = (item.legal_basis or "").strip()
    criterion = f"检查依据/要求：{item.text}" + (f"（{basis}）" if basis else "")
    return found[:300], "\n".join(part for part in (details, criterion) if part)


def _raise_hazard(context: Context, inspection: Inspection, result: InspectionResult,
                  item: ChecklistItem, body: dict) -> Hazard:
    title, description = finding_of(item, result.note, body.get("title"),
                                     body.get("description"))
    try:
        return hazard_service.report_hazard(
            context, enterprise_id=inspection.enterprise_id,
            source=HAZARD_SOURCES[inspection.inspector_kind],
            title=title, description=description,
            location=body.get("location") or "", campaign_id=inspection.campaign_id,
            inspection_id=inspection.id, inspection_result_id=result.id, checklist_item=item,
            found_on=body.get("found_on") or inspection.performed_on,
            immediate=bool(body.get("immediate", False)),
            evidence_ids=body.get("evidence_ids") or (), grade=body.get("grade"),
            grade_criterion=body.get("grade_criterion") or "")
    except DomainError as exc:  # the hazard's fields sit under raise_hazard in the body
        exc.within("raise_hazard")
        raise


def set_results(context: Context, inspection: Inspection,
                entries: list[dict]) -> list[InspectionResult]:
    check_editable(context, inspection)
    seen = set()
    out = []
    for i, entry in enumerate(entries):
        if entry["item_id"] in seen:
            raise Refused("同一检查项重复出现", field=f"results[{i}].item_id")
        seen.add(entry["item_id"])
        out.append(set_result(context, inspection, entry["item_id"], entry,
                              field=f"results[{i}].item_id"))
    return out


def submit(context: Context, inspection: Inspection, data: dict) -> Inspection:
    """Submit a fully answered inspection (read-only from then on); then the tenant's
    ``on_inspection_completed`` hook reacts (an exception rolls the submission back)."""
    check_editable(context, inspection)
    answered = set(db.session.scalars(select(InspectionResult.item_id).where(
        InspectionResult.inspection_id == inspection.id)))
    missing = [item.code for item in items_of(inspection.template_id) if item.id not in answered]
    if missing:
        raise Refused("以下检查项尚未填写: " + "、".join(missing), field="results")
    for key in ("summary", "conclusion"):
        if key in data:
            setattr(inspection, key, data[key] or "")
    if data.get("performed_on") is not None:
        inspection.performed_on = _performed_on(data["performed_on"])
    inspection.status, inspection.submitted_at = "submitted", utcnow()
    db.session.flush()
    template = db.session.get(ChecklistTemplate, inspection.template_id)
    if template.plugin and plugin_templates(context).get(template.key, {}).get("no_raises_hazard"):
        raise_for_no_answers(context, inspection)
    risk_feedback.inspected(context, inspection)  # the enterprise's risk checklist: points inspected
    actor = db.session.get(User, context.user_id) if context.user_id is not None else None
    context.policy("on_inspection_completed", inspection=inspection, actor=actor)
    db.session.flush()
    return inspection


def raise_for_no_answers(context: Context, inspection: Inspection) -> list[Hazard]:
    """A hazard for every item of ``inspection`` answered "no" that has none yet: titled by
    what was found (the answer's note), the item's requirement as its criterion
    (``finding_of``)."""
    items = {item.id: item for item in items_of(inspection.template_id)}
    raised = []
    for result in db.session.scalars(select(InspectionResult).where(
            InspectionResult.inspection_id == inspection.id, InspectionResult.answer == "no")
            .order_by(InspectionResult.id)):
        if hazard_of_result(result.id) is None:
            item = items[result.item_id]
            raised.append(_raise_hazard(context, inspection, result, item, {}))
    return raised


def inspection_view(inspection: Inspection) -> dict:
    """An inspection with every item of its template and the answers given (four queries)."""
    template = db.session.get(ChecklistTemplate, inspection.template_id)
    enterprise = db.session.get(Enterprise, inspection.enterprise_id)
    results = {r.item_id: r for r in db.session.scalars(select(InspectionResult).where(
        InspectionResult.inspection_id == inspection.id))}
    by_result: dict[int, list] = {}
    hazards: dict[int, int] = {}
    result_ids = [r.id for r in results.values()]
    if result_ids:
        for row in db.session.scalars(select(evidence.Evidence).where(
                evidence.Evidence.inspection_result_id.in_(result_ids))
                .order_by(evidence.Evidence.id)):
            by_result.setdefault(row.inspection_result_id, []).append(row)
        for hazard_id, result_id in db.session.execute(select(Hazard.id, Hazard.inspection_result_id)
                                                       .where(Hazard.inspection_result_id
                                                              .in_(result_ids))):
            hazards.setdefault(result_id, hazard_id)
    rows = []
    for item in items_of(inspection.template_id):
        result = results.get(item.id)
        rows.append({
            "item_id": item.id, "code": item.code, "text": item.text, "category": item.category,
            "part": item.part, "legal_basis": item.legal_basis,
            "is_major_criterion": item.is_major_criterion,
            "result_id": result.id if result else None,
            "answer": result.answer if result else None,
            "note": result.note if result else "",
            "answered_by": result.answered_by if result else None,
            "answered_at": result.answered_at if result else None,
            "evidence": by_result.get(result.id, []) if result else [],
            "hazard_id": hazards.get(result.id) if result else None,
        })
    return {"inspection": inspection, "template": template,
            "enterprise_name": enterprise.name if enterprise else None, "results": rows}


# --- evidence ---------------------------------------------------------------------------------

def upload_evidence(context: Context, storage: Storage, data, content_type: str | None,
                    filename: str | None, enterprise_id: int | None) -> evidence.Evidence:
    """Store a photo or PDF uploaded by the context's actor (``anjian.evidence.store``);
    ``enterprise_id`` (optional) must be one the actor may see."""
    if enterprise_id is not None:
        enterprise = db.session.get(Enterprise, enterprise_id)
        if enterprise is None or not can_see_enterprise(context, enterprise_id):
            raise NotFound("企业不存在", field="enterprise_id")
    return evidence.store(context, storage, data, content_type, filename, enterprise_id)
