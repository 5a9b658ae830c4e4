"""What the raw WAF documents of an incident window say: top countries, client IPs and URIs.

One ``terms``-aggregation search on the raw index pattern over ``[start, end)``, restricted by the detector's
filter and (HC) entity, and for indicator detectors to the requests the detector counts (indicator = 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wafad.catalogue import CLIENT_IP_FIELD, COUNTRY_FIELD, INDICATOR_FIELDS, TIME_FIELD, URI_FIELD, DetectorSpec

#: label in the message -> raw field
CONTEXT_FIELDS: dict[str, str] = {"countries": COUNTRY_FIELD, "client IPs": CLIENT_IP_FIELD, "URIs": URI_FIELD}


@dataclass(frozen=True)
class WindowContext:
    matching_requests: int
    top: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    error: str | None = None  # the context could not be read (the alert still goes out)


def context_query(
    spec: DetectorSpec | None, start_ms: int, end_ms: int, entity: Mapping[str, str] | None, *, size: int = 5
) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [
        {"range": {TIME_FIELD: {"gte": int(start_ms), "lt": int(end_ms), "format": "epoch_millis"}}}
    ]
    if spec is not None:
        filters.append(dict(spec.filter_query))
        indicator_fields = [f.field for f in spec.features if f.agg == "sum" and f.field in INDICATOR_FIELDS]
        if indicator_fields and len(indicator_fields) == len(spec.features):
            filters.append(
                {"bool": {"should": [{"term": {f: 1}} for f in indicator_fields], "minimum_should_match": 1}}
            )
    for name, value in (entity or {}).items():
        filters.append({"term": {name: value}})
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": filters}},
        "aggs": {label: {"terms": {"field": fld, "size": size}} for label, fld in CONTEXT_FIELDS.items()},
    }


def window_context(
    os_client: Any,
    index_pattern: str,
    spec: DetectorSpec | None,
    start_ms: int,
    end_ms: int,
    entity: Mapping[str, str] | None = None,
    *,
    size: int = 5,
) -> WindowContext:
    """Top values in the window; a failed search gives an empty context with ``error`` (never raises)."""
    from opensearchpy.exceptions import TransportError

    body = context_query(spec, start_ms, end_ms, entity, size=size)
    try:
        response = os_client.search(index=index_pattern, body=body, params={"ignore_unavailable": "true"})
    except TransportError as exc:
        return WindowContext(0, {}, error=f"context search failed: {exc.error}")
    total = response.get("hits", {}).get("total", {})
    matching = int(total.get("value", 0)) if isinstance(total, Mapping) else int(total or 0)
    top: dict[str, list[tuple[str, int]]] = {}
    for label in CONTEXT_FIELDS:
        buckets = response.get("aggregations", {}).get(label, {}).get("buckets", [])
        top[label] = [(str(b.get("key_as_string", b.get("key"))), int(b.get("doc_count", 0))) for b in buckets]
    return WindowContext(matching, top)
