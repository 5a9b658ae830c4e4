"""Stage 1: idempotent infrastructure (ingest resources, alerting topic + subscription, detectors, limits)."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.common import ensure_concurrency_limits, retrying
from wafad.settings import Settings


@task(name="ensure-ingest", cache_policy=NO_CACHE, **retrying())
def ensure_ingest_task(settings: Settings) -> dict[str, Any]:
    """Bucket, S3 → SQS notification (local), Kinesis, IAM roles, Lambda functions, Firehose with the transform,
    S3 → Lambda notification (aws), index template (+ ISM on aws)."""
    from ingest.infra import ensure_ingest

    return dict(ensure_ingest(settings))


@task(name="ensure-alerting", cache_policy=NO_CACHE, **retrying())
def ensure_alerting_task(settings: Settings) -> dict[str, Any]:
    """SNS topic and (locally) its SQS subscriber queue."""
    from alerting.infra import ensure_alerting

    topic_arn, queue_url = ensure_alerting(settings)
    return {"topic_arn": topic_arn, "queue_url": queue_url}


@task(name="ensure-detectors", cache_policy=NO_CACHE, **retrying())
def ensure_detectors_task(settings: Settings) -> dict[str, Any]:
    """The catalogue's detectors (AD plugin: created/updated) or the local engine's results index."""
    from detectors.infra import ensure_detectors

    return dict(ensure_detectors(settings))


@task(name="ensure-dashboards", cache_policy=NO_CACHE, **retrying())
def ensure_dashboards_task(settings: Settings) -> dict[str, Any]:
    """OpenSearch Dashboards saved objects (imported where Dashboards runs; written to a file locally)."""
    from dashboard.dashboards_objects.importer import ensure_saved_objects

    return dict(ensure_saved_objects(settings))


@task(name="ensure-concurrency-limits", cache_policy=NO_CACHE)
def ensure_concurrency_limits_task() -> dict[str, str]:
    """Global concurrency limits for OpenSearch bulk and SNS publish."""
    return ensure_concurrency_limits()


def reset_local_resources(settings: Settings) -> dict[str, Any]:
    """Empty this run's resources on the local stack (never on aws): S3 objects, Kinesis stream, queues, indices.

    The demo runs in its own namespace of resource names, so this only touches what earlier demo runs left.
    """
    import contextlib

    from botocore.exceptions import ClientError

    from wafad.clients import aws_client, opensearch_client

    if not settings.is_local:
        raise RuntimeError("reset_local_resources only runs against the local stack (WAFAD_TARGET=local)")
    done: dict[str, Any] = {}
    s3 = aws_client("s3", settings)
    deleted = 0
    with contextlib.suppress(s3.exceptions.NoSuchBucket):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
            objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objs:
                s3.delete_objects(Bucket=settings.bucket, Delete={"Objects": objs, "Quiet": True})
                deleted += len(objs)
    done["s3_objects_deleted"] = deleted
    kinesis = aws_client("kinesis", settings)
    try:
        kinesis.delete_stream(StreamName=settings.kinesis_stream, EnforceConsumerDeletion=True)
        kinesis.get_waiter("stream_not_exists").wait(
            StreamName=settings.kinesis_stream, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        done["kinesis_stream"] = "deleted"
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    sqs = aws_client("sqs", settings)
    for queue in (settings.s3_events_queue, settings.alerts_queue):
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except ClientError:
            continue
        sqs.purge_queue(QueueUrl=url)
        done[f"queue {queue}"] = "purged"
    client = opensearch_client(settings)
    for pattern in (f"{settings.index_prefix}-*", f"{settings.results_index}*"):
        resp = client.indices.get(index=pattern, ignore_unavailable=True, allow_no_indices=True)
        for name in resp:
            client.indices.delete(index=name)
            done.setdefault("indices_deleted", []).append(name)
    return done


@task(name="reset-demo-resources", cache_policy=NO_CACHE, **retrying())
def reset_local_resources_task(settings: Settings) -> dict[str, Any]:
    return reset_local_resources(settings)
