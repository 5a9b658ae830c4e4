"""What one local Firehose delivery run is told (buffer hints, retries, backoff) and what it reports.

:class:`DeliveryReport` always balances after a run: ``read == indexed + dropped + processing_failed +
index_failed`` (:attr:`DeliveryReport.balanced`, which the CLI and the demo's reconciliation check).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: The transform Lambda as delivery calls it: ``(event, context) -> response``.
Transform = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class DeliveryOptions:
    transform_buffer_bytes: int = 1024 * 1024  # Lambda processor BufferSizeInMBs (Firehose default 1 MB)
    transform_buffer_seconds: float = 60.0  # BufferIntervalInSeconds
    index_buffer_bytes: int = 5 * 1024 * 1024  # OpenSearch destination SizeInMBs (default 5)
    index_buffer_seconds: float = 300.0  # IntervalInSeconds
    get_records_limit: int = 10000
    transform_attempts: int = 4  # 1 + NumberOfRetries (3)
    bulk_attempts: int = 8  # within RetryOptions.DurationInSeconds
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep


@dataclass
class DeliveryReport:
    read: int = 0
    ok: int = 0
    dropped: int = 0
    processing_failed: int = 0
    indexed: int = 0
    index_failed: int = 0
    invocations: int = 0
    invocation_retries: int = 0
    bulk_requests: int = 0
    bulk_retries: int = 0
    indices: dict[str, int] = field(default_factory=dict)
    shards: dict[str, int] = field(default_factory=dict)
    failure_objects: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return self.read == self.indexed + self.dropped + self.processing_failed + self.index_failed

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "balanced": self.balanced}
