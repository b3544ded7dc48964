"""The floor of ``bench/load.py``: a bare Flask app, one SQL query per request.

``gunicorn -c deploy/gunicorn.conf.py bench.floor_app:app`` with
``ANJIAN_FLOOR_DATABASE_URL`` (a libpq URL). Each list answers the same page as
the platform's default (50 rows, the same order, every column) in the same
envelope, from one statement that names the tenant by its code. No
authentication, no ORM, no tenant scope, no marshmallow, no audit, no row-level
security (it connects as the owner): what is left is Flask, gunicorn, one round
trip to PostgreSQL and the JSON.
"""

from __future__ import annotations

import os

from flask import Flask

app = Flask(__name__)

ENTERPRISES = """
SELECT e.* FROM enterprises e JOIN tenants t ON t.id = e.tenant_id
WHERE t.code = %s AND e.deleted_at IS NULL
ORDER BY e.name, e.id LIMIT 50
"""
HAZARDS = """
SELECT h.* FROM hazards h JOIN tenants t ON t.id = h.tenant_id
WHERE t.code = %s
ORDER BY h.created_at DESC, h.id DESC LIMIT 50
"""

_connection = None


def _conn():
    """One connection per worker process, made after gunicorn's fork."""
    global _connection
    if _connection is None or _connection.closed:
        import psycopg
        from psycopg.rows import dict_row

        _connection = psycopg.connect(os.environ["ANJIAN_FLOOR_DATABASE_URL"], autocommit=True,
                                      row_factory=dict_row)
    return _connection


def _page(sql: str, code: str) -> dict:
    items = _conn().execute(sql, (code,)).fetchall()
    return {"items": items, "page": 1, "per_page": 50}


@app.get("/floor/<code>/enterprises")
def enterprises(code):
    return _page(ENTERPRISES, code)


@app.get("/floor/<code>/hazards")
def hazards(code):
    return _page(HAZARDS, code)
