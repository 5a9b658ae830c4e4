"""Per-interval feature vectors from OpenSearch, exactly as an OpenSearch AD detector queries them.

The detector's filter query and feature aggregations, many intervals per request — a ``date_range``
aggregation (AD's real-time query, ``from`` inclusive, ``to`` exclusive) for single-stream detectors, a paginated
``composite`` aggregation (``date_histogram`` × ``terms`` on the category field) for high-cardinality (HC)
detectors, as AD's ``CompositeRetriever`` / batch query do.

AD semantics (opensearch_ad.md §4.1-4.4): for an empty interval ``sum``/``value_count``/``cardinality`` are 0
(a real zero), ``avg``/``min``/``max`` have no value (NaN); ±Inf is NaN. In an HC detector an entity without
documents in an interval is absent: its row is NaN and its ``doc_count`` 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from offline_rcf.series import Aligned, FeatureSeries, interval_grid, interval_ms
from wafad.catalogue import TIME_FIELD, DetectorSpec, Feature

ZERO_WHEN_EMPTY = frozenset({"sum", "value_count", "cardinality"})
RANGES_PER_REQUEST = 1000
COMPOSITE_PAGE_SIZE = 5000  # buckets per page (AD: page_size 1000 for one interval; we fetch many intervals)


def _agg_value(bucket: Mapping[str, Any], feature: Feature) -> float:
    agg = bucket.get(feature.name)
    value = agg.get("value") if isinstance(agg, Mapping) else None
    if value is None:
        return 0.0 if feature.agg in ZERO_WHEN_EMPTY and bucket.get("doc_count", 1) == 0 else math.nan
    value = float(value)
    return value if math.isfinite(value) else math.nan


def _feature_aggs(spec: DetectorSpec) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for f in spec.features:
        aggs.update(f.aggregation_query())
    return aggs


def _time_filtered_query(spec: DetectorSpec, start_ms: int, end_ms: int) -> dict[str, Any]:
    return {
        "bool": {
            "filter": [
                dict(spec.filter_query),
                {"range": {TIME_FIELD: {"gte": start_ms, "lt": end_ms, "format": "epoch_millis"}}},
            ]
        }
    }


def features_for_windows(
    client: Any,
    spec: DetectorSpec,
    index: str,
    data_start: Sequence[int] | np.ndarray,
    data_end: Sequence[int] | np.ndarray,
    *,
    ranges_per_request: int = RANGES_PER_REQUEST,
) -> FeatureSeries:
    """Feature vectors for arbitrary windows [data_start, data_end) in epoch ms (AD's real-time query).

    One ``date_range`` aggregation per ``ranges_per_request`` windows, as ``SearchFeatureDao`` builds it.
    Use this with the windows of AD's own result documents (job-aligned, with the scheduler's jitter).
    """
    starts = np.asarray(data_start, dtype=np.int64)
    ends = np.asarray(data_end, dtype=np.int64)
    if starts.shape != ends.shape:
        raise ValueError("data_start and data_end differ in length")
    if np.any(ends <= starts):
        raise ValueError("every window needs data_end > data_start")
    values = np.full((len(starts), len(spec.features)), np.nan)
    counts = np.zeros(len(starts), dtype=np.int64)
    aggs = _feature_aggs(spec)
    for lo in range(0, len(starts), ranges_per_request):
        chunk = slice(lo, lo + ranges_per_request)
        s, e = starts[chunk], ends[chunk]
        body = {
            "size": 0,
            "query": _time_filtered_query(spec, int(s.min()), int(e.max())),
            "aggs": {
                "windows": {
                    "date_range": {
                        "field": TIME_FIELD,
                        "format": "epoch_millis",
                        "ranges": [{"from": int(a), "to": int(b)} for a, b in zip(s, e, strict=True)],
                    },
                    "aggs": aggs,
                }
            },
        }
        resp = client.search(index=index, body=body)
        by_window = {}
        for b in (resp.get("aggregations") or {}).get("windows", {}).get("buckets", []):
            by_window[(int(float(b["from"])), int(float(b["to"])))] = b
        for k in range(len(s)):
            b = by_window.get((int(s[k]), int(e[k])), {"doc_count": 0})
            counts[lo + k] = int(b.get("doc_count", 0))
            values[lo + k] = [_agg_value(b, f) for f in spec.features]
    return FeatureSeries(starts, ends, values, [f.name for f in spec.features], None, counts)


def feature_series(
    client: Any,
    spec: DetectorSpec,
    index: str,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
    ranges_per_request: int = RANGES_PER_REQUEST,
) -> FeatureSeries:
    """Single-stream feature vectors of ``spec`` over the intervals of :func:`interval_grid`.

    For an HC spec this is the total over all entities (the category field is ignored).
    """
    ds, de = interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    if len(ds) == 0:
        return _empty_series(spec)
    return features_for_windows(client, spec, index, ds, de, ranges_per_request=ranges_per_request)


def feature_series_by_entity(
    client: Any,
    spec: DetectorSpec,
    index: str,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
    page_size: int = COMPOSITE_PAGE_SIZE,
) -> dict[str, FeatureSeries]:
    """HC feature vectors per entity (keyed by the category value) over the :func:`interval_grid` intervals.

    A paginated ``composite`` aggregation of ``date_histogram`` (offset to the grid) × ``terms`` (category
    field). Every series has the full grid; intervals where the entity has no documents are NaN rows with
    ``doc_count`` 0 (AD: absent, no result unless the detector imputes).
    """
    if spec.category_field is None:
        raise ValueError(f"detector {spec.name!r} has no category field; use feature_series")
    ds, de = interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    if len(ds) == 0:
        return {}
    iv = interval_ms(interval)
    offset = int(ds[0] % iv)
    sources = [
        {"t": {"date_histogram": {"field": TIME_FIELD, "fixed_interval": f"{iv}ms", "offset": f"{offset}ms"}}},
        {"e": {"terms": {"field": spec.category_field}}},
    ]
    body: dict[str, Any] = {
        "size": 0,
        "query": _time_filtered_query(spec, int(ds[0]), int(de[-1])),
        "aggs": {"entities": {"composite": {"size": page_size, "sources": sources}, "aggs": _feature_aggs(spec)}},
    }
    rows: dict[str, dict[int, Mapping[str, Any]]] = {}
    while True:
        resp = client.search(index=index, body=body)
        comp = (resp.get("aggregations") or {}).get("entities", {})
        buckets = comp.get("buckets", [])
        for b in buckets:
            rows.setdefault(str(b["key"]["e"]), {})[int(b["key"]["t"])] = b
        after = comp.get("after_key")
        if not buckets or after is None:
            break
        body["aggs"]["entities"]["composite"]["after"] = after
    return _series_per_entity(spec, ds, de, rows)


def _series_per_entity(
    spec: DetectorSpec, ds: np.ndarray, de: np.ndarray, rows: Mapping[str, Mapping[int, Mapping[str, Any]]]
) -> dict[str, FeatureSeries]:
    position = {int(t): i for i, t in enumerate(ds)}
    names = [f.name for f in spec.features]
    out: dict[str, FeatureSeries] = {}
    for value in sorted(rows):
        values = np.full((len(ds), len(names)), np.nan)
        counts = np.zeros(len(ds), dtype=np.int64)
        for t, b in rows[value].items():
            i = position.get(t)
            if i is None:
                continue
            counts[i] = int(b.get("doc_count", 0))
            values[i] = [_agg_value(b, f) for f in spec.features]
        assert spec.category_field is not None
        out[value] = FeatureSeries(ds, de, values, names, {spec.category_field: value}, counts)
    return out


def _empty_series(spec: DetectorSpec) -> FeatureSeries:
    names = [f.name for f in spec.features]
    return FeatureSeries(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(names))), names, None)
