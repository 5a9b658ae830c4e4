"""The page's inline CSS and scripts, read from the package: its own stylesheet and script, and vendored uPlot.

Everything here is the project's own code or the pinned, vendored chart library (``dashboard/vendor/``), never
data; the page inlines it unescaped and its Content-Security-Policy allows exactly these script texts by
SHA-256. The page's script only ever inserts data as text (``textContent``, ``createElement``); it never uses
``innerHTML``, ``insertAdjacentHTML``, ``document.write`` or ``eval``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

UPLOT_VERSION = "1.6.32"
_HERE = Path(__file__).resolve().parent
_UPLOT = _HERE / "vendor" / f"uplot-{UPLOT_VERSION}"
#: Replaces the build's banner comment (a bare project URL) with the licence notice the MIT licence asks for.
UPLOT_NOTICE = (
    f"/*! uPlot v{UPLOT_VERSION} (c) 2022 Leon Sorokin, MIT licence (dashboard/vendor/uplot-{UPLOT_VERSION}) */"
)


@cache
def page_css() -> str:
    """The dashboard's stylesheet followed by uPlot's."""
    own = (_HERE / "static" / "page.css").read_text(encoding="utf-8")
    return own + (_UPLOT / "uPlot.min.css").read_text(encoding="utf-8")


@cache
def page_js() -> str:
    """The dashboard's own script (tables, charts, tooltip, filter)."""
    return (_HERE / "static" / "page.js").read_text(encoding="utf-8")


@cache
def uplot_js() -> str:
    """uPlot's minified browser build (global ``uPlot``), with its banner replaced by the licence notice."""
    lines = (_UPLOT / "uPlot.iife.min.js").read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if not line.startswith("/*! https://")]
    return "\n".join([UPLOT_NOTICE, *body])


def inline_scripts() -> list[str]:
    """The page's inline scripts in document order: the chart library, then the page's own script."""
    return [uplot_js(), page_js()]
