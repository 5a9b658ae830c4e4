"""Records local delivery sets aside, written to S3 as Firehose does: ``processing-failed/`` (the transform
failed or returned ``ProcessingFailed``) and ``opensearch-failed/`` (OpenSearch refused the document), with the
fields of Firehose's backup records, one NDJSON object per record, one S3 object per page and kind."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from datetime import UTC, datetime
from typing import Any

from ingest import jsoncodec
from ingest.delivery_batching import Source
from ingest.delivery_options import DeliveryReport
from wafad.settings import Settings


class FailureRecords:
    """What one page set aside (counted in ``report``) until :meth:`write` puts it to S3.

    Index failures may come from the background bulk worker, so they are taken under a lock.
    """

    def __init__(self, report: DeliveryReport, lambda_arn: str) -> None:
        self.report = report
        self.lambda_arn = lambda_arn
        self.processing: list[dict[str, Any]] = []
        self.index: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def processing_failed(self, s: Source, code: str, message: str, attempts: int) -> None:
        self.report.processing_failed += 1
        self.processing.append(
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

    def index_failed(
        self, s: Source, body: bytes, index: str, doc_id: str, code: str, message: str, attempts: int
    ) -> None:
        entry = {
            "attemptsMade": attempts,
            "arrivalTimestamp": s.arrival_ms,
            "errorCode": code,
            "errorMessage": message,
            "attemptEndingTimestamp": int(time.time() * 1000),
            "rawData": base64.b64encode(body).decode("ascii"),
            "subsequenceNumber": s.subsequence_number,
            "esDocumentId": doc_id,
            "esIndexName": index,
            "kinesisRecordMetadata": {
                "shardId": s.shard_id,
                "sequenceNumber": s.sequence_number,
                "subsequenceNumber": s.subsequence_number,
            },
        }
        with self._lock:
            self.report.index_failed += 1
            self.index.append(entry)

    def write(self, s3: Any, settings: Settings, shard_id: str, records: list[dict[str, Any]]) -> None:
        """Put what the page of Kinesis ``records`` set aside to S3 (keys in ``report.failure_objects``)."""
        first, last = records[0]["SequenceNumber"], records[-1]["SequenceNumber"]
        for prefix, entries in (("processing-failed", self.processing), ("opensearch-failed", self.index)):
            if not entries:
                continue
            arrival = datetime.fromtimestamp(entries[0]["arrivalTimestamp"] / 1000, UTC).strftime("%Y/%m/%d/%H")
            digest = hashlib.sha256()
            for e in entries:
                digest.update(f"{e['errorCode']}|{e['rawData']}\n".encode())
            key = (
                f"{prefix}/{arrival}/{settings.firehose_stream}-{shard_id}-{first}-{last}-"
                f"{digest.hexdigest()[:12]}.ndjson"
            )
            body = b"".join(jsoncodec.dumps(e) + b"\n" for e in entries)
            s3.put_object(Bucket=settings.bucket, Key=key, Body=body, ContentType="application/x-ndjson")
            self.report.failure_objects.append(key)
        self.processing, self.index = [], []
