"""The local alert inbox: messages the SNS topic delivered to the subscribed SQS queue."""

from __future__ import annotations

import json
from typing import Any

from wafad.clients import aws_client


def parse_sns_envelope(body: str) -> dict[str, Any]:
    """An SQS message body written by SNS -> ``{subject, message, attributes, message_id, timestamp, topic_arn}``."""
    env = json.loads(body)
    attrs = {k: v.get("Value") for k, v in (env.get("MessageAttributes") or {}).items()}
    return {
        "subject": env.get("Subject"),
        "message": env.get("Message"),
        "attributes": attrs,
        "message_id": env.get("MessageId"),
        "timestamp": env.get("Timestamp"),
        "topic_arn": env.get("TopicArn"),
    }


def read_inbox(
    settings: Any, *, delete: bool = True, wait_seconds: int = 1, max_messages: int = 10_000
) -> list[dict[str, Any]]:
    """Drain the local alerts queue (``settings.alerts_queue``); returns the SNS notifications in it.

    Messages are deleted once read unless ``delete=False``. Raises if the queue does not exist (run
    ``wafad alerts run`` or ``alerting.infra.ensure_alerting`` first).
    """
    sqs = aws_client("sqs", settings)
    queue_url = sqs.get_queue_url(QueueName=settings.alerts_queue)["QueueUrl"]
    out: list[dict[str, Any]] = []
    while len(out) < max_messages:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=30 if delete else 5,  # peeked messages come back after 5 s
        ).get("Messages", [])
        if not batch:
            break
        for msg in batch:
            out.append(parse_sns_envelope(msg["Body"]))
        if delete:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
    out.sort(key=lambda m: (m.get("timestamp") or "", m.get("message_id") or ""))
    return out
