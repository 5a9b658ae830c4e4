"""Firehose data-transformation Lambda: WAF records in, OpenSearch documents with indicator fields out.

The exact Firehose contract: every ``recordId`` of the request comes back once, with ``Ok`` (the document),
``Dropped`` or ``ProcessingFailed`` (the original data), base64 data, and a response within Lambda's 6 MB.
One bad record never fails the invocation. The work is done by :func:`transform_event`; see
:mod:`ingest.transform` for what happens to each record.

Configuration (environment): ``WAFAD_ALLOW_<FIELD>`` allow-lists (:func:`wafad.catalogue.allow_lists_from_env`),
``WAFAD_DROP_ACTIONS`` (comma list of actions to return as ``Dropped``; empty by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from ingest.events import (
    LAMBDA_PAYLOAD_LIMIT,
    EventShapeError,
    FirehoseEvent,
    FirehoseRecord,
)
from ingest.logs import log_json
from ingest.transform import RecordRejected, to_document
from wafad.catalogue import allow_lists_from_env

#: Bytes a response record takes besides its base64 data (keys, id, result, punctuation), generously.
_RECORD_OVERHEAD = 128
RESPONSE_LIMIT = LAMBDA_PAYLOAD_LIMIT - 64 * 1024


def _b64len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def _default_id(rec: FirehoseRecord) -> str | None:
    meta = rec.kinesis_record_metadata
    if meta is not None and meta.partition_key:
        return meta.partition_key  # the relay uses the event id as partition key
    return None


def transform_event(
    event: Mapping[str, Any],
    *,
    allow: Mapping[str, frozenset[str]],
    drop_actions: frozenset[str] = frozenset(),
    reasons: MutableMapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Firehose response for ``event``; ``reasons`` (if given) receives recordId → why it failed."""
    import base64

    records = FirehoseEvent(event).records
    out: list[dict[str, str]] = []
    failed: dict[str, str] = {}
    growth: list[tuple[int, int]] = []  # (extra bytes over the original, index) for Ok records
    total = 16
    counts = {"Ok": 0, "Dropped": 0, "ProcessingFailed": 0}
    for i, rec in enumerate(records):
        rid = rec.get("recordId")
        if not isinstance(rid, str):
            raise EventShapeError(f"record {i} has no recordId")
        original = rec.get("data")
        try:
            data = rec.data_as_bytes
            doc = to_document(data, allow, default_event_id=_default_id(rec), drop_actions=drop_actions)
        except (RecordRejected, EventShapeError) as exc:
            failed[rid] = str(exc)
            result, payload = "ProcessingFailed", original if isinstance(original, str) else ""
        except Exception as exc:  # never fail the batch because of one record
            failed[rid] = f"unexpected {type(exc).__name__}: {exc}"
            result, payload = "ProcessingFailed", original if isinstance(original, str) else ""
        else:
            if doc is None:
                result, payload = "Dropped", ""
            else:
                result, payload = "Ok", base64.b64encode(doc).decode("ascii")
                growth.append((len(payload) - len(original), i))
        counts[result] += 1
        total += len(payload) + len(rid) + _RECORD_OVERHEAD
        out.append({"recordId": rid, "result": result, "data": payload})
    if total > RESPONSE_LIMIT:  # give back the original data of the records that grew most
        for extra, i in sorted(growth, reverse=True):
            if total <= RESPONSE_LIMIT:
                break
            rec_out = out[i]
            rec_out["result"], rec_out["data"] = "ProcessingFailed", str(records[i]["data"])
            failed[rec_out["recordId"]] = "response would exceed Lambda's 6 MB limit"
            counts["Ok"] -= 1
            counts["ProcessingFailed"] += 1
            total -= extra
    if reasons is not None:
        reasons.update(failed)
    log_json(
        "firehose transform",
        invocation_id=FirehoseEvent(event).invocation_id,
        records=len(records),
        ok=counts["Ok"],
        dropped=counts["Dropped"],
        processing_failed=counts["ProcessingFailed"],
        failures=dict(list(failed.items())[:20]),
    )
    return {"records": out}


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
