"""Publishing alert messages to SNS with message attributes subscribers can filter on."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from alerting.message import ascii_subject


@dataclass(frozen=True)
class AlertMessage:
    """One opened/resolved notification (what :func:`alerting.alerts.process_alerts` returns)."""

    kind: str  # opened | resolved
    incident_key: str
    detector: str
    detector_id: str
    entity: dict[str, str] | None
    severity: str  # low | medium | high
    subject: str
    text: str
    window_start_ms: int
    window_end_ms: int | None
    max_grade: float
    message_id: str | None = None

    def attributes(self) -> dict[str, dict[str, str]]:
        """SNS MessageAttributes: ``severity``, ``detector`` and ``event`` (+ ``entity`` for HC detectors)."""
        attrs = {
            "severity": self.severity,
            "detector": self.detector,
            "event": self.kind,
        }
        if self.entity:
            attrs["entity"] = ",".join(f"{k}={v}" for k, v in self.entity.items())
        return {k: {"DataType": "String", "StringValue": ascii_subject(v)[:256] or "-"} for k, v in attrs.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def publish(sns_client: Any, topic_arn: str, message: AlertMessage) -> str:
    """Publish ``message``; returns the SNS message id."""
    response = sns_client.publish(
        TopicArn=topic_arn,
        Subject=message.subject,
        Message=message.text,
        MessageAttributes=message.attributes(),
    )
    return str(response["MessageId"])


def structured(message: AlertMessage) -> str:
    """The message as JSON (for logs and files; strings are already inert)."""
    return json.dumps(message.to_dict(), sort_keys=True)
