"""The local S3 → Lambda trigger: drain the S3 event queue and call the S3 → Kinesis handler.

moto delivers S3 ObjectCreated notifications to SQS but cannot run a Lambda; :func:`relay` plays the SQS event
source mapping: receive up to 10 messages, call the handler with the exact SQS event shape, delete what the
handler did not report in ``batchItemFailures``, make failures visible again for a retry, and after
``max_receives`` attempts move the message to S3 ``<dead_letter_prefix>s3-events/`` with the error (as a
redrive policy to a dead-letter queue would). One handler call at a time: one Kinesis writer per stream.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest import jsoncodec
from ingest.events import sqs_event
from ingest.s3_to_kinesis_core import S3ToKinesisConfig
from wafad.settings import Settings

Handler = Callable[..., dict[str, Any]]


@dataclass
class RelayReport:
    messages: int = 0  # SQS messages handled (deleted)
    objects: int = 0
    read: int = 0  # lines read
    sent: int = 0  # Kinesis records written
    retried: int = 0
    dead_lettered: int = 0  # lines set aside with a reason
    skipped: list[str] = field(default_factory=list)  # s3:TestEvent and other non-create events
    failed_attempts: int = 0  # handler failures that were retried
    dead_lettered_messages: int = 0  # messages given up on (moved to S3 with the error)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def config_from_settings(settings: Settings, **overrides: Any) -> S3ToKinesisConfig:
    """The handler's configuration for ``settings``, with clients from :mod:`wafad.clients`."""
    from wafad.clients import aws_client

    values: dict[str, Any] = {
        "stream": settings.kinesis_stream,
        "dead_letter_bucket": settings.bucket,
        "dead_letter_prefix": settings.dead_letter_prefix,
        "region": settings.aws_region,
        "endpoint_url": settings.effective_aws_endpoint,
        "s3": aws_client("s3", settings),
        "kinesis": aws_client("kinesis", settings),
    }
    values.update(overrides)
    return S3ToKinesisConfig(**values)


def _accepts_config(handler: Handler) -> bool:
    try:
        return "config" in inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return False


def _call(handler: Handler, event: dict[str, Any], config: S3ToKinesisConfig | None) -> dict[str, Any]:
    if config is not None and _accepts_config(handler):
        return handler(event, None, config=config)
    return handler(event, None)


def relay(
    settings: Settings,
    handler: Handler | None = None,
    *,
    config: S3ToKinesisConfig | None = None,
    max_receives: int = 3,
    progress: Callable[[int, int], None] | None = None,
) -> RelayReport:
    """Drain ``settings.s3_events_queue`` through ``handler`` (default :func:`lambdas.s3_to_kinesis.handler`).

    ``progress(messages_done, messages_seen)`` is called after each batch. Relays of the same stream run one at
    a time (:func:`ingest.locks.exclusive`): concurrent Kinesis writers lose records on moto.
    """
    from ingest.locks import exclusive

    with exclusive(settings, "kinesis-writer"):
        return _relay(settings, handler, config=config, max_receives=max_receives, progress=progress)


def _relay(
    settings: Settings,
    handler: Handler | None,
    *,
    config: S3ToKinesisConfig | None,
    max_receives: int,
    progress: Callable[[int, int], None] | None,
) -> RelayReport:
    from wafad.clients import aws_client

    if handler is None:
        from lambdas.s3_to_kinesis import handler as default_handler

        handler = default_handler
    if config is None and _accepts_config(handler):
        config = config_from_settings(settings)
    started = time.monotonic()
    sqs = aws_client("sqs", settings)
    s3 = config.s3 if config is not None and config.s3 is not None else aws_client("s3", settings)
    try:
        url = sqs.get_queue_url(QueueName=settings.s3_events_queue)["QueueUrl"]
    except Exception as exc:
        raise RuntimeError(
            f"S3 event queue {settings.s3_events_queue!r} not found ({exc}): run ingest.infra.ensure_ingest first"
        ) from exc
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    report = RelayReport()
    seen: set[str] = set()
    while True:
        resp = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300, AttributeNames=["All"]
        )
        messages = resp.get("Messages", [])
        if not messages:
            break
        seen.update(m["MessageId"] for m in messages)
        try:
            result = _call(handler, sqs_event(messages, queue_arn=arn, region=settings.aws_region), config)
            failures = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            errors = list(result.get("errors", []))
        except Exception as exc:  # the whole batch failed: retry each message
            result, failures, errors = {}, {m["MessageId"] for m in messages}, [f"{type(exc).__name__}: {exc}"]
        report.objects += int(result.get("objects", 0))
        report.read += int(result.get("read", 0))
        report.sent += int(result.get("sent", 0))
        report.retried += int(result.get("retried", 0))
        report.dead_lettered += int(result.get("dead_lettered", 0))
        report.skipped.extend(result.get("skipped", []))
        report.errors.extend(errors)
        done = [m for m in messages if m["MessageId"] not in failures]
        for m in messages:
            if m["MessageId"] not in failures:
                continue
            receives = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if receives >= max_receives:
                key = f"{settings.dead_letter_prefix.rstrip('/')}/s3-events/{m['MessageId']}.json"
                entry = {"reason": "handler_failed", "receives": receives, "errors": errors, "body": m["Body"]}
                s3.put_object(Bucket=settings.bucket, Key=key, Body=jsoncodec.dumps(entry))
                report.dead_lettered_messages += 1
                done.append(m)
            else:
                report.failed_attempts += 1
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        report.messages += len(done)
        if progress is not None:
            progress(report.messages, len(seen))
    report.seconds = round(time.monotonic() - started, 3)
    return report
