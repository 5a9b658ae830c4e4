"""Backfill support: which S3 objects of a window are not fully indexed, and re-driving them (idempotent).

Document ids are deterministic (``ingest.events.event_id(bucket, key, line)``), so re-driving an object
overwrites the documents already there: nothing is doubled, whatever was missing is filled in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.common import retrying
from wafad.settings import Settings

#: Dead-letter reasons a re-drive can cure (the put may succeed next time): those lines are still expected.
RETRYABLE_DEAD_LETTER_REASONS = frozenset({"kinesis_put_failed"})


@dataclass(frozen=True)
class ObjectStatus:
    key: str
    lines: int  # non-blank lines
    indexed: int  # of the lines not set aside, how many are in the index
    set_aside: int = 0  # lines the S3 → Kinesis stage dead-lettered for good (not JSON, oversize, truncated ...)

    @property
    def complete(self) -> bool:
        return self.indexed >= self.lines - self.set_aside


def set_aside_ids(settings: Settings, key: str, *, s3: Any = None) -> set[str]:
    """Event ids of ``key``'s lines that the S3 → Kinesis stage set aside with a reason no re-drive cures.

    They are in its dead-letter objects, ``<dead_letter_prefix>s3-to-kinesis/<bucket>/<key>/<digest>.ndjson`` (one
    per run that set something aside), one entry per line with its ``reason`` and ``event_id``.
    """
    import json

    from ingest.s3_to_kinesis_core import STAGE
    from wafad.clients import aws_client

    s3 = s3 or aws_client("s3", settings)
    prefix = f"{settings.dead_letter_prefix.rstrip('/')}/{STAGE}/{settings.bucket}/{key}/"
    ids: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=settings.bucket, Key=obj["Key"])["Body"]
            for raw in body.iter_lines():
                if not raw.strip():
                    continue
                entry = json.loads(raw)
                if entry.get("event_id") and entry.get("reason") not in RETRYABLE_DEAD_LETTER_REASONS:
                    ids.add(entry["event_id"])
    return ids


def object_status(settings: Settings, key: str, *, s3: Any = None, os_client: Any = None) -> ObjectStatus:
    """Lines of one S3 object, how many were set aside for good, and how many of the others are in the index."""
    from ingest.events import event_id
    from ingest.s3_lines import iter_lines
    from wafad.clients import aws_client, opensearch_client

    s3 = s3 or aws_client("s3", settings)
    os_client = os_client or opensearch_client(settings)
    body = s3.get_object(Bucket=settings.bucket, Key=key)["Body"]
    ids = [event_id(settings.bucket, key, line.number) for line in iter_lines(body) if line.data.strip()]
    aside = set_aside_ids(settings, key, s3=s3)
    expected = [i for i in ids if i not in aside]
    indexed = 0
    for i in range(0, len(expected), 1000):
        chunk = expected[i : i + 1000]
        resp = os_client.count(
            index=f"{settings.index_prefix}-*",
            body={"query": {"ids": {"values": chunk}}},
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        indexed += int(resp["count"])
    return ObjectStatus(key, len(ids), indexed, len(ids) - len(expected))


def s3_created_event(bucket: str, keys: list[str], region: str) -> dict[str, Any]:
    """The S3 → Lambda ``ObjectCreated:Put`` notification for ``keys`` (what S3 itself sends)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "wafad-backfill-redrive",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key)},
                },
            }
            for key in keys
        ]
    }


def redrive_objects(settings: Settings, keys: list[str]) -> dict[str, Any]:
    """Send ``keys`` through ``lambdas.s3_to_kinesis.handler`` again (on aws: invoke the deployed function)."""
    if not keys:
        return {"objects": 0}
    event = s3_created_event(settings.bucket, keys, settings.aws_region)
    if settings.is_local:
        from ingest.locks import exclusive
        from ingest.s3_events import _accepts_config, config_from_settings
        from lambdas.s3_to_kinesis import handler

        with exclusive(settings, "kinesis-writer"):  # one writer per stream, as the relay: moto loses records
            if _accepts_config(handler):
                result = handler(event, None, config=config_from_settings(settings))
            else:
                result = handler(event, None)
        return {"objects": len(keys), **(result if isinstance(result, dict) else {"result": result})}
    import json

    from wafad.clients import aws_client

    resp = aws_client("lambda", settings).invoke(
        FunctionName="wafad-s3-to-kinesis", InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    payload = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise RuntimeError(f"s3_to_kinesis re-drive failed: {payload}")
    return {"objects": len(keys), **payload}


@task(name="check-window-objects", cache_policy=NO_CACHE, **retrying())
def window_status_task(settings: Settings, keys: list[str]) -> list[dict[str, Any]]:
    from wafad.clients import aws_client, opensearch_client

    s3, client = aws_client("s3", settings), opensearch_client(settings)
    client.indices.refresh(index=f"{settings.index_prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    out = []
    for key in keys:
        st = object_status(settings, key, s3=s3, os_client=client)
        out.append({**asdict(st), "complete": st.complete})
    return out


@task(name="redrive-objects", cache_policy=NO_CACHE, **retrying())
def redrive_task(settings: Settings, keys: list[str]) -> dict[str, Any]:
    result = redrive_objects(settings, keys)
    get_run_logger().info("re-drove %d object(s): %s", len(keys), result)
    return result


@task(name="list-window-objects", cache_policy=NO_CACHE, **retrying())
def list_objects_task(settings: Settings, start: datetime, end: datetime) -> list[str]:
    from tasks.checks import list_log_objects

    return list_log_objects(settings, start, end)


def clear_historical_results(settings: Settings, start: datetime, end: datetime) -> int:
    """Delete earlier historical-analysis results (``task_id`` set) for intervals in ``[start, end)``.

    Historical runs tag results with a fresh task id, so re-running a window would add a second set; the backfill
    clears the window's old set first (under its lock), keeping exactly one.
    """
    from opensearchpy import helpers

    from wafad.clients import opensearch_client

    client = opensearch_client(settings)
    index = settings.results_index
    if not client.indices.exists(index=index):
        return 0
    client.indices.refresh(index=index)
    query = {
        "query": {
            "bool": {
                "filter": [
                    {"exists": {"field": "task_id"}},
                    {"range": {"data_start_time": {"gte": int(start.timestamp() * 1000), "format": "epoch_millis"}}},
                    {"range": {"data_start_time": {"lt": int(end.timestamp() * 1000), "format": "epoch_millis"}}},
                ]
            }
        },
        "_source": False,
    }
    ids = [hit["_id"] for hit in helpers.scan(client, index=index, query=query)]
    if ids:
        helpers.bulk(client, ({"_op_type": "delete", "_index": index, "_id": i} for i in ids), refresh=True)
    return len(ids)


@task(name="clear-historical-results", cache_policy=NO_CACHE, **retrying())
def clear_historical_results_task(settings: Settings, start: datetime, end: datetime) -> int:
    return clear_historical_results(settings, start, end)
