"""The Firehose delivery stream, idempotently: Kinesis source, Lambda transform, OpenSearch destination with
daily indices, failed records to S3 (:func:`firehose_request` is the CreateDeliveryStream request).

Locally the stream is created as a description only (moto never pulls from Kinesis nor runs the transform;
:func:`ingest.delivery.deliver` plays Firehose). It gets the role and transform function of
:mod:`ingest.iam_roles` / :mod:`ingest.lambda_functions` unless ``WAFAD_FIREHOSE_ROLE_ARN`` /
``WAFAD_TRANSFORM_LAMBDA_ARN`` name others; ``WAFAD_OPENSEARCH_DOMAIN_ARN`` sets the destination domain.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ingest.resource_names import FIREHOSE_BACKUP_PREFIX, stream_arn
from wafad.settings import Settings


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


def ensure_firehose_stream(
    firehose: Any, settings: Settings, *, role_arn: str | None = None, transform_arn: str | None = None
) -> str:
    """Create the stream unless it exists. ``role_arn``/``transform_arn``: what :mod:`ingest.iam_roles` and
    :mod:`ingest.lambda_functions` created; the env variables win."""
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
