"""Value parsing shared by the dashboard's queries and inputs: times (ISO, epoch s/ms), numbers, HC entities."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def to_ms(value: Any) -> int:
    """Epoch milliseconds from a datetime, an ISO-8601 string or a number (seconds if it looks like seconds)."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return int(value * 1000) if abs(value) < 1e11 else int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return to_ms(int(text))
        return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))
    raise ValueError(f"not a time: {value!r}")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def entity_key(entity: Any) -> str | None:
    if isinstance(entity, list) and entity:
        parts = [f"{e.get('name', '')}={e.get('value', '')}" for e in entity if isinstance(e, Mapping)]
        return ", ".join(parts) or None
    if isinstance(entity, Mapping) and entity:
        return ", ".join(f"{k}={v}" for k, v in entity.items())
    return None
