"""Qinhuangdao ETDZ: government-bought third-party safety services, summer 2022.

Seed 000, "关于开展安全生产社会化服务工作的实施方案" of the emergency bureau of the
Qinhuangdao Economic and Technological Development Zone (秦皇岛经济技术开发区应急管理局).
The bureau buys third-party services (社会化服务) to inspect 100 below-scale
enterprises (规下企业) from early June to the end of August 2022, in five phases:
full inspection, guided rectification, re-inspection and acceptance, the bureau's
spot check of the service results (抽查, within 20 working days, "按一定比例"), and
enforcement of enterprises that did not cooperate or rectify (一企一策).

This module declares the settings a tenant gives and the campaign kind. The
seed fixes one window for the whole service ("不做具体阶段划分"), so phases 1-3
share it; phase 4 is the bureau's 20 working days after the window closes
(2022-09-01 .. 2022-09-29, the Mid-Autumn holiday of 10-12 September skipped).
"""

import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from anjian.plugins import hookimpl

CAMPAIGN_KEY = "qhd_social_service_2022"

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

    @validates_schema
    def _window_in_order(self, data, **kwargs):
        if data["service_start"] > data["service_end"]:
            raise ValidationError("服务开始日期晚于结束日期", "service_end")


@hookimpl
def settings_schema():
    return QinhuangdaoSettings


@hookimpl
def register_campaign_kinds():
    return [
        {
            "key": CAMPAIGN_KEY,
            "title": "2022年安全生产社会化服务工作",
            "year": 2022,
            "phases": [
                {
                    "key": "survey",
                    "title": "全面摸底排查阶段",
                    "start": "2022-06-01",
                    "end": "2022-08-31",
                    "rule": "动员会；软件资料检查和现场隐患排查；"
                    "发现重大隐患由服务机构及时上报应急管理局；共性问题召开培训会",
                },
                {
                    "key": "guided_rectification",
                    "title": "指导整改阶段",
                    "start": "2022-06-01",
                    "end": "2022-08-31",
                    "rule": "提出整改建议并帮助落实；三项制度、应急预案演练、重点岗位培训、"
                    "全员培训档案、风险辨识与隐患排查清单台账、三年行动清单台账",
                },
                {
                    "key": "acceptance",
                    "title": "复查验收阶段",
                    "start": "2022-06-01",
                    "end": "2022-08-31",
                    "rule": "全面复查验收整改情况，对每家企业出具情况报告和结论性意见",
                },
                {
                    "key": "spot_check",
                    "title": "抽查服务结果阶段",
                    "start": "2022-09-01",
                    "end": "2022-09-29",
                    "rule": "应急管理局在20个工作日内对第三方服务机构的服务结果按一定比例抽查验收",
                },
                {
                    "key": "enforcement",
                    "title": "执法检查阶段",
                    "start": "2022-06-01",
                    "end": "2022-09-29",
                    "rule": "对不积极配合、逾期不改或拒不整改的企业集中执法检查，一企一策",
                },
            ],
            "focus": [
                "规下企业",
                "重大隐患",
                "三项制度",
                "应急预案",
                "教育培训",
                "双控体系",
                "有限空间",
                "特种作业人员持证上岗",
                "重大危险源",
            ],
        }
    ]
