"""Downloads of the local storage, through short-lived signed URLs.

``Storage.download_url`` makes ``/api/v1/files/<token>``; the token (signed with
the app's SECRET_KEY, limited in time) is the credential, so the route is public.
A tampered or expired token, or an object gone, answers 404.
"""

from __future__ import annotations

from flask import Response, current_app, has_request_context, request, url_for
from werkzeug.wsgi import wrap_file

from anjian.api.blueprint import Blueprint
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.storage.backends import (
    FILES_PATH,
    BadDownloadToken,
    InvalidKey,
    ObjectNotFound,
    content_disposition,
)
from anjian.storage.service import storage_for

blp = Blueprint("files", __name__, url_prefix="/api/v1/files", description="文件下载（限时链接）")


def link(token: str) -> str:
    """The download URL of a token: absolute in a request (its host), else the path alone
    (a job's result). The app factory hands it to the local storage (``service.LINK``)."""
    if has_request_context():
        return url_for("files.download", token=token, _external=True)
    return FILES_PATH + token


@blp.route("/<token>")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream",
              description="文件内容（附件）")
@blp.alt_response(404, description="链接无效、已过期或文件不存在")
@requires("file.download")
def download(token):
    """下载文件（限时签名链接，无需令牌）"""
    storage = storage_for(current_app)
    try:
        claims = storage.read_download_token(token)
    except BadDownloadToken:
        problem(404, "下载链接无效或已过期")
    try:
        info = storage.stat(claims["key"], claims["tenant_id"])
        stream = storage.open(claims["key"], claims["tenant_id"])
    except (ObjectNotFound, InvalidKey):
        problem(404, "文件不存在或已被删除")
    response = Response(wrap_file(request.environ, stream), status=200,
                        content_type=claims["content_type"], direct_passthrough=True)
    response.content_length = info.size
    response.headers["Content-Disposition"] = content_disposition(claims["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
