"""Detector features from raw records, accumulated block by block, with the detectors' own definitions.

The same numbers :func:`offline_rcf.record_features.features_from_records` (and ``_by_entity``) give for the same
records, computed with numpy so a simulated week fits in memory and in minutes: the detector's filter
(:func:`offline_rcf.record_query.matches`), the catalogue's indicator functions for the ``*_bad`` fields, ``sum``
and ``value_count`` per interval (0 for an empty interval), and for high-cardinality detectors one series per
entity that ever appears, NaN (``doc_count`` 0) where it is absent. Other aggregations are refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from offline_rcf.record_query import get_path, matches, record_time_ms
from offline_rcf.series import FeatureSeries
from wafad.catalogue import EVENT_ID_FIELD, INDICATOR_FIELDS, DetectorSpec, Feature, indicator_values

_MATCH_ALL = ({}, {"match_all": {}})


def check_supported(spec: DetectorSpec) -> None:
    """Raise ``ValueError`` naming the feature when ``spec`` uses an aggregation evaluate cannot compute."""
    for f in spec.features:
        if (f.agg, f.field in INDICATOR_FIELDS) not in (("sum", True), ("value_count", True)) and not (
            f.agg == "value_count" and f.field == EVENT_ID_FIELD
        ):
            raise ValueError(
                f"detector {spec.name}: feature {f.name} ({f.agg} of {f.field}) is not supported by evaluate "
                "(sum or value_count of an indicator field, value_count of event_id)"
            )


class _Sums:
    def __init__(self, n: int, n_features: int) -> None:
        self.values = np.zeros((n, n_features))
        self.count = np.zeros(n, dtype=np.int64)

    def add(self, idx: np.ndarray, cols: Sequence[np.ndarray]) -> None:
        n = len(self.count)
        self.count += np.bincount(idx, minlength=n)
        for j, col in enumerate(cols):
            self.values[:, j] += np.bincount(idx, weights=col, minlength=n)


class FeatureAccumulator:
    """Per-interval features of several detectors over ``[start_ms, end_ms)`` (epoch-aligned intervals)."""

    def __init__(self, specs: Sequence[DetectorSpec], start_ms: int, end_ms: int, interval_ms: int) -> None:
        for spec in specs:
            check_supported(spec)
        self.specs = list(specs)
        self.interval_ms = int(interval_ms)
        self.start_ms = int(start_ms) - int(start_ms) % self.interval_ms
        self.n = max(0, (int(end_ms) - self.start_ms) // self.interval_ms)
        self.single: dict[str, _Sums] = {s.name: _Sums(self.n, len(s.features)) for s in specs}
        self.entities: dict[str, dict[str, _Sums]] = {s.name: {} for s in specs if s.is_high_cardinality}

    def add(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Count one batch of raw records (any order; records outside the range are ignored)."""
        if not records:
            return
        t = np.fromiter((record_time_ms(r) for r in records), dtype=np.int64, count=len(records))
        idx = (t - self.start_ms) // self.interval_ms
        inside = (idx >= 0) & (idx < self.n)
        ind = np.array([_indicators(r) for r in records], dtype=np.float64).reshape(len(records), 5)
        for spec in self.specs:
            keep = inside.copy()
            if dict(spec.filter_query) not in _MATCH_ALL:
                keep &= np.fromiter((matches(r, spec.filter_query) for r in records), dtype=bool, count=len(records))
            cols = [_column(f, ind) for f in spec.features]
            if spec.is_high_cardinality:
                self._add_entities(spec, records, keep, idx, cols)
            else:
                self.single[spec.name].add(idx[keep], [c[keep] for c in cols])

    def _add_entities(
        self, spec: DetectorSpec, records: Sequence[Mapping[str, Any]], keep: np.ndarray, idx: np.ndarray, cols
    ) -> None:
        assert spec.category_field is not None
        names = np.array([_entity(r, spec.category_field) for r in records], dtype=object)
        keep = keep & (names != None)  # noqa: E711  (composite terms skip documents without the field)
        table = self.entities[spec.name]
        for value in set(names[keep].tolist()):
            sel = keep & (names == value)
            table.setdefault(value, _Sums(self.n, len(spec.features))).add(idx[sel], [c[sel] for c in cols])

    def series(self, spec: DetectorSpec) -> dict[str, FeatureSeries]:
        """``{"": series}`` for a single-stream detector, ``{entity value: series}`` for an HC one."""
        ds = self.start_ms + self.interval_ms * np.arange(self.n, dtype=np.int64)
        de = ds + self.interval_ms
        names = [f.name for f in spec.features]
        if not spec.is_high_cardinality:
            sums = self.single[spec.name]
            return {"": FeatureSeries(ds, de, sums.values.copy(), names, None, sums.count.copy())}
        assert spec.category_field is not None
        out = {}
        for value in sorted(self.entities[spec.name]):
            sums = self.entities[spec.name][value]
            values = sums.values.copy()
            values[sums.count == 0] = np.nan  # absent from the composite aggregation
            out[value] = FeatureSeries(ds, de, values, names, {spec.category_field: value}, sums.count.copy())
        return out


def _indicators(rec: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    req = rec.get("httpRequest")
    req = req if isinstance(req, Mapping) else {}
    return indicator_values(
        rec.get("action"), rec.get("httpSourceName"), rec.get("httpStatus"), req.get("country"), req.get("httpMethod")
    )


def _column(feature: Feature, ind: np.ndarray) -> np.ndarray:
    if feature.agg == "sum":
        return ind[:, INDICATOR_FIELDS.index(feature.field)]
    return np.ones(len(ind))  # value_count: every record has the field (the transform adds event_id, indicators)


def _entity(rec: Mapping[str, Any], path: str) -> str | None:
    raw = get_path(rec, path)
    return None if raw is None else str(raw)
