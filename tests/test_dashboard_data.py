"""Dashboard queries against a real osmem-server: raw aggregates and AD results for a window."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from opensearchpy import helpers

from dashboard.data.inputs import parse_alerts, parse_crosscheck, parse_labels
from dashboard.data.loader import load_dashboard_data
from dashboard.data.raw import bucket_interval_ms, fetch_raw_summary
from dashboard.data.results import fetch_results, parse_result, resolve_detector_name
from dashboard.data.values import to_ms
from dashboard.sample_data import engine_detector_ids, index_window
from wafad.catalogue import DETECTORS, INDICATOR_FIELDS

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
MINUTES = 30
ANOMALIES = [("httpStatus", 12, 18), ("country", 20, 25)]


def _minute(doc: dict) -> int:
    return (doc["timestamp"] - START_MS) // 60_000


def test_raw_summary_matches_the_documents(settings, os_client) -> None:
    raw, _ = index_window(os_client, settings, START, MINUTES, anomalies=ANOMALIES, per_minute=12)
    end_ms = START_MS + MINUTES * 60_000
    s = fetch_raw_summary(os_client, f"{settings.index_prefix}-*", START_MS, end_ms, interval_ms=60_000)

    assert s.doc_count == len(raw)
    assert s.times == [START_MS + m * 60_000 for m in range(MINUTES)]
    per_min = Counter(_minute(d) for d in raw)
    assert s.total == [per_min[m] for m in range(MINUTES)]
    for ind in INDICATOR_FIELDS:
        expected = [sum(d[ind] for d in raw if _minute(d) == m) for m in range(MINUTES)]
        assert s.indicators[ind] == expected, ind
    blocks = [sum(1 for d in raw if _minute(d) == m and d["action"] == "BLOCK") for m in range(MINUTES)]
    assert s.by_action["BLOCK"] == blocks
    allowed = [sum(1 for d in raw if _minute(d) == m and d["action"] == "ALLOW") for m in range(MINUTES)]
    assert s.by_action["allow-listed"] == allowed
    fives = [sum(1 for d in raw if _minute(d) == m and 500 <= d["httpStatus"] < 600) for m in range(MINUTES)]
    assert s.by_status["5xx"] == fives
    # the live window (the last 30 minutes: all of this window) has status classes; the injected window stands out
    assert s.live_start_ms == START_MS
    assert sum(fives[12:18]) > 3 * sum(fives[:12])

    countries = Counter(d["httpRequest"]["country"] for d in raw)
    assert [(c, n) for c, n, _ in s.top_countries] == sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    bad = Counter(d["httpRequest"]["country"] for d in raw if d["country_bad"])
    assert {c: b for c, _, b in s.top_countries} == {c: bad.get(c, 0) for c, _, _ in s.top_countries}
    ips = Counter(d["httpRequest"]["clientIp"] for d in raw)
    assert s.top_ips[0][1] == max(ips.values())
    uris = Counter(d["httpRequest"]["uri"] for d in raw)
    assert dict(s.top_uris) == {u: n for u, n in uris.items() if (u, n) in s.top_uris} and s.top_uris
    assert sorted(n for _, n in s.top_uris) == sorted(uris.values())[-len(s.top_uris) :]
    bad_countries = {c for c, n, b in s.top_countries if b == n and n > 0}
    assert set(s.unknown_countries) <= bad_countries | {"(none)"}

    # samples: newest first, all with a bad indicator, plain strings
    assert 0 < len(s.samples) <= 25
    times = [row["time"] for row in s.samples]
    assert times == sorted(times, reverse=True)


def test_status_classes_cover_the_live_window_only(settings, os_client) -> None:
    raw, _ = index_window(os_client, settings, START, 40, per_minute=4)
    s = fetch_raw_summary(os_client, f"{settings.index_prefix}-*", START_MS, START_MS + 40 * 60_000, interval_ms=60_000)
    assert s.live_start_ms == START_MS + 10 * 60_000
    per_min = Counter(_minute(d) for d in raw)
    classes = [sum(v[m] for v in s.by_status.values()) for m in range(40)]
    assert classes == [0] * 10 + [per_min[m] for m in range(10, 40)]


def test_raw_summary_of_a_missing_index_is_empty(settings, os_client) -> None:
    s = fetch_raw_summary(os_client, f"{settings.index_prefix}-*", START_MS, START_MS + 600_000, interval_ms=60_000)
    assert s.doc_count == 0 and s.total == [0] * 10 and s.samples == []


def test_results_grouped_per_detector_with_engine_ids(settings, os_client) -> None:
    ids = engine_detector_ids()
    index_window(os_client, settings, START, MINUTES, anomalies=ANOMALIES, per_minute=8, detector_ids=ids)
    groups = fetch_results(os_client, settings.results_index, START_MS, START_MS + MINUTES * 60_000)

    names = [g.name for g in groups if g.entity is None]
    assert names == [d.name for d in DETECTORS if not d.is_high_cardinality]  # catalogue order, ids mapped back
    hc = [g for g in groups if g.name == "waf-country-hc"]
    assert sorted(g.entity for g in hc) == [f"httpRequest.country={c}" for c in ("GB", "RU", "US")]
    status = next(g for g in groups if g.name == "waf-http-status-5xx")
    assert status.detector_id == ids["waf-http-status-5xx"]
    assert [p.start for p in status.points] == [START_MS + m * 60_000 for m in range(MINUTES)]
    assert status.source == "real-time"
    assert status.anomalies and all(12 <= (p.start - START_MS) // 60_000 < 18 for p in status.anomalies)
    for p in status.points:  # expected values only where the grade is positive (AD schema)
        assert bool(p.expected) == ((p.grade or 0) > 0)
        assert set(p.features) == {"status_bad"}
    quiet = next(g for g in groups if g.name == "waf-http-source")
    assert quiet.anomalies == [] and quiet.max_grade == 0.0


def test_historical_results_are_kept_apart(settings, os_client) -> None:
    index_window(os_client, settings, START, 12, per_minute=4, historical_task="task-1", anomalies=[("action", 9, 11)])
    groups = fetch_results(os_client, settings.results_index, START_MS, START_MS + 12 * 60_000)
    block = next(g for g in groups if g.name == "waf-block-action")
    assert block.realtime == [] and len(block.historical) == 12 and block.source == "historical"
    assert block.points is block.historical


def test_result_documents_parse_like_the_ad_schema() -> None:
    no_data = {
        "detector_id": "x",
        "data_start_time": START_MS,
        "data_end_time": START_MS + 60_000,
        "feature_data": [],
        "error": "No data in current window",
    }
    p = parse_result(no_data)
    assert p.error and p.grade is None and p.score is None and p.features == {}
    anomaly = {
        "detector_id": "x",
        "data_start_time": "2026-05-04T08:00:00Z",
        "data_end_time": "2026-05-04T08:01:00Z",
        "anomaly_score": 3.1,
        "anomaly_grade": 0.8125,
        "confidence": 0.93,
        "feature_data": [
            {"feature_id": "f1", "feature_name": "a", "data": 40.0},
            {"feature_id": "f2", "feature_name": "b", "data": 2.0},
        ],
        "relevant_attribution": [{"feature_id": "f1", "data": 0.9}, {"feature_id": "f2", "data": 0.1}],
        "expected_values": [
            {"likelihood": 0.2, "value_list": [{"feature_id": "f1", "data": 1.0}, {"feature_id": "f2", "data": 1.0}]},
            {"likelihood": 0.8, "value_list": [{"feature_id": "f1", "data": 9.0}, {"feature_id": "f2", "data": 2.0}]},
        ],
        "task_id": "t",
    }
    p = parse_result(anomaly)
    assert p.start == START_MS and p.historical
    assert p.expected == {"a": 9.0, "b": 2.0}  # the most likely expectation, by feature name
    assert p.attribution == {"a": 0.9, "b": 0.1}


def test_detector_names_resolve_tolerantly() -> None:
    id_map = {"abc": "waf-volume"}
    assert resolve_detector_name({"detector_id": "abc"}, id_map) == "waf-volume"
    assert (
        resolve_detector_name({"detector_id": "zzz", "detector_name": "waf-http-source"}, id_map) == "waf-http-source"
    )
    assert resolve_detector_name({"detector_id": "waf-country-hc"}, {}) == "waf-country-hc"
    assert resolve_detector_name({"detector_id": "local-waf-http-status-5xx-v2"}, {}) == "waf-http-status-5xx"
    assert resolve_detector_name({"detector_id": "Qx12unknown"}, {}) == "Qx12unknown"


def test_optional_inputs_parse() -> None:
    labels = parse_labels([{"field": "httpStatus", "start": "2026-05-04T08:12:00Z", "end": "2026-05-04T08:18:00Z"}])
    assert labels[0].start == START_MS + 12 * 60_000 and labels[0].intensity is None
    with pytest.raises(ValueError, match="bad label"):
        parse_labels([{"field": "httpStatus", "start": "yesterday", "end": "2026-05-04T08:18:00Z"}])

    # the alerting part's AlertMessage dict, and the contract's ISO form
    alerts = parse_alerts(
        [
            {
                "kind": "opened",
                "detector": "waf-country-hc",
                "detector_id": "id1",
                "entity": {"httpRequest.country": "RU"},
                "severity": "high",
                "subject": "s",
                "text": "t",
                "window_start_ms": START_MS,
                "window_end_ms": None,
                "max_grade": 0.9,
            },
            {"detector": "waf-volume", "kind": "resolved", "window_start": "2026-05-04T08:05:00Z", "text": "x"},
        ]
    )
    assert alerts[0].window_start == START_MS and alerts[0].window_end is None
    assert alerts[0].entity == "httpRequest.country=RU" and alerts[0].max_grade == 0.9
    assert alerts[1].window_start == START_MS + 5 * 60_000

    report = {"detector": "waf-volume", "verdict": "consistent", "agreement_rate": 0.9, "intervals": []}
    assert [c.detector for c in parse_crosscheck(report)] == ["waf-volume"]
    assert len(parse_crosscheck([report, {**report, "detector": "waf-http-source"}])) == 2
    assert len(parse_crosscheck({"reports": [report]})) == 1
    assert parse_crosscheck(None) == [] and parse_crosscheck({}) == []
    assert parse_crosscheck(report)[0].agreement == 0.9


def test_times_and_intervals() -> None:
    assert to_ms("2026-05-04T08:00:00Z") == to_ms(START) == to_ms(START_MS) == to_ms(START_MS / 1000)
    assert bucket_interval_ms(START_MS, START_MS + 3_600_000, 1) == 60_000
    week = bucket_interval_ms(START_MS, START_MS + 7 * 86_400_000, 1)
    assert 7 * 86_400_000 / week <= 720 and week % 60_000 == 0


def test_window_must_not_be_empty(settings, os_client) -> None:
    with pytest.raises(ValueError, match="before it starts"):
        load_dashboard_data(settings, START, START - timedelta(minutes=1), client=os_client)


def test_large_result_sets_are_read_completely(settings, os_client) -> None:
    """More result documents than one search page: the scan reads them all."""
    docs = [
        {
            "detector_id": f"waf-volume-{i % 3}",
            "data_start_time": START_MS + m * 60_000,
            "data_end_time": START_MS + (m + 1) * 60_000,
            "anomaly_grade": 0.0,
            "feature_data": [{"feature_id": "f", "feature_name": "requests", "data": float(m)}],
            "entity": [{"name": "httpRequest.country", "value": f"C{i}"}],
        }
        for i in range(5)
        for m in range(600)
    ]
    helpers.bulk(os_client, ({"_index": settings.results_index, "_source": d} for d in docs), refresh=True)
    groups = fetch_results(os_client, settings.results_index, START_MS, START_MS + 600 * 60_000)
    assert sum(len(g.points) for g in groups) == 3000
    assert {g.name for g in groups} == {"waf-volume"}


def test_an_interval_written_twice_counts_once(settings, os_client) -> None:
    """Cold-start training results, retries or a re-run write an interval again: the latest execution wins."""

    def doc(minute: int, grade: float, executed: int) -> dict:
        return {
            "detector_id": "waf-volume",
            "data_start_time": START_MS + minute * 60_000,
            "data_end_time": START_MS + (minute + 1) * 60_000,
            "execution_end_time": executed,
            "anomaly_grade": grade,
            "feature_data": [{"feature_id": "f", "feature_name": "requests", "data": 1.0}],
        }

    docs = [doc(0, 0.0, 1), doc(1, 0.0, 1), doc(1, 0.5, 2), doc(2, 0.9, 5), doc(2, 0.0, 3)]
    helpers.bulk(os_client, ({"_index": settings.results_index, "_source": d} for d in docs), refresh=True)
    (group,) = fetch_results(os_client, settings.results_index, START_MS, START_MS + 3 * 60_000)
    assert [(p.start - START_MS) // 60_000 for p in group.points] == [0, 1, 2]
    assert [p.grade for p in group.points] == [0.0, 0.5, 0.9]
