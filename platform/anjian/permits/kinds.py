"""The kinds of dangerous work a tenant issues permits for (the core's,
``anjian.permits.core_kinds``, and its plugins', ``register_permit_kinds``), what a kind
says about a permit (its grade, its validity), and the steps a tenant's policy asks of a
permit (``permit_approvals``), checked."""

from __future__ import annotations

from anjian.context import Context
from anjian.errors import Defect, NotFound, Refused
from anjian.plugins.views import APPROVAL_STAGES, ApprovalStep

MAX_GUARDIANS = 2  # the permit keeps a guardian and a second guardian (双监督)


def kinds(context: Context) -> dict[str, dict]:
    """The tenant's permit kinds (the core's and its enabled plugins'), by key, as dicts
    (``PermitKind.as_entry`` with the plugin that gave it)."""
    return {entry["key"]: entry for entry in context.catalogue("register_permit_kinds")}


def kind_of(context: Context, key: str) -> dict:
    kind = kinds(context).get(key)
    if kind is None:
        raise NotFound(f"作业类别不存在：{key}", field="kind")
    return kind


def grades(kind: dict) -> dict[str, dict]:
    return {grade["key"]: grade for grade in kind.get("grades") or ()}


def grade_of(kind: dict, key: str | None) -> dict | None:
    """The grade ``key`` of a graded kind (required there); None for an ungraded kind
    (where a grade is refused)."""
    known = grades(kind)
    if not known:
        if key:
            raise Refused(f"{kind['title']}不分级", field="grade")
        return None
    if not key:
        raise Refused(f"{kind['title']}须选择级别：{'、'.join(g['title'] for g in known.values())}",
                      field="grade")
    grade = known.get(key)
    if grade is None:
        raise Refused(f"{kind['title']}的级别须为以下之一：" + "、".join(
            f"{k}（{g['title']}）" for k, g in known.items()), field="grade")
    return grade


def validity_hours(kind: dict, grade_key: str | None) -> int:
    """The hours a permit of ``kind`` (and grade) is valid from its issue."""
    grade = grades(kind).get(grade_key) if grade_key else None
    return grade["validity_hours"] if grade is not None else kind["validity_hours"]


def grade_title(kind: dict | None, grade_key: str | None) -> str | None:
    if kind is None or not grade_key:
        return None
    grade = grades(kind).get(grade_key)
    return grade["title"] if grade is not None else grade_key


def checked_steps(answer) -> list[dict]:
    """The steps of a ``permit_approvals`` answer as the permit keeps them ({key, title,
    stage}); a malformed answer is a defect of the plugin that gave it: ApprovalStep
    entries, unique keys, at least one approval, one or two guardians, at least one
    acceptance."""
    def broken(why: str) -> Defect:
        return Defect(f"作业票审批规则（permit_approvals）的回答无效：{why}")

    if not isinstance(answer, (list, tuple)) or not answer:
        raise broken("须为非空的 ApprovalStep 列表")
    steps, keys = [], set()
    for step in answer:
        if not isinstance(step, ApprovalStep):
            raise broken(f"须为 ApprovalStep，而不是 {type(step).__name__}")
        if not isinstance(step.key, str) or not step.key or len(step.key) > 40 or step.key in keys:
            raise broken(f"步骤的 key 须唯一且不超过 40 个字符：{step.key!r}")
        if step.stage not in APPROVAL_STAGES:
            raise broken(f"步骤 {step.key} 的 stage 须为 {'、'.join(APPROVAL_STAGES)} 之一")
        if not isinstance(step.title, str) or not step.title.strip():
            raise broken(f"步骤 {step.key} 须有标题")
        keys.add(step.key)
        steps.append({"key": step.key, "title": step.title, "stage": step.stage})
    count = {stage: sum(1 for s in steps if s["stage"] == stage) for stage in APPROVAL_STAGES}
    if not count["approve"]:
        raise broken("至少须有一个审批步骤（approve）")
    if not 1 <= count["supervise"] <= MAX_GUARDIANS:
        raise broken(f"监护步骤（supervise）须为 1 至 {MAX_GUARDIANS} 个")
    if not count["accept"]:
        raise broken("至少须有一个验收步骤（accept）")
    return steps


def of_stage(steps: list[dict], stage: str) -> list[dict]:
    return [step for step in steps or () if step.get("stage") == stage]
