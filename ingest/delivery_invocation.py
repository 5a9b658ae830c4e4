"""One transform invocation as Firehose makes it: a Lambda-like context, the response checked against the
Firehose contract and Lambda's 6 MB limit, and retries with backoff when the call raises or breaks the contract.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ingest.delivery_options import DeliveryOptions, DeliveryReport, Transform
from ingest.delivery_retries import backoff
from ingest.events import LAMBDA_PAYLOAD_LIMIT, EventShapeError, validate_firehose_response


@dataclass
class LocalLambdaContext:
    """Enough of Lambda's context object; ``failure_reasons`` is filled by the transform with recordId → why."""

    function_name: str = "wafad-firehose-transform"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    failure_reasons: dict[str, str] = field(default_factory=dict)

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class Invocation:
    """What the last attempt gave: the response records (``None`` if every attempt failed, see ``error``)."""

    outcome: list[Any] | None
    reasons: dict[str, str]
    error: str
    attempts: int


def invoke_transform(
    transform: Transform, event: dict[str, Any], options: DeliveryOptions, report: DeliveryReport
) -> Invocation:
    """Call ``transform`` up to ``options.transform_attempts`` times until it answers by the contract."""
    ids = [r["recordId"] for r in event["records"]]
    error = ""
    outcome: list[Any] | None = None
    reasons: dict[str, str] = {}
    attempts = 0
    for attempt in range(options.transform_attempts):
        attempts = attempt + 1
        if attempt:
            report.invocation_retries += 1
            backoff(options, attempt)
        ctx = LocalLambdaContext()
        report.invocations += 1
        try:
            response = transform(event, ctx)
            outcome = validate_firehose_response(ids, response)
            size = sum(len(r.get("data") or "") + len(r["recordId"]) + 64 for r in outcome)
            if size > LAMBDA_PAYLOAD_LIMIT:
                raise EventShapeError(f"response of ~{size} bytes exceeds Lambda's 6 MB limit")
            reasons = ctx.failure_reasons
            break
        except EventShapeError as exc:
            error, outcome = f"Lambda.InvalidResponse: {exc}", None
        except Exception as exc:
            error, outcome = f"Lambda.FunctionError: {type(exc).__name__}: {exc}", None
    return Invocation(outcome, reasons, error, attempts)
