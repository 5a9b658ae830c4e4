"""From Kinesis records to transform invocations, as Firehose's Lambda processor batches them.

KPL aggregates are de-aggregated (one :class:`Source` per user record), sources are buffered up to the size
and time hints (the request stays under Lambda's 6 MB, base64 and metadata included), and each batch becomes
the exact Kinesis-source Firehose event (``sourceKinesisStreamArn``, ``kinesisRecordMetadata`` with the
subsequence number).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest import kpl
from ingest.delivery_options import DeliveryOptions
from ingest.events import LAMBDA_PAYLOAD_LIMIT

_REQUEST_LIMIT = LAMBDA_PAYLOAD_LIMIT - 256 * 1024  # the request, base64 and metadata included


@dataclass
class Source:
    """One user record as Firehose hands it to the transform."""

    shard_id: str
    sequence_number: str
    partition_key: str
    arrival_ms: int
    data: bytes
    subsequence_number: int = 0


def _epoch_ms(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value or 0)


def user_records(shard_id: str, record: dict[str, Any]) -> list[Source]:
    """A Kinesis record as Firehose hands it on: KPL aggregates de-aggregated (one source per user record)."""
    arrival = _epoch_ms(record.get("ApproximateArrivalTimestamp"))
    seq, key, data = record["SequenceNumber"], record.get("PartitionKey", ""), record["Data"]
    if kpl.is_aggregated(data):
        try:
            users = kpl.deaggregate(data)
        except kpl.NotAggregated:
            users = None  # as the KCL: not a valid aggregate, so an ordinary record
        if users is not None:
            return [Source(shard_id, seq, k, arrival, d, i) for i, (k, d) in enumerate(users)]
    return [Source(shard_id, seq, key, arrival, data)]


def _b64len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def transform_batches(sources: list[Source], options: DeliveryOptions) -> Iterator[list[Source]]:
    """The sources in invocation-sized batches: a batch closes at the size hint, the request limit or the time
    hint (measured from the batch's start, so the consumer's work on the previous batch does not count)."""
    batch: list[Source] = []
    batch_bytes = request_bytes = 0
    batch_started = time.monotonic()
    for src in sources:
        size = _b64len(len(src.data)) + 400
        if batch and (
            batch_bytes + len(src.data) > options.transform_buffer_bytes
            or request_bytes + size > _REQUEST_LIMIT
            or time.monotonic() - batch_started > options.transform_buffer_seconds
        ):
            yield batch
            batch, batch_bytes, request_bytes, batch_started = [], 0, 0, time.monotonic()
        batch.append(src)
        batch_bytes += len(src.data)
        request_bytes += size
    if batch:
        yield batch


def firehose_event(batch: list[Source], *, delivery_arn: str, stream_arn: str, region: str) -> dict[str, Any]:
    """The Kinesis-source Firehose event the transform Lambda receives for ``batch``."""
    return {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": delivery_arn,
        "sourceKinesisStreamArn": stream_arn,
        "region": region,
        "records": [
            {
                "recordId": f"{s.shard_id}:{s.sequence_number}:{s.subsequence_number}",
                "approximateArrivalTimestamp": s.arrival_ms,
                "data": base64.b64encode(s.data).decode("ascii"),
                "kinesisRecordMetadata": {
                    "shardId": s.shard_id,
                    "partitionKey": s.partition_key,
                    "approximateArrivalTimestamp": s.arrival_ms,
                    "sequenceNumber": s.sequence_number,
                    "subsequenceNumber": s.subsequence_number,
                },
            }
            for s in batch
        ],
    }
