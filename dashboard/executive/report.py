"""The executive page end to end: both periods' KPIs, the HTML next to the output, and the PDF.

:func:`write_report` is ``wafad report``; :func:`write_demo_report` is what ``make demo`` adds (HTML always, PDF
when chromium is there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dashboard.executive.kpis import collect_kpis
from dashboard.executive.pdf import PdfError, print_pdf, require_chromium
from dashboard.executive.period import Period
from dashboard.executive.render import render_html
from dashboard.executive.view import ExecutiveView, build_view


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path | None


def report_view(
    settings: Any, period: Period, *, alerts: Sequence[Mapping[str, Any]] | None = None, client: Any = None
) -> ExecutiveView:
    """The view model for ``period`` and the same period one week earlier."""
    if client is None:
        from wafad.clients import opensearch_client

        client = opensearch_client(settings)
    current = collect_kpis(settings, client, period, alerts=alerts)
    previous = collect_kpis(settings, client, period.week_before(), alerts=alerts)
    source = (
        f"{len(alerts)} alert message(s) sent"
        if alerts is not None
        else f"detector results replayed with the alert policy ({settings.results_index})"
    )
    notes = [
        f"Traffic: index pattern {settings.index_prefix}-*. Incidents: {source}. "
        "Changes compare with the period of the same length one week earlier."
    ]
    return build_view(current, previous, notes=notes)


def write_report(
    settings: Any,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    alerts: Sequence[Mapping[str, Any]] | None = None,
    client: Any = None,
) -> ReportFiles:
    """Write the page for ``[start, end)``: ``out`` ending in ``.html`` writes only HTML; otherwise the HTML goes
    next to ``out`` (same name, ``.html``) and ``out`` is its PDF. Raises ``PeriodError`` / ``PdfError``."""
    period = Period(start, end)
    out = Path(out)
    pdf = None if out.suffix.lower() in (".html", ".htm") else out
    if pdf is not None:
        require_chromium()  # fail before any query
    html = out if pdf is None else out.with_suffix(".html")
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_html(report_view(settings, period, alerts=alerts, client=client)), encoding="utf-8")
    return ReportFiles(html=html, pdf=print_pdf(html, pdf) if pdf is not None else None)


def write_demo_report(
    settings: Any, start: datetime, end: datetime, alerts: Sequence[Mapping[str, Any]]
) -> dict[str, str | None]:
    """The demo's executive page under ``state_dir``: PDF when chromium is installed, HTML always; prints paths."""
    from dashboard.browser import find_chromium

    name = "executive.pdf" if find_chromium() else "executive.html"
    try:
        files = write_report(settings, start, end, Path(settings.state_dir) / name, alerts=alerts)
    except PdfError as exc:  # the HTML is written before printing: keep it, say why there is no PDF
        print(f"executive page: no PDF ({exc})")
        files = ReportFiles(html=Path(settings.state_dir) / "executive.html", pdf=None)
    print(f"executive page: {files.pdf or files.html}" + (f" (HTML: {files.html})" if files.pdf else ""))
    return {"html": str(files.html), "pdf": None if files.pdf is None else str(files.pdf)}
