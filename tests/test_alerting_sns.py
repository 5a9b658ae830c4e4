"""Alerts over the real local stack: SNS topic -> SQS subscription (moto), results + raw docs in osmem."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opensearchpy import helpers

from alerting.alerts import process_alerts
from alerting.checkpoint import checkpoint_path, load_checkpoint
from alerting.inbox import read_inbox
from alerting.infra import ensure_alerting
from alerting.publish import AlertMessage, publish
from detectors.results import ResultInput, ensure_results_index, result_document, stable_detector_id, write_results
from wafad.clients import aws_client

MIN = 60_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
RAW_MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event_id": {"type": "keyword"},
        "status_bad": {"type": "integer"},
        "httpRequest": {
            "properties": {
                "country": {"type": "keyword"},
                "clientIp": {"type": "ip"},
                "uri": {"type": "keyword"},
                "args": {"type": "keyword"},
            }
        },
    }
}
ATTACK_URI = '/<script>alert(1)</script>"><img src=x onerror=alert(2)>\r\nX-Evil: 1\x1b[31m'


def _message(severity: str, detector: str = "waf-volume") -> AlertMessage:
    return AlertMessage(
        kind="opened",
        incident_key=f"id|{severity}",
        detector=detector,
        detector_id="id",
        entity=None,
        severity=severity,
        subject=f"wafad OPENED {severity}: {detector}",
        text="body",
        window_start_ms=T0,
        window_end_ms=None,
        max_grade=1.0,
    )


def test_ensure_alerting_is_idempotent_and_delivers_with_attributes(settings) -> None:
    topic_arn, queue_url = ensure_alerting(settings)
    again = ensure_alerting(settings)
    assert again == (topic_arn, queue_url) and queue_url is not None
    sns = aws_client("sns", settings)
    subs = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert len(subs) == 1 and subs[0]["Protocol"] == "sqs"

    # a second subscriber that only wants high severity: the attribute makes that possible
    sqs = aws_client("sqs", settings)
    high_url = sqs.create_queue(QueueName=settings.alerts_queue + "-high")["QueueUrl"]
    high_arn = sqs.get_queue_attributes(QueueUrl=high_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=high_arn,
        Attributes={"FilterPolicy": json.dumps({"severity": ["high"]})},
    )
    publish(sns, topic_arn, _message("low"))
    publish(sns, topic_arn, _message("high", "waf-http-status-5xx"))

    inbox = read_inbox(settings)
    assert sorted(m["attributes"]["severity"] for m in inbox) == ["high", "low"]
    high = next(m for m in inbox if m["attributes"]["severity"] == "high")
    assert high["attributes"] == {"severity": "high", "detector": "waf-http-status-5xx", "event": "opened"}
    assert high["subject"] == "wafad OPENED high: waf-http-status-5xx"
    assert read_inbox(settings) == []  # drained

    filtered = sqs.receive_message(QueueUrl=high_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(m["Body"])["MessageAttributes"]["severity"]["Value"] for m in filtered] == ["high"]


def _raw_docs(index: str) -> list[dict[str, Any]]:
    """10 clean minutes at 2 req/min, then minutes 40-45 with 5xx from FR carrying attacker strings."""
    docs = []
    for minute in range(0, 60):
        bad = 40 <= minute < 45
        for k in range(6 if bad else 2):
            ts = T0 + minute * MIN + k * 5000
            docs.append(
                {
                    "_index": index,
                    "_id": f"e{minute}-{k}",
                    "@timestamp": datetime.fromtimestamp(ts / 1000, UTC).isoformat(timespec="milliseconds"),
                    "event_id": f"e{minute}-{k}",
                    "status_bad": 1 if bad else 0,
                    "httpRequest": {
                        "country": "FR" if bad else "GB",
                        "clientIp": "203.0.113.9" if bad else f"198.51.100.{k + 1}",
                        "uri": ATTACK_URI if bad else "/index.html",
                        "args": "q=<svg onload=alert(3)>" if bad else "",
                    },
                }
            )
    return docs


def _results(detector_id: str, grades: dict[int, float], values: dict[int, float]) -> list[dict[str, Any]]:
    docs = []
    for i in range(60):
        grade = grades.get(i, 0.0)
        docs.append(
            result_document(
                detector_id=detector_id,
                feature_names=["status_bad"],
                result=ResultInput(
                    data_start_ms=T0 + i * MIN,
                    data_end_ms=T0 + (i + 1) * MIN,
                    values=[values.get(i, 0.0)],
                    score=0.8 + 2 * grade,
                    grade=grade,
                    confidence=0.9,
                    threshold=1.4,
                    attribution=[1.0],
                    expected=[0.2],
                ),
                interval_ms=MIN,
                execution_start_ms=T0 + (i + 3) * MIN,
                execution_end_ms=T0 + (i + 3) * MIN + 20,
            )
        )
    return docs


def test_process_alerts_one_opened_one_resolved_with_inert_context(settings, os_client) -> None:
    raw_index = f"{settings.index_prefix}-2026.01.01"
    os_client.indices.create(index=raw_index, body={"mappings": RAW_MAPPING})
    helpers.bulk(os_client, _raw_docs(raw_index), refresh=True)
    ensure_results_index(os_client, settings.results_index)
    det_id = stable_detector_id("waf-http-status-5xx")
    results = _results(det_id, grades={40: 1.0, 41: 0.8125, 44: 0.5}, values={i: 6.0 for i in range(40, 45)})
    write_results(os_client, settings.results_index, results[:42])
    now = datetime(2026, 1, 1, 2, tzinfo=UTC)

    first = process_alerts(settings, now=now, os_client=os_client)
    assert [m.kind for m in first] == ["opened"]
    write_results(os_client, settings.results_index, results[42:])
    second = process_alerts(settings, now=now, os_client=os_client)
    assert [m.kind for m in second] == ["resolved"]
    assert process_alerts(settings, now=now, os_client=os_client) == []  # nothing new since the checkpoint
    assert load_checkpoint(checkpoint_path(settings)).state.open == {}

    inbox = read_inbox(settings)
    assert len(inbox) == 2
    by_event = {m["attributes"]["event"]: m for m in inbox}
    assert set(by_event) == {"opened", "resolved"}
    for m in inbox:
        assert m["attributes"]["detector"] == "waf-http-status-5xx"
        assert m["attributes"]["severity"] == "high"
    resolved = by_event["resolved"]["message"]
    assert "Window: 2026-01-01T00:40:00Z -> 2026-01-01T00:45:00Z" in resolved
    assert "status_bad: 6 vs 0.2" in resolved and "Top attribution: status_bad" in resolved
    assert "Matching requests in the window: 30" in resolved
    assert "Top countries: FR (30)" in resolved and "203.0.113.9 (30)" in resolved
    assert "Dashboard: file://" in resolved
    # the attacker's URI is there, as inert text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in resolved
    for text in (by_event["opened"]["message"], resolved):
        assert "<script>" not in text and "<img" not in text and "\x1b" not in text and "\r" not in text
        assert not any(line.startswith("X-Evil") for line in text.splitlines())
    assert by_event["opened"]["message"].count("Window: 2026-01-01T00:40:00Z -> ongoing") == 1
