"""The app's object storage: ``storage_for(app)`` gives the backend named by
``ANJIAN_STORAGE_URL`` (``file:///path`` or ``s3://bucket/prefix``;
``ANJIAN_S3_ENDPOINT_URL`` for MinIO and other S3-compatibles), made on first use and
kept on ``app.extensions``; ``check(app)`` is the health check's."""


from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote, urlparse

from anjian.config import ensure_secret_key
from anjian.storage.backends import LocalStorage, S3Storage, Storage

_EXTENSION = "anjian.storage"
# Where the app keeps the files API's link maker (``anjian.storage.api.link``): the local
# folder's download URLs are the app's own, and only an adapter knows the request's host.
LINK = "anjian.storage.link"


def build_storage(url: str, endpoint_url: str | None = None, secret_key: str | None = None,
                  max_bytes: dict[str, int] | None = None,
                  link: Callable[[str], str] | None = None) -> Storage:
    """A backend for a storage URL (no caching); ``link``: the local folder's download URL
    of a token."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(unquote(parsed.path), secret_key=secret_key, max_bytes=max_bytes,
                            link=link)
    if parsed.scheme == "s3":
        return S3Storage(parsed.netloc, unquote(parsed.path), endpoint_url=endpoint_url,
                         secret_key=secret_key, max_bytes=max_bytes)
    raise ValueError(f"unsupported storage URL scheme: {parsed.scheme}")


def storage_for(app) -> Storage:
    """The app's storage backend, cached on ``app.extensions`` (rebuilt if the URL changes)."""
    settings = (app.config["ANJIAN_STORAGE_URL"], app.config.get("ANJIAN_S3_ENDPOINT_URL") or "",
                app.config.get("SECRET_KEY"))
    cached = app.extensions.get(_EXTENSION)
    if cached is not None and cached[0] == settings:
        return cached[1]
    secret = ensure_secret_key(app.config)
    storage = build_storage(settings[0], settings[1] or None, secret,
                            app.config.get("ANJIAN_STORAGE_MAX_BYTES"), app.extensions.get(LINK))
    app.extensions[_EXTENSION] = ((settings[0], settings[1], app.config.get("SECRET_KEY")),
                                  storage)
    return storage


def check(app) -> None:
    """Raise if the configured storage cannot be reached or written."""
    storage_for(app).check()
