"""The dashboard in a real headless chromium: charts render and respond to the mouse (tooltip, drag-to-zoom),
and injected script payloads stay inert text. Interactive checks drive chromium through selenium and Debian's
chromedriver."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

from dashboard.browser import dump_dom, find_chromium, open_page, pixel_stats, screenshot, webdriver, webdriver_missing
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

    # both inline scripts ran to the end (allowed by their CSP hashes) and drew every chart
    root = re.search(r"<html[^>]*>", dom).group(0)  # type: ignore[union-attr]
    assert 'data-render-complete="1"' in root
    charts = int(re.search(r'data-charts="(\d+)"', root).group(1))  # type: ignore[union-attr]
    assert charts >= 20  # overview, historical, live, 7 detectors x 2, cross-check x 2
    assert charts == len(re.findall(r'<div class="chart-host" id="[^"]+"', dom))
    assert len(re.findall(r'<div class="uplot', dom)) == charts and dom.count("<canvas") >= charts
    drawn = int(re.search(r'data-points="(\d+)"', root).group(1))  # type: ignore[union-attr]
    assert drawn > 100
    shades = int(re.search(r'data-shades-drawn="(\d+)"', root).group(1))  # type: ignore[union-attr]
    assert shades >= 2 * len(ANOMALIES)  # ground truth shaded in several charts
    assert int(re.search(r'data-marks-drawn="(\d+)"', root).group(1)) >= 2  # type: ignore[union-attr]  # alerts
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
    assert html.count("<script") == 3  # the JSON data block, the vendored uPlot and the page's own script

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


@pytest.mark.skipif(webdriver_missing() is not None, reason=str(webdriver_missing()))
def test_payloads_run_nothing_in_a_live_session(page) -> None:
    """In a live page (selenium): no alert() dialog, no marker set anywhere, no element made from a payload."""
    from selenium.common.exceptions import NoAlertPresentException

    out, _raw = page
    with webdriver() as driver:
        open_page(driver, out)
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018
        state = driver.execute_script(
            """return {title: document.title, body: document.body.getAttributeNames().join(' '),
                       marker: typeof window[arguments[0]], injected: document.querySelectorAll(
                         'img, iframe, svg[onload], [onerror], [onload], a[href^="javascript"]').length,
                       scripts: document.scripts.length,
                       marked: document.querySelectorAll('[data-' + arguments[0] + ']').length,
                       cells: Array.from(document.querySelectorAll('#requests-body td.raw'), td => td.textContent)}""",
            XSS_MARKER,
        )
        assert XSS_MARKER not in state["title"] and XSS_MARKER not in state["body"]
        assert state["marker"] == "undefined" and state["injected"] == 0 and state["scripts"] == 3
        assert {p for p in XSS_PAYLOADS if p in state["cells"]}  # shown as text in the uri cells
        assert any(c.startswith(("q=<script>", "q=<img", "q=</script>")) for c in state["cells"])  # and args cells
        assert state["marked"] == 0  # no element anywhere got a payload's marker attribute


CHART_STATE = """
var u = window.wafadCharts[arguments[0]];
var box = u.over.getBoundingClientRect();
return {min: u.scales.x.min, max: u.scales.x.max, width: box.width, height: box.height,
        x: arguments[1] === null ? null : u.valToPos(arguments[1] / 1000, 'x')};
"""


def _chart_id(driver, prefix: str) -> str:
    return driver.execute_script(
        "var p = arguments[0]; return Object.keys(window.wafadCharts).find(function (k) { return k.endsWith(p); });",
        prefix,
    )


@pytest.mark.skipif(webdriver_missing() is not None, reason=str(webdriver_missing()))
def test_tooltip_zoom_and_detector_filter(page, tmp_path: Path) -> None:
    """Hover shows the interval's values, grade and ground truth; a drag zooms the x axis, a double-click resets."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    out, _raw = page
    start_ms = int(START.timestamp() * 1000)
    with webdriver(size=(1400, 1000)) as driver:
        open_page(driver, out)
        cid = _chart_id(driver, "-det-waf-http-status-5xx")
        host = driver.find_element(By.ID, cid)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", host)
        over = host.find_element(By.CSS_SELECTOR, ".u-over")
        tip = driver.find_element(By.ID, "tooltip")

        # (a) hover over minute 33, inside the injected httpStatus window [30, 40)
        minute = 33
        st = driver.execute_script(CHART_STATE, cid, start_ms + minute * 60_000)
        dx, dy = st["x"] - st["width"] / 2 + 1, 0  # selenium offsets are from the element's centre
        ActionChains(driver).move_to_element_with_offset(over, int(dx), int(dy)).perform()
        assert tip.is_displayed()
        lines = tip.text.split("\n")
        assert lines[0] == f"2026-03-02 10:{minute} UTC"
        spec = json.loads(driver.execute_script("return document.getElementById('wafad-data').textContent"))["charts"][
            cid
        ]
        actual = next(s for s in spec["series"] if s["label"] == "status_bad (actual)")["data"]
        value = actual["v"][actual["t"].index(start_ms + minute * 60_000)]
        assert f"status_bad (actual): {value:g}" in lines
        grade = next(line for line in lines if line.startswith("anomaly grade: "))
        assert float(grade.split(": ")[1]) > 0  # an anomalous interval, and its grade
        assert any(line.startswith("ground truth: inside injected httpStatus") for line in lines)
        # outside the window the tooltip says so
        st = driver.execute_script(CHART_STATE, cid, start_ms + 12 * 60_000)
        ActionChains(driver).move_to_element_with_offset(over, int(st["x"] - st["width"] / 2 + 1), 0).perform()
        assert "ground truth: outside every injected window" in tip.text.split("\n")
        assert tip.text.split("\n")[0] == "2026-03-02 10:12 UTC"

        # (b) drag from 20 % to 50 % of the plot: the x scale zooms to about that range
        before = driver.execute_script(CHART_STATE, cid, None)
        w = before["width"]
        ActionChains(driver).move_to_element_with_offset(over, int(-0.3 * w), 0).click_and_hold().move_by_offset(
            int(0.15 * w), 0
        ).move_by_offset(int(0.15 * w), 0).release().perform()
        after = driver.execute_script(CHART_STATE, cid, None)
        span = before["max"] - before["min"]
        assert after["min"] > before["min"] and after["max"] < before["max"]
        assert abs((after["min"] - before["min"]) / span - 0.2) < 0.03
        assert abs((after["max"] - before["min"]) / span - 0.5) < 0.03
        ticks = host.find_elements(By.CSS_SELECTOR, ".u-axis")
        assert ticks  # axes are drawn on canvas; the scale itself is what we compare
        ActionChains(driver).double_click(over).perform()
        reset = driver.execute_script(CHART_STATE, cid, None)
        assert (reset["min"], reset["max"]) == (before["min"], before["max"])

        # the "only detectors with anomalies" filter hides the quiet panels
        quiet = driver.find_elements(By.CSS_SELECTOR, ".detector.quiet")
        assert quiet
        toggle = driver.find_element(By.ID, "only-anomalous")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", toggle)
        toggle.click()
        assert all(not el.is_displayed() for el in quiet)
        assert driver.find_element(By.ID, "detector-waf-http-status-5xx").is_displayed()
        driver.save_screenshot(str(tmp_path / "interactive.png"))
