"""The core's safety standardisation report kinds (安全生产标准化报表), as .xlsx, PDF or JSON:

* ``standardisation_progress`` 标准化目标进度（按板块）: the programme's figures of a year
  per 板块 and city-wide against the targets (``standardisation.progress.progress``),
  the figures below a target in red and named in a 未达标指标 column; the key
  industries' own figures on a second sheet;
* ``standardisation_renewals_due`` 期满换证企业名单: certificates in force expiring by
  a date, with what would bar their renewal today (``service.blockers``);
* ``standardisation_exemptions`` 暂不创建企业名单: certifications set aside (暂不创建), with
  the reason and the date;
* ``standardisation_delisting`` 摘牌名单: certifications delisted in a period, and those a
  look-back or audit recommended for delisting that await the bureau (second sheet);
* ``standardisation_achieved_public`` 达标企业公布名单: the certificates in force, for
  publication (no phone numbers, no scores).

Registered from ``anjian.plugins.defaults`` like ``campaign_progress``. Each list reads its
rows in one statement (certifications joined to their enterprises; deleted enterprises
left out); the 板块 of an enterprise is the top-level area above its area
(``progress.sectors``), "未划分板块" without one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import marshmallow as ma
from sqlalchemy import func, select

from anjian.clock import local_now
from anjian.context import Context
from anjian.enterprises.models import FLAGS, Enterprise
from anjian.extensions import db
from anjian.reports.pdf import escape, table
from anjian.standardisation import service
from anjian.standardisation.models import (
    CHECK_KINDS,
    METRICS,
    SCHEMES,
    STATES,
    Certification,
    CertificationEvent,
    Check,
)
from anjian.standardisation.progress import NO_AREA, progress, sectors

TOTAL = "合计"
# The progress figures, in the order of the table: (key, label, "count" or "ratio"); a
# figure that is a programme metric (``METRICS``) has a target column beside it.
FIGURES = [
    ("achieved_total", "达标企业数", "count"),
    ("small_micro", "小微企业数", "count"),
    ("achieved_ratio", "达标率", "ratio"),
    ("key_industry_ratio", "重点行业达标率", "ratio"),
    ("renewed_total", "期满换证数", "count"),
    ("due_total", "到期企业数", "count"),
    ("renewed_ratio_of_due", "换证率", "ratio"),
    ("demonstration", "示范企业数", "count"),
    ("lookbacks", "“回头看”数", "count"),
    ("key_industry_lookbacks", "重点行业“回头看”数", "count"),
    ("delisted", "摘牌数", "count"),
    ("delisting_ratio", "摘牌率", "ratio"),
]
LABELS = {key: label for key, label, _kind in FIGURES}
SPLIT = 7  # the PDF's two tables: 达标与换证, then 示范、“回头看”与摘牌
PROGRESS_NOTE = ("注：达标率 = 达标企业数 ÷ 小微企业数；换证率 = 期满换证数 ÷ 到期企业数（当年已换证与证书"
                 "在有效期内、截止日前到期之和）；摘牌率 = 摘牌数 ÷（期满换证数 +“回头看”数）。各项目标均为"
                 "下限；板块的比例目标沿用全市目标，数量目标为分解到板块的目标（未分解则空白）。"
                 "红色为低于目标的指标。")
LANDSCAPE = ("<style>@page { size: A4 landscape; } table { font-size: 9pt; } "
             "table.list { table-layout: fixed; } table.list th, table.list td { padding: 1mm 1.2mm; } "
             "td.date { text-align: center; white-space: nowrap; }</style>")
RED = ("<style>table.progress { table-layout: fixed; } tr.total td { background: #f2f2f2; } "
       "td.below, tr.total td.below { background: #ffc7ce; color: #9c0006; }</style>")


# --------------------------------------------------------------------------- parameters


class ProgressParams(ma.Schema):
    year = ma.fields.Integer(required=True, strict=True,
                             validate=ma.validate.Range(min=2000, max=2100, error="年度须在 2000 到 2100 之间"),
                             metadata={"title": "年度", "description": "目标所属年度，例如 2019"})
    by = ma.fields.Date(metadata={"title": "统计截止日期",
                                  "description": "默认为该年度目标的完成期限（未规定则为 12 月 31 日）"})

    @ma.validates_schema
    def _by_in_year(self, data, **_kwargs):
        if data.get("by") and data.get("year") and data["by"] < dt.date(data["year"], 1, 1):
            raise ma.ValidationError("统计截止日期不能早于该年度 1 月 1 日", "by")


class RenewalsDueParams(ma.Schema):
    due_by = ma.fields.Date(metadata={"title": "到期日截至",
                                      "description": "列出证书在此日期前（含）到期的企业，默认为当年 12 月 31 日"})


class NoParams(ma.Schema):
    pass


class DelistingParams(ma.Schema):
    date_from = ma.fields.Date(data_key="from", metadata={"title": "起始日期", "description": "默认为当年 1 月 1 日"})
    date_to = ma.fields.Date(data_key="to", metadata={"title": "截止日期", "description": "默认为当年 12 月 31 日"})

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ma.ValidationError("起始日期不能晚于截止日期", "from")


class PublicParams(ma.Schema):
    scheme = ma.fields.String(validate=ma.validate.OneOf(list(SCHEMES), error="须为以下之一：" + "、".join(SCHEMES)),
                              metadata={"title": "标准化类别",
                                        "description": "只列该类别（small_micro、level3、level2、level1），默认全部"})


# --------------------------------------------------------------------------- shared


def _context(tenant) -> Context:
    return Context.for_system(tenant)


def _today(snapshot_at: dt.datetime) -> dt.date:
    return local_now(snapshot_at).date()


def _stamp(iso: str) -> str:
    return local_now(dt.datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")


def _sector_of(context: Context):
    """A function: an enterprise's area id → (order, name) of its 板块 (last: 未划分板块)."""
    heads, top = sectors(context)
    order = {head.id: (n, head.name) for n, head in enumerate(heads)}
    missing = (len(heads), NO_AREA)
    return lambda area_id: order.get(top.get(area_id), missing) if area_id is not None else missing


def _base(certification: Certification, enterprise: Enterprise, sector: tuple[int, str]) -> dict:
    return {"certification_id": certification.id, "enterprise_id": enterprise.id, "name": enterprise.name,
            "credit_code": enterprise.credit_code, "sector": sector[1], "sector_order": sector[0],
            "scheme": certification.scheme, "scheme_label": SCHEMES.get(certification.scheme, certification.scheme),
            "certificate_no": certification.certificate_no, "issued_on": certification.issued_on,
            "expires_on": certification.expires_on, "state": certification.state,
            "state_label": STATES.get(certification.state, certification.state)}


def _rows(*where, columns=(), outer=()):
    """(certification, enterprise, *columns) of the live enterprises' certifications."""
    stmt = (select(Certification, Enterprise, *columns)
            .join(Enterprise, Enterprise.id == Certification.enterprise_id)
            .where(Enterprise.deleted_at.is_(None), *where))
    for target, on in outer:
        stmt = stmt.outerjoin(target, on)
    return db.session.execute(stmt.order_by(Certification.id)).all()


def _numbered(rows: list[dict], key) -> list[dict]:
    rows.sort(key=key)
    for n, row in enumerate(rows, 1):
        row["no"] = n
    return rows


def _head(tenant, title: str, snapshot_at, **more) -> dict:
    return {"title": title, "tenant": tenant.name, "snapshot_at": snapshot_at, **more}


def _meta(data, *parts: str) -> str:
    return "　　".join([f"单位：{data['tenant']}", *parts,
                       f"数据时间：{_stamp(data['snapshot_at'])}（北京时间）"])


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: float  # in the sheet (characters)
    kind: str = "text"  # text, date, number
    mm: float = 20  # in the PDF (millimetres on A4 landscape, in proportion)


NO = Column("no", "序号", 6, "number", 12)
NAME = Column("name", "企业名称", 34, mm=44)
CODE = Column("credit_code", "统一社会信用代码", 22, mm=42)
SECTOR = Column("sector", "板块", 16, mm=20)
SCHEME = Column("scheme_label", "标准化类别", 16, mm=31)
CERT_NO = Column("certificate_no", "证书编号", 20, mm=34)
ISSUED = Column("issued_on", "发证日期", 12, "date", 22)
EXPIRES = Column("expires_on", "有效期至", 12, "date", 22)
STATE = Column("state_label", "状态", 10, mm=20)


class _Formats:
    """The workbook's formats, made once per workbook."""

    def __init__(self, workbook):
        add = workbook.add_format
        self.title = add({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
        self.meta = add({"align": "left", "valign": "vcenter", "font_size": 10})
        self.note = add({"align": "left", "valign": "top", "font_size": 9, "text_wrap": True})
        self.head = add({"bold": True, "border": 1, "align": "center", "valign": "vcenter",
                         "text_wrap": True, "bg_color": "#DDEBF7"})
        self.text = add({"border": 1, "valign": "vcenter", "text_wrap": True})
        self.center = add({"border": 1, "align": "center", "valign": "vcenter"})
        self.date = add({"border": 1, "align": "center", "valign": "vcenter", "num_format": "yyyy-mm-dd"})
        self.empty = add({"border": 1, "align": "center", "valign": "vcenter", "italic": True,
                          "font_color": "#666666"})
        self._figures: dict = {}
        self._add = add

    def figure(self, kind: str, *, below: bool = False, total: bool = False, target: bool = False):
        """The format of a progress figure: count or ratio (percent), red when below target,
        bold on the total row, grey for a target."""
        key = (kind, below, total, target)
        if key not in self._figures:
            spec = {"border": 1, "align": "right", "valign": "vcenter"}
            if kind == "ratio":
                spec["num_format"] = "0.00%"
            elif kind == "count":
                spec["num_format"] = "0"
            else:
                spec["align"] = "left" if kind == "text" else "center"
                spec["text_wrap"] = True
            if target:
                spec["font_color"] = "#555555"
            if total:
                spec.update({"bold": True, "bg_color": "#F2F2F2"})
            if below:
                spec.update({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
            self._figures[key] = self._add(spec)
        return self._figures[key]


def _print_setup(sheet, last_row: int, last_col: int, header_rows: tuple[int, int]) -> None:
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.center_horizontally()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(*header_rows)
    sheet.print_area(0, 0, max(last_row, header_rows[1]), last_col)
    sheet.set_footer("&C第 &P 页，共 &N 页")


def _list_sheet(workbook, fmt: _Formats, name: str, title: str, meta: str, columns: list[Column],
                rows: list[dict], empty: str = "（无）") -> None:
    """A titled list: the title and the meta line over the header row (row 3), then one
    row per entry; dates as dates; frozen below the header, with an autofilter."""
    sheet = workbook.add_worksheet(name)
    last = len(columns) - 1
    for col, column in enumerate(columns):
        sheet.set_column(col, col, column.width)
    sheet.set_row(0, 30)
    sheet.merge_range(0, 0, 0, last, title, fmt.title)
    sheet.merge_range(1, 0, 1, last, meta, fmt.meta)
    for col, column in enumerate(columns):
        sheet.write_string(2, col, column.label, fmt.head)
    sheet.freeze_panes(3, 0)
    if not rows:
        sheet.merge_range(3, 0, 3, last, empty, fmt.empty)
    for n, row in enumerate(rows, 3):
        for col, column in enumerate(columns):
            value = row.get(column.key)
            if value is None or value == "":
                sheet.write_blank(n, col, None, fmt.text)
            elif column.kind == "date":
                sheet.write_datetime(n, col, dt.datetime.fromisoformat(str(value)), fmt.date)
            elif column.kind == "number":
                sheet.write_number(n, col, value, fmt.center)
            else:
                sheet.write_string(n, col, str(value), fmt.text)
    if rows:
        sheet.autofilter(2, 0, 2 + len(rows), last)
    _print_setup(sheet, 2 + max(len(rows), 1), last, (2, 2))


def _list_html(columns: list[Column], rows: list[dict], empty: str = "（无）") -> str:
    """An escaped list table, its columns as wide as the sheet's (in proportion), fixed."""
    if not rows:
        return f"<p>{escape(empty)}</p>"
    total = sum(c.mm for c in columns)
    cols = "".join(f'<col style="width: {c.mm * 100 / total:.1f}%">' for c in columns)
    head = "".join(f"<th>{escape(c.label)}</th>" for c in columns)
    css = {"number": ' class="num"', "date": ' class="date"'}
    body = "".join("<tr>" + "".join(f"<td{css.get(c.kind, '')}>{escape(row.get(c.key))}</td>" for c in columns)
                   + "</tr>" for row in rows)
    return (f'<table class="list"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _page(title: str, meta: str, *parts: str) -> str:
    """A PDF body (A4 landscape): the title, the meta line, then ``parts`` (HTML, escaped)."""
    return "".join([LANDSCAPE, f"<h1>{escape(title)}</h1>",
                    f'<p class="meta">{escape(meta)}</p>', *parts])


def _count(rows: list[dict]) -> str:
    return f"共 {len(rows)} 家"


# --------------------------------------------------------------------------- 标准化目标进度


def progress_compute(tenant, params, snapshot_at):
    """The programme's figures of ``year`` (up to ``by``) per 板块 and the total, each with
    its targets, the metrics below them and their labels."""
    year = params["year"]
    found = progress(_context(tenant), year, params.get("by"))
    rows = []
    for entry, total in [*((area, False) for area in found["areas"]), (found["city"], True)]:
        rows.append({**entry, "name": TOTAL if total else entry["name"], "total": total,
                     "below_labels": [LABELS.get(m, METRICS.get(m, (m,))[0]) for m in entry["below"]]})
    return _head(tenant, f"{year}年安全生产标准化目标进度（按板块）", snapshot_at, year=year, by=found["by"],
                 key_industries=[{"flag": f, "label": FLAGS.get(f, f)} for f in found["key_industries"]],
                 rows=rows)


def _progress_meta(data) -> str:
    return _meta(data, f"年度：{data['year']}", f"统计截止：{data['by']}")


def _figure_columns(figures) -> list[tuple[str, str, str, bool]]:
    """(key, label, kind, has a target column) of ``figures``."""
    return [(key, label, kind, key in METRICS) for key, label, kind in figures]


def _below(row, key: str) -> bool:
    return key in row["below"]


def progress_xlsx(data, workbook):
    """Sheet 标准化目标进度: one row per 板块 and the total; a two-row header (each figure,
    and 实际/目标 under a figure with a target); cells below target in red; the last
    column names the metrics below target. Sheet 重点行业达标: each key industry per 板块."""
    fmt = _Formats(workbook)
    sheet = workbook.add_worksheet("标准化目标进度")
    columns = _figure_columns(FIGURES)
    width = 1 + sum(2 if target else 1 for *_rest, target in columns) + 1
    last = width - 1
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, last - 1, 10)
    sheet.set_column(last, last, 28)
    sheet.set_row(0, 30)
    sheet.merge_range(0, 0, 0, last, data["title"], fmt.title)
    sheet.merge_range(1, 0, 1, last, _progress_meta(data), fmt.meta)
    sheet.merge_range(2, 0, 3, 0, "板块", fmt.head)
    sheet.set_row(2, 32)
    col = 1
    places = {}
    for key, label, _kind, target in columns:
        places[key] = col
        if target:
            sheet.merge_range(2, col, 2, col + 1, label, fmt.head)
            sheet.write_string(3, col, "实际", fmt.head)
            sheet.write_string(3, col + 1, "目标", fmt.head)
            col += 2
        else:
            sheet.merge_range(2, col, 3, col, label, fmt.head)
            col += 1
    sheet.merge_range(2, last, 3, last, "未达标指标", fmt.head)
    sheet.freeze_panes(4, 1)
    for n, row in enumerate(data["rows"], 4):
        total = row["total"]
        sheet.write_string(n, 0, row["name"], fmt.figure("text", total=total))
        for key, _label, kind, target in columns:
            col = places[key]
            value = row.get(key)
            cell = fmt.figure(kind, below=_below(row, key), total=total)
            if value is None:
                sheet.write_string(n, col, "—", fmt.figure("dash", below=_below(row, key), total=total))
            else:
                sheet.write_number(n, col, value, cell)
            if target:
                goal = row["targets"].get(key)
                goal_format = fmt.figure(kind, total=total, target=True)
                if goal is None:
                    sheet.write_blank(n, col + 1, None, goal_format)
                else:
                    sheet.write_number(n, col + 1, goal, goal_format)
        sheet.write_string(n, last, "、".join(row["below_labels"]),
                           fmt.figure("text", below=bool(row["below_labels"]), total=total))
    end = 4 + len(data["rows"])
    sheet.merge_range(end + 1, 0, end + 1, last, PROGRESS_NOTE, fmt.note)
    sheet.set_row(end + 1, 30)
    _print_setup(sheet, end + 1, last, (2, 3))
    if data["key_industries"]:
        _key_industries_sheet(workbook, fmt, data)


def _key_industry(row, flag: str) -> dict:
    for item in row.get("key_industries") or ():
        if item["flag"] == flag:
            return item
    return {"total": 0, "achieved": 0, "ratio": None}


def _key_industries_sheet(workbook, fmt: _Formats, data) -> None:
    sheet = workbook.add_worksheet("重点行业达标")
    industries = data["key_industries"]
    last = 3 * len(industries)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, last, 10)
    sheet.set_row(0, 30)
    sheet.merge_range(0, 0, 0, last, f"{data['year']}年重点行业安全生产标准化达标情况（按板块）", fmt.title)
    sheet.merge_range(1, 0, 1, last, _progress_meta(data), fmt.meta)
    sheet.merge_range(2, 0, 3, 0, "板块", fmt.head)
    for n, industry in enumerate(industries):
        col = 1 + 3 * n
        sheet.merge_range(2, col, 2, col + 2, industry["label"], fmt.head)
        for k, text in enumerate(("企业数", "达标数", "达标率")):
            sheet.write_string(3, col + k, text, fmt.head)
    sheet.freeze_panes(4, 1)
    for r, row in enumerate(data["rows"], 4):
        total = row["total"]
        goal = row["targets"].get("key_industry_ratio")
        sheet.write_string(r, 0, row["name"], fmt.figure("text", total=total))
        for n, industry in enumerate(industries):
            col = 1 + 3 * n
            item = _key_industry(row, industry["flag"])
            sheet.write_number(r, col, item["total"], fmt.figure("count", total=total))
            sheet.write_number(r, col + 1, item["achieved"], fmt.figure("count", total=total))
            below = item["ratio"] is not None and goal is not None and item["ratio"] < goal
            if item["ratio"] is None:
                sheet.write_string(r, col + 2, "—", fmt.figure("dash", total=total))
            else:
                sheet.write_number(r, col + 2, item["ratio"], fmt.figure("ratio", below=below, total=total))
    _print_setup(sheet, 3 + len(data["rows"]), last, (2, 3))


def _shown(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "ratio":
        return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _progress_table(rows, figures, with_below: bool) -> str:
    columns = _figure_columns(figures)
    top = ['<th rowspan="2">板块</th>']
    sub = []
    for _key, label, _kind, target in columns:
        if target:
            top.append(f'<th colspan="2">{escape(label)}</th>')
            sub.append("<th>实际</th><th>目标</th>")
        else:
            top.append(f'<th rowspan="2">{escape(label)}</th>')
    if with_below:
        top.append('<th rowspan="2">未达标指标</th>')
    body = []
    for row in rows:
        cells = [f"<td>{escape(row['name'])}</td>"]
        for key, _label, kind, target in columns:
            cls = "num below" if _below(row, key) else "num"
            cells.append(f'<td class="{cls}">{escape(_shown(row.get(key), kind))}</td>')
            if target:
                goal = row["targets"].get(key)
                cells.append(f'<td class="num">{escape(_shown(goal, kind) if goal is not None else "")}</td>')
        if with_below:
            labels = "、".join(row["below_labels"])
            cells.append(f'<td class="{"below" if labels else ""}">{escape(labels)}</td>')
        body.append(f'<tr class="{"total" if row["total"] else ""}">{"".join(cells)}</tr>')
    cells = sum(2 if target else 1 for *_rest, target in columns)
    share = (90 - (30 if with_below else 0)) / cells
    widths = ['<col style="width: 10%">', *[f'<col style="width: {share:.2f}%">'] * cells,
              *(['<col style="width: 30%">'] if with_below else [])]
    return (f'<table class="progress"><colgroup>{"".join(widths)}</colgroup>'
            f"<thead><tr>{''.join(top)}</tr><tr>{''.join(sub)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def progress_html(data):
    parts = [RED, "<h2>一、达标与期满换证</h2>", _progress_table(data["rows"], FIGURES[:SPLIT], False),
             "<h2>二、示范企业、“回头看”与摘牌</h2>", _progress_table(data["rows"], FIGURES[SPLIT:], True)]
    if data["key_industries"]:
        headers = ["板块"]
        for industry in data["key_industries"]:
            headers += [f"{industry['label']}企业数", "达标数", "达标率"]
        rows = []
        for row in data["rows"]:
            cells = [row["name"]]
            for industry in data["key_industries"]:
                item = _key_industry(row, industry["flag"])
                cells += [item["total"], item["achieved"], _shown(item["ratio"], "ratio")]
            rows.append(cells)
        parts += ["<h2>三、重点行业达标情况</h2>", table(headers, rows, numeric_from=1)]
    parts.append(f'<p class="meta">{escape(PROGRESS_NOTE)}</p>')
    return _page(data["title"], _progress_meta(data), *parts)


# --------------------------------------------------------------------------- 期满换证企业名单

RENEWAL_COLUMNS = [NO, NAME, CODE, SECTOR, SCHEME, CERT_NO, ISSUED, EXPIRES, STATE,
                   Column("blockers_text", "换证障碍", 50, mm=60)]


def renewals_due_compute(tenant, params, snapshot_at):
    """Certificates in force (达标, 期满换证, 复评) expiring by ``due_by``, soonest first,
    each with what would bar its renewal today (``service.blockers``, on the facts of every
    listed enterprise read at once)."""
    context = _context(tenant)
    today = _today(snapshot_at)
    due_by = params.get("due_by") or dt.date(today.year, 12, 31)
    sector = _sector_of(context)
    listed = _rows(Certification.state.in_(service.VALID), Certification.expires_on <= due_by)
    facts = service.renewal_facts([enterprise.id for _certification, enterprise in listed], today)
    rows = []
    for certification, enterprise in listed:
        row = _base(certification, enterprise, sector(enterprise.area_id))
        row["blockers"] = service.blockers(context, certification, enterprise, "renew", today, facts)
        row["blockers_text"] = "；".join(row["blockers"])
        rows.append(row)
    rows = _numbered(rows, lambda r: (r["expires_on"], r["sector_order"], r["name"], r["certification_id"]))
    return _head(tenant, f"期满换证企业名单（{due_by.isoformat()}前到期）", snapshot_at, due_by=due_by, on=today,
                 rows=rows, blocked=sum(1 for r in rows if r["blockers"]))


def _renewals_meta(data) -> str:
    return _meta(data, f"到期日截至：{data['due_by']}", f"{_count(data['rows'])}，其中有换证障碍 {data['blocked']} 家")


def renewals_due_xlsx(data, workbook):
    _list_sheet(workbook, _Formats(workbook), "期满换证企业名单", data["title"], _renewals_meta(data),
                RENEWAL_COLUMNS, data["rows"])


def renewals_due_html(data):
    return _page(data["title"], _renewals_meta(data), _list_html(RENEWAL_COLUMNS, data["rows"]))


# --------------------------------------------------------------------------- 暂不创建企业名单

EXEMPT_COLUMNS = [NO, NAME, CODE, SECTOR, SCHEME, Column("applied_on", "申报日期", 12, "date", 22),
                  Column("exempt_on", "暂不创建日期", 14, "date", 24),
                  Column("exempt_reason", "暂不创建原因", 50, mm=80)]


def exemptions_compute(tenant, params, snapshot_at):
    """Certifications in state 暂不创建, with the reason and the date of the step."""
    sector = _sector_of(_context(tenant))
    exempted = (select(CertificationEvent.certification_id, func.max(CertificationEvent.on).label("on"))
                .where(CertificationEvent.action == "exempt")
                .group_by(CertificationEvent.certification_id).subquery())
    rows = []
    for certification, enterprise, on in _rows(
            Certification.state == "exempt", columns=(exempted.c.on,),
            outer=[(exempted, exempted.c.certification_id == Certification.id)]):
        row = _base(certification, enterprise, sector(enterprise.area_id))
        row.update(applied_on=certification.applied_on, exempt_on=on, exempt_reason=certification.exempt_reason)
        rows.append(row)
    rows = _numbered(rows, lambda r: (r["sector_order"], r["name"], r["certification_id"]))
    return _head(tenant, "暂不创建安全生产标准化企业名单", snapshot_at, rows=rows)


def exemptions_xlsx(data, workbook):
    _list_sheet(workbook, _Formats(workbook), "暂不创建企业名单", data["title"],
                _meta(data, _count(data["rows"])), EXEMPT_COLUMNS, data["rows"])


def exemptions_html(data):
    return _page(data["title"], _meta(data, _count(data["rows"])), _list_html(EXEMPT_COLUMNS, data["rows"]))


# --------------------------------------------------------------------------- 摘牌名单

DELISTED_COLUMNS = [NO, NAME, CODE, SECTOR, SCHEME, CERT_NO, Column("delisted_on", "摘牌日期", 12, "date", 22),
                    Column("delisting_reason", "摘牌原因", 50, mm=70)]
RECOMMENDED_COLUMNS = [NO, NAME, CODE, SECTOR, SCHEME, CERT_NO, EXPIRES, STATE,
                       Column("recommended_on", "建议摘牌日期", 14, "date", 24),
                       Column("check_label", "检查类型", 12, mm=18), Column("findings", "检查发现", 44, mm=50)]
RECOMMENDED_TITLE = "建议摘牌企业名单（“回头看”或运行质量审计建议摘牌，待主管部门决定）"


def delisting_compute(tenant, params, snapshot_at):
    """Certifications delisted in the period (default: this year), and those in force a
    look-back or audit recommended for delisting (the latest recommending check)."""
    sector = _sector_of(_context(tenant))
    today = _today(snapshot_at)
    since = params.get("date_from") or dt.date(today.year, 1, 1)
    until = params.get("date_to") or dt.date(today.year, 12, 31)
    delisted = []
    for certification, enterprise in _rows(Certification.delisted_on >= since, Certification.delisted_on <= until):
        row = _base(certification, enterprise, sector(enterprise.area_id))
        row.update(delisted_on=certification.delisted_on, delisting_reason=certification.delisting_reason)
        delisted.append(row)
    ranked = (select(Check.certification_id, Check.checked_on, Check.kind, Check.findings,
                     func.row_number().over(partition_by=Check.certification_id,
                                            order_by=(Check.checked_on.desc(), Check.id.desc())).label("n"))
              .where(Check.conclusion == "recommend_delisting").subquery())
    recommended = []
    for certification, enterprise, on, kind, findings in _rows(
            Certification.delisting_recommended.is_(True), Certification.state.in_(service.VALID),
            columns=(ranked.c.checked_on, ranked.c.kind, ranked.c.findings),
            outer=[(ranked, (ranked.c.certification_id == Certification.id) & (ranked.c.n == 1))]):
        row = _base(certification, enterprise, sector(enterprise.area_id))
        row.update(recommended_on=on, check_kind=kind, check_label=CHECK_KINDS.get(kind, kind) if kind else None,
                   findings=findings)
        recommended.append(row)
    delisted = _numbered(delisted, lambda r: (r["delisted_on"], r["sector_order"], r["name"], r["certification_id"]))
    recommended = _numbered(recommended, lambda r: (r["sector_order"], r["name"], r["certification_id"]))
    return _head(tenant, f"安全生产标准化摘牌名单（{since.isoformat()}至{until.isoformat()}）", snapshot_at,
                 date_from=since, date_to=until, delisted=delisted, recommended=recommended)


def _delisting_meta(data) -> str:
    return _meta(data, f"期间：{data['date_from']} 至 {data['date_to']}",
                 f"摘牌 {len(data['delisted'])} 家，建议摘牌待决定 {len(data['recommended'])} 家")


def delisting_xlsx(data, workbook):
    fmt = _Formats(workbook)
    meta = _delisting_meta(data)
    _list_sheet(workbook, fmt, "摘牌名单", data["title"], meta, DELISTED_COLUMNS, data["delisted"])
    _list_sheet(workbook, fmt, "建议摘牌名单", RECOMMENDED_TITLE, meta, RECOMMENDED_COLUMNS, data["recommended"])


def delisting_html(data):
    return _page(data["title"], _delisting_meta(data),
                 "<h2>一、已摘牌企业</h2>", _list_html(DELISTED_COLUMNS, data["delisted"]),
                 f"<h2>二、{escape(RECOMMENDED_TITLE)}</h2>", _list_html(RECOMMENDED_COLUMNS, data["recommended"]))


# --------------------------------------------------------------------------- 达标企业公布名单

PUBLIC_COLUMNS = [NO, NAME, CODE, SECTOR, Column("scheme_label", "标准化等级（类别）", 18, mm=30), CERT_NO,
                  Column("validity", "证书有效期", 26, mm=48)]


def achieved_public_compute(tenant, params, snapshot_at):
    """The certificates in force (达标, 期满换证, 复评), by 板块: what may be published of
    them (name, credit code, 板块, scheme, certificate number, validity), nothing else."""
    sector = _sector_of(_context(tenant))
    where = [Certification.state.in_(service.VALID)]
    if params.get("scheme"):
        where.append(Certification.scheme == params["scheme"])
    rows = []
    for certification, enterprise in _rows(*where):
        base = _base(certification, enterprise, sector(enterprise.area_id))
        issued, expires = (d.isoformat() if d else "" for d in (certification.issued_on, certification.expires_on))
        rows.append({key: base[key] for key in ("name", "credit_code", "sector", "sector_order", "scheme",
                                                "scheme_label", "certificate_no", "issued_on", "expires_on")}
                    | {"validity": f"{issued} 至 {expires}"})
    rows = _numbered(rows, lambda r: (r["sector_order"], list(SCHEMES).index(r["scheme"]), r["name"],
                                      r["certificate_no"] or ""))
    scheme = f"（{SCHEMES[params['scheme']]}）" if params.get("scheme") else ""
    on = _today(snapshot_at)
    return _head(tenant, f"安全生产标准化达标企业名单{scheme}", snapshot_at, on=on, scheme=params.get("scheme"),
                 rows=rows)


def _public_meta(data) -> str:
    return _meta(data, f"截至：{data['on']}", _count(data["rows"]))


def achieved_public_xlsx(data, workbook):
    _list_sheet(workbook, _Formats(workbook), "达标企业名单", data["title"], _public_meta(data),
                PUBLIC_COLUMNS, data["rows"])


def achieved_public_html(data):
    return _page(data["title"], _public_meta(data), _list_html(PUBLIC_COLUMNS, data["rows"]))
