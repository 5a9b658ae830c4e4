"""Offline scoring: a catalogue detector replayed over raw WAF records (files or memory), no OpenSearch needed.

Features come from :func:`offline_rcf.record_features.features_from_records` (historical, epoch-aligned buckets), the
model is the replica set up as AD's historical analysis sets it up (``ad_profile(mode="historical")``), and
intervals follow AD's rules: single-stream intervals with missing features get no score unless the detector
imputes; absent HC entities get none either, or zeros with ``imputation="ZERO"`` once the model exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from offline_rcf.engine import EngineName, ad_profile
from offline_rcf.record_features import features_from_records, features_from_records_by_entity
from offline_rcf.record_query import load_records, record_time_ms
from offline_rcf.series import FeatureSeries
from wafad.catalogue import DetectorSpec

RECORD_SUFFIXES = (".gz", ".json", ".jsonl", ".log", ".ndjson")


def record_files(paths: Iterable[str | Path]) -> list[Path]:
    """The record files among ``paths``; folders are searched recursively."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(RECORD_SUFFIXES)))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return out


def score_series(
    series: FeatureSeries,
    spec: DetectorSpec,
    *,
    seed: int | None = 0,
    engine: EngineName = "jvm",
    shingle_size: int = 8,
) -> list[dict[str, Any]]:
    """Score one feature series in time order; one dict per scored interval (AD result terms)."""
    from offline_rcf.detector import TRCFDetector

    cfg = ad_profile(len(series.feature_names), mode="historical", shingle_size=shingle_size, seed=seed)
    if spec.imputation is not None:
        cfg = dataclasses.replace(cfg, imputation=spec.imputation)
    det = TRCFDetector(cfg, engine=engine, feature_names=series.feature_names)
    absent = np.zeros(len(series), bool) if series.doc_count is None else series.doc_count == 0
    out = []
    for i, (start, end, row) in enumerate(series.rows()):
        missing = np.isnan(row)
        if spec.is_high_cardinality and absent[i]:
            if spec.imputation != "ZERO" or det.n_processed_ == 0:
                continue
            row = np.zeros_like(row)
        elif missing.all() or (missing.any() and spec.imputation is None):
            continue  # AD: "No data in current detection window"
        elif missing.any() and spec.imputation == "ZERO":
            row = np.where(missing, 0.0, row)
        r = det.process_one(row, end // 1000)
        out.append(
            {
                "data_start_time": start,
                "data_end_time": end,
                "entity": series.entity,
                "features": dict(zip(series.feature_names, (float(v) for v in row), strict=True)),
                "anomaly_score": r.score,
                "anomaly_grade": r.grade,
                "confidence": r.confidence,
                "threshold": r.threshold,
                "relevant_attribution": None
                if r.attribution is None
                else dict(zip(series.feature_names, r.attribution, strict=True)),
                "expected_values": None
                if r.expected is None
                else dict(zip(series.feature_names, r.expected, strict=True)),
            }
        )
    return out


def score_records(
    records: Iterable[Mapping[str, Any]] | Iterable[str | Path],
    spec: DetectorSpec,
    *,
    start: datetime | int | None = None,
    end: datetime | int | None = None,
    interval: timedelta = timedelta(minutes=1),
    seed: int | None = 0,
    engine: EngineName = "jvm",
    shingle_size: int = 8,
) -> list[dict[str, Any]]:
    """Replay ``spec`` over records (or record files); ``start``/``end`` default to the records' time span."""
    items = list(records)
    if items and all(isinstance(r, (str, Path)) for r in items):
        items = list(load_records(record_files(items)))  # type: ignore[arg-type]
    if not items:
        return []
    if start is None or end is None:
        times = [record_time_ms(r) for r in items]  # type: ignore[arg-type]
        iv = int(interval.total_seconds() * 1000)
        start = min(times) if start is None else start
        end = (max(times) // iv + 1) * iv if end is None else end
    if spec.is_high_cardinality:
        per_entity = features_from_records_by_entity(items, spec, start, end, interval)  # type: ignore[arg-type]
        rows = [
            r
            for s in per_entity.values()
            for r in score_series(s, spec, seed=seed, engine=engine, shingle_size=shingle_size)
        ]
        return sorted(rows, key=lambda r: (r["data_end_time"], str(r["entity"])))
    series = features_from_records(items, spec, start, end, interval)  # type: ignore[arg-type]
    return score_series(series, spec, seed=seed, engine=engine, shingle_size=shingle_size)
