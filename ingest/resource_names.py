"""Names and ARNs of the ingest resources, from the settings alone (no AWS calls).

Shared by what creates the resources (:mod:`ingest.infra`, :mod:`ingest.firehose_stream`) and what grants access
to them (:mod:`ingest.iam_policies`), so neither imports the other. Functions are ``<kinesis_stream>-s3-to-kinesis``
and ``<firehose_stream>-transform``; roles ``<function>-role`` and ``<firehose_stream>-firehose-role``.
"""

from __future__ import annotations

import os
import re

from wafad.settings import Settings

#: The roles (and their policies) by key: the two Lambda functions and the Firehose delivery stream.
ROLE_KEYS = ("s3_to_kinesis", "firehose_transform", "firehose")
#: The S3 prefix Firehose backs failed records up under.
FIREHOSE_BACKUP_PREFIX = "firehose-backup/"
#: Where Firehose sets records aside, under the S3 backup prefix: transform failures, and documents OpenSearch
#: rejected (the contract's ``opensearch-failed/``; Firehose itself appends ``AmazonOpenSearchService-failed/``).
FIREHOSE_FAILURE_FOLDERS = ("processing-failed/", "opensearch-failed/", "AmazonOpenSearchService-failed/")
_DOMAIN_HOST = re.compile(
    r"^(?:https?://)?(?:search|vpc)-(?P<name>[a-z][a-z0-9-]+)-[a-z0-9]+\.[a-z0-9-]+\.es\.amazonaws\.com"
)


def function_name(settings: Settings, key: str) -> str:
    """``<kinesis_stream>-s3-to-kinesis`` and ``<firehose_stream>-transform``: unique per set of settings."""
    if key == "s3_to_kinesis":
        return f"{settings.kinesis_stream}-s3-to-kinesis"
    return f"{settings.firehose_stream}-transform"


def role_name(settings: Settings, key: str) -> str:
    if key == "firehose":
        return f"{settings.firehose_stream}-firehose-role"
    return f"{function_name(settings, key)}-role"


def role_arn(settings: Settings, key: str) -> str:
    return f"arn:aws:iam::{settings.aws_account_id}:role/{role_name(settings, key)}"


def function_arn(settings: Settings, key: str) -> str:
    return f"arn:aws:lambda:{settings.aws_region}:{settings.aws_account_id}:function:{function_name(settings, key)}"


def log_group_arn(settings: Settings, key: str) -> str:
    name = function_name(settings, key)
    return f"arn:aws:logs:{settings.aws_region}:{settings.aws_account_id}:log-group:/aws/lambda/{name}"


def stream_arn(settings: Settings) -> str:
    return f"arn:aws:kinesis:{settings.aws_region}:{settings.aws_account_id}:stream/{settings.kinesis_stream}"


def firehose_arn(settings: Settings) -> str:
    return f"arn:aws:firehose:{settings.aws_region}:{settings.aws_account_id}:deliverystream/{settings.firehose_stream}"


def domain_arn(settings: Settings) -> str | None:
    """``WAFAD_OPENSEARCH_DOMAIN_ARN``, else read from an ``*.es.amazonaws.com`` endpoint, else unknown."""
    if arn := os.environ.get("WAFAD_OPENSEARCH_DOMAIN_ARN"):
        return arn
    match = _DOMAIN_HOST.match(settings.opensearch_url or "")
    if match is None:
        return None
    return f"arn:aws:es:{settings.aws_region}:{settings.aws_account_id}:domain/{match['name']}"
