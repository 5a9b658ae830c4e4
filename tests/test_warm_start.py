"""Warm start on the session's osmem: simulated WAF traffic (the simulator's records, transformed by the Firehose
transform and indexed under the ingest template), then the local engine in real time with and without a model
warmed on the previous hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import helpers

from detectors.engine_models import model_key
from detectors.local_engine import LocalADEngine, local_detector_id
from detectors.results import search_result_docs
from detectors.warm_start import intervals_to_confidence, warm_start, warm_start_detectors
from ingest.index_template import ensure_index_template
from ingest.transform import to_document
from offline_rcf.record_query import load_records
from offline_rcf.replay import record_files
from simulator import Scenario, parse_anomaly, simulate
from wafad.catalogue import DEFAULT_ALLOW, get_detector

S0 = datetime(2026, 2, 3, 6, tzinfo=UTC)  # the stream's first record
H = timedelta(hours=1)
SPEC = get_detector("waf-http-status-5xx")
KEYS = ("anomaly_score", "anomaly_grade", "confidence", "threshold", "data_start_time", "data_end_time")


@pytest.fixture
def stream(settings, os_client, tmp_path) -> Path:
    """Three simulated hours from S0 (one 5xx window in the last hour) as raw logs in a folder and in the index."""
    folder = tmp_path / "logs"
    scenario = Scenario(
        start=S0, duration=3 * H, rate=0.6, anomalies=[parse_anomaly("httpStatus@150m+10m[x8]", S0)], seed=21
    )
    simulate(scenario, str(folder))
    ensure_index_template(os_client, settings)
    docs = (
        json.loads(to_document(json.dumps(r).encode(), DEFAULT_ALLOW)) for r in load_records(record_files([folder]))
    )
    actions = ({"_index": f"{settings.index_prefix}-{d['@timestamp'][:10].replace('-', '.')}", **d} for d in docs)
    ok, _ = helpers.bulk(os_client, actions, refresh=True, chunk_size=2000)
    assert ok > 5000
    return folder


def _other(settings, name: str) -> Any:
    """The same stack and index, another engine: its own model folder and results index."""
    return settings.model_copy(
        update={"state_dir": settings.state_dir.parent / name, "results_index": f"{settings.results_index}-{name}"}
    )


def _results(os_client, settings, start: datetime, end: datetime) -> list[dict[str, Any]]:
    docs = search_result_docs(os_client, settings.results_index, detector_id=local_detector_id(SPEC))
    lo, hi = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    return [{k: d.get(k) for k in KEYS} for d in docs if lo <= d["data_start_time"] < hi]


def test_handed_over_model_continues_as_the_model_that_scored_the_history(settings, os_client, stream) -> None:
    t = S0 + 2 * H
    # reference: the engine itself scored the two hours in real time, then went on
    ref = _other(settings, "ref")
    LocalADEngine(ref, os_client).run(SPEC, S0, S0 + 3 * H, mode="realtime")
    expected = _results(os_client, ref, t, S0 + 3 * H)
    # warm start from the index: a model warmed on the same two hours, handed to a fresh engine at t
    engine = LocalADEngine(settings, os_client)
    report = warm_start(engine, SPEC, t, hours=2)
    assert (report.series, report.kept, report.intervals) == (1, 0, 120)
    assert (
        engine.store.get(model_key(report.detector_id, None, settings.results_index)) is not None
    )  # handed over in the model store
    assert report.confidence is not None and report.confidence >= 0.7
    run = engine.run(SPEC, t, S0 + 3 * H, mode="realtime")
    assert run.results_written == 60  # no cold-start results: the history is context, not detections
    got = _results(os_client, settings, t, S0 + 3 * H)
    assert len(got) == 60 and got == expected
    assert any(r["anomaly_grade"] > 0 for r in got), "the 5xx window in the last hour was not flagged"
    # the same history read from the raw logs gives the same model
    raw = _other(settings, "raw")
    raw_engine = LocalADEngine(raw, os_client)
    assert warm_start(raw_engine, SPEC, t, hours=2, source=str(stream)).intervals == 120
    raw_engine.run(SPEC, t, S0 + 3 * H, mode="realtime")
    assert _results(os_client, raw, t, S0 + 3 * H) == expected
    # a second warm start keeps the model the real-time run has moved on
    again = warm_start(engine, SPEC, S0 + 3 * H, hours=2)
    assert (again.series, again.kept) == (0, 1)


def test_cold_start_time_drops_with_warm_start(settings, os_client, stream) -> None:
    """Intervals before the first result with confidence >= 0.7: AD's 40-interval cold start against 2 h warm."""
    t = S0 + 2 * H
    cold = _other(settings, "cold")
    LocalADEngine(cold, os_client).run(SPEC, t, S0 + 3 * H, mode="realtime")
    cold_live = [r["confidence"] for r in _results(os_client, cold, t, S0 + 3 * H)]
    engine = LocalADEngine(settings, os_client)
    warm_start(engine, SPEC, t, hours=2)
    engine.run(SPEC, t, S0 + 3 * H, mode="realtime")
    warm_live = [r["confidence"] for r in _results(os_client, settings, t, S0 + 3 * H)]
    cold_n, warm_n = intervals_to_confidence(cold_live), intervals_to_confidence(warm_live)
    assert cold_n is not None and warm_n is not None
    assert cold_n >= 30 and warm_n <= 5, (cold_n, warm_n)  # ~50 min cold, within minutes warm
    assert cold_live[0] < 0.5 < 0.7 <= warm_live[0]


def test_a_stream_without_history_cold_starts_as_before(settings, os_client, stream) -> None:
    engine = LocalADEngine(settings, os_client)
    (report,) = warm_start_detectors(settings, S0, detectors=[SPEC.name], os_client=os_client)
    assert (report.series, report.kept, report.intervals) == (0, 0, 0) and report.confidence is None
    assert "cold start applies" in report.notes[-1]
    assert engine.store.get(model_key(report.detector_id, None, settings.results_index)) is None
    engine.run(SPEC, S0, S0 + H, mode="realtime")
    plain = _other(settings, "plain")
    LocalADEngine(plain, os_client).run(SPEC, S0, S0 + H, mode="realtime")
    assert _results(os_client, settings, S0, S0 + H) == _results(os_client, plain, S0, S0 + H)
    with pytest.raises(ValueError, match=">= 0"):
        warm_start(engine, SPEC, S0, hours=-1)
