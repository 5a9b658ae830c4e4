"""Printing the page to PDF with headless chromium (``--print-to-pdf``), in a throw-away profile, offline."""

from __future__ import annotations

from pathlib import Path

from dashboard.browser import BrowserError, find_chromium, run_chromium

CHROMIUM_MISSING = "chromium not found: install it with scripts/bootstrap.sh --browser (or write --out FILE.html)"


class PdfError(RuntimeError):
    """Chromium is missing, failed, timed out or wrote no PDF."""


def require_chromium() -> str:
    exe = find_chromium()
    if exe is None:
        raise PdfError(CHROMIUM_MISSING)
    return exe


def print_pdf(html: Path, pdf: Path, *, timeout_s: float = 120.0) -> Path:
    """Print the local page ``html`` to ``pdf`` (A4 and margins come from the page's ``@page`` rule)."""
    require_chromium()
    pdf = Path(pdf).resolve()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.unlink(missing_ok=True)
    try:
        proc = run_chromium(
            ["--no-pdf-header-footer", f"--print-to-pdf={pdf}", Path(html).resolve().as_uri()], timeout_s
        )
    except BrowserError as exc:
        raise PdfError(f"printing {html} to PDF: {exc}") from exc
    if not pdf.exists() or pdf.read_bytes()[:5] != b"%PDF-":
        raise PdfError(f"chromium wrote no PDF to {pdf}: {proc.stderr.decode(errors='replace')[-500:]}")
    return pdf
