import marshmallow as ma
from marshmallow import validate

from anjian.auth.invitations import DEFAULT_DAYS, MAX_DAYS, STATES
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
    disabled_at = ma.fields.DateTime(allow_none=True, metadata={"description": "停用时间；为空即在用"})
    state_label = ma.fields.Function(
        lambda m: "已停用" if (m.get("disabled_at") if isinstance(m, dict) else m.disabled_at) else "在用",
        metadata={"description": "在用 / 已停用"})


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


# --- accounts people run themselves (issue 21) ------------------------------------------

# The strength rule is the service's (anjian.auth.service.password_problem), answered in
# Chinese; the schema only bounds the text.
_ANY_PASSWORD = validate.Length(min=1, max=200, error="密码长度须为 1–200 个字符")


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(required=True, load_only=True, validate=_ANY_PASSWORD,
                                        metadata={"description": "当前密码"})
    new_password = ma.fields.String(required=True, load_only=True, validate=_ANY_PASSWORD, metadata={
        "description": "新密码：10–200 个字符，至少包含字母、数字、符号中的两类，不能包含用户名"})


class PasswordChangedSchema(ma.Schema):
    tokens_revoked = ma.fields.Integer(metadata={"description": "随之撤销的其他令牌数"})
    detail = ma.fields.String()


class MemberPasswordSchema(ma.Schema):
    new_password = ma.fields.String(required=True, load_only=True, validate=_ANY_PASSWORD, metadata={
        "description": "新密码：10–200 个字符，至少包含字母、数字、符号中的两类，不能包含用户名"})


class ReasonSchema(ma.Schema):
    """An optional reason, written to the tenant's audit log with the change."""

    reason = ma.fields.String(load_default="", validate=validate.Length(max=200),
                              metadata={"description": "原因（记入审计日志）"})


class InvitationCreateSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(list(TENANT_ROLES)))
    # Required for the enterprise role (the enterprise it acts for), refused for the others.
    enterprise_id = ma.fields.Integer(load_default=None, allow_none=True, validate=ID)
    area_id = ma.fields.Integer(load_default=None, allow_none=True, validate=ID,
                                metadata={"description": AREA_HELP})
    display_name = ma.fields.String(load_default="", validate=validate.Length(max=200),
                                    metadata={"description": "被邀请人的称呼（仅供识别）"})
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))
    expires_in_days = ma.fields.Integer(load_default=DEFAULT_DAYS,
                                        validate=validate.Range(min=1, max=MAX_DAYS))


class InvitationQuerySchema(ma.Schema):
    state = ma.fields.String(validate=validate.OneOf(list(STATES)),
                             metadata={"description": "pending 待接受 / accepted 已接受 / "
                                                      "revoked 已撤销 / expired 已过期"})


class InvitationSchema(ma.Schema):
    id = ma.fields.Integer()
    role = ma.fields.String()
    role_label = ma.fields.Function(lambda i: TENANT_ROLES.get(i.role))
    enterprise_id = ma.fields.Integer(allow_none=True)
    area_id = ma.fields.Integer(allow_none=True)
    display_name = ma.fields.String()
    note = ma.fields.String()
    invited_by = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    revoked_by = ma.fields.Integer(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)
    accepted_by = ma.fields.Integer(allow_none=True)
    state = ma.fields.String(metadata={"description": "pending / accepted / revoked / expired"})
    state_label = ma.fields.Function(lambda i: STATES.get(i.state),
                                     metadata={"description": "待接受 / 已接受 / 已撤销 / 已过期"})


class IssuedInvitationSchema(InvitationSchema):
    token = ma.fields.String(metadata={"description": "邀请令牌明文，只显示这一次；请交给被邀请人"})


_TOKEN = validate.Length(min=1, max=200)


class InvitationAcceptSchema(ma.Schema):
    token = ma.fields.String(required=True, load_only=True, validate=_TOKEN,
                             metadata={"description": "邀请令牌（aji_ 开头）"})


class InvitationRegisterSchema(ma.Schema):
    token = ma.fields.String(required=True, load_only=True, validate=_TOKEN,
                             metadata={"description": "邀请令牌（aji_ 开头）"})
    username = ma.fields.String(required=True, validate=USERNAME)
    password = ma.fields.String(required=True, load_only=True, validate=_ANY_PASSWORD, metadata={
        "description": "密码：10–200 个字符，至少包含字母、数字、符号中的两类，不能包含用户名"})
    display_name = ma.fields.String(load_default="", validate=validate.Length(max=200))
