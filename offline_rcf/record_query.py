"""Raw WAF records and indexed documents in memory: reading them from files, their fields and times, and the
subset of the query DSL a detector's filter uses (match_all, term(s), range, exists, bool).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from offline_rcf.series import to_epoch_ms
from wafad.catalogue import INDICATOR_FIELDS, TIME_FIELD, indicators


def load_records(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """WAF records (or indexed documents) from JSON-lines files, gzip or not, or JSON arrays/objects."""
    for p in paths:
        path = Path(p)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            text = fh.read()
        stripped = text.lstrip()
        if stripped.startswith("["):
            yield from json.loads(stripped)
            continue
        try:
            whole = json.loads(stripped) if stripped.startswith("{") else None
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict):
            yield whole
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON: {exc.msg}") from None


def get_path(doc: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted field name (a flat key of that name first), None when absent.

    >>> get_path({"httpRequest": {"country": "GB"}}, "httpRequest.country"), get_path({}, "a.b")
    ('GB', None)
    """
    if dotted in doc:
        return doc[dotted]
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def record_time_ms(rec: Mapping[str, Any]) -> int:
    """A document's ``@timestamp`` or a raw WAF record's ``timestamp`` (epoch ms)."""
    t = rec.get(TIME_FIELD)
    if t is not None:
        return to_epoch_ms(t)
    t = rec.get("timestamp")
    if t is None:
        raise ValueError("record has neither @timestamp nor timestamp")
    return to_epoch_ms(t)


def field_value(rec: Mapping[str, Any], name: str, cache: dict[str, int] | None) -> Any:
    """A field of ``rec``; indicator fields a raw record lacks are computed (``cache``: its indicators, if known)."""
    value = get_path(rec, name)
    if value is None and name in INDICATOR_FIELDS:
        return (cache if cache is not None else indicators(rec))[name]
    return value


def matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """The subset of the query DSL a detector filter uses: match_all, term(s), range, exists, bool."""
    if not query:
        return True
    (kind, arg), *rest = query.items()
    if rest:
        raise ValueError(f"a query clause has one key, got {list(query)}")
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "bool":
        must = list(_as_list(arg.get("must"))) + list(_as_list(arg.get("filter")))
        if not all(matches(doc, q) for q in must):
            return False
        if any(matches(doc, q) for q in _as_list(arg.get("must_not"))):
            return False
        should = list(_as_list(arg.get("should")))
        need = int(arg.get("minimum_should_match", 1 if should and not must else 0))
        return sum(matches(doc, q) for q in should) >= need
    if kind in ("term", "terms", "range", "exists"):
        (fname, cond), *_ = arg.items()
        value = field_value(doc, fname if kind != "exists" else cond, None)
        if kind == "exists":
            return value is not None
        if kind == "term":
            target = cond.get("value") if isinstance(cond, Mapping) else cond
            return value == target or (value is not None and str(value) == str(target))
        if kind == "terms":
            return value is not None and str(value) in {str(c) for c in cond}
        if value is None:
            return False
        v = to_epoch_ms(value) if fname == TIME_FIELD else float(value)
        for op, bound in cond.items():
            if op in ("format", "time_zone", "boost"):
                continue
            b = to_epoch_ms(bound) if fname == TIME_FIELD else float(bound)
            if not {"gt": v > b, "gte": v >= b, "lt": v < b, "lte": v <= b}[op]:
                return False
        return True
    raise NotImplementedError(f"query clause {kind!r} is not supported for in-memory records")


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    return list(x) if isinstance(x, list) else [x]
