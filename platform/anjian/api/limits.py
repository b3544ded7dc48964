"""The request body limit, also for bodies sent without Content-Length (chunked).

Werkzeug wraps such a stream in ``LimitedStream(..., is_max=True)``, whose
``readall()`` stops quietly at ``MAX_CONTENT_LENGTH``: ``request.get_data()``
then returns the first N bytes, a JSON parser sees a truncated body (400), or
worse, a body whose first N bytes happen to be valid JSON is accepted. Here a
body that is still going at the limit answers 413, like one with a too-large
Content-Length (memory stays bounded: at most one byte past the limit is read).
"""

from __future__ import annotations

from flask import Request as FlaskRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class _MaxStream(LimitedStream):
    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class Request(FlaskRequest):
    @cached_property
    def stream(self):
        stream = super().stream
        if isinstance(stream, LimitedStream) and stream._limit_is_max:
            strict = _MaxStream(stream._stream, stream.limit, is_max=True)
            strict._pos = stream._pos
            return strict
        return stream
