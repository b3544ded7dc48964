"""Extension objects, created unbound; ``create_app`` binds them (nothing connects at import).

The plugin registry is the app's too (``create_app`` keeps it under ``PLUGINS_KEY``);
``plugin_registry()`` finds the current app's, as ``db.session`` finds its database.
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


def plugin_registry():
    """The current app's plugin registry (an ``anjian.plugins.PluginRegistry``)."""
    return current_app.extensions[PLUGINS_KEY]
