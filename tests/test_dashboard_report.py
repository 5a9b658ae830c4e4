"""The executive page (``wafad report``) on the real local stack: KPIs checked against the indexed documents and the
alerter's own messages, the PDF's text, hostile log strings shown as text, and the CLI's error paths."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dashboard.browser import find_chromium
from dashboard.executive.period import Period
from dashboard.executive.report import report_view, write_report
from dashboard.executive.view import ExecutiveView
from dashboard.sample_data import XSS_PAYLOADS, engine_detector_ids, index_window

START = datetime(2026, 9, 7, 10, 0, tzinfo=UTC)
MINUTES = 75
#: the period starts after the status window opened (its incident resolves inside) and holds the method window
PERIOD = Period(START + timedelta(minutes=20), START + timedelta(minutes=MINUTES))
ANOMALIES = [("httpStatus", 15, 25), ("httpMethod", 40, 50)]


def _ms(doc: dict[str, Any]) -> int:
    return int(doc["timestamp"])


def _in(period: Period, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if period.start_ms <= _ms(d) < period.end_ms]


def _pct_change(cur: float, prev: float) -> str:
    return f"{(cur - prev) / prev * 100:+.1f}%"


PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "p", "strong", "section", "div", "span",
    "table", "caption", "thead", "tbody", "tr", "th", "td", "footer",
}  # fmt: skip


class _Tags(HTMLParser):
    """The element names, attribute names and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.attributes: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text += data


def _kpi(view: ExecutiveView, label: str) -> Any:
    (kpi,) = [k for k in view.kpis if k.label == label]
    return kpi


@pytest.fixture
def indexed(settings, os_client) -> dict[str, Any]:
    """This week's window (two anomalies, hostile URIs on every third request) and a quieter one a week earlier."""
    ids = engine_detector_ids()
    raw, results = index_window(
        os_client, settings, START, MINUTES, anomalies=ANOMALIES, payloads=XSS_PAYLOADS, payload_every=3,
        per_minute=12, detector_ids=ids,
    )  # fmt: skip
    prev_raw, _ = index_window(os_client, settings, START - timedelta(days=7), MINUTES, per_minute=7, detector_ids=ids)
    return {"raw": raw, "results": results, "prev_raw": prev_raw}


def test_report_kpis_match_the_indexed_documents_and_the_alerts_sent(settings, os_client, indexed) -> None:
    from alerting.alerts import process_alerts

    docs, prev_docs = _in(PERIOD, indexed["raw"]), _in(PERIOD.week_before(), indexed["prev_raw"])
    assert docs and prev_docs
    view = report_view(settings, PERIOD, client=os_client)  # incidents replayed from the results

    total, blocked = len(docs), sum(d["action"] == "BLOCK" for d in docs)
    prev_total = len(prev_docs)
    prev_blocked = sum(d["action"] == "BLOCK" for d in prev_docs)
    requests, share = _kpi(view, "Requests"), _kpi(view, "Blocked share")
    assert requests.value == f"{total:,}" and requests.change == _pct_change(total, prev_total)
    assert share.value == f"{blocked / total * 100:.1f}%" and share.note == f"{blocked:,} requests blocked"
    assert share.change == _pct_change(blocked / total, prev_blocked / prev_total)

    countries = Counter(d["httpRequest"]["country"] for d in docs)
    assert [int(r.cells[1].replace(",", "")) for r in view.countries] == [n for _, n in countries.most_common(5)]
    assert all(countries[r.cells[0]] == int(r.cells[1].replace(",", "")) for r in view.countries)
    blocked_by = Counter(d["httpRequest"]["country"] for d in docs if d["action"] == "BLOCK")
    assert [int(r.cells[1]) for r in view.blocked_countries] == [n for _, n in blocked_by.most_common(5)]
    assert all(blocked_by[r.cells[0]] == int(r.cells[1]) for r in view.blocked_countries)
    blocked_uris = Counter(d["httpRequest"]["uri"] for d in docs if d["action"] == "BLOCK")
    assert {r.cells[0]: int(r.cells[1]) for r in view.blocked_uris} == dict(blocked_uris.most_common(5))
    assert set(XSS_PAYLOADS) == {r.cells[0] for r in view.blocked_uris}  # every third request: they lead

    anomalous = [
        r for r in indexed["results"]
        if (r.get("anomaly_grade") or 0) > 0 and PERIOD.start_ms < r["data_end_time"] <= PERIOD.end_ms
    ]  # fmt: skip
    assert anomalous and _kpi(view, "Anomalous intervals").value == f"{len(anomalous):,}"
    assert _kpi(view, "Anomalous intervals").change == "new (0 before)"  # the earlier week had no anomaly

    # incidents: what the alerter itself sends for these results (SNS on the local stack)
    sent = [m.to_dict() for m in process_alerts(settings, os_client=os_client)]
    opened = [m for m in sent if m["kind"] == "opened" and PERIOD.contains_ms(m["window_start_ms"])]
    resolved = [m for m in sent if m["kind"] == "resolved" and PERIOD.contains_ms(m["window_end_ms"])]
    assert {m["detector"] for m in opened} == {"waf-uncommon-method"}, sent
    assert {m["detector"] for m in resolved} == {"waf-http-status-5xx", "waf-uncommon-method"}, sent
    assert _kpi(view, "Incidents opened").value == str(len(opened))
    assert _kpi(view, "Incidents resolved").value == str(len(resolved))
    durations = [m["window_end_ms"] - m["window_start_ms"] for m in resolved]
    mean_min = round(sum(durations) / len(durations) / 60_000)
    assert _kpi(view, "Mean time to resolve").value == f"{mean_min} min"
    assert _kpi(view, "Incidents opened").change == "new (0 before)"
    watches = {r.cells[0]: r.cells[1] for r in view.sources}
    assert watches.items() >= {"waf-http-status-5xx": "httpStatus", "waf-uncommon-method": "httpMethod"}.items()
    assert [r.cells[0] for r in view.incidents] == ["waf-http-status-5xx", "waf-uncommon-method"]
    assert all(r.cells[5].endswith("min") for r in view.incidents)

    from_messages = report_view(settings, PERIOD, alerts=sent, client=os_client)
    assert from_messages.kpis == view.kpis and from_messages.incidents == view.incidents

    # a week earlier there is nothing to compare with
    earlier = report_view(settings, PERIOD.week_before(), client=os_client)
    assert _kpi(earlier, "Requests").value == f"{prev_total:,}"
    assert {k.change for k in earlier.kpis} == {"no data"}


def test_report_html_escapes_log_strings_and_has_no_script(settings, os_client, indexed, tmp_path) -> None:
    files = write_report(settings, PERIOD.start, PERIOD.end, tmp_path / "page.html", client=os_client)
    assert files.pdf is None and files.html == tmp_path / "page.html"
    html = files.html.read_text(encoding="utf-8")
    tags = _Tags()
    tags.feed(html)
    assert tags.names <= PAGE_TAGS, tags.names - PAGE_TAGS  # no script, img, svg, iframe from the payloads
    assert not [a for a in tags.attributes if a.startswith("on")]  # no event handler attribute
    assert "&lt;script&gt;document.title=&#39;wafadpwned&#39;" in html  # the payload is there, as text
    assert XSS_PAYLOADS[0] in tags.text
    assert "default-src 'none'" in html and "http://" not in html and "https://" not in html


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="chromium missing: scripts/bootstrap.sh --browser installs it")
def test_report_pdf_holds_the_kpis_and_hostile_strings_as_text(settings, os_client, indexed, tmp_path) -> None:
    from pypdf import PdfReader

    files = write_report(settings, PERIOD.start, PERIOD.end, tmp_path / "out" / "exec.pdf", client=os_client)
    assert files.pdf == tmp_path / "out" / "exec.pdf" and files.html == tmp_path / "out" / "exec.html"
    reader = PdfReader(str(files.pdf))
    assert len(reader.pages) == 1, "the executive page must fit on one A4 page"
    width, height = (float(x) for x in reader.pages[0].mediabox[2:])
    assert abs(width - 595) < 3 and abs(height - 842) < 3  # A4 in points
    flat = re.sub(r"\s+", "", reader.pages[0].extract_text())
    docs = _in(PERIOD, indexed["raw"])
    share = f"{sum(d['action'] == 'BLOCK' for d in docs) / len(docs) * 100:.1f}%"
    for needle in ("WAF security summary", "Requests", "Blocked share", "Incidents opened", f"{len(docs):,}", share):
        assert re.sub(r"\s+", "", needle).lower() in flat.lower(), needle  # labels print in small caps
    assert re.sub(r"\s+", "", XSS_PAYLOADS[0]) in flat  # the <script> payload is printed as text


# --- the CLI ---------------------------------------------------------------------------------------
def _report(*args: str):
    from wafad.cli import app

    return CliRunner().invoke(app, ["report", *args])


def test_cli_rejects_an_empty_period(cli_env, tmp_path: Path) -> None:
    for end in ("2026-09-07T10:00:00Z", "2026-09-07T09:00:00Z"):
        result = _report("--start", "2026-09-07T10:00:00Z", "--end", end, "--out", str(tmp_path / "x.html"))
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: empty period"), result.stderr
    assert not list(tmp_path.iterdir())


def test_cli_without_chromium_says_how_to_install_it(cli_env, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WAFAD_CHROMIUM", str(tmp_path / "no-such-chromium"))
    out = tmp_path / "x.pdf"
    result = _report("--start", "2026-09-07T10:00:00Z", "--end", "2026-09-07T11:00:00Z", "--out", str(out))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scripts/bootstrap.sh --browser" in lines[0], result.stderr
    assert not list(tmp_path.iterdir())


def test_cli_writes_the_html_page(cli_env, settings, os_client, tmp_path: Path) -> None:
    index_window(os_client, settings, START, 10, per_minute=4)
    out = tmp_path / "page" / "exec.html"
    result = _report("--start", "2026-09-07T10:00:00Z", "--end", "2026-09-07T10:10:00Z", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out) and out.exists() and not out.with_suffix(".pdf").exists()
    assert "WAF security summary" in out.read_text(encoding="utf-8")
