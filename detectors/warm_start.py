"""Warm start: a real-time detector created now on a stream with history alerts within minutes, not an hour.

Why it is needed. A model's AD confidence grows with the points its forest has seen: with time decay
λ = 1/2560 and the forest's ``outputAfter`` of 25 (shingle 8) it is about ``dataQuality · (N − 25) / N`` for
N ≪ 2560 (shared notes opensearch_ad.md §3.5). AD's own cold start trains on ``32 + shingle`` = 40 intervals, so
a new detector reports confidence 0.34 at its first real-time result and needs ~51 more intervals before it
reaches 0.7, the confidence OpenSearch Alerting's default AD trigger (and wafad's demo) asks for. Measured with the
local engine on a simulated 2.5 req/s stream, the same for all six demo detectors: cold 0.344 at start and 0.7
after 51 min; warmed on 1 h 0.552 (0.7 after 31 min); 2 h 0.773, 3 h 0.849, 4 h 0.888 (0.7 at the first result).

What it does. :func:`warm_start` computes the detector's features over the ``hours`` before ``start`` (from the
index, or from the raw records in S3 or a folder: the same features either way), feeds them to a fresh real-time
model built exactly as the local engine builds it (same AD profile, same seed) with the real-time path's rules
for missing data (:func:`realtime_row`), and saves it in the engine's model store (``detectors.engine_models``,
only where no model is stored yet): the engine's next real-time run continues from it as if it had scored those
hours itself. A series that already has a model is
left alone (its state is never overwritten). Nothing is written to the results index: the history is context,
not detections. ``WAFAD_WARM_START_HOURS`` (``settings.warm_start_hours``) sets the default length.

On the AD plugin (AWS) a model's state cannot be handed in: the plugin cold-starts on its own (40 intervals), and
a historical analysis trains a separate, throw-away model. There, run a historical analysis over the previous
hours to see what the detector would have flagged, and accept ~50 minutes (at 1-minute intervals, after the
plugin's 40-interval cold start) before confidence-gated alerts can fire (see the README).

For evaluations (``wafad evaluate``), :func:`intervals_to_confidence` is the cold-start time metric: the number of
real-time intervals from a detector's start until its first result with confidence ≥ a threshold.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from detectors.engine_models import load_model, model_key, save_model
from detectors.results import stable_detector_id
from offline_rcf.model_store import VersionConflict
from wafad.catalogue import DetectorSpec

#: Where the history comes from: the detector's index (what the engine itself reads), or raw WAF logs: ``s3``
#: (the configured bucket and log prefix), ``s3://bucket/prefix`` or a folder.
INDEX_SOURCE = "index"
DEFAULT_THRESHOLD = 0.7  # OpenSearch Alerting's default AD trigger


class RealtimeEngine(Protocol):
    """The part of :class:`detectors.local_engine.LocalADEngine` warm start uses (no import: no cycle)."""

    settings: Any
    os: Any
    interval_ms: int

    def _features(self, spec: DetectorSpec, start_ms: int, end_ms: int) -> dict[str, Any]: ...

    def _new_detector(self, spec: DetectorSpec, mode: Any, entity: Mapping[str, str] | None) -> Any: ...

    @property
    def store(self) -> Any: ...  # the shared model store (offline_rcf.model_store)

    def model_path(self, det_id: str, entity: Mapping[str, str] | None) -> Path: ...  # models before the store


@dataclass
class WarmStartReport:
    """What one detector's warm start did."""

    detector: str
    detector_id: str
    source: str
    history_start: str
    history_end: str
    series: int = 0  # models warmed and handed over
    kept: int = 0  # series that already had a model (left as they were)
    intervals: int = 0  # history intervals fed, all series together
    confidence: float | None = None  # the lowest confidence among the handed-over models (their last result)
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _ms(t: datetime | int) -> int:
    if isinstance(t, datetime):
        return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp() * 1000)
    return int(t)


def intervals_to_confidence(confidences: Iterable[float], threshold: float = DEFAULT_THRESHOLD) -> int | None:
    """The cold-start time in intervals: results before the first one with ``confidence >= threshold``.

    ``confidences`` are a detector's real-time results in time order from its start (0: the first result is
    already confident enough; None: none is). Multiply by the detection interval for minutes.

    >>> intervals_to_confidence([0.3, 0.5, 0.72, 0.8]), intervals_to_confidence([0.9]), intervals_to_confidence([0.1])
    (2, 0, None)
    """
    for n, c in enumerate(confidences):
        if c is not None and float(c) >= threshold:
            return n
    return None


def realtime_row(spec: DetectorSpec, row: np.ndarray, n_processed: int) -> np.ndarray | None:
    """The vector the real-time path scores for one interval's features, or None when it scores nothing.

    AD's rules (the local engine's live path): an HC entity without documents is skipped unless the detector
    imputes ZERO and its model exists; a missing feature without imputation is a "No data" interval; ZERO
    imputation fills zeros; PREVIOUS leaves the NaN for the forest to impute.
    """
    missing = np.isnan(row)
    if missing.all() and spec.is_high_cardinality:
        return np.zeros_like(row) if spec.imputation == "ZERO" and n_processed > 0 else None
    if missing.any() and spec.imputation is None:
        return None
    if missing.any() and spec.imputation == "ZERO":
        return np.where(missing, 0.0, row)
    return row


def warm_model(det: Any, spec: DetectorSpec, series: Any, *, until_ms: int | None = None) -> list[Any]:
    """Feed ``series``' intervals (those starting before ``until_ms``) to ``det`` as real time would score them.

    The history starts at the first interval with documents (AD's earliest-data bound; an HC entity's history
    starts when it appears). Returns the ScoreResults in time order.
    """
    values = np.asarray(series.values, dtype=np.float64)
    counts = series.doc_count if series.doc_count is not None else (~np.isnan(values).all(axis=1)).astype(np.int64)
    with_docs = np.flatnonzero(np.asarray(counts) > 0)
    if len(with_docs) == 0:
        return []
    out = []
    for i in range(int(with_docs[0]), len(series)):
        if until_ms is not None and int(series.data_start[i]) >= until_ms:
            break
        row = realtime_row(spec, values[i], det.n_processed_)
        if row is not None:
            out.append(det.process_one([float(v) for v in row], t=int(series.data_end[i]) // 1000))
    return out


def _record_features(engine: RealtimeEngine, spec: DetectorSpec, source: str, lo: int, hi: int) -> dict[str, Any]:
    """Features from raw WAF logs (``s3``, ``s3://bucket/prefix`` or a folder), as the index would give them."""
    from offline_rcf.record_features import features_from_records, features_from_records_by_entity
    from offline_rcf.record_query import load_records
    from queries.source import fetch_objects, list_objects, parse_source

    settings = engine.settings
    src = parse_source(None if source == "s3" else source, settings)
    start, end = datetime.fromtimestamp(lo / 1000, UTC), datetime.fromtimestamp(hi / 1000, UTC)
    interval = timedelta(milliseconds=engine.interval_ms)
    with tempfile.TemporaryDirectory(prefix="wafad-warm-") as tmp:
        paths = fetch_objects(src, list_objects(src, settings, start, end), Path(tmp), settings)
        records = list(load_records(paths))
    if spec.is_high_cardinality:
        return dict(features_from_records_by_entity(records, spec, lo, hi, interval))
    return {"": features_from_records(records, spec, lo, hi, interval)}


def warm_start(
    engine: RealtimeEngine,
    spec: DetectorSpec,
    start: datetime | int,
    *,
    hours: float | None = None,
    source: str = INDEX_SOURCE,
    threshold: float = DEFAULT_THRESHOLD,
) -> WarmStartReport:
    """Warm ``spec``'s real-time models on the ``hours`` before ``start`` and hand them to ``engine``.

    ``hours`` defaults to ``settings.warm_start_hours``; ``source`` is ``index`` or raw logs (see INDEX_SOURCE).
    Series that already have a saved model keep it. The engine's next ``run(spec, start, ...)`` in real time
    continues from the handed-over models.
    """
    t0 = time.perf_counter()
    hours = float(engine.settings.warm_start_hours if hours is None else hours)
    if hours < 0:
        raise ValueError(f"warm start hours must be >= 0, got {hours}")
    iv = engine.interval_ms
    hi = _ms(start) - _ms(start) % iv
    lo = hi - int(hours * 3_600_000) // iv * iv
    det_id = stable_detector_id(spec.name)
    report = WarmStartReport(spec.name, det_id, source, _iso(lo), _iso(hi))
    if hi <= lo:
        report.notes.append("no history asked for: AD's own cold start applies")
        return report
    series = (
        engine._features(spec, lo, hi) if source == INDEX_SOURCE else _record_features(engine, spec, source, lo, hi)
    )
    confidences: list[float] = []
    for _key, fs in sorted(series.items()):
        key = model_key(det_id, fs.entity, engine.settings.results_index)  # as LocalADEngine.run_series keys it
        existing, _version = load_model(engine.store, key, engine.model_path(det_id, fs.entity))
        if existing is not None:
            report.kept += 1
            continue
        det = engine._new_detector(spec, "realtime", fs.entity)
        results = warm_model(det, spec, fs, until_ms=hi)
        if not results:
            continue
        try:
            save_model(engine.store, key, det, None)  # only if still absent: a model saved meanwhile wins
        except VersionConflict:
            report.kept += 1
            continue
        report.series += 1
        report.intervals += len(results)
        confidences.append(min(1.0, float(results[-1].confidence)))
        ready = intervals_to_confidence((r.confidence for r in results), threshold)
        if ready is None and not spec.is_high_cardinality:
            report.notes.append(
                f"{len(results)} history intervals leave confidence at {confidences[-1]:.2f} (< {threshold}): "
                "alerts gated on it wait for more data"
            )
    report.confidence = round(min(confidences), 4) if confidences else None
    if not series or report.series + report.kept == 0:
        report.notes.append("no documents in the history: AD's own cold start applies")
    report.elapsed_s = round(time.perf_counter() - t0, 3)
    return report


def warm_start_detectors(
    settings: Any,
    start: datetime | int,
    *,
    detectors: Sequence[str] | None = None,
    hours: float | None = None,
    source: str = INDEX_SOURCE,
    os_client: Any = None,
) -> list[WarmStartReport]:
    """Warm start the named catalogue detectors (all when empty) with the local engine; one report each.

    With the AD plugin there is nothing to hand over: returns an empty list (the plugin cold-starts itself).
    """
    if settings.uses_ad_plugin:
        return []
    from detectors.local_engine import LocalADEngine
    from wafad.catalogue import DETECTORS, get_detector
    from wafad.clients import opensearch_client

    engine = LocalADEngine(settings, os_client or opensearch_client(settings))
    specs = [get_detector(n) for n in detectors] if detectors else list(DETECTORS)
    return [warm_start(engine, spec, start, hours=hours, source=source) for spec in specs]


def cold_start_minutes(
    os_client: Any, results_index: str, detector_ids: Mapping[str, str], start: datetime | int, threshold: float
) -> dict[str, float | None]:
    """Measured cold-start time per detector name: minutes from ``start`` to its first real-time result with
    ``confidence >= threshold`` (any entity of an HC detector; None when none has it yet)."""
    from detectors.results import search_result_docs

    t0 = _ms(start)
    out: dict[str, float | None] = {}
    for name, det_id in detector_ids.items():
        docs = search_result_docs(
            os_client, results_index, detector_id=det_id, start_ms=t0, time_field="data_start_time"
        )
        first = next((d for d in docs if not d.get("error") and float(d.get("confidence") or 0) >= threshold), None)
        out[name] = None if first is None else round((int(first["data_start_time"]) - t0) / 60_000, 1)
    return out
