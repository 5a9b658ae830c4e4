"""The local AD engine over osmem, and the whole detectors -> alerts path with injected windows.

Raw WAF documents (indicator fields set, as the Firehose transform writes them) are indexed straight into
osmem: a few hours at a low rate with anomalous windows injected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from opensearchpy import helpers

from detectors.engine_models import model_key
from detectors.local_engine import LocalADEngine, NotEnoughDataError, local_detector_id
from detectors.results import search_result_docs
from wafad.catalogue import get_detector, indicators

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
RAW_MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event_id": {"type": "keyword"},
        "action": {"type": "keyword"},
        "httpSourceName": {"type": "keyword"},
        "httpStatus": {"type": "short"},
        **{ind: {"type": "integer"} for ind in ("action_bad", "source_bad", "status_bad", "country_bad", "method_bad")},
        "httpRequest": {
            "properties": {
                "country": {"type": "keyword"},
                "clientIp": {"type": "ip"},
                "uri": {"type": "keyword"},
                "args": {"type": "keyword"},
                "httpMethod": {"type": "keyword"},
            }
        },
    }
}
COUNTRIES = ("GB", "US", "IN", "DE", "FR")


@dataclass(frozen=True)
class Window:
    """Minutes [start, start+length) where ``extra`` bad requests per minute arrive."""

    start: int
    length: int
    extra: int
    kind: str = "status"  # status: 5xx from the usual mix; country: a flood from one country (BR)


def waf_docs(minutes: int, windows: list[Window], *, rate: int = 8, seed: int = 3) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    for m in range(minutes):
        n = rate + int(rng.integers(-1, 2))
        reqs: list[tuple[int, str, str, str]] = [
            (200 if rng.random() > 0.02 else 503, str(rng.choice(COUNTRIES)), "/index.html", "") for _ in range(n)
        ]
        for w in windows:
            if w.start <= m < w.start + w.length:
                if w.kind == "status":
                    reqs += [(503, str(rng.choice(COUNTRIES)), "/<script>alert(1)</script>", "x=\x1b[31m")] * w.extra
                else:
                    reqs += [(200, "BR", "/wp-login.php", "u=admin\r\nX: 1")] * w.extra
        for k, (status, country, uri, args) in enumerate(reqs):
            ts = T0 + m * MIN + timedelta(seconds=(k * 59) // max(1, len(reqs)))
            rec = {
                "action": "ALLOW",
                "httpSourceName": "ALB",
                "httpStatus": status,
                "httpRequest": {
                    "country": country,
                    "clientIp": f"198.51.100.{(m * 7 + k) % 250 + 1}" if uri == "/index.html" else "203.0.113.66",
                    "uri": uri,
                    "args": args,
                    "httpMethod": "GET",
                },
            }
            yield {
                "@timestamp": ts.isoformat(timespec="milliseconds"),
                "event_id": f"m{m}-{k}",
                **rec,
                **indicators(rec),
            }


def index_docs(os_client: Any, index_prefix: str, docs: Iterator[dict[str, Any]]) -> int:
    index = f"{index_prefix}-2026.01.01"
    if not os_client.indices.exists(index=index):
        os_client.indices.create(index=index, body={"mappings": RAW_MAPPING})
    ok, _ = helpers.bulk(os_client, ({"_index": index, "_id": d["event_id"], **d} for d in docs), refresh=True)
    return ok


def test_realtime_results_carry_ad_fields_and_continue_between_runs(settings, os_client) -> None:
    index_docs(os_client, settings.index_prefix, waf_docs(150, [Window(110, 4, 20)]))
    engine = LocalADEngine(settings, os_client)
    spec = get_detector("waf-http-status-5xx")
    first = engine.run(spec, T0 + 60 * MIN, T0 + 100 * MIN, mode="realtime")
    # cold start on the 40 preceding intervals (written, as AD 3.1+ does) + 40 live ones
    assert (first.intervals, first.results_written, first.entities) == (40, 80, 1)
    # the model is in the shared store (S3), where any worker continues it
    assert engine.store.get(model_key(first.detector_id, None, settings.results_index)) is not None
    second = engine.run(spec, T0 + 90 * MIN, T0 + 150 * MIN, mode="realtime")  # overlaps: only new windows
    assert second.results_written == 50
    docs = search_result_docs(os_client, settings.results_index, detector_id=local_detector_id(spec))
    ends = [d["data_end_time"] for d in docs]
    assert len(ends) == len(set(ends)) == 130 and ends == sorted(ends)
    assert ends[0] == int((T0 + 21 * MIN).timestamp() * 1000)
    doc = docs[-1]
    for key in (
        "detector_id",
        "schema_version",
        "data_start_time",
        "data_end_time",
        "execution_start_time",
        "execution_end_time",
        "anomaly_score",
        "anomaly_grade",
        "confidence",
        "threshold",
        "feature_data",
        "model_id",
    ):
        assert key in doc, key
    assert "task_id" not in doc and "entity" not in doc
    assert doc["feature_data"][0]["feature_name"] == "status_bad"
    assert doc["data_end_time"] - doc["data_start_time"] == 60_000
    flagged = [d for d in docs if d["anomaly_grade"] > 0]
    assert flagged, "the injected 5xx window was not flagged"
    window_ms = (int((T0 + 110 * MIN).timestamp() * 1000), int((T0 + 114 * MIN).timestamp() * 1000))
    assert any(window_ms[0] <= d["data_start_time"] <= window_ms[1] for d in flagged)
    for d in flagged:
        assert {"approx_anomaly_start_time", "relevant_attribution", "expected_values"} <= set(d)
    assert docs[-1]["confidence"] > docs[45]["confidence"] > 0  # confidence grows with data
    # the raw counts went in unchanged
    assert docs[-1]["feature_data"][0]["data"] == float(
        os_client.count(
            index=f"{settings.index_prefix}-*",
            body={
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"status_bad": 1}},
                            {"range": {"@timestamp": {"gte": doc["data_start_time"], "lt": doc["data_end_time"]}}},
                        ]
                    }
                }
            },
        )["count"]
    )


def test_historical_and_high_cardinality(settings, os_client) -> None:
    index_docs(os_client, settings.index_prefix, waf_docs(100, [Window(80, 5, 25, kind="country")]))
    engine = LocalADEngine(settings, os_client)
    spec = get_detector("waf-country-hc")
    hist = engine.run(spec, T0, T0 + 100 * MIN, mode="historical")
    assert hist.task_id and hist.entities == len(COUNTRIES) + 1
    docs = search_result_docs(os_client, settings.results_index, task_id=hist.task_id)
    assert len(docs) == hist.results_written
    assert all(d["task_id"] == hist.task_id and d["entity"][0]["name"] == "httpRequest.country" for d in docs)
    assert {d["entity"][0]["value"] for d in docs} == {*COUNTRIES, "BR"}
    assert not search_result_docs(os_client, settings.results_index)  # nothing real-time
    model_ids = {d["entity"][0]["value"]: d["model_id"] for d in docs}
    assert len(set(model_ids.values())) == len(model_ids)
    with pytest.raises(NotEnoughDataError):
        engine.run(spec, T0, T0 + 20 * MIN, mode="historical")
    with pytest.raises(ValueError, match="empty range"):
        engine.run(spec, T0, T0, mode="realtime")


def test_cold_start_is_bounded_by_the_earliest_document(settings, os_client) -> None:
    """Starting where the data starts: no training on the empty intervals before it (AD's getMinDataTime)."""
    index_docs(os_client, settings.index_prefix, waf_docs(70, []))
    engine = LocalADEngine(settings, os_client)
    spec = get_detector("waf-volume")
    report = engine.run(spec, T0, T0 + 70 * MIN, mode="realtime")
    assert report.results_written == 70
    docs = search_result_docs(os_client, settings.results_index, detector_id=local_detector_id(spec))
    assert docs[0]["data_start_time"] == int(T0.timestamp() * 1000)
    assert all(d["feature_data"][0]["data"] > 0 for d in docs)
    assert not [d for d in docs if d["anomaly_grade"] > 0]  # steady traffic: nothing to flag
