"""Importing existing certificates (达标证书) from a list as a city system exports it, on
the intake engine (``anjian.intake``): title rows, merged headers, 序号 and 合计 rows,
everyday column names, dates and levels as offices write them.

A row is a certificate: the enterprise's credit code, the certificate's number, its
issue date, its level (小微企业, 三级, 二级, 一级 and the ways lists write them) and,
if given, its expiry (else the issue date plus the scheme's validity,
``service.validity_years``) and whether the enterprise is a demonstration one. Columns
lists carry besides (企业名称, 所属板块, 行业, 地址, 评审单位, 备注) are recognised and
not imported (``INFORMATIONAL``): the registry is the enterprise's record.

The key. A certificate's number is its natural key: the engine takes a number given on
several rows from its first valid row (the same certificate listed twice). What the
platform stores is one certification per enterprise and scheme, so the run also takes
an enterprise's certificate of a scheme from its first valid row, and refuses a number
that another enterprise's (or another scheme's) record already holds. Keying the rows
by the credit code instead would refuse an enterprise's second certificate of another
scheme as a "duplicate".

Each valid row, against the tenant's records (``run_certificate_import``):

* the enterprise must be a live one of the registry, found by credit code
  ("企业不存在于企业台账：请先导入企业");
* the scheme must be one the tenant runs (its plugin's ``standardisation_rules``);
* the issue date may not be later than today, the expiry must follow the issue date;
* a delisted certification is never brought back by a list (the row is refused with
  the date and reason of the delisting): only the bureau's own steps change it;
* a list never replaces a newer certificate the platform holds with an older one;
* else the certification of (enterprise, scheme) is created as 达标 (applied and first
  achieved on the issue date), or updated: a new certificate (another number or issue
  date) makes it 达标 again, with what the enterprise is now as what it was certified
  as, and counts as a renewal when it follows a certificate in force; the same
  certificate keeps its state (期满换证, 复评). An empty 是否示范企业 cell leaves the flag.

A row that changes nothing counts as unchanged (a re-import changes nothing); each
created or updated certification gets an ``import`` event in its history, and the ORM's
audit hooks audit every row written. The caller commits; a dry run writes nothing and
counts what the import would do.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from anjian.context import Context
from anjian.enterprises.importing.cells import read_credit_code
from anjian.enterprises.importing.profiles import AREA, CORE_FIELDS
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.intake.cells import CellError, cell_text, halfwidth, read_code, read_date, read_text, read_yes_no
from anjian.intake.profile import Field, Profile
from anjian.intake.rows import Candidate, Reading, Rejection, shown
from anjian.intake.table import Table, open_table
from anjian.standardisation.models import SCHEMES, Certification, CertificationEvent
from anjian.standardisation.service import CERTIFIED_AS, VALID, add_years, rules, validity_years

PROFILE_KEY = "certificates"
TARGET = "standardisation.certificates"
EVENT = "import"  # the history event of a certification the import created or changed
CERTIFICATE_NO_MAX = 60  # Certification.certificate_no
PREVIEW = 200  # the changes a dry run lists
_CHUNK = 1000  # values per IN (...) lookup

# --------------------------------------------------------------------------- cells

# What lists write for a level, once 安全生产 / 标准化 / 达标 / 企业 and brackets are
# taken off ("安全生产标准化三级企业", "小微企业", "三级达标企业", "Ⅲ级"): the rest.
_SCHEME_WORDS = {
    "small_micro": ("小微", "小微型", "小型微型", "小微企业标准化"),
    "level3": ("三级", "3级", "ⅲ级", "iii级", "三", "3", "ⅲ", "iii"),
    "level2": ("二级", "2级", "ⅱ级", "ii级", "二", "2", "ⅱ", "ii"),
    "level1": ("一级", "1级", "ⅰ级", "i级", "一", "1", "ⅰ", "i"),
}
SCHEME_NAMES = {**{k: k for k in SCHEMES},
                **{word: key for key, words in _SCHEME_WORDS.items() for word in words}}
_SCHEME_NOISE = re.compile(r"安全生产|安全|标准化|达标|企业|[()（）\[\]【】〔〕]")
SCHEME_HINT = "须为 小微企业、三级、二级、一级 之一"


def read_scheme(value) -> str:
    """The scheme a level names: 小微企业 / 小微 / 小微企业标准化 → small_micro; 三级 /
    三级企业 / 安全生产标准化三级企业 / Ⅲ级 / 3级 → level3 (二级, 一级 alike)."""
    text = cell_text(value)
    key = halfwidth(text).replace(" ", "").lower()
    found = SCHEME_NAMES.get(key) or SCHEME_NAMES.get(_SCHEME_NOISE.sub("", key))
    if found is None:
        raise CellError(f"{SCHEME_HINT}，而不是「{text}」")
    return found


def read_certificate_no(value) -> str:
    """A certificate number as a code (half-width, upper case, no spaces), at most 60
    characters."""
    number = read_code(value)
    if len(number) > CERTIFICATE_NO_MAX:
        raise CellError(f"超过 {CERTIFICATE_NO_MAX} 个字符")
    return number


_DAY = r"[0-9]{4} ?(?:年 ?[0-9]{1,2} ?月 ?[0-9]{1,2} ?[日号]?|[./-] ?[0-9]{1,2} ?[./-] ?[0-9]{1,2}|[0-9]{4})"
_PERIOD = re.compile(rf"({_DAY}) ?(?:至|到|~|～|—|–|－|-{{1,2}}) ?({_DAY})")


def read_expiry(value) -> dt.date:
    """The expiry: a date as ``read_date`` reads it, or the end of a period written in
    one cell ("2018年6月1日至2021年5月31日", "2018.6.1-2021.5.31")."""
    try:
        return read_date(value)
    except CellError:
        period = _PERIOD.fullmatch(halfwidth(cell_text(value))) if isinstance(value, str) else None
        if period is None:
            raise
        read_date(period[1])  # the start must be a date too
        return read_date(period[2])


# --------------------------------------------------------------------------- the profile

# Columns recognised so that a list imports without a mapping, and not imported.
INFORMATIONAL = ("name", "district", "industry", "address", "organisation", "note")


def _names(name: str) -> tuple[str, ...]:
    return CORE_FIELDS[name][1]


FIELDS = (
    Field("credit_code", "统一社会信用代码", read_credit_code, _names("credit_code"),
          required=True, remember=False),
    Field("certificate_no", "证书编号", read_certificate_no, (
        "证书号", "证书号码", "证书编码", "达标证书编号", "达标证书号", "标准化证书编号", "标准化证书号",
        "证书编号(号码)", "证书文号"), required=True, remember=False),
    Field("issued_on", "发证日期", read_date, (
        "颁证日期", "发证时间", "颁证时间", "颁发日期", "发放日期", "证书发证日期", "证书颁发日期",
        "取证日期", "取证时间", "达标日期", "达标时间", "发证日"), required=True),
    Field("expires_on", "有效期至", read_expiry, (
        "证书有效期", "证书有效期至", "有效期", "有效期限", "证书有效期限", "有效期止", "有效期截止",
        "有效截止日期", "截止日期", "到期日期", "到期日", "到期时间", "证书到期日期", "失效日期")),
    Field("scheme", "标准化等级", read_scheme, (
        "等级", "类别", "级别", "达标等级", "达标级别", "达标类别", "达标类型", "标准化级别", "标准化类别",
        "标准化类型", "标准化达标等级", "安全生产标准化等级", "安全生产标准化达标等级", "证书等级",
        "创建等级", "企业等级"), required=True, choices=("小微企业", "三级", "二级", "一级")),
    Field("demonstration", "是否示范企业", read_yes_no, (
        "示范企业", "是否示范", "示范", "是否为示范企业", "标准化示范企业", "是否标准化示范企业"),
          choices=("是", "否")),
    Field("name", "企业名称", read_text(200), _names("name"), remember=False),
    Field("district", "所属板块", read_text(100),
          tuple(a for a in (CORE_FIELDS[AREA][0], *_names(AREA)) if a != "所属板块")),
    Field("industry", "行业", read_text(100), _names("industry")),
    Field("address", "地址", read_text(300), _names("address"), remember=False),
    Field("organisation", "评审单位", read_text(200), (
        "评审机构", "评审组织单位", "评审机构名称", "第三方评审机构", "评审服务机构")),
    Field("note", "备注", read_text(2000), ("说明", "备注说明")),
)
CERTIFICATE_PROFILE = Profile(PROFILE_KEY, "安全生产标准化达标证书名单", TARGET, FIELDS,
                              key_field="certificate_no", noun="达标证书")


def certificate_profile() -> Profile:
    return CERTIFICATE_PROFILE


def describe_profile() -> dict:
    """The profile as the API shows it: every field's label and names, which are required,
    which are only recognised (``imported``: false)."""
    profile = certificate_profile()
    return {"key": profile.key, "title": profile.title, "key_field": profile.key_field,
            "fields": [{"name": f.name, "label": f.label, "aliases": list(f.aliases), "required": f.required,
                        "imported": f.name not in INFORMATIONAL, "choices": list(f.choices)}
                       for f in profile.fields]}


def open_certificate_list(data: bytes, *, sheet: str | None = None,
                          mapping: Mapping[str, str] | None = None) -> tuple[Profile, Table]:
    """The profile and the table found in the file (ImportFileError when there is none,
    or when no row follows its header)."""
    profile = certificate_profile()
    table = open_table(data, profile, sheet=sheet, mapping=mapping)
    return profile, table


# --------------------------------------------------------------------------- the run


@dataclass
class CertificateOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    expired: int = 0  # certificates imported (or kept) whose expiry has passed
    changes: list[dict] = field(default_factory=list)  # a dry run's, the first PREVIEW


@dataclass
class _Known:
    """The tenant's records the rows are compared with."""

    enterprises: dict[str, Enterprise]  # live, by credit code
    certifications: dict[tuple[int, str], Certification]  # by (enterprise, scheme)
    holders: dict[str, tuple[int, str, str]]  # certificate no → (enterprise, scheme, credit code)
    schemes: tuple[str, ...] = tuple(SCHEMES)  # the schemes the tenant runs


def _chunks(values: Iterable, size: int = _CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _known(rows: list[Candidate]) -> _Known:
    """The live enterprises of the rows' codes, their certifications, and the stored
    certifications holding the rows' numbers: one lookup per thousand values."""
    enterprises: dict[str, Enterprise] = {}
    for codes in _chunks({c.values["credit_code"] for c in rows}):
        for e in db.session.scalars(select(Enterprise).where(Enterprise.credit_code.in_(codes),
                                                             Enterprise.deleted_at.is_(None))):
            enterprises[e.credit_code] = e
    certifications: dict[tuple[int, str], Certification] = {}
    for ids in _chunks(e.id for e in enterprises.values()):
        for c in db.session.scalars(select(Certification).where(Certification.enterprise_id.in_(ids))):
            certifications[(c.enterprise_id, c.scheme)] = c
    holders: dict[str, tuple[int, str, str]] = {}
    for numbers in _chunks({c.values["certificate_no"] for c in rows}):
        for number, enterprise_id, scheme, code in db.session.execute(
                select(Certification.certificate_no, Certification.enterprise_id, Certification.scheme,
                       Enterprise.credit_code)
                .join(Enterprise, Enterprise.id == Certification.enterprise_id)
                .where(Certification.certificate_no.in_(numbers))):
            holders[number] = (enterprise_id, scheme, code)
    return _Known(enterprises, certifications, holders)


def _snapshot(enterprise: Enterprise) -> dict:
    return {key: getattr(enterprise, key) or "" for key in CERTIFIED_AS}


def _refusal(context: Context, known: _Known, values: dict, expires: dt.date,
             seen: dict[tuple[int, str], int]) -> tuple[str, str] | None:
    """Why a valid row may not be imported: (the field at fault, the reason), or None."""
    enterprise = known.enterprises.get(values["credit_code"])
    if enterprise is None:
        return "credit_code", "企业不存在于企业台账：请先导入企业"
    issued, scheme, number = values["issued_on"], values["scheme"], values["certificate_no"]
    label = SCHEMES[scheme]
    if scheme not in known.schemes:
        return "scheme", f"本单位不开展「{label}」标准化"
    if issued > context.today():
        return "issued_on", f"不能晚于今天（{issued.isoformat()}）"
    if expires <= issued:
        return "expires_on", f"须晚于发证日期（{expires.isoformat()} 不晚于 {issued.isoformat()}）"
    first = seen.get((enterprise.id, scheme))
    if first is not None:
        return "credit_code", f"该企业的「{label}」证书与第{first}行重复（已导入第{first}行）"
    holder = known.holders.get(number)
    if holder is not None and holder[:2] != (enterprise.id, scheme):
        return "certificate_no", (f"证书编号已登记在统一社会信用代码为 {holder[2]} 的企业的"
                                  f"「{SCHEMES[holder[1]]}」记录上")
    stored = known.certifications.get((enterprise.id, scheme))
    if stored is None:
        return None
    if stored.state == "delisted":
        when = f"于 {stored.delisted_on.isoformat()} " if stored.delisted_on else ""
        why = f"（{stored.delisting_reason}）" if stored.delisting_reason else ""
        return "scheme", f"该企业的「{label}」记录已{when}摘牌{why}，导入不恢复已摘牌的记录"
    if stored.state in VALID and stored.issued_on is not None and issued < stored.issued_on:
        return "issued_on", (f"系统中已有更新的证书（编号 {stored.certificate_no}，发证日期 "
                             f"{stored.issued_on.isoformat()}），名单中的证书较旧，未导入")
    return None


def _target(stored: Certification, enterprise: Enterprise, values: dict, expires: dt.date) -> dict:
    """What the import makes of a stored certification (the fields it sets)."""
    issued = values["issued_on"]
    same = (stored.state in VALID and stored.certificate_no == values["certificate_no"]
            and stored.issued_on == issued)
    target: dict = {"certificate_no": values["certificate_no"], "issued_on": issued}
    if not same or "expires_on" in values:  # an empty expiry leaves the same certificate's as it is
        target["expires_on"] = expires
    if not same:  # a new certificate: 达标 again, as _achieve makes it
        target.update(state="achieved", first_achieved_on=stored.first_achieved_on or issued,
                      certified_as=_snapshot(enterprise), rereview_reason="", delisting_recommended=False,
                      exempt_reason="")
        if stored.state in VALID and stored.issued_on is not None:  # follows a certificate in force
            target.update(renewals=stored.renewals + 1, renewed_on=issued)
    if "demonstration" in values:
        target["demonstration"] = values["demonstration"]
    return {k: v for k, v in target.items() if getattr(stored, k) != v}


def _change(row: int, values: dict, action: str, diff: dict) -> dict:
    return {"row": row, "credit_code": values["credit_code"], "scheme": values["scheme"], "action": action,
            "changes": {k: {"from": None if old is None else shown(old), "to": shown(new)}
                        for k, (old, new) in diff.items() if k != "certified_as"}}


def run_certificate_import(context: Context, reading: Reading, dry_run: bool, *,
                           source: str | None = None, preview: int = PREVIEW) -> CertificateOutcome:
    """Create or update the certification of each valid row (see the module's doc); the
    rows refused here join ``reading.rejections``. ``source`` (the file's name) goes into
    each history event. Nothing is written in a dry run; else the caller commits."""
    outcome = CertificateOutcome()
    rows = list(reading.candidates())  # a list of certificates: thousands of rows at most
    known = _known(rows)
    known.schemes = tuple(rules(context).schemes)
    headers = {c.field: c.header for c in reading.table.columns}
    today = context.today()
    seen: dict[tuple[int, str], int] = {}
    created: list[tuple[Certification, Candidate]] = []
    events: list[CertificationEvent] = []
    for cand in rows:
        values = cand.values
        scheme = values["scheme"]
        expires = values.get("expires_on") or add_years(values["issued_on"], validity_years(context, scheme))
        refused = _refusal(context, known, values, expires, seen)
        if refused is not None:
            name, reason = refused
            header = headers.get(name, "")
            reading.rejections.append(Rejection(cand.row, header, f"{header}：{reason}" if header else reason, []))
            continue
        enterprise = known.enterprises[values["credit_code"]]
        seen[(enterprise.id, scheme)] = cand.row
        stored = known.certifications.get((enterprise.id, scheme))
        target = _target(stored, enterprise, values, expires) if stored is not None else {}
        if (target.get("expires_on") or (stored.expires_on if stored is not None else None) or expires) < today:
            outcome.expired += 1
        if stored is None:
            outcome.created += 1
            new = {"state": "achieved", "applied_on": values["issued_on"],
                   "certificate_no": values["certificate_no"], "issued_on": values["issued_on"],
                   "expires_on": expires, "first_achieved_on": values["issued_on"],
                   "demonstration": values.get("demonstration", False)}
            if dry_run:
                if len(outcome.changes) < preview:
                    outcome.changes.append(_change(cand.row, values, "created",
                                                   {k: (None, v) for k, v in new.items()}))
                continue
            certification = Certification(enterprise_id=enterprise.id, scheme=scheme,
                                          certified_as=_snapshot(enterprise), **new)
            created.append((certification, cand))
            continue
        if not target:
            outcome.unchanged += 1
            continue
        outcome.updated += 1
        if dry_run:
            if len(outcome.changes) < preview:
                outcome.changes.append(_change(cand.row, values, "updated",
                                               {k: (getattr(stored, k), v) for k, v in target.items()}))
            continue
        from_state = stored.state
        for name, value in target.items():
            setattr(stored, name, value)
        events.append(_event(context, stored, from_state, cand, source, sorted(target), today))
    if dry_run or not (created or events):
        return outcome
    db.session.add_all(c for c, _cand in created)
    db.session.flush()  # the new certifications' ids, for their events
    events += [_event(context, c, None, cand, source, [], today) for c, cand in created]
    db.session.add_all(events)
    db.session.flush()
    return outcome


def _event(context: Context, certification: Certification, from_state: str | None, cand: Candidate,
           source: str | None, changed: list[str], today: dt.date) -> CertificationEvent:
    """The history event of a certification the import created (``changed`` empty) or changed."""
    new_certificate = from_state is None or "issued_on" in changed or "certificate_no" in changed
    where = f"{source}第{cand.row}行" if source else f"第{cand.row}行"
    return CertificationEvent(
        certification_id=certification.id, action=EVENT, from_state=from_state, to_state=certification.state,
        on=certification.issued_on if new_certificate else today, actor_user_id=context.user_id,
        note=f"按达标证书名单导入（{where}）",
        data={"certificate_no": certification.certificate_no, "issued_on": certification.issued_on.isoformat(),
              "expires_on": certification.expires_on.isoformat(), "row": cand.row,
              **({"changed": [c for c in changed if c != "certified_as"]} if changed else {})})


__all__ = ["CERTIFICATE_PROFILE", "INFORMATIONAL", "CertificateOutcome", "certificate_profile",
           "describe_profile", "open_certificate_list", "read_certificate_no", "read_expiry", "read_scheme",
           "run_certificate_import"]
