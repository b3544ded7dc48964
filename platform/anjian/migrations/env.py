"""Alembic environment: migrations run as the schema owner (ANJIAN_MIGRATION_DATABASE_URL),
the app connects as a role that owns nothing (ANJIAN_DATABASE_URL). PostgreSQL only.

Revisions are frozen: they import no application code (tests/test_migrations_frozen.py).
Autogenerate therefore renders the app's own column types (``anjian.db.UTCDateTime``, a
TypeDecorator) as the plain SQLAlchemy type they store as (``render_item``).
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import TypeDecorator, create_engine, pool

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
target_metadata = target_db.metadata


def _url():
    return current_app.config.get("ANJIAN_MIGRATION_DATABASE_URL") or str(
        target_db.engine.url.render_as_string(hide_password=False)
    )


def render_item(kind, obj, autogen_context):
    """A TypeDecorator of the app renders as its stored type, with no import of the app."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if type(impl).__module__.startswith("sqlalchemy.dialects.postgresql"):
            autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
            return f"postgresql.{impl!r}"
        return f"sa.{impl!r}"
    return False


def run_migrations_offline():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
