"""The campaign kind of seed 001: the programme runs from each service contract's start."""

from anjian.plugin_api import CampaignKind, Phase

CAMPAIGN_KEY = "jinbei_social_service"

FOCUS = (
    "职业病危害较重及以上的用人单位",
    "自身安全生产管理能力不足的工业生产经营单位",
    "出租厂房、大型市场等涉及多租赁户的主体或单位",
    "存在重大事故隐患并被列为政府挂牌督办的单位",
)

CAMPAIGN_KIND = CampaignKind(
    key=CAMPAIGN_KEY,
    title="锦北街道推进安全生产社会化服务工作",
    phases=(
        Phase(
            key="setup",
            title="实地验场与软件建立",
            relative={"anchor": "contract_start", "from_months": 0, "to_months": 3},
            rule="针对各单位的不同情况到被服务单位进行实地验场；三个月内完成被服务单位"
            "安全组织机构、责任制、制度、操作规程、应急预案等软件的建立",
        ),
        Phase(
            key="routine_service",
            title="周期性安全服务",
            relative={"anchor": "contract_start", "from_months": 0, "to_months": 12},
            rule="每季度不少于一次安全检查、整改；全年不少于二次安全培训、教育和"
            "应急救援演练",
        ),
        Phase(
            key="year_end_report",
            title="年终报告",
            relative={"anchor": "contract_start", "from_months": 11, "to_months": 12},
            rule="年终安全机构向被服务单位报告本年度工作情况、存在问题及下一步工作措施",
        ),
    ),
    focus=FOCUS,
)
