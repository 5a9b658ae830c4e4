"""JSON in and out as bytes: orjson when it is importable, the standard library otherwise.

The Lambda zips bundle orjson when the build machine has a matching wheel; the handlers still work without it.
``loads`` is strict about what OpenSearch cannot store (``NaN``/``Infinity`` are rejected) but tolerant of what
real producers emit (a UTF-8 BOM, lone surrogates, integers beyond 64 bits).
"""

from __future__ import annotations

import json
from typing import Any

try:  # pragma: no cover - exercised through whichever branch is installed
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

HAVE_ORJSON = _orjson is not None


class JSONError(ValueError):
    """The bytes are not one valid JSON document."""


def _reject_constant(name: str) -> Any:
    raise JSONError(f"{name} is not valid JSON")


def _std_loads(data: bytes | str) -> Any:
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except JSONError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise JSONError(str(exc)) from None


def loads(data: bytes | str) -> Any:
    """Parse one JSON document; :class:`JSONError` says why it is not one."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # fall through: the stdlib accepts a BOM, lone surrogates and big integers
    return _std_loads(data)


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON bytes."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj)
        except (_orjson.JSONEncodeError, TypeError):
            pass  # lone surrogates, integers beyond 64 bits: the stdlib handles them
    try:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")
