"""The demo's own checks: reconciliation of every hop, window scoring, transient-error retry policy."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import botocore.exceptions as bex
import opensearchpy.exceptions as oex
import pytest

from flows.common import hour_windows, settings_env
from flows.simulate import anomaly_spec
from tasks.checks import Detection, count_object_lines, reconcile, score_windows
from tasks.common import is_transient, retry_on_transient

T0 = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


def _label(field: str, start_min: int, minutes: int = 15) -> dict:
    s = T0 + timedelta(minutes=start_min)
    return {"field": field, "start": s.isoformat(), "end": (s + timedelta(minutes=minutes)).isoformat(), "intensity": 6}


def _det(detector: str, watches: str, minute: int, grade: float = 0.5) -> Detection:
    s = T0 + timedelta(minutes=minute)
    return Detection(detector, watches, s, s + timedelta(minutes=1), grade, 0.9)


def test_count_object_lines_gzip_and_blank_lines() -> None:
    body = gzip.compress(b'{"a":1}\n\n{"a":2}\n{"a":3}')
    assert count_object_lines(body) == 3
    assert count_object_lines(b'{"a":1}\n') == 1


def test_split_s3_ref() -> None:
    from tasks.checks import split_s3_ref

    assert split_s3_ref("s3://b/AWSLogs/x.gz", "other") == ("b", "AWSLogs/x.gz")
    assert split_s3_ref("AWSLogs/x.gz", "other") == ("other", "AWSLogs/x.gz")


def test_reconcile_balanced_has_no_problems() -> None:
    rec = reconcile(100, 100, {"records": 100}, {"read": 100, "indexed": 98, "dropped": 2, "processing_failed": 0}, 98)
    assert rec.set_aside == 2  # set aside is accounted for, not lost
    assert rec.problems == []
    relay = {"read": 100, "sent": 99, "dead_lettered": 1}
    rec = reconcile(100, 100, relay, {"read": 99, "indexed": 99}, 99)
    assert rec.problems == [] and rec.set_aside == 1


def test_reconcile_reports_each_lossy_hop() -> None:
    rec = reconcile(100, 99, {"records": 97}, {"read": 96, "indexed": 90, "index_failed": 1}, 89)
    text = " | ".join(rec.problems)
    assert "S3 holds 99 lines but the simulator wrote 100" in text
    assert "put 97 records (+ 0 set aside) for 99 S3 lines" in text
    assert "delivery read 96 Kinesis records, expected 97" in text
    assert "indexed 90 + set aside 1 = 91" in text
    assert "OpenSearch holds 89" in text


def test_score_windows_detects_with_lag_and_flags_false_alerts() -> None:
    labels = [_label("httpStatus", 120), _label("country", 200)]
    detections = [
        _det("waf-http-status-5xx", "httpStatus", 125, 0.3),
        _det("waf-http-status-5xx", "httpStatus", 127, 0.8),
        _det("waf-unknown-country", "country", 219, 0.4),  # 4 min after the end: within the lag
        _det("waf-block-action", "action", 60, 0.2),  # outside every window
    ]
    alerts = [
        {"detector": "waf-http-status-5xx", "data_start_time": (T0 + timedelta(minutes=125)).isoformat()},
        {"detector": "waf-block-action", "data_start_time": (T0 + timedelta(minutes=60)).isoformat()},
    ]
    card = score_windows(labels, detections, alerts, lag=timedelta(minutes=10))
    status, country = card.windows
    assert status.detected and status.max_grade == 0.8 and status.delay_minutes == 5
    assert country.detected and country.first_detection == T0 + timedelta(minutes=219)
    assert card.detections_outside == 1
    assert [a["detector"] for a in card.alerts_outside] == ["waf-block-action"]
    assert len(card.problems) == 1 and "alert outside" in card.problems[0]


def test_score_windows_undetected_window_is_a_problem() -> None:
    labels = [_label("action", 120)]
    card = score_windows(labels, [_det("waf-http-source", "httpSourceName", 125)], [], lag=timedelta(minutes=10))
    assert not card.windows[0].detected
    assert "action window" in card.problems[0]
    # a detection after the lag does not count
    card = score_windows(labels, [_det("waf-block-action", "action", 150)], [], lag=timedelta(minutes=10))
    assert not card.windows[0].detected


def _client_error(code: str, status: int) -> bex.ClientError:
    return bex.ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutRecords")


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (_client_error("ProvisionedThroughputExceededException", 400), True),
        (_client_error("SlowDown", 503), True),
        (_client_error("InternalError", 500), True),
        (_client_error("NoSuchBucket", 404), False),
        (_client_error("ValidationException", 400), False),
        (bex.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (oex.ConnectionTimeout("TIMEOUT", "timed out", None), True),
        (oex.TransportError(429, "too_many_requests", {}), True),
        (oex.RequestError(400, "mapper_parsing_exception", {}), False),
        (oex.NotFoundError(404, "index_not_found_exception", {}), False),
        (ValueError("bad input"), False),
        (KeyError("x"), False),
    ],
)
def test_is_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_is_transient_follows_cause() -> None:
    try:
        try:
            raise _client_error("ThrottlingException", 400)
        except bex.ClientError as inner:
            raise RuntimeError("relay failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def test_retry_condition_reads_the_failed_state() -> None:
    from prefect.states import Failed

    assert retry_on_transient(None, None, Failed(data=_client_error("ThrottlingException", 400)))
    assert not retry_on_transient(None, None, Failed(data=ValueError("bad")))


def test_small_helpers() -> None:
    assert anomaly_spec(None, 5) == []
    assert anomaly_spec("httpStatus[x8]", 5) == ["httpStatus@0m+5m[x8]"]
    assert anomaly_spec("country", 1) == ["country@0m+1m"]
    hours = hour_windows(T0 + timedelta(minutes=30), T0 + timedelta(hours=2))
    assert [h[0].hour for h in hours] == [20, 21]
    from wafad.settings import Settings

    env = settings_env(Settings(_env_file=None, bucket="b-1", kinesis_shards=3))
    assert env["WAFAD_BUCKET"] == "b-1" and env["WAFAD_KINESIS_SHARDS"] == "3"
    assert "WAFAD_OPENSEARCH_PASSWORD" not in env
