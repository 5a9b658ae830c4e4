"""Stage 2: simulated WAF traffic written as gzip JSON-lines objects to S3."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.common import retrying
from tasks.progress import ProgressReporter
from wafad.settings import Settings


def s3_log_url(settings: Settings) -> str:
    """The simulator's destination: it writes WAF's ``AWSLogs/...`` layout under the given prefix itself."""
    prefix = settings.log_prefix
    prefix = prefix[: -len("AWSLogs/")] if prefix.endswith("AWSLogs/") else prefix
    return f"s3://{settings.bucket}/{prefix}".rstrip("/")


@task(name="simulate", cache_policy=NO_CACHE, **retrying())
def simulate_task(
    settings: Settings,
    start: datetime,
    duration: timedelta,
    rate: float,
    anomalies: list[str],
    seed: int,
    labels_path: Path | None = None,
) -> dict[str, Any]:
    """Simulate ``duration`` of traffic from ``start`` with ``anomalies`` (``field@offset+length[xN]``)."""
    from simulator import Scenario, parse_anomaly, simulate
    from wafad.clients import aws_client

    scenario = Scenario(
        start=start,
        duration=duration,
        rate=rate,
        anomalies=[parse_anomaly(spec, start) for spec in anomalies],
        seed=seed,
    )
    reporter = ProgressReporter("simulate", "Simulated requests written to S3")
    summary = simulate(
        scenario,
        s3_log_url(settings),
        s3_client=aws_client("s3", settings),
        labels_path=labels_path,
        progress=reporter,
    )
    reporter.finish()
    get_run_logger().info("simulated %d records in %d objects", summary.records, len(summary.objects))
    return {"records": summary.records, "objects": list(summary.objects), "labels": list(summary.labels)}
