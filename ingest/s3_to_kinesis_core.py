"""S3 log objects → one Kinesis record per line, with a deterministic event id; the rest set aside with a reason.

The logic of :mod:`lambdas.s3_to_kinesis` as plain functions. Standard library + boto3 only (packaged into the
Lambda zip). Per object:

- stream and gunzip it line by line (:mod:`ingest.s3_lines`), bounded memory for 75 MB objects;
- each line must be one JSON object; ``event_id`` (sha256 of bucket, key, line number) is spliced in as its
  first key (the original bytes are kept otherwise) and used as the partition key, which spreads records
  evenly over the shards and lets the transform recover the id;
- PutRecords in batches (:class:`ingest.kinesis_writer.KinesisBatchWriter`), lines KPL-aggregated by default
  (``WAFAD_KINESIS_AGGREGATE=0`` for one Kinesis record per line), failed entries retried;
- unparsable lines, non-objects, oversize lines (> 1 MiB with the id), the remainder of a truncated gzip and
  entries that kept failing go to ``<dead_letter_prefix>s3-to-kinesis/<bucket>/<key>/<digest>.ndjson`` with
  their reason, line number and event id.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ingest import jsoncodec
from ingest.dead_letter import DeadLetterWriter
from ingest.events import S3ObjectRef, event_id, parse_s3_event
from ingest.kinesis_writer import MAX_RECORD_BYTES, BackoffPolicy, KinesisBatchWriter, RecordTooLarge
from ingest.logs import log_json
from ingest.s3_lines import iter_lines

STAGE = "s3-to-kinesis"


@dataclass
class S3ToKinesisConfig:
    """Where to write; clients may be passed in (the local relay does, tests wrap them to inject faults)."""

    stream: str
    dead_letter_bucket: str | None = None  # None: the source object's bucket
    dead_letter_prefix: str = "dead-letter/"
    region: str | None = None
    endpoint_url: str | None = None
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    aggregate: bool = True  # KPL-aggregate lines into Kinesis records (Firehose de-aggregates)
    s3: Any = None
    kinesis: Any = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3ToKinesisConfig:
        env = os.environ if environ is None else environ
        stream = env.get("WAFAD_KINESIS_STREAM")
        if not stream:
            raise RuntimeError("WAFAD_KINESIS_STREAM is not set: the Kinesis stream to write to")
        return cls(
            stream=stream,
            dead_letter_bucket=env.get("WAFAD_BUCKET") or None,
            dead_letter_prefix=env.get("WAFAD_DEAD_LETTER_PREFIX", "dead-letter/"),
            region=env.get("WAFAD_AWS_REGION") or env.get("AWS_REGION") or None,
            endpoint_url=env.get("WAFAD_AWS_ENDPOINT_URL") or None,
            aggregate=env.get("WAFAD_KINESIS_AGGREGATE", "1").strip().lower() not in ("0", "false", "no", "off"),
        )

    def client(self, service: str) -> Any:
        existing = getattr(self, service)
        if existing is None:
            import boto3

            existing = boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)
            setattr(self, service, existing)
        return existing


@dataclass
class ObjectReport:
    bucket: str
    key: str
    read: int = 0  # lines read (blank lines excluded), problems included
    sent: int = 0
    retried: int = 0
    dead_lettered: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    dead_letter_key: str | None = None
    seconds: float = 0.0


def with_event_id(raw: bytes, record: dict[str, Any], eid: str) -> bytes:
    """The record bytes with ``event_id`` as first key; the original bytes otherwise unchanged when possible."""
    stripped = raw.strip()
    if record and "event_id" not in record and stripped[:1] == b"{":
        return b'{"event_id":"' + eid.encode("ascii") + b'",' + stripped[1:]
    return jsoncodec.dumps({**record, "event_id": eid})


def ship_object(ref: S3ObjectRef, config: S3ToKinesisConfig) -> ObjectReport:
    """Read one object and put its lines on the stream; returns the counts."""
    from botocore.exceptions import ClientError

    started = time.monotonic()
    s3 = config.client("s3")
    report = ObjectReport(ref.bucket, ref.key)
    dead = DeadLetterWriter(
        s3,
        config.dead_letter_bucket or ref.bucket,
        f"{config.dead_letter_prefix.rstrip('/')}/{STAGE}/{ref.bucket}/{ref.key}",
    )

    def on_dead(data: bytes, ref: dict[str, Any], reason: str) -> None:
        dead.add("kinesis_put_failed", reason, data, **ref)

    writer = KinesisBatchWriter(
        config.client("kinesis"), config.stream, on_dead=on_dead, backoff=config.backoff, aggregate=config.aggregate
    )
    try:
        try:
            body = s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("NoSuchKey", "404"):
                raise
            dead.add(
                "object_missing", f"{code}: the object was deleted before it was read", bucket=ref.bucket, key=ref.key
            )
            report.read += 1
            return report
        for line in iter_lines(body, max_line=MAX_RECORD_BYTES):
            report.read += 1
            eid = event_id(ref.bucket, ref.key, line.number)
            src = {"bucket": ref.bucket, "key": ref.key, "line": line.number, "event_id": eid}
            if line.problem is not None:
                dead.add(line.problem, line.detail, line.data, size=line.size, sha256=line.sha256 or None, **src)
                continue
            try:
                record = jsoncodec.loads(line.data)
            except jsoncodec.JSONError as exc:
                dead.add("not_json", str(exc)[:500], line.data, **src)
                continue
            if not isinstance(record, dict):
                dead.add("not_object", f"a JSON {type(record).__name__}, not an object", line.data, **src)
                continue
            data = with_event_id(line.data, record, eid)
            try:
                writer.add(data, eid, src)
            except RecordTooLarge as exc:
                dead.add("oversize", str(exc), line.data, size=len(data), **src)
        writer.flush()
    finally:
        report.dead_letter_key = dead.close()
    report.sent = writer.counts.sent
    report.retried = writer.counts.retried
    report.dead_lettered = dead.count
    report.reasons = dict(dead.reasons)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def ship_event(event: Mapping[str, Any], config: S3ToKinesisConfig) -> dict[str, Any]:
    """Handle one Lambda event (S3, SQS, SNS or EventBridge): the counts, plus SQS ``batchItemFailures``."""
    parsed = parse_s3_event(event)
    reports: list[ObjectReport] = []
    failed_messages: dict[str, str] = {mid: f"invalid event: {why}" for mid, why in parsed.invalid.items()}
    errors: list[str] = list(failed_messages.values())
    for ref in parsed.objects:
        if ref.message_id is not None and ref.message_id in failed_messages:
            continue  # the message will be retried whole
        try:
            reports.append(ship_object(ref, config))
        except Exception as exc:
            msg = f"s3://{ref.bucket}/{ref.key}: {type(exc).__name__}: {exc}"
            errors.append(msg)
            if ref.message_id is None:
                log_json("s3 to kinesis failed", error=msg)
                raise
            failed_messages[ref.message_id] = msg
    result: dict[str, Any] = {
        "objects": len(reports),
        "read": sum(r.read for r in reports),
        "sent": sum(r.sent for r in reports),
        "retried": sum(r.retried for r in reports),
        "dead_lettered": sum(r.dead_lettered for r in reports),
        "skipped": parsed.skipped,
        "errors": errors,
        "reports": [asdict(r) for r in reports],
        "batchItemFailures": [{"itemIdentifier": mid} for mid in failed_messages],
    }
    log_json("s3 to kinesis", **{k: v for k, v in result.items() if k != "reports"})
    return result
