"""The enterprise list as the intake engine reads it: each field's label (the template's
header), the names people give its column in real lists, and how its cells are read;
with a column for each of the tenant's plugin fields and the everyday names the
tenant's plugins add (``register_import_profiles``)."""

from __future__ import annotations

import re
from collections.abc import Callable

import marshmallow as ma

from anjian.context import Context
from anjian.enterprises.importing.cells import (
    choices_of,
    extra_converter,
    read_credit_code,
    read_industry,
    read_industry_code,
    read_scale,
    read_status,
)
from anjian.enterprises.models import FLAGS
from anjian.enterprises.service import extra_schema
from anjian.intake.cells import CellError, cell_text, read_integer, read_phone, read_text, read_yes_no
from anjian.intake.errors import ImportFileError
from anjian.intake.profile import Field, Profile

CORE_PROFILE_KEY = "core"
TARGET = "enterprises"
EXTRA_PREFIX = "extra."  # a column of a plugin field: "extra.<field name>"
AREA = "area_code"  # read into the area's id (by its code or its name)

# Field → (the template's header, the names real lists give the column). Gathered from
# county, street and park lists (附件：企业名单, 重点企业名单, 企业基本情况表): everyday
# names of one field only; a name two fields could claim (电话, 人数) is left out.
CORE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "credit_code": ("统一社会信用代码", (
        "社会信用代码", "信用代码", "统一信用代码", "社会统一信用代码", "统一社会信用代码证",
        "统一社会信用代码(注册号)", "统一社会信用代码/注册号", "企业统一社会信用代码",
        "单位统一社会信用代码", "营业执照号", "营业执照号码", "营业执照注册号", "工商注册号",
        "uscc")),
    "name": ("企业名称", (
        "单位名称", "企业全称", "公司名称", "企业(单位)名称", "企业（单位）名称", "单位(企业)名称",
        "生产经营单位名称", "生产经营单位", "企业名", "名称", "单位全称", "企业单位名称",
        "被检查单位", "被检查单位名称")),
    "address": ("地址", (
        "企业地址", "单位地址", "注册地址", "经营地址", "生产经营地址", "生产地址", "实际经营地址",
        "详细地址", "厂址", "住所", "地址(住所)", "通讯地址", "企业注册地址", "企业经营地址",
        "所在地址", "办公地址")),
    "industry": ("行业", (
        "行业类别", "行业分类", "所属行业", "行业类型", "监管行业", "行业领域", "所属行业类别",
        "行业门类", "企业行业", "行业(领域)")),
    "industry_code": ("行业代码", (
        "国民经济行业代码", "国民经济行业分类代码", "行业分类代码", "国民经济行业分类", "gb/t4754代码")),
    "scale": ("规模", ("企业规模", "规模类型", "企业规模类型", "规模情况", "企业类型(规模)")),
    "above_quota": ("限上", ("是否限上", "限额以上", "是否限额以上", "限上企业")),
    "employees": ("从业人数", (
        "职工人数", "员工数", "员工人数", "从业人员数", "从业人员", "从业人员人数", "职工数",
        "在岗职工数", "在职职工人数", "用工人数", "企业人数", "职工总数", "员工总数", "从业人员总数",
        "从业人员总人数", "单位人数", "人员数量", "在岗人数")),
    "safety_managers": ("安全管理人员数", (
        "安全管理人员", "安全管理人员人数", "专职安全管理人员数", "专兼职安全管理人员数", "安管人员数",
        "安全员人数", "安全管理人员数量", "专(兼)职安全管理人员数")),
    "special_workers": ("特种作业人员数", (
        "特种作业人员", "特种作业人数", "特种作业人员人数", "持证特种作业人员数", "特种作业人员数量")),
    "main_products": ("主要产品", ("主营产品", "产品", "主要产品名称", "主营业务", "主要产品及产能")),
    "main_risk_factors": ("主要风险因素", (
        "主要危险因素", "风险因素", "主要风险点", "主要危险有害因素", "危险有害因素", "主要安全风险",
        "存在的主要风险")),
    "dust_explosion": (FLAGS["dust_explosion"], ("涉爆粉尘", "是否粉尘涉爆", "粉尘涉爆企业", "涉及粉尘涉爆")),
    "ammonia_refrigeration": (FLAGS["ammonia_refrigeration"], (
        "涉氨制冷", "是否液氨制冷", "涉氨", "液氨制冷企业", "涉及液氨制冷")),
    "confined_space": (FLAGS["confined_space"], (
        "有限空间作业", "是否有限空间", "涉及有限空间", "有限空间企业", "涉及有限空间作业")),
    "major_hazard": (FLAGS["major_hazard"], ("重大危险源企业", "是否重大危险源", "涉及重大危险源")),
    "labour_intensive": (FLAGS["labour_intensive"], ("劳动密集型", "是否劳动密集型", "劳动密集型企业")),
    "principal_name": ("主要负责人", (
        "法定代表人", "法人代表", "法人", "负责人", "企业负责人", "主要负责人姓名", "负责人姓名",
        "法定代表人姓名", "企业法人", "单位负责人", "法定代表人(负责人)", "法定代表人/负责人")),
    "principal_phone": ("负责人电话", (
        "主要负责人电话", "主要负责人联系电话", "主要负责人手机", "主要负责人手机号码", "主要负责人联系方式",
        "负责人联系电话", "负责人手机",
        "负责人手机号码", "法人电话", "法定代表人电话", "法定代表人联系电话", "法人联系电话",
        "企业负责人电话", "企业负责人联系电话", "企业负责人手机", "负责人联系方式", "法人手机",
        "法定代表人手机")),
    "contact_name": ("联系人", ("联系人姓名", "安全联系人", "企业联系人", "安全管理联系人")),
    "contact_phone": ("联系电话", (
        "联系人电话", "联系人联系电话", "联系人手机", "联系人手机号码", "联系方式", "手机号码",
        "联系手机", "手机", "电话号码", "联系电话(手机)", "企业联系电话", "单位联系电话")),
    AREA: ("所属区域(区域代码)", (
        "所属区域", "区域代码", "区域", "所属镇(街道)", "所在镇(街道)", "镇(街道)", "所属镇", "所属街道",
        "所在镇", "所在街道", "所属乡镇", "乡镇(街道)", "所属乡镇(街道)", "属地", "所在区域",
        "所属板块", "板块", "镇区", "所属镇区", "街道")),
    "status": ("状态", ("经营状态", "企业状态", "生产状态", "营业状态", "生产经营状态", "经营情况")),
}
REQUIRED = ("credit_code", "name")
# Columns of codes, names and addresses: every cell differs, none is remembered.
UNIQUE = ("credit_code", "name", "address", "principal_name", "principal_phone", "contact_name",
          "contact_phone")

_COUNT = read_integer
READERS: dict[str, Callable] = {
    "credit_code": read_credit_code,
    "name": read_text(200),
    "address": read_text(300),
    "industry": read_industry,
    "industry_code": read_industry_code,
    "scale": read_scale,
    "above_quota": read_yes_no,
    "employees": _COUNT,
    "safety_managers": _COUNT,
    "special_workers": _COUNT,
    "main_products": read_text(2000),
    "main_risk_factors": read_text(2000),
    "principal_name": read_text(50),
    "principal_phone": read_phone,
    "contact_name": read_text(50),
    "contact_phone": read_phone,
    "status": read_status,
    **{flag: read_yes_no for flag in FLAGS},
}
CORE_HEADERS: dict[str, str] = {name: label for name, (label, _aliases) in CORE_FIELDS.items()}


def enterprise_profile(context: Context, key: str | None = None,
                       areas: dict[str, int] | None = None) -> Profile:
    """The profile ``key`` (the core one by default) for the tenant: the core fields and
    their names, the names every enabled plugin adds, a column per plugin field; the
    area read by its code or name among ``areas`` (code or name → id)."""
    key = key or CORE_PROFILE_KEY
    entries = [e for e in context.catalogue("register_import_profiles")
               if e.get("target", TARGET) == TARGET]
    chosen = next((e for e in entries if e["key"] == key), None)
    if chosen is None and key != CORE_PROFILE_KEY:
        raise ImportFileError(f"未知的导入模板：{key}", field="profile")
    fields = []
    for name, (label, aliases) in CORE_FIELDS.items():
        read = READERS.get(name) or _area_reader(areas or {})
        fields.append(Field(name, label, read, aliases, required=name in REQUIRED,
                            remember=name not in UNIQUE))
    profile = Profile(key, chosen["title"] if chosen else "企业台账导入模板（标准）", TARGET,
                      tuple(fields), "credit_code", noun="企业",
                      sheet=(chosen or {}).get("sheet"), header_row=(chosen or {}).get("header_row"))
    profile = profile.with_fields(plugin_fields(context, {f.label for f in fields}))
    for entry in entries:  # a plugin field's names are given under its own name
        profile = profile.with_aliases({name if name in CORE_FIELDS else EXTRA_PREFIX + name: names
                                        for name, names in (entry.get("aliases") or {}).items()})
    return profile


def plugin_fields(context: Context, taken: set[str]) -> list[Field]:
    """A field per plugin field of the tenant (``enterprise_extra_fields``), under its
    label (its ``aliases`` metadata adds names); a label the core has is not taken."""
    out = []
    for name, plugin_field in extra_schema(context).fields.items():
        label = extra_label(name, plugin_field)
        if label in taken:
            continue
        aliases = tuple(str(a) for a in (plugin_field.metadata or {}).get("aliases", ()))
        out.append(Field(EXTRA_PREFIX + name, label, extra_converter(name, plugin_field), aliases,
                         choices=tuple(choices_of(plugin_field))))
    return out


def _area_reader(areas: dict[str, int]) -> Callable:
    def read(value):
        text = cell_text(value)
        area_id = areas.get(text)
        if area_id is None:
            raise CellError(f"所属区域「{text}」不存在或已停用（可填区域代码或名称）")
        return area_id
    return read


def profiles_for(context: Context) -> list[dict]:
    """The profiles a tenant may choose: the core one and its enabled plugins' (for the
    enterprise list), each with every field's label and names."""
    out = []
    entries = [{"key": CORE_PROFILE_KEY, "title": "企业台账导入模板（标准）", "plugin": "anjian.defaults"}]
    for entry in context.catalogue("register_import_profiles"):
        if entry.get("target", TARGET) == TARGET and entry["key"] != CORE_PROFILE_KEY:
            entries.append(entry)
    for entry in entries:
        profile = enterprise_profile(context, entry["key"])
        out.append({"key": profile.key, "title": profile.title, "plugin": entry.get("plugin"),
                    "sheet": profile.sheet, "header_row": profile.header_row,
                    "fields": [{"name": f.name, "label": f.label, "aliases": list(f.aliases),
                                "required": f.required} for f in profile.fields]})
    return out


def extra_label(name: str, field: ma.fields.Field) -> str:
    """A plugin field's column header: its title, else its description up to the first
    bracket or colon (职业病危害风险等级：一般、较重、严重 → 职业病危害风险等级), else its name."""
    metadata = field.metadata or {}
    if metadata.get("title"):
        return str(metadata["title"])
    label = re.split(r"[（(：:，,]", str(metadata.get("description") or ""), maxsplit=1)[0]
    return label.strip() or name


__all__ = ["CORE_FIELDS", "CORE_HEADERS", "CORE_PROFILE_KEY", "EXTRA_PREFIX", "REQUIRED",
           "choices_of", "enterprise_profile", "extra_label", "plugin_fields", "profiles_for"]
