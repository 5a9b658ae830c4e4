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

The steps live in :mod:`ingest.delivery_batching` (1-2), :mod:`ingest.delivery_invocation` (2),
:mod:`ingest.delivery_bulk` (3), :mod:`ingest.delivery_failures` (4), :mod:`ingest.checkpoints` and
:mod:`ingest.delivery_retries`; this module is the loop. The report (:mod:`ingest.delivery_options`) always
balances: ``read == indexed + dropped + processing_failed + index_failed``.
Deliver runs until the stream is drained, one shard after the other (the buffers' time hints matter only
within a page; at the end of each page everything is flushed before the checkpoint moves).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ingest.checkpoints import CheckpointStore, checkpoint_path
from ingest.delivery_batching import Source, firehose_event, transform_batches, user_records
from ingest.delivery_bulk import BulkIndexer
from ingest.delivery_failures import FailureRecords
from ingest.delivery_invocation import invoke_transform
from ingest.delivery_options import DeliveryOptions, DeliveryReport, Transform
from ingest.delivery_retries import kinesis_call
from ingest.resource_names import firehose_arn, stream_arn
from wafad.settings import Settings


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
        self.opt = options
        self.report = DeliveryReport()
        self.stream_arn = stream_arn(settings)
        self.delivery_arn = firehose_arn(settings)
        region, account = settings.aws_region, settings.aws_account_id
        self.lambda_arn = f"arn:aws:lambda:{region}:{account}:function:wafad-firehose-transform"
        self.failures = FailureRecords(self.report, self.lambda_arn)
        self.indexer = BulkIndexer(os_client, settings.index_prefix, options, self.report, self.failures)
        self._progress: Callable[[int, int], None] | None = None
        self._transformed = 0  # records through the transform so far (for progress within a page)

    # --- reading ---------------------------------------------------------------------------------
    def shard_ids(self) -> list[str]:
        from botocore.exceptions import ClientError

        try:
            shards = kinesis_call(
                self.kinesis, self.opt, "list_shards", StreamName=self.settings.kinesis_stream, MaxResults=10000
            )
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
        return kinesis_call(self.kinesis, self.opt, "get_shard_iterator", **kwargs)["ShardIterator"]

    def run(self, progress: Callable[[int, int], None] | None = None) -> DeliveryReport:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wafad-bulk") as executor:
            self.indexer.executor = executor
            try:
                self._progress = progress
                self._run(progress)
            finally:
                self.indexer.executor = None
        self.report.seconds = round(time.monotonic() - started, 3)
        return self.report

    def _run(self, progress: Callable[[int, int], None] | None) -> None:
        store = CheckpointStore(checkpoint_path(self.settings))
        for shard_id in self.shard_ids():
            iterator: str | None = self._iterator(shard_id, store.positions.get(shard_id))
            empty = 0
            while iterator:
                resp = kinesis_call(
                    self.kinesis, self.opt, "get_records", ShardIterator=iterator, Limit=self.opt.get_records_limit
                )
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
        for batch in transform_batches(sources, self.opt):
            self.invoke(batch)
        self.indexer.flush()
        self.indexer.drain()
        self.failures.write(self.s3, self.settings, shard_id, records)
        return len(sources)

    def invoke(self, batch: list[Source]) -> None:
        self._invoke(batch)
        self._transformed += len(batch)
        if self._progress is not None:
            self._progress(self._transformed, self.report.indexed)

    def _invoke(self, batch: list[Source]) -> None:
        event = firehose_event(
            batch, delivery_arn=self.delivery_arn, stream_arn=self.stream_arn, region=self.settings.aws_region
        )
        call = invoke_transform(self.transform, event, self.opt, self.report)
        if call.outcome is None:
            code, _, message = call.error.partition(": ")
            for s in batch:
                self.failures.processing_failed(s, code, message, call.attempts)
            return
        for s, out in zip(batch, call.outcome, strict=True):
            result = out["result"]
            if result == "Dropped":
                self.report.dropped += 1
            elif result == "ProcessingFailed":
                reason = call.reasons.get(out["recordId"], "the transform returned ProcessingFailed")
                self.failures.processing_failed(s, "Lambda.ProcessingFailed", reason, call.attempts)
            else:
                try:
                    doc = base64.b64decode(out["data"], validate=True)
                except (binascii.Error, ValueError) as exc:
                    self.failures.processing_failed(
                        s, "Lambda.InvalidResponse", f"Ok data is not base64: {exc}", call.attempts
                    )
                    continue
                self.report.ok += 1
                self.indexer.add(doc, s)


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
