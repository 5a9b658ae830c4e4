"""Live mode on a simulated clock: anomaly toggles, objects, labels; direct Firehose into moto."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator import AnomalySpecError, Scenario, parse_anomaly
from simulator.live import clear_toggle, read_toggles, run_live, set_toggle
from wafad.catalogue import indicators
from wafad.clients import aws_client
from wafad.settings import Settings
from wafad.waf_schema import parse_record, validate_record

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


class FakeClock:
    """A wall clock that moves only when the simulator sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp() + 0.25
        self.slept = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert 0 < seconds <= 1.0
        self.now += seconds
        self.slept += seconds


def test_toggle_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "toggle.json"
    assert read_toggles(path) == {}
    assert set_toggle(path, "httpStatus", 4) == {"httpStatus": 4.0}
    assert set_toggle(path, "country") == {"httpStatus": 4.0, "country": 5.0}
    assert clear_toggle(path, "httpStatus") == {"country": 5.0}
    assert clear_toggle(path) == {} == read_toggles(path)
    with pytest.raises(AnomalySpecError):
        set_toggle(path, "nope", 2)
    with pytest.raises(AnomalySpecError):
        set_toggle(path, "ip_flood", 1)


def test_live_objects_with_a_toggled_anomaly(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    toggle = tmp_path / "toggle.json"
    labels = tmp_path / "labels.json"
    on, off = int(T0.timestamp()) + 60, int(T0.timestamp()) + 120
    seen = []

    def progress(st) -> None:
        seen.append(st)
        if st.second == on:
            set_toggle(toggle, "httpStatus", 10)
        if st.second == off:
            clear_toggle(toggle)

    sc = Scenario(T0, timedelta(minutes=3), 6, [parse_anomaly("country@150s+20s[x8]", T0)], seed=4)
    summary = run_live(
        sc, str(tmp_path / "out"), toggle_path=toggle, labels_path=labels, flush_seconds=60, progress=progress,
        clock=clock.time, sleep=clock.sleep, account="123456789012", region="us-east-1",
    )  # fmt: skip
    assert seen[-1].second == int(T0.timestamp()) + 180 and clock.slept >= 179
    assert (
        summary.labels
        == json.loads(labels.read_text())
        == [
            {"field": "httpStatus", "start": "2024-05-01T10:01:00Z", "end": "2024-05-01T10:02:00Z", "intensity": 10.0},
            {"field": "country", "start": "2024-05-01T10:02:30Z", "end": "2024-05-01T10:02:50Z", "intensity": 8.0},
        ]
    )
    assert len(summary.objects) == 3  # one flush a minute
    assert all("/WAFLogs/us-east-1/wafad-demo/2024/05/01/10/00/" in o for o in summary.objects)
    records = [parse_record(x) for o in summary.objects for x in gzip.decompress(Path(o).read_bytes()).splitlines()]
    assert len(records) == summary.records and all(validate_record(r) == [] for r in records)
    ts = sorted(r["timestamp"] for r in records)
    assert ts[0] >= T0.timestamp() * 1000 and ts[-1] < (T0.timestamp() + 180) * 1000

    def bad_fraction(lo: int, hi: int, ind: str) -> float:
        window = [r for r in records if lo * 1000 <= r["timestamp"] < hi * 1000]
        return sum(indicators(r)[ind] for r in window) / len(window)

    inside, before = bad_fraction(on, off, "status_bad"), bad_fraction(on - 60, on, "status_bad")
    assert inside > 0.09 and before < 0.06  # q = 10 x 1.5 %


def test_live_direct_to_firehose(settings: Settings) -> None:
    s3 = aws_client("s3", settings)
    firehose = aws_client("firehose", settings)
    s3.create_bucket(Bucket=settings.bucket)
    firehose.create_delivery_stream(
        DeliveryStreamName=settings.firehose_stream,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{settings.aws_account_id}:role/firehose",
            "BucketARN": f"arn:aws:s3:::{settings.bucket}",
            "Prefix": "firehose/",
        },
    )
    clock = FakeClock(T0)
    sc = Scenario(T0, timedelta(seconds=1), 520, [], seed=5)  # > 500 records in the second: two batches
    summary = run_live(
        sc, firehose_stream=settings.firehose_stream, firehose_client=firehose, clock=clock.time,
        sleep=clock.sleep, account=settings.aws_account_id, region=settings.aws_region,
    )  # fmt: skip
    assert summary.objects == [] and 500 < summary.records < 750
    decoder = json.JSONDecoder()
    delivered = []
    for obj in s3.list_objects_v2(Bucket=settings.bucket, Prefix="firehose/").get("Contents", []):
        body = s3.get_object(Bucket=settings.bucket, Key=obj["Key"])["Body"].read().decode()
        pos = 0
        while pos < len(body):  # Firehose concatenates records without a delimiter, as with real WAF
            rec, pos = decoder.raw_decode(body, pos)
            delivered.append(rec)
    assert len(delivered) == summary.records
    assert all(validate_record(r) == [] for r in delivered)


def test_live_needs_an_output() -> None:
    with pytest.raises(ValueError, match="needs an output"):
        run_live(Scenario(T0, timedelta(seconds=5), 1, [], seed=1))
