"""The app's database values: sessions in UTC, UTC datetimes read back, lists of the
code's constants written into a statement's text (anjian.db)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, literal, select, text, type_coerce
from sqlalchemy.dialects import postgresql

from anjian.db import UTCDateTime, one_of
from anjian.extensions import db
from tests.conftest import app_config


def test_the_apps_sessions_run_in_utc_and_read_datetimes_back_in_utc(app):
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
        moment = conn.execute(select(type_coerce(func.now(), UTCDateTime))).scalar()
        assert moment.tzinfo is dt.UTC
        # 08:00 in Beijing is midnight UTC, whatever zone it was written in
        written = conn.execute(select(type_coerce(
            literal(dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                    UTCDateTime), UTCDateTime))).scalar()
        assert written == dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC)
        assert written.tzinfo is dt.UTC


def test_options_the_database_url_gives_are_kept_beside_utc(database, tmp_path):
    from anjian.app import create_app

    separator = "&" if "?" in database.app_url else "?"
    url = f"{database.app_url}{separator}options=-c%20statement_timeout%3D4321"
    app = create_app(app_config(url, tmp_path))
    try:
        with app.app_context(), db.engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "4321ms"
            assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
    finally:
        with app.app_context():
            db.engine.dispose()


def test_one_of_writes_the_constants_into_the_text_nothing_expanded(app):
    compiled = one_of(literal("b"), ("a", "b", "it's")).compile(dialect=postgresql.dialect())
    # the values are literals of the text: no parameter for them, nothing expanded per call
    assert "POSTCOMPILE" not in str(compiled)
    assert str(compiled).endswith("IN ('a', 'b', 'it''s')")
    assert list(compiled.params.values()) == ["b"]  # the column's own parameter only
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(select(one_of(literal("b"), ("a", "b")))).scalar() is True
        assert conn.execute(select(one_of(literal("c"), ("a", "b")))).scalar() is False
        assert conn.execute(select(one_of(literal("c"), ["a", "c"]))).scalar() is True
        assert conn.execute(select(one_of(literal("it's"), ["it's"]))).scalar() is True
    for wrong in ([], [1, 2], ["a", None]):
        with pytest.raises(TypeError):
            one_of(literal("a"), wrong)
