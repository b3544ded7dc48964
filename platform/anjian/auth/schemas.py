import marshmallow as ma
from marshmallow import validate

from anjian.db import ID
from anjian.permissions import TENANT_ROLES

USERNAME = validate.Regexp(r"^[A-Za-z0-9_.@-]{2,80}$", error="用户名只能包含字母、数字和 _.@-，2–80 个字符")
PASSWORD = validate.Length(min=10, max=200, error="密码长度须为 10–200 个字符")


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class TokenSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "令牌前 12 个字符，便于识别"})
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = ma.fields.String(metadata={"description": "令牌明文，只显示这一次"})


class TokenCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    expires_in_days = ma.fields.Integer(
        load_default=90, allow_none=True, validate=validate.Range(min=1, max=3650)
    )


AREA_HELP = "负责的区域（板块、村或网格）：只看到该区域及其下级区域的企业"


class MembershipSchema(ma.Schema):
    id = ma.fields.Integer()
    tenant_code = ma.fields.String()
    tenant_name = ma.fields.String()
    user_id = ma.fields.Integer()
    username = ma.fields.String()
    role = ma.fields.String()
    enterprise_id = ma.fields.Integer(allow_none=True)
    area_id = ma.fields.Integer(allow_none=True, metadata={"description": "成员负责的区域（如专职安全员的网格）"})
    role_label = ma.fields.Function(lambda m: TENANT_ROLES.get(m["role"] if isinstance(m, dict) else m.role))


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    is_platform_admin = ma.fields.Boolean()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class MeSchema(UserSchema):
    memberships = ma.fields.List(ma.fields.Nested(MembershipSchema))


class UserCreateSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=USERNAME)
    display_name = ma.fields.String(load_default="", validate=validate.Length(max=200))
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD)
    is_platform_admin = ma.fields.Boolean(load_default=False)


class UserUpdateSchema(ma.Schema):
    display_name = ma.fields.String(validate=validate.Length(max=200))
    password = ma.fields.String(load_only=True, validate=PASSWORD)
    is_active = ma.fields.Boolean()


class MemberCreateSchema(ma.Schema):
    """Add a user to this tenant: a new user with a password, or (a platform admin only)
    an existing username."""

    username = ma.fields.String(required=True, validate=USERNAME)
    role = ma.fields.String(required=True, validate=validate.OneOf(list(TENANT_ROLES)))
    display_name = ma.fields.String(load_default="", validate=validate.Length(max=200))
    password = ma.fields.String(load_only=True, validate=PASSWORD)
    # Required for the enterprise role (the enterprise it acts for), refused for the others.
    enterprise_id = ma.fields.Integer(load_default=None, allow_none=True)
    area_id = ma.fields.Integer(load_default=None, allow_none=True, validate=ID, metadata={"description": AREA_HELP})


class MemberUpdateSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(list(TENANT_ROLES)))
    enterprise_id = ma.fields.Integer(load_default=None, allow_none=True)
    area_id = ma.fields.Integer(load_default=None, allow_none=True, validate=ID, metadata={"description": AREA_HELP})
