"""Safe embedding for the self-contained page: JSON inside ``<script>`` and the Content-Security-Policy.

Markup is autoescaped by the templates; the only things inlined unescaped are the page's own CSS and scripts
(:mod:`dashboard.assets`, never data) and the JSON data block, which :func:`safe_json` makes unable to end its
``<script>`` element. The policy allows exactly the inlined scripts (by SHA-256) and no network access at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def safe_json(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``, U+2028/9."""
    text = json.dumps(_clean(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def script_hash(script: str) -> str:
    """The CSP source expression (without quotes) allowing exactly this inline script text."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(scripts: str | Iterable[str]) -> str:
    """No network, no plugins, no frames; inline styles; only the given inline scripts, by hash."""
    texts = [scripts] if isinstance(scripts, str) else list(scripts)
    allowed = " ".join(f"'{script_hash(s)}'" for s in texts)
    return (
        f"default-src 'none'; script-src {allowed}; style-src 'unsafe-inline'; img-src data:; "
        "font-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'"
    )
