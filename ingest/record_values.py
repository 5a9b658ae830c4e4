"""Reading one WAF record's values: the timestamp as epoch ms and ISO-8601, keyword and integer coercion, IPs.

Pure functions shared by both document paths of :mod:`ingest.transform` (the msgspec fast path and the generic
one); :class:`RecordRejected` is how either says a record cannot become a document.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ingest import jsoncodec

MIN_MS = 0  # 1970
MAX_MS = 4102444800000  # 2100-01-01
SECONDS_BELOW = 100_000_000_000  # a timestamp below this is epoch seconds (the seed's simulator wrote floats)


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
    if type(value) is int and SECONDS_BELOW <= value < MAX_MS:  # the common case: epoch ms
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
    ms = int(value * 1000) if value < SECONDS_BELOW else int(value)
    if not MIN_MS <= ms < MAX_MS:
        raise RecordRejected(f"timestamp {value!r} is outside 1970..2100")
    return ms


def as_keyword(value: Any) -> str:
    """A keyword string: strings as they are, objects and arrays as compact JSON, anything else ``str()``."""
    if type(value) is str:
        return value
    if isinstance(value, dict | list):
        return jsoncodec.dumps(value).decode("utf-8")
    return str(value)


def as_text(value: Any) -> str:
    """:func:`as_keyword`, with ``None`` as the empty string."""
    return "" if value is None else as_keyword(value)


def as_int(value: Any, lo: int, hi: int) -> int | None:
    """An integer within ``[lo, hi]`` from an int, an integral float or a digit string; else ``None``."""
    if type(value) is int:
        return value if lo <= value <= hi else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
        return number if lo <= number <= hi else None
    if isinstance(value, float) and value.is_integer():
        return as_int(int(value), lo, hi)
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


def fallback_event_id(data: bytes) -> str:
    """For records that did not come through the S3 relay: a content hash (deterministic, like the relay's)."""
    return hashlib.sha256(data).hexdigest()[:32]
