"""End to end on the local stack: raw WAF docs with injected windows -> local AD engine -> alerts -> SNS -> SQS.

Four hours at ~8 requests/minute. Window A (minutes 100-105): the origin fails, most requests get a 503 and carry
attacker strings in the URI. Window B (minutes 180-185): a flood from DE. Each window must give exactly one
"opened" and one "resolved" message per detector that watches it, and nothing else may alert.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from opensearchpy import helpers

from alerting.alerts import process_alerts
from alerting.inbox import read_inbox
from detectors.results import search_result_docs
from detectors.service import ensure_detectors, run_detectors
from ingest.index_template import ensure_index_template
from wafad.catalogue import indicators

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
MINUTES = 240
WINDOW_A = (100, 105)  # 5xx burst
WINDOW_B = (180, 185)  # DE flood
ATTACK_URI = "/<script>alert(1)</script><img src=x onerror=alert(2)>\n\x1b[31mFAKE\x1b[0m"
COUNTRIES = ("GB", "US", "IN", "DE", "FR")
DETECTORS = ["waf-http-status-5xx", "waf-volume", "waf-country-hc"]


def _docs(seed: int = 11) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    for m in range(MINUTES):
        in_a = WINDOW_A[0] <= m < WINDOW_A[1]
        in_b = WINDOW_B[0] <= m < WINDOW_B[1]
        n = 8 + int(rng.integers(-1, 2)) + (30 if in_b else 0)
        for k in range(n):
            flood = in_b and k >= n - 30
            failing = in_a and rng.random() < 0.8
            rec = {
                "action": "ALLOW",
                "httpSourceName": "ALB",
                "httpStatus": 503 if failing else 200,
                "httpRequest": {
                    "country": "DE" if flood else str(rng.choice(COUNTRIES)),
                    "clientIp": "203.0.113.66" if (flood or failing) else f"198.51.100.{int(rng.integers(1, 200))}",
                    "uri": ATTACK_URI if failing else ("/api/login" if flood else "/index.html"),
                    "args": "q=<svg/onload=alert(3)>\r\n" if failing else "",
                    "httpMethod": "GET",
                },
            }
            ts = T0 + m * MIN + timedelta(milliseconds=int(k * 59_000 / n))
            yield {
                "@timestamp": ts.isoformat(timespec="milliseconds"),
                "event_id": f"{m}-{k}",
                **rec,
                **indicators(rec),
            }


def _minute(ms: int) -> float:
    return (ms / 1000 - T0.timestamp()) / 60


def test_injected_windows_give_one_opened_and_one_resolved_message_each(settings, os_client) -> None:
    # default alert settings (grade > 0, any confidence, 10-minute cooldown)
    index = f"{settings.index_prefix}-2026.01.01"
    ensure_index_template(os_client, settings)  # the ingest part's real mappings
    helpers.bulk(os_client, ({"_index": index, "_id": d["event_id"], **d} for d in _docs()), refresh=True)
    ensure_detectors(settings, os_client=os_client)

    # real time over minutes 40-240 (cold start on the 40 before), in two runs as a scheduler would do
    reports = run_detectors(settings, T0 + 40 * MIN, T0 + 150 * MIN, detectors=DETECTORS, os_client=os_client)
    sent = process_alerts(settings, os_client=os_client)
    reports += run_detectors(settings, T0 + 150 * MIN, T0 + MINUTES * MIN, detectors=DETECTORS, os_client=os_client)
    sent += process_alerts(settings, os_client=os_client)
    assert all(r.results_written > 0 for r in reports)

    inbox = read_inbox(settings)
    summary = [
        (m["attributes"]["detector"], m["attributes"]["event"], m["attributes"].get("entity"), m["subject"])
        for m in inbox
    ]
    assert len(inbox) == len(sent), summary

    def window_of(m: dict[str, Any]) -> str:
        start = next(s for s in sent if s.message_id == m["message_id"]).window_start_ms
        minute = _minute(start)
        for name, (a, b) in (("A", WINDOW_A), ("B", WINDOW_B)):
            if a - 8 <= minute < b + 2:  # AD may date the start up to a shingle earlier
                return name
        return f"clean minute {minute:.0f}"

    got: dict[tuple[str, str, str | None, str], int] = {}
    for m in inbox:
        a = m["attributes"]
        key = (a["detector"], window_of(m), a.get("entity"), a["event"])
        got[key] = got.get(key, 0) + 1
    expected = {
        ("waf-http-status-5xx", "A", None, "opened"): 1,
        ("waf-http-status-5xx", "A", None, "resolved"): 1,
        ("waf-volume", "B", None, "opened"): 1,
        ("waf-volume", "B", None, "resolved"): 1,
        ("waf-country-hc", "B", "httpRequest.country=DE", "opened"): 1,
        ("waf-country-hc", "B", "httpRequest.country=DE", "resolved"): 1,
    }
    assert got == expected, summary

    # the messages carry the window's context, with the attacker's strings inert
    status_resolved = next(
        m
        for m in inbox
        if m["attributes"]["detector"] == "waf-http-status-5xx" and m["attributes"]["event"] == "resolved"
    )
    text = status_resolved["message"]
    assert "status_bad:" in text and " vs " in text and "Top attribution: status_bad" in text
    assert "203.0.113.66" in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    for m in inbox:
        body = m["message"]
        assert "<script>" not in body and "<img" not in body and "\x1b" not in body
        assert not any(line.startswith("FAKE") or line == "\\x1b[31mFAKE" for line in body.splitlines())
        assert m["attributes"]["severity"] in {"low", "medium", "high"}
    de = next(m for m in inbox if m["attributes"].get("entity") == "httpRequest.country=DE")
    assert "Top countries: DE (" in de["message"] and "/api/login" in de["message"]

    # result documents carry the AD fields
    docs = search_result_docs(os_client, settings.results_index)
    hc = [d for d in docs if d.get("entity")]
    assert {e["value"] for d in hc for e in d["entity"]} == set(COUNTRIES)
    flagged = [d for d in docs if d.get("anomaly_grade", 0) > 0]
    for d in docs:
        assert {"detector_id", "schema_version", "data_start_time", "data_end_time", "execution_start_time"} <= set(d)
        assert {"execution_end_time", "anomaly_score", "anomaly_grade", "confidence", "threshold"} <= set(d)
        assert d["feature_data"] and "model_id" in d and "task_id" not in d
    for d in flagged:
        assert {"approx_anomaly_start_time", "relevant_attribution", "expected_values"} <= set(d)
    assert process_alerts(settings, os_client=os_client) == []  # nothing new
