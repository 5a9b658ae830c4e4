"""The index template for the daily WAF indices ``<index_prefix>-YYYY.MM.DD``: explicit mappings.

``dynamic: false`` at the root: fields not listed here stay in ``_source`` but are not indexed, so a new or
misspelt field in a real log can never fail a document or explode the mapping. Rule lists and the header map
are ``flattened`` (one field each, whatever their shape: the null-vs-array polymorphism of real WAF logs cannot
break them). osmem-server does not support ``flattened``; locally those fields fall back to
``{"type": "object", "enabled": false}`` (kept in ``_source``, not searchable), which :func:`ensure_index_template`
reports. Locally only the fields the detectors, alerts and dashboards query are indexed (:data:`LOCAL_FIELDS`):
osmem's bulk indexing slows with every indexed field.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ingest.normalise import LIST_FIELDS
from wafad.catalogue import INDICATOR_FIELDS
from wafad.settings import Settings

KEYWORD = {"type": "keyword", "ignore_above": 8191}  # 8191 chars * 4 bytes < Lucene's 32766-byte term limit
#: The transform's polymorphic list fields, plus the objects whose shape varies between records.
FLATTENED_FIELDS = (*LIST_FIELDS, "captchaResponse", "challengeResponse")


def template_name(settings: Settings) -> str:
    return f"{settings.index_prefix}-template"


def index_pattern(settings: Settings) -> str:
    return f"{settings.index_prefix}-*"


#: Indexed locally (osmem's bulk cost grows with every indexed field: ~1.7x faster with only these): what the
#: detectors, alerts and dashboards query. Everything else stays in ``_source``. Real OpenSearch gets them all.
LOCAL_FIELDS = frozenset(
    {"@timestamp", "event_id", "action", "httpSourceName", "httpStatus", "terminatingRuleId", "httpRequest"}
    | set(INDICATOR_FIELDS)
)
LOCAL_REQUEST_FIELDS = frozenset({"clientIp", "country", "uri", "args", "httpMethod"})


def mappings(flat: dict[str, Any] | None = None, *, full: bool = True) -> dict[str, Any]:
    """The mappings; ``flat`` is the mapping used for rule lists and headers (``flattened`` by default);
    ``full=False`` keeps only :data:`LOCAL_FIELDS` (the local stack)."""
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
    if not full:
        props = {k: v for k, v in props.items() if k in LOCAL_FIELDS}
        req = props["httpRequest"]["properties"]
        props["httpRequest"] = {"properties": {k: v for k, v in req.items() if k in LOCAL_REQUEST_FIELDS}}
    return {"dynamic": False, "properties": props}


def template_body(settings: Settings, *, flat: dict[str, Any] | None = None) -> dict[str, Any]:
    index_settings: dict[str, Any] = {"number_of_shards": 1}
    if settings.is_local:
        index_settings["number_of_replicas"] = 0
    return {
        "index_patterns": [index_pattern(settings)],
        "priority": 100,
        "template": {"settings": index_settings, "mappings": mappings(flat, full=not settings.is_local)},
        "_meta": {"managed_by": "wafad ingest"},
    }


FALLBACK_FLAT = {"type": "object", "enabled": False}


def with_content_hash(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with a hash of itself in ``_meta``, so a later ensure can tell "unchanged" without comparing the
    server's normalised copy (clusters rewrite settings and mapping order)."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {**body, "_meta": {**body.get("_meta", {}), "content_hash": digest}}


def _installed_hash(client: Any, name: str) -> str | None:
    templates = client.indices.get_index_template(name=name).get("index_templates", [])
    meta = templates[0]["index_template"].get("_meta", {}) if templates else {}
    return meta.get("content_hash")


def ensure_index_template(client: Any, settings: Settings) -> str:
    """Create, update or leave the template; returns what was done (and whether ``flattened`` had to fall back)."""
    from opensearchpy.exceptions import RequestError

    name = template_name(settings)
    preferred = with_content_hash(template_body(settings))
    fallback = with_content_hash(template_body(settings, flat=FALLBACK_FLAT))
    existed = bool(client.indices.exists_index_template(name=name))
    wanted = {body["_meta"]["content_hash"] for body in (preferred, fallback)}
    if existed and _installed_hash(client, name) in wanted:
        return "unchanged"
    verb = "updated" if existed else "created"
    try:
        client.indices.put_index_template(name=name, body=preferred)
        if settings.is_local:
            return f"{verb} (local: only the queried fields indexed; rule lists and headers kept in _source)"
        return f"{verb} (flattened rule lists and headers)"
    except RequestError as exc:
        if "flattened" in str(exc) or "composition is invalid" in str(exc):
            client.indices.put_index_template(name=name, body=fallback)
            return f"{verb} (flattened unsupported here: rule lists and headers kept in _source, not indexed)"
        raise
