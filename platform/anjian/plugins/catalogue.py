"""Typed catalogue entries: what the ``register_*`` hooks return.

A plugin returns these dataclasses (``anjian.plugin_api`` exports them), nested
entries included (a ``CampaignKind``'s phases are ``Phase`` objects, ...). Every
entry of every loaded plugin is checked when the plugins load (``checked``): an
invalid one, or a plain dict where an entry belongs, stops the start-up with a
``CatalogueError`` naming the plugin, the entry and the field. The core reads the
entries as dicts (``as_entry``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from croniter import croniter
from marshmallow import Schema

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,79}$")
FIGURE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,119}$")
REPORT_FORMATS = ("xlsx", "pdf", "json")
FIGURE_PERIODS = ("week", "month", "day")
# What an entered figure holds (its values are checked when entered): any number with two
# decimals; a count of people, times or enterprises (whole); an amount (two decimals); 是/否.
FIGURE_KINDS = ("number", "count", "amount", "yes_no")
QUEUES = ("imports", "reports", "default")
PARTS = ("document", "onsite", "软件资料", "现场", None, "")


class CatalogueError(ValueError):
    """An invalid catalogue entry: ``plugin``, ``hook``, ``entry`` (its key) and ``field``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message
        self.plugin = self.hook = self.entry = None

    def located(self, plugin: str, hook: str, entry) -> CatalogueError:
        self.plugin, self.hook, self.entry = plugin, hook, entry
        self.args = (f"插件 {plugin} 的目录项无效 / invalid catalogue entry of plugin {plugin}: "
                     f"{hook} {entry!r}, field {self.field}: {self.message}",)
        return self


def _text(value, field: str, required: bool = True, limit: int = 300) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise CatalogueError(field, f"须为非空字符串（至多 {limit} 字） / must be a non-empty "
                                    f"string of at most {limit} characters")


def _key(value, field: str = "key") -> None:
    if not isinstance(value, str) or not value or not re.match(r"^[A-Za-z0-9_.-]{1,120}$", value):
        raise CatalogueError(field, "须为字母、数字、'_'、'-' 或 '.' / must be letters, digits, "
                                    "'_', '-' or '.'")


def _date(value, field: str) -> None:
    if value is None or isinstance(value, dt.date):
        return
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        raise CatalogueError(field, f"日期无效 / not a date (YYYY-MM-DD): {value!r}") from None


def _callable(value, field: str) -> None:
    if value is None or callable(value):
        return
    if isinstance(value, str) and ("." in value or ":" in value):
        return  # a dotted path, imported where it is used
    raise CatalogueError(field, "须为可调用对象或其路径 / must be a callable or its dotted path")


def _cron(value, field: str) -> None:
    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        raise CatalogueError(field, f"不是五段 cron 表达式 / not a five-field cron expression: "
                                    f"{value!r}")


def _as_dict(value):
    if isinstance(value, Entry):
        return value.as_entry()
    if isinstance(value, (tuple, list)):
        return [_as_dict(v) for v in value]
    return value


def _typed(value, kind: type, field: str):
    """``value`` when it is a ``kind``; anything else (a dict above all) is refused."""
    if not isinstance(value, kind):
        raise CatalogueError(field, f"须为 plugin_api.{kind.__name__}（不接受 dict） / must be a "
                                    f"plugin_api.{kind.__name__}, not a {type(value).__name__}")
    return value


def _entries(values, kind: type, field: str) -> Sequence:
    """Each of the list ``values`` checked as a ``kind`` (``field[i].``: where a field is)."""
    if not isinstance(values, (list, tuple)):
        raise CatalogueError(field, "须为列表 / must be a list")
    for i, value in enumerate(values):
        _typed(value, kind, f"{field}[{i}]").check(f"{field}[{i}].")
    return values


class Entry:
    """What every catalogue entry has: ``as_entry`` (a dict of its fields that are set)."""

    def as_entry(self) -> dict:
        return {f.name: _as_dict(getattr(self, f.name)) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}

    def check(self, field: str = "") -> None:
        """Raise ``CatalogueError`` naming the first invalid field."""


# --------------------------------------------------------------------------- campaign kinds


@dataclass(frozen=True)
class Phase(Entry):
    """A phase of a campaign kind; ``start``/``end`` dates (or ISO strings), ``rule`` in Chinese.
    ``relative`` dates the phase from a contract (see docs/plugins.md)."""

    key: str
    title: str
    start: dt.date | str | None = None
    end: dt.date | str | None = None
    rule: str | None = None
    relative: dict | None = None

    def as_entry(self) -> dict:
        return {**super().as_entry(), "start": self.start, "end": self.end}

    def check(self, field: str = "") -> None:
        _key(self.key, f"{field}key")
        _text(self.title, f"{field}title")
        _date(self.start, f"{field}start")
        _date(self.end, f"{field}end")
        _text(self.rule, f"{field}rule", required=False, limit=2000)


@dataclass(frozen=True)
class Milestone(Entry):
    """A dated deadline of a campaign kind (``date`` and the ``rule`` it comes from)."""

    date: dt.date | str
    rule: str | None = None
    key: str | None = None
    title: str | None = None

    def check(self, field: str = "") -> None:
        _date(self.date, f"{field}date")
        if self.key is not None:
            _key(self.key, f"{field}key")
        _text(self.rule, f"{field}rule", required=False, limit=2000)
        _text(self.title, f"{field}title", required=False)


@dataclass(frozen=True)
class CampaignKind(Entry):
    """``register_campaign_kinds``: a kind of campaign (专项行动) a tenant may start."""

    key: str
    title: str
    phases: tuple[Phase, ...]
    focus: tuple[str, ...] = ()
    year: int | None = None
    milestones: tuple[Milestone, ...] | None = None
    description: str | None = None

    def check(self, field: str = "") -> None:
        _key(self.key)
        _text(self.title, "title")
        if not _entries(self.phases, Phase, "phases"):
            raise CatalogueError("phases", "至少一个阶段 / at least one phase")
        for i, focus in enumerate(self.focus or ()):
            _text(focus, f"focus[{i}]")
        if self.year is not None and (not isinstance(self.year, int) or not 2000 <= self.year <= 2100):
            raise CatalogueError("year", "须为 2000–2100 的年份 / must be a year 2000-2100")
        _entries(self.milestones or (), Milestone, "milestones")
        _text(self.description, "description", required=False, limit=4000)


# --------------------------------------------------------------------------- checklist templates


@dataclass(frozen=True)
class ChecklistItem(Entry):
    """One item of a checklist template: ``code``, ``text``; ``part`` is document or onsite."""

    code: str
    text: str
    category: str | None = None
    part: str | None = None
    legal_basis: str | None = None
    is_major_criterion: bool | None = None

    def check(self, field: str = "") -> None:
        _text(self.code, f"{field}code", limit=40)
        _text(self.text, f"{field}text", limit=4000)
        if self.part not in PARTS:
            raise CatalogueError(f"{field}part", "须为 document 或 onsite / must be document or "
                                                 "onsite")


@dataclass(frozen=True)
class ChecklistTemplate(Entry):
    """``register_checklist_templates``: a versioned checklist (检查表). With
    ``no_raises_hazard`` every item answered "no" raises a hazard when the inspection is
    submitted (an item whose hazard was raised while answering keeps that one)."""

    key: str
    title: str
    items: tuple[ChecklistItem, ...]
    version: int = 1
    no_raises_hazard: bool = False

    def check(self, field: str = "") -> None:
        _key(self.key)
        _text(self.title, "title")
        if not isinstance(self.version, int) or self.version < 1:
            raise CatalogueError("version", "须为正整数 / must be a positive integer")
        if not _entries(self.items, ChecklistItem, "items"):
            raise CatalogueError("items", "至少一个检查项 / at least one item")
        codes = set()
        for i, item in enumerate(self.items):
            if item.code in codes:
                raise CatalogueError(f"items[{i}].code", f"检查项编号重复 / duplicate code: {item.code}")
            codes.add(item.code)


# --------------------------------------------------------------------------- report kinds


@dataclass(frozen=True)
class EnteredFigure(Entry):
    """A figure staff enter per period for a report kind (``key``, Chinese ``label``):
    ``kind`` (``FIGURE_KINDS``: number, count, amount, yes_no), its ``unit`` as shown, and
    ``part_of``, the key of the figure it is a part of (其中: never more than that one)."""

    key: str
    label: str
    kind: str = "number"
    unit: str = ""
    part_of: str | None = None

    def check(self, field: str = "") -> None:
        if not isinstance(self.key, str) or not FIGURE_KEY_RE.match(self.key):
            raise CatalogueError(f"{field}key", "须为小写字母、数字或 '_' / lower-case letters, "
                                                "digits, '_'")
        _text(self.label, f"{field}label")
        if self.kind not in FIGURE_KINDS:
            raise CatalogueError(f"{field}kind", f"须为 {list(FIGURE_KINDS)} 之一 / must be one "
                                                 f"of {list(FIGURE_KINDS)}")
        _text(self.unit, f"{field}unit", required=False, limit=20)
        if self.part_of is not None and (not isinstance(self.part_of, str)
                                         or self.part_of == self.key):
            raise CatalogueError(f"{field}part_of", "须为另一填报项的 key / must be the key of "
                                                    "another entered figure")


@dataclass(frozen=True)
class ReportSchedule(Entry):
    """A report kind's schedule: ``cron`` (Asia/Shanghai), ``params(tenant, slot)``, ``format``."""

    cron: str
    params: Callable | str
    format: str
    title: str | None = None


@dataclass(frozen=True)
class ReportKind(Entry):
    """``register_report_kinds``: a report (报表) computed by ``compute(tenant, params,
    snapshot_at)`` and laid out by ``xlsx(data, workbook)`` / ``html(data)``."""

    key: str
    title: str
    formats: tuple[str, ...]
    parameters: Any
    compute: Callable | str
    xlsx: Callable | str | None = None
    html: Callable | str | None = None
    entered_figures: tuple[EnteredFigure, ...] | None = None
    figures_period: str | None = None
    schedule: ReportSchedule | None = None
    description: str | None = None
    # ``enterprise(tenant, params) -> int | None``: the enterprise a report is about, if
    # one; the service organisations serving it then read the report.
    enterprise: Callable | str | None = None
    # ``figures_check(tenant, period, values) -> {key or "period": Chinese message}``: the
    # kind's own rules on a period's entered figures (``values``: all of the period's, as
    # they would be stored), asked before they are stored; an empty answer accepts them.
    figures_check: Callable | str | None = None
    # ``figure_offices(tenant) -> [section name, ...]``: the sections (科室) of the tenant
    # that enter figures of their own (each its own row per figure and period); none: the
    # unit enters them once.
    figure_offices: Callable | str | None = None

    def as_entry(self) -> dict:
        return {**super().as_entry(), "formats": list(self.formats)}

    def check(self, field: str = "") -> None:
        if not isinstance(self.key, str) or not KEY_RE.match(self.key):
            raise CatalogueError("key", "须为 2–80 个小写字母、数字或 '_' / must be 2-80 lower-case "
                                        "letters, digits or '_'")
        _text(self.title, "title", limit=200)
        formats = self.formats
        if (not isinstance(formats, (list, tuple)) or not formats
                or not set(formats) <= set(REPORT_FORMATS) or len(set(formats)) != len(formats)):
            raise CatalogueError("formats", f"须为 {list(REPORT_FORMATS)} 中的若干项 / must be a "
                                            f"non-empty list of {list(REPORT_FORMATS)}")
        parameters = self.parameters
        if not (isinstance(parameters, str) or isinstance(parameters, Schema) or (
                isinstance(parameters, type) and issubclass(parameters, Schema))):
            raise CatalogueError("parameters", "须为 marshmallow Schema / must be a marshmallow "
                                               "Schema class")
        for name in ("compute", "xlsx", "html", "enterprise", "figures_check", "figure_offices"):
            _callable(getattr(self, name), name)
        if self.compute is None:
            raise CatalogueError("compute", "缺少此字段 / missing")
        if "xlsx" in formats and self.xlsx is None:
            raise CatalogueError("xlsx", "xlsx 格式须有 xlsx 布局函数 / format xlsx needs an "
                                         "'xlsx' layout callable")
        if "pdf" in formats and self.html is None:
            raise CatalogueError("html", "pdf 格式须有 html 函数 / format pdf needs an 'html' "
                                         "callable")
        keys = set()
        for i, figure in enumerate(_entries(self.entered_figures or (), EnteredFigure,
                                            "entered_figures")):
            if figure.key in keys:
                raise CatalogueError(f"entered_figures[{i}].key", "重复 / not unique")
            keys.add(figure.key)
        for i, figure in enumerate(self.entered_figures or ()):
            if figure.part_of is not None and figure.part_of not in keys:
                raise CatalogueError(f"entered_figures[{i}].part_of", "不是本报表的填报项 / not "
                                                                      "an entered figure of the kind")
        if self.figures_period is not None and self.figures_period not in FIGURE_PERIODS:
            raise CatalogueError("figures_period", f"须为 {list(FIGURE_PERIODS)} 之一 / must be "
                                                   f"one of {list(FIGURE_PERIODS)}")
        if self.schedule is not None:
            schedule = _typed(self.schedule, ReportSchedule, "schedule")
            _cron(schedule.cron, "schedule.cron")
            _callable(schedule.params, "schedule.params")
            if schedule.format not in formats:
                raise CatalogueError("schedule.format", f"须为本报表的格式之一 / must be one of the "
                                                        f"kind's formats {list(formats)}")
        _text(self.description, "description", required=False, limit=4000)


# --------------------------------------------------------------------------- schedules, imports


@dataclass(frozen=True)
class Schedule(Entry):
    """``register_schedules``: a recurring job (``function``, a dotted path) on a ``queue``."""

    key: str
    cron: str
    queue: str
    function: str
    title: str | None = None

    def check(self, field: str = "") -> None:
        _key(self.key)
        _cron(self.cron, "cron")
        if self.queue not in QUEUES:
            raise CatalogueError("queue", f"须为 {list(QUEUES)} 之一 / must be one of {list(QUEUES)}")
        if not isinstance(self.function, str) or "." not in self.function:
            raise CatalogueError("function", "须为带点的路径 / must be a dotted path")
        _text(self.title, "title", required=False)


@dataclass(frozen=True)
class ImportProfile(Entry):
    """``register_import_profiles``: the everyday column names of a locality's lists.

    ``target`` is the list the rows go to (``enterprises``); ``aliases`` maps a field of
    that list (``credit_code``, ``name``, ...) to the names the locality's own
    spreadsheets give its column (``{"principal_name": ("企业法人",)}``). The tenant's
    imports of that list know these names whichever profile they use; a profile chosen
    by its ``key`` also names the ``sheet`` and the ``header_row`` (1-based) when the
    locality's file always has them in one place (else they are found)."""

    key: str
    title: str
    target: str = "enterprises"
    aliases: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)
    sheet: str | None = None
    header_row: int | None = None

    def as_entry(self) -> dict:
        entry = super().as_entry()
        entry["aliases"] = {name: tuple(names) for name, names in self.aliases.items()}
        entry.setdefault("sheet", None)
        entry.setdefault("header_row", None)
        return entry

    def check(self, field: str = "") -> None:
        _key(self.key)
        _text(self.title, "title")
        _key(self.target, "target")
        if not isinstance(self.aliases, Mapping):
            raise CatalogueError("aliases", "须为 字段 → 列名列表 的映射 / must map a field to "
                                            "its column names")
        for name, names in self.aliases.items():
            _text(name, "aliases", limit=80)
            if isinstance(names, str) or not isinstance(names, Sequence) or not names:
                raise CatalogueError(f"aliases[{name!r}]", "须为非空的列名列表 / must be a "
                                                           "non-empty list of column names")
            for alias in names:
                _text(alias, f"aliases[{name!r}]", limit=80)
        _text(self.sheet, "sheet", required=False, limit=31)
        if self.header_row is not None and (not isinstance(self.header_row, int)
                                            or isinstance(self.header_row, bool)
                                            or self.header_row < 1):
            raise CatalogueError("header_row", "须为正整数 / must be a positive integer")


# --------------------------------------------------------------------------- ledger kinds

LEDGER_FIELD_TYPES = ("text", "date", "integer", "number", "boolean", "choice", "id_number",
                      "credit_code")


@dataclass(frozen=True)
class LedgerField(Entry):
    """A field of a ledger kind: ``key``, its Chinese ``label`` and everyday column names
    (``aliases``, for the intake of lists), its ``type`` (``LEDGER_FIELD_TYPES``: an
    ``id_number`` is a resident ID checked and shown masked in lists, a ``credit_code``
    a unified social credit code, a ``choice`` one of ``choices``), whether it is
    ``required``, and ``max_length`` for text."""

    key: str
    label: str
    type: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    max_length: int | None = None

    def check(self, field: str = "") -> None:
        if not isinstance(self.key, str) or not KEY_RE.match(self.key):
            raise CatalogueError(f"{field}key", "须为小写字母开头的字母、数字或 '_' / lower-case "
                                                "letters, digits, '_'")
        _text(self.label, f"{field}label", limit=60)
        if self.type not in LEDGER_FIELD_TYPES:
            raise CatalogueError(f"{field}type", f"须为 {list(LEDGER_FIELD_TYPES)} 之一 / must be "
                                                 f"one of {list(LEDGER_FIELD_TYPES)}")
        if (self.type == "choice") != bool(self.choices):
            raise CatalogueError(f"{field}choices", "choice 类型须给出选项，其他类型不给 / a "
                                                    "choice field, and only it, has choices")
        for i, text in enumerate((*self.choices, *self.aliases)):
            _text(text, f"{field}choices/aliases[{i}]", limit=80)
        if self.max_length is not None and (not isinstance(self.max_length, int)
                                            or not 1 <= self.max_length <= 4000):
            raise CatalogueError(f"{field}max_length", "须为 1–4000 / must be 1-4000")


@dataclass(frozen=True)
class LedgerKind(Entry):
    """``register_ledger_kinds``: a kind of enterprise ledger (台账).

    ``date_field`` is the date field that dates an entry (a drill's day; duties count
    entries by it). An entry expires at its ``expires_field`` (a date field), or
    ``validity_years`` after its date; it is reviewed every ``review_years`` from its
    date or its ``reviewed_field`` (the 3-yearly review of a special work certificate).
    ``remind_days``: the reminders before expiry (days). ``evidence``: what files an
    entry holds (签到表, 安全生产管理协议); ``key_fields``: what identifies an entry of an
    enterprise in an imported list (a certificate's number)."""

    key: str
    title: str
    fields: tuple[LedgerField, ...]
    date_field: str | None = None
    expires_field: str | None = None
    validity_years: int | None = None
    review_years: int | None = None
    reviewed_field: str | None = None
    remind_days: tuple[int, ...] = ()
    evidence: tuple[str, ...] = ()
    key_fields: tuple[str, ...] = ()
    description: str | None = None

    def check(self, field: str = "") -> None:
        _key(self.key)
        _text(self.title, "title", limit=60)
        if not _entries(self.fields, LedgerField, "fields"):
            raise CatalogueError("fields", "至少一个字段 / at least one field")
        types = {}
        for i, item in enumerate(self.fields):
            if item.key in types:
                raise CatalogueError(f"fields[{i}].key", f"字段重复 / duplicate field: {item.key}")
            types[item.key] = item.type
        for name in ("date_field", "expires_field", "reviewed_field"):
            value = getattr(self, name)
            if value is not None and types.get(value) != "date":
                raise CatalogueError(name, f"须为本台账的日期字段 / must be a date field: {value!r}")
        for name in ("validity_years", "review_years"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or not 1 <= value <= 50):
                raise CatalogueError(name, "须为 1–50 年 / must be 1-50 years")
        if (self.validity_years or self.review_years) and self.date_field is None:
            raise CatalogueError("date_field", "按年计有效期或复审须有日期字段 / validity and "
                                               "review years count from the date field")
        if self.expires_field and self.validity_years:
            raise CatalogueError("validity_years", "与 expires_field 二选一 / either it or "
                                                   "expires_field")
        if any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 366
               for d in self.remind_days):
            raise CatalogueError("remind_days", "须为 1–366 天 / must be 1-366 days")
        if self.remind_days and not (self.expires_field or self.validity_years):
            raise CatalogueError("remind_days", "不会到期的台账无需提醒 / only expiring entries "
                                                "are reminded")
        for i, text in enumerate(self.evidence):
            _text(text, f"evidence[{i}]", limit=60)
        for name in self.key_fields:
            if name not in types:
                raise CatalogueError("key_fields", f"不是本台账的字段 / not a field: {name!r}")
        _text(self.description, "description", required=False, limit=2000)


# --------------------------------------------------------------------------- permit kinds

PERMIT_VALIDITY_HOURS_MAX = 720  # 30 days: 临时用电 at its longest
GRADE_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,19}$")


def _hours(value, field: str, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise CatalogueError(field, f"须为 1–{limit} 的整数 / must be an integer 1-{limit}")


@dataclass(frozen=True)
class PermitGrade(Entry):
    """A grade of a permit kind (特级动火, Ⅲ级高处作业, 一级吊装): its ``key`` (at most 20
    lower-case letters, digits or '_'), Chinese ``title``, the hours a permit of this grade
    is valid from its issue (``validity_hours``) and what puts work in the grade
    (``description``: 15 m < h ≤ 30 m, 40 t ≤ m ≤ 100 t)."""

    key: str
    title: str
    validity_hours: int
    description: str | None = None

    def check(self, field: str = "") -> None:
        if not isinstance(self.key, str) or not GRADE_KEY_RE.match(self.key):
            raise CatalogueError(f"{field}key", "须为至多 20 个小写字母、数字或 '_' / at most 20 "
                                                "lower-case letters, digits or '_'")
        _text(self.title, f"{field}title", limit=60)
        _hours(self.validity_hours, f"{field}validity_hours", PERMIT_VALIDITY_HOURS_MAX)
        _text(self.description, f"{field}description", required=False, limit=300)


@dataclass(frozen=True)
class PermitKind(Entry):
    """``register_permit_kinds``: a kind of dangerous work done under a permit (作业票,
    GB 30871-2022's eight special works and a locality's own: 爆破, 检维修).

    A graded kind lists its ``grades`` (``PermitGrade``, each with its validity); an
    ungraded one gives its ``validity_hours``. ``gas_analysis``: a permit is not issued,
    started or resumed without a passed gas analysis taken at most
    ``gas_analysis_minutes`` before (30: GB 30871-2022's interval for hot work and
    confined spaces). ``certificates``: the special work certificates (《特种作业目录》's
    names, as the special workers' ledger has them: 焊接与热切割作业, 电工作业) at least one
    worker of the permit must hold; every worker who names a special work must hold a
    valid certificate for it on the day of the work. ``basis``: the rule cited."""

    key: str
    title: str
    grades: tuple[PermitGrade, ...] = ()
    validity_hours: int | None = None
    gas_analysis: bool = False
    gas_analysis_minutes: int = 30
    certificates: tuple[str, ...] = ()
    description: str | None = None
    basis: str | None = None

    def check(self, field: str = "") -> None:
        if not isinstance(self.key, str) or not KEY_RE.match(self.key) or len(self.key) > 40:
            raise CatalogueError("key", "须为 2–40 个小写字母、数字或 '_' / must be 2-40 lower-case "
                                        "letters, digits or '_'")
        _text(self.title, "title", limit=60)
        keys = set()
        for i, grade in enumerate(_entries(self.grades, PermitGrade, "grades")):
            if grade.key in keys:
                raise CatalogueError(f"grades[{i}].key", f"重复 / duplicate key: {grade.key}")
            keys.add(grade.key)
        if bool(self.grades) == (self.validity_hours is not None):
            raise CatalogueError("validity_hours", "分级的作业按级别给出有效期，不分级的给出 "
                                                   "validity_hours / a graded kind's validity is "
                                                   "its grades', an ungraded kind gives validity_hours")
        if self.validity_hours is not None:
            _hours(self.validity_hours, "validity_hours", PERMIT_VALIDITY_HOURS_MAX)
        if not isinstance(self.gas_analysis, bool):
            raise CatalogueError("gas_analysis", "须为 True 或 False / must be a boolean")
        _hours(self.gas_analysis_minutes, "gas_analysis_minutes", 240)
        if isinstance(self.certificates, str) or not isinstance(self.certificates, (list, tuple)):
            raise CatalogueError("certificates", "须为作业类别的列表 / must be a list of work kinds")
        for i, text in enumerate(self.certificates):
            _text(text, f"certificates[{i}]", limit=40)
        _text(self.description, "description", required=False, limit=2000)
        _text(self.basis, "basis", required=False, limit=2000)


# --------------------------------------------------------------------------- risk catalogues

# The risk register's vocabularies (keys of ``anjian.risks.models``; the kernel cannot read
# the models, a test keeps the two in step).
RISK_LEVELS = ("major", "large", "general", "low")
RISK_POINT_KINDS = ("place", "equipment", "activity", "post")
RISK_MANAGING_LEVELS = ("company", "workshop", "team", "post")
RISK_FACTOR_CATEGORIES = ("person", "thing", "environment", "management")
RISK_CONTROL_KINDS = ("engineering", "management", "ppe", "emergency")
# What a column of the city's risk-reporting export may hold (``RiskCatalogue.export_columns``):
# field → its default header. Values are those of one active risk point and its enterprise.
RISK_EXPORT_FIELDS = {
    "enterprise_name": "企业名称",
    "credit_code": "统一社会信用代码",
    "area": "所属区域",
    "area_path": "所属区域（全称）",
    "point_name": "风险点名称",
    "point_kind": "风险点类型",
    "location": "所在位置",
    "category": "风险类别",
    "accident_type": "可能导致的事故类型",
    "factors": "危险有害因素",
    "method": "评价方法",
    "likelihood": "L",
    "exposure": "E",
    "consequence": "C/S",
    "score": "风险值",
    "level": "风险等级",
    "colour": "风险颜色",
    "controls": "管控措施",
    "engineering": "工程技术措施",
    "management": "管理措施",
    "ppe": "个体防护措施",
    "emergency": "应急处置措施",
    "managing_level": "管控层级",
    "inspection_cycle": "排查频次",
    "inspected_on": "最近排查日期",
    "graded_on": "评价日期",
    "regrade_reason": "待重新评价原因",
}


def _pairs(values, choices: Sequence[str], field: str, limit: int = 2000) -> None:
    """``values``: a list of (key in ``choices``, text) pairs."""
    if not isinstance(values, (list, tuple)):
        raise CatalogueError(field, "须为 (类别, 内容) 的列表 / must be a list of (kind, text) pairs")
    for i, pair in enumerate(values):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise CatalogueError(f"{field}[{i}]", "须为 (类别, 内容) / must be a (kind, text) pair")
        if pair[0] not in choices:
            raise CatalogueError(f"{field}[{i}]", f"类别须为 {list(choices)} 之一 / kind must be one of "
                                                  f"{list(choices)}: {pair[0]!r}")
        _text(pair[1], f"{field}[{i}]", limit=limit)


def _one_of(value, choices: Sequence[str], field: str, required: bool = True) -> None:
    if value is None and not required:
        return
    if value not in choices:
        raise CatalogueError(field, f"须为 {list(choices)} 之一 / must be one of {list(choices)}: "
                                    f"{value!r}")


@dataclass(frozen=True)
class RiskCatalogueEntry(Entry):
    """A typical risk of a locality's catalogue (风险目录): its ``category`` (a sector or a
    kind of site: 机械, 粉尘涉爆), the risk point's ``name`` (冲床、剪板机), its default
    ``level`` (``RISK_LEVELS``: major 重大, large 较大, general 一般, low 低; a point made
    from it is graded at least this level unless its user says otherwise), and what a
    user picking it gets prefilled: ``point_kind`` (``RISK_POINT_KINDS``), the
    ``accident_type`` (GB 6441: 机械伤害), the ``managing_level``
    (``RISK_MANAGING_LEVELS``), ``factors`` as (category, description) pairs
    (``RISK_FACTOR_CATEGORIES``, GB/T 13861) and ``controls`` as (kind, measure) pairs
    (``RISK_CONTROL_KINDS``: engineering, management, ppe, emergency)."""

    key: str
    category: str
    name: str
    level: str
    controls: tuple[tuple[str, str], ...] = ()
    point_kind: str | None = None
    accident_type: str | None = None
    managing_level: str | None = None
    factors: tuple[tuple[str, str], ...] = ()

    def check(self, field: str = "") -> None:
        _key(self.key, f"{field}key")
        if len(self.key) > 60:
            raise CatalogueError(f"{field}key", "至多 60 个字符 / at most 60 characters")
        _text(self.category, f"{field}category", limit=100)
        _text(self.name, f"{field}name", limit=200)
        _one_of(self.level, RISK_LEVELS, f"{field}level")
        _one_of(self.point_kind, RISK_POINT_KINDS, f"{field}point_kind", required=False)
        _text(self.accident_type, f"{field}accident_type", required=False, limit=100)
        _one_of(self.managing_level, RISK_MANAGING_LEVELS, f"{field}managing_level", required=False)
        _pairs(self.factors, RISK_FACTOR_CATEGORIES, f"{field}factors", limit=500)
        _pairs(self.controls, RISK_CONTROL_KINDS, f"{field}controls")


@dataclass(frozen=True)
class RiskCatalogue(Entry):
    """``register_risk_catalogues``: a locality's risk catalogue (风险目录: 一般风险目录,
    较大级以上风险目录), its typical risks as ``entries`` users pick from when they
    identify an enterprise's risks. ``export_columns``, when given, shapes the tenant's
    export for the city's risk-reporting system: (header, field) pairs, the fields of
    ``RISK_EXPORT_FIELDS``, in the system's order, on a sheet named ``export_sheet``."""

    key: str
    title: str
    entries: tuple[RiskCatalogueEntry, ...]
    description: str | None = None
    export_columns: tuple[tuple[str, str], ...] = ()
    export_sheet: str | None = None

    def check(self, field: str = "") -> None:
        _key(self.key)
        if len(self.key) > 59:
            raise CatalogueError("key", "至多 59 个字符 / at most 59 characters")
        _text(self.title, "title", limit=200)
        _text(self.description, "description", required=False, limit=4000)
        keys = set()
        for i, entry in enumerate(_entries(self.entries, RiskCatalogueEntry, "entries")):
            if entry.key in keys:
                raise CatalogueError(f"entries[{i}].key", f"重复 / duplicate key: {entry.key}")
            keys.add(entry.key)
        if not isinstance(self.export_columns, (list, tuple)):
            raise CatalogueError("export_columns", "须为 (表头, 字段) 的列表 / must be a list of "
                                                   "(header, field) pairs")
        for i, pair in enumerate(self.export_columns):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise CatalogueError(f"export_columns[{i}]", "须为 (表头, 字段) / must be a "
                                                             "(header, field) pair")
            _text(pair[0], f"export_columns[{i}]", limit=60)
            _one_of(pair[1], tuple(RISK_EXPORT_FIELDS), f"export_columns[{i}]")
        _text(self.export_sheet, "export_sheet", required=False, limit=31)


# --------------------------------------------------------------------------- routes

ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROUTE_RULE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(/([a-z0-9][a-z0-9_-]*|<(int:)?[a-z_]+>))*$")


@dataclass(frozen=True)
class Route(Entry):
    """``register_routes``: an API route of the plugin, under its tenant's prefix
    ``/api/v1/tenants/<tenant_code>/plugins/<plugin>/<rule>``.

    ``view`` is called with keyword arguments, any subset of ``tenant`` (a
    ``TenantInfo``), ``query`` (the query string as a dict), ``body`` (the JSON body
    of a write, loaded by ``body`` when given) and the rule's own ``<parameters>``; it
    returns what the answer's JSON is (documented by ``response`` when given).
    ``roles`` is its permission: the tenant roles that may call it, enforced by the
    request guard like any core route's; a tenant that has not enabled the plugin
    answers 404."""

    name: str
    rule: str
    view: Callable
    roles: tuple[str, ...]
    methods: tuple[str, ...] = ("GET",)
    summary: str | None = None
    response: Any = None  # a marshmallow Schema documenting the answer (default: any object)
    body: Any = None  # a marshmallow Schema loading a write's JSON body (default: any object)

    def check(self, field: str = "") -> None:
        if not isinstance(self.name, str) or not re.match(r"^[a-z][a-z0-9_]{0,79}$", self.name):
            raise CatalogueError("name", "须为小写字母、数字或 '_' / lower-case letters, digits, '_'")
        if not isinstance(self.rule, str) or not ROUTE_RULE_RE.match(self.rule):
            raise CatalogueError("rule", "须为相对路径，如 items/<int:item_id> / must be a relative "
                                         "path such as items/<int:item_id>")
        if not callable(self.view):
            raise CatalogueError("view", "须为可调用对象 / must be callable")
        if (not isinstance(self.roles, (list, tuple)) or not self.roles
                or not all(isinstance(r, str) and r for r in self.roles)):
            raise CatalogueError("roles", "须声明可调用的角色 / must declare the roles allowed")
        if (not isinstance(self.methods, (list, tuple)) or not self.methods
                or not set(self.methods) <= set(ROUTE_METHODS)):
            raise CatalogueError("methods", f"须为 {list(ROUTE_METHODS)} 中的若干项 / must be some "
                                            f"of {list(ROUTE_METHODS)}")
        _text(self.summary, "summary", required=False)
        for name in ("response", "body"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, Schema) or (
                    isinstance(value, type) and issubclass(value, Schema))):
                raise CatalogueError(name, "须为 marshmallow Schema / must be a marshmallow Schema")


# What each catalogue hook returns.
ENTRY_TYPES: dict[str, type[Entry]] = {
    "register_routes": Route,
    "register_campaign_kinds": CampaignKind,
    "register_checklist_templates": ChecklistTemplate,
    "register_report_kinds": ReportKind,
    "register_schedules": Schedule,
    "register_import_profiles": ImportProfile,
    "register_ledger_kinds": LedgerKind,
    "register_permit_kinds": PermitKind,
    "register_risk_catalogues": RiskCatalogue,
}


def as_entry(hook: str, entry) -> dict:
    """One entry as the dict the core reads. Loaded plugins' entries were checked at
    start-up; a plugin registered at run time (tests, embedding) is checked by the
    module that reads its entries, and its dicts reach it as they are."""
    return entry.as_entry() if isinstance(entry, Entry) else entry


def checked(plugin: str, hook: str, entry) -> Entry:
    """``entry``, checked: the hook's entry type (a dict is refused), every field valid;
    else ``CatalogueError`` naming the plugin, the entry and the field."""
    kind = ENTRY_TYPES[hook]
    if isinstance(entry, Mapping):
        name = entry.get("key", entry.get("name"))
    else:
        name = getattr(entry, "key", getattr(entry, "name", None))
    try:
        _typed(entry, kind, kind.__name__).check()
    except CatalogueError as exc:
        raise exc.located(plugin, hook, name) from None
    return entry
