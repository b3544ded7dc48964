"""PDF reports: a kind's HTML body, wrapped with a CJK font and page furniture, through weasyprint.

The font is WenQuanYi Micro Hei (文泉驿微米黑, Debian ``fonts-wqy-microhei``,
installed by ``scripts/ensure-services.sh``): it renders a small Chinese page in
about a second, where Noto CJK spends seconds per face on subsetting. The
family is set on the body *and* on every ``@page`` margin box (weasyprint's
margin boxes do not inherit it and would fall back to another face). Without
the font the glyphs would silently become boxes, so rendering refuses instead.

A kind's ``html(data)`` returns the body only (no ``<html>``/``<head>``); it
must escape what it interpolates (``html.escape`` or ``table`` below). Nothing
is fetched while rendering: links to files or URLs fail; ``data:`` URIs work.
"""

from __future__ import annotations

import html as html_lib
import shutil
import subprocess
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

FONT_FAMILY = "WenQuanYi Micro Hei"
FONT_PACKAGE = "fonts-wqy-microhei"
FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",)

BASE_CSS = """
@page {
  size: A4;
  margin: 18mm 15mm 18mm 15mm;
  @top-left { content: %(title)s; font-family: %(font)s; font-size: 9pt; color: #555; }
  @top-right { content: %(tenant)s; font-family: %(font)s; font-size: 9pt; color: #555; }
  @bottom-left { content: %(footer)s; font-family: %(font)s; font-size: 8pt; color: #555; }
  @bottom-right { content: "第 " counter(page) " 页，共 " counter(pages) " 页";
                  font-family: %(font)s; font-size: 8pt; color: #555; }
}
html, body { font-family: %(font)s, sans-serif; font-size: 10.5pt; line-height: 1.5; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 4mm; }
h2 { font-size: 12pt; margin: 5mm 0 2mm; }
table { border-collapse: collapse; width: 100%%; margin: 2mm 0 4mm; }
th, td { border: 0.6pt solid #333; padding: 1.2mm 2mm; vertical-align: middle; }
th { background: #eef3f8; font-weight: bold; text-align: center; }
td.num, th.num { text-align: right; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
.meta { color: #555; font-size: 9pt; text-align: center; margin-bottom: 4mm; }
"""


class PdfError(RuntimeError):
    """The PDF cannot be made here (no CJK font, weasyprint missing); ``message`` is Chinese."""

    def __init__(self, message: str, technical: str = ""):
        super().__init__(message)
        self.message = message
        self.technical = technical


def css_string(text: str) -> str:
    """``text`` as a CSS string literal (for ``content:``)."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\\n\r\f' or ord(ch) < 32 else ch
                      for ch in text)
    return f'"{escaped}"'


_font_found = False


def font_installed() -> bool:
    """Whether fontconfig knows the CJK face (once found, not asked again in this process;
    a font installed while the worker runs is seen at the next PDF)."""
    global _font_found
    if not _font_found:
        _font_found = _probe_font()
    return _font_found


def _probe_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            out = subprocess.run([fc_list, f":family={FONT_FAMILY}", "family"], check=False,
                                 capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        if FONT_FAMILY in out:
            return True
    return any(Path(p).exists() for p in FONT_FILES)


def document(body: str, *, title: str, tenant: str = "", footer: str = "") -> str:
    """The whole HTML document for ``body``: the font, the page size and margin boxes
    (title top left, tenant top right, ``footer`` bottom left, page numbers bottom right)."""
    font = css_string(FONT_FAMILY)
    css = BASE_CSS % {"font": font, "title": css_string(title), "tenant": css_string(tenant),
                      "footer": css_string(footer)}
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{html_lib.escape(title)}</title><style>{css}</style></head>"
            f"<body>{body}</body></html>")


def render(body: str, *, title: str, tenant: str = "", footer: str = "") -> bytes:
    """The PDF of ``body`` (a kind's HTML), with the CJK font; ``PdfError`` when it cannot."""
    if not font_installed():
        raise PdfError(f"服务器未安装中文字体“文泉驿微米黑”（{FONT_PACKAGE}），无法生成 PDF，"
                       "请联系运维人员", f"font {FONT_FAMILY!r} not found by fontconfig")
    # weasyprint is imported here, not with the module: it takes seconds to import (every
    # process that loads the reports would pay it, where only PDF jobs use it), and a broken
    # install must fail the PDF with a message rather than the app at start-up.
    try:
        with warnings.catch_warnings():
            # Without libharfbuzz-subset0 weasyprint subsets fonts with fontTools and warns
            # that it will need the library (scripts/ensure-services.sh installs it).
            warnings.filterwarnings("ignore", message="HarfBuzz-Subset",
                                    category=DeprecationWarning)
            import weasyprint  # lazy: seconds to import; a broken install fails the PDF only
            from weasyprint.urls import URLFetcher  # lazy: part of weasyprint, as above
    except ImportError as exc:  # a broken install: say so rather than fail obscurely
        raise PdfError("服务器缺少 PDF 组件（weasyprint），无法生成 PDF，请联系运维人员",
                       f"ImportError: {exc}") from exc

    page = document(body, title=title, tenant=tenant, footer=footer)
    # Only inline data: URIs: a report never reads a file or the network while rendering.
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return weasyprint.HTML(string=page, url_fetcher=fetcher).write_pdf()


# --------------------------------------------------------------------------- helpers for kinds


def escape(value) -> str:
    """Text for HTML: None is blank, numbers as they are, everything escaped."""
    if value is None:
        return ""
    return html_lib.escape(str(value))


def table(headers: Sequence[str], rows: Iterable[Sequence], *, numeric_from: int | None = None,
          caption: str | None = None) -> str:
    """An escaped HTML table: ``headers``, then ``rows``; columns from ``numeric_from`` on
    are right-aligned (figures)."""
    def cells(values, tag):
        out = []
        for n, value in enumerate(values):
            cls = ' class="num"' if numeric_from is not None and n >= numeric_from else ""
            out.append(f"<{tag}{cls}>{escape(value)}</{tag}>")
        return "".join(out)

    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{escape(caption)}</caption>")
    parts.append(f"<thead><tr>{cells(headers, 'th')}</tr></thead><tbody>")
    parts.extend(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    parts.append("</tbody></table>")
    return "".join(parts)
