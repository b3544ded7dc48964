import marshmallow as ma
from marshmallow import validate

from anjian.tenancy.models import AREA_KINDS, LEVELS
from anjian.tenancy.service import CODE_RE

code_field = ma.fields.String(
    required=True, validate=validate.Regexp(CODE_RE, error="只能包含小写字母、数字和连字符")
)


class TenantSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    code = ma.fields.String()
    name = ma.fields.String()
    level = ma.fields.String()
    level_label = ma.fields.Function(lambda t: LEVELS.get(t.level))
    parent = ma.fields.Function(lambda t: t.parent.code if t.parent else None)
    division_code = ma.fields.String(allow_none=True)
    plugins = ma.fields.List(ma.fields.String())
    settings = ma.fields.Dict()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class TenantWriteSchema(ma.Schema):
    """A tenant as the platform admin writes it; validated again by the tenant rules."""

    code = code_field
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    level = ma.fields.String(required=True, validate=validate.OneOf(list(LEVELS)))
    parent = ma.fields.String(allow_none=True, load_default=None)
    division_code = ma.fields.String(allow_none=True, load_default=None)
    plugins = ma.fields.List(ma.fields.String(), load_default=list)
    settings = ma.fields.Dict(load_default=dict)


class TenantUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    level = ma.fields.String(validate=validate.OneOf(list(LEVELS)))
    parent = ma.fields.String(allow_none=True)
    division_code = ma.fields.String(allow_none=True)
    plugins = ma.fields.List(ma.fields.String())
    settings = ma.fields.Dict()
    is_active = ma.fields.Boolean()


class AreaSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    kind_label = ma.fields.Function(lambda a: AREA_KINDS.get(a.kind))
    parent_id = ma.fields.Integer(allow_none=True)
    is_active = ma.fields.Boolean()


class AreaCreateSchema(ma.Schema):
    code = code_field
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(AREA_KINDS)))
    parent_id = ma.fields.Integer(allow_none=True, load_default=None)


class AreaUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    kind = ma.fields.String(validate=validate.OneOf(list(AREA_KINDS)))
    parent_id = ma.fields.Integer(allow_none=True)
    is_active = ma.fields.Boolean()


class AreaQuerySchema(ma.Schema):
    kind = ma.fields.String(validate=validate.OneOf(list(AREA_KINDS)))
    parent_id = ma.fields.Integer()
    include_inactive = ma.fields.Boolean(load_default=False)
