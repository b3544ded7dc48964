"""The bureau's spot checks of the service results (服务结果抽查): a reproducible sample of
the enterprises a contract serves, and the finding for each. The caller commits."""

from __future__ import annotations

import decimal
import math
import random
import secrets
from collections import defaultdict

from sqlalchemy import select

from anjian.context import Context
from anjian.enterprises.models import Enterprise
from anjian.errors import Defect, Refused
from anjian.extensions import db
from anjian.services.models import FINDINGS, ContractEnterprise, ServiceContract, SpotCheck, SpotCheckSample
from anjian.workdays.service import set_deadline

SPOT_CHECK_SUBJECT = "service_results"
DEFAULT_SAMPLE_REASON = "随机抽取"


def sample_size(ratio, population: int) -> int:
    """ceil(ratio x n), at least 1, at most n (exact: 0.7 x 10 is 7, not 8)."""
    wanted = math.ceil(decimal.Decimal(str(ratio)) * population)
    return max(1, min(population, wanted))


def uniform_sample(population: list[int], ratio, seed: str) -> list[int]:
    """The core's sample: ``random.Random(seed)`` over the sorted population ids. The same
    seed and population always give the same ids."""
    ordered = sorted(population)
    if not ordered:
        return []
    return sorted(random.Random(seed).sample(ordered, sample_size(ratio, len(ordered))))  # noqa: S311


def served_population(contract: ServiceContract) -> list[int]:
    """The ids of the enterprises the contract serves now, sorted."""
    return sorted(db.session.scalars(select(ContractEnterprise.enterprise_id).where(
        ContractEnterprise.contract_id == contract.id, ContractEnterprise.left_on.is_(None))))


def draw_sample(context: Context, contract: ServiceContract, data: dict) -> SpotCheckSample:
    """Draw the bureau's spot check of the service results: a share ``ratio`` of the served
    enterprises, through the plugin hook ``select_spot_check_sample`` or the core's uniform
    draw; the seed and the population are recorded so the draw can be repeated. The due
    date is ``deadline_workdays`` working days after ``deadline_start`` (default today), or
    what the plugin's ``task_deadline`` gives for ``spot_check``; the context's actor draws."""
    ratio = decimal.Decimal(str(data["ratio"]))
    seed = data.get("seed") or secrets.token_hex(8)
    population = served_population(contract)
    if not population:
        raise Refused("该合同没有服务企业，无法抽查")
    enterprises = list(db.session.scalars(
        select(Enterprise).where(Enterprise.id.in_(population)).order_by(Enterprise.id)))
    picked = context.policy("select_spot_check_sample", subject=SPOT_CHECK_SUBJECT,
                            candidates=enterprises, ratio=float(ratio), seed=seed)
    if picked is None:
        by_id = {e.id: e for e in enterprises}
        picked = [(by_id[i], DEFAULT_SAMPLE_REASON) for i in uniform_sample(population, ratio, seed)]
    chosen: dict[int, str] = {}
    allowed = set(population)
    for candidate, reason in picked:
        ident = getattr(candidate, "id", candidate)
        if ident not in allowed:
            raise Defect(f"插件抽取了不在服务范围内的企业: {ident}")
        chosen.setdefault(ident, str(reason or "")[:2000])
    if not chosen:
        raise Defect("插件没有抽取任何企业")
    sample = SpotCheckSample(contract_id=contract.id, ratio=ratio, seed=seed,
                             population=population, drawn_by=context.user_id)
    start = data.get("deadline_start") or context.today()
    workdays = data.get("deadline_workdays")
    if workdays is None:
        workdays = context.policy("task_deadline", task_kind="spot_check", start=start)
    if workdays is not None:
        set_deadline(sample, start, int(workdays))
    db.session.add(sample)
    db.session.flush()
    for enterprise_id in sorted(chosen):
        db.session.add(SpotCheck(sample_id=sample.id, enterprise_id=enterprise_id,
                                 reason=chosen[enterprise_id]))
    db.session.flush()
    return sample


def record_finding(context: Context, check: SpotCheck, data: dict) -> SpotCheck:
    """The context's actor records the finding of one spot check."""
    if "finding" in data:
        check.finding = data["finding"]
    if "note" in data:
        check.note = data["note"] or ""
    check.checked_by, check.checked_at = context.user_id, context.clock()
    db.session.flush()
    return check


SAMPLE_FIELDS = ("id", "contract_id", "ratio", "seed", "population", "drawn_by", "drawn_at",
                 "deadline_start", "deadline_workdays", "deadline", "deadline_provisional")


def _check_items(where) -> dict[int, list[dict]]:
    """The spot checks matching ``where`` with their enterprises, by sample id, in one
    statement."""
    rows = db.session.execute(
        select(SpotCheck, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, Enterprise.id == SpotCheck.enterprise_id)
        .where(where).order_by(SpotCheck.sample_id, SpotCheck.enterprise_id))
    out: dict[int, list[dict]] = defaultdict(list)
    for check, name, code in rows:
        out[check.sample_id].append({
            "enterprise_id": check.enterprise_id, "enterprise_name": name, "credit_code": code,
            "reason": check.reason, "finding": check.finding,
            "finding_label": FINDINGS.get(check.finding), "note": check.note,
            "checked_by": check.checked_by, "checked_at": check.checked_at})
    return out


def sample_views(samples) -> list[dict]:
    """The views of ``samples`` (a page of them), their items read in one statement."""
    samples = list(samples)
    items = _check_items(SpotCheck.sample_id.in_([s.id for s in samples])) if samples else {}
    out = []
    for sample in samples:
        mine = items.get(sample.id, [])
        summary = {key: 0 for key in (*FINDINGS, "unchecked")}
        for item in mine:
            summary[item["finding"] or "unchecked"] += 1
        out.append({**{f: getattr(sample, f) for f in SAMPLE_FIELDS}, "size": len(mine),
                    "items": mine, "summary": summary})
    return out


def sample_view(sample: SpotCheckSample) -> dict:
    return sample_views([sample])[0]


def check_item(check: SpotCheck) -> dict:
    """One spot check as it stands in its sample's view."""
    return _check_items(SpotCheck.id == check.id)[check.sample_id][0]
