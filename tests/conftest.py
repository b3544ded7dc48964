"""Test fixtures: every test runs on SQLite and on a real PostgreSQL (started by tests.services).

On PostgreSQL the app connects as the unprivileged role ``anjian_app`` (RLS applies)
while migrations and cleanup run as the owner, exactly as in deployment.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytest_plugins = ["tests.services"]

APP_ROLE = "anjian_app"


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        only_pg = metafunc.definition.get_closest_marker("postgres_only")
        params = ["postgresql"] if only_pg else ["sqlite", "postgresql"]
        metafunc.parametrize("backend_name", params, scope="session")


def _migrate(app_url: str, migration_url: str, data_dir: Path) -> None:
    from flask_migrate import upgrade

    from anjian.app import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": app_url, "ANJIAN_MIGRATION_DATABASE_URL": migration_url,
        "ANJIAN_DATA_DIR": str(data_dir),
    })
    with app.app_context():
        upgrade()
        from anjian.extensions import db

        db.engine.dispose()


# Reference data that migrations seed (the holiday calendar): kept across the
# PostgreSQL harness's per-test TRUNCATE by copying it back, so that a test on
# PostgreSQL sees what a test on SQLite (a copied template file) sees.
SEEDED_TABLES = ("calendar_years", "calendar_days")


@dataclass
class Database:
    name: str
    admin_url: str | None = None
    app_url: str | None = None
    template: Path | None = None

    def fresh(self, tmp_path: Path) -> str:
        """A clean migrated database for one test."""
        if self.name == "sqlite":
            target = tmp_path / "anjian.sqlite3"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        engine = create_engine(self.admin_url)
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"))]
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            for table in SEEDED_TABLES:
                conn.execute(text(f"INSERT INTO {table} SELECT * FROM test_seed.{table}"))
        engine.dispose()
        return self.app_url


@pytest.fixture(scope="session")
def database(backend_name, request, tmp_path_factory):
    if backend_name == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite-template")
        url = f"sqlite:///{folder / 'template.sqlite3'}"
        _migrate(url, "", folder)
        return Database("sqlite", admin_url=url, template=folder / "template.sqlite3")
    admin_url = request.getfixturevalue("postgres_admin_url")
    engine = create_engine(admin_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
                          " GRANT ALL ON SCHEMA public TO public"))
    engine.dispose()
    app_url = admin_url.replace("//postgres@", f"//{APP_ROLE}@", 1)
    _migrate(app_url, admin_url, tmp_path_factory.mktemp("pg-migrate"))
    engine = create_engine(admin_url)
    with engine.begin() as conn:
        conn.execute(text(f"ALTER ROLE {APP_ROLE} LOGIN"))
        # Owner-only copies in a schema of their own, out of the app role's reach.
        conn.execute(text("DROP SCHEMA IF EXISTS test_seed CASCADE; CREATE SCHEMA test_seed"))
        for table in SEEDED_TABLES:
            conn.execute(text(f"CREATE TABLE test_seed.{table} AS TABLE {table}"))
    engine.dispose()
    return Database("postgresql", admin_url=admin_url, app_url=app_url)


@pytest.fixture
def app(database, tmp_path):
    from anjian.app import create_app
    from anjian.extensions import db

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database.fresh(tmp_path),
        "ANJIAN_DATA_DIR": str(tmp_path),
        "ANJIAN_STORAGE_URL": (tmp_path / "objects").as_uri(),
        "ANJIAN_REDIS_URL": "",
        "ANJIAN_TENANTS_DIR": str(Path(__file__).parents[1] / "tenants"),
    })
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def sql_statements(engine):
    """The SQL statements ``engine`` sends inside the block, in a list filled as they go
    (for tests that count statements, never time them)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


class Factory:
    """Makes tenants, areas, users and tokens directly through the services."""

    def __init__(self, app):
        self.app = app

    def tenant(self, code, parent=None, plugins=(), level="district", name=None, settings=None):
        from anjian.extensions import db
        from anjian.tenancy import service

        with self.app.app_context():
            raw = {"code": code, "name": name or f"测试租户{code}", "level": level,
                   "plugins": list(plugins), "settings": settings or {}}
            if parent:
                raw["parent"] = parent
            spec = service.validate_spec(raw, "test", service.registry())
            tenant = service.apply_spec(spec, service.SyncReport())
            db.session.commit()
            return tenant.id

    def area(self, tenant_id, code, kind="sector", parent_id=None, name=None):
        from anjian.extensions import db
        from anjian.tenancy.models import Area
        from anjian.tenancy.scope import Scope, scoped

        with self.app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
            area = Area(code=code, name=name or f"区域{code}", kind=kind, parent_id=parent_id)
            db.session.add(area)
            db.session.commit()
            return area.id

    def user(self, username, memberships=None, platform_admin=False, password=None,
             expires_at=None):
        """Create a user with {tenant_id: role} memberships; returns (user_id, token)."""
        from anjian.auth import service
        from anjian.auth.models import Membership
        from anjian.extensions import db
        from anjian.tenancy.scope import Scope, scoped

        with self.app.app_context():
            with scoped(db.session, Scope.platform_scope()):
                user = service.create_user(username, password, platform_admin=platform_admin)
                _token, secret = service.issue_token(user, "test", expires_at)
                db.session.commit()
                user_id = user.id
            for tenant_id, role in (memberships or {}).items():
                with scoped(db.session, Scope.tenant(tenant_id)):
                    db.session.add(Membership(user_id=user_id, role=role))
                    db.session.commit()
            return user_id, secret


@pytest.fixture
def factory(app):
    return Factory(app)
