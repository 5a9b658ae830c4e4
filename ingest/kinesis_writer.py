"""PutRecords in batches within Kinesis' limits, retrying only what failed, with backoff and jitter.

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
    data: bytes
    partition_key: str
    ref: Any = None  # the caller's handle (for dead letters)
    error: str = ""

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode("utf-8"))


@dataclass
class WriterCounts:
    sent: int = 0
    retried: int = 0  # entry retries (one entry retried twice counts 2)
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


class KinesisBatchWriter:
    """Buffer entries and PutRecords them; call :meth:`flush` at the end."""

    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        on_dead: Callable[[Entry, str], None],
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self._client = client
        self._stream = stream_name
        self._on_dead = on_dead
        self._backoff = backoff or BackoffPolicy()
        self._batch: list[Entry] = []
        self._batch_bytes = 0
        self.counts = WriterCounts()

    def add(self, data: bytes, partition_key: str, ref: Any = None) -> None:
        entry = Entry(data, partition_key, ref)
        if entry.size > MAX_RECORD_BYTES:
            raise RecordTooLarge(f"record of {entry.size} bytes exceeds Kinesis' {MAX_RECORD_BYTES} bytes")
        if len(self._batch) >= MAX_RECORDS or self._batch_bytes + entry.size > MAX_REQUEST_BYTES:
            self.flush()
        self._batch.append(entry)
        self._batch_bytes += entry.size

    def flush(self) -> None:
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._put(batch)

    def _put(self, pending: list[Entry]) -> None:
        for attempt in range(self._backoff.max_attempts):
            if attempt:
                self.counts.retried += len(pending)
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
                    self.counts.sent += 1
                    shard = result.get("ShardId", "")
                    self.counts.by_shard[shard] = self.counts.by_shard.get(shard, 0) + 1
            if not failed:
                return
            pending = failed
        for e in pending:
            self.counts.dead_lettered += 1
            self._on_dead(e, f"gave up after {self._backoff.max_attempts} attempts: {e.error}")
