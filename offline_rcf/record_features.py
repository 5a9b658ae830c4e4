"""Per-interval feature vectors computed from raw WAF records or indexed documents, with AD's semantics.

The same result as :mod:`offline_rcf.feature_queries` gives for the same documents in OpenSearch: the filter
query, the aggregations, empty intervals (0 for ``sum``/``value_count``/``cardinality``, NaN otherwise) and, for
high-cardinality detectors, absent entities (NaN rows, ``doc_count`` 0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from offline_rcf.record_query import field_value, get_path, load_records, matches, record_time_ms
from offline_rcf.series import Aligned, FeatureSeries, interval_grid
from wafad.catalogue import INDICATOR_FIELDS, DetectorSpec, Feature, indicators


def _numeric(value: Any) -> list[float]:
    out = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, bool):
            out.append(float(v))
        elif isinstance(v, (int, float, str)):
            try:
                out.append(float(v))
            except ValueError:
                continue
    return out


def _aggregate(feature: Feature, values: list[Any]) -> float:
    """One aggregation over the field values of the documents in an interval (None = field absent)."""
    present = [v for v in values if v is not None]
    if feature.agg == "value_count":
        return float(sum(len(v) if isinstance(v, list) else 1 for v in present))
    if feature.agg == "cardinality":
        flat = [x for v in present for x in (v if isinstance(v, list) else [v])]
        return float(len({json.dumps(x, sort_keys=True) for x in flat}))
    nums = [x for v in present for x in _numeric(v)]
    if feature.agg == "sum":
        return float(math.fsum(nums))
    if not nums:
        return math.nan
    if feature.agg == "avg":
        return math.fsum(nums) / len(nums)
    if feature.agg == "min":
        return min(nums)
    if feature.agg == "max":
        return max(nums)
    raise ValueError(f"unsupported aggregation {feature.agg!r}")


@dataclass
class _Doc:
    t: int
    entity: str | None
    fields: list[Any]


def _prepare(records: Iterable[Mapping[str, Any]], spec: DetectorSpec) -> list[_Doc]:
    docs: list[_Doc] = []
    needs_indicators = any(f.field in INDICATOR_FIELDS for f in spec.features)
    for n, rec in enumerate(records):
        if not matches(rec, spec.filter_query):
            continue
        cache = indicators(rec) if needs_indicators and not all(f.field in rec for f in spec.features) else None
        fields = []
        for f in spec.features:
            value = field_value(rec, f.field, cache)
            if value is None and f.field == "event_id":
                value = f"record-{n}"  # the Firehose transform gives every document an event_id
            fields.append(value)
        entity = None
        if spec.category_field is not None:
            raw = get_path(rec, spec.category_field)
            entity = None if raw is None else str(raw)
        docs.append(_Doc(record_time_ms(rec), entity, fields))
    docs.sort(key=lambda d: d.t)
    return docs


def _series_from_docs(
    docs: list[_Doc], spec: DetectorSpec, ds: np.ndarray, de: np.ndarray, entity: dict[str, str] | None
) -> FeatureSeries:
    times = np.fromiter((d.t for d in docs), dtype=np.int64, count=len(docs))
    lo = np.searchsorted(times, ds, side="left")
    hi = np.searchsorted(times, de, side="left")
    values = np.full((len(ds), len(spec.features)), np.nan)
    for i in range(len(ds)):
        window = docs[lo[i] : hi[i]]
        values[i] = [_aggregate(f, [d.fields[j] for d in window]) for j, f in enumerate(spec.features)]
    return FeatureSeries(ds, de, values, [f.name for f in spec.features], entity, hi - lo)


def features_from_records(
    records: Iterable[Mapping[str, Any]] | Iterable[str | Path],
    spec: DetectorSpec,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
    windows: tuple[np.ndarray, np.ndarray] | None = None,
) -> FeatureSeries:
    """Single-stream features of ``spec`` from raw WAF records or indexed documents (or files of them).

    Indicator fields missing from a raw record are computed with ``wafad.catalogue.indicators``; records
    without ``event_id`` count as having one (the transform adds it). ``windows`` = (data_start, data_end)
    epoch ms overrides the grid.
    """
    docs = _prepare(_records(records), spec)
    ds, de = (
        windows
        if windows is not None
        else interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    )
    return _series_from_docs(docs, spec, np.asarray(ds, np.int64), np.asarray(de, np.int64), None)


def features_from_records_by_entity(
    records: Iterable[Mapping[str, Any]] | Iterable[str | Path],
    spec: DetectorSpec,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
) -> dict[str, FeatureSeries]:
    """HC features per entity from raw records, with the same absent-entity semantics as the composite query."""
    if spec.category_field is None:
        raise ValueError(f"detector {spec.name!r} has no category field; use features_from_records")
    docs = _prepare(_records(records), spec)
    ds, de = interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    out: dict[str, FeatureSeries] = {}
    by_entity: dict[str, list[_Doc]] = {}
    for d in docs:
        if d.entity is not None:  # composite terms sources skip documents without the field
            by_entity.setdefault(d.entity, []).append(d)
    for value in sorted(by_entity):
        s = _series_from_docs(by_entity[value], spec, ds, de, {spec.category_field: value})
        if not np.any(s.doc_count):
            continue  # no document inside the grid: the composite query never sees this entity
        assert s.doc_count is not None
        s.values[s.doc_count == 0] = np.nan  # absent from the composite aggregation
        out[value] = s
    return out


def _records(records: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    items = list(records) if not isinstance(records, (list, tuple)) else records
    if items and all(isinstance(r, (str, Path)) for r in items):
        yield from load_records(items)
    else:
        for r in items:
            if not isinstance(r, Mapping):
                raise TypeError(f"records must be mappings or file paths, got {type(r).__name__}")
            yield r
