"""S3-triggered Lambda: WAF log objects → Kinesis, one record per line, nothing lost.

Accepts S3 event notifications directly or wrapped in SQS (with partial batch responses: failed messages are
returned in ``batchItemFailures``), SNS or EventBridge envelopes. The work is done by
:func:`ingest.s3_to_kinesis_core.ship_event`.

Configuration (environment): ``WAFAD_KINESIS_STREAM`` (required), ``WAFAD_BUCKET`` (dead-letter bucket; default
the source bucket), ``WAFAD_DEAD_LETTER_PREFIX`` (``dead-letter/``), ``WAFAD_AWS_REGION``,
``WAFAD_AWS_ENDPOINT_URL`` (moto locally), ``WAFAD_KINESIS_AGGREGATE`` (``1``: pack lines into KPL aggregated
records, which Firehose de-aggregates; ``0``: one Kinesis record per line). A local caller may pass ``config=``.
"""

from __future__ import annotations

from typing import Any

from ingest.s3_to_kinesis_core import S3ToKinesisConfig, ship_event


def handler(event: dict[str, Any], context: Any, *, config: S3ToKinesisConfig | None = None) -> dict[str, Any]:
    """Lambda entry point: the counts (objects, read, sent, retried, dead_lettered) and ``batchItemFailures``."""
    return ship_event(event, config or S3ToKinesisConfig.from_env())
