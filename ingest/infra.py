"""Create what the ingest path needs, idempotently (:func:`ensure_ingest`): bucket, S3 → SQS notifications
(local), Kinesis stream, IAM roles, Lambda functions, Firehose delivery stream, S3 → Lambda trigger (aws), index
template, ISM policy (production).

Locally the S3 ObjectCreated notifications go to the SQS queue ``settings.s3_events_queue``, which
:func:`ingest.s3_events.relay` drains (moto cannot invoke a Lambda). The IAM roles (:mod:`ingest.iam_roles`) and
Lambda functions (:mod:`ingest.lambda_functions`) are created on both targets (moto stores them); the Firehose
stream (:mod:`ingest.firehose_stream`) gets that role and transform function. On aws, S3 ObjectCreated under
``log_prefix`` invokes the ``s3_to_kinesis`` function (:mod:`ingest.s3_notifications`). This module only
orchestrates: the resource modules never import it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ingest.resource_names import function_arn, role_arn
from wafad.settings import Settings


def _bucket(s3: Any, settings: Settings) -> str:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=settings.bucket)
        return "exists"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": settings.bucket}
    if settings.aws_region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_region}
    s3.create_bucket(**kwargs)
    return "created"


def queue_url(sqs: Any, settings: Settings) -> str:
    return sqs.get_queue_url(QueueName=settings.s3_events_queue)["QueueUrl"]


def _events_queue(sqs: Any, settings: Settings) -> tuple[str, str, str]:
    from botocore.exceptions import ClientError

    try:
        url = queue_url(sqs, settings)
        state = "exists"
    except ClientError:
        url = sqs.create_queue(
            QueueName=settings.s3_events_queue,
            Attributes={"VisibilityTimeout": "60", "MessageRetentionPeriod": "1209600"},
        )["QueueUrl"]
        state = "created"
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if state == "created":
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{settings.bucket}"}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn, state


def _stream(kinesis: Any, settings: Settings) -> str:
    from botocore.exceptions import ClientError

    try:
        desc = kinesis.describe_stream_summary(StreamName=settings.kinesis_stream)["StreamDescriptionSummary"]
        shards = desc.get("OpenShardCount")
        if shards != settings.kinesis_shards:
            return f"exists ({shards} shards; settings ask for {settings.kinesis_shards}: left as is)"
        return "exists"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    kinesis.create_stream(StreamName=settings.kinesis_stream, ShardCount=settings.kinesis_shards)
    deadline = time.monotonic() + 600
    while True:  # moto: ACTIVE at once; AWS: tens of seconds
        status = kinesis.describe_stream_summary(StreamName=settings.kinesis_stream)["StreamDescriptionSummary"]
        if status["StreamStatus"] == "ACTIVE":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"Kinesis stream {settings.kinesis_stream} not ACTIVE after 10 minutes")
        time.sleep(0.2 if settings.is_local else 5)
    return f"created ({settings.kinesis_shards} shards)"


def ensure_ingest(settings: Settings) -> dict[str, str]:
    """Create what is missing; returns each resource → what was done (``created``, ``exists``, ...)."""
    from ingest.firehose_stream import ensure_firehose_stream
    from ingest.iam_roles import ensure_roles
    from ingest.index_template import ensure_index_template
    from ingest.ism import ensure_ism_policy
    from ingest.lambda_functions import ensure_lambda_functions
    from ingest.s3_notifications import ensure_queue_notification, ensure_s3_lambda_notification
    from wafad.clients import aws_client, opensearch_client

    s3 = aws_client("s3", settings)
    out: dict[str, str] = {"bucket": _bucket(s3, settings)}
    if not settings.is_local:  # the Athena table over the raw logs (locally `wafad sql` queries them with DuckDB)
        from queries.glue import ensure_athena_table

        out.update(ensure_athena_table(settings))
    if settings.is_local:
        sqs = aws_client("sqs", settings)
        _url, arn, state = _events_queue(sqs, settings)
        out["s3_events_queue"] = state
        out["s3_notification"] = ensure_queue_notification(s3, settings, arn)
    out["kinesis_stream"] = _stream(aws_client("kinesis", settings), settings)
    out.update(ensure_roles(settings))
    out.update(ensure_lambda_functions(settings))
    out["firehose_stream"] = ensure_firehose_stream(
        aws_client("firehose", settings),
        settings,
        role_arn=role_arn(settings, "firehose"),
        transform_arn=function_arn(settings, "firehose_transform"),
    )
    out.update(ensure_s3_lambda_notification(settings))
    os_client = opensearch_client(settings)
    out["index_template"] = ensure_index_template(os_client, settings)
    out["ism_policy"] = ensure_ism_policy(os_client, settings) if not settings.is_local else "skipped (local)"
    return out
