"""The whole ingest path on the real local stack: S3 → SQS notification → relay → Kinesis → local Firehose
(transform) → osmem, with corrupted input, replays and injected faults. Nothing may be lost: every record in
is either a document or set aside in S3 with a reason."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from opensearchpy.exceptions import TransportError

from ingest.checkpoints import checkpoint_path
from ingest.delivery import deliver
from ingest.delivery_options import DeliveryOptions
from ingest.events import event_id
from ingest.infra import ensure_ingest
from ingest.kinesis_writer import BackoffPolicy
from ingest.s3_events import config_from_settings, relay
from wafad.catalogue import allow_lists_from_env, indicators
from wafad.clients import aws_client
from wafad.settings import Settings

FAST = BackoffPolicy(max_attempts=6, base_s=0.001, cap_s=0.01)
FAST_DELIVERY = DeliveryOptions(backoff_base_s=0.001, backoff_cap_s=0.01)


def _samples(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in paths]


def _records(samples: list[dict[str, Any]], n: int, start_ms: int = 1_700_000_000_000) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        rec = json.loads(json.dumps(samples[i % len(samples)]))
        rec["timestamp"] = start_ms + i * 997
        out.append(rec)
    return out


def _lines_in(blob: bytes) -> int:
    """Records in an object as an independent reader sees them: non-blank lines, +1 for a cut-off remainder."""
    if blob[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(31)
        text = d.decompress(blob)
        truncated = not d.eof
    else:
        text, truncated = blob, False
    parts = text.split(b"\n")
    complete, rest = parts[:-1], parts[-1]
    n = sum(1 for p in complete if p.strip())
    if truncated:
        return n + 1  # the partial line (or the cut itself) is set aside as "truncated"
    return n + (1 if rest.strip() else 0)


def _set_aside(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Every entry written to S3 by the path: dead letters, processing-failed, opensearch-failed."""
    s3 = aws_client("s3", settings)
    out: dict[str, list[dict[str, Any]]] = {"dead-letter": [], "processing-failed": [], "opensearch-failed": []}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
        for obj in page.get("Contents", []):
            kind = next((k for k in out if obj["Key"].startswith(k)), None)
            if kind is None:
                continue
            body = s3.get_object(Bucket=settings.bucket, Key=obj["Key"])["Body"].read()
            out[kind].extend(json.loads(line) for line in body.splitlines() if line.strip())
    return out


def _count(os_client: Any, settings: Settings) -> int:
    os_client.indices.refresh(index=f"{settings.index_prefix}-*")
    return int(os_client.count(index=f"{settings.index_prefix}-*")["count"])


def _put(settings: Settings, key: str, lines: list[bytes], *, gz: bool = True) -> bytes:
    raw = b"\n".join(lines) + b"\n"
    blob = gzip.compress(raw) if gz else raw
    aws_client("s3", settings).put_object(Bucket=settings.bucket, Key=key, Body=blob)
    return blob


def test_good_records_arrive_once_with_indicators(settings: Settings, os_client: Any, waf_samples: list[Path]) -> None:
    ensure_ingest(settings)
    recs = _records(_samples(waf_samples), 120)
    _put(
        settings,
        "AWSLogs/111/WAFLogs/us-east-1/acl/2023/11/14/22/10/x y+z.log.gz",
        [json.dumps(r).encode() for r in recs],
    )

    rep = relay(settings)
    assert rep.read == rep.sent == 120 and rep.dead_lettered == 0
    assert any("TestEvent" in s for s in rep.skipped)
    calls: list[tuple[int, int]] = []
    dr = deliver(settings, progress=lambda read, indexed: calls.append((read, indexed)))
    assert dr.balanced and dr.indexed == 120 and dr.read == 120
    assert _count(os_client, settings) == 120
    assert calls and calls[-1] == (120, 120) and calls == sorted(calls)

    hits = os_client.search(index=f"{settings.index_prefix}-*", body={"size": 200})["hits"]["hits"]
    allow = allow_lists_from_env()
    by_ts = {r["timestamp"]: r for r in recs}
    for h in hits:
        doc = h["_source"]
        assert h["_id"] == doc["event_id"]
        original = by_ts[doc["timestamp"]]
        assert {k: doc[k] for k in indicators(original, allow)} == indicators(original, allow)
        assert doc["@timestamp"].endswith("Z") and len(doc["@timestamp"]) == 24
        assert h["_index"] == f"{settings.index_prefix}-{doc['@timestamp'][:10].replace('-', '.')}"
        assert isinstance(doc["httpRequest"]["headers"], dict)
        assert "cookie" not in doc["httpRequest"]["headers"]
    # the keyword / ip mappings the detectors and dashboards use
    mapping = os_client.indices.get_mapping(index=f"{settings.index_prefix}-*")
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["httpRequest"]["properties"]["clientIp"]["type"] == "ip"
    assert props["httpRequest"]["properties"]["country"]["type"] == "keyword"
    assert props["httpRequest"]["properties"]["uri"]["type"] == "keyword"
    assert props["action_bad"]["type"] == "byte" and props["event_id"]["type"] == "keyword"
    agg = os_client.search(
        index=f"{settings.index_prefix}-*",
        body={
            "size": 0,
            "aggs": {"bad": {"sum": {"field": "action_bad"}}, "n": {"value_count": {"field": "event_id"}}},
        },
    )["aggregations"]
    assert agg["n"]["value"] == 120
    assert agg["bad"]["value"] == sum(indicators(r, allow)["action_bad"] for r in recs)


def test_corrupted_input_is_indexed_or_set_aside_with_a_reason(
    settings: Settings, os_client: Any, waf_samples: list[Path]
) -> None:
    ensure_ingest(settings)
    rng = random.Random(7)
    recs = _records(_samples(waf_samples), 60)
    # attacker-controlled strings and unicode stay data
    recs[1]["httpRequest"]["uri"] = "/search?q=<script>alert(1)</script>' OR 1=1 --"
    recs[2]["httpRequest"]["args"] = '\n{"delete":{"_index":"*"}}\n'
    recs[3]["httpRequest"]["headers"] = [{"name": "User-Agent", "value": "Ωmega 🚀 ${jndi:ldap://x/a}"}]
    recs[4]["httpRequest"]["country"] = "日本"
    # wrong types the transform normalises
    recs[5]["httpStatus"] = "abc"
    recs[6]["httpRequest"]["clientIp"] = "999.1.1.1"
    recs[7]["httpRequest"]["headers"] = "not-a-list"
    recs[8]["ruleGroupList"] = None
    recs[9]["action"] = {"nested": ["x"]}
    # wrong types the transform rejects (ProcessingFailed)
    recs[10]["timestamp"] = "yesterday"
    del recs[11]["timestamp"]
    lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5).encode() for r in recs]
    lines[20:20] = [
        b"this is not json",
        b'{"truncated": ',
        b"[1, 2, 3]",
        b'"a string"',
        b"",
        b"   ",
        b"\xff\xfe\x00garbage",
        b'{"timestamp": 1700000000000, "pad": "' + b"y" * (1024 * 1024 + 10) + b'"}',
    ]
    blobs = [_put(settings, "AWSLogs/111/WAFLogs/mixed.log.gz", lines)]
    plain = [json.dumps(r).encode() for r in _records(_samples(waf_samples), 5, start_ms=1_700_100_000_000)]
    blobs.append(_put(settings, "AWSLogs/111/WAFLogs/plain.log", plain, gz=False))
    full = gzip.compress(b"\n".join(json.dumps(r).encode() for r in _records(_samples(waf_samples), 40)) + b"\n")
    cut = full[: len(full) * 2 // 3]
    aws_client("s3", settings).put_object(Bucket=settings.bucket, Key="AWSLogs/111/WAFLogs/cut.log.gz", Body=cut)
    blobs.append(cut)
    records_in = sum(_lines_in(b) for b in blobs)

    rep = relay(settings)
    assert rep.read == records_in
    dr = deliver(settings)
    assert dr.balanced
    aside = _set_aside(settings)
    indexed = _count(os_client, settings)
    n_aside = sum(len(v) for v in aside.values())
    assert indexed + n_aside == records_in
    assert indexed == dr.indexed
    reasons = [e.get("reason") or e.get("errorCode") for v in aside.values() for e in v]
    assert all(reasons), "every record set aside says why"
    dead = {e["reason"] for e in aside["dead-letter"]}
    assert {"not_json", "not_object", "oversize", "truncated"} <= dead
    failed_msgs = [e["errorMessage"] for e in aside["processing-failed"]]
    assert len(failed_msgs) == 2 and all("timestamp" in m for m in failed_msgs)
    # injection strings are stored verbatim, as data
    hit = os_client.search(
        index=f"{settings.index_prefix}-*",
        body={"query": {"term": {"httpRequest.args": '\n{"delete":{"_index":"*"}}\n'}}},
    )["hits"]["hits"]
    assert len(hit) == 1
    hit = os_client.search(
        index=f"{settings.index_prefix}-*", body={"query": {"term": {"httpRequest.country": "日本"}}}
    )
    assert hit["hits"]["total"]["value"] == 1
    bad_ip = os_client.search(index=f"{settings.index_prefix}-*", body={"query": {"exists": {"field": "malformed"}}})
    assert bad_ip["hits"]["total"]["value"] == 0  # malformed is kept in _source, not indexed (dynamic: false)


def test_replayed_notification_and_records_create_no_duplicates(
    settings: Settings, os_client: Any, waf_samples: list[Path]
) -> None:
    ensure_ingest(settings)
    recs = _records(_samples(waf_samples), 80)
    key = "AWSLogs/111/WAFLogs/replay.log.gz"
    _put(settings, key, [json.dumps(r).encode() for r in recs])
    sqs = aws_client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.s3_events_queue)["QueueUrl"]
    # capture the real notification, then put it back twice (S3 delivers at least once)
    msgs: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        msgs.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    created = [m["Body"] for m in msgs if "ObjectCreated" in m["Body"]]
    assert len(created) == 1
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=created[0])
    rep = relay(settings)
    assert rep.sent == 2 * 80  # the object was shipped twice ...
    dr = deliver(settings)
    assert dr.read == 160 and dr.indexed == 160 and dr.balanced
    assert _count(os_client, settings) == 80  # ... but the event ids make the documents the same

    # replay the same Kinesis records: forget the checkpoints and deliver again
    checkpoint_path(settings).unlink()
    again = deliver(settings)
    assert again.read == 160 and again.indexed == 160
    assert _count(os_client, settings) == 80
    # and with checkpoints kept, nothing is read twice
    assert deliver(settings).read == 0


class ThrottlingKinesis:
    """The real client, with PutRecords throttled: whole calls refused, then some entries failed."""

    def __init__(self, real: Any, *, refuse_calls: int = 1, fail_every: int = 3, fail_rounds: int = 2) -> None:
        self._real = real
        self.refuse_calls = refuse_calls
        self.fail_every = fail_every
        self.fail_rounds = fail_rounds
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def put_records(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.refuse_calls:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded for shard"}},
                "PutRecords",
            )
        records = kwargs["Records"]
        if self.fail_rounds <= 0:
            return self._real.put_records(**kwargs)
        self.fail_rounds -= 1
        keep = [i for i in range(len(records)) if int(records[i]["PartitionKey"], 16) % self.fail_every]
        real = (
            self._real.put_records(StreamName=kwargs["StreamName"], Records=[records[i] for i in keep])
            if keep
            else None
        )
        results: list[dict[str, Any]] = []
        it = iter(real["Records"] if real else [])
        for i in range(len(records)):
            if i in keep:
                results.append(next(it))
            else:
                code = "ProvisionedThroughputExceededException" if i % 2 else "InternalFailure"
                results.append({"ErrorCode": code, "ErrorMessage": "injected"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedRecordCount": failed, "Records": results}


class ThrottlingOpenSearch:
    """The real client, with _bulk answering 429: once for the whole request, then for some items."""

    def __init__(self, real: Any, *, refuse_calls: int = 1, item_rounds: int = 2) -> None:
        self._real = real
        self.refuse_calls = refuse_calls
        self.item_rounds = item_rounds
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def bulk(self, body: bytes, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.refuse_calls:
            raise TransportError(429, "circuit_breaking_exception", {"error": "injected: too many requests"})
        lines = body.splitlines()
        pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]
        if self.item_rounds <= 0:
            return self._real.bulk(body=body, **kwargs)
        self.item_rounds -= 1
        keep = [i for i in range(len(pairs)) if i % 4]
        sent = b"".join(pairs[i][0] + b"\n" + pairs[i][1] + b"\n" for i in keep)
        real = self._real.bulk(body=sent, **kwargs) if keep else {"items": []}
        it = iter(real["items"])
        items = []
        for i in range(len(pairs)):
            if i in keep:
                items.append(next(it))
            else:
                err = {"type": "es_rejected_execution_exception", "reason": "injected"}
                items.append({"index": {"status": 429, "error": err}})
        return {"errors": True, "items": items}


def test_throttled_put_records_and_bulk_429s_are_retried_to_completion(
    settings: Settings, os_client: Any, waf_samples: list[Path]
) -> None:
    ensure_ingest(settings)
    recs = _records(_samples(waf_samples), 700)  # two PutRecords batches
    _put(settings, "AWSLogs/111/WAFLogs/faults.log.gz", [json.dumps(r).encode() for r in recs])
    kinesis = ThrottlingKinesis(aws_client("kinesis", settings))
    config = config_from_settings(settings, kinesis=kinesis, backoff=FAST, aggregate=False)  # faults per line
    rep = relay(settings, config=config)
    assert rep.sent == 700 and rep.dead_lettered == 0
    assert rep.retried > 0 and kinesis.calls > 3

    flaky_os = ThrottlingOpenSearch(os_client)
    options = DeliveryOptions(backoff_base_s=0.001, backoff_cap_s=0.01, index_buffer_bytes=256 * 1024)
    dr = deliver(settings, os_client=flaky_os, options=options)
    assert dr.bulk_retries >= 2 and flaky_os.calls > dr.bulk_requests - dr.bulk_retries
    assert dr.indexed == 700 and dr.index_failed == 0 and dr.balanced
    assert _count(os_client, settings) == 700


def test_faults_that_never_clear_are_set_aside_not_lost(
    settings: Settings, os_client: Any, waf_samples: list[Path]
) -> None:
    ensure_ingest(settings)
    recs = _records(_samples(waf_samples), 50)
    key = "AWSLogs/111/WAFLogs/stuck.log.gz"
    _put(settings, key, [json.dumps(r).encode() for r in recs])
    kinesis = ThrottlingKinesis(aws_client("kinesis", settings), refuse_calls=0, fail_every=5, fail_rounds=10**6)
    config = config_from_settings(settings, kinesis=kinesis, backoff=BackoffPolicy(3, 0.001, 0.01), aggregate=False)
    rep = relay(settings, config=config)
    doomed = sum(1 for n in range(1, 51) if int(event_id(settings.bucket, key, n), 16) % 5 == 0)
    assert doomed > 0
    assert rep.sent + rep.dead_lettered == 50 and rep.dead_lettered == doomed

    stuck_os = ThrottlingOpenSearch(os_client, refuse_calls=10**6)
    dr = deliver(settings, os_client=stuck_os, options=DeliveryOptions(bulk_attempts=3, backoff_base_s=0.001))
    assert dr.read == 50 - doomed and dr.index_failed == dr.read and dr.balanced
    aside = _set_aside(settings)
    assert len(aside["dead-letter"]) == doomed and all("gave up" in e["detail"] for e in aside["dead-letter"])
    assert len(aside["opensearch-failed"]) == dr.read
    assert all(
        e["esDocumentId"] and e["esIndexName"].startswith(settings.index_prefix) for e in aside["opensearch-failed"]
    )
    # the stuck records were checkpointed past but kept: they can be re-driven from S3 later
    assert _count(os_client, settings) == 0


def test_transform_that_crashes_is_retried_then_records_fail_processing(
    settings: Settings, os_client: Any, waf_samples: list[Path]
) -> None:
    ensure_ingest(settings)
    _put(
        settings,
        "AWSLogs/111/WAFLogs/crash.log.gz",
        [json.dumps(r).encode() for r in _records(_samples(waf_samples), 30)],
    )
    relay(settings)
    calls = {"n": 0}

    def crashing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected: cold start timeout")
        if calls["n"] == 2:
            return {"records": event["records"][:-1]}  # a recordId missing: a broken contract
        from lambdas.firehose_transform import handler

        return handler(event, context)

    dr = deliver(settings, transform=crashing, options=FAST_DELIVERY)
    assert dr.invocation_retries >= 2 and dr.indexed == 30 and dr.balanced
    assert _count(os_client, settings) == 30


def test_handler_accepts_direct_and_eventbridge_events(
    settings: Settings, os_client: Any, waf_samples: list[Path], caplog: Any
) -> None:
    import logging
    from urllib.parse import quote_plus

    from lambdas.s3_to_kinesis import handler

    ensure_ingest(settings)
    keys = ["AWSLogs/111/WAFLogs/with space+plus.log.gz", "AWSLogs/111/WAFLogs/éventbridge.log.gz"]
    for i, key in enumerate(keys):
        recs = _records(_samples(waf_samples), 7, start_ms=1_700_000_000_000 + i * 10**7)
        _put(settings, key, [json.dumps(r).encode() for r in recs])
    direct = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": settings.bucket}, "object": {"key": quote_plus(keys[0]), "size": 1}},
            }
        ]
    }
    eventbridge = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": settings.bucket}, "object": {"key": keys[1], "size": 1}},
    }
    config = config_from_settings(settings)
    for event in (direct, eventbridge):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="wafad.ingest"):
            out = handler(event, None, config=config)
        assert out["sent"] == 7 and out["objects"] == 1 and out["batchItemFailures"] == []
        logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "wafad.ingest"]
        counts = next(entry for entry in logged if entry["message"] == "s3 to kinesis")
        assert {k: counts[k] for k in ("read", "sent", "retried", "dead_lettered")} == {
            "read": 7,
            "sent": 7,
            "retried": 0,
            "dead_lettered": 0,
        }
    assert deliver(settings).indexed == 14
    assert _count(os_client, settings) == 14
