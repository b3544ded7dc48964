"""The Changshu plugin's standardisation hooks (seed 003), called directly with hand-made
inputs: no app, no database.

The expected values are written by hand: the 2019 targets from tenants/changshu.toml
(``[settings.anjian_changshu]``: 5200, 0.70, 2600, 0.50, 110, 400, 416, 0.05, due
2019-12-31; the key-industry ratio is not in the file, its default is the seed's
"全部达到", 1.0), the ABCD classes from the seed's 三（五） ("结合示范企业、期满换证企业、
初评达标企业以及未达标企业进行ABCD分类").
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pluggy
import pytest
from marshmallow import ValidationError

import anjian_changshu
from anjian.plugin_api import (
    FLAGS,
    ChecklistTemplate,
    RowView,
    StandardisationProgramme,
    SupervisionClass,
    TenantInfo,
)
from anjian.plugins import hookspecs
from anjian_changshu import ChangshuSettings
from anjian_changshu import standardisation as rules

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "anjian_changshu"


def _tenant(raw: dict | None = None) -> TenantInfo:
    """A tenant whose settings were loaded by the plugin's schema, as the core does."""
    return TenantInfo(id=7, code="changshu", name="常熟市应急管理局", level="county",
                      plugins=(PLUGIN,), settings={PLUGIN: ChangshuSettings().load(raw or {})})


@pytest.fixture(scope="module")
def changshu() -> TenantInfo:
    toml = tomllib.loads((ROOT / "tenants" / "changshu.toml").read_text(encoding="utf-8"))
    return _tenant(toml["settings"][PLUGIN])


@pytest.fixture(scope="module")
def hook():
    """The plugin registered on a plugin manager with the contract's hookspecs: the calls
    go through pluggy, so an implementation's argument names are checked against the spec."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(anjian_changshu, name=PLUGIN)
    return pm.hook


def enterprise(**values) -> RowView:
    base = {"id": 1, "name": "常熟市梅李镇宏达机械厂", "status": "active", "scale": "micro",
            "dust_explosion": False, "ammonia_refrigeration": False, "confined_space": False,
            "major_hazard": False, "labour_intensive": False}
    return RowView("Enterprise", {**base, **values})


def cert(state: str, **values) -> RowView:
    base = {"id": 11, "enterprise_id": 1, "scheme": "small_micro", "state": state,
            "demonstration": False, "renewals": 0, "expires_on": None, "delisted_on": None,
            "delisting_reason": "", "exempt_reason": "", "delisting_recommended": False}
    return RowView("Certification", {**base, **values})


# --------------------------------------------------------------------------- programme


def test_the_2019_programme_has_the_targets_of_the_toml(changshu, hook):
    programme = hook.standardisation_programme(tenant=changshu, year=2019)
    assert programme == StandardisationProgramme(
        targets={
            "achieved_total": 5200,
            "achieved_ratio": 0.70,
            "key_industry_ratio": 1.0,
            "renewed_total": 2600,
            "renewed_ratio_of_due": 0.50,
            "demonstration": 110,
            "lookbacks": 400,
            "key_industry_lookbacks": 416,
            "delisting_ratio": 0.05,
        },
        key_industries=("ammonia_refrigeration", "confined_space", "labour_intensive"),
        due=dt.date(2019, 12, 31),
    )
    assert set(programme.key_industries) <= set(FLAGS)


def test_no_programme_for_another_year(changshu, hook):
    assert hook.standardisation_programme(tenant=changshu, year=2020) is None
    assert hook.standardisation_programme(tenant=changshu, year=2018) is None


def test_the_programme_follows_the_year_of_the_settings():
    tenant = _tenant({"year": 2020, "target_achieved_total": 6000, "key_industries": ["粉尘涉爆"],
                      "targets_due": "2020-11-30"})
    assert anjian_changshu.standardisation_programme(tenant=tenant, year=2019) is None
    programme = anjian_changshu.standardisation_programme(tenant=tenant, year=2020)
    assert programme.targets["achieved_total"] == 6000
    assert programme.targets["achieved_ratio"] == 0.70
    assert programme.key_industries == ("dust_explosion",)
    assert programme.due == dt.date(2020, 11, 30)


# --------------------------------------------------------------------------- ABCD


@pytest.mark.parametrize(("certifications", "code", "label", "per_year"), [
    # A: a certificate in force marked demonstration, whatever its renewals
    ([cert("achieved", demonstration=True, expires_on=dt.date(2021, 5, 1))], "A", "示范企业", 1),
    ([cert("renewal_due", demonstration=True, renewals=1)], "A", "示范企业", 1),
    ([cert("re_evaluating", demonstration=True)], "A", "示范企业", 1),
    # B: in force and renewed at least once
    ([cert("achieved", renewals=1)], "B", "期满换证企业", 2),
    ([cert("re_evaluating", renewals=2)], "B", "期满换证企业", 2),
    ([cert("renewal_due", renewals=1)], "B", "期满换证企业", 2),
    # C: in force, never renewed (also while its renewal is due or re-evaluated)
    ([cert("achieved")], "C", "初评达标企业", 2),
    ([cert("renewal_due")], "C", "初评达标企业", 2),
    ([cert("re_evaluating")], "C", "初评达标企业", 2),
    # D: no certificate in force
    ([], "D", "未达标企业", 4),
    ([cert("applied")], "D", "未达标企业", 4),
    ([cert("self_evaluated")], "D", "未达标企业", 4),
    ([cert("exempt", exempt_reason="厂房拆迁，暂停生产")], "D", "未达标企业", 4),
    # a delisted certificate is not in force, even with a stale flag and renewals
    ([cert("delisted", demonstration=True, renewals=3)], "D", "未达标企业", 4),
    # several schemes: the best class counts
    ([cert("achieved"), cert("achieved", id=12, scheme="level3", demonstration=True)],
     "A", "示范企业", 1),
    ([cert("delisted", renewals=2), cert("achieved", id=12, scheme="level3")],
     "C", "初评达标企业", 2),
    ([cert("applied"), cert("achieved", id=12, scheme="level3", renewals=1)],
     "B", "期满换证企业", 2),
])
def test_abcd_classes(changshu, hook, certifications, code, label, per_year):
    found = hook.classify_enterprise(tenant=changshu, enterprise=enterprise(),
                                     certifications=certifications)
    assert isinstance(found, SupervisionClass)
    assert (found.code, found.label, found.inspections_per_year) == (code, label, per_year)
    assert found.reason


def test_the_reasons_say_why(changshu):
    def reason(*certifications):
        return rules.classify(changshu, enterprise(), list(certifications)).reason

    assert reason(cert("achieved", demonstration=True, expires_on=dt.date(2021, 5, 1))) == \
        "示范企业（证书有效至 2021-05-01）"
    assert reason(cert("renewal_due", renewals=1, expires_on=dt.date(2019, 6, 30))) == \
        "期满换证企业（已换证 1 次，证书有效至 2019-06-30，已进入期满换证）"
    assert reason(cert("achieved", expires_on=dt.date(2022, 3, 15))) == \
        "初评达标企业（证书有效至 2022-03-15）"
    assert reason() == "未达标：未开展标准化创建；列为重点执法对象"
    assert reason(cert("delisted", delisted_on=dt.date(2019, 8, 1),
                       delisting_reason="“回头看”发现走形式，不再符合标准化条件")) == \
        "未达标：已摘牌（2019-08-01，“回头看”发现走形式，不再符合标准化条件）；列为重点执法对象"
    assert reason(cert("exempt", exempt_reason="厂房拆迁，暂停生产")) == \
        "未达标：暂不创建（厂房拆迁，暂停生产）；列为重点执法对象"


def test_a_key_industry_is_inspected_once_more_a_year(changshu):
    found = rules.classify(changshu, enterprise(ammonia_refrigeration=True, confined_space=True),
                           [cert("applied")])
    assert (found.code, found.inspections_per_year) == ("D", 5)
    assert found.reason == ("未达标：申报创建中，尚未达标；列为重点执法对象；"
                            "重点行业（液氨制冷、有限空间），每年加查 1 次")
    # dust explosion is not one of the 2019 key industries of the settings
    found = rules.classify(changshu, enterprise(dust_explosion=True), [cert("achieved")])
    assert (found.code, found.inspections_per_year) == ("C", 2)
    found = rules.classify(changshu, enterprise(labour_intensive=True),
                           [cert("achieved", demonstration=True)])
    assert (found.code, found.inspections_per_year) == ("A", 2)


def test_the_frequencies_come_from_the_settings():
    tenant = _tenant({"inspections_per_year_a": 0, "inspections_per_year_b": 1,
                      "inspections_per_year_c": 3, "inspections_per_year_d": 12,
                      "key_industry_extra_inspections": 0})
    by_code = {
        "A": [cert("achieved", demonstration=True)],
        "B": [cert("achieved", renewals=1)],
        "C": [cert("achieved")],
        "D": [cert("self_evaluated")],
    }
    per_year = {code: rules.classify(tenant, enterprise(confined_space=True), c).inspections_per_year
                for code, c in by_code.items()}
    assert per_year == {"A": 0, "B": 1, "C": 3, "D": 12}


def test_a_closed_enterprise_gets_no_class(changshu):
    assert rules.classify(changshu, enterprise(status="closed"), [cert("achieved")]) is None


# --------------------------------------------------------------------------- settings


def test_the_settings_defaults_and_their_checks():
    loaded = ChangshuSettings().load({})
    assert (loaded["inspections_per_year_a"], loaded["inspections_per_year_b"],
            loaded["inspections_per_year_c"], loaded["inspections_per_year_d"],
            loaded["key_industry_extra_inspections"]) == (1, 2, 2, 4, 1)
    assert loaded["key_industries"] == ["液氨制冷", "有限空间作业", "劳动密集型加工"]
    assert ChangshuSettings().load({"key_industries": ["confined_space", "劳动密集"]})
    with pytest.raises(ValidationError) as refused:
        ChangshuSettings().load({"key_industries": ["液氨制冷", "金属冶炼"]})
    assert "key_industries" in refused.value.messages
    with pytest.raises(ValidationError) as refused:
        ChangshuSettings().load({"inspections_per_year_d": 1})
    assert "inspections_per_year_d" in refused.value.messages
    with pytest.raises(ValidationError) as refused:
        ChangshuSettings().load({"inspections_per_year_c": -1})
    assert "inspections_per_year_c" in refused.value.messages


def test_loading_loaded_settings_again_gives_the_same(changshu):
    loaded = changshu.settings[PLUGIN]
    assert ChangshuSettings().load(dict(loaded)) == loaded


# --------------------------------------------------------------------------- steps


def test_a_certificate_recommended_for_delisting_is_not_simply_renewed(changshu, hook):
    flagged = cert("re_evaluating", renewals=1, delisting_recommended=True)
    answers = hook.standardisation_transition(tenant=changshu, certification=flagged,
                                              enterprise=enterprise(), action="renew",
                                              renewing=True)
    assert answers == [[rules.RECOMMENDED_DELISTING]]
    assert "建议摘牌" in rules.RECOMMENDED_DELISTING and "不得直接换证" in rules.RECOMMENDED_DELISTING
    # a review may still pass it (and clears the recommendation), the bureau may delist it
    for action, renewing in (("review", True), ("delist", False)):
        assert rules.blockers(changshu, flagged, enterprise(), action, renewing) == []


def test_nothing_else_is_barred_by_the_plugin(changshu):
    # The core holds the accident, major-hazard and re-review rules; the plugin adds none.
    for state, action, renewing in (("re_evaluating", "renew", True),
                                    ("re_evaluating", "review", True),
                                    ("self_evaluated", "review", False),
                                    ("achieved", "open_renewal", False),
                                    ("applied", "exempt", False)):
        assert rules.blockers(changshu, cert(state), enterprise(), action, renewing) == []


# --------------------------------------------------------------------------- the checklist


def test_the_lookback_checklist(hook):
    templates = [t for answer in hook.register_checklist_templates() for t in answer]
    assert len(templates) == 1
    template = templates[0]
    assert isinstance(template, ChecklistTemplate)
    assert template.key == "changshu_standardisation_lookback"
    assert "回头看" in template.title
    template.check()  # what the plugin loader checks
    items = template.items
    assert len(items) >= 10
    codes = [item.code for item in items]
    assert len(set(codes)) == len(codes)
    for item in items:
        assert item.text.strip(), item.code
        assert item.legal_basis and item.legal_basis.strip(), item.code
        assert item.part in ("document", "onsite"), item.code
    assert {item.part for item in items} == {"document", "onsite"}
    # accident-oriented: the accident records and the seed's key industries are there
    text = "".join(item.text for item in items)
    for subject in ("事故", "未遂", "有限空间", "液氨", "粉尘", "疏散通道", "特种作业"):
        assert subject in text, subject
    # the management criteria of 应急管理部令第10号 (article 3) grade a "no" as major
    major = {item.code for item in items if item.is_major_criterion}
    assert {"CS-LB10", "CS-LB11"} <= major


def test_the_campaign_kind_is_unchanged(hook):
    kinds = [k for answer in hook.register_campaign_kinds() for k in answer]
    assert [k.key for k in kinds] == ["changshu_small_micro_standardisation_2019"]
    assert len(kinds[0].phases) == 5
    kinds[0].check()
