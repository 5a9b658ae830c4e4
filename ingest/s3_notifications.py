"""The bucket's ObjectCreated notifications under ``log_prefix``, idempotently: to the S3 events queue (local
target, drained by :func:`ingest.s3_events.relay`) or to the ``s3_to_kinesis`` Lambda (aws target, with the
permission for S3 to invoke it). Each writer replaces only its own entry and keeps the bucket's others."""

from __future__ import annotations

import json
from typing import Any

from ingest.resource_names import function_arn, function_name
from wafad.clients import aws_client
from wafad.settings import Settings

QUEUE_NOTIFICATION_ID = "wafad-s3-events"
LAMBDA_NOTIFICATION_ID = "wafad-s3-to-kinesis"
PERMISSION_ID = "wafad-s3-invoke"
_KINDS = ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations")
_EVENTS = ["s3:ObjectCreated:*"]


def _filter_prefix(config: dict[str, Any]) -> str | None:
    rules = config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {r["Name"].lower(): r["Value"] for r in rules}.get("prefix")


def _ensure_entry(s3: Any, settings: Settings, kind: str, target: str, wanted: dict[str, Any], *, events: bool) -> str:
    """``exists`` when the bucket has ``wanted`` (same id, ``target`` ARN, prefix and, if ``events``, events);
    else writes it in place of any entry with its id and returns ``configured``."""
    current = s3.get_bucket_notification_configuration(Bucket=settings.bucket)
    entries = current.get(kind, [])
    for entry in entries:
        same = entry.get("Id") == wanted["Id"] and entry.get(target) == wanted[target]
        if same and _filter_prefix(entry) == settings.log_prefix and (not events or entry.get("Events") == _EVENTS):
            return "exists"
    config = {k: v for k, v in current.items() if k in _KINDS and k != kind}
    config[kind] = [e for e in entries if e.get("Id") != wanted["Id"]] + [wanted]
    s3.put_bucket_notification_configuration(Bucket=settings.bucket, NotificationConfiguration=config)
    return "configured"


def _wanted(notification_id: str, target: str, arn: str, prefix: str) -> dict[str, Any]:
    return {
        "Id": notification_id,
        target: arn,
        "Events": list(_EVENTS),
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
    }


def ensure_queue_notification(s3: Any, settings: Settings, queue_arn: str) -> str:
    """Local target: ObjectCreated under ``log_prefix`` → the S3 events queue."""
    wanted = _wanted(QUEUE_NOTIFICATION_ID, "QueueArn", queue_arn, settings.log_prefix)
    return _ensure_entry(s3, settings, "QueueConfigurations", "QueueArn", wanted, events=False)


def _has_permission(lam: Any, name: str) -> bool:
    try:
        policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    except lam.exceptions.ResourceNotFoundException:
        return False
    return any(st.get("Sid") == PERMISSION_ID for st in policy.get("Statement", []))


def _ensure_permission(lam: Any, settings: Settings) -> str:
    name = function_name(settings, "s3_to_kinesis")
    if _has_permission(lam, name):
        return "exists"
    lam.add_permission(
        FunctionName=name,
        StatementId=PERMISSION_ID,
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{settings.bucket}",
        SourceAccount=settings.aws_account_id,
    )
    return "created"


def ensure_s3_lambda_notification(settings: Settings) -> dict[str, str]:
    """aws target: S3 may invoke ``s3_to_kinesis`` and ObjectCreated under ``log_prefix`` does. Locally skipped
    (moto would try to run the function in Docker; the local path is S3 → SQS → the in-process relay)."""
    if settings.is_local:
        return {"s3_lambda_notification": "skipped (local: S3 events go to SQS)"}
    permission = _ensure_permission(aws_client("lambda", settings), settings)
    arn = function_arn(settings, "s3_to_kinesis")
    wanted = _wanted(LAMBDA_NOTIFICATION_ID, "LambdaFunctionArn", arn, settings.log_prefix)
    s3 = aws_client("s3", settings)
    return {
        "s3_lambda_permission": permission,
        "s3_lambda_notification": _ensure_entry(
            s3, settings, "LambdaFunctionConfigurations", "LambdaFunctionArn", wanted, events=True
        ),
    }
