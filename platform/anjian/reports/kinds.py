"""Report kinds (报表类型): the catalogue of ``register_report_kinds``, validated.

A plugin (and the core, from ``anjian.plugins.defaults``) returns plain dicts;
``ReportKind`` is the validated form. The catalogue is read again on every use
(it is a handful of dicts), so a plugin registered at run time is seen at once.
Keys are unique across all loaded plugins: report rows, entered figures and
schedules are keyed by them. The contract is documented in docs/plugins.md,
section ``register_report_kinds``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from croniter import croniter
from marshmallow import Schema

from anjian.context import Context, NoContext
from anjian.reports.models import FORMATS

if TYPE_CHECKING:
    from anjian.plugins.manager import PluginRegistry

CORE = "anjian.defaults"
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,79}$")
FIGURE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,119}$")
FIGURE_PERIODS = {"week": "周", "month": "月", "day": "日"}
SCHEDULE_PREFIX = "report-"
ENTRY_KEYS = {"key", "title", "formats", "parameters", "compute"}
OPTIONAL_KEYS = {"xlsx", "html", "entered_figures", "figures_period", "schedule", "description",
                 "plugin", "enterprise", "figures_check", "figure_offices"}
FIGURE_KINDS = {"number": "数值", "count": "整数", "amount": "金额", "yes_no": "是/否"}
FIGURE_KEYS = {"key", "label"}
FIGURE_OPTIONAL_KEYS = {"kind", "unit", "part_of"}
SCHEDULE_KEYS = {"cron", "params", "format"}


class ReportKindError(ValueError):
    """A report kind declaration is invalid (names the plugin and the key)."""


@dataclass(frozen=True)
class EnteredFigureSpec:
    key: str
    label: str
    kind: str = "number"  # FIGURE_KINDS: what a value may be (checked when entered)
    unit: str = ""
    part_of: str | None = None  # 其中: the key of the figure this one never exceeds


@dataclass(frozen=True)
class ReportSchedule:
    cron: str
    params: Callable  # (tenant: TenantInfo, slot: datetime) -> dict of raw parameters
    format: str
    title: str = ""


@dataclass(frozen=True)
class ReportKind:
    key: str
    title: str
    plugin: str
    formats: tuple[str, ...]
    parameters: Any  # a marshmallow Schema class or instance
    compute: Callable  # (tenant, params, snapshot_at) -> dict
    xlsx: Callable | None = None  # (data, workbook) -> None
    html: Callable | None = None  # (data) -> str
    entered_figures: tuple[EnteredFigureSpec, ...] = ()
    figures_period: str = "week"
    schedule: ReportSchedule | None = None
    description: str = ""
    enterprise: Callable | None = None  # (tenant, params) -> the enterprise id it is about
    # (tenant, period, values) -> {key or "period": message}: the kind's own figure rules
    figures_check: Callable | None = None
    # (tenant) -> [section, ...]: the sections that enter figures of their own
    figure_offices: Callable | None = None

    def schema(self) -> Schema:
        """A Schema instance for the parameters (a new one per use when given a class)."""
        return self.parameters() if isinstance(self.parameters, type) else self.parameters

    @property
    def schedule_key(self) -> str:
        """The key of this kind's schedule in ``anjian.jobs.schedules``."""
        return SCHEDULE_PREFIX + self.key

    @property
    def figure_keys(self) -> dict[str, str]:
        return {f.key: f.label for f in self.entered_figures}


def resolve(value, where: str, what: str):
    """A callable given as itself or as a dotted path ``"package.module:function"``
    (``"package.module.function"`` is accepted too)."""
    if isinstance(value, str):
        module, sep, name = value.partition(":")
        if not sep:
            module, _, name = value.rpartition(".")
        try:
            obj = importlib.import_module(module)
            for part in name.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ReportKindError(f"{where}: {what} {value!r} cannot be imported ({exc})") from exc
        value = obj
    if not callable(value):
        raise ReportKindError(f"{where}: {what} is not callable")
    return value


def _schema(value, where: str):
    if isinstance(value, str):
        value = resolve(value, where, "parameters")
    if (isinstance(value, type) and issubclass(value, Schema)) or isinstance(value, Schema):
        return value
    raise ReportKindError(f"{where}: parameters must be a marshmallow Schema class")


def validate(entry: dict) -> ReportKind:
    """The validated kind of one catalogue entry; ``ReportKindError`` naming what is wrong."""
    plugin = entry.get("plugin", CORE)
    key = entry.get("key")
    where = f"{plugin}: report kind {key!r}"
    missing = ENTRY_KEYS - set(entry)
    if missing:
        raise ReportKindError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = set(entry) - ENTRY_KEYS - OPTIONAL_KEYS
    if unknown:
        raise ReportKindError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ReportKindError(f"{where}: key must be 2-80 lower-case letters, digits or '_'")
    title = entry["title"]
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise ReportKindError(f"{where}: title must be a non-empty string of at most 200 characters")
    formats = entry["formats"]
    if (not isinstance(formats, (list, tuple)) or not formats
            or not set(formats) <= set(FORMATS) or len(set(formats)) != len(formats)):
        raise ReportKindError(f"{where}: formats must be a non-empty list of {sorted(FORMATS)}")
    xlsx = resolve(entry["xlsx"], where, "xlsx") if entry.get("xlsx") is not None else None
    html = resolve(entry["html"], where, "html") if entry.get("html") is not None else None
    if "xlsx" in formats and xlsx is None:
        raise ReportKindError(f"{where}: format xlsx needs an 'xlsx' layout callable")
    if "pdf" in formats and html is None:
        raise ReportKindError(f"{where}: format pdf needs an 'html' callable")
    figures = []
    for n, figure in enumerate(entry.get("entered_figures") or ()):
        if (not isinstance(figure, dict) or not FIGURE_KEYS <= set(figure)
                or not set(figure) <= FIGURE_KEYS | FIGURE_OPTIONAL_KEYS
                or not isinstance(figure["key"], str) or not FIGURE_KEY_RE.match(figure["key"])
                or not isinstance(figure["label"], str) or not figure["label"].strip()
                or figure.get("kind", "number") not in FIGURE_KINDS
                or not isinstance(figure.get("unit", ""), str)):
            raise ReportKindError(f"{where}: entered_figures[{n}] must be {{'key', 'label'}} "
                                  "and optionally 'kind' (number, count, amount, yes_no), 'unit', "
                                  "'part_of' (key: lower-case letters, digits, '_')")
        figures.append(EnteredFigureSpec(figure["key"], figure["label"],
                                         figure.get("kind", "number"), figure.get("unit", ""),
                                         figure.get("part_of")))
    if len({f.key for f in figures}) != len(figures):
        raise ReportKindError(f"{where}: entered_figures keys must be unique")
    keys = {f.key for f in figures}
    for figure in figures:
        if figure.part_of is not None and (figure.part_of not in keys or figure.part_of == figure.key):
            raise ReportKindError(f"{where}: entered figure {figure.key!r}: part_of must be the key "
                                  "of another entered figure")
    period = entry.get("figures_period", "week")
    if period not in FIGURE_PERIODS:
        raise ReportKindError(f"{where}: figures_period must be one of {sorted(FIGURE_PERIODS)}")
    return ReportKind(
        key=key, title=title, plugin=plugin, formats=tuple(formats),
        parameters=_schema(entry["parameters"], where),
        compute=resolve(entry["compute"], where, "compute"), xlsx=xlsx, html=html,
        entered_figures=tuple(figures), figures_period=period,
        schedule=_schedule(entry.get("schedule"), formats, where),
        description=str(entry.get("description") or ""),
        enterprise=(resolve(entry["enterprise"], where, "enterprise")
                    if entry.get("enterprise") is not None else None),
        figures_check=(resolve(entry["figures_check"], where, "figures_check")
                       if entry.get("figures_check") is not None else None),
        figure_offices=(resolve(entry["figure_offices"], where, "figure_offices")
                        if entry.get("figure_offices") is not None else None))


def _schedule(value, formats, where: str) -> ReportSchedule | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not SCHEDULE_KEYS <= set(value) \
            or not set(value) <= SCHEDULE_KEYS | {"title"}:
        raise ReportKindError(f"{where}: schedule must be {{'cron', 'params', 'format'}} "
                              "(and optionally 'title')")
    cron = value["cron"]
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise ReportKindError(f"{where}: schedule cron {cron!r} is not a five-field cron expression")
    if value["format"] not in formats:
        raise ReportKindError(f"{where}: schedule format {value['format']!r} is not one of the "
                              f"kind's formats {list(formats)}")
    return ReportSchedule(cron=cron, params=resolve(value["params"], where, "schedule params"),
                          format=value["format"], title=str(value.get("title") or ""))


# --------------------------------------------------------------------------- the catalogue


def tenant_of(ctx: Context):
    """The context's tenant (a TenantInfo): reports are a tenant's, and a context without
    one fails closed."""
    if ctx.tenant is None:
        raise NoContext("reports need a tenant")
    return ctx.tenant


def _enabled(ctx: Context) -> tuple[str, ...]:
    return tuple(tenant_of(ctx).plugins)


def _entries(registry, enabled: tuple[str, ...] | None) -> list[dict]:
    """Catalogue entries (all, to check keys are unique; then those of ``enabled``)."""
    entries = registry.catalogue_entries("register_report_kinds")
    seen: dict[str, str] = {}
    for entry in entries:
        key, plugin = entry.get("key"), entry["plugin"]
        if key in seen:
            raise ReportKindError(f"{plugin}: report kind {key!r} is already declared by "
                                  f"{seen[key]}")
        seen[key] = plugin
    if enabled is None:
        return entries
    return [e for e in entries if e["plugin"] == CORE or e["plugin"] in enabled]


def all_kinds(registry: PluginRegistry) -> dict[str, ReportKind]:
    """Every loaded plugin's kinds and the core's, validated, by key."""
    return {kind.key: kind for kind in map(validate, _entries(registry, None))}


def kinds_for(ctx: Context) -> dict[str, ReportKind]:
    """The kinds the context's tenant may use: the core's and its enabled plugins'."""
    entries = _entries(ctx.registry, _enabled(ctx))
    return {kind.key: kind for kind in map(validate, entries)}


def kind_for(ctx: Context, key: str) -> ReportKind | None:
    """One of the context's tenant's kinds, or None when it has no such kind."""
    for entry in _entries(ctx.registry, _enabled(ctx)):
        if entry.get("key") == key:
            return validate(entry)
    return None


def schedule_entries(registry: PluginRegistry) -> list[dict]:
    """``register_schedules``-shaped entries for every kind that declares a schedule: each
    fires the ``report`` job (``anjian.reports.jobs.report``) for the tenants of the kind's
    plugin; ``anjian.jobs.schedules.declared`` lists them beside the hook's own."""
    out = []
    for kind in all_kinds(registry).values():
        if kind.schedule is None:
            continue
        out.append({"key": kind.schedule_key, "cron": kind.schedule.cron, "queue": "reports",
                    "function": "anjian.reports.jobs.report", "plugin": kind.plugin,
                    "title": kind.schedule.title or f"定时报表：{kind.title}"})
    return out


def kind_of_schedule(schedule_key: str) -> str | None:
    """The report kind key behind a schedule key made by ``schedule_entries``."""
    if schedule_key.startswith(SCHEDULE_PREFIX):
        return schedule_key[len(SCHEDULE_PREFIX):]
    return None
