"""The local Firehose: Kinesis → transform Lambda → OpenSearch, with what Firehose does for failures.

moto stores a Kinesis-sourced delivery stream but never pulls from it nor runs the transform, so locally
:func:`deliver` does Firehose's job, shard by shard:

1. read the shard from its checkpoint (``<state_dir>/ingest/checkpoints/<stream>.json``; ``TRIM_HORIZON``
   the first time) with ``GetRecords`` (large ``Limit``: moto scans the shard on every call);
2. de-aggregate KPL records (:mod:`ingest.kpl`) as Firehose does, buffer records like the Lambda processor
   (size hint, default 1 MB; the request stays under 6 MB) and invoke the transform with the exact
   Kinesis-source event (``sourceKinesisStreamArn``, ``kinesisRecordMetadata`` with the subsequence number);
   an invocation that raises or breaks the contract is retried, then its records are ``ProcessingFailed``;
3. bulk-index ``Ok`` documents (chunks of the destination's size hint, default 5 MB) into
   ``<index_prefix>-YYYY.MM.DD`` by ``@timestamp`` day, ``_id`` = ``event_id`` (so re-delivery overwrites:
   nothing is duplicated); 429s, 5xx and connection errors are retried with backoff and jitter, for the
   failed items only;
4. write what still failed to S3 as Firehose does: ``processing-failed/`` and ``opensearch-failed/`` (same
   fields as Firehose's backup records), then advance the checkpoint.

The report always balances: ``read == indexed + dropped + processing_failed + index_failed``.
Deliver runs until the stream is drained, one shard after the other (the buffers' time hints matter only
within a page; at the end of each page everything is flushed before the checkpoint moves).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest import jsoncodec, kpl
from ingest.events import LAMBDA_PAYLOAD_LIMIT, EventShapeError, validate_firehose_response
from wafad.settings import Settings

Transform = Callable[[dict[str, Any], Any], dict[str, Any]]
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class DeliveryOptions:
    transform_buffer_bytes: int = 1024 * 1024  # Lambda processor BufferSizeInMBs (Firehose default 1 MB)
    transform_buffer_seconds: float = 60.0  # BufferIntervalInSeconds
    index_buffer_bytes: int = 5 * 1024 * 1024  # OpenSearch destination SizeInMBs (default 5)
    index_buffer_seconds: float = 300.0  # IntervalInSeconds
    get_records_limit: int = 10000
    transform_attempts: int = 4  # 1 + NumberOfRetries (3)
    bulk_attempts: int = 8  # within RetryOptions.DurationInSeconds
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep


@dataclass
class DeliveryReport:
    read: int = 0
    ok: int = 0
    dropped: int = 0
    processing_failed: int = 0
    indexed: int = 0
    index_failed: int = 0
    invocations: int = 0
    invocation_retries: int = 0
    bulk_requests: int = 0
    bulk_retries: int = 0
    indices: dict[str, int] = field(default_factory=dict)
    shards: dict[str, int] = field(default_factory=dict)
    failure_objects: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return self.read == self.indexed + self.dropped + self.processing_failed + self.index_failed

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "balanced": self.balanced}


@dataclass
class LocalLambdaContext:
    """Enough of Lambda's context object; ``failure_reasons`` is filled by the transform with recordId → why."""

    function_name: str = "wafad-firehose-transform"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    failure_reasons: dict[str, str] = field(default_factory=dict)

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class _Source:
    shard_id: str
    sequence_number: str
    partition_key: str
    arrival_ms: int
    data: bytes
    subsequence_number: int = 0


def user_records(shard_id: str, record: dict[str, Any]) -> list[_Source]:
    """A Kinesis record as Firehose hands it on: KPL aggregates de-aggregated (one source per user record)."""
    arrival = _epoch_ms(record.get("ApproximateArrivalTimestamp"))
    seq, key, data = record["SequenceNumber"], record.get("PartitionKey", ""), record["Data"]
    if kpl.is_aggregated(data):
        try:
            users = kpl.deaggregate(data)
        except kpl.NotAggregated:
            users = None  # as the KCL: not a valid aggregate, so an ordinary record
        if users is not None:
            return [_Source(shard_id, seq, k, arrival, d, i) for i, (k, d) in enumerate(users)]
    return [_Source(shard_id, seq, key, arrival, data)]


@dataclass
class _Doc:
    index: str
    doc_id: str
    body: bytes
    src: _Source


class CheckpointStore:
    """Last delivered sequence number per shard, in one JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def save(self, shard_id: str, sequence_number: str) -> None:
        self.positions[shard_id] = sequence_number
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.positions, indent=1, sort_keys=True))
        tmp.replace(self.path)


def checkpoint_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / "ingest" / "checkpoints" / f"{settings.kinesis_stream}.json"


def _epoch_ms(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value or 0)


def _b64len(n: int) -> int:
    return 4 * ((n + 2) // 3)


class LocalFirehose:
    """One delivery run; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        transform: Transform,
        kinesis: Any,
        s3: Any,
        os_client: Any,
        options: DeliveryOptions,
    ) -> None:
        self.settings = settings
        self.transform = transform
        self.kinesis = kinesis
        self.s3 = s3
        self.os = os_client
        self.opt = options
        self.report = DeliveryReport()
        self._processing_failed: list[dict[str, Any]] = []
        self._index_failed: list[dict[str, Any]] = []
        self._docs: list[_Doc] = []
        self._docs_bytes = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        self._progress: Callable[[int, int], None] | None = None
        self._transformed = 0  # records through the transform so far (for progress within a page)
        region, account = settings.aws_region, settings.aws_account_id
        self.stream_arn = f"arn:aws:kinesis:{region}:{account}:stream/{settings.kinesis_stream}"
        self.delivery_arn = f"arn:aws:firehose:{region}:{account}:deliverystream/{settings.firehose_stream}"
        self.lambda_arn = f"arn:aws:lambda:{region}:{account}:function:wafad-firehose-transform"

    # --- helpers ---------------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> None:
        self.opt.sleep(random.uniform(0, min(self.opt.backoff_cap_s, self.opt.backoff_base_s * (2**attempt))))

    def _kinesis_call(self, name: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        for attempt in range(self.opt.bulk_attempts):
            try:
                return getattr(self.kinesis, name)(**kwargs)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in ("ProvisionedThroughputExceededException", "LimitExceededException", "InternalFailure"):
                    raise
                if attempt == self.opt.bulk_attempts - 1:
                    raise
                self._backoff(attempt)
        raise AssertionError("unreachable")

    # --- reading ---------------------------------------------------------------------------------
    def shard_ids(self) -> list[str]:
        from botocore.exceptions import ClientError

        try:
            shards = self._kinesis_call("list_shards", StreamName=self.settings.kinesis_stream, MaxResults=10000)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            raise RuntimeError(
                f"Kinesis stream {self.settings.kinesis_stream!r} not found: run ingest.infra.ensure_ingest first"
            ) from exc
        return [s["ShardId"] for s in shards["Shards"]]

    def _iterator(self, shard_id: str, after: str | None) -> str:
        kwargs: dict[str, Any] = {"StreamName": self.settings.kinesis_stream, "ShardId": shard_id}
        if after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        return self._kinesis_call("get_shard_iterator", **kwargs)["ShardIterator"]

    def run(self, progress: Callable[[int, int], None] | None = None) -> DeliveryReport:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wafad-bulk") as executor:
            self._executor = executor
            try:
                self._progress = progress
                self._run(progress)
            finally:
                self._executor = None
        self.report.seconds = round(time.monotonic() - started, 3)
        return self.report

    def _run(self, progress: Callable[[int, int], None] | None) -> None:
        store = CheckpointStore(checkpoint_path(self.settings))
        for shard_id in self.shard_ids():
            iterator: str | None = self._iterator(shard_id, store.positions.get(shard_id))
            empty = 0
            while iterator:
                resp = self._kinesis_call("get_records", ShardIterator=iterator, Limit=self.opt.get_records_limit)
                records = resp.get("Records", [])
                iterator = resp.get("NextShardIterator")
                if records:
                    empty = 0
                    users = self.deliver_page(shard_id, records)
                    store.save(shard_id, records[-1]["SequenceNumber"])
                    self.report.shards[shard_id] = self.report.shards.get(shard_id, 0) + users
                    if progress is not None:
                        progress(self._transformed, self.report.indexed)
                elif resp.get("MillisBehindLatest", 0) == 0:
                    break
                else:
                    empty += 1
                    if empty > 100:
                        break

    # --- one page: transform, index, set aside -----------------------------------------------------
    def deliver_page(self, shard_id: str, records: list[dict[str, Any]]) -> int:
        """Deliver one GetRecords page; returns the user records it held."""
        sources = [src for r in records for src in user_records(shard_id, r)]
        self.report.read += len(sources)
        batch: list[_Source] = []
        batch_bytes = request_bytes = 0
        batch_started = time.monotonic()
        limit = LAMBDA_PAYLOAD_LIMIT - 256 * 1024  # the request, base64 and metadata included
        for src in sources:
            size = _b64len(len(src.data)) + 400
            if batch and (
                batch_bytes + len(src.data) > self.opt.transform_buffer_bytes
                or request_bytes + size > limit
                or time.monotonic() - batch_started > self.opt.transform_buffer_seconds
            ):
                self.invoke(batch)
                batch, batch_bytes, request_bytes, batch_started = [], 0, 0, time.monotonic()
            batch.append(src)
            batch_bytes += len(src.data)
            request_bytes += size
        if batch:
            self.invoke(batch)
        self.flush_bulk()
        self.drain_bulk()
        self.write_failures(shard_id, records)
        return len(sources)

    def firehose_event(self, batch: list[_Source]) -> dict[str, Any]:
        return {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": self.delivery_arn,
            "sourceKinesisStreamArn": self.stream_arn,
            "region": self.settings.aws_region,
            "records": [
                {
                    "recordId": f"{s.shard_id}:{s.sequence_number}:{s.subsequence_number}",
                    "approximateArrivalTimestamp": s.arrival_ms,
                    "data": base64.b64encode(s.data).decode("ascii"),
                    "kinesisRecordMetadata": {
                        "shardId": s.shard_id,
                        "partitionKey": s.partition_key,
                        "approximateArrivalTimestamp": s.arrival_ms,
                        "sequenceNumber": s.sequence_number,
                        "subsequenceNumber": s.subsequence_number,
                    },
                }
                for s in batch
            ],
        }

    def invoke(self, batch: list[_Source]) -> None:
        self._invoke(batch)
        self._transformed += len(batch)
        if self._progress is not None:
            self._progress(self._transformed, self.report.indexed)

    def _invoke(self, batch: list[_Source]) -> None:
        event = self.firehose_event(batch)
        ids = [r["recordId"] for r in event["records"]]
        error = ""
        outcome: list[Any] | None = None
        reasons: dict[str, str] = {}
        attempts = 0
        for attempt in range(self.opt.transform_attempts):
            attempts = attempt + 1
            if attempt:
                self.report.invocation_retries += 1
                self._backoff(attempt)
            ctx = LocalLambdaContext()
            self.report.invocations += 1
            try:
                response = self.transform(event, ctx)
                outcome = validate_firehose_response(ids, response)
                size = sum(len(r.get("data") or "") + len(r["recordId"]) + 64 for r in outcome)
                if size > LAMBDA_PAYLOAD_LIMIT:
                    raise EventShapeError(f"response of ~{size} bytes exceeds Lambda's 6 MB limit")
                reasons = ctx.failure_reasons
                break
            except EventShapeError as exc:
                error, outcome = f"Lambda.InvalidResponse: {exc}", None
            except Exception as exc:
                error, outcome = f"Lambda.FunctionError: {type(exc).__name__}: {exc}", None
        if outcome is None:
            code, _, message = error.partition(": ")
            for s in batch:
                self._fail_processing(s, code, message, attempts)
            return
        for s, out in zip(batch, outcome, strict=True):
            result = out["result"]
            if result == "Dropped":
                self.report.dropped += 1
            elif result == "ProcessingFailed":
                rid = out["recordId"]
                self._fail_processing(
                    s, "Lambda.ProcessingFailed", reasons.get(rid, "the transform returned ProcessingFailed"), attempts
                )
            else:
                try:
                    doc = base64.b64decode(out["data"], validate=True)
                except (binascii.Error, ValueError) as exc:
                    self._fail_processing(s, "Lambda.InvalidResponse", f"Ok data is not base64: {exc}", attempts)
                    continue
                self.report.ok += 1
                self.add_doc(doc, s)

    def _fail_processing(self, s: _Source, code: str, message: str, attempts: int) -> None:
        self.report.processing_failed += 1
        self._processing_failed.append(
            {
                "attemptsMade": attempts,
                "arrivalTimestamp": s.arrival_ms,
                "errorCode": code,
                "errorMessage": message,
                "attemptEndingTimestamp": int(time.time() * 1000),
                "rawData": base64.b64encode(s.data).decode("ascii"),
                "lambdaArn": self.lambda_arn,
                "kinesisRecordMetadata": {
                    "shardId": s.shard_id,
                    "sequenceNumber": s.sequence_number,
                    "partitionKey": s.partition_key,
                },
            }
        )

    # --- indexing ----------------------------------------------------------------------------------
    def index_for(self, doc: dict[str, Any], s: _Source) -> str:
        m = _DAY.match(str(doc.get("@timestamp", "")))
        if m:
            day = f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
        else:  # as Firehose's OneDay rotation: the arrival day
            day = datetime.fromtimestamp(s.arrival_ms / 1000, UTC).strftime("%Y.%m.%d")
        return f"{self.settings.index_prefix}-{day}"

    def add_doc(self, body: bytes, s: _Source) -> None:
        try:
            doc = jsoncodec.loads(body)
        except jsoncodec.JSONError as exc:
            self._fail_index(_Doc("", "", body, s), "InvalidDocument", f"the transform's output is not JSON: {exc}", 0)
            return
        if not isinstance(doc, dict):
            self._fail_index(_Doc("", "", body, s), "InvalidDocument", "the transform's output is not a JSON object", 0)
            return
        doc_id = doc.get("event_id")
        if not isinstance(doc_id, str) or not doc_id or len(doc_id.encode()) > 512:
            doc_id = f"{s.shard_id}-{s.sequence_number}-{s.subsequence_number}"  # stable across retries
        self._docs.append(_Doc(self.index_for(doc, s), doc_id, body, s))
        self._docs_bytes += len(body) + 128
        if self._docs_bytes >= self.opt.index_buffer_bytes:
            self.flush_bulk()

    def _fail_index(self, d: _Doc, code: str, message: str, attempts: int) -> None:
        with self._lock:
            self._fail_index_locked(d, code, message, attempts)

    def _fail_index_locked(self, d: _Doc, code: str, message: str, attempts: int) -> None:
        self.report.index_failed += 1
        self._index_failed.append(
            {
                "attemptsMade": attempts,
                "arrivalTimestamp": d.src.arrival_ms,
                "errorCode": code,
                "errorMessage": message,
                "attemptEndingTimestamp": int(time.time() * 1000),
                "rawData": base64.b64encode(d.body).decode("ascii"),
                "subsequenceNumber": d.src.subsequence_number,
                "esDocumentId": d.doc_id,
                "esIndexName": d.index,
                "kinesisRecordMetadata": {
                    "shardId": d.src.shard_id,
                    "sequenceNumber": d.src.sequence_number,
                    "subsequenceNumber": d.src.subsequence_number,
                },
            }
        )

    def flush_bulk(self) -> None:
        """Send the buffered documents: in the background (one request in flight, one queued) when a worker
        runs, so reading and transforming the next records overlaps with OpenSearch indexing."""
        docs, self._docs, self._docs_bytes = self._docs, [], 0
        if not docs:
            return
        if self._executor is None:
            self._bulk(docs)
            return
        while len(self._futures) >= 2:
            self._futures.pop(0).result()
        self._futures.append(self._executor.submit(self._bulk, docs))

    def drain_bulk(self) -> None:
        """Wait for every bulk request in flight (before a checkpoint moves)."""
        while self._futures:
            self._futures.pop(0).result()

    def _bulk(self, pending: list[_Doc]) -> None:
        from opensearchpy.exceptions import ConnectionError as OSConnectionError
        from opensearchpy.exceptions import TransportError

        errors: dict[int, tuple[str, str]] = {}
        attempt = 0
        while pending and attempt < self.opt.bulk_attempts:
            if attempt:
                with self._lock:
                    self.report.bulk_retries += 1
                self._backoff(attempt)
            attempt += 1
            body = b"".join(
                b'{"index":{"_index":'
                + json.dumps(d.index).encode()
                + b',"_id":'
                + json.dumps(d.doc_id).encode()
                + b"}}\n"
                + d.body
                + b"\n"
                for d in pending
            )
            with self._lock:
                self.report.bulk_requests += 1
            try:
                resp = self.os.bulk(body=body)
            except OSConnectionError as exc:
                errors = {i: ("ConnectionError", str(exc)[:500]) for i in range(len(pending))}
                continue
            except TransportError as exc:
                status = exc.status_code if isinstance(exc.status_code, int) else 0
                errors = {i: (f"OS.{status}", str(exc)[:500]) for i in range(len(pending))}
                if status in RETRY_STATUSES:
                    continue
                break
            retry: list[_Doc] = []
            retry_errors: dict[int, tuple[str, str]] = {}
            for d, item in zip(pending, resp["items"], strict=True):
                res = item.get("index") or next(iter(item.values()))
                status = int(res.get("status", 500))
                if 200 <= status < 300:
                    with self._lock:
                        self.report.indexed += 1
                        self.report.indices[d.index] = self.report.indices.get(d.index, 0) + 1
                    continue
                err = res.get("error") or {}
                code = err.get("type", f"status {status}") if isinstance(err, dict) else str(err)
                reason = err.get("reason", "") if isinstance(err, dict) else str(err)
                if status in RETRY_STATUSES:
                    retry_errors[len(retry)] = (code, reason)
                    retry.append(d)
                else:
                    self._fail_index(d, code, reason, attempt)
            pending, errors = retry, retry_errors
        for i, d in enumerate(pending):
            code, message = errors.get(i, ("Unknown", "gave up"))
            self._fail_index(d, code, f"gave up after {attempt} attempts: {message}", attempt)

    # --- failures to S3 ----------------------------------------------------------------------------
    def write_failures(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        first, last = records[0]["SequenceNumber"], records[-1]["SequenceNumber"]
        for prefix, entries in (
            ("processing-failed", self._processing_failed),
            ("opensearch-failed", self._index_failed),
        ):
            if not entries:
                continue
            arrival = datetime.fromtimestamp(entries[0]["arrivalTimestamp"] / 1000, UTC).strftime("%Y/%m/%d/%H")
            digest = hashlib.sha256()
            for e in entries:
                digest.update(f"{e['errorCode']}|{e['rawData']}\n".encode())
            key = (
                f"{prefix}/{arrival}/{self.settings.firehose_stream}-{shard_id}-{first}-{last}-"
                f"{digest.hexdigest()[:12]}.ndjson"
            )
            body = b"".join(jsoncodec.dumps(e) + b"\n" for e in entries)
            self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=body, ContentType="application/x-ndjson")
            self.report.failure_objects.append(key)
        self._processing_failed, self._index_failed = [], []


def deliver(
    settings: Settings,
    *,
    progress: Callable[[int, int], None] | None = None,
    transform: Transform | None = None,
    options: DeliveryOptions | None = None,
    kinesis: Any = None,
    s3: Any = None,
    os_client: Any = None,
) -> DeliveryReport:
    """Drain the Kinesis stream into OpenSearch as Firehose would (see the module docstring).

    ``progress(read, indexed)`` is called after each transform invocation (records read and transformed so far,
    documents indexed so far) and after each page. Clients default to :mod:`wafad.clients`; tests pass
    wrapped ones to inject faults.
    """
    from ingest.locks import exclusive
    from wafad.clients import aws_client, opensearch_client

    if transform is None:
        from lambdas.firehose_transform import handler as transform
    firehose = LocalFirehose(
        settings,
        transform=transform,
        kinesis=kinesis or aws_client("kinesis", settings),
        s3=s3 or aws_client("s3", settings),
        os_client=os_client or opensearch_client(settings),
        options=options or DeliveryOptions(),
    )
    with exclusive(settings, "delivery"):  # one reader per checkpoint file
        return firehose.run(progress)
