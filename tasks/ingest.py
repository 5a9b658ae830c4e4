"""Stages 3-4: S3 ObjectCreated events → s3_to_kinesis handler → Kinesis → firehose_transform → OpenSearch."""

from __future__ import annotations

import dataclasses
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.common import OPENSEARCH_BULK_LIMIT, limited, retrying
from tasks.progress import ProgressReporter
from wafad.settings import Settings


def brief(report: dict[str, Any]) -> str:
    """A report for one log line: its figures, and only the size of nested tables (e.g. per-shard counts)."""
    return ", ".join(f"{k}={len(v)} entries" if isinstance(v, dict | list) else f"{k}={v}" for k, v in report.items())


def report_dict(report: Any) -> dict[str, Any]:
    """A part's report dataclass (or dict) as a plain dict for artifacts and return values."""
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return dataclasses.asdict(report)
    if isinstance(report, dict):
        return dict(report)
    if hasattr(report, "model_dump"):
        return report.model_dump()
    return dict(vars(report))


@task(name="relay-s3-events", cache_policy=NO_CACHE, **retrying())
def relay_task(settings: Settings, expected_objects: int | None = None) -> dict[str, Any]:
    """Drain the S3 event queue into ``lambdas.s3_to_kinesis.handler`` (local stand-in for the S3 trigger).

    ``expected_objects``: S3 objects known to be waiting, for the progress artifact.
    """
    from ingest.s3_events import relay
    from lambdas.s3_to_kinesis import handler

    reporter = ProgressReporter("relay", "S3 objects relayed to Kinesis")

    def progress(done: int, seen: int) -> None:
        reporter(done, max(expected_objects or 0, seen))

    report = report_dict(relay(settings, handler=handler, progress=progress))
    reporter.finish()
    get_run_logger().info("relay: %s", brief(report))
    return report


@task(name="deliver-to-opensearch", cache_policy=NO_CACHE, **retrying())
def deliver_task(settings: Settings, expected: int | None = None) -> dict[str, Any]:
    """The local Firehose: Kinesis → ``lambdas.firehose_transform.handler`` → bulk into OpenSearch.

    ``expected``: records known to be waiting (e.g. what the relay put), for the progress artifact.
    """
    from ingest.delivery import deliver

    reporter = ProgressReporter("deliver", "Kinesis records delivered to OpenSearch")

    def progress(read: int, _indexed: int) -> None:
        reporter(read, max(expected or 0, read))

    with limited(OPENSEARCH_BULK_LIMIT):
        report = report_dict(deliver(settings, progress=progress))
    reporter.finish()
    get_run_logger().info("delivery: %s", brief(report))
    return report
