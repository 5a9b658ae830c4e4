"""Retries with capped exponential backoff and full jitter, as Firehose retries Kinesis reads, transform
invocations and bulk requests: what counts as retryable and how long to wait before attempt ``n``."""

from __future__ import annotations

import random
from typing import Any

from ingest.delivery_options import DeliveryOptions

#: HTTP statuses of a bulk request or item that are retried (throttling and transient server errors).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Kinesis error codes that are retried (throttling and transient failures).
KINESIS_RETRY_CODES = frozenset({"ProvisionedThroughputExceededException", "LimitExceededException", "InternalFailure"})


def backoff(options: DeliveryOptions, attempt: int) -> None:
    """Sleep a random time in ``[0, min(cap, base * 2**attempt)]``."""
    options.sleep(random.uniform(0, min(options.backoff_cap_s, options.backoff_base_s * (2**attempt))))


def kinesis_call(kinesis: Any, options: DeliveryOptions, name: str, **kwargs: Any) -> dict[str, Any]:
    """``kinesis.<name>(**kwargs)``, retrying throttling up to ``options.bulk_attempts`` times."""
    from botocore.exceptions import ClientError

    for attempt in range(options.bulk_attempts):
        try:
            return getattr(kinesis, name)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in KINESIS_RETRY_CODES:
                raise
            if attempt == options.bulk_attempts - 1:
                raise
            backoff(options, attempt)
    raise AssertionError("unreachable")
