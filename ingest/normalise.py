"""Fix what breaks OpenSearch mappings in a parsed WAF record (the generic path of :mod:`ingest.transform`).

List fields that are ``null`` in one record and an array in the next become arrays; scalars that should be
keywords become strings; numbers that do not fit their mapping move to ``malformed`` (kept in ``_source``, not
indexed); ``httpRequest.headers`` becomes a name → value map (:mod:`ingest.headers`); a client IP that is not an
address moves to ``malformed`` too.
"""

from __future__ import annotations

from typing import Any

from ingest.headers import headers_map
from ingest.record_values import as_int, as_keyword, valid_ip

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
MALFORMED_FIELD = "malformed"
_NONE = type(None)
_STR_OR_NONE = frozenset({str, _NONE})
_LIST_OK = frozenset({list, _NONE})
_INT_OR_NONE = frozenset({int, _NONE})


def _short_ok(value: Any) -> bool:
    return value is None or -32768 <= value <= 32767


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
            obj[name] = as_keyword(value)


def _fix_ints(record: dict[str, Any], malformed: dict[str, Any]) -> None:
    for name, (lo, hi) in INT_FIELDS.items():
        value = record.get(name)
        if value is None or (type(value) is int and lo <= value <= hi):
            continue
        number = as_int(value, lo, hi)
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
