"""The HTML page: panels for what is present, nothing for what is not, safe embedding, no network."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape as markup_escape

from dashboard.assets import inline_scripts, page_js
from dashboard.render import write_dashboard
from dashboard.safety import content_security_policy, safe_json, script_hash
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


def _data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="wafad-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    return json.loads(block)


def _charts_in(html: str, fragment: str) -> list[dict]:
    """The chart specs of the charts placed in ``fragment`` of the page."""
    charts = _data(html)["charts"]
    return [charts[cid] for cid in re.findall(r'<div class="chart-host" id="([^"]+)"', fragment)]


def _series(charts: list[dict], kind: str) -> list[dict]:
    return [s for c in charts for s in c["series"] if s["kind"] == kind]


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
    status_charts = _charts_in(html, status_panel)
    assert {m["label"] for c in status_charts for m in c["marks"]} == {"alert opened"}  # alert marks
    assert [m["t"] for m in status_charts[0]["marks"]] == [START_MS + 21 * 60_000]
    expected = [s for s in _series(status_charts, "markers") if s["label"].endswith(" expected")]
    assert expected and all(v is not None for s in expected for v in s["data"]["v"])
    assert status_charts[0]["extra"]["anomaly grade"]["v"]  # the grade, for the feature chart's tooltip
    volume_panel = html.split('id="detector-waf-volume"')[1].split('<div class="detector')[0]
    volume_shades = [s for c in _charts_in(html, volume_panel) for s in c["shades"] if s["truth"]]
    assert volume_shades and {s["start"] for s in volume_shades} == {START_MS + 30 * 60_000}  # its volume label
    hc_panel = html.split('id="detector-waf-country-hc"')[1].split("</section>")[0]
    assert "httpRequest.country=RU" in hc_panel  # entities table
    cross = html.split('<section id="crosscheck">')[1].split("</section>")[0]
    assert "Disagreements (1)" in cross and "consistent" in cross and "96.7%" in cross
    assert "waf-country-hc [c=RU]" in cross
    bands = _series(_charts_in(html, cross), "band")
    assert bands and all(len(b["data"]["t"]) == len(b["upper"]["t"]) == MINUTES - 10 for b in bands)
    # every chart placed on the page has its spec in the data block, and only those
    data = _data(html)
    chart_ids = re.findall(r'<div class="chart-host" id="([^"]+)"', html)
    assert len(set(chart_ids)) == len(chart_ids) and set(chart_ids) == set(data["charts"]) and len(chart_ids) >= 20


def test_panels_for_missing_inputs_are_omitted(settings, os_client, tmp_path: Path) -> None:
    index_window(os_client, settings, START, 15, per_minute=5)
    html = write_dashboard(settings, START, "2026-06-01T12:15:00Z", tmp_path / "d.html").read_text()
    assert _sections(html) == {"overview", "historical", "live", "detectors", "traffic"}
    charts = _data(html)["charts"].values()
    assert not any(c["shades"] or c["marks"] for c in charts)
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
    assert str(markup_escape(XSS_PAYLOADS[1])) in html  # the alert text, escaped as the templates escape it
    assert len(re.findall(r"<script", html)) == 3 and html.count("</script>") == 3  # data, uPlot, the page's own


def test_page_makes_no_network_requests(settings, os_client, tmp_path: Path) -> None:
    index_window(os_client, settings, START, 10, per_minute=5)
    html = write_dashboard(settings, START, "2026-06-01T12:10:00Z", tmp_path / "n.html").read_text()
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    for attr in ("src=", 'href="http', "@import", "url("):
        assert attr not in html.replace('href="#', "")
    csp = unescape(re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    assert csp == content_security_policy(inline_scripts())
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert inline == inline_scripts()  # the hashes in the CSP are the hashes of exactly these scripts
    for script in inline:
        assert f"'{script_hash(script)}'" in csp
    assert "uPlot" in inline[0] and "MIT" in inline[0].splitlines()[0]  # the vendored library, its licence notice
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in page_js()
        assert sink not in inline[0]


@given(st.text())
def test_safe_json_cannot_break_out_of_its_script(text: str) -> None:
    out = safe_json({"uri": text, "list": [text, 1.5]})
    assert not set(out) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(out) == {"uri": text, "list": [text, 1.5]}


def test_safe_json_specifics() -> None:
    assert safe_json("</script><!--") == '"\\u003c/script\\u003e\\u003c!--"'
    assert json.loads(safe_json({"x": float("nan")})) == {"x": None}  # JSON has no NaN


def test_long_series_are_decimated_but_keep_spikes_and_gaps() -> None:
    from dashboard.chartspec import COLUMNS, TimeChart

    n = 20_000
    points = [(START_MS + i * 60_000, 1.0 if i != 12_345 else 50.0) for i in range(n)]
    points[5_000] = (points[5_000][0], None)  # a no-data interval
    chart = TimeChart("long", START_MS, START_MS + n * 60_000, y_max=50.0).line("v", points, "#000")
    data = chart.spec()["series"][0]["data"]
    assert len(data["t"]) == len(data["v"]) <= 4 * COLUMNS + 2 and len(data["t"]) < n / 4
    assert data["t"] == sorted(data["t"])
    assert max(v for v in data["v"] if v is not None) == 50.0  # the spike is kept
    assert data["v"].count(None) == 1 and data["t"][data["v"].index(None)] == points[5_000][0]  # so is the gap


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
    charts = _charts_in(html, panel)
    no_data = [s for c in charts for s in c["shades"] if s["label"] == "no data / error"]
    assert [s["start"] for s in no_data] == [START_MS + 3 * 60_000, START_MS + 4 * 60_000]
    assert "No data in current window <b>3</b>" in no_data[0]["text"]  # data in JSON, set as text by the script
    assert "No data in current window <b>3</b>" not in html  # and never markup
    line = next(s for s in charts[0]["series"] if s["label"] == "requests (actual)")["data"]["v"]
    assert line[3:5] == [None, None] and None not in line[:3] + line[5:]  # the feature line breaks there


def test_unknown_detectors_and_odd_results_render_escaped() -> None:
    """A detector outside the catalogue, HC entities with only no-data results, hostile names: still a page."""
    from dashboard.data.loader import DashboardData
    from dashboard.data.raw import RawSummary
    from dashboard.data.results import DetectorResults, ResultPoint
    from dashboard.render import render_html

    no_data = ResultPoint(0, 60_000, None, None, None, None, {}, {}, {}, error="No data <i>x</i>")
    group = DetectorResults("mystery<script>", "id\u2028<x>", None, entity="k=<v>", realtime=[no_data])
    raw = RawSummary(interval_ms=60_000, times=list(range(0, 3_600_000, 60_000)), total=[0] * 60, indicators={})
    html = render_html(DashboardData(0, 3_600_000, {"target": "<t>"}, [group], raw, [], [], []))
    assert 'id="detector-mystery&lt;script&gt;"' in html and "mystery<script>" not in html
    assert "k=&lt;v&gt;" in html and "&lt;t&gt;" in html
    shades = [s["text"] for c in _data(html)["charts"].values() for s in c["shades"]]
    assert any("No data <i>x</i>" in t for t in shades) and "<i>x</i>" not in html
