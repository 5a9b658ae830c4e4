"""Alerting resources: the SNS topic and, locally, an SQS queue subscribed to it (the inbox)."""

from __future__ import annotations

import json
from typing import Any

from wafad.clients import aws_client


def ensure_topic(sns: Any, name: str) -> str:
    """Create (idempotent in SNS) and return the topic ARN."""
    return str(sns.create_topic(Name=name)["TopicArn"])


def ensure_queue_subscription(sns: Any, sqs: Any, topic_arn: str, queue_name: str) -> str:
    """An SQS queue subscribed to ``topic_arn`` (policy allows the topic to send); returns the queue URL."""
    queue_url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "wafad-alerts-from-sns",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    paginator = sns.get_paginator("list_subscriptions_by_topic")
    for page in paginator.paginate(TopicArn=topic_arn):
        if any(s.get("Endpoint") == queue_arn and s.get("Protocol") == "sqs" for s in page.get("Subscriptions", [])):
            return queue_url
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)
    return queue_url


def ensure_alerting(settings: Any) -> tuple[str, str | None]:
    """The topic ARN and, on the local target, the URL of the SQS queue subscribed to it (idempotent)."""
    sns = aws_client("sns", settings)
    topic_arn = ensure_topic(sns, settings.sns_topic)
    if not settings.is_local:
        return topic_arn, None
    sqs = aws_client("sqs", settings)
    return topic_arn, ensure_queue_subscription(sns, sqs, topic_arn, settings.alerts_queue)
