"""The dashboard in a real headless chromium: charts render, and injected script payloads stay inert text."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

from dashboard.browser import dump_dom, find_chromium, pixel_stats, screenshot
from dashboard.render import write_dashboard
from dashboard.sample_data import XSS_MARKER, XSS_PAYLOADS, index_window, labels_for_window

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        find_chromium() is None, reason="chromium not found: `scripts/bootstrap.sh --browser` installs it"
    ),
]

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MINUTES = 60
ANOMALIES = [("httpStatus", 30, 40), ("action", 45, 52)]


@pytest.fixture
def page(settings, os_client, tmp_path: Path) -> tuple[Path, list[dict]]:
    raw, _ = index_window(
        os_client, settings, START, MINUTES, anomalies=ANOMALIES, payloads=XSS_PAYLOADS, payload_every=7, per_minute=10
    )
    alerts = [
        {
            "detector": "waf-http-status-5xx",
            "kind": "opened",
            "window_start": "2026-03-02T10:31:00Z",
            "window_end": "2026-03-02T10:32:00Z",
            "severity": "high",
            "text": f"5xx surge, top uri {XSS_PAYLOADS[0]}",
        },
        {
            "detector": "waf-http-status-5xx",
            "kind": "resolved",
            "window_start": "2026-03-02T10:40:00Z",
            "window_end": "2026-03-02T10:41:00Z",
            "severity": "info",
            "text": "back to normal",
        },
    ]
    crosscheck = {
        "detector": "waf-http-status-5xx",
        "start": "2026-03-02T10:00:00Z",
        "end": "2026-03-02T11:00:00Z",
        "verdict": "agree",
        "spearman": 0.91,
        "precision": 0.8,
        "recall": 0.9,
        "intervals": [
            {
                "data_start_time": int(START.timestamp() * 1000) + m * 60_000,
                "data_end_time": int(START.timestamp() * 1000) + (m + 1) * 60_000,
                "ad_score": 0.8 + (m % 5) * 0.1,
                "ad_grade": 0.0,
                "band_low": 0.7,
                "band_high": 1.1,
                "grade_band_low": 0.0,
                "grade_band_high": 0.1,
                "agree": 0.7 <= 0.8 + (m % 5) * 0.1 <= 1.1,
                "cause": "",
            }
            for m in range(8, MINUTES)
        ],
    }
    out = write_dashboard(
        settings,
        START,
        "2026-03-02T11:00:00Z",
        tmp_path / "dashboard.html",
        labels=labels_for_window(START, ANOMALIES),
        alerts=alerts,
        crosscheck=crosscheck,
    )
    return out, raw


def test_dashboard_renders_charts_in_chromium(page, tmp_path: Path) -> None:
    out, _raw = page
    png = screenshot(out, tmp_path / "dashboard.png", size=(1400, 2000))
    dom = dump_dom(out)

    # the page's script ran to the end (allowed by the CSP hash) and found the charts
    root = re.search(r"<html[^>]*>", dom).group(0)  # type: ignore[union-attr]
    assert 'data-render-complete="1"' in root
    charts = int(re.search(r'data-charts="(\d+)"', root).group(1))  # type: ignore[union-attr]
    assert charts >= 20  # overview, historical, live, 7 detectors x 2, cross-check x 2, tops
    drawn = int(re.search(r'data-series-elements="(\d+)"', root).group(1))  # type: ignore[union-attr]
    assert drawn > 100
    # real data paths, not empty charts: the overview line has one point per minute
    overview = re.search(r'<svg class="chart time" id="c0-overview".*?</svg>', dom, re.S).group(0)  # type: ignore[union-attr]
    requests_line = re.search(r'data-series="requests" d="([^"]+)"', overview).group(1)  # type: ignore[union-attr]
    assert requests_line.count("L") == MINUTES - 1
    assert dom.count('class="shade"') >= 2 * len(ANOMALIES)  # ground truth shaded in several charts
    assert 'class="vline"' in dom  # alert markers
    # the requests table was filled by the script
    body = re.search(r'<tbody id="requests-body">(.*?)</tbody>', dom, re.S).group(1)  # type: ignore[union-attr]
    assert body.count("<tr>") == 25

    stats = pixel_stats(png)
    assert (stats.width, stats.height) == (1400, 2000)
    assert stats.colours > 200, "screenshot looks blank"
    assert stats.background_share < 0.95
    assert stats.reddish > 200, "no red anomaly bars or alert lines visible"


def test_injected_payloads_never_execute(page) -> None:
    out, raw = page
    html = out.read_text(encoding="utf-8")
    dom = dump_dom(out)

    # nothing ran: the payloads would set the title or a body attribute
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)  # type: ignore[union-attr]
    assert XSS_MARKER not in title
    body_tag = re.search(r"<body[^>]*>", dom).group(0)  # type: ignore[union-attr]
    assert XSS_MARKER not in body_tag
    # and no element was created from them
    for pattern in (r"<img[^>]*onerror", r"<svg[^>]*onload", r"<iframe", r"<script>document\.title"):
        assert not re.search(pattern, dom, re.I), pattern
        assert not re.search(pattern, html, re.I), pattern
    assert html.count("<script") == 2  # the JSON data block and the page's own script

    # the payloads are shown, as text, in the uri, args and header cells
    payload_rows = [d for d in raw if d["httpRequest"]["uri"] in XSS_PAYLOADS]
    assert payload_rows
    cells = [unescape(c) for c in re.findall(r'<td class="raw">(.*?)</td>', dom, re.S)]
    shown = {p for p in XSS_PAYLOADS if p in cells}
    assert len(shown) >= 3, "payload uris missing from the tables"
    assert any(c.startswith("q=<script>") or c.startswith("q=<img") or c.startswith("q=</script>") for c in cells)
    assert any("referer: " in c and any(p in c for p in XSS_PAYLOADS) for c in cells)  # headers column
    assert "&lt;script&gt;document.title=" in dom

    # the embedded data block carries the exact strings, and cannot close its <script>
    block = re.search(r'<script type="application/json" id="wafad-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "<" not in block and ">" not in block
    data = json.loads(block)
    assert {s["uri"] for s in data["samples"]} & set(XSS_PAYLOADS)

    # the CSP forbids network access and allows only the page's own script
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "'unsafe-inline'" not in csp.split(";")[1]


DRIVER = """
var svg = document.querySelector('svg.chart.time');
var box = svg.getBoundingClientRect();
svg.dispatchEvent(new MouseEvent('mousemove', {clientX: box.left + box.width * 0.5, clientY: box.top + 60}));
document.getElementById('only-anomalous').click();
document.documentElement.setAttribute('data-hidden',
  String(document.querySelectorAll('.detector.quiet[style*="none"]').length));
"""


def test_hover_readout_and_detector_filter_work(page, tmp_path: Path) -> None:
    """Drive the page's own handlers with a test-only script (allowed by adding its hash to the CSP)."""
    from dashboard.render import script_hash

    out, _raw = page
    html = out.read_text(encoding="utf-8")
    assert "script-src &#x27;sha256-" in html
    driven = html.replace("script-src &#x27;", f"script-src &#x27;{script_hash(DRIVER)}&#x27; &#x27;", 1)
    driven = driven.replace("</body>", f"<script>{DRIVER}</script></body>")
    (tmp_path / "driven.html").write_text(driven, encoding="utf-8")
    dom = dump_dom(tmp_path / "driven.html")
    tip = re.search(r'<div id="tooltip"[^>]*>(.*?)</div>', dom, re.S)
    assert tip and "display: block" in tip.group(0)
    lines = tip.group(1).split("\n")
    assert re.fullmatch(r"2026-03-02 10:\d\d UTC", lines[0]) and lines[1].startswith("requests: ")
    quiet = dom.count('class="detector quiet"')
    assert quiet >= 1 and f'data-hidden="{quiet}"' in dom
