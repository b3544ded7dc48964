"""House guards: the stdlib's platform, schema == models, tenant keys (one migration head:
test_migrations_frozen.py)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import ForeignKeyConstraint, UniqueConstraint, create_engine

ROOT = Path(__file__).parents[1]


def test_platform_is_the_standard_library():
    import platform

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    where = Path(platform.__file__).resolve()
    assert where.is_relative_to(stdlib), where
    assert not where.is_relative_to(ROOT.resolve())
    assert callable(platform.python_version)
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert not (ROOT / "plugins" / "__init__.py").exists()


def test_migrated_schema_matches_the_models(app, database):
    from anjian.extensions import db

    engine = create_engine(database.admin_url)  # the owner sees the whole catalogue
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": False})
            diff = compare_metadata(context, db.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ; add a migration:\n" + "\n".join(
        map(repr, diff))


def _tenant_classes():
    import anjian.app  # noqa: F401 - maps every model (the app factory's module imports them all)
    from anjian.tenancy.scope import tenant_classes

    return tenant_classes()


def test_every_model_with_tenant_id_is_tenant_owned():
    from anjian.extensions import db
    from anjian.tenancy.scope import TenantOwned

    _tenant_classes()
    mappers = list(db.Model.registry.mappers)
    assert mappers
    with_tenant = [m.class_ for m in mappers if "tenant_id" in m.local_table.c]
    assert with_tenant  # areas, memberships, audit_log at least
    for cls in with_tenant:
        assert issubclass(cls, TenantOwned), f"{cls.__name__} has tenant_id but is not TenantOwned"
    # And the other way round: the scoping knows every table that carries tenant_id.
    tables = {t.name for t in db.metadata.sorted_tables if "tenant_id" in t.c}
    assert tables == {cls.__table__.name for cls in _tenant_classes()}
    assert {"areas", "memberships", "audit_log"} <= tables


def test_unique_and_foreign_keys_of_tenant_tables_include_tenant_id():
    from anjian.extensions import db

    _tenant_classes()
    tenant_tables = [t for t in db.metadata.sorted_tables if "tenant_id" in t.c]
    checked_uniques = checked_fks = 0
    for table in tenant_tables:
        pk = {c.name for c in table.primary_key.columns}
        for constraint in table.constraints:
            columns = {c.name for c in constraint.columns}
            if isinstance(constraint, UniqueConstraint) and columns != pk:
                assert "tenant_id" in columns, f"{table.name}: unique {sorted(columns)}"
                checked_uniques += 1
            if isinstance(constraint, ForeignKeyConstraint):
                referred = constraint.referred_table
                if "tenant_id" in referred.c and referred.name != "tenants":
                    assert "tenant_id" in columns, (
                        f"{table.name}: foreign key {sorted(columns)} -> {referred.name}"
                    )
                    assert "tenant_id" in {e.column.name for e in constraint.elements}
                    checked_fks += 1
        for column in table.columns:
            if column.unique:
                raise AssertionError(f"{table.name}.{column.name}: unique without tenant_id")
        for index in table.indexes:
            if index.unique:
                assert "tenant_id" in {c.name for c in index.columns}, (
                    f"{table.name}: unique index {index.name}"
                )
    assert checked_uniques >= 4 and checked_fks >= 1
