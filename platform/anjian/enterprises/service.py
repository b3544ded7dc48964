"""Enterprise rules: credit-code validation, extra fields from plugins, create/update/delete.

The services take the Context first: the tenant's plugins give the extra fields."""

from __future__ import annotations

import marshmallow as ma
from sqlalchemy import select
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.errors import Conflict, Defect, Refused, one_line, translate
from anjian.extensions import db
from anjian.tenancy.models import Area


def normalize_credit_code(value: str) -> str:
    """The canonical 18-character code, or Refused (field credit_code) with a Chinese reason."""
    try:
        return uscc.validate(value or "")
    except InvalidChecksum as exc:
        raise Refused("统一社会信用代码校验位错误", field="credit_code") from exc
    except InvalidLength as exc:
        raise Refused("统一社会信用代码须为 18 位", field="credit_code") from exc
    except (InvalidFormat, ValidationError) as exc:
        raise Refused("统一社会信用代码格式错误", field="credit_code") from exc


def extra_schema(context: Context) -> ma.Schema:
    """The tenant's plugin fields as one schema (hook ``enterprise_extra_fields``)."""
    tenant = context.tenant
    merged: dict[str, ma.fields.Field] = {}
    for fields in context.caller.hook.enterprise_extra_fields(tenant=tenant):
        for name, field in (fields or {}).items():
            if name in merged:
                raise Defect(f"插件扩展字段重名: {name}", field="extra")
            merged[name] = field
    return ma.Schema.from_dict(merged, name=f"EnterpriseExtra_{tenant.code}")()


def validate_extra(context: Context, values: dict | None) -> dict:
    schema = extra_schema(context)
    try:
        return schema.dump(schema.load(values or {}))
    except ma.ValidationError as exc:
        raise Refused(f"扩展字段无效：{one_line(exc.messages)}",
                      errors={"extra": translate(exc.messages)}) from exc


def check_area(area_id: int | None) -> None:
    if area_id is None:
        return
    area = db.session.get(Area, area_id)  # scoped: another tenant's area is absent
    if area is None or not area.is_active:
        raise Refused("所属区域不存在", field="area_id")


def find_by_code(code: str) -> Enterprise | None:
    return db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code))


def create(context: Context, data: dict) -> Enterprise:
    """Register an enterprise; a soft-deleted one with the same code is restored."""
    data = dict(data)
    data["credit_code"] = normalize_credit_code(data["credit_code"])
    check_area(data.get("area_id"))
    data["extra"] = validate_extra(context, data.get("extra"))
    existing = find_by_code(data["credit_code"])
    if existing is not None and existing.deleted_at is None:
        raise Conflict("该统一社会信用代码已登记", field="credit_code")
    if existing is not None:
        for key, value in data.items():
            setattr(existing, key, value)
        existing.deleted_at = None
        db.session.flush()
        return existing
    enterprise = Enterprise(**data)
    db.session.add(enterprise)
    db.session.flush()
    return enterprise


def update(context: Context, enterprise: Enterprise, data: dict) -> Enterprise:
    data = dict(data)
    if "credit_code" in data:
        code = normalize_credit_code(data["credit_code"])
        other = find_by_code(code)
        if other is not None and other.id != enterprise.id:
            raise Conflict("该统一社会信用代码已登记", field="credit_code")
        data["credit_code"] = code
    if "area_id" in data:
        check_area(data["area_id"])
    if "extra" in data:
        data["extra"] = validate_extra(context, {**enterprise.extra, **(data["extra"] or {})})
    for key, value in data.items():
        setattr(enterprise, key, value)
    db.session.flush()
    return enterprise


def soft_delete(context: Context, enterprise: Enterprise) -> None:
    if enterprise.deleted_at is None:
        enterprise.deleted_at = context.clock()
        db.session.flush()
