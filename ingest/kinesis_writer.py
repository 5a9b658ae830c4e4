"""PutRecords in batches within Kinesis' limits, retrying only what failed, with backoff and jitter.

Log lines are user records; by default they are packed into KPL aggregates (:mod:`ingest.kpl`, up to ~1 MiB
each), which Firehose de-aggregates for a Kinesis source (and :mod:`ingest.delivery` does locally), so each
line still reaches the transform as its own record with its own partition key (the event id).

Limits enforced here (moto enforces only some of them): 500 records and 5 MiB per call, 1 MiB per record
(data + partition key). Throttling (``ProvisionedThroughputExceededException``), ``InternalFailure`` and other
transient errors are retried for the failed entries only, up to ``max_attempts``; what still fails is handed to
``on_dead`` with the last error. One writer per stream: moto loses records under concurrent writers, so the
callers serialise.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ingest import kpl

MAX_RECORDS = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "ServiceUnavailable",
        "ThrottlingException",
        "KMSThrottlingException",
        "LimitExceededException",
        "InternalServerError",
    }
)


class RecordTooLarge(ValueError):
    pass


@dataclass
class Entry:
    """One Kinesis record: a single user record, or a KPL aggregate of several (``users``)."""

    data: bytes
    partition_key: str
    users: list[tuple[bytes, Any]]  # (user record data, the caller's handle) for counting and dead letters
    error: str = ""

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode("utf-8"))


@dataclass
class WriterCounts:
    sent: int = 0  # user records (log lines) acknowledged by Kinesis
    kinesis_records: int = 0  # Kinesis records acknowledged (aggregates count once)
    retried: int = 0  # user-record retries (one record retried twice counts 2)
    dead_lettered: int = 0
    calls: int = 0
    throttled_calls: int = 0
    by_shard: dict[str, int] = field(default_factory=dict)


@dataclass
class BackoffPolicy:
    max_attempts: int = 8
    base_s: float = 0.05
    cap_s: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int) -> None:
        """Full jitter: uniform(0, min(cap, base * 2**attempt))."""
        self.sleep(random.uniform(0, min(self.cap_s, self.base_s * (2**attempt))))


#: KPL aggregates are kept under this size (Kinesis' 1 MiB record limit, with room for the partition key).
MAX_AGGREGATE_BYTES = MAX_RECORD_BYTES - 4096


class KinesisBatchWriter:
    """Buffer user records, optionally aggregate them (KPL format), PutRecords them; call :meth:`flush` at the end.

    ``on_dead(data, ref, reason)`` receives each user record that could not be written.
    """

    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        on_dead: Callable[[bytes, Any, str], None],
        backoff: BackoffPolicy | None = None,
        aggregate: bool = True,
        max_aggregate_bytes: int = MAX_AGGREGATE_BYTES,
    ) -> None:
        self._client = client
        self._stream = stream_name
        self._on_dead = on_dead
        self._backoff = backoff or BackoffPolicy()
        self._aggregate = aggregate
        self._max_aggregate = max_aggregate_bytes
        self._agg: list[tuple[str, bytes, Any]] = []
        self._agg_bytes = 0
        self._batch: list[Entry] = []
        self._batch_bytes = 0
        self.counts = WriterCounts()

    def add(self, data: bytes, partition_key: str, ref: Any = None) -> None:
        """Queue one user record; :class:`RecordTooLarge` if it cannot fit in a Kinesis record."""
        size = len(data) + len(partition_key.encode("utf-8"))
        if size > MAX_RECORD_BYTES:
            raise RecordTooLarge(f"record of {size} bytes exceeds Kinesis' {MAX_RECORD_BYTES} bytes")
        if not self._aggregate:
            self._enqueue(Entry(data, partition_key, [(data, ref)]))
            return
        cost = kpl.record_overhead(len(data), partition_key)
        if self._agg and self._agg_bytes + cost > self._max_aggregate:
            self._close_aggregate()
        self._agg.append((partition_key, data, ref))
        self._agg_bytes += cost

    def _close_aggregate(self) -> None:
        agg, self._agg, self._agg_bytes = self._agg, [], 0
        if not agg:
            return
        if len(agg) == 1:  # as the KPL does: a lone record goes as it is
            key, data, ref = agg[0]
            self._enqueue(Entry(data, key, [(data, ref)]))
            return
        blob = kpl.aggregate([(key, data) for key, data, _ref in agg])
        self._enqueue(Entry(blob, agg[0][0], [(data, ref) for _key, data, ref in agg]))

    def _enqueue(self, entry: Entry) -> None:
        if len(self._batch) >= MAX_RECORDS or self._batch_bytes + entry.size > MAX_REQUEST_BYTES:
            self.flush_batch()
        self._batch.append(entry)
        self._batch_bytes += entry.size

    def flush_batch(self) -> None:
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._put(batch)

    def flush(self) -> None:
        self._close_aggregate()
        self.flush_batch()

    def _put(self, pending: list[Entry]) -> None:
        for attempt in range(self._backoff.max_attempts):
            if attempt:
                self.counts.retried += sum(len(e.users) for e in pending)
                self._backoff.wait(attempt)
            self.counts.calls += 1
            try:
                resp = self._client.put_records(
                    StreamName=self._stream,
                    Records=[{"Data": e.data, "PartitionKey": e.partition_key} for e in pending],
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in RETRYABLE_CODES:
                    raise
                self.counts.throttled_calls += 1
                for e in pending:
                    e.error = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
                continue
            failed: list[Entry] = []
            for e, result in zip(pending, resp["Records"], strict=True):
                if "ErrorCode" in result:
                    e.error = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}"
                    failed.append(e)
                else:
                    self.counts.sent += len(e.users)
                    self.counts.kinesis_records += 1
                    shard = result.get("ShardId", "")
                    self.counts.by_shard[shard] = self.counts.by_shard.get(shard, 0) + len(e.users)
            if not failed:
                return
            pending = failed
        for e in pending:
            for data, ref in e.users:
                self.counts.dead_lettered += 1
                self._on_dead(data, ref, f"gave up after {self._backoff.max_attempts} attempts: {e.error}")
