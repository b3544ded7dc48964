"""Extension objects, created unbound; ``create_app`` binds them (nothing connects at import).

The plugin registry is the app's too (``create_app`` keeps it under ``PLUGINS_KEY``);
``plugin_registry()`` finds the current app's, as ``db.session`` finds its database.
``this_app()`` is how the layers below the adapters reach the app's configuration and
extensions (the queue's Redis, the job kinds, caches, listeners): they never import Flask.
"""

from flask import current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Named constraints, so that Alembic migrations name them the same way everywhere.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()

PLUGINS_KEY = "anjian.plugins"


def this_app():
    """The app of the current app context (the object itself, to hand to a thread or to
    use after the context ends)."""
    return current_app._get_current_object()


def plugin_registry():
    """The current app's plugin registry (an ``anjian.plugins.manager.PluginRegistry``)."""
    return this_app().extensions[PLUGINS_KEY]
