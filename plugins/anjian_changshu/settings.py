"""The settings a tenant gives the Changshu programme (``[settings.anjian_changshu]``).

The 2019 targets are the seed's (section 二, 工作目标). The supervision frequencies of
the ABCD classes are not: the seed asks for the classification ("要结合示范企业、期满换证
企业、初评达标企业以及未达标企业进行ABCD分类") and for inspection frequencies fitted to
the enterprise ("有针对性地确定执法检查频次和处罚尺度"), makes the enterprises that have
not achieved, or refuse to start, the focus of enforcement ("将未达标企业或拒绝开展达标
创建的小微企业作为重点执法对象") and stresses the key industries ("突出重点行业领域"),
but gives no number. The defaults below are the plugin's: once a year for a
demonstration enterprise, twice for a renewed or newly achieved one, once a quarter for
one that has not achieved, and one more a year in a key industry; the bureau sets its own.
"""

import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from anjian.plugin_api import FLAGS, TenantInfo

PLUGIN = "anjian_changshu"

# The seed's key industries, which must all achieve by the end of 2019 (工作目标).
KEY_INDUSTRIES = ("液氨制冷", "有限空间作业", "劳动密集型加工")

# A key industry named in the settings → the enterprise flag (plugin_api.FLAGS) that marks
# its enterprises: the flag key itself, the flag's label, or the seed's longer name.
FLAG_OF_INDUSTRY = {
    **{key: key for key in FLAGS},
    **{label: key for key, label in FLAGS.items()},
    "有限空间作业": "confined_space",
    "劳动密集型": "labour_intensive",
    "劳动密集型加工": "labour_intensive",
    "粉尘爆炸": "dust_explosion",
}

CLASSES = ("a", "b", "c", "d")

_count = validate.Range(min=0)
_ratio = validate.Range(min=0, max=1)
_per_year = validate.Range(min=0, max=52)


def key_industry_flags(names) -> tuple[str, ...]:
    """The enterprise flags of the named key industries, in order, without repeats; a name
    that no flag marks raises ``KeyError``."""
    flags: list[str] = []
    for name in names:
        flag = FLAG_OF_INDUSTRY[str(name).strip()]
        if flag not in flags:
            flags.append(flag)
    return tuple(flags)


class ChangshuSettings(Schema):
    """Tenant settings: the 2019 targets of Changshu's standardisation programme and the
    supervision frequencies of its ABCD classes."""

    # The standardisation schemes the county runs, and how early renewal opens.
    schemes = fields.List(fields.String(validate=validate.OneOf(["small_micro", "level3", "level2", "level1"])),
                          load_default=lambda: ["small_micro", "level3"], validate=validate.Length(min=1))
    renewal_window_months = fields.Integer(load_default=3, validate=validate.Range(min=1, max=24))

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

    # Supervision frequency (inspections a year) of each ABCD class (see the module's
    # docstring: the numbers are the plugin's defaults, the seed gives none).
    inspections_per_year_a = fields.Integer(load_default=1, validate=_per_year)  # 示范企业
    inspections_per_year_b = fields.Integer(load_default=2, validate=_per_year)  # 期满换证企业
    inspections_per_year_c = fields.Integer(load_default=2, validate=_per_year)  # 初评达标企业
    inspections_per_year_d = fields.Integer(load_default=4, validate=_per_year)  # 未达标企业
    # Added to the class's frequency for an enterprise of a key industry (突出重点行业领域).
    key_industry_extra_inspections = fields.Integer(load_default=1, validate=_per_year)

    @validates_schema
    def _key_industries_are_flags(self, data, **kwargs):
        unknown = [name for name in data.get("key_industries") or ()
                   if str(name).strip() not in FLAG_OF_INDUSTRY]
        if unknown:
            known = "、".join(dict.fromkeys(FLAGS.values()))
            raise ValidationError(f"无法对应企业风险标识的重点行业：{'、'.join(unknown)}（可用：{known}）",
                                  "key_industries")

    @validates_schema
    def _frequencies_in_class_order(self, data, **kwargs):
        """A class further down the ABCD order is not inspected less often: D (未达标) is
        the focus of enforcement, A (示范) the model."""
        per_year = [data.get(f"inspections_per_year_{c}") for c in CLASSES]
        if None in per_year:
            return
        for upper, lower, before, after in zip(CLASSES, CLASSES[1:], per_year, per_year[1:],
                                               strict=False):
            if after < before:
                raise ValidationError(
                    f"{lower.upper()}类企业的检查频次（{after}）不得低于{upper.upper()}类（{before}）",
                    f"inspections_per_year_{lower}")


def settings_of(tenant) -> dict:
    """The tenant's settings, validated: a ``TenantInfo`` holds them as the core loaded them
    with this schema (read as they are: hooks run per enterprise); anything else (a stored
    tenant's raw table) is loaded here."""
    settings = (getattr(tenant, "settings", None) or {}).get(PLUGIN)
    if isinstance(tenant, TenantInfo) and settings is not None:
        return settings
    return ChangshuSettings().load(dict(settings or {}))
