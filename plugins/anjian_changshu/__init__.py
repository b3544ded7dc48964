"""Changshu: small and micro enterprise safety standardisation, 2019.

Seed 003, "2019年常熟市小微企业安全生产标准化建设实施方案", sent on 23 April 2019 by
the Changshu emergency bureau (常熟市应急管理局) to the safety offices of its
板块 (towns, zones, parks, streets). Safety standardisation (安全生产标准化) runs
a lifecycle: create and apply, review, achieved (达标), renewal when due (期满换证),
look-back check (“回头看”) or quality audit, and delisting (摘牌). No renewal
after a serious-injury or fatal accident, or while a major hazard is open; no
renewal without a new review after relocation, rebuilding or a wider scope.

2019 targets: every below-scale enterprise starts; at least 5,200 small and
micro enterprises achieved in total and at least 70 % of them; the key
industries (liquid-ammonia refrigeration, confined-space work, labour-intensive
processing) 100 %; at least 2,600 renewals and 50 % of those due by December;
110 demonstration enterprises; at least 400 third-party look-backs (416 key
industry ones); delisted at least 5 % of renewed plus looked-back. The 板块
break the tasks down to village, industrial zone (工业小区), grid (网格) and
full-time safety officer (专职安全员), and sort enterprises into A/B/C/D.
"""

import datetime

from marshmallow import Schema, fields, validate

from anjian.plugin_api import CampaignKind, Milestone, Phase, hookimpl

# The plugin contract this plugin is written for (anjian.plugin_api.CONTRACT_VERSION).
PLUGIN_CONTRACT = 1

CAMPAIGN_KEY = "changshu_small_micro_standardisation_2019"

KEY_INDUSTRIES = ("液氨制冷", "有限空间作业", "劳动密集型加工")

_count = validate.Range(min=0)
_ratio = validate.Range(min=0, max=1)


class ChangshuSettings(Schema):
    """Tenant settings: the 2019 targets of Changshu's standardisation programme."""

    year = fields.Integer(load_default=2019, validate=validate.Range(min=2000, max=2100))
    target_achieved_total = fields.Integer(load_default=5200, validate=_count)
    target_achieved_ratio = fields.Float(load_default=0.70, validate=_ratio)
    key_industries = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=lambda: list(KEY_INDUSTRIES)
    )
    target_key_industry_ratio = fields.Float(load_default=1.0, validate=_ratio)
    target_renewed_total = fields.Integer(load_default=2600, validate=_count)
    # Share of the enterprises whose certificate falls due by the end of December.
    target_renewed_ratio_of_due = fields.Float(load_default=0.50, validate=_ratio)
    target_demonstration = fields.Integer(load_default=110, validate=_count)
    target_lookbacks = fields.Integer(load_default=400, validate=_count)
    target_key_industry_lookbacks = fields.Integer(load_default=416, validate=_count)
    # Delisted / (renewed + looked back), a floor for each 板块 as well as the city.
    min_delisting_ratio = fields.Float(load_default=0.05, validate=_ratio)
    # The bureau's outsourced renewal review of already achieved enterprises.
    third_party_renewal_reviews = fields.Integer(load_default=2500, validate=_count)
    targets_due = fields.Date(load_default=datetime.date(2019, 12, 31))


@hookimpl
def settings_schema():
    return ChangshuSettings


@hookimpl
def register_campaign_kinds():
    return [CampaignKind(
        key=CAMPAIGN_KEY,
        title="2019年常熟市冶金等工贸行业小微企业安全生产标准化建设",
        year=2019,
        phases=(
            Phase(key="survey", title="全面调查排摸", start="2019-04-23", end="2019-04-30",
                  rule="各板块摸清辖区企业底数，报送确有特殊原因或暂不具备创建条件的企业"
                  "名单及原因"),
            Phase(key="plan", title="制定方案、分解任务", start="2019-04-23", end="2019-05-15",
                  rule="5月中旬前制定实施方案，确定专人；任务分解到行政村、工业小区、"
                  "监管网格和专职安全员，划片包干"),
            Phase(key="training_and_creation", title="发动培训、达标创建", start="2019-05-01",
                  end="2019-12-31",
                  rule="标准化大培训、大辅导；第三方机构划片包干辅导、交叉评审；"
                  "新创企业“四个必须”"),
            Phase(key="review_and_lookback", title="复审换证与“回头看”", start="2019-05-01",
                  end="2019-12-31",
                  rule="第三方到期复审复评；运行质量“回头看”与审计；重伤及死亡事故、"
                  "重大隐患、未重新评审的改扩建或迁移不得换证；不符合的坚决摘牌"),
            Phase(key="demonstration_and_classification", title="示范培育与ABCD分类",
                  start="2019-05-01", end="2019-12-31",
                  rule="各行业培育1-2家示范企业；按示范、期满换证、初评达标、未达标"
                  "进行ABCD分类；未达标或拒绝创建的作为重点执法对象"),
        ),
        focus=("规模以下企业", *KEY_INDUSTRIES, "金属冶炼", "粉尘涉爆"),
        milestones=(
            Milestone(date="2019-04-30", rule="报送暂不争创企业名单及原因"),
            Milestone(date="2019-05-15", rule="各板块制定实施方案（5月中旬前）"),
            Milestone(date="2019-12-31", rule="完成年度目标"),
        ),
    )]
