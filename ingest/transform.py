"""The Firehose transformation as plain functions: one WAF record (bytes) in, one OpenSearch document out.

What it does to a record (docs/CONTRACTS.md, "Documents in OpenSearch"):

- adds ``@timestamp`` (ISO-8601 UTC, milliseconds) from ``timestamp`` (epoch ms; epoch seconds and digit
  strings are accepted too) and ``event_id`` (set by the S3 relay from bucket, key and line number);
- adds the five 0/1 indicator fields from :func:`wafad.catalogue.indicators` with the allow-lists of
  :func:`wafad.catalogue.allow_lists_from_env` (computed after normalisation, which turns objects into keyword
  strings so they can be looked up, and gives the same good/bad as the record as received);
- normalises what breaks OpenSearch mappings in real logs: list fields that are ``null`` in one record and an
  array in the next become arrays, ``httpRequest.headers`` becomes a lower-cased name → value map (reading the
  ``myValue`` key some records carry instead of ``value``; repeated headers joined with ``", "``), and the
  values of ``authorization``/``cookie``-like headers are dropped; scalars that should be keywords are made
  strings, numbers that do not fit their mapping move to ``malformed`` (kept in ``_source``, not indexed).

A record that cannot become a document (not JSON, not an object, no usable timestamp) raises
:class:`RecordRejected` with the reason; the handler turns that into ``ProcessingFailed``.
Attacker-controlled strings (uri, args, headers, user agent) are carried as data, never interpreted.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ingest import jsoncodec
from wafad.catalogue import EVENT_ID_FIELD, TIME_FIELD, indicators

#: Top-level fields that are arrays in some records and null or absent in others.
LIST_FIELDS = (
    "terminatingRuleMatchDetails",
    "ruleGroupList",
    "rateBasedRuleList",
    "nonTerminatingMatchingRules",
    "requestHeadersInserted",
    "labels",
)
#: Keyword fields: anything that is not a string becomes one (objects and arrays as compact JSON).
KEYWORD_FIELDS = (
    "webaclId",
    "terminatingRuleId",
    "terminatingRuleType",
    "action",
    "httpSourceName",
    "httpSourceId",
    "ja3Fingerprint",
    "ja4Fingerprint",
)
REQUEST_KEYWORD_FIELDS = ("country", "uri", "args", "httpVersion", "httpMethod", "requestId", "host", "scheme")
#: Integer fields and the range their mapping holds.
INT_FIELDS: dict[str, tuple[int, int]] = {
    "formatVersion": (-32768, 32767),
    "httpStatus": (-32768, 32767),
    "responseCodeSent": (-32768, 32767),
    "requestBodySize": (-(2**63), 2**63 - 1),
    "requestBodySizeInspectedByWAF": (-(2**63), 2**63 - 1),
}
#: Header values never stored (credentials and session tokens).
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
MALFORMED_FIELD = "malformed"

_MIN_MS = 0  # 1970
_MAX_MS = 4102444800000  # 2100-01-01
_SECONDS_BELOW = 100_000_000_000  # a timestamp below this is epoch seconds (the seed's simulator wrote floats)


class RecordRejected(ValueError):
    """This record cannot become a document; the message is the reason."""


@lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_timestamp(epoch_ms: int) -> str:
    """``2019-12-13T23:40:12.771Z`` for epoch milliseconds."""
    second, ms = divmod(epoch_ms, 1000)
    return f"{_iso_second(second)}.{ms:03d}Z"


def epoch_ms(value: Any) -> int:
    """The record's ``timestamp`` as epoch milliseconds, or :class:`RecordRejected`."""
    if isinstance(value, bool) or value is None:
        raise RecordRejected(f"timestamp missing or not a number: {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text) if text.replace(".", "", 1).isdigit() else None
        except ValueError:
            value = None
        if value is None:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise RecordRejected(f"timestamp is not epoch ms or ISO-8601: {text[:64]!r}") from None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            value = dt.timestamp() * 1000
    if not isinstance(value, int | float) or value != value:  # NaN
        raise RecordRejected(f"timestamp is not a number: {type(value).__name__}")
    ms = int(value * 1000) if value < _SECONDS_BELOW else int(value)
    if not _MIN_MS <= ms < _MAX_MS:
        raise RecordRejected(f"timestamp {value!r} is outside 1970..2100")
    return ms


def _as_keyword(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list):
        return jsoncodec.dumps(value).decode("utf-8")
    return str(value)


def _as_int(value: Any, lo: int, hi: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if lo <= value <= hi else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
        return number if lo <= number <= hi else None
    if isinstance(value, float) and value.is_integer():
        return _as_int(int(value), lo, hi)
    return None


def headers_map(headers: Any) -> dict[str, str]:
    """WAF's header list as a lower-cased name → value map, credentials dropped."""
    if isinstance(headers, Mapping):
        headers = [{"name": k, "value": v} for k, v in headers.items()]
    if not isinstance(headers, list):
        return {}
    out: dict[str, str] = {}
    for h in headers:
        if not isinstance(h, Mapping):
            continue
        name = h.get("name")
        if name is None:
            continue
        name = (name if isinstance(name, str) else str(name)).lower()
        if name in SENSITIVE_HEADERS:
            continue
        if "value" in h:
            value = h["value"]
        elif "myValue" in h:  # the quirk in AWS's published examples
            value = h["myValue"]
        else:
            value = next((v for k, v in h.items() if k != "name"), "")
        if not isinstance(value, str):
            value = "" if value is None else _as_keyword(value)
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """The record with mapping-breaking shapes fixed (in place, and returned)."""
    malformed: dict[str, Any] = {}
    for name in LIST_FIELDS:
        value = record.get(name)
        if value is None:
            if name in record:
                record[name] = []
        elif not isinstance(value, list):
            record[name] = [value]
    for name in KEYWORD_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            record[name] = _as_keyword(value)
    for name, (lo, hi) in INT_FIELDS.items():
        if name in record:
            value = record[name]
            if value is None:
                continue
            number = _as_int(value, lo, hi)
            if number is None:
                malformed[name] = record.pop(name)
            elif number is not value:
                record[name] = number
    req = record.get("httpRequest")
    if req is None:
        req = record["httpRequest"] = {}
    elif not isinstance(req, dict):
        malformed["httpRequest"] = req
        req = record["httpRequest"] = {}
    if "headers" in req:
        req["headers"] = headers_map(req["headers"])
    for name in REQUEST_KEYWORD_FIELDS:
        value = req.get(name)
        if value is not None and not isinstance(value, str):
            req[name] = _as_keyword(value)
    ip = req.get("clientIp")
    if ip is not None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            malformed["httpRequest.clientIp"] = req.pop("clientIp")
    if malformed:
        record[MALFORMED_FIELD] = malformed
    return record


def fallback_event_id(data: bytes) -> str:
    """For records that did not come through the S3 relay: a content hash (deterministic, like the relay's)."""
    return hashlib.sha256(data).hexdigest()[:32]


def to_document(
    data: bytes,
    allow: Mapping[str, frozenset[str]],
    *,
    default_event_id: str | None = None,
    drop_actions: frozenset[str] = frozenset(),
) -> bytes | None:
    """The OpenSearch document (JSON bytes) for one raw record, ``None`` to drop it, or :class:`RecordRejected`."""
    try:
        record = jsoncodec.loads(data)
    except jsoncodec.JSONError as exc:
        raise RecordRejected(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise RecordRejected(f"not a JSON object (got {type(record).__name__})")
    if drop_actions and record.get("action") in drop_actions:
        return None
    ms = epoch_ms(record.get("timestamp"))
    normalise(record)  # first: it makes indicator inputs hashable scalars without changing good/bad
    flags = indicators(record, allow)  # unknown or missing counts as bad
    eid = record.get(EVENT_ID_FIELD)
    if not isinstance(eid, str) or not eid:
        record[EVENT_ID_FIELD] = default_event_id or fallback_event_id(data)
    record["timestamp"] = ms
    record[TIME_FIELD] = iso_timestamp(ms)
    record.update(flags)
    try:
        return jsoncodec.dumps(record)
    except (TypeError, ValueError) as exc:
        raise RecordRejected(f"cannot serialise the document: {exc}") from None
