"""The Firehose transformation as plain functions: one WAF record (bytes) in, one OpenSearch document out.

What it does to a record (docs/CONTRACTS.md, "Documents in OpenSearch"):

- adds ``@timestamp`` (ISO-8601 UTC, milliseconds) from ``timestamp`` (epoch ms; epoch seconds and digit
  strings are accepted too) and ``event_id`` (set by the S3 relay from bucket, key and line number);
- adds the five 0/1 indicator fields from :func:`wafad.catalogue.indicators` with the allow-lists of
  :func:`wafad.catalogue.allow_lists_from_env` (computed after normalisation, which turns objects into keyword
  strings so they can be looked up, and gives the same good/bad as the record as received);
- normalises what breaks OpenSearch mappings in real logs (:mod:`ingest.normalise`, headers by
  :mod:`ingest.headers`).

Two paths give the same documents: :mod:`ingest.transform_fast` (msgspec, typed) for well-formed records, and
:func:`to_document_generic` here (orjson or the standard library) for everything, which defines the result.
A record that cannot become a document (not JSON, not an object, no usable timestamp) raises
:class:`~ingest.record_values.RecordRejected` with the reason; the handler turns that into ``ProcessingFailed``.
Attacker-controlled strings (uri, args, headers, user agent) are carried as data, never interpreted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest import jsoncodec
from ingest.normalise import normalise
from ingest.record_values import RecordRejected, epoch_ms, fallback_event_id, iso_timestamp
from ingest.transform_fast import HAVE_MSGSPEC, UseGeneric, to_document_fast
from wafad.catalogue import EVENT_ID_FIELD, TIME_FIELD, indicators


def _finish(
    record: dict[str, Any], ms: int, allow: Mapping[str, frozenset[str]], data: bytes, default_event_id: str | None
) -> None:
    """Add ``event_id``, ``@timestamp`` and the indicators to a normalised record."""
    flags = indicators(record, allow)  # unknown or missing counts as bad
    eid = record.get(EVENT_ID_FIELD)
    if type(eid) is not str or not eid:
        record[EVENT_ID_FIELD] = default_event_id or fallback_event_id(data)
    record["timestamp"] = ms
    record[TIME_FIELD] = iso_timestamp(ms)
    record.update(flags)


def to_document_generic(
    data: bytes,
    allow: Mapping[str, frozenset[str]],
    *,
    default_event_id: str | None = None,
    drop_actions: frozenset[str] = frozenset(),
) -> bytes | None:
    """:func:`to_document` by parsing the whole record into Python objects (orjson or the standard library)."""
    try:
        record = jsoncodec.loads(data)
    except jsoncodec.JSONError as exc:
        raise RecordRejected(f"not JSON: {exc}") from None
    if type(record) is not dict:
        raise RecordRejected(f"not a JSON object (got {type(record).__name__})")
    ms = epoch_ms(record.get("timestamp"))
    normalise(record)  # first: it makes indicator inputs hashable scalars without changing good/bad
    if drop_actions and record.get("action") in drop_actions:
        return None
    _finish(record, ms, allow, data, default_event_id)
    try:
        return jsoncodec.dumps(record)
    except (TypeError, ValueError) as exc:
        raise RecordRejected(f"cannot serialise the document: {exc}") from None


def to_document(
    data: bytes,
    allow: Mapping[str, frozenset[str]],
    default_event_id: str | None = None,
    drop_actions: frozenset[str] = frozenset(),
    buffer: bytearray | None = None,
) -> bytes | bytearray | None:
    """The OpenSearch document (JSON bytes) for one raw record, ``None`` to drop it, or :class:`RecordRejected`.

    With msgspec installed, the fast path parses only the fields the transform reads or rewrites and copies the
    rule lists through as raw bytes; anything unusual goes to :func:`to_document_generic`, which defines the
    result (tests check both give the same documents). Given a ``buffer``, the fast path writes the document
    into it and returns it (a batch reuses one buffer, so use the result before the next call).
    """
    if HAVE_MSGSPEC:
        try:
            return to_document_fast(data, allow, default_event_id, drop_actions, buffer)
        except UseGeneric:
            pass
    return to_document_generic(data, allow, default_event_id=default_event_id, drop_actions=drop_actions)
