"""Create what the ingest path needs, idempotently: bucket, S3 → SQS notifications (local), Kinesis stream,
Firehose delivery stream, index template, ISM policy (production).

Locally the S3 ObjectCreated notifications go to the SQS queue ``settings.s3_events_queue``, which
:func:`ingest.s3_events.relay` drains (moto cannot invoke a Lambda). The Firehose delivery stream is created
locally as a description only (moto never pulls from Kinesis nor runs the transform; :mod:`ingest.delivery`
does that). The IAM roles and Lambda functions come from :mod:`ingest.aws_resources` (both targets; moto stores
them); the Firehose stream gets that role and transform function unless ``WAFAD_FIREHOSE_ROLE_ARN`` /
``WAFAD_TRANSFORM_LAMBDA_ARN`` name others (``WAFAD_OPENSEARCH_DOMAIN_ARN``: see :func:`firehose_request`). On
aws, S3 ObjectCreated under ``log_prefix`` invokes the ``s3_to_kinesis`` function.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from wafad.settings import Settings

NOTIFICATION_ID = "wafad-s3-events"
FIREHOSE_BACKUP_PREFIX = "firehose-backup/"


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


def _notification(s3: Any, settings: Settings, queue_arn: str) -> str:
    current = s3.get_bucket_notification_configuration(Bucket=settings.bucket)
    current.pop("ResponseMetadata", None)
    queues = current.get("QueueConfigurations", [])
    wanted = {
        "Id": NOTIFICATION_ID,
        "QueueArn": queue_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": settings.log_prefix}]}},
    }
    for q in queues:
        if q.get("Id") == NOTIFICATION_ID and q.get("QueueArn") == queue_arn:
            rules = {r["Name"].lower(): r["Value"] for r in q.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
            if rules.get("prefix") == settings.log_prefix:
                return "exists"
    others = [q for q in queues if q.get("Id") != NOTIFICATION_ID]
    config = {k: v for k, v in current.items() if k in ("TopicConfigurations", "LambdaFunctionConfigurations")}
    config["QueueConfigurations"] = [*others, wanted]
    s3.put_bucket_notification_configuration(Bucket=settings.bucket, NotificationConfiguration=config)
    return "configured"


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


def stream_arn(settings: Settings) -> str:
    return f"arn:aws:kinesis:{settings.aws_region}:{settings.aws_account_id}:stream/{settings.kinesis_stream}"


def firehose_arn(settings: Settings) -> str:
    return f"arn:aws:firehose:{settings.aws_region}:{settings.aws_account_id}:deliverystream/{settings.firehose_stream}"


def firehose_request(
    settings: Settings, *, role_arn: str, transform_lambda_arn: str, domain_arn: str | None
) -> dict[str, Any]:
    """The CreateDeliveryStream request: Kinesis source, Lambda transform (1 MB / 60 s buffers), OpenSearch
    destination with daily rotation into ``<index_prefix>-YYYY.MM.DD``, failed documents to S3."""
    processing = {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": transform_lambda_arn},
                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": "1"},
                    {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "60"},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "3"},
                ],
            }
        ],
    }
    s3_config = {"RoleARN": role_arn, "BucketARN": f"arn:aws:s3:::{settings.bucket}", "Prefix": FIREHOSE_BACKUP_PREFIX}
    destination: dict[str, Any] = {
        "RoleARN": role_arn,
        "IndexName": settings.index_prefix,
        "IndexRotationPeriod": "OneDay",
        "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
        "RetryOptions": {"DurationInSeconds": 300},
        "S3BackupMode": "FailedDocumentsOnly",
        "S3Configuration": s3_config,
        "ProcessingConfiguration": processing,
    }
    if domain_arn:
        destination["DomainARN"] = domain_arn
    else:
        destination["ClusterEndpoint"] = settings.effective_opensearch_url
    return {
        "DeliveryStreamName": settings.firehose_stream,
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {"KinesisStreamARN": stream_arn(settings), "RoleARN": role_arn},
        "AmazonopensearchserviceDestinationConfiguration": destination,
    }


def _firehose(
    firehose: Any, settings: Settings, *, role_arn: str | None = None, transform_arn: str | None = None
) -> str:
    """``role_arn``/``transform_arn``: what :mod:`ingest.aws_resources` created; the env variables win."""
    from botocore.exceptions import ClientError

    try:
        firehose.describe_delivery_stream(DeliveryStreamName=settings.firehose_stream)
        return "exists"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    role = os.environ.get("WAFAD_FIREHOSE_ROLE_ARN") or role_arn
    transform = os.environ.get("WAFAD_TRANSFORM_LAMBDA_ARN") or transform_arn
    if not (role and transform):
        return "skipped (set WAFAD_FIREHOSE_ROLE_ARN and WAFAD_TRANSFORM_LAMBDA_ARN to create it)"
    request = firehose_request(
        settings,
        role_arn=role,
        transform_lambda_arn=transform,
        domain_arn=os.environ.get("WAFAD_OPENSEARCH_DOMAIN_ARN"),
    )
    if settings.is_local:
        # moto rejects the OpenSearch destination type; the same settings as an Elasticsearch destination
        # describe the stream (moto never delivers either way: ingest.delivery plays Firehose locally).
        dest = request.pop("AmazonopensearchserviceDestinationConfiguration")
        dest["DomainARN"] = f"arn:aws:es:{settings.aws_region}:{settings.aws_account_id}:domain/wafad-local"
        dest.pop("ClusterEndpoint", None)
        request["ElasticsearchDestinationConfiguration"] = dest
    _create_delivery_stream(firehose, settings, request)
    return "created"


def _create_delivery_stream(firehose: Any, settings: Settings, request: dict[str, Any]) -> None:
    """A just-created role takes seconds to become assumable by Firehose on AWS: retry that for a while."""
    deadline = time.monotonic() + (0 if settings.is_local else 90)
    while True:
        try:
            firehose.create_delivery_stream(**request)
            return
        except firehose.exceptions.InvalidArgumentException as exc:
            if time.monotonic() > deadline or "role" not in str(exc).lower():
                raise
            time.sleep(5)


def ensure_ingest(settings: Settings) -> dict[str, str]:
    """Create what is missing; returns each resource → what was done (``created``, ``exists``, ...)."""
    from ingest.aws_resources import (
        ensure_lambda_functions,
        ensure_roles,
        ensure_s3_lambda_notification,
        function_arn,
        role_arn,
    )
    from ingest.index_template import ensure_index_template
    from ingest.ism import ensure_ism_policy
    from wafad.clients import aws_client, opensearch_client

    s3 = aws_client("s3", settings)
    out: dict[str, str] = {"bucket": _bucket(s3, settings)}
    if not settings.is_local:  # the Athena table over the raw logs (locally `wafad sql` queries them with DuckDB)
        from wafad.sql_glue import ensure_athena_table

        out.update(ensure_athena_table(settings))
    if settings.is_local:
        sqs = aws_client("sqs", settings)
        _url, arn, state = _events_queue(sqs, settings)
        out["s3_events_queue"] = state
        out["s3_notification"] = _notification(s3, settings, arn)
    out["kinesis_stream"] = _stream(aws_client("kinesis", settings), settings)
    out.update(ensure_roles(settings))
    out.update(ensure_lambda_functions(settings))
    out["firehose_stream"] = _firehose(
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
