"""Tenant rules: validating a definition, syncing tenants/*.toml (the plugins' view of a
tenant is ``PluginRegistry.tenant_info``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from marshmallow import ValidationError
from sqlalchemy import select

from anjian.errors import PluginError
from anjian.extensions import db
from anjian.tenancy.models import AREA_KINDS, LEVELS, Area, Tenant
from anjian.tenancy.scope import Scope, scoped

if TYPE_CHECKING:
    from anjian.plugins.manager import PluginRegistry

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
DIVISION_RE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
TENANT_KEYS = {"code", "name", "level", "parent", "division_code", "plugins", "settings", "areas"}
AREA_KEYS = {"code", "name", "kind", "parent"}


class TenantConfigError(Exception):
    """A tenant definition is invalid; names the source (file) and the key."""

    def __init__(self, source: str, key: str, message: str):
        super().__init__(f"{source}: {key}: {message}")
        self.source, self.key, self.message = source, key, message


@dataclass
class TenantSpec:
    """A validated tenant definition (from a TOML file or the API)."""

    code: str
    name: str
    level: str
    parent: str | None
    division_code: str | None
    plugins: list[str]
    settings: dict
    areas: list[dict] | None  # None: leave the tenant's areas alone
    source: str = ""


def validate_spec(raw: dict, source: str, plugins: PluginRegistry) -> TenantSpec:
    def fail(key, message):
        raise TenantConfigError(source, key, message)

    unknown = set(raw) - TENANT_KEYS
    if unknown:
        fail(sorted(unknown)[0], "未知的配置项")
    for key in ("code", "name", "level"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            fail(key, "必填，且须为文本")
    code = raw["code"]
    if not CODE_RE.match(code):
        fail("code", "只能包含小写字母、数字和连字符，2–40 个字符")
    if raw["level"] not in LEVELS:
        fail("level", f"须为以下之一: {', '.join(LEVELS)}")
    parent = raw.get("parent") or None
    if parent is not None and (not isinstance(parent, str) or parent == code):
        fail("parent", "须为另一租户的代码")
    division = raw.get("division_code")
    if division is not None and (not isinstance(division, str) or not DIVISION_RE.match(division)):
        fail("division_code", "行政区划代码须为 6、9 或 12 位数字")
    names = raw.get("plugins", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        fail("plugins", "须为插件名称列表")
    for i, name in enumerate(names):
        if name not in plugins.plugins:
            fail(f"plugins[{i}]", f"未安装的插件: {name}")
        if name in names[:i]:
            fail(f"plugins[{i}]", f"插件重复: {name}")
    settings_raw = raw.get("settings", {})
    if not isinstance(settings_raw, dict):
        fail("settings", "须为表")
    settings = {}
    for name, values in settings_raw.items():
        if name not in names:
            fail(f"settings.{name}", "该插件未在 plugins 中启用")
        if not isinstance(values, dict):
            fail(f"settings.{name}", "须为表")
    for name in names:
        try:
            loaded = plugins.validate_settings(name, settings_raw.get(name, {}))
            schema = plugins.settings_schema(name)
            settings[name] = schema.dump(loaded) if schema is not None else {}
        except PluginError as exc:
            fail(_settings_key(name, exc), str(exc))
    areas = raw.get("areas")
    if areas is not None:
        areas = _validate_areas(areas, fail)
    return TenantSpec(
        code=code, name=raw["name"].strip(), level=raw["level"], parent=parent,
        division_code=division, plugins=list(names), settings=settings, areas=areas,
        source=source,
    )


def _settings_key(plugin: str, exc: PluginError) -> str:
    """``settings.<plugin>.<field>`` for the first field the plugin's schema refused."""
    cause = exc.__cause__
    messages = getattr(cause, "messages", None)
    if isinstance(cause, ValidationError) and isinstance(messages, dict) and messages:
        return f"settings.{plugin}.{sorted(messages, key=str)[0]}"
    return f"settings.{plugin}"


def _validate_areas(areas, fail) -> list[dict]:
    if not isinstance(areas, list):
        fail("areas", "须为区域列表")
    seen: dict[str, dict] = {}
    for i, area in enumerate(areas):
        where = f"areas[{i}]"
        if not isinstance(area, dict):
            fail(where, "须为表")
        unknown = set(area) - AREA_KEYS
        if unknown:
            fail(f"{where}.{sorted(unknown)[0]}", "未知的配置项")
        for key in ("code", "name", "kind"):
            if not isinstance(area.get(key), str) or not area[key].strip():
                fail(f"{where}.{key}", "必填，且须为文本")
        if not CODE_RE.match(area["code"]):
            fail(f"{where}.code", "只能包含小写字母、数字和连字符，2–40 个字符")
        if area["code"] in seen:
            fail(f"{where}.code", f"区域代码重复: {area['code']}")
        if area["kind"] not in AREA_KINDS:
            fail(f"{where}.kind", f"须为以下之一: {', '.join(AREA_KINDS)}")
        seen[area["code"]] = {k: area.get(k) for k in AREA_KEYS}
    for i, area in enumerate(seen.values()):
        parent, chain = area.get("parent"), {area["code"]}
        if parent is not None and parent not in seen:
            fail(f"areas[{i}].parent", f"上级区域不存在: {parent}")
        while parent is not None:
            if parent in chain:
                fail(f"areas[{i}].parent", "区域层级存在循环")
            chain.add(parent)
            parent = seen[parent].get("parent")
    return list(seen.values())


def read_folder(folder: Path, plugins: PluginRegistry) -> list[TenantSpec]:
    """Parse and validate every tenants/*.toml; raises on the first bad file, naming it."""
    specs, codes = [], {}
    files = sorted(Path(folder).glob("*.toml"))
    if not files:
        raise TenantConfigError(str(folder), "*.toml", "目录中没有租户配置文件")
    for path in files:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TenantConfigError(str(path), "(toml)", f"无法解析: {exc}") from exc
        spec = validate_spec(raw, str(path), plugins)
        if spec.code in codes:
            raise TenantConfigError(str(path), "code", f"与 {codes[spec.code]} 的代码重复")
        codes[spec.code] = str(path)
        specs.append(spec)
    return specs


@dataclass
class SyncReport:
    tenants: dict[str, str] = field(default_factory=dict)  # code → created/updated/unchanged
    areas: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(v != "unchanged" for v in self.tenants.values()) or any(
            n for counts in self.areas.values() for k, n in counts.items() if k != "unchanged"
        )

    def lines(self) -> list[str]:
        out = []
        for code, what in self.tenants.items():
            counts = self.areas.get(code, {})
            extra = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            out.append(f"{code}: {what}" + (f" (areas: {extra})" if extra else ""))
        return out


def _order_by_parent(specs: list[TenantSpec], known: dict[str, str | None]) -> list[TenantSpec]:
    """Parents first. ``known`` maps the stored tenants' codes to their parents' codes.

    The folder's parents override the stored ones, so a cycle through tenants
    that already exist (a → b in the database, b → a in a file) is found too.
    """
    parents = {**known, **{s.code: s.parent for s in specs}}
    for spec in specs:
        chain, parent = {spec.code}, spec.parent
        while parent is not None:
            if parent not in parents:
                raise TenantConfigError(spec.source, "parent", f"上级租户不存在: {parent}")
            if parent in chain:
                raise TenantConfigError(spec.source, "parent", "上级租户层级存在循环")
            chain.add(parent)
            parent = parents[parent]
    by_code = {s.code: s for s in specs}
    ordered, placed = [], set()

    def place(spec):
        if spec.code in placed:
            return
        if spec.parent in by_code:
            place(by_code[spec.parent])
        ordered.append(spec)
        placed.add(spec.code)

    for spec in specs:
        place(spec)
    return ordered


def apply_spec(spec: TenantSpec, report: SyncReport) -> Tenant:
    """Create or update one tenant (and its areas) from a validated spec. Does not commit."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.code == spec.code))
    parent_id = None
    if spec.parent:
        parent = db.session.scalar(select(Tenant).where(Tenant.code == spec.parent))
        if parent is None:
            raise TenantConfigError(spec.source, "parent", f"上级租户不存在: {spec.parent}")
        parent_id = parent.id
    values = {
        "name": spec.name, "level": spec.level, "parent_id": parent_id,
        "division_code": spec.division_code, "plugins": spec.plugins, "settings": spec.settings,
        "is_active": True,
    }
    if tenant is None:
        tenant = Tenant(code=spec.code, **values)
        db.session.add(tenant)
        db.session.flush()
        report.tenants[spec.code] = "created"
    else:
        changed = False
        for key, value in values.items():
            if getattr(tenant, key) != value:
                setattr(tenant, key, value)
                changed = True
        db.session.flush()
        report.tenants[spec.code] = "updated" if changed else "unchanged"
    if spec.areas is not None:
        report.areas[spec.code] = _sync_areas(tenant, spec.areas)
    return tenant


def _sync_areas(tenant: Tenant, areas: list[dict]) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "deactivated": 0}
    with scoped(db.session, Scope.tenant(tenant.id)):
        existing = {a.code: a for a in db.session.scalars(select(Area))}
        # Parents first, so a child's parent id is known.
        pending, done = list(areas), set()
        while pending:
            for area in list(pending):
                if area.get("parent") and area["parent"] not in done:
                    continue
                parent_id = existing[area["parent"]].id if area.get("parent") else None
                row = existing.get(area["code"])
                values = {"name": area["name"], "kind": area["kind"], "parent_id": parent_id,
                          "is_active": True}
                if row is None:
                    row = Area(code=area["code"], **values)
                    db.session.add(row)
                    existing[area["code"]] = row
                    counts["created"] += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
                db.session.flush()
                done.add(area["code"])
                pending.remove(area)
        wanted = {a["code"] for a in areas}
        for code, row in existing.items():
            if code not in wanted and row.is_active:
                row.is_active = False
                counts["deactivated"] += 1
        db.session.flush()
    return counts


def sync_folder(folder: Path, plugins: PluginRegistry, dry_run: bool = False) -> SyncReport:
    """Sync tenants/*.toml: every file is validated before anything is written; one transaction."""
    specs = read_folder(folder, plugins)
    rows = db.session.execute(select(Tenant.id, Tenant.code, Tenant.parent_id)).all()
    code_of = {row.id: row.code for row in rows}
    known = {row.code: code_of.get(row.parent_id) for row in rows}
    report = SyncReport()
    try:
        for spec in _order_by_parent(specs, known):
            apply_spec(spec, report)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report

