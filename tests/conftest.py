"""Test fixtures: every test runs once, on a real PostgreSQL (started by tests.services).

The app connects as the unprivileged role ``anjian_app`` (RLS applies) while
migrations and the reset between tests run as the owner, exactly as in deployment.

Speed, on two cores: the database is migrated once per session (per pytest-xdist
worker), and one app is built once per session and lent to each test (``app``). Before
each test the database is emptied in one round trip (``Database.fresh``: every table's
rows deleted, sequences restarted, the seeded calendar copied back), and the lent app
gets back its configuration, a fresh plugin registry (the same plugins), a fresh
embedded queue and no cached storage, calendar or schedule state. A test that changes
the app itself (adds routes or blueprints, builds its own registry) is marked
``own_app`` and gets an app of its own.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytest_plugins = ["tests.services"]


def pytest_collection_modifyitems(items):
    """Tests marked ``early`` first (stable otherwise): a long test started last would make
    the whole run wait for it on one pytest-xdist worker."""
    items.sort(key=lambda item: item.get_closest_marker("early") is None)


APP_ROLE = "anjian_app"
TENANTS_DIR = str(Path(__file__).parents[1] / "tenants")


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


# Reference data that migrations seed (the holiday calendar): copied back after the
# reset, from owner-only copies made once after the migrations.
SEEDED_TABLES = ("calendar_years", "calendar_days")


@dataclass
class Database:
    admin_url: str
    app_url: str
    reset_sql: str

    def fresh(self, tmp_path: Path | None = None) -> str:
        """Empty the migrated database (the seeded calendar kept) and return the app's URL.

        One round trip: as the owner (a superuser here), with foreign-key triggers off
        for the transaction, every table's rows are deleted, every sequence restarts at 1
        and the seeded tables are copied back. (TRUNCATE costs 3-5 times as much: it
        makes new files for every table and index.)"""
        engine = _admin_engine(self.admin_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(self.reset_sql)
        return self.app_url


_admin_engines: dict[str, object] = {}


def _admin_engine(url: str):
    engine = _admin_engines.get(url)
    if engine is None:
        engine = _admin_engines[url] = create_engine(url)
    return engine


def _reset_sql(conn) -> str:
    tables = [r[0] for r in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version' ORDER BY tablename"))]
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f"DELETE FROM {table}" for table in tables]
    statements.append("SELECT setval(c.oid, 1, false) FROM pg_class c "
                      "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace")
    statements += [f"INSERT INTO {table} SELECT * FROM test_seed.{table}"
                   for table in SEEDED_TABLES]
    return ";\n".join(statements)


@pytest.fixture(scope="session")
def database(postgres_admin_url, tmp_path_factory):
    admin_url = postgres_admin_url
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
        reset_sql = _reset_sql(conn)
    engine.dispose()
    yield Database(admin_url=admin_url, app_url=app_url, reset_sql=reset_sql)
    for url in list(_admin_engines):
        _admin_engines.pop(url).dispose()


def app_config(database_url: str, folder: Path, **extra) -> dict:
    """The configuration of a test app on ``database_url``, its files under ``folder``."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ANJIAN_DATA_DIR": str(folder),
        "ANJIAN_STORAGE_URL": (folder / "objects").as_uri(),
        "ANJIAN_REDIS_URL": "",
        "ANJIAN_TENANTS_DIR": TENANTS_DIR,
        **extra,
    }


class LentApp:
    """The session's one app, lent to a test at a time and handed back as it was built."""

    # What a test's files are: set per test, kept out of the restored configuration.
    PER_TEST = ("ANJIAN_DATA_DIR", "ANJIAN_STORAGE_URL")

    def __init__(self, app):
        self.app = app
        self.config = dict(app.config)
        self.extensions = set(app.extensions)
        registry = app.extensions["anjian.plugins"]
        self.plugins = list(registry.plugins.items())

    def lend(self, folder: Path):
        from anjian.plugins.manager import PluginRegistry

        app = self.app
        app.config.clear()
        app.config.update(self.config)
        app.config.update(ANJIAN_DATA_DIR=str(folder),
                          ANJIAN_STORAGE_URL=(folder / "objects").as_uri())
        for key in set(app.extensions) - self.extensions:
            del app.extensions[key]  # caches made by the last test (storage, calendar, ...)
        registry = PluginRegistry(use_entry_points=False)
        for name, module in self.plugins:
            registry.register(name, module)
        app.extensions["anjian.plugins"] = registry
        return app

    def give_back(self) -> None:
        from anjian.extensions import db
        from anjian.jobs import queues

        with self.app.app_context():
            db.session.remove()
        with queues._lock:  # the embedded queue's jobs end with the test
            queues._connections.pop((os.getpid(), f"embedded:{id(self.app)}"), None)


@pytest.fixture(scope="session")
def _lent_app(database, tmp_path_factory):
    from anjian.app import create_app

    app = create_app(app_config(database.app_url, tmp_path_factory.mktemp("app")))
    yield LentApp(app)
    from anjian.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def app(request, database, tmp_path, _lent_app):
    database.fresh()
    if request.node.get_closest_marker("own_app") is None:
        try:
            yield _lent_app.lend(tmp_path)
        finally:
            _lent_app.give_back()
        return
    from anjian.app import create_app
    from anjian.extensions import db

    app = create_app(app_config(database.app_url, tmp_path))
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def anjian_app(app):
    """The plugin authors' fixtures (anjian.testing: anjian_tenant, anjian_clients) on the
    suite's app: the same database, reset and registry as ``app``."""
    return app


def cli_runner(app):
    """A runner of the ``anjian`` command's groups on ``app`` (as ``anjian`` itself adds
    them to the app it builds)."""
    from anjian import cli

    cli.init_app(app)
    return app.test_cli_runner()


@pytest.fixture
def runner(app):
    return cli_runner(app)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def tenant_context(tenant_id: int, user_id: int | None = None, access=None):
    """A service's Context in tenant ``tenant_id`` (inside an app context), as the guard
    builds one: the tenant row, the actor, their access (None: the system)."""
    from anjian.context import Context
    from anjian.extensions import db
    from anjian.tenancy.models import Tenant

    return Context(tenant_id, user_id, access, source=db.session.get(Tenant, tenant_id))


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
        from anjian.extensions import db, plugin_registry
        from anjian.tenancy import service

        with self.app.app_context():
            raw = {"code": code, "name": name or f"测试租户{code}", "level": level,
                   "plugins": list(plugins), "settings": settings or {}}
            if parent:
                raw["parent"] = parent
            spec = service.validate_spec(raw, "test", plugin_registry())
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
