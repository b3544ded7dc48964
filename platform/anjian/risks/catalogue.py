"""The tenant's risk catalogues (风险目录): the typical risks its enabled plugins list
(``register_risk_catalogues``, ``plugin_api.RiskCatalogue``), which users pick from when
they identify an enterprise's risks, and the shape of the export for the city's
risk-reporting system (a catalogue's ``export_columns``; the core's ``DEFAULT_EXPORT``
when no catalogue gives one).

An entry is named ``<catalogue key>:<entry key>`` (a risk point's ``catalogue_key``).
"""

from __future__ import annotations

from anjian.context import Context
from anjian.errors import NotFound
from anjian.plugins.catalogue import RISK_EXPORT_FIELDS

# The export when no catalogue of the tenant shapes one: the register's columns, with the
# enterprise first.
DEFAULT_EXPORT_SHEET = "风险分级管控清单"
DEFAULT_EXPORT = tuple((RISK_EXPORT_FIELDS[field], field) for field in (
    "enterprise_name", "credit_code", "area_path", "point_name", "point_kind", "location",
    "category", "accident_type", "factors", "method", "likelihood", "exposure", "consequence",
    "score", "level", "colour", "engineering", "management", "ppe", "emergency", "managing_level",
    "inspection_cycle", "inspected_on", "graded_on"))


def catalogues(context: Context) -> list[dict]:
    """The catalogues of the tenant's enabled plugins, by key (dicts: key, title,
    description, plugin, entries, export_columns, export_sheet)."""
    return sorted(context.catalogue("register_risk_catalogues"), key=lambda c: (c["key"], c.get("plugin") or ""))


def entry_key(catalogue_key: str, key: str) -> str:
    return f"{catalogue_key}:{key}"


def entries(context: Context) -> dict[str, dict]:
    """Every entry of the tenant's catalogues by its full key, each with its catalogue's
    ``catalogue`` key and ``catalogue_title``."""
    out: dict[str, dict] = {}
    for catalogue in catalogues(context):
        for entry in catalogue.get("entries") or ():
            out[entry_key(catalogue["key"], entry["key"])] = {
                **entry, "full_key": entry_key(catalogue["key"], entry["key"]),
                "catalogue": catalogue["key"], "catalogue_title": catalogue["title"]}
    return out


def entry_of(context: Context, key: str) -> dict:
    """The entry ``<catalogue>:<entry>`` of the tenant's catalogues; NotFound otherwise."""
    entry = entries(context).get(key)
    if entry is None:
        raise NotFound(f"风险目录条目不存在：{key}", field="catalogue_key")
    return entry


def export_format(context: Context, catalogue_key: str | None = None) -> tuple[str, tuple]:
    """(sheet name, ((header, field), ...)) of the city's export: the named catalogue's
    (NotFound when it has none), else the first catalogue that shapes one, else the
    core's default."""
    shaped = [c for c in catalogues(context) if c.get("export_columns")]
    if catalogue_key is not None:
        chosen = next((c for c in shaped if c["key"] == catalogue_key), None)
        if chosen is None:
            raise NotFound(f"风险目录不存在或未规定上报格式：{catalogue_key}", field="catalogue")
    elif shaped:
        chosen = shaped[0]
    else:
        return DEFAULT_EXPORT_SHEET, DEFAULT_EXPORT
    columns = tuple((header, field) for header, field in chosen["export_columns"])
    return (chosen.get("export_sheet") or chosen["title"])[:31], columns
