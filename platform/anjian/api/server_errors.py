"""The answers gunicorn gives by itself, in the API's format.

Some requests never reach the app: gunicorn refuses a request line over
``limit_request_line`` (414), more headers than ``limit_request_fields`` or one over
``limit_request_field_size`` (431), a request it cannot parse (400), a transfer coding
it does not support (501). gunicorn writes those answers as English HTML; ``install()``
(called by ``deploy/gunicorn.conf.py`` in the master, before any worker forks) makes it
write them as ``application/problem+json`` with the Chinese title and detail the app
gives the same status (``anjian.api.problems``). The request id is absent: there was no
request to give one to.
"""

from __future__ import annotations

import json

from gunicorn import util

from anjian.api.problems import PROBLEM_JSON, PROBLEM_TYPE_PREFIX, detail_of, title_of

# What gunicorn refused, told for its statuses (the app's own details otherwise).
DETAILS = {
    400: "请求格式不正确，服务器无法解析（请求行、请求头或分块编码无效）",
    414: "请求地址过长：请求行（方法、地址和查询参数）不能超过服务器的限制",
    431: "请求头过多或单个请求头过大，超过服务器的限制",
    501: "不支持该传输编码（Transfer-Encoding）",
}


def problem_bytes(status: int, reason: str) -> bytes:
    """The whole HTTP answer: status line, headers and the problem+json body."""
    slug, title = title_of(status)
    body = json.dumps({"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status,
                       "detail": DETAILS.get(status) or detail_of(status)},
                      ensure_ascii=False).encode("utf-8")
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def write_problem(sock, status_int, reason, mesg) -> None:
    """gunicorn's ``util.write_error``, answering problem+json (``mesg``, gunicorn's English
    description, goes to its log as before, not to the client)."""
    util.write_nonblock(sock, problem_bytes(int(status_int), str(reason)))


def install() -> None:
    util.write_error = write_problem
