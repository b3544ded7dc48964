"""Importing the ledgers' lists on the intake engine (``anjian.intake``): title rows,
merged headers, 序号 columns, 合计 and note rows, everyday column names.

Rule templates (规章制度模板) — the only list so far; each list has a section of its own.

The tenant's template list as a district sends it (the 271 templates of its handbook):
a row per rule with its code (编号; a list that numbers its rules with 序号 alone gets
that number as the code), its title (制度名称) and, if the list has one, its category
(类别). A code given on several rows is taken from its first valid row.

Loading a list, against the tenant's templates (``run_rule_template_import``):

* a code the tenant has not got is added;
* a code it has gets the list's title, category (when the list has a category column)
  and position (``seq``, the row's place among the list's valid rows);
* a code the tenant has and the list has not is **kept** and reported (``not_in_list``):
  the enterprises' self-checks against it stay, and it still counts among the templates.
  A list that drops rules on purpose is rare; dropping them silently would change every
  enterprise's counts without a word.

A row that changes nothing counts as unchanged (a re-load of the same list changes
nothing); the ORM's audit hooks audit every row written. The caller commits; a dry run
writes nothing and counts what the load would do, with the first changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from anjian.context import Context
from anjian.errors import Refused, TooLarge
from anjian.extensions import db
from anjian.intake.cells import CellError, read_code, read_text
from anjian.intake.errors import ImportFileError
from anjian.intake.profile import Field, Profile
from anjian.intake.rows import Reading, shown
from anjian.intake.table import Table, nothing_dropped, open_table
from anjian.ledgers.models import RuleTemplate

# ===================================================================== rule templates

RULE_TEMPLATE_PROFILE_KEY = "rule_templates"
RULE_TEMPLATE_TARGET = "ledgers.rule_templates"
RULE_TEMPLATE_FILE_MAX = 2 * 1024 * 1024  # bytes: a list of a few hundred rules is tens of KB
RULE_TEMPLATE_ROWS_MAX = 3000  # data rows of one list
RULE_CODE_MAX = 40  # RuleTemplate.code
RULE_TITLE_MAX = 300  # RuleTemplate.title
RULE_CATEGORY_MAX = 100  # RuleTemplate.category
RULE_TEMPLATE_PREVIEW = 200  # the changes a dry run lists
RULE_TEMPLATE_INFORMATIONAL = ("note",)  # recognised, not imported
SERIAL_AS_CODE = "序号作编号"  # how the plan names a 序号 column taken as the code


def read_rule_code(value) -> str:
    """A template's code as text ("1", "A-01", "ZD-001"): half-width, upper case, no
    spaces, at most 40 characters."""
    code = read_code(value)
    if len(code) > RULE_CODE_MAX:
        raise CellError(f"超过 {RULE_CODE_MAX} 个字符")
    return code


RULE_TEMPLATE_FIELDS = (
    Field("code", "编号", read_rule_code, (
        "序号", "制度编号", "模板编号", "规章制度编号", "文件编号", "制度代码", "代码", "编码", "code"),
          required=True, remember=False),
    Field("title", "制度名称", read_text(RULE_TITLE_MAX), (
        "规章制度名称", "规章制度", "制度", "名称", "模板名称", "制度模板名称", "制度模板", "文件名称",
        "制度文件名称", "安全生产规章制度", "安全生产规章制度名称", "规章制度和操作规程", "规章制度及操作规程",
        "制度及操作规程名称", "操作规程名称", "标题", "title"), required=True, remember=False),
    Field("category", "类别", read_text(RULE_CATEGORY_MAX), (
        "分类", "制度类别", "制度分类", "类型", "制度类型", "所属类别", "所属分类", "类别名称", "category")),
    Field("note", "备注", read_text(2000), ("说明", "备注说明"), remember=False),
)
RULE_TEMPLATE_PROFILE = Profile(RULE_TEMPLATE_PROFILE_KEY, "规章制度模板清单", RULE_TEMPLATE_TARGET,
                                RULE_TEMPLATE_FIELDS, key_field="code", noun="规章制度模板")


def _serial_as_code(exc: ImportFileError) -> tuple[str | None, str] | None:
    """(sheet, column letter) of the 序号 column of a list that numbers its rules with it
    alone, from the plan of the error that found no code column; else None."""
    plan = (exc.members or {}).get("plan")
    if not plan or any(c.get("field") == "code" for c in plan["columns"]):
        return None
    serial = next((c for c in plan["ignored"] if c.get("how") == "序号列"), None)
    return (plan["sheet"], serial["column"]) if serial is not None else None


def open_rule_template_list(data: bytes, *, sheet: str | None = None,
                            mapping: Mapping[str, str] | None = None) -> tuple[Profile, Table]:
    """The profile and the table of a template list (TooLarge over the bound;
    ImportFileError when the file holds no such table). The intake engine takes a 序号
    column for a serial number; a list without another code column gets it as the code."""
    if len(data) > RULE_TEMPLATE_FILE_MAX:
        raise TooLarge(f"文件超过 {RULE_TEMPLATE_FILE_MAX // (1024 * 1024)} MB：规章制度模板清单通常只有几十 KB，"
                       f"请确认上传的是模板清单", field="file")
    profile = RULE_TEMPLATE_PROFILE
    try:
        return profile, open_table(data, profile, sheet=sheet, mapping=mapping)
    except ImportFileError as exc:
        found = _serial_as_code(exc)
        if found is None:
            raise
        found_sheet, letter = found
        table = open_table(data, profile, sheet=found_sheet or sheet, mapping={**(mapping or {}), letter: "code"})
        for column in table.columns:
            if column.field == "code":
                column.how = SERIAL_AS_CODE
        return profile, table


@dataclass
class RuleTemplateOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    not_in_list: list[str] = field(default_factory=list)  # the tenant's codes the list has not got (kept)
    changes: list[dict] = field(default_factory=list)  # a dry run's, the first RULE_TEMPLATE_PREVIEW


def _template_change(row: int, code: str, action: str, diff: dict) -> dict:
    return {"row": row, "code": code, "action": action,
            "changes": {k: {"from": None if old is None else shown(old), "to": shown(new)}
                        for k, (old, new) in diff.items()}}


def run_rule_template_import(context: Context, reading: Reading, dry_run: bool, *,
                             preview: int = RULE_TEMPLATE_PREVIEW) -> RuleTemplateOutcome:
    """Add or update the template of each valid row (see the section's doc). Refused when
    the list has more than RULE_TEMPLATE_ROWS_MAX rows. Nothing is written in a dry run;
    else the caller commits."""
    rows = list(reading.candidates())  # the file is bounded (RULE_TEMPLATE_FILE_MAX)
    if reading.total > RULE_TEMPLATE_ROWS_MAX:
        raise Refused(f"清单超过 {RULE_TEMPLATE_ROWS_MAX} 行：规章制度模板清单通常只有几百条，"
                      f"请确认上传的是模板清单", field="file")
    has_category = any(c.field == "category" for c in reading.table.columns)
    stored = {t.code: t for t in db.session.scalars(select(RuleTemplate))}
    outcome = RuleTemplateOutcome()
    added: list[RuleTemplate] = []
    for seq, cand in enumerate(rows, start=1):
        values = cand.values
        code = values["code"]
        target = {"title": values["title"], "seq": seq}
        if has_category:
            target["category"] = values.get("category", "")
        template = stored.get(code)
        if template is None:
            outcome.created += 1
            new = {"title": target["title"], "category": target.get("category", ""), "seq": seq}
            if dry_run:
                if len(outcome.changes) < preview:
                    outcome.changes.append(_template_change(cand.row, code, "created",
                                                            {k: (None, v) for k, v in new.items()}))
            else:
                added.append(RuleTemplate(code=code, **new))
            continue
        diff = {k: (getattr(template, k), v) for k, v in target.items() if getattr(template, k) != v}
        # A new position alone (rows inserted above) is no change worth a count.
        if not {k for k in diff if k != "seq"}:
            outcome.unchanged += 1
            if not dry_run and diff:
                template.seq = seq
            continue
        outcome.updated += 1
        if dry_run:
            if len(outcome.changes) < preview:
                outcome.changes.append(_template_change(cand.row, code, "updated", diff))
            continue
        for key, (_old, new_value) in diff.items():
            setattr(template, key, new_value)
    in_list = {cand.values["code"] for cand in rows}
    outcome.not_in_list = sorted((code for code in stored if code not in in_list),
                                 key=lambda code: (stored[code].seq, code))
    if not dry_run:
        db.session.add_all(added)
        db.session.flush()
    return outcome


def rule_template_warnings(reading: Reading, outcome: RuleTemplateOutcome, dry_run: bool) -> list[str]:
    """The intake's warnings, with the columns only read to recognise the list and the
    tenant's templates the list has not got (kept)."""
    out = [f"「{c.header}」（{c.letter}列）作为编号导入（清单中没有其他编号列）"
           for c in reading.table.columns if c.how == SERIAL_AS_CODE]
    out += reading.warnings(dry_run)
    out += [f"「{c.header}」（{c.letter}列）仅供识别，不导入"
            for c in reading.table.columns if c.field in RULE_TEMPLATE_INFORMATIONAL]
    if outcome.not_in_list:
        codes = "、".join(outcome.not_in_list[:20])
        more = " 等" if len(outcome.not_in_list) > 20 else ""
        out.append(f"{len(outcome.not_in_list)} 条已有模板不在本次清单中（编号 {codes}{more}），"
                   f"{'将' if dry_run else '已'}保留，企业对其的自查记录不变")
    return out


def import_rule_templates(context: Context, data: bytes, *, dry_run: bool, sheet: str | None = None,
                          mapping: Mapping[str, str] | None = None, file_name: str | None = None) -> dict:
    """Load a template list (the file's bytes): the plan (the table found, each column's
    fate), the rows' summary (counts, skipped rows, rejections with row, column and
    reason), the counts created / updated / unchanged, the codes not in the list and the
    warnings; a dry run adds the conversions, the first rows and the changes it would
    make, and writes nothing. A load refuses a column it would drop unannounced
    (ImportFileError with the plan). The caller commits."""
    profile, table = open_rule_template_list(data, sheet=sheet, mapping=mapping)
    if not dry_run:
        nothing_dropped(table)
    reading = Reading(table, profile, explain=dry_run)
    outcome = run_rule_template_import(context, reading, dry_run)
    result = {
        "dry_run": dry_run, "profile": profile.key, "file_name": file_name,
        **table.plan(), **reading.summary(),
        "created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
        "not_in_list": outcome.not_in_list, "warnings": rule_template_warnings(reading, outcome, dry_run),
    }
    if dry_run:
        result["changes"] = outcome.changes
        result["changes_truncated"] = (outcome.created + outcome.updated) > len(outcome.changes)
    return result


__all__ = ["RULE_TEMPLATE_FILE_MAX", "RULE_TEMPLATE_PROFILE", "RULE_TEMPLATE_ROWS_MAX", "RuleTemplateOutcome",
           "import_rule_templates", "open_rule_template_list", "read_rule_code", "run_rule_template_import"]
