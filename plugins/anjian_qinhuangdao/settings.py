"""The settings a tenant gives the Qinhuangdao programme (``[settings.anjian_qinhuangdao]``)."""

import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

PLUGIN = "anjian_qinhuangdao"

# Systems the acceptance standard (验收标准, item 8) requires the data to reach.
DATA_SYSTEMS = (
    "河北省“互联网+安全生产”综合监管信息平台",
    "秦皇岛市“智慧安监”系统",
)


class QinhuangdaoSettings(Schema):
    """Tenant settings of the Qinhuangdao social-service programme."""

    # Phase 4: the bureau spot-checks the service results within 20 working days.
    spot_check_workdays = fields.Integer(load_default=20, validate=validate.Range(min=1, max=120))
    # "按一定比例": the seed leaves the proportion to the bureau.
    spot_check_ratio = fields.Float(
        load_default=0.2, validate=validate.Range(min=0, max=1, min_inclusive=False)
    )
    target_enterprise_count = fields.Integer(load_default=100, validate=validate.Range(min=1))
    service_start = fields.Date(load_default=datetime.date(2022, 6, 1))
    service_end = fields.Date(load_default=datetime.date(2022, 8, 31))
    # The service organisation reports a major hazard to the bureau at once.
    report_major_hazards_immediately = fields.Boolean(load_default=True)
    data_systems = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=lambda: list(DATA_SYSTEMS)
    )
    # The acceptance conclusion (see ``acceptance.conclude``): "基本合格" allows at most this
    # many of the nine criteria unmet. The seed fixes no number; the bureau may change it.
    basic_pass_max_unmet = fields.Integer(load_default=2, validate=validate.Range(min=0, max=9))
    # Phase 5 (一企一策): who carries the enforcement inspection out ("由应急局安排执法人员"),
    # and, when the tenant left the phase undated, how many working days a plan gets.
    enforcement_department = fields.String(load_default="应急管理局执法人员",
                                           validate=validate.Length(min=1, max=100))
    enforcement_workdays = fields.Integer(load_default=20, validate=validate.Range(min=1, max=250))
    # Phase 3's report (情况报告和结论性意见) is numbered "<prefix>-<year>-<acceptance id>".
    report_number_prefix = fields.String(load_default="QHDSHFW",
                                         validate=validate.Regexp(r"^[A-Za-z0-9\u4e00-\u9fff]{1,20}$",
                                                                  error="须为 1–20 个字母、数字或汉字"))

    @validates_schema
    def _window_in_order(self, data, **kwargs):
        if data["service_start"] > data["service_end"]:
            raise ValidationError("服务开始日期晚于结束日期", "service_end")


def settings_of(tenant) -> dict:
    """The tenant's settings, validated (a ``TenantInfo``'s, or a stored tenant's raw table;
    loading validated values again gives the same values)."""
    return QinhuangdaoSettings().load(dict((getattr(tenant, "settings", None) or {}).get(PLUGIN)
                                           or {}))
