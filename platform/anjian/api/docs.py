"""Swagger UI's own files, served by the app from the installed package (no CDN)."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, send_from_directory

from anjian.api.policy import requires

ASSETS = Path(flask_swagger_ui.__file__).parent / "dist"

blp = Blueprint("docs_assets", __name__)


@blp.route("/api/docs/assets/<path:filename>")
@requires("docs.read")
def swagger_asset(filename):
    return send_from_directory(ASSETS, filename, max_age=3600)
