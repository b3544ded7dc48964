"""Tenant settings of Jinbei street's cost sharing and service obligations."""

from marshmallow import Schema, fields, validate

PLUGIN = "anjian_jinbei"

# Scales as the seed names them: 规上 (规模企业, the registry's scale "above"), 规下 and 小微
# (the registry's "below" and "micro"), and 限上 (the registry's above_quota flag).
SCALES = ("规上", "规下", "小微", "限上")
SCALE_LABELS = {"above": "规上", "below": "规下", "micro": "小微"}
SUBSIDISED_SCALES = ("规上", "限上")
# "小微企业费用由街道财政支出": enterprises below the designated size are the small and micro
# enterprises of the seed (规下 and 小微 alike).
STREET_FUNDED_SCALES = ("规下", "小微")


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


def settings_of(tenant) -> dict:
    """This tenant's validated settings (the defaults when it gave none)."""
    return tenant.settings.get(PLUGIN) or JinbeiSettings().load({})


def applies_to(contract) -> bool:
    """A contract follows Jinbei's rules unless it names another plugin."""
    return getattr(contract, "plugin", None) in (None, PLUGIN)
