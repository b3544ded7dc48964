"""The application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from anjian import config as config_module
from anjian import embedded, observability
from anjian.api import common, docs, health, openapi, plugin_routes
from anjian.api.jsonio import JSONProvider
from anjian.api.problems import Api
from anjian.audit import api as audit_api
from anjian.audit import models as _audit  # noqa: F401
from anjian.audit import service as audit_service
from anjian.auth import api as auth_api
from anjian.auth import guard
from anjian.auth import models as _auth  # noqa: F401
from anjian.campaigns import api as campaigns_api
from anjian.campaigns import models as _campaigns  # noqa: F401
from anjian.channels import api as channels_api
from anjian.channels import models as _channels  # noqa: F401
from anjian.channels import service as channels_service
from anjian.db import install_idle_ping, install_utc_sessions
from anjian.enterprises import api as enterprises_api
from anjian.enterprises import export_api as enterprise_export_api
from anjian.enterprises import import_api
from anjian.enterprises import models as _enterprises  # noqa: F401
from anjian.evidence import Evidence as _evidence  # noqa: F401
from anjian.extensions import PLUGINS_KEY, db, migrate
from anjian.hazards import api as hazards_api
from anjian.hazards import models as _hazards  # noqa: F401
from anjian.idempotency import models as _idempotency  # noqa: F401
from anjian.inspections import api as inspections_api
from anjian.inspections import models as _inspections  # noqa: F401
from anjian.jobs import admin_api as jobs_admin_api
from anjian.jobs import api as jobs_api
from anjian.jobs import embedded as embedded_jobs
from anjian.jobs import models as _jobs  # noqa: F401
from anjian.ledgers import api as ledgers_api
from anjian.ledgers import duties_api as ledger_duties_api
from anjian.ledgers import models as _ledgers  # noqa: F401
from anjian.ledgers import rules_api as ledger_rules_api
from anjian.links import api as links_api
from anjian.links import models as _links  # noqa: F401
from anjian.notifications import Notification as _notification  # noqa: F401
from anjian.observability import metrics
from anjian.permits import api as permits_api
from anjian.permits import models as _permits  # noqa: F401
from anjian.plugins.manager import PluginRegistry
from anjian.reports import api as reports_api
from anjian.reports import models as _reports  # noqa: F401
from anjian.risks import api as risks_api
from anjian.risks import models as _risks  # noqa: F401
from anjian.services import api as services_api
from anjian.services import models as _services  # noqa: F401
from anjian.standardisation import api as standardisation_api
from anjian.standardisation import models as _standardisation  # noqa: F401
from anjian.storage import api as storage_api
from anjian.storage import service as storage_service
from anjian.tenancy import api as tenancy_api
from anjian.tenancy import models as _tenancy  # noqa: F401
from anjian.tenancy import scope
from anjian.workdays import api as workdays_api
from anjian.workdays import models as _workdays  # noqa: F401


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, scoping events, blueprints, plugins."""
    app = Flask(__name__)
    app.url_map.converters["int"] = common.DatabaseInteger  # before any route is added
    app.config.from_mapping(config_module.from_environment())
    if test_config:
        app.config.update(test_config)
    config_module.ensure_secret_key(app.config)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        database = embedded.ensure(app.config["ANJIAN_DATA_DIR"], app.config["ANJIAN_DB_APP_ROLE"])
        app.config["SQLALCHEMY_DATABASE_URI"] = database.app_url
        app.config["ANJIAN_MIGRATION_DATABASE_URL"] = database.owner_url
    proxies = app.config["ANJIAN_TRUSTED_PROXIES"]
    if proxies:  # the client's address, scheme and host as the proxies saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.json = JSONProvider(app)
    observability.init_app(app)  # logging, request metrics; before the guard's hooks

    scope.install()
    audit_service.install()
    # Every model is mapped by now (the ``_<package>`` imports above are there for that
    # alone), so that scoping sees them all before the first query.
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            install_idle_ping(engine)
            install_utc_sessions(engine)
    migrate.init_app(app, db, directory=_migrations_dir())

    plugins = app.config.get("ANJIAN_PLUGIN_REGISTRY") or PluginRegistry(
        extra_modules=[m for m in app.config["ANJIAN_PLUGINS"].split(",") if m.strip()],
        use_entry_points=app.config["ANJIAN_LOAD_ENTRY_POINTS"],
    )
    app.extensions[PLUGINS_KEY] = plugins
    embedded_jobs.install(app)
    channels_service.install(app)  # notifications out: hears of every notification

    _register_api(app)
    app.extensions[storage_service.LINK] = storage_api.link
    return app


def _migrations_dir() -> str:
    """The Alembic revisions ship inside the package (package data), so an installed
    wheel migrates as well as a checkout does."""
    return str(Path(__file__).resolve().parent / "migrations")


def _register_api(app: Flask) -> None:
    # OperationsPlugin: every operation's operationId, description, public routes and
    # Idempotency-Key in the OpenAPI document (anjian.api.openapi).
    api = Api(app, spec_kwargs={"info": {"description": "安监：多辖区安全生产监管平台"},
                                "extra_plugins": [openapi.OperationsPlugin(app)]})
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "API 令牌 (ajt_...)"}
    )
    api.spec.options["security"] = [{"bearer": []}]
    for blueprint in (health.blp, auth_api.blp, tenancy_api.blp, audit_api.blp, storage_api.blp,
                      jobs_api.blp, enterprises_api.blp, enterprise_export_api.blp, import_api.blp,
                      jobs_admin_api.blp, metrics.blp,
                      workdays_api.blp, hazards_api.blp, hazards_api.notifications_blp,
                      hazards_api.referrals_blp, campaigns_api.blp, campaigns_api.kinds_blp,
                      inspections_api.templates_blp, inspections_api.blp,
                      inspections_api.evidence_blp, reports_api.kinds_blp, reports_api.blp,
                      services_api.organisations_blp,
                      services_api.contracts_blp, services_api.records_blp,
                      standardisation_api.blp, standardisation_api.accidents_blp,
                      ledgers_api.blp, ledger_duties_api.blp, ledger_rules_api.blp,
                      risks_api.blp, permits_api.blp, links_api.blp, links_api.policy_blp,
                      links_api.holder_blp, channels_api.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)
    plugin_routes.register(app, api, app.extensions[PLUGINS_KEY])
    app.before_request(guard.before_request)
    app.after_request(guard.after_request)
    app.teardown_request(guard.teardown_request)
    app.extensions["anjian.api"] = api
