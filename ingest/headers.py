"""WAF's ``httpRequest.headers`` list as the document's lower-cased name → value map, credentials dropped.

Values stay as logged (``value``, or the ``myValue`` key some records carry instead); repeated headers are joined
with ``", "`` as HTTP folds them; the values of ``authorization``/``cookie``-like headers are never stored.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from ingest.record_values import as_text

#: Header values never stored (credentials and session tokens).
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
_get_name = operator.itemgetter("name")
_get_value = operator.itemgetter("value")


def _header_value(h: dict[str, Any]) -> Any:
    """The header's value as logged (``value``, the ``myValue`` quirk, or the one other key); not coerced."""
    if "value" in h:
        return h["value"]
    if "myValue" in h:  # the quirk in AWS's published examples
        return h["myValue"]
    return next((v for k, v in h.items() if k != "name"), "")


def drop_credentials(headers: dict[str, Any]) -> None:
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
            drop_credentials(fast)
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
            out[name] = f"{as_text(out[name])}, {as_text(value)}"
        else:
            out[name] = value
    return out
