"""The HTML page: panels for what is present, nothing for what is not, safe embedding, no network."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import escape, unescape
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dashboard.assets import JS
from dashboard.render import content_security_policy, safe_json, script_hash, write_dashboard
from dashboard.sample_data import XSS_PAYLOADS, engine_detector_ids, index_window, labels_for_window
from wafad.catalogue import DETECTORS

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
END = "2026-06-01T12:40:00Z"
MINUTES = 40
ANOMALIES = [("httpStatus", 20, 26), ("volume", 30, 33)]


def _crosscheck(detector: str, *, entity: dict | None = None) -> dict:
    intervals = []
    for m in range(10, MINUTES):
        score = 1.0 + (0.9 if 20 <= m < 26 else 0.0)
        high = 1.4 if m != 15 else 0.9  # one disagreement at minute 15
        iv = {
            "data_start_time": START_MS + m * 60_000,
            "data_end_time": START_MS + (m + 1) * 60_000,
            "ad_score": score,
            "ad_grade": 0.8125 if 20 <= m < 26 else 0.0,
            "band_low": 0.7,
            "band_high": high if not 20 <= m < 26 else 2.2,
            "grade_band_low": 0.0,
            "grade_band_high": 1.0 if 20 <= m < 26 else 0.1,
            "agree": m != 15,
            "cause": "model" if m == 15 else None,
            "compared": True,
            "replica_score": score * 0.95,
        }
        if entity:
            iv["entity"] = entity
        intervals.append(iv)
    return {
        "detector": detector,
        "detector_id": "id",
        "start": START.isoformat(),
        "end": END,
        "verdict": "consistent",
        "summary": "AD's scores fall inside the replica band in 97% of intervals",
        "spearman": 0.93,
        "precision": 1.0,
        "recall": 0.83,
        "agreement_rate": 29 / 30,
        "intervals": intervals,
    }


def _sections(html: str) -> set[str]:
    return set(re.findall(r'<section id="([a-z]+)"', html))


def test_full_dashboard_has_every_panel(settings, os_client, tmp_path: Path) -> None:
    index_window(
        os_client, settings, START, MINUTES, anomalies=ANOMALIES, per_minute=8, detector_ids=engine_detector_ids()
    )
    alerts = [
        {
            "kind": "opened",
            "detector": "waf-http-status-5xx",
            "detector_id": engine_detector_ids()["waf-http-status-5xx"],
            "entity": None,
            "severity": "high",
            "subject": "wafad: waf-http-status-5xx anomaly",
            "text": "grade 0.81 at 12:21",
            "window_start_ms": START_MS + 21 * 60_000,
            "window_end_ms": START_MS + 22 * 60_000,
            "max_grade": 0.8125,
        }
    ]
    out = write_dashboard(
        settings,
        START,
        END,
        tmp_path / "sub" / "dash.html",
        labels=labels_for_window(START, ANOMALIES),
        alerts=alerts,
        crosscheck=[_crosscheck("waf-http-status-5xx"), _crosscheck("waf-country-hc", entity={"c": "RU"})],
    )
    html = out.read_text(encoding="utf-8")
    assert _sections(html) == {"overview", "historical", "live", "detectors", "crosscheck", "traffic", "alerts"}
    for spec in DETECTORS:  # one panel per catalogue detector, named (not by engine id)
        assert f'id="detector-{spec.name}"' in html
    overview = html.split('<section id="overview">')[1].split("</section>")[0]
    rows = {
        cells[0]: cells[1:]
        for cells in (re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", overview))
        if cells
    }
    # detector: intervals, anomalous, max grade, alerts, found, median delay, outside
    assert rows["waf-http-status-5xx"][0] == str(MINUTES)
    assert rows["waf-http-status-5xx"][3:] == ["1", "1/1", "0 min", "0"]
    assert rows["waf-volume"][4:] == ["1/1", "0 min", "0"]
    assert rows["waf-http-source"][1:] == ["0", "0.0000", "0", "–", "–", "–"]
    status_panel = html.split('id="detector-waf-http-status-5xx"')[1].split('<div class="detector')[0]
    assert "ground truth found 1/1" in status_panel
    assert "wafad: waf-http-status-5xx anomaly" in status_panel  # its alert, listed with its panel
    assert 'class="vline"' in status_panel
    assert "expected" in status_panel and 'class="series marker"' in status_panel
    volume_panel = html.split('id="detector-waf-volume"')[1].split('<div class="detector')[0]
    assert 'class="shade"' in volume_panel  # the volume label belongs to the volume detector
    hc_panel = html.split('id="detector-waf-country-hc"')[1].split("</section>")[0]
    assert "httpRequest.country=RU" in hc_panel  # entities table
    cross = html.split('<section id="crosscheck">')[1].split("</section>")[0]
    assert "Disagreements (1)" in cross and "consistent" in cross and "96.7%" in cross
    assert "waf-country-hc [c=RU]" in cross
    assert 'class="series band"' in cross
    # every chart declares its size and the data block holds a read-out for each time chart
    block = re.search(r'<script type="application/json" id="wafad-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    data = json.loads(block)
    chart_ids = re.findall(r'<svg class="chart time" id="([^"]+)"', html)
    assert set(chart_ids) == set(data["charts"]) and len(chart_ids) >= 20


def test_panels_for_missing_inputs_are_omitted(settings, os_client, tmp_path: Path) -> None:
    index_window(os_client, settings, START, 15, per_minute=5)
    html = write_dashboard(settings, START, "2026-06-01T12:15:00Z", tmp_path / "d.html").read_text()
    assert _sections(html) == {"overview", "historical", "live", "detectors", "traffic"}
    assert 'class="shade"' not in html and 'class="vline"' not in html
    assert "ground truth found" not in html and "Cross-check" not in html


def test_empty_window_still_renders(settings, os_client, tmp_path: Path) -> None:
    html = write_dashboard(settings, START, END, tmp_path / "empty.html").read_text()
    assert html.count("no AD results in this window") == len(DETECTORS)
    assert "<script>" in html and html.rstrip().endswith("</html>")


def test_attacker_strings_are_escaped_server_side(settings, os_client, tmp_path: Path) -> None:
    index_window(os_client, settings, START, 20, per_minute=10, payloads=XSS_PAYLOADS, payload_every=5)
    alerts = [{"detector": "waf-block-action", "kind": "opened", "window_start": START_MS, "text": XSS_PAYLOADS[1]}]
    html = write_dashboard(settings, START, "2026-06-01T12:20:00Z", tmp_path / "x.html", alerts=alerts).read_text()
    block = re.search(r'<script type="application/json" id="wafad-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    markup = html.replace(block, "")
    for payload in XSS_PAYLOADS:  # nowhere verbatim in the markup (quotes are escaped too)
        assert payload not in markup
    assert not re.search(r"(href|src|action)=\"?javascript:", html, re.I)
    # top URIs table and chart labels carry the escaped text
    uris = re.findall(r'<td class="raw">(.*?)</td>', html, re.S)
    assert {unescape(u) for u in uris} & set(XSS_PAYLOADS)
    assert escape(XSS_PAYLOADS[1], quote=True) in html  # the alert text
    assert len(re.findall(r"<script", html)) == 2 and html.count("</script>") == 2


def test_page_makes_no_network_requests(settings, os_client, tmp_path: Path) -> None:
    index_window(os_client, settings, START, 10, per_minute=5)
    html = write_dashboard(settings, START, "2026-06-01T12:10:00Z", tmp_path / "n.html").read_text()
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    for attr in ("src=", 'href="http', "@import", "url("):
        assert attr not in html.replace('href="#', "")
    csp = unescape(re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    assert csp == content_security_policy(JS)
    assert f"'{script_hash(JS)}'" in csp
    own_script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)  # type: ignore[union-attr]
    assert own_script == JS  # the hash in the CSP is the hash of exactly this script
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in JS


@given(st.text())
def test_safe_json_cannot_break_out_of_its_script(text: str) -> None:
    out = safe_json({"uri": text, "list": [text, 1.5]})
    assert not set(out) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(out) == {"uri": text, "list": [text, 1.5]}


def test_safe_json_specifics() -> None:
    assert safe_json("</script><!--") == '"\\u003c/script\\u003e\\u003c!--"'
    assert json.loads(safe_json({"x": float("nan")})) == {"x": None}  # JSON has no NaN


def test_long_series_are_decimated_but_keep_spikes_and_gaps() -> None:
    from dashboard.charts import TimeChart

    n = 20_000
    points = [(START_MS + i * 60_000, 1.0 if i != 12_345 else 50.0) for i in range(n)]
    points[5_000] = (points[5_000][0], None)  # a no-data interval
    chart = TimeChart("long", START_MS, START_MS + n * 60_000, y_max=50.0).line("v", points, "#000")
    svg = chart.svg()
    d = re.search(r'data-series="v" d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    coords = [tuple(map(float, p[1:].split(","))) for p in d.split()]
    assert len(coords) <= 4 * chart.plot_w + 2 and len(coords) < n / 4
    assert min(y for _, y in coords) < chart.margin_top + 5  # the 50.0 spike reaches the top
    assert d.count("M") == 2  # the gap breaks the line once


def test_no_data_results_are_shaded(settings, os_client, tmp_path: Path) -> None:
    from opensearchpy import helpers

    docs = [
        {
            "detector_id": "waf-volume",
            "data_start_time": START_MS + m * 60_000,
            "data_end_time": START_MS + (m + 1) * 60_000,
            "feature_data": [],
            "error": f"No data in current window <b>{m}</b>",
        }
        if m in (3, 4)
        else {
            "detector_id": "waf-volume",
            "data_start_time": START_MS + m * 60_000,
            "data_end_time": START_MS + (m + 1) * 60_000,
            "anomaly_grade": 0.0,
            "confidence": 0.5,
            "feature_data": [{"feature_id": "f", "feature_name": "requests", "data": 5.0}],
        }
        for m in range(10)
    ]
    helpers.bulk(os_client, ({"_index": settings.results_index, "_source": d} for d in docs), refresh=True)
    html = write_dashboard(settings, START, "2026-06-01T12:10:00Z", tmp_path / "e.html").read_text()
    panel = html.split('id="detector-waf-volume"')[1].split('<div class="detector')[0]
    assert '<div class="v">2</div><div class="k">no-data / errors</div>' in panel
    assert panel.count('class="shade"') == 2 and "No data in current window &lt;b&gt;3&lt;/b&gt;" in panel
    line = re.search(r'data-series="requests \(actual\)" d="([^"]+)"', panel).group(1)  # type: ignore[union-attr]
    assert line.count("M") == 2  # the feature line breaks where there was no data


def test_unknown_detectors_and_odd_results_render_escaped() -> None:
    """A detector outside the catalogue, HC entities with only no-data results, hostile names: still a page."""
    from dashboard.data import DashboardData, DetectorResults, RawSummary, ResultPoint
    from dashboard.render import render_html

    no_data = ResultPoint(0, 60_000, None, None, None, None, {}, {}, {}, error="No data <i>x</i>")
    group = DetectorResults("mystery<script>", "id\u2028<x>", None, entity="k=<v>", realtime=[no_data])
    raw = RawSummary(interval_ms=60_000, times=list(range(0, 3_600_000, 60_000)), total=[0] * 60, indicators={})
    html = render_html(DashboardData(0, 3_600_000, {"target": "<t>"}, [group], raw, [], [], []))
    assert 'id="detector-mystery&lt;script&gt;"' in html and "mystery<script>" not in html
    assert "k=&lt;v&gt;" in html and "No data &lt;i&gt;x&lt;/i&gt;" in html and "&lt;t&gt;" in html
