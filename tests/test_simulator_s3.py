"""The simulator writing into the real (moto server) S3 of the local stack."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simulator import Scenario, parse_anomaly, simulate
from wafad.clients import aws_client
from wafad.settings import Settings
from wafad.waf_schema import parse_record, validate_record

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_simulate_into_s3_with_waf_key_layout(settings: Settings, tmp_path: Path) -> None:
    s3 = aws_client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    sc = Scenario(START, timedelta(minutes=12), 2, [parse_anomaly("country@3m+4m[x6]", START)], seed=9)
    labels = tmp_path / "truth" / "labels.json"
    summary = simulate(
        sc,
        f"s3://{settings.bucket}/sim/run1",
        s3_client=s3,
        labels_path=labels,
        account=settings.aws_account_id,
        region=settings.aws_region,
    )
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=settings.bucket)["Contents"])
    assert [f"s3://{settings.bucket}/{k}" for k in listed] == sorted(summary.objects)
    assert len(listed) == 3
    acct, region = settings.aws_account_id, settings.aws_region
    first = listed[0]
    assert first.startswith(f"sim/run1/AWSLogs/{acct}/WAFLogs/{region}/wafad-demo/2024/05/01/10/00/")
    assert f"/{acct}_waflogs_{region}_wafad-demo_20240501T1000Z_" in first and first.endswith(".log.gz")
    body = s3.get_object(Bucket=settings.bucket, Key=first)["Body"].read()
    records = [parse_record(line) for line in gzip.decompress(body).splitlines()]
    assert records and all(validate_record(r) == [] for r in records)
    assert {r["webaclId"].split(":")[4] for r in records} == {acct}
    total = sum(
        len(gzip.decompress(s3.get_object(Bucket=settings.bucket, Key=k)["Body"].read()).splitlines()) for k in listed
    )
    assert total == summary.records
    assert (
        json.loads(labels.read_text())
        == summary.labels
        == [{"field": "country", "start": "2024-05-01T10:03:00Z", "end": "2024-05-01T10:07:00Z", "intensity": 6.0}]
    )


def test_simulate_into_bucket_root_uses_the_awslogs_prefix(settings: Settings) -> None:
    s3 = aws_client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    sc = Scenario(START, timedelta(minutes=5), 1, [], seed=2)
    summary = simulate(sc, f"s3://{settings.bucket}", s3_client=s3, account="111122223333", region="eu-west-1")
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=settings.bucket)["Contents"]]
    assert key.startswith(settings.log_prefix + "111122223333/WAFLogs/eu-west-1/")
    assert summary.objects == [f"s3://{settings.bucket}/{key}"]
