"""Domain errors: what services, jobs and the kernel raise when a rule says no.

Each carries a message for users (Chinese) and, where it helps, per-field messages
(``errors``: field → list of messages, or ``field`` for one field), a stable
``slug`` naming the problem type, a ``title`` and a ``retry_after`` in seconds.
They know nothing of HTTP: the API maps each class to a status and a
problem+json body in one place (``anjian.api.problems``); the job wrapper
(``anjian.jobs.service``) maps any of them to a failed job with the same message.

==========================  ===============================================  ======
class                       meaning                                          answer
==========================  ===============================================  ======
``NotFound``                no such object, or one the actor may not see     404
``Refused``                 a rule refuses the input (per-field messages)     422
``TooLarge``                … a file or body over its size limit             413
``UnsupportedType``         … a file of a type not taken                     415
``Forbidden``               the actor's role may not do this                 403
``Conflict``                the object's state does not allow it             409
``PreconditionFailed``      the object changed since the client read it      412
``TooMany``                 too many at once; try again after ``retry_after``  429
``Unavailable``             a service we depend on is down; ``retry_after``   503
``Defect``                  a definition is broken (e.g. a plugin's entry)   500
==========================  ===============================================  ======
"""

from __future__ import annotations

import re


class DomainError(Exception):
    """Base of the domain errors; ``message`` is shown to users as it is."""

    def __init__(self, message: str, *, field: str | None = None,
                 errors: dict[str, list[str]] | None = None, slug: str | None = None,
                 title: str | None = None, retry_after: int | None = None,
                 technical: str | None = None, members: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors if errors is not None else ({field: [message]} if field else None)
        self.slug = slug
        self.title = title
        self.retry_after = retry_after
        self.technical = technical
        # More of the answer, by name (an import's plan): members of the problem body.
        self.members = members

    def on(self, field: str) -> DomainError:
        """The same error told as a message on ``field`` (when it names no field itself)."""
        if not self.errors:
            self.field, self.errors = field, {field: [self.message]}
        return self

    def within(self, prefix: str) -> DomainError:
        """The same error with its fields named under ``prefix`` (``raise_hazard.title``),
        for a rule checked on a nested part of the input."""
        if self.errors:
            self.errors = {f"{prefix}.{k}": v for k, v in self.errors.items()}
        return self


class NotFound(DomainError):
    """No such object, or one the actor may not see (its existence is not told)."""


class Refused(DomainError):
    """A rule refuses the input; ``errors`` says which field and why."""


class TooLarge(Refused):
    """A file or body over its size limit."""


class UnsupportedType(Refused):
    """A file of a type that is not taken."""


class Forbidden(DomainError):
    """The actor may see the object but its role may not do this to it."""


class Conflict(DomainError):
    """The object's current state does not allow the change."""


class PreconditionFailed(DomainError):
    """The object changed since the client read it."""


class TooMany(DomainError):
    """Too many at once (requests, jobs); the client may try again after ``retry_after``."""

    def __init__(self, message: str, *, retry_after: int = 30, **kw):
        super().__init__(message, retry_after=retry_after, **kw)


class Unavailable(DomainError):
    """Something we depend on (the queue, the database, storage) does not answer."""

    def __init__(self, message: str, *, retry_after: int = 30, **kw):
        super().__init__(message, retry_after=retry_after, **kw)


class Defect(DomainError):
    """A definition is broken (a plugin's catalogue entry, a configured kind): a fault of
    the system, not of the request; the message names what is broken."""


# marshmallow and webargs speak English; users of this API read Chinese.
MESSAGES_ZH = {
    "Missing data for required field.": "必填项",
    "Unknown field.": "不允许的字段",
    "Field may not be null.": "不能为空值",
    "Not a valid string.": "不是有效的文本",
    "Not a valid integer.": "不是有效的整数",
    "Not a valid number.": "不是有效的数字",
    "Not a valid boolean.": "不是有效的布尔值",
    "Not a valid datetime.": "不是有效的日期时间",
    "Not a valid date.": "不是有效的日期",
    "Not a valid time.": "不是有效的时间",
    "Not a valid aware datetime.": "须为带时区的日期时间",
    "Not a valid naive datetime.": "须为不带时区的日期时间",
    "Not a valid list.": "不是有效的列表",
    "Not a valid tuple.": "不是有效的数组",
    "Not a valid mapping type.": "不是有效的对象",
    "Not a valid UUID.": "不是有效的 UUID",
    "Not a valid URL.": "不是有效的网址",
    "Not a valid email address.": "不是有效的电子邮件地址",
    "Not a valid period of time.": "不是有效的时间段",
    "Not a valid utf-8 string.": "不是有效的 UTF-8 文本",
    "Number too large.": "数字过大",
    "Special numeric values (nan or infinity) are not permitted.": "不接受 NaN 或无穷大",
    "Invalid input type.": "输入类型无效",
    "Invalid input.": "输入无效",
    "Invalid type.": "类型无效",
    "Invalid value.": "取值无效",
    "Invalid JSON body.": "请求体不是有效的 JSON",
    "String does not match expected pattern.": "格式不正确",
}
_OPERATORS_ZH = {"greater than": "大于", "greater than or equal to": "大于或等于",
                 "less than": "小于", "less than or equal to": "小于或等于"}
_INCLUSIVE = {"greater than or equal to", "less than or equal to"}


def _range_zh(match: re.Match) -> str:
    low_op, low, high_op, high = match.groups()
    if low_op in _INCLUSIVE and high_op in _INCLUSIVE:
        return f"须在 {low} 到 {high} 之间"
    return f"须{_OPERATORS_ZH[low_op]} {low} 且{_OPERATORS_ZH[high_op]} {high}"


_OP = r"((?:greater|less) than(?: or equal to)?)"
# marshmallow's parameterised messages (validate.Range, Length, OneOf, Equal, ContainsOnly),
# whole-message patterns so that no English tail is left behind ("须大于 0 且小于 or equal to 1").
_PATTERNS_ZH = [
    (re.compile(rf"^Must be {_OP} (.+?) and {_OP} (.+)\.$", re.S), _range_zh),
    (re.compile(rf"^Must be {_OP} (.+)\.$", re.S),
     lambda m: f"须{_OPERATORS_ZH[m.group(1)]} {m.group(2)}"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度须在 \1 到 \2 之间"),
    (re.compile(r"^Length must be (\d+)\.$"), r"长度须为 \1"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"短于最小长度 \1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"超过最大长度 \1"),
    (re.compile(r"^Must be one of: (.*)\.$", re.S), r"须为以下之一: \1"),
    (re.compile(r"^Must be equal to (.*)\.$", re.S), r"须等于 \1"),
    (re.compile(r"^One or more of the choices you made was not in: (.*)\.$", re.S),
     r"所选项须在以下范围内: \1"),
    (re.compile(r"^One or more of the choices you made was in: (.*)\.$", re.S),
     r"所选项不能包含: \1"),
    (re.compile(r"^Not a valid (.+)\.$", re.S), r"格式无效"),
]
_CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def translate(messages):
    """Chinese for marshmallow's and webargs' stock messages, recursively; our own messages
    pass through. A message still without a Chinese character but with English words
    (a library's message not listed here) is told as "取值无效" rather than in English."""
    if isinstance(messages, dict):
        return {k: translate(v) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [translate(m) for m in messages]
    if isinstance(messages, str):
        if messages in MESSAGES_ZH:
            return MESSAGES_ZH[messages]
        for pattern, zh in _PATTERNS_ZH:
            if pattern.match(messages):
                return pattern.sub(zh, messages)
        if _LATIN_WORD.search(messages) and not _CJK.search(messages):
            return MESSAGES_ZH["Invalid value."]
    return messages


def one_line(messages) -> str:
    """marshmallow's messages as one Chinese line: ``week：须为周一；on：不是有效的日期``."""
    messages = translate(messages)
    if isinstance(messages, dict):
        return "；".join(f"{key}：{one_line(value)}" for key, value in messages.items())
    if isinstance(messages, list):
        return "、".join(one_line(m) for m in messages)
    return str(messages)


class PluginError(Exception):
    """A plugin is unknown, broken, or its settings do not validate (found at start-up
    or when a tenant's configuration is checked; not an answer to a user's request)."""


__all__ = ["Conflict", "Defect", "DomainError", "Forbidden", "NotFound", "PluginError",
           "PreconditionFailed", "Refused", "TooLarge", "TooMany", "Unavailable",
           "UnsupportedType", "one_line", "translate"]
