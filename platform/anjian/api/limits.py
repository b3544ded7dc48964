"""The request body limit, also for bodies sent without Content-Length (chunked), and the
bounded JSON reader of request bodies (``anjian.api.jsonio.loads``).

Werkzeug wraps such a stream in ``LimitedStream(..., is_max=True)``, whose
``readall()`` stops quietly at ``MAX_CONTENT_LENGTH``: ``request.get_data()``
then returns the first N bytes, a JSON parser sees a truncated body (400), or
worse, a body whose first N bytes happen to be valid JSON is accepted. Here a
body that is still going at the limit answers 413, like one with a too-large
Content-Length (memory stays bounded: at most one byte past the limit is read).
"""

from __future__ import annotations

import json

from flask import Request as FlaskRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from anjian.api import jsonio


class _MaxStream(LimitedStream):
    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class _BodyJSON:
    """What ``request.get_json()`` decodes a body with: the bounded reader."""

    loads = staticmethod(jsonio.loads)
    dumps = staticmethod(json.dumps)


class Request(FlaskRequest):
    json_module = _BodyJSON

    def on_json_loading_failed(self, e: ValueError | None):
        """A body that is not JSON (or past the bounds): 400 with a Chinese detail."""
        if e is None:  # not a JSON content type: Flask's 415
            return super().on_json_loading_failed(e)
        raise jsonio.invalid_json(e if isinstance(e, jsonio.InvalidJSON) else None)

    @cached_property
    def stream(self):
        stream = super().stream
        if isinstance(stream, LimitedStream) and stream._limit_is_max:
            strict = _MaxStream(stream._stream, stream.limit, is_max=True)
            strict._pos = stream._pos
            return strict
        return stream
