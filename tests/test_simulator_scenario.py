"""Anomaly specs, scenarios and ground-truth labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulator import DEFAULT_INTENSITY, Anomaly, AnomalySpecError, Scenario, parse_anomaly, parse_duration

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "field", "start_min", "dur_min", "k"),
    [
        ("httpStatus@20m+10m[x5]", "httpStatus", 20, 10, 5.0),
        ("country@0m+1h", "country", 0, 60, DEFAULT_INTENSITY),
        ("action@1h30m+90s[x2.5]", "action", 90, 1.5, 2.5),
        ("volume@5m+5m[x0.5]", "volume", 5, 5, 0.5),
        ("ip_flood@10m+2m[x3]", "ip_flood", 10, 2, 3.0),
        ("uri_scan@00:15+00:05[10]", "uri_scan", 15, 5, 10.0),
        ("httpMethod@2024-05-01T10:40:00Z+5m[x4]", "httpMethod", 40, 5, 4.0),
        (" httpSourceName@2024-05-01T12:40:00+02:00+5m ", "httpSourceName", 40, 5, DEFAULT_INTENSITY),
    ],
)
def test_parse_anomaly(spec: str, field: str, start_min: float, dur_min: float, k: float) -> None:
    a = parse_anomaly(spec, START)
    assert a.field == field
    assert a.start == START + timedelta(minutes=start_min)
    assert a.end - a.start == timedelta(minutes=dur_min)
    assert a.intensity == k
    assert a.start.tzinfo is not None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("status@20m+10m", "unknown field 'status'"),
        ("httpStatus20m+10m", "expected FIELD@OFFSET+DURATION"),
        ("httpStatus@20m", "missing +DURATION"),
        ("httpStatus@20x+10m", "not a duration"),
        ("httpStatus@20m+10m[xfive]", "is not a number"),
        ("httpStatus@20m+0m", "duration must be positive"),
        ("httpStatus@20m+10m[x0]", "intensity must be in"),
        ("httpStatus@20m+10m[x-2]", "intensity must be in"),
        ("ip_flood@20m+10m[x1]", "must be > 1"),
        ("httpStatus@2024-13-01T00:00:00Z+5m", "not an ISO-8601 time"),
        ("", "expected FIELD@OFFSET+DURATION"),
    ],
)
def test_parse_anomaly_errors_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(AnomalySpecError) as err:
        parse_anomaly(spec, START)
    assert message in str(err.value)


def test_parse_duration() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("45s") == timedelta(seconds=45)
    assert parse_duration("01:02:03") == timedelta(hours=1, minutes=2, seconds=3)
    for bad in ("", "h", "10", "5m3", "1w"):
        with pytest.raises(AnomalySpecError):
            parse_duration(bad)


def test_anomaly_validation() -> None:
    with pytest.raises(AnomalySpecError):
        Anomaly("httpStatus", START, START)
    with pytest.raises(AnomalySpecError):
        Anomaly("nope", START, START + timedelta(minutes=1))
    naive = Anomaly("country", datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 11), 3)
    assert naive.start == START


def test_labels_are_iso_utc_sorted_and_clipped() -> None:
    anomalies = [
        parse_anomaly("country@50m+20m[x3]", START),  # runs past the end: clipped
        parse_anomaly("httpStatus@20m+10m[x5]", START),
        Anomaly("volume", START - timedelta(hours=2), START - timedelta(hours=1), 2),  # outside: dropped
    ]
    sc = Scenario(START, timedelta(hours=1), 4, anomalies, seed=1)
    assert sc.labels() == [
        {"field": "httpStatus", "start": "2024-05-01T10:20:00Z", "end": "2024-05-01T10:30:00Z", "intensity": 5.0},
        {"field": "country", "start": "2024-05-01T10:50:00Z", "end": "2024-05-01T11:00:00Z", "intensity": 3.0},
    ]
    assert Anomaly.from_label(sc.labels()[0]) == anomalies[1]


def test_scenario_validation() -> None:
    with pytest.raises(ValueError):
        Scenario(START, timedelta(0), 4, [], 1)
    with pytest.raises(ValueError):
        Scenario(START, timedelta(hours=1), 0, [], 1)
    with pytest.raises(ValueError):
        Scenario(START, timedelta(hours=1), 4, [], -1)
