"""Firehose data-transformation Lambda: WAF records in, OpenSearch documents with indicator fields out.

The exact Firehose contract: every ``recordId`` of the request comes back once, with ``Ok`` (the document),
``Dropped`` or ``ProcessingFailed`` (the original data), base64 data, and a response within Lambda's 6 MB.
One bad record never fails the invocation. The work is done by :func:`transform_event`; see
:mod:`ingest.transform` for what happens to each record.

Configuration (environment): ``WAFAD_ALLOW_<FIELD>`` allow-lists (:func:`wafad.catalogue.allow_lists_from_env`),
``WAFAD_DROP_ACTIONS`` (comma list of actions to return as ``Dropped``; empty by default).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from ingest import b64
from ingest.events import LAMBDA_PAYLOAD_LIMIT, EventShapeError, FirehoseEvent
from ingest.logs import log_json
from ingest.record_values import RecordRejected
from ingest.transform import to_document
from wafad.catalogue import allow_lists_from_env

#: Bytes a response record takes besides its base64 data (keys, id, result, punctuation), generously.
_RECORD_OVERHEAD = 128
RESPONSE_LIMIT = LAMBDA_PAYLOAD_LIMIT - 64 * 1024


def _record_fields(i: int, rec: Any) -> tuple[str, str, str | None]:
    """(recordId, base64 data, partition key) of one request record; the id is required, the rest may be off."""
    rid = rec.get("recordId") if type(rec) is dict else None
    if type(rid) is not str:
        raise EventShapeError(f"record {i} has no recordId")
    data = rec.get("data")
    meta = rec.get("kinesisRecordMetadata")
    key = meta.get("partitionKey") if type(meta) is dict else None
    return rid, data if type(data) is str else "", key if type(key) is str and key else None


def transform_event(
    event: Mapping[str, Any],
    *,
    allow: Mapping[str, frozenset[str]],
    drop_actions: frozenset[str] = frozenset(),
    reasons: MutableMapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Firehose response for ``event``; ``reasons`` (if given) receives recordId → why it failed.

    A record without ``event_id`` gets the Kinesis partition key (the relay's event id) or a content hash.
    """
    parsed = FirehoseEvent(event)
    records = parsed.get("records")
    if not isinstance(records, list):
        raise EventShapeError("Firehose event without a records list")
    out: list[dict[str, str]] = []
    failed: dict[str, str] = {}
    dropped = 0
    total = 16
    decode, encode, overhead = b64.decode, b64.encode, _RECORD_OVERHEAD
    buffer = bytearray()  # each document is encoded into it, then base64-encoded before the next
    # the loop allocates only acyclic objects (strings, bytes, small dicts): pausing the cyclic collector saves
    # the ~10% it spends re-scanning the event's thousands of dicts on every generation-0 threshold
    collecting = gc.isenabled()
    gc.disable()
    try:
        for i, rec in enumerate(records):
            try:
                rid, original, key = rec["recordId"], rec["data"], rec["kinesisRecordMetadata"]["partitionKey"]
                if type(rid) is not str or type(original) is not str or type(key) is not str or not key:
                    raise TypeError
            except (KeyError, TypeError):  # DirectPut (no metadata) or an odd record: the careful way
                rid, original, key = _record_fields(i, rec)
            try:
                doc = to_document(decode(original), allow, key, drop_actions, buffer)
            except (RecordRejected, b64.Error) as exc:
                failed[rid] = str(exc) if isinstance(exc, RecordRejected) else f"data is not base64: {exc}"
                out.append({"recordId": rid, "result": "ProcessingFailed", "data": original})
                total += len(original) + len(rid) + overhead
                continue
            except Exception as exc:  # never fail the batch because of one record
                failed[rid] = f"unexpected {type(exc).__name__}: {exc}"
                out.append({"recordId": rid, "result": "ProcessingFailed", "data": original})
                total += len(original) + len(rid) + overhead
                continue
            if doc is None:
                dropped += 1
                out.append({"recordId": rid, "result": "Dropped", "data": ""})
                total += len(rid) + overhead
            else:
                payload = encode(doc)
                out.append({"recordId": rid, "result": "Ok", "data": payload})
                total += len(payload) + len(rid) + overhead
    finally:
        if collecting:
            gc.enable()
    if total > RESPONSE_LIMIT:
        total = _fit_response(records, out, failed, total)
    if reasons is not None:
        reasons.update(failed)
    log_json(
        "firehose transform",
        invocation_id=parsed.invocation_id,
        records=len(records),
        ok=len(out) - dropped - len(failed),
        dropped=dropped,
        processing_failed=len(failed),
        response_bytes=total,
        failures=dict(list(failed.items())[:20]),
    )
    return {"records": out}


def _fit_response(records: list[Any], out: list[dict[str, str]], failed: dict[str, str], total: int) -> int:
    """Hand back the original data (as ``ProcessingFailed``) of the records that grew most until it fits."""
    growth = sorted(
        (
            (len(o["data"]) - len(str(records[i].get("data") or "")), i)
            for i, o in enumerate(out)
            if o["result"] == "Ok"
        ),
        reverse=True,
    )
    for extra, i in growth:
        if total <= RESPONSE_LIMIT:
            break
        out[i]["result"], out[i]["data"] = "ProcessingFailed", str(records[i].get("data") or "")
        failed[out[i]["recordId"]] = "response would exceed Lambda's 6 MB limit"
        total -= extra
    return total


def drop_actions_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    env = os.environ if environ is None else environ
    return frozenset(a.strip() for a in env.get("WAFAD_DROP_ACTIONS", "").split(",") if a.strip())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point. A local caller may hang a ``failure_reasons`` dict on ``context`` to learn why."""
    return transform_event(
        event,
        allow=allow_lists_from_env(),
        drop_actions=drop_actions_from_env(),
        reasons=getattr(context, "failure_reasons", None),
    )
