"""The index template for the daily WAF indices ``<index_prefix>-YYYY.MM.DD``: explicit mappings.

``dynamic: false`` at the root: fields not listed here stay in ``_source`` but are not indexed, so a new or
misspelt field in a real log can never fail a document or explode the mapping. Rule lists and the header map
are ``flattened`` (one field each, whatever their shape: the null-vs-array polymorphism of real WAF logs cannot
break them). osmem-server does not support ``flattened``; locally those fields fall back to
``{"type": "object", "enabled": false}`` (kept in ``_source``, not searchable), which :func:`ensure_index_template`
reports.
"""

from __future__ import annotations

from typing import Any

from wafad.catalogue import INDICATOR_FIELDS
from wafad.settings import Settings

KEYWORD = {"type": "keyword", "ignore_above": 8191}  # 8191 chars * 4 bytes < Lucene's 32766-byte term limit
FLATTENED_FIELDS = (
    "terminatingRuleMatchDetails",
    "ruleGroupList",
    "rateBasedRuleList",
    "nonTerminatingMatchingRules",
    "requestHeadersInserted",
    "labels",
    "captchaResponse",
    "challengeResponse",
)


def template_name(settings: Settings) -> str:
    return f"{settings.index_prefix}-template"


def index_pattern(settings: Settings) -> str:
    return f"{settings.index_prefix}-*"


def mappings(flat: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mappings; ``flat`` is the mapping used for rule lists and headers (``flattened`` by default)."""
    flat = flat or {"type": "flattened"}
    props: dict[str, Any] = {
        "@timestamp": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
        "event_id": {"type": "keyword"},
        "timestamp": {"type": "long"},
        "formatVersion": {"type": "short"},
        "webaclId": KEYWORD,
        "terminatingRuleId": KEYWORD,
        "terminatingRuleType": {"type": "keyword"},
        "action": {"type": "keyword"},
        "httpSourceName": {"type": "keyword"},
        "httpSourceId": KEYWORD,
        "httpStatus": {"type": "short"},
        "responseCodeSent": {"type": "short"},
        "requestBodySize": {"type": "long"},
        "requestBodySizeInspectedByWAF": {"type": "long"},
        "ja3Fingerprint": {"type": "keyword"},
        "ja4Fingerprint": {"type": "keyword"},
        "oversizeFields": {"type": "keyword"},
        "httpRequest": {
            "properties": {
                "clientIp": {"type": "ip"},
                "country": {"type": "keyword"},
                "headers": dict(flat),
                "uri": KEYWORD,
                "args": KEYWORD,
                "httpVersion": {"type": "keyword"},
                "httpMethod": {"type": "keyword"},
                "requestId": KEYWORD,
                "host": KEYWORD,
                "scheme": {"type": "keyword"},
                "fragment": KEYWORD,
            }
        },
    }
    for name in FLATTENED_FIELDS:
        props[name] = dict(flat)
    for name in INDICATOR_FIELDS:
        props[name] = {"type": "byte"}
    return {"dynamic": False, "properties": props}


def template_body(settings: Settings, *, flat: dict[str, Any] | None = None) -> dict[str, Any]:
    index_settings: dict[str, Any] = {"number_of_shards": 1}
    if settings.is_local:
        index_settings["number_of_replicas"] = 0
    return {
        "index_patterns": [index_pattern(settings)],
        "priority": 100,
        "template": {"settings": index_settings, "mappings": mappings(flat)},
        "_meta": {"managed_by": "wafad ingest"},
    }


FALLBACK_FLAT = {"type": "object", "enabled": False}


def ensure_index_template(client: Any, settings: Settings) -> str:
    """Create or update the template; returns what was done (and whether ``flattened`` had to fall back)."""
    from opensearchpy.exceptions import RequestError

    name = template_name(settings)
    existed = bool(client.indices.exists_index_template(name=name))
    verb = "updated" if existed else "created"
    try:
        client.indices.put_index_template(name=name, body=template_body(settings))
        return f"{verb} (flattened)"
    except RequestError as exc:
        if "flattened" in str(exc) or "composition is invalid" in str(exc):
            client.indices.put_index_template(name=name, body=template_body(settings, flat=FALLBACK_FLAT))
            return f"{verb} (flattened unsupported here: rule lists and headers kept in _source, not indexed)"
        raise
