"""Incident logic on sequences of AD result documents (pure functions, no services)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.incidents import AlertPolicy, IncidentState, advance, is_alerting, severity

MIN = 60_000
T0 = 1_767_225_600_000
POLICY = AlertPolicy(min_grade=0.0, min_confidence=0.5, cooldown_ms=10 * MIN, max_quiet_ms=40 * MIN)


def doc(
    i: int,
    value: float = 3.0,
    grade: float = 0.0,
    *,
    confidence: float = 0.9,
    detector: str = "det",
    country: str | None = None,
    expected: float = 3.0,
    approx_back: int = 0,
    error: bool = False,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "detector_id": detector,
        "data_start_time": T0 + i * MIN,
        "data_end_time": T0 + (i + 1) * MIN,
        "execution_end_time": T0 + (i + 3) * MIN,
        "feature_data": [] if error else [{"feature_id": "f", "feature_name": "status_bad", "data": value}],
    }
    if error:
        d["error"] = "No data in current window"
        return d
    d.update(anomaly_score=1.0 + grade, anomaly_grade=grade, confidence=confidence, threshold=1.5)
    if grade > 0:
        d["expected_values"] = [{"likelihood": 1.0, "value_list": [{"feature_id": "f", "data": expected}]}]
        d["relevant_attribution"] = [{"feature_id": "f", "data": 1.0}]
        d["approx_anomaly_start_time"] = T0 + (i - approx_back) * MIN
    if country:
        d["entity"] = [{"name": "httpRequest.country", "value": country}]
    return d


def series(anomalous: dict[int, float], n: int = 120, *, high: dict[int, float] | None = None, **kw: Any):
    """n clean intervals at ~3, with grades at ``anomalous`` and raised values at ``high``."""
    high = high or {}
    return [doc(i, high.get(i, 3.0 + (i % 3)), anomalous.get(i, 0.0), **kw) for i in range(n)]


def high(a: int, b: int, value: float = 40.0) -> dict[int, float]:
    return {i: value for i in range(a, b)}


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_clean_series_gives_no_events() -> None:
    assert advance(IncidentState(), series({}), POLICY) == []


def test_one_window_with_several_flags_is_one_incident() -> None:
    high = {i: 40.0 for i in range(50, 60)}
    events = advance(IncidentState(), series({50: 1.0, 51: 0.8125, 55: 0.5, 60: 0.9}, high=high), POLICY)
    assert kinds(events) == ["opened", "resolved"]
    opened, resolved = (e.incident for e in events)
    assert opened.key == resolved.key
    assert opened.start_ms == T0 + 50 * MIN
    assert resolved.anomalous_intervals == 4 and resolved.max_grade == 1.0
    assert resolved.end_ms == T0 + 61 * MIN  # last flagged interval's end


def test_resolution_waits_for_values_to_come_back() -> None:
    """A long level shift flagged only at its start stays one incident until the level returns."""
    events = advance(IncidentState(), series({50: 1.0}, high=high(50, 80)), POLICY)
    assert kinds(events) == ["opened", "resolved"]
    # it lasted while the values stayed up, not just the flagged interval
    assert events[1].incident.end_ms == T0 + 80 * MIN


def test_resolution_after_max_quiet_even_if_the_level_stays() -> None:
    events = advance(IncidentState(), series({50: 1.0}, n=200, high=high(50, 200)), POLICY)
    assert kinds(events) == ["opened", "resolved"]


def test_separate_windows_are_separate_incidents_and_cooldown_merges_short_gaps() -> None:
    events = advance(IncidentState(), series({20: 1.0, 26: 1.0, 70: 1.0}, high=high(20, 28) | high(70, 73)), POLICY)
    assert kinds(events) == ["opened", "resolved", "opened", "resolved"]
    assert events[1].incident.anomalous_intervals == 2  # 6-minute gap < cooldown: merged


def test_thresholds_on_grade_and_confidence() -> None:
    strict = AlertPolicy(min_grade=0.5, min_confidence=0.7, cooldown_ms=10 * MIN)
    assert not is_alerting(doc(1, grade=0.5), strict)  # grade must be > min_grade
    assert is_alerting(doc(1, grade=0.5625), strict)
    assert not is_alerting(doc(1, grade=1.0, confidence=0.69), strict)
    assert is_alerting(doc(1, grade=1.0, confidence=0.7), strict)
    assert not is_alerting(doc(1, error=True), strict)
    low_conf = series({20: 1.0}, confidence=0.3, high=high(20, 25))
    assert advance(IncidentState(), low_conf, POLICY) == []


def test_entities_and_detectors_are_separate_series() -> None:
    up = high(20, 24)
    docs = (
        series({20: 1.0}, country="FR", high=up)
        + series({20: 1.0}, country="GB", high=up)
        + series({20: 1.0}, detector="other", high=up)
    )
    events = advance(IncidentState(), docs, POLICY)
    assert kinds(events).count("opened") == 3 and kinds(events).count("resolved") == 3
    assert {e.incident.key.split("|")[1] for e in events} == {"httpRequest.country=FR", "httpRequest.country=GB", ""}


def test_incident_start_uses_approx_anomaly_start_time() -> None:
    events = advance(IncidentState(), series({30: 1.0}, approx_back=3, high=high(30, 33)), POLICY)
    assert events[0].incident.start_ms == T0 + 27 * MIN


def test_state_carries_across_runs_and_rereads_are_ignored() -> None:
    docs = series({50: 1.0, 52: 1.0}, high=high(50, 53))
    state = IncidentState()
    first = advance(state, docs[:55], POLICY)
    assert kinds(first) == ["opened"]
    restored = IncidentState.from_dict(state.to_dict())
    second = advance(restored, docs[40:], POLICY)  # overlaps the first run
    assert kinds(second) == ["resolved"]
    assert second[0].incident.key == first[0].incident.key
    assert advance(restored, docs, POLICY) == []


def test_error_documents_neither_open_nor_resolve() -> None:
    docs = series({20: 1.0}, n=25, high=high(20, 25)) + [doc(i, error=True) for i in range(25, 60)]
    events = advance(IncidentState(), docs, POLICY)
    assert kinds(events) == ["opened"]


def test_historical_results_are_ignored() -> None:
    docs = series({20: 1.0}, high=high(20, 25))
    for d in docs:
        d["task_id"] = "hist"
    assert advance(IncidentState(), docs, POLICY) == []


@pytest.mark.parametrize(("grade", "expected"), [(1.0, "high"), (0.9, "high"), (0.8125, "medium"), (0.25, "low")])
def test_severity(grade: float, expected: str) -> None:
    assert severity(grade) == expected


def test_a_one_interval_blip_is_not_an_incident() -> None:
    """Flagged, but the very next intervals are back to normal: sparse-count noise, not an incident."""
    assert advance(IncidentState(), series({40: 1.0}, high={40: 9.0}), POLICY) == []
    immediate = AlertPolicy(min_confidence=0.5, cooldown_ms=10 * MIN, confirm_intervals=0)
    assert kinds(advance(IncidentState(), series({40: 1.0}, high={40: 9.0}), immediate)) == ["opened", "resolved"]


def test_confirmation_can_come_from_the_second_interval_and_across_runs() -> None:
    docs = series({40: 1.0}, high={40: 30.0, 42: 30.0, 43: 30.0})  # 41 is normal, 42 still elevated
    state = IncidentState()
    assert advance(state, docs[:42], POLICY) == []  # pending after 40 and 41
    restored = IncidentState.from_dict(state.to_dict())
    events = advance(restored, docs[42:], POLICY)
    assert kinds(events) == ["opened", "resolved"]
    assert events[0].incident.start_ms == T0 + 40 * MIN
    assert events[1].incident.end_ms == T0 + 44 * MIN


@settings(max_examples=60, deadline=None)
@given(
    flags=st.dictionaries(st.integers(0, 199), st.sampled_from([0.0625, 0.5, 1.0]), max_size=12),
    windows=st.lists(st.tuples(st.integers(0, 190), st.integers(1, 20)), max_size=4),
    split=st.integers(0, 200),
)
def test_events_alternate_and_split_runs_equal_one_run(
    flags: dict[int, float], windows: list[tuple[int, int]], split: int
) -> None:
    raised: dict[int, float] = {}
    for a, length in windows:
        raised |= high(a, a + length)
    docs = series(flags, n=200, high=raised)
    whole = advance(IncidentState(), docs, POLICY)
    state = IncidentState()
    parts = advance(state, docs[:split], POLICY)
    parts += advance(IncidentState.from_dict(state.to_dict()), docs[split:], POLICY)
    assert [(e.kind, e.incident.key) for e in parts] == [(e.kind, e.incident.key) for e in whole]
    assert kinds(whole) == ["opened", "resolved"] * (len(whole) // 2) + (["opened"] if len(whole) % 2 else [])
    assert len([e for e in whole if e.kind == "opened"]) <= len(flags)
    for e in whole:  # every incident began at a flag that was followed by raised values or another flag
        start = (e.incident.start_ms - T0) // MIN
        assert start in flags
