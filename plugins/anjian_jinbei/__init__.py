"""Jinbei street: safety social services paid partly by the street.

Seed 001, "锦北街道推进安全生产社会化服务工作方案" of Jinbei street (锦北街道). The
street buys safety services (安全生产社会化服务) from professional organisations:

* cost sharing (企业为主，街道补贴): enterprises of scale (规模企业) and
  above-quota enterprises (限上企业) get a street subsidy of 2,000 yuan each in
  years 1, 2 and 3 and pay everything from year 4; they pay the difference
  between the tender price and the subsidy. Small and micro enterprises (小微企业)
  are paid for entirely by the street budget;
* targets: serious occupational-disease hazards, weak self-management,
  landlords of multi-tenant premises and large markets, units under listed
  supervision for a major hazard (挂牌督办);
* obligations of the service organisation: within 3 months set up the served
  unit's safety organisation, responsibilities, rules, operating procedures and
  emergency plans; at least one inspection a quarter; at least two trainings and
  two emergency drills a year; a year-end report to each served unit.

The seed gives no year and no calendar dates: its programme runs from each
service contract's start. The campaign kind's phases therefore have no fixed
``start``/``end`` (``None``) and carry a ``relative`` window in months from the
contract start instead.
"""

from marshmallow import Schema, fields, validate

from anjian.plugins import hookimpl

CAMPAIGN_KEY = "jinbei_social_service"

# Scales as the core's enterprise registry names them (规上/规下/小微; 限上).
SUBSIDISED_SCALES = ("规上", "限上")
STREET_FUNDED_SCALES = ("小微",)
SCALES = ("规上", "规下", "小微", "限上")


class JinbeiSettings(Schema):
    """Tenant settings of Jinbei street's cost sharing and service obligations."""

    subsidy_per_year_yuan = fields.Integer(load_default=2000, validate=validate.Range(min=0))
    subsidy_years = fields.Integer(load_default=3, validate=validate.Range(min=0, max=20))
    subsidised_scales = fields.List(
        fields.String(validate=validate.OneOf(SCALES)),
        load_default=lambda: list(SUBSIDISED_SCALES),
    )
    street_funded_scales = fields.List(
        fields.String(validate=validate.OneOf(SCALES)),
        load_default=lambda: list(STREET_FUNDED_SCALES),
    )
    # Obligations of the service organisation towards each served unit.
    setup_months = fields.Integer(load_default=3, validate=validate.Range(min=1, max=12))
    inspections_per_quarter = fields.Integer(load_default=1, validate=validate.Range(min=1))
    trainings_per_year = fields.Integer(load_default=2, validate=validate.Range(min=1))
    drills_per_year = fields.Integer(load_default=2, validate=validate.Range(min=1))
    year_end_report = fields.Boolean(load_default=True)


@hookimpl
def settings_schema():
    return JinbeiSettings


@hookimpl
def register_campaign_kinds():
    return [
        {
            "key": CAMPAIGN_KEY,
            "title": "锦北街道推进安全生产社会化服务工作",
            "year": None,
            "phases": [
                {
                    "key": "setup",
                    "title": "实地验场与软件建立",
                    "start": None,
                    "end": None,
                    "relative": {"anchor": "contract_start", "from_months": 0, "to_months": 3},
                    "rule": "三个月内完成被服务单位安全组织机构、责任制、制度、操作规程、"
                    "应急预案等软件的建立",
                },
                {
                    "key": "routine_service",
                    "title": "周期性安全服务",
                    "start": None,
                    "end": None,
                    "relative": {"anchor": "contract_start", "from_months": 0, "to_months": 12},
                    "rule": "每季度不少于一次安全检查、整改；全年不少于二次安全培训、教育和"
                    "应急救援演练",
                },
                {
                    "key": "year_end_report",
                    "title": "年终报告",
                    "start": None,
                    "end": None,
                    "relative": {"anchor": "contract_start", "from_months": 11, "to_months": 12},
                    "rule": "年终安全机构向被服务单位报告本年度工作情况、存在问题及下一步工作措施",
                },
            ],
            "focus": [
                "职业病危害较重及以上的用人单位",
                "自身安全生产管理能力不足的工业生产经营单位",
                "出租厂房、大型市场等涉及多租赁户的主体或单位",
                "存在重大事故隐患并被列为政府挂牌督办的单位",
            ],
        }
    ]
