"""The transform's fast path: one typed, validating msgspec parse of a well-formed WAF record.

It parses only the fields the transform reads or rewrites and copies the rule lists through as raw JSON bytes.
Anything unusual (an unknown field, another type, repeated headers, an odd IP) raises :class:`UseGeneric`, and
:func:`ingest.transform.to_document` hands the record to the generic path, which defines the result. Without
msgspec installed (:data:`HAVE_MSGSPEC` false) only the generic path runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.headers import drop_credentials
from ingest.normalise import LIST_FIELDS
from ingest.record_values import MAX_MS, SECONDS_BELOW, epoch_ms, fallback_event_id, iso_timestamp, valid_ip
from wafad.catalogue import TIME_FIELD, indicator_values

try:  # pragma: no cover - exercised through whichever branch is installed
    import msgspec as _msgspec
except ImportError:  # pragma: no cover
    _msgspec = None

HAVE_MSGSPEC = _msgspec is not None


class UseGeneric(Exception):
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


def to_document_fast(
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
            raise UseGeneric from None
    try:
        rec = _DECODER.decode(data)
    except _msgspec.MsgspecError:
        raise UseGeneric from None
    req = rec.httpRequest
    if req is UNSET:
        raise UseGeneric
    headers = req.headers
    if headers is not UNSET:
        fast = {h.name.lower(): h.value for h in headers}
        if len(fast) != len(headers):
            raise UseGeneric  # repeated header names: joined by the generic path
        drop_credentials(fast)
        req.headers = fast  # type: ignore[assignment]
    ip = req.clientIp
    if ip is not UNSET and ip is not None and not valid_ip(ip):
        raise UseGeneric
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
    if type(ms) is not int or not SECONDS_BELOW <= ms < MAX_MS:  # else epoch ms already (the common case)
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
