"""The IAM documents of the ingest roles: one inline least-privilege policy and one trust policy per role key
(``s3_to_kinesis``, ``firehose_transform``, ``firehose``). Pure: built from the settings, applied by
:mod:`ingest.iam_roles`."""

from __future__ import annotations

from typing import Any

from ingest.resource_names import (
    FIREHOSE_BACKUP_PREFIX,
    FIREHOSE_FAILURE_FOLDERS,
    ROLE_KEYS,
    domain_arn,
    function_arn,
    log_group_arn,
    stream_arn,
)
from wafad.settings import Settings


def _statement(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _logs_statements(settings: Settings, key: str) -> list[dict[str, Any]]:
    group = log_group_arn(settings, key)
    return [
        _statement(["logs:CreateLogGroup"], [group]),
        _statement(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{group}:*"]),
    ]


def _s3_to_kinesis_policy(settings: Settings) -> dict[str, Any]:
    bucket = f"arn:aws:s3:::{settings.bucket}"
    statements = [
        _statement(["s3:GetObject"], [f"{bucket}/{settings.log_prefix}*"]),
        _statement(["s3:PutObject"], [f"{bucket}/{settings.dead_letter_prefix}*"]),
        _statement(["kinesis:PutRecord", "kinesis:PutRecords"], [stream_arn(settings)]),
    ]
    if settings.is_local:  # the S3 events queue exists (and is drained for this function) on the local target only
        queue = f"arn:aws:sqs:{settings.aws_region}:{settings.aws_account_id}:{settings.s3_events_queue}"
        statements.append(_statement(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [queue]))
    return _doc(statements + _logs_statements(settings, "s3_to_kinesis"))


def _firehose_policy(settings: Settings) -> dict[str, Any]:
    bucket = f"arn:aws:s3:::{settings.bucket}"
    statements = [
        _statement(
            ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
            [stream_arn(settings)],
        ),
        _statement(
            ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], [function_arn(settings, "firehose_transform")]
        ),
        _statement(
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [f"{bucket}/{FIREHOSE_BACKUP_PREFIX}{folder}*" for folder in FIREHOSE_FAILURE_FOLDERS],
        ),
    ]
    if domain := domain_arn(settings):
        statements.append(_statement(["es:DescribeDomain", "es:DescribeDomains", "es:DescribeDomainConfig"], [domain]))
        statements.append(_statement(["es:ESHttpPost", "es:ESHttpPut", "es:ESHttpGet"], [domain, f"{domain}/*"]))
    return _doc(statements)


def policy_documents(settings: Settings) -> dict[str, dict[str, Any]]:
    """Role key (``s3_to_kinesis``, ``firehose_transform``, ``firehose``) → its inline permission policy."""
    return {
        "s3_to_kinesis": _s3_to_kinesis_policy(settings),
        "firehose_transform": _doc(_logs_statements(settings, "firehose_transform")),
        "firehose": _firehose_policy(settings),
    }


def trust_documents(settings: Settings) -> dict[str, dict[str, Any]]:
    """Role key → its trust policy: the Lambda or Firehose service of this account may assume it."""
    out = {}
    for key in ROLE_KEYS:
        service = "firehose.amazonaws.com" if key == "firehose" else "lambda.amazonaws.com"
        out[key] = _doc(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": settings.aws_account_id}},
                }
            ]
        )
    return out
