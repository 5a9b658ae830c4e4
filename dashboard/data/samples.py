"""The latest suspicious requests of a window, as flat rows for the requests table.

Attacker-controlled strings (uri, args, headers, user agent) stay plain data here; the page escapes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wafad.catalogue import INDICATOR_FIELDS, TIME_FIELD

SAMPLE_SOURCE_FIELDS = [
    TIME_FIELD,
    "action",
    "httpStatus",
    "httpSourceName",
    "terminatingRuleId",
    "httpRequest.clientIp",
    "httpRequest.country",
    "httpRequest.httpMethod",
    "httpRequest.uri",
    "httpRequest.args",
    "httpRequest.headers",
    *INDICATOR_FIELDS,
]


def fetch_samples(client: Any, index: str, time_range: Mapping[str, Any], size: int) -> list[dict[str, Any]]:
    """The latest requests with any bad indicator (attacker-controlled strings kept as plain data)."""
    body = {
        "size": size,
        "sort": [{TIME_FIELD: {"order": "desc"}}],
        "_source": SAMPLE_SOURCE_FIELDS,
        "query": {
            "bool": {
                "filter": [time_range],
                "should": [{"term": {ind: 1}} for ind in ("action_bad", "status_bad", "method_bad", "source_bad")],
                "minimum_should_match": 1,
            }
        },
    }
    resp = client.search(index=index, body=body, params={"ignore_unavailable": "true"})
    return [sample_row(h.get("_source") or {}) for h in resp.get("hits", {}).get("hits", [])]


def sample_row(src: Mapping[str, Any]) -> dict[str, Any]:
    """A flat, JSON-safe row of one raw document for the requests table (values stay unescaped data)."""
    req = src.get("httpRequest") if isinstance(src.get("httpRequest"), Mapping) else {}
    headers = req.get("headers") or {}
    if isinstance(headers, list):  # raw WAF shape [{name, value}]
        headers = {str(h.get("name", "")).lower(): h.get("value") for h in headers if isinstance(h, Mapping)}
    if not isinstance(headers, Mapping):
        headers = {}
    return {
        "time": str(src.get(TIME_FIELD, "")),
        "action": str(src.get("action", "")),
        "status": str(src.get("httpStatus", "")),
        "ip": str(req.get("clientIp", "")),
        "country": str(req.get("country", "")),
        "method": str(req.get("httpMethod", "")),
        "uri": str(req.get("uri", "")),
        "args": str(req.get("args", "")),
        "user_agent": str(headers.get("user-agent", "")),
        "headers": "; ".join(f"{k}: {v}" for k, v in headers.items() if k != "user-agent"),
        "rule": str(src.get("terminatingRuleId", "")),
    }
