"""Syncing tenants/*.toml (service and CLI) and the platform admin's tenant API."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import bearer

TENANTS_DIR = Path(__file__).parents[1] / "tenants"
FIVE = {"changshu", "jinbei", "qhd-etdz", "shenyang-street", "tj-hebei-commerce"}


# --- helpers ------------------------------------------------------------------


def sync(app, folder, dry_run=False):
    from anjian.extensions import plugin_registry
    from anjian.tenancy import service

    with app.app_context():
        return service.sync_folder(Path(folder), plugin_registry(), dry_run=dry_run)


def state(app) -> dict:
    """Everything a sync may write: tenants, areas (by code) and the number of audit rows."""
    from anjian.audit.models import AuditEntry
    from anjian.extensions import db
    from anjian.tenancy.models import Area, Tenant
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context():
        tenants = list(db.session.scalars(select(Tenant)))
        by_id = {t.id: t.code for t in tenants}
        out = {
            "tenants": {
                t.code: {
                    "name": t.name, "level": t.level, "parent": by_id.get(t.parent_id),
                    "division_code": t.division_code, "plugins": list(t.plugins),
                    "settings": t.settings, "is_active": t.is_active,
                }
                for t in tenants
            },
        }
        everything = Scope(frozenset(by_id), None, None, platform=True)
        with scoped(db.session, everything):
            areas = list(db.session.scalars(select(Area)))
            area_codes = {a.id: a.code for a in areas}
            out["areas"] = {
                (by_id[a.tenant_id], a.code): {
                    "name": a.name, "kind": a.kind, "parent": area_codes.get(a.parent_id),
                    "is_active": a.is_active,
                }
                for a in areas
            }
            out["audit"] = db.session.scalar(select(func.count()).select_from(AuditEntry))
        db.session.rollback()
    return out


@pytest.fixture
def folder(tmp_path):
    """A private copy of the real tenants/ folder, free to edit."""
    target = tmp_path / "tenants"
    shutil.copytree(TENANTS_DIR, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


# --- the real folder ----------------------------------------------------------


def test_sync_creates_the_five_tenants_and_changshu_areas(app):
    report = sync(app, TENANTS_DIR)
    assert report.tenants == dict.fromkeys(FIVE, "created")
    assert report.changed
    assert report.areas["changshu"]["created"] == 10

    now = state(app)
    assert set(now["tenants"]) == FIVE
    changshu = now["tenants"]["changshu"]
    assert changshu["name"] == "常熟市应急管理局"
    assert changshu["level"] == "county"
    assert changshu["division_code"] == "320581"
    assert changshu["plugins"] == ["anjian_changshu"]
    # Settings are stored validated, with the plugin's defaults filled in.
    assert changshu["settings"]["anjian_changshu"]["target_achieved_total"] == 5200
    assert changshu["settings"]["anjian_changshu"]["third_party_renewal_reviews"] == 2500
    assert now["tenants"]["jinbei"]["settings"]["anjian_jinbei"]["subsidised_scales"] == [
        "规上", "限上"
    ]

    areas = {code: a for (tenant, code), a in now["areas"].items() if tenant == "changshu"}
    assert len(areas) == 10 and len(now["areas"]) == 10
    assert areas["meili"] == {"name": "梅李镇", "kind": "sector", "parent": None,
                              "is_active": True}
    assert areas["meili-zhennan"]["kind"] == "village"
    assert areas["meili-zhennan"]["parent"] == "meili"
    assert areas["meili-zhennan-g1"]["kind"] == "grid"
    assert areas["meili-zhennan-g1"]["parent"] == "meili-zhennan"
    assert areas["csetdz-equipment-park"]["kind"] == "industrial_park"
    assert areas["csetdz-equipment-park"]["parent"] == "csetdz"
    assert areas["csetdz-equipment-park-g1"]["parent"] == "csetdz-equipment-park"
    # The hierarchy: every grid under a village or park, every one of those under a sector.
    for area in areas.values():
        parent = areas[area["parent"]] if area["parent"] else None
        if area["kind"] == "sector":
            assert parent is None
        elif area["kind"] in ("village", "industrial_park"):
            assert parent["kind"] == "sector"
        else:
            assert parent["kind"] in ("village", "industrial_park")
    assert now["audit"] > 0  # the creation itself is audited


def test_second_sync_is_unchanged_and_writes_no_audit(app, runner):
    sync(app, TENANTS_DIR)
    before = state(app)
    report = sync(app, TENANTS_DIR)
    assert report.tenants == dict.fromkeys(FIVE, "unchanged")
    assert report.areas["changshu"] == {"created": 0, "updated": 0, "unchanged": 10,
                                        "deactivated": 0}
    assert not report.changed
    assert state(app) == before

    result = runner.invoke(args=["tenants", "sync", str(TENANTS_DIR)])
    assert result.exit_code == 0, result.output
    assert "no changes" in result.output
    assert "changshu: unchanged" in result.output
    assert state(app) == before


def test_cli_sync_uses_the_configured_folder(app, runner):
    result = runner.invoke(args=["tenants", "sync"])
    assert result.exit_code == 0, result.output
    assert "changed" in result.output and "no changes" not in result.output
    assert "changshu: created" in result.output
    assert set(state(app)["tenants"]) == FIVE


def test_dry_run_writes_nothing(app, runner, folder):
    empty = state(app)
    report = sync(app, TENANTS_DIR, dry_run=True)
    assert report.tenants == dict.fromkeys(FIVE, "created")
    assert state(app) == empty

    result = runner.invoke(args=["tenants", "sync", str(TENANTS_DIR), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: changed" in result.output
    assert state(app) == empty

    sync(app, TENANTS_DIR)
    synced = state(app)
    edit(folder / "jinbei.toml", 'name = "锦北街道办事处"', 'name = "锦北街道"')
    result = runner.invoke(args=["tenants", "sync", str(folder), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "jinbei: updated" in result.output
    assert state(app) == synced


# --- edits are reported exactly -----------------------------------------------


def test_edits_report_exactly_what_changed(app, folder):
    sync(app, folder)
    before = state(app)

    edit(folder / "jinbei.toml", 'name = "锦北街道办事处"', 'name = "锦北街道安监办"')
    changshu = folder / "changshu.toml"
    # Remove the grid 珍南村第二网格 and add one under 黄石村.
    edit(changshu, '[[areas]]\ncode = "meili-zhennan-g2"\nname = "珍南村第二网格"\n'
                   'kind = "grid"\nparent = "meili-zhennan"\n', "")
    append(changshu, '\n[[areas]]\ncode = "dongbang-huangshi-g1"\nname = "黄石村第一网格"\n'
                     'kind = "grid"\nparent = "dongbang-huangshi"\n')

    report = sync(app, folder)
    assert report.tenants == {**dict.fromkeys(FIVE, "unchanged"), "jinbei": "updated"}
    assert report.areas["changshu"] == {"created": 1, "updated": 0, "unchanged": 9,
                                        "deactivated": 1}
    assert report.changed
    assert "jinbei: updated" in report.lines()
    assert "changshu: unchanged (areas: created 1, unchanged 9, deactivated 1)" in report.lines()

    after = state(app)
    assert after["tenants"]["jinbei"]["name"] == "锦北街道安监办"
    assert {k: v for k, v in after["tenants"].items() if k != "jinbei"} == {
        k: v for k, v in before["tenants"].items() if k != "jinbei"
    }
    # Removed from the file: kept, but inactive (history stays attached to it).
    assert after["areas"][("changshu", "meili-zhennan-g2")] == {
        **before["areas"][("changshu", "meili-zhennan-g2")], "is_active": False
    }
    assert after["areas"][("changshu", "dongbang-huangshi-g1")] == {
        "name": "黄石村第一网格", "kind": "grid", "parent": "dongbang-huangshi",
        "is_active": True,
    }
    assert len(after["areas"]) == 11
    # One tenant update, one area created, one area deactivated.
    assert after["audit"] == before["audit"] + 3

    # Putting the grid back reactivates the same row.
    shutil.copyfile(TENANTS_DIR / "changshu.toml", changshu)
    report = sync(app, folder)
    assert report.areas["changshu"] == {"created": 0, "updated": 1, "unchanged": 9,
                                        "deactivated": 1}
    again = state(app)
    assert again["areas"][("changshu", "meili-zhennan-g2")]["is_active"] is True
    assert again["areas"][("changshu", "dongbang-huangshi-g1")]["is_active"] is False


def test_settings_change_is_an_update(app, folder):
    sync(app, folder)
    edit(folder / "jinbei.toml", "subsidy_per_year_yuan = 2000", "subsidy_per_year_yuan = 2500")
    report = sync(app, folder)
    assert report.tenants["jinbei"] == "updated"
    assert [c for c, what in report.tenants.items() if what != "unchanged"] == ["jinbei"]
    settings = state(app)["tenants"]["jinbei"]["settings"]["anjian_jinbei"]
    assert settings["subsidy_per_year_yuan"] == 2500


def test_a_child_tenant_in_the_folder_gets_its_parent(app, folder):
    (folder / "a-child.toml").write_text(
        'code = "meili-town"\nname = "梅李镇安监办"\nlevel = "street"\nparent = "changshu"\n',
        encoding="utf-8",
    )
    report = sync(app, folder)
    assert report.tenants["meili-town"] == "created"
    assert state(app)["tenants"]["meili-town"]["parent"] == "changshu"


# --- bad input: names the file and the key, applies nothing -------------------


def _bad_toml(folder):
    append(folder / "qhd-etdz.toml", "\nthis is = = not toml\n")
    return "qhd-etdz.toml", "(toml)"


def _unknown_key(folder):
    append(folder / "shenyang-street.toml", '\n')
    edit(folder / "shenyang-street.toml", 'level = "street"', 'level = "street"\ncolour = "red"')
    return "shenyang-street.toml", "colour"


def _unknown_plugin(folder):
    qhd = folder / "qhd-etdz.toml"
    edit(qhd, 'plugins = ["anjian_qinhuangdao"]', 'plugins = ["anjian_nowhere"]')
    edit(folder / "qhd-etdz.toml", "[settings.anjian_qinhuangdao]", "[settings.anjian_nowhere]")
    return "qhd-etdz.toml", "plugins[0]"


def _settings_for_plugin_not_enabled(folder):
    append(folder / "qhd-etdz.toml", "\n[settings.anjian_jinbei]\nsubsidy_years = 2\n")
    return "qhd-etdz.toml", "settings.anjian_jinbei"


def _settings_fail_schema(folder):
    edit(folder / "jinbei.toml", "subsidy_per_year_yuan = 2000", "subsidy_per_year_yuan = -1")
    return "jinbei.toml", "settings.anjian_jinbei.subsidy_per_year_yuan"


def _settings_unknown_field(folder):
    append(folder / "jinbei.toml", "subsidy_colour = 3\n")
    return "jinbei.toml", "settings.anjian_jinbei.subsidy_colour"


def _bad_level(folder):
    edit(folder / "jinbei.toml", 'level = "street"', 'level = "galaxy"')
    return "jinbei.toml", "level"


def _bad_code(folder):
    edit(folder / "jinbei.toml", 'code = "jinbei"', 'code = "Jin_Bei"')
    return "jinbei.toml", "code"


def _bad_division_code(folder):
    edit(folder / "qhd-etdz.toml", 'division_code = "130371"', 'division_code = "13037"')
    return "qhd-etdz.toml", "division_code"


def _duplicate_tenant_code(folder):
    shutil.copyfile(folder / "jinbei.toml", folder / "jinbei2.toml")
    return "jinbei2.toml", "code"


def _unknown_parent(folder):
    edit(folder / "jinbei.toml", 'level = "street"', 'level = "street"\nparent = "atlantis"')
    return "jinbei.toml", "parent"


def _parent_cycle_new(folder):
    (folder / "aa.toml").write_text('code = "aa"\nname = "甲"\nlevel = "street"\nparent = "bb"\n',
                                    encoding="utf-8")
    (folder / "bb.toml").write_text('code = "bb"\nname = "乙"\nlevel = "street"\nparent = "aa"\n',
                                    encoding="utf-8")
    return ("aa.toml", "bb.toml"), "parent"


def _parent_cycle_existing(folder):
    # Both tenants already exist: the cycle must be found all the same.
    edit(folder / "jinbei.toml", 'level = "street"', 'level = "street"\nparent = "changshu"')
    edit(folder / "changshu.toml", 'level = "county"', 'level = "county"\nparent = "jinbei"')
    return ("changshu.toml", "jinbei.toml"), "parent"


def _own_parent(folder):
    edit(folder / "jinbei.toml", 'level = "street"', 'level = "street"\nparent = "jinbei"')
    return "jinbei.toml", "parent"


def _area_unknown_parent(folder):
    edit(folder / "changshu.toml", 'parent = "dongbang"', 'parent = "dongbang-east"')
    return "changshu.toml", "areas[6].parent"


def _area_cycle(folder):
    edit(folder / "changshu.toml", 'name = "梅李镇"\nkind = "sector"',
         'name = "梅李镇"\nkind = "sector"\nparent = "meili-zhennan-g1"')
    return "changshu.toml", ".parent"


def _duplicate_area_code(folder):
    edit(folder / "changshu.toml", 'code = "meili-zhennan-g2"', 'code = "meili-zhennan-g1"')
    return "changshu.toml", "areas[3].code"


def _bad_area_kind(folder):
    edit(folder / "changshu.toml", 'kind = "grid"', 'kind = "block"')
    return "changshu.toml", "areas[2].kind"


def _empty_folder(folder):
    for path in folder.glob("*.toml"):
        path.unlink()
    return "", "*.toml"


BAD = {
    "toml-syntax": _bad_toml,
    "unknown-key": _unknown_key,
    "unknown-plugin": _unknown_plugin,
    "settings-not-enabled": _settings_for_plugin_not_enabled,
    "settings-schema": _settings_fail_schema,
    "settings-unknown-field": _settings_unknown_field,
    "level": _bad_level,
    "code": _bad_code,
    "division-code": _bad_division_code,
    "duplicate-code": _duplicate_tenant_code,
    "unknown-parent": _unknown_parent,
    "parent-cycle-new": _parent_cycle_new,
    "parent-cycle-existing": _parent_cycle_existing,
    "own-parent": _own_parent,
    "area-unknown-parent": _area_unknown_parent,
    "area-cycle": _area_cycle,
    "duplicate-area-code": _duplicate_area_code,
    "area-kind": _bad_area_kind,
    "empty-folder": _empty_folder,
}


def _prepare_bad(app, folder, case):
    """Sync the folder, then change a good file AND break the folder; return what to expect."""
    sync(app, folder)
    # A valid change in a good file, which must not be applied either.
    edit(folder / "tj-hebei-commerce.toml", 'name = "天津市河北区商务局"', 'name = "河北区商务局"')
    files, key = BAD[case](folder)
    files = (files,) if isinstance(files, str) else files
    return [str(folder / f) if f else str(folder) for f in files], key


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_file_and_key_and_applies_nothing(app, runner, folder, case):
    from anjian.tenancy.service import TenantConfigError

    sources, key = _prepare_bad(app, folder, case)
    before = state(app)
    assert before["tenants"]["tj-hebei-commerce"]["name"] == "天津市河北区商务局"

    with pytest.raises(TenantConfigError) as info:
        sync(app, folder)
    assert info.value.source in sources
    assert key in info.value.key if key.startswith(".") else info.value.key == key
    assert state(app) == before

    # The same through the CLI: exit code 2, "<file>: <key>: <message>", nothing written.
    result = runner.invoke(args=["tenants", "sync", str(folder)])
    assert result.exit_code == 2, result.output
    assert any(f"{source}: " in result.output for source in sources), result.output
    assert re.search(rf": [^:]*{re.escape(key)}[^:]*: ", result.output), result.output
    assert "未做任何修改" in result.output
    assert state(app) == before


def test_areas_left_out_of_a_file_are_left_alone(app, folder):
    sync(app, folder)
    text = (folder / "changshu.toml").read_text(encoding="utf-8")
    (folder / "changshu.toml").write_text(text.split("[[areas]]")[0], encoding="utf-8")
    report = sync(app, folder)
    assert "changshu" not in report.areas
    assert all(a["is_active"] for a in state(app)["areas"].values())


# --- the platform admin API ---------------------------------------------------


@pytest.fixture
def admin(factory):
    _, token = factory.user("root", platform_admin=True)
    return bearer(token)


def test_api_creates_a_tenant_with_validated_settings(client, admin, factory):
    factory.tenant("hebei-district", level="district")
    r = client.post("/api/v1/tenants", headers=admin, json={
        "code": "jinbei-2", "name": "锦北街道（二）", "level": "street", "parent": "hebei-district",
        "plugins": ["anjian_jinbei"], "settings": {"anjian_jinbei": {"subsidy_years": 2}},
    })
    assert r.status_code == 201, r.json
    assert r.json["code"] == "jinbei-2"
    assert r.json["parent"] == "hebei-district"
    assert r.json["plugins"] == ["anjian_jinbei"]
    settings = r.json["settings"]["anjian_jinbei"]
    assert settings["subsidy_years"] == 2
    assert settings["subsidy_per_year_yuan"] == 2000  # the plugin's default

    got = client.get("/api/v1/tenants/jinbei-2", headers=admin)
    assert got.status_code == 200
    assert got.json["settings"] == r.json["settings"]


@pytest.mark.parametrize(("body", "field"), [
    ({"plugins": ["anjian_nowhere"]}, "plugins[0]"),
    ({"plugins": ["anjian_jinbei"], "settings": {"anjian_jinbei": {"subsidy_years": -1}}},
     "settings.anjian_jinbei.subsidy_years"),
    ({"settings": {"anjian_jinbei": {}}}, "settings.anjian_jinbei"),
    ({"division_code": "12"}, "division_code"),
    ({"parent": "atlantis"}, "parent"),
])
def test_api_bad_tenant_is_422_keyed_by_field(client, admin, body, field):
    r = client.post("/api/v1/tenants", headers=admin,
                    json={"code": "bad", "name": "坏租户", "level": "street", **body})
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json
    assert client.get("/api/v1/tenants/bad", headers=admin).status_code == 404


def test_api_requires_platform_admin(client, factory):
    tenant = factory.tenant("ta")
    _, token = factory.user("alice", {tenant: "tenant_admin"})
    r = client.post("/api/v1/tenants", headers=bearer(token),
                    json={"code": "mine", "name": "我的", "level": "street"})
    assert r.status_code in (403, 404)


def _patch(client, admin, code, body, etag=None):
    if etag is None:
        got = client.get(f"/api/v1/tenants/{code}", headers=admin)
        assert got.status_code == 200, got.json
        etag = got.headers["ETag"]
    return client.patch(f"/api/v1/tenants/{code}", json=body,
                        headers={**admin, "If-Match": etag})


def test_api_patch_changes_name_and_plugins(client, admin, factory):
    factory.tenant("ta", plugins=["anjian_jinbei"])
    r = client.patch("/api/v1/tenants/ta", json={"name": "新名字"}, headers=admin)
    assert r.status_code == 428  # If-Match is required

    r = _patch(client, admin, "ta", {"name": "新名字"})
    assert r.status_code == 200, r.json
    assert r.json["name"] == "新名字"
    assert r.json["plugins"] == ["anjian_jinbei"]

    # Switching plugins replaces the settings (the old plugin's would be refused).
    r = _patch(client, admin, "ta", {"plugins": ["anjian_changshu"], "settings": {}})
    assert r.status_code == 200, r.json
    assert r.json["plugins"] == ["anjian_changshu"]
    assert set(r.json["settings"]) == {"anjian_changshu"}
    assert r.json["settings"]["anjian_changshu"]["target_achieved_total"] == 5200

    stale = client.get("/api/v1/tenants/ta", headers=admin).headers["ETag"]
    assert _patch(client, admin, "ta", {"name": "又一个"}).status_code == 200
    assert _patch(client, admin, "ta", {"name": "过时"}, etag=stale).status_code == 412
    assert client.get("/api/v1/tenants/ta", headers=admin).json["name"] == "又一个"


def test_api_patch_bad_plugin_or_settings_is_422(client, admin, factory):
    factory.tenant("ta", plugins=["anjian_jinbei"])
    r = _patch(client, admin, "ta", {"plugins": ["anjian_jinbei", "anjian_nowhere"]})
    assert r.status_code == 422, r.json
    assert "plugins[1]" in r.json["errors"]
    r = _patch(client, admin, "ta", {"settings": {"anjian_jinbei": {"drills_per_year": 0}}})
    assert r.status_code == 422, r.json
    assert "settings.anjian_jinbei.drills_per_year" in r.json["errors"]
    assert client.get("/api/v1/tenants/ta", headers=admin).json["plugins"] == ["anjian_jinbei"]


def test_api_parent_cycle_via_patch_is_422(client, admin, factory):
    factory.tenant("city", level="city")
    factory.tenant("district", parent="city")
    factory.tenant("street", parent="district", level="street")
    for code, parent in (("city", "street"), ("city", "district"), ("city", "city")):
        r = _patch(client, admin, code, {"parent": parent})
        assert r.status_code == 422, r.json
        assert "parent" in r.json["errors"]
    assert client.get("/api/v1/tenants/city", headers=admin).json["parent"] is None
    r = _patch(client, admin, "street", {"parent": "city"})
    assert r.status_code == 200, r.json
    assert r.json["parent"] == "city"
