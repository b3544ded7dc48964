"""Import profiles: which header of a file means which field (the core template's, a
plugin's), with a column for each of the tenant's plugin fields."""

from __future__ import annotations

import re

import marshmallow as ma

from anjian.context import Context
from anjian.enterprises.importing.cells import choices_of, extra_converter
from anjian.enterprises.models import FLAGS
from anjian.enterprises.service import extra_schema
from anjian.errors import Refused, UnsupportedType

CORE_PROFILE_KEY = "core"
# Field → the core template's header. "area_code" is resolved to area_id.
CORE_HEADERS: dict[str, str] = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "address": "地址",
    "industry": "行业",
    "industry_code": "行业代码",
    "scale": "规模",
    "above_quota": "限上",
    "employees": "从业人数",
    "safety_managers": "安全管理人员数",
    "special_workers": "特种作业人员数",
    "main_products": "主要产品",
    "main_risk_factors": "主要风险因素",
    **{flag: label for flag, label in FLAGS.items()},
    "principal_name": "主要负责人",
    "principal_phone": "负责人电话",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "area_code": "所属区域(区域代码)",
    "status": "状态",
}
REQUIRED = ("credit_code", "name")

EXTRA_PREFIX = "extra."  # a column of a plugin field: "extra.<field name>"


def core_profile() -> dict:
    return {"key": CORE_PROFILE_KEY, "title": "企业台账导入模板（标准）",
            "headers": {header: name for name, header in CORE_HEADERS.items()},
            "sheet": None, "header_row": 1}


class ImportFileError(Refused):
    """The file as a whole cannot be imported (message in Chinese): a Refused, or with
    ``status`` 415 an UnsupportedType (a file that cannot be read)."""

    def __new__(cls, message: str, status: int = 422):
        if cls is ImportFileError and status == 415:
            cls = _UnreadableImport
        return super().__new__(cls, message, status)

    def __init__(self, message: str, status: int = 422):
        super().__init__(message, technical="ImportFileError")  # a failed job's second line
        self.status = status


class _UnreadableImport(ImportFileError, UnsupportedType):
    pass


def profiles_for(context: Context) -> list[dict]:
    """The core profile plus those of the tenant's enabled plugins (hook register_import_profiles)."""
    out, seen = [], set()
    for entry in context.catalogue("register_import_profiles"):
        if entry.get("key") in seen:
            continue
        seen.add(entry.get("key"))
        out.append(entry)
    if CORE_PROFILE_KEY not in seen:
        out.insert(0, {**core_profile(), "plugin": "anjian.defaults"})
    return out


def find_profile(context: Context, key: str | None) -> dict:
    """The profile ``key`` (the core one by default), with the tenant's plugin columns."""
    key = key or CORE_PROFILE_KEY
    for profile in profiles_for(context):
        if profile.get("key") == key:
            return with_plugin_columns(context, profile)
    raise ImportFileError(f"未知的导入模板：{key}")


def with_plugin_columns(context: Context, profile: dict) -> dict:
    """``profile`` with a column for each of the tenant's plugin fields
    (``enterprise_extra_fields``) under its label, unless the profile maps that label
    already; ``converters`` converts their cells, ``choices`` lists what the template's
    drop-downs offer."""
    headers, converters, choices = dict(profile["headers"]), {}, {}
    for name, plugin_field in extra_schema(context).fields.items():
        column = EXTRA_PREFIX + name
        headers.setdefault(extra_label(name, plugin_field), column)
        converters[column] = extra_converter(name, plugin_field)
        if offered := choices_of(plugin_field):
            choices[column] = offered
    return {**profile, "headers": headers, "converters": converters, "choices": choices}


def extra_label(name: str, field: ma.fields.Field) -> str:
    """A plugin field's column header: its title, else its description up to the first
    bracket or colon (职业病危害风险等级：一般、较重、严重 → 职业病危害风险等级), else its name."""
    metadata = field.metadata or {}
    if metadata.get("title"):
        return str(metadata["title"])
    label = re.split(r"[（(：:，,]", str(metadata.get("description") or ""), maxsplit=1)[0]
    return label.strip() or name
