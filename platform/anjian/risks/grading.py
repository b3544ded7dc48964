"""Grading a risk: LEC (作业条件危险性分析法) or a risk matrix (L × S), and the level the
result falls in. A value outside its table is refused in Chinese; nothing else is read.

**LEC.** D = L × E × C, each taken from the standard tables (``LIKELIHOOD``,
``EXPOSURE``, ``CONSEQUENCE``). The classic five bands (D > 320 极其危险, 160 < D ≤ 320
高度危险, 70 < D ≤ 160 显著危险, 20 < D ≤ 70 一般危险, D ≤ 20 稍有危险) become the four
levels of dual prevention by merging the last two, as common practice does:

    D > 320          重大风险 (红)
    160 < D ≤ 320    较大风险 (橙)
    70 < D ≤ 160     一般风险 (黄)
    D ≤ 70           低风险 (蓝)

Of the bounds, only 70 is a product of the tables (10 × 1 × 7, 1 × 10 × 7): it is 低,
and the next product, 75 (10 × 0.5 × 15), is 一般. 320 and 160 are not reachable; the
products beside them are 300 (较大) and 360 (重大), 150 (一般) and 180 (较大).

**Risk matrix.** R = L × S, both integers 1–5 (``MATRIX_LIKELIHOOD``,
``MATRIX_SEVERITY``); the banding of the 5 × 5 matrix most provincial rules use:

    R ≥ 20           重大风险 (20, 25)
    15 ≤ R ≤ 16      较大风险 (15, 16)
    9 ≤ R ≤ 12       一般风险 (9, 10, 12)
    R ≤ 8            低风险 (1–6, 8)

(13, 14 and 17–19 are no product of two integers 1–5.)
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass

from anjian.errors import Refused

D = decimal.Decimal

# LEC: L, the likelihood of an accident (事故发生的可能性).
LIKELIHOOD = {
    D("10"): "完全可以预料",
    D("6"): "相当可能",
    D("3"): "可能，但不经常",
    D("1"): "可能性小，完全意外",
    D("0.5"): "很不可能，可以设想",
    D("0.2"): "极不可能",
    D("0.1"): "实际不可能",
}
# E, how often people are exposed (暴露于危险环境的频繁程度).
EXPOSURE = {
    D("10"): "连续暴露",
    D("6"): "每天工作时间内暴露",
    D("3"): "每周一次或偶然暴露",
    D("2"): "每月一次暴露",
    D("1"): "每年几次暴露",
    D("0.5"): "非常罕见地暴露",
}
# C, the consequence (发生事故产生的后果).
CONSEQUENCE = {
    D("100"): "大灾难，许多人死亡",
    D("40"): "灾难，数人死亡",
    D("15"): "非常严重，一人死亡",
    D("7"): "严重，重伤",
    D("3"): "重大，致残",
    D("1"): "引人注目，需要救护",
}
# LEC bands: (the level, the lowest D above which it starts); the first that D exceeds.
LEC_BANDS = (("major", D("320")), ("large", D("160")), ("general", D("70")))

# The risk matrix: L (likelihood) and S (severity), 1–5.
MATRIX_LIKELIHOOD = {
    D("1"): "极不可能",
    D("2"): "不太可能",
    D("3"): "可能",
    D("4"): "很可能",
    D("5"): "几乎肯定",
}
MATRIX_SEVERITY = {
    D("1"): "轻微（无伤亡，损失轻微）",
    D("2"): "较小（轻伤）",
    D("3"): "一般（重伤）",
    D("4"): "严重（一人死亡或多人重伤）",
    D("5"): "特别严重（多人死亡）",
}
# Matrix bands: (the level, the lowest R it starts at); the first R reaches.
MATRIX_BANDS = (("major", D("20")), ("large", D("15")), ("general", D("9")))

# The levels from the most severe down (``anjian.risks.models.LEVELS``'s keys).
LEVEL_ORDER = ("major", "large", "general", "low")

_LABELS = {
    "lec": {"likelihood": ("L（事故发生的可能性）", LIKELIHOOD),
            "exposure": ("E（暴露于危险环境的频繁程度）", EXPOSURE),
            "consequence": ("C（发生事故产生的后果）", CONSEQUENCE)},
    "ls": {"likelihood": ("L（事故发生的可能性）", MATRIX_LIKELIHOOD),
           "consequence": ("S（事故后果的严重性）", MATRIX_SEVERITY)},
}


@dataclass(frozen=True)
class Grading:
    """The outcome of grading: the values used, the score and the level it falls in."""

    method: str
    likelihood: decimal.Decimal
    exposure: decimal.Decimal | None
    consequence: decimal.Decimal
    score: decimal.Decimal
    level: str


def _number(value) -> decimal.Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = D(str(value))
    except (decimal.InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _values(table: dict) -> str:
    return "、".join(_plain(v) for v in table)


def _plain(value: decimal.Decimal) -> str:
    """``0.50`` → ``0.5``, ``10.00`` → ``10``."""
    text = format(value.normalize(), "f")
    return text


def level_of(method: str, score: decimal.Decimal) -> str:
    """The level ``score`` falls in under ``method``'s banding (see the module)."""
    if method == "lec":
        return next((level for level, above in LEC_BANDS if score > above), "low")
    return next((level for level, start in MATRIX_BANDS if score >= start), "low")


def grade(method, likelihood=None, exposure=None, consequence=None) -> Grading:
    """Grade by ``method`` (``lec`` or ``ls``); every value must be one of its table's
    (Refused with a Chinese message per field otherwise). The matrix takes no E."""
    if method not in _LABELS:
        raise Refused("评价方法须为 lec（作业条件危险性分析法）或 ls（风险矩阵法）", field="method")
    errors: dict[str, list[str]] = {}
    values: dict[str, decimal.Decimal] = {}
    given = {"likelihood": likelihood, "exposure": exposure, "consequence": consequence}
    for field, (label, table) in _LABELS[method].items():
        raw = given[field]
        if raw is None:
            errors[field] = [f"须给出 {label}"]
            continue
        number = _number(raw)
        if number is None or number not in table:
            errors[field] = [f"{label} 须为以下之一：{_values(table)}"]
            continue
        values[field] = number
    if method == "ls" and exposure is not None:
        errors["exposure"] = ["风险矩阵法不使用 E（暴露频繁程度）"]
    if errors:
        first = next(iter(errors.values()))[0]
        raise Refused(f"风险评价取值无效：{first}", errors=errors)
    score = values["likelihood"] * values.get("exposure", D("1")) * values["consequence"]
    return Grading(method, values["likelihood"], values.get("exposure"), values["consequence"],
                   score, level_of(method, score))


def higher(first: str, second: str) -> str:
    """The more severe of two levels."""
    return min(first, second, key=LEVEL_ORDER.index)


def scales() -> dict:
    """The tables and bands, for a form: {method: {field: [{value, label}]}, "bands": ...}."""
    out: dict = {}
    for method, fields in _LABELS.items():
        out[method] = {field: {"label": label,
                               "values": [{"value": _plain(v), "label": text} for v, text in table.items()]}
                       for field, (label, table) in fields.items()}
    out["bands"] = {
        "lec": [{"level": "major", "rule": "D > 320"}, {"level": "large", "rule": "160 < D ≤ 320"},
                {"level": "general", "rule": "70 < D ≤ 160"}, {"level": "low", "rule": "D ≤ 70"}],
        "ls": [{"level": "major", "rule": "R ≥ 20"}, {"level": "large", "rule": "15 ≤ R ≤ 16"},
               {"level": "general", "rule": "9 ≤ R ≤ 12"}, {"level": "low", "rule": "R ≤ 8"}],
    }
    return out
