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
import operator
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ingest import jsoncodec
from wafad.catalogue import EVENT_ID_FIELD, TIME_FIELD, indicator_values, indicators

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
SHORT_FIELDS = tuple(name for name, (lo, _hi) in INT_FIELDS.items() if lo == -32768)
_NONE = type(None)
_STR_ONLY = frozenset({str})
_STR_OR_NONE = frozenset({str, _NONE})
_LIST_OK = frozenset({list, _NONE})
_INT_OR_NONE = frozenset({int, _NONE})
_get_name = operator.itemgetter("name")
_get_value = operator.itemgetter("value")


def _short_ok(value: Any) -> bool:
    return value is None or -32768 <= value <= 32767


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


_MS_SUFFIXES = tuple(f".{ms:03d}Z" for ms in range(1000))


def iso_timestamp(epoch_ms: int) -> str:
    """``2019-12-13T23:40:12.771Z`` for epoch milliseconds."""
    second, ms = divmod(epoch_ms, 1000)
    return _iso_second(second) + _MS_SUFFIXES[ms]


def epoch_ms(value: Any) -> int:
    """The record's ``timestamp`` as epoch milliseconds, or :class:`RecordRejected`."""
    if type(value) is int and _SECONDS_BELOW <= value < _MAX_MS:  # the common case: epoch ms
        return value
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
    if type(value) is str:
        return value
    if isinstance(value, dict | list):
        return jsoncodec.dumps(value).decode("utf-8")
    return str(value)


def _as_int(value: Any, lo: int, hi: int) -> int | None:
    if type(value) is int:
        return value if lo <= value <= hi else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
        return number if lo <= number <= hi else None
    if isinstance(value, float) and value.is_integer():
        return _as_int(int(value), lo, hi)
    return None


_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


def valid_ip(value: Any) -> bool:
    """An IPv4 or IPv6 address OpenSearch's ``ip`` type accepts."""
    if type(value) is not str:
        return False
    if _IPV4.fullmatch(value):
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _header_value(h: dict[str, Any]) -> Any:
    """The header's value as logged (``value``, the ``myValue`` quirk, or the one other key); not coerced."""
    if "value" in h:
        return h["value"]
    if "myValue" in h:  # the quirk in AWS's published examples
        return h["myValue"]
    return next((v for k, v in h.items() if k != "name"), "")


def _drop_credentials(headers: dict[str, Any]) -> None:
    """Remove the :data:`SENSITIVE_HEADERS` from a lower-cased header map (looks up those few names only)."""
    if not headers.keys().isdisjoint(SENSITIVE_HEADERS):
        for name in SENSITIVE_HEADERS:
            headers.pop(name, None)


def headers_map(headers: Any) -> dict[str, Any]:
    """WAF's header list as a lower-cased name → value map, credentials dropped (values as logged)."""
    if isinstance(headers, Mapping):
        headers = [{"name": k, "value": v} for k, v in headers.items()]
    if type(headers) is not list:
        return {}
    try:  # the common case without a Python-level loop: {name, value} objects, string names, no repeats
        fast = dict(zip(map(str.lower, map(_get_name, headers)), map(_get_value, headers), strict=True))
    except (KeyError, TypeError):
        pass
    else:
        if len(fast) == len(headers):
            _drop_credentials(fast)
            return fast
    out: dict[str, Any] = {}
    sensitive = SENSITIVE_HEADERS
    for h in headers:
        if type(h) is not dict:
            continue
        name = h.get("name")
        value = h.get("value")
        if type(name) is str and type(value) is str:  # the common case, fast
            name = name.lower()
        else:
            if name is None:
                continue
            name = (name if type(name) is str else str(name)).lower()
            value = _header_value(h)
        if name in sensitive:
            continue
        if name in out:  # a repeated header: one comma-separated value, as HTTP folds them
            out[name] = f"{_as_text(out[name])}, {_as_text(value)}"
        else:
            out[name] = value
    return out


def _as_text(value: Any) -> str:
    return "" if value is None else _as_keyword(value)


def _fix_lists(record: dict[str, Any]) -> None:
    for name in LIST_FIELDS:
        value = record.get(name)
        if type(value) is not list:
            if value is None:
                if name in record:
                    record[name] = []
            else:
                record[name] = [value]


def _fix_keywords(obj: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = obj.get(name)
        if value is not None and type(value) is not str:
            obj[name] = _as_keyword(value)


def _fix_ints(record: dict[str, Any], malformed: dict[str, Any]) -> None:
    for name, (lo, hi) in INT_FIELDS.items():
        value = record.get(name)
        if value is None or (type(value) is int and lo <= value <= hi):
            continue
        number = _as_int(value, lo, hi)
        if number is None:
            malformed[name] = record.pop(name)
        else:
            record[name] = number


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """The record with mapping-breaking shapes fixed (in place, and returned).

    Each group of fields is first checked at C speed (``map`` over the field names); the per-field repair
    runs only for a group that needs it, which keeps the common, well-formed record cheap.
    """
    malformed: dict[str, Any] = {}
    get = record.get
    if not _LIST_OK.issuperset(map(type, map(get, LIST_FIELDS))) or None in map(get, LIST_FIELDS):
        _fix_lists(record)
    if not _STR_OR_NONE.issuperset(map(type, map(get, KEYWORD_FIELDS))):
        _fix_keywords(record, KEYWORD_FIELDS)
    if not _INT_OR_NONE.issuperset(map(type, map(get, INT_FIELDS))) or not all(map(_short_ok, map(get, SHORT_FIELDS))):
        _fix_ints(record, malformed)
    req = get("httpRequest")
    if req is None:
        req = record["httpRequest"] = {}
    elif type(req) is not dict:
        malformed["httpRequest"] = req
        req = record["httpRequest"] = {}
    if "headers" in req:
        req["headers"] = headers_map(req["headers"])
    if not _STR_OR_NONE.issuperset(map(type, map(req.get, REQUEST_KEYWORD_FIELDS))):
        _fix_keywords(req, REQUEST_KEYWORD_FIELDS)
    ip = req.get("clientIp")
    if ip is not None and not valid_ip(ip):
        malformed["httpRequest.clientIp"] = req.pop("clientIp")
    if malformed:
        record[MALFORMED_FIELD] = malformed
    return record


def fallback_event_id(data: bytes) -> str:
    """For records that did not come through the S3 relay: a content hash (deterministic, like the relay's)."""
    return hashlib.sha256(data).hexdigest()[:32]


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


try:  # pragma: no cover - exercised through whichever branch is installed
    import msgspec as _msgspec
except ImportError:  # pragma: no cover
    _msgspec = None

HAVE_MSGSPEC = _msgspec is not None


class _UseGeneric(Exception):
    """The fast path met something only the generic path handles (the generic path defines the result)."""


if _msgspec is not None:
    from typing import Annotated

    from msgspec import UNSET, Meta, Raw, Struct, UnsetType

    _Short = Annotated[int, Meta(ge=-32768, le=32767)]
    _Long = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
    _Str = str | None | UnsetType
    # arrays of raw JSON elements: msgspec checks they are arrays (or null) without decoding the rules inside
    _List = list[Raw] | None | UnsetType

    class _Header(Struct, gc=False):
        name: str
        value: Raw  # as logged, any JSON type (the generic path keeps it as is too), copied through undecoded

    class _Request(Struct, forbid_unknown_fields=True, gc=False):
        clientIp: _Str = UNSET
        country: _Str = UNSET
        headers: list[_Header] | UnsetType = UNSET
        uri: _Str = UNSET
        args: _Str = UNSET
        httpVersion: _Str = UNSET
        httpMethod: _Str = UNSET
        requestId: _Str = UNSET
        host: _Str = UNSET
        scheme: _Str = UNSET
        fragment: _Str = UNSET

    class _Record(Struct, forbid_unknown_fields=True, gc=False):
        """A WAF record with every documented field; anything else (or any other type) → the generic path."""

        event_id: _Str = UNSET
        timestamp: int | float | str | UnsetType | None = UNSET
        formatVersion: _Short | UnsetType | None = UNSET
        webaclId: _Str = UNSET
        terminatingRuleId: _Str = UNSET
        terminatingRuleType: _Str = UNSET
        action: _Str = UNSET
        terminatingRuleMatchDetails: _List = UNSET
        httpSourceName: _Str = UNSET
        httpSourceId: _Str = UNSET
        ruleGroupList: _List = UNSET
        rateBasedRuleList: _List = UNSET
        nonTerminatingMatchingRules: _List = UNSET
        requestHeadersInserted: _List = UNSET
        responseCodeSent: _Short | UnsetType | None = UNSET
        httpStatus: _Short | UnsetType | None = UNSET
        httpRequest: _Request | UnsetType = UNSET
        labels: _List = UNSET
        captchaResponse: Raw | UnsetType = UNSET
        challengeResponse: Raw | UnsetType = UNSET
        ja3Fingerprint: _Str = UNSET
        ja4Fingerprint: _Str = UNSET
        oversizeFields: Raw | UnsetType = UNSET
        requestBodySize: _Long | UnsetType | None = UNSET
        requestBodySizeInspectedByWAF: _Long | UnsetType | None = UNSET
        clientAsn: Raw | UnsetType = UNSET
        cfDistributionTenantId: Raw | UnsetType = UNSET
        at_timestamp: str | UnsetType = _msgspec.field(default=UNSET, name=TIME_FIELD)
        action_bad: int | UnsetType = UNSET
        source_bad: int | UnsetType = UNSET
        status_bad: int | UnsetType = UNSET
        country_bad: int | UnsetType = UNSET
        method_bad: int | UnsetType = UNSET

    _DECODER = _msgspec.json.Decoder(_Record)
    _ENCODER = _msgspec.json.Encoder()
    _LIST_NAMES = tuple(LIST_FIELDS)


def _null_lists_to_empty(rec: Any) -> None:
    for name in _LIST_NAMES:
        if getattr(rec, name) is None:
            setattr(rec, name, [])


def _to_document_fast(
    data: bytes,
    allow: Mapping[str, frozenset[str]],
    default_event_id: str | None,
    drop_actions: frozenset[str],
    buffer: bytearray | None,
) -> bytes | bytearray | None:
    """One typed, validating parse of a well-formed WAF record; rule lists are copied through as raw JSON."""
    if not data.isascii():  # raw passthrough copies bytes unchecked: make sure they are UTF-8 first
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise _UseGeneric from None
    try:
        rec = _DECODER.decode(data)
    except _msgspec.MsgspecError:
        raise _UseGeneric from None
    req = rec.httpRequest
    if req is UNSET:
        raise _UseGeneric
    headers = req.headers
    if headers is not UNSET:
        fast = {h.name.lower(): h.value for h in headers}
        if len(fast) != len(headers):
            raise _UseGeneric  # repeated header names: joined by the generic path
        _drop_credentials(fast)
        req.headers = fast  # type: ignore[assignment]
    ip = req.clientIp
    if ip is not UNSET and ip is not None and not valid_ip(ip):
        raise _UseGeneric
    if None in (
        rec.terminatingRuleMatchDetails,
        rec.ruleGroupList,
        rec.rateBasedRuleList,
        rec.nonTerminatingMatchingRules,
        rec.requestHeadersInserted,
        rec.labels,
    ):
        _null_lists_to_empty(rec)
    ms = rec.timestamp
    if type(ms) is not int or not _SECONDS_BELOW <= ms < _MAX_MS:  # else epoch ms already (the common case)
        ms = rec.timestamp = epoch_ms(None if ms is UNSET else ms)
    if drop_actions and rec.action in drop_actions:
        return None
    # UNSET (absent) is not in any allow-list and is not a status, exactly like None: no conversion needed
    rec.action_bad, rec.source_bad, rec.status_bad, rec.country_bad, rec.method_bad = indicator_values(
        rec.action, rec.httpSourceName, rec.httpStatus, req.country, req.httpMethod, allow
    )
    if not rec.event_id:  # UNSET, None or ""
        rec.event_id = default_event_id or fallback_event_id(data)
    rec.at_timestamp = iso_timestamp(ms)
    if buffer is None:
        return _ENCODER.encode(rec)
    _ENCODER.encode_into(rec, buffer)  # no allocation per document: the buffer is truncated to the message
    return buffer


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
    if _msgspec is not None:
        try:
            return _to_document_fast(data, allow, default_event_id, drop_actions, buffer)
        except _UseGeneric:
            pass
    return to_document_generic(data, allow, default_event_id=default_event_id, drop_actions=drop_actions)
