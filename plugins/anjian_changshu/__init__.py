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

The hooks live here; each delegates to the module that holds the rule:

- ``settings``: the targets and the supervision frequencies of the classes
  (``ChangshuSettings``, ``settings_of``), and the key industries as enterprise flags;
- ``standardisation``: ``standardisation_programme`` (the settings' targets, for the
  settings' year only), ``classify_enterprise`` (A 示范, B 期满换证, C 初评达标,
  D 未达标, with inspections a year; one more in a key industry) and
  ``standardisation_transition`` (a certificate recommended for delisting by a
  look-back or audit is not renewed without a passed review; the core already holds
  the accident, major-hazard and re-review rules);
- ``lookback``: the look-back checklist (“回头看”检查重点内容), accident-oriented
  (突出事故导向), ``register_checklist_templates``;
- the campaign kind (its five phases) is below.
"""

from anjian.plugin_api import CampaignKind, Milestone, Phase, hookimpl
from anjian_changshu import lookback, standardisation
from anjian_changshu.settings import KEY_INDUSTRIES, PLUGIN, ChangshuSettings, settings_of

# The plugin contract this plugin is written for (anjian.plugin_api.CONTRACT_VERSION).
PLUGIN_CONTRACT = 1

CAMPAIGN_KEY = "changshu_small_micro_standardisation_2019"

__all__ = ["CAMPAIGN_KEY", "KEY_INDUSTRIES", "PLUGIN", "ChangshuSettings", "settings_of"]


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


@hookimpl
def register_checklist_templates():
    return [lookback.TEMPLATE]


# --- policy hooks -----------------------------------------------------------------------------


@hookimpl
def standardisation_rules(tenant):
    return standardisation.rules(tenant)


@hookimpl
def standardisation_programme(tenant, year):
    return standardisation.programme(tenant, year)


@hookimpl
def classify_enterprise(tenant, enterprise, certifications):
    return standardisation.classify(tenant, enterprise, certifications)


@hookimpl
def select_campaign_targets(tenant, campaign, enterprises):
    """Every below-scale enterprise starts, but the exempted (its own campaigns only)."""
    if getattr(campaign, "kind", None) != CAMPAIGN_KEY:
        return None
    return standardisation.campaign_targets(tenant, enterprises)


@hookimpl
def enforcement_candidates(tenant, campaign):
    """The programme's unachieved or refusing enterprises (its own campaigns only)."""
    if getattr(campaign, "kind", None) != CAMPAIGN_KEY:
        return []
    return standardisation.enforcement_candidates(tenant, campaign)


@hookimpl
def standardisation_transition(tenant, certification, enterprise, action, renewing):
    return standardisation.blockers(tenant, certification, enterprise, action, renewing)
