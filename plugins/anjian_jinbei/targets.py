"""Section 三 (服务对象范围): who the street's social services are for.

"原则上应将以下行业领域或区域作为安全生产社会化服务的重点对象：职业病危害较重及以上的
用人单位；自身安全生产管理能力不足的工业生产经营单位；出租厂房、大型市场等涉及多租赁户的
主体或单位；存在重大事故隐患并被列为政府挂牌督办的单位"

The registry does not know these facts, so the plugin adds them to the tenant's
enterprises (``enterprise_extra_fields``), filled in by the street's staff or an import:

* ``occupational_hazard_level`` 职业病危害风险等级: 一般 / 较重 / 严重 (the three grades of
  occupational-disease hazard risk); "较重及以上" is 较重 or 严重;
* ``weak_self_management`` 自身安全生产管理能力不足; it selects an enterprise only when it is
  an industrial one (工业: GB/T 4754 sections B mining, C manufacturing, D utilities, or
  failing a code an industrial sector tag of the registry);
* ``multi_tenant_landlord`` 出租厂房等涉及多租赁户, ``large_market`` 大型市场;
* ``listed_major_hazard_supervision`` 存在重大事故隐患并被政府挂牌督办 (not the registry's
  ``major_hazard`` flag, which is a major hazard installation, 重大危险源).
"""

from marshmallow import fields, validate

OCCUPATIONAL_LEVELS = ("一般", "较重", "严重")
SERIOUS_LEVELS = ("较重", "严重")
INDUSTRIAL_SECTIONS = ("B", "C", "D")
INDUSTRIAL_TAGS = ("建材", "机械", "轻工", "冶金", "化工", "纺织", "有色")


def extra_fields() -> dict:
    return {
        "occupational_hazard_level": fields.String(
            allow_none=True, validate=validate.OneOf(OCCUPATIONAL_LEVELS),
            metadata={"description": "职业病危害风险等级：一般、较重、严重"}),
        "weak_self_management": fields.Boolean(
            metadata={"description": "自身安全生产管理能力不足"}),
        "multi_tenant_landlord": fields.Boolean(
            metadata={"description": "出租厂房等涉及多租赁户的主体"}),
        "large_market": fields.Boolean(metadata={"description": "大型市场"}),
        "listed_major_hazard_supervision": fields.Boolean(
            metadata={"description": "存在重大事故隐患并被列为政府挂牌督办"}),
    }


def is_industrial(enterprise) -> bool:
    code = getattr(enterprise, "industry_code", None)
    if code:
        return code[0] in INDUSTRIAL_SECTIONS
    return getattr(enterprise, "industry", None) in INDUSTRIAL_TAGS


def reasons(enterprise) -> list[str]:
    """Why the enterprise is a target of the street's services (empty: it is not)."""
    extra = getattr(enterprise, "extra", None) or {}
    out = []
    level = extra.get("occupational_hazard_level")
    if level in SERIOUS_LEVELS:
        out.append(f"职业病危害{level}（较重及以上的用人单位）")
    if extra.get("weak_self_management") and is_industrial(enterprise):
        out.append("自身安全生产管理能力不足的工业生产经营单位")
    if extra.get("multi_tenant_landlord"):
        out.append("出租厂房等涉及多租赁户的主体")
    if extra.get("large_market"):
        out.append("大型市场（涉及多租赁户）")
    if extra.get("listed_major_hazard_supervision"):
        out.append("存在重大事故隐患并被列为政府挂牌督办的单位")
    return out


def select(enterprises) -> list[tuple]:
    """[(enterprise, reason)] among ``enterprises``: closed ones are left out."""
    chosen = []
    for enterprise in enterprises:
        if getattr(enterprise, "status", "active") == "closed":
            continue
        why = reasons(enterprise)
        if why:
            chosen.append((enterprise, "；".join(why)))
    return chosen
