"""Read-only views: what policy hooks receive instead of live ORM entities.

``view_of`` turns a mapped row (a hazard, a campaign, an enterprise, a contract, an
inspection, the acting user, ...) into a ``RowView``: a snapshot of its columns,
read as attributes (``hazard.grade``, ``enterprise.extra``), that cannot be
changed and is not in the session. Lists and tuples of rows become lists and
tuples of views; anything else (a ``TenantInfo``, a date, a number) is passed as
it is. A plugin that returns a view (``[(enterprise, reason)]``) is understood by
its ``id``, as the core reads every answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import InstanceState


@dataclass(frozen=True)
class TenantInfo:
    """What a policy hook learns about the tenant it decides for."""

    id: int
    code: str
    name: str
    level: str
    plugins: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StandardisationProgramme:
    """A tenant's standardisation programme of a year (``standardisation_programme``):
    ``targets`` by metric (anjian's standardisation METRICS: counts, ratios as 0.7);
    ``key_industries``: the enterprise flags (FLAGS keys) whose enterprises must all
    achieve; ``due``: the date the targets are due (else 31 December)."""

    targets: dict[str, float] = field(default_factory=dict)
    key_industries: tuple[str, ...] = ()
    due: Any = None


@dataclass(frozen=True)
class StandardisationRules:
    """A tenant's standing rules of safety standardisation (``standardisation_rules``):
    the ``schemes`` its enterprises are certified under (keys of anjian's SCHEMES:
    small_micro, level3, level2, level1), each scheme's validity in years (3 unless
    given), and how many months before expiry the renewal window opens."""

    schemes: tuple[str, ...] = ("small_micro", "level3", "level2", "level1")
    validity_years: dict[str, int] = field(default_factory=dict)
    renewal_window_months: int = 3


@dataclass(frozen=True)
class LedgerDuty:
    """A duty enterprises owe over one of their ledgers (``ledger_duties``): at least
    ``count`` entries of the ledger kind ``ledger_kind`` per ``per`` (``"month"``,
    ``"quarter"``, ``"year"``; calendar periods, or with ``align="since"`` whole months
    from the day the tenant counts from), or with ``per="standing"`` at every moment at
    least ``count`` entries in force and none expired (certificates, agreements; ``count=0``:
    none expired, and an enterprise without any meets it).

    ``where``: what an entry's data must hold to count (``{"kind": "主要负责人带队检查"}``);
    ``in_last_months``: only a period's last n months count; ``criterion``: the rule
    cited (Chinese, "《…方案》四、3：企业每年至少组织一次危险作业应急演练");
    ``raise_hazard``: a missed period raises a hazard citing it (a finding)."""

    key: str
    title: str
    ledger_kind: str
    count: int = 1
    per: str = "year"
    align: str = "calendar"
    where: dict[str, Any] = field(default_factory=dict)
    criterion: str = ""
    raise_hazard: bool = False
    in_last_months: int | None = None


@dataclass(frozen=True)
class SupervisionClass:
    """An enterprise's supervision class (``classify_enterprise``): ``code`` (A, B, ...),
    its ``label``, why, and how many inspections a year the class gets."""

    code: str
    label: str
    reason: str = ""
    inspections_per_year: int | None = None


# The stages of a permit's steps (``ApprovalStep.stage``), key → label.
APPROVAL_STAGES = {"approve": "审批", "supervise": "监护", "accept": "验收"}


@dataclass(frozen=True)
class ApprovalStep:
    """One step a dangerous-work permit needs (``permit_approvals``): its ``key`` (unique in
    the answer), Chinese ``title`` and ``stage`` (``APPROVAL_STAGES``): ``approve``, an
    approval before the permit is issued, each by a different user and never by the one
    who requested it (主要负责人或其授权人, 第二审批人); ``supervise``, a guardian (监护人) on
    site while the work goes on: one, or two for double supervision (at most two);
    ``accept``, an acceptance of the finished work, each by a different user (双验收)."""

    key: str
    title: str
    stage: str = "approve"


class RowView:
    """A read-only snapshot of one row's columns (see the module's docstring)."""

    __slots__ = ("_kind", "_values")

    def __init__(self, kind: str, values: dict[str, Any]):
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __getattr__(self, name: str):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._kind} view has no attribute {name!r}") from None

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"{self._kind} view is read-only: {name!r} cannot be set")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self._kind} view is read-only")

    def __eq__(self, other) -> bool:
        return (isinstance(other, RowView) and other._kind == self._kind
                and other._values == self._values)

    def __hash__(self) -> int:
        return hash((self._kind, self._values.get("id")))

    def __repr__(self) -> str:
        return f"<{self._kind} view id={self._values.get('id')!r}>"


def view_of(value):
    """``value`` as plugins see it: a mapped row as a ``RowView``, lists and tuples item by
    item, anything else unchanged."""
    if isinstance(value, RowView):
        return value
    if isinstance(value, list):
        return [view_of(v) for v in value]
    if isinstance(value, tuple):
        return tuple(view_of(v) for v in value)
    state = inspect(value, raiseerr=False)
    if isinstance(state, InstanceState):
        mapper = state.mapper
        return RowView(mapper.class_.__name__,
                       {attr.key: getattr(value, attr.key) for attr in mapper.column_attrs})
    return value
