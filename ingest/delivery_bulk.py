"""Local delivery's OpenSearch side: buffer the transformed documents and bulk-index them as Firehose does.

Documents go to ``<index_prefix>-YYYY.MM.DD`` by ``@timestamp`` day (else the arrival day, like Firehose's
OneDay rotation), ``_id`` = ``event_id`` (re-delivery overwrites: nothing is duplicated). Chunks are the
destination's size hint; 429s, 5xx and connection errors are retried with backoff and jitter, for the failed
items only; what still fails goes to :class:`~ingest.delivery_failures.FailureRecords`. With an executor, one
request is in flight and one queued while the caller reads and transforms the next records.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest import jsoncodec
from ingest.delivery_batching import Source
from ingest.delivery_failures import FailureRecords
from ingest.delivery_options import DeliveryOptions, DeliveryReport
from ingest.delivery_retries import RETRY_STATUSES, backoff

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass
class Doc:
    index: str
    doc_id: str
    body: bytes
    src: Source


def index_name(index_prefix: str, doc: dict[str, Any], s: Source) -> str:
    """``<index_prefix>-YYYY.MM.DD`` of the document's ``@timestamp`` day, else of its arrival day."""
    m = _DAY.match(str(doc.get("@timestamp", "")))
    if m:
        day = f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
    else:  # as Firehose's OneDay rotation: the arrival day
        day = datetime.fromtimestamp(s.arrival_ms / 1000, UTC).strftime("%Y.%m.%d")
    return f"{index_prefix}-{day}"


def bulk_body(docs: list[Doc]) -> bytes:
    """The ``_bulk`` request body: an ``index`` action line and the document for each."""
    return b"".join(
        b'{"index":{"_index":'
        + json.dumps(d.index).encode()
        + b',"_id":'
        + json.dumps(d.doc_id).encode()
        + b"}}\n"
        + d.body
        + b"\n"
        for d in docs
    )


class BulkIndexer:
    """Buffers documents and sends them in bulk requests; counts into ``report``, failures to ``failures``."""

    def __init__(
        self,
        os_client: Any,
        index_prefix: str,
        options: DeliveryOptions,
        report: DeliveryReport,
        failures: FailureRecords,
    ) -> None:
        self.os = os_client
        self.index_prefix = index_prefix
        self.opt = options
        self.report = report
        self.failures = failures
        self.executor: ThreadPoolExecutor | None = None  # set while a delivery run has a background worker
        self._docs: list[Doc] = []
        self._docs_bytes = 0
        self._lock = threading.Lock()
        self._futures: list[Future[None]] = []

    def _fail(self, d: Doc, code: str, message: str, attempts: int) -> None:
        self.failures.index_failed(d.src, d.body, d.index, d.doc_id, code, message, attempts)

    def add(self, body: bytes, s: Source) -> None:
        """Buffer one transformed document (flushing at the size hint); a body that is not a JSON object fails."""
        try:
            doc = jsoncodec.loads(body)
        except jsoncodec.JSONError as exc:
            self._fail(Doc("", "", body, s), "InvalidDocument", f"the transform's output is not JSON: {exc}", 0)
            return
        if not isinstance(doc, dict):
            self._fail(Doc("", "", body, s), "InvalidDocument", "the transform's output is not a JSON object", 0)
            return
        doc_id = doc.get("event_id")
        if not isinstance(doc_id, str) or not doc_id or len(doc_id.encode()) > 512:
            doc_id = f"{s.shard_id}-{s.sequence_number}-{s.subsequence_number}"  # stable across retries
        self._docs.append(Doc(index_name(self.index_prefix, doc, s), doc_id, body, s))
        self._docs_bytes += len(body) + 128
        if self._docs_bytes >= self.opt.index_buffer_bytes:
            self.flush()

    def flush(self) -> None:
        """Send the buffered documents: in the background (one request in flight, one queued) when a worker
        runs, so reading and transforming the next records overlaps with OpenSearch indexing."""
        docs, self._docs, self._docs_bytes = self._docs, [], 0
        if not docs:
            return
        if self.executor is None:
            self._bulk(docs)
            return
        while len(self._futures) >= 2:
            self._futures.pop(0).result()
        self._futures.append(self.executor.submit(self._bulk, docs))

    def drain(self) -> None:
        """Wait for every bulk request in flight (before a checkpoint moves)."""
        while self._futures:
            self._futures.pop(0).result()

    def _bulk(self, pending: list[Doc]) -> None:
        from opensearchpy.exceptions import ConnectionError as OSConnectionError
        from opensearchpy.exceptions import TransportError

        errors: dict[int, tuple[str, str]] = {}
        attempt = 0
        while pending and attempt < self.opt.bulk_attempts:
            if attempt:
                with self._lock:
                    self.report.bulk_retries += 1
                backoff(self.opt, attempt)
            attempt += 1
            body = bulk_body(pending)
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
            retry: list[Doc] = []
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
                    self._fail(d, code, reason, attempt)
            pending, errors = retry, retry_errors
        for i, d in enumerate(pending):
            code, message = errors.get(i, ("Unknown", "gave up"))
            self._fail(d, code, f"gave up after {attempt} attempts: {message}", attempt)
