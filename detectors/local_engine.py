"""The local AD engine: the catalogue's detectors run through ``offline_rcf`` where there is no AD plugin.

It reproduces what the AD plugin does with the same definitions (shared notes opensearch_ad.md §4, §5, §9) and
writes the same result documents to ``settings.results_index``:

* **real time** (``mode="realtime"``): interval by interval over the epoch-aligned windows in ``[start, end)``
  (the job is taken to fire at each window's end + window delay). A series (the detector, or one entity of an
  HC detector) without a saved model cold-starts on up to ``32 + shingle`` preceding intervals, as AD does, and
  the training results are written too (AD 3.1+). The model is saved under ``state_dir/models`` and the next run
  continues it from the first window it has not seen, so overlapping runs do not score an interval twice.
* **historical** (``mode="historical"``): a fresh model per series with AD's batch settings over the
  epoch-aligned intervals, results tagged with a ``task_id``; nothing is saved.

AD semantics kept: single-stream intervals with a missing feature and no imputation give a "No data" error
document and are not scored; an HC entity without documents in a real-time window gets no result unless the
detector imputes (ZERO: it is scored with zeros and ``feature_imputed``); historical intervals without documents
are "No data" error documents unless the detector imputes. Seeds are derived from the detector and entity, so
runs are reproducible (AD's own seeds are random).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np

from detectors.results import (
    ResultInput,
    ensure_results_index,
    result_document,
    stable_detector_id,
    write_results,
)
from wafad.catalogue import DetectorSpec

Mode = Literal["realtime", "historical"]
MIN_TRAIN_SAMPLES = 32  # NUM_MIN_SAMPLES
ZERO_WHEN_EMPTY = frozenset({"sum", "value_count", "cardinality"})
Progress = Callable[[str, int, int], None]  # (detector name, series done, series total)


def local_detector_id(spec_or_name: DetectorSpec | str) -> str:
    """The stable id the local engine gives a catalogue detector (AD generates random ones)."""
    name = spec_or_name.name if isinstance(spec_or_name, DetectorSpec) else str(spec_or_name)
    return stable_detector_id(name)


@dataclass
class RunReport:
    """What one detector run did."""

    detector: str
    detector_id: str
    mode: str
    engine: str  # "local" | "plugin"
    start: str
    end: str
    intervals: int = 0  # windows in range
    entities: int = 0  # series scored (1 for single-stream)
    results_written: int = 0
    anomalies: int = 0  # results with grade > 0
    errors: int = 0  # "No data" error results
    task_id: str | None = None
    state: str | None = None  # plugin: profile/task state
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


class NotEnoughDataError(ValueError):
    """Historical analysis needs at least 32 intervals (AD: "There is not enough data to train model")."""


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _to_ms(t: datetime | int) -> int:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return int(t.timestamp() * 1000)
    return int(t)


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:4], "big") & 0x7FFFFFFF


def _entity_file(entity: Mapping[str, str] | None) -> str:
    if not entity:
        return "single"
    key = "|".join(f"{k}={entity[k]}" for k in sorted(entity))
    return "entity-" + hashlib.sha1(key.encode()).hexdigest()[:20]


class LocalADEngine:
    """Runs catalogue detectors with ``offline_rcf`` and writes AD result documents."""

    def __init__(
        self,
        settings: Any,
        os_client: Any,
        *,
        engine: Literal["jvm", "native"] = "jvm",
        history: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.os = os_client
        self.engine = engine
        self.shingle = int(settings.shingle_size)
        self.history = history if history is not None else MIN_TRAIN_SAMPLES + self.shingle  # AD default history
        self.interval = timedelta(minutes=int(settings.detector_interval_minutes))
        self.interval_ms = int(self.interval.total_seconds() * 1000)
        self.index_pattern = f"{settings.index_prefix}-*"
        self.models_dir = Path(settings.state_dir) / "models"
        self.clock = clock

    # --- public -----------------------------------------------------------------------------
    def run(
        self,
        spec: DetectorSpec,
        start: datetime | int,
        end: datetime | int,
        mode: Mode = "realtime",
        *,
        progress: Progress | None = None,
    ) -> RunReport:
        """Score ``spec`` over the windows in ``[start, end)`` and write its result documents."""
        if mode not in ("realtime", "historical"):
            raise ValueError(f"mode must be 'realtime' or 'historical', got {mode!r}")
        t0 = time.perf_counter()
        start_ms, end_ms = _to_ms(start), _to_ms(end)
        start_ms -= start_ms % self.interval_ms
        end_ms -= end_ms % self.interval_ms
        if end_ms <= start_ms:
            raise ValueError(f"empty range: {_iso(start_ms)} .. {_iso(end_ms)} holds no {self.interval} interval")
        det_id = local_detector_id(spec)
        report = RunReport(spec.name, det_id, mode, "local", _iso(start_ms), _iso(end_ms))
        report.intervals = (end_ms - start_ms) // self.interval_ms
        ensure_results_index(self.os, self.settings.results_index)
        if mode == "historical":
            if report.intervals < MIN_TRAIN_SAMPLES:
                raise NotEnoughDataError(
                    f"historical analysis of {spec.name} needs at least {MIN_TRAIN_SAMPLES} intervals, "
                    f"got {report.intervals} (AD: There is not enough data to train model)"
                )
            report.task_id = uuid.uuid4().hex[:20]
            fetch_from = start_ms
        else:
            # cold-start history: up to `history` intervals back, bounded by the earliest document (AD's
            # getMinDataTime), so the intervals before the data begins do not train the model on zeros
            fetch_from = start_ms - self.history * self.interval_ms
            earliest = self._earliest_data_ms(spec)
            if earliest is not None and earliest > fetch_from:
                fetch_from = min(start_ms, earliest - earliest % self.interval_ms)
        series = self._features(spec, fetch_from, end_ms)
        report.entities = len(series)
        to_save: list[tuple[Any, Path]] = []
        # osmem indexes while the JVM scores the next series: one background writer overlaps the two
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ad-results") as writer:
            pending = []
            for done, (_entity, fs) in enumerate(sorted(series.items()), 1):
                docs = (
                    self._historical_series(spec, det_id, fs, report.task_id or "")
                    if mode == "historical"
                    else self._realtime_series(spec, det_id, fs, start_ms, to_save)
                )
                if docs:
                    pending.append(writer.submit(write_results, self.os, self.settings.results_index, docs))
                    report.anomalies += sum(1 for d in docs if (d.get("anomaly_grade") or 0) > 0)
                    report.errors += sum(1 for d in docs if d.get("error"))
                if progress:
                    progress(spec.name, done, len(series))
            for future in pending:
                report.results_written += future.result()  # raises ResultWriteError: models stay unsaved
        # models are saved only once their results are written, so a failed write is redone by the next run
        for det, path in to_save:
            det.save(path)
        if not series:
            report.notes.append("no documents in range")
        report.elapsed_s = round(time.perf_counter() - t0, 3)
        return report

    # --- data -------------------------------------------------------------------------------
    def _features(self, spec: DetectorSpec, start_ms: int, end_ms: int) -> dict[str, Any]:
        from offline_rcf.feature_queries import feature_series, feature_series_by_entity

        if spec.is_high_cardinality:
            return dict(feature_series_by_entity(self.os, spec, self.index_pattern, start_ms, end_ms, self.interval))
        return {"": feature_series(self.os, spec, self.index_pattern, start_ms, end_ms, self.interval)}

    def _earliest_data_ms(self, spec: DetectorSpec) -> int | None:
        from wafad.catalogue import TIME_FIELD

        body = {"size": 0, "query": dict(spec.filter_query), "aggs": {"t": {"min": {"field": TIME_FIELD}}}}
        resp = self.os.search(index=self.index_pattern, body=body, params={"ignore_unavailable": "true"})
        value = (resp.get("aggregations") or {}).get("t", {}).get("value")
        return int(value) if value is not None else None

    # --- models -----------------------------------------------------------------------------
    def _config(self, spec: DetectorSpec, mode: Mode, entity: Mapping[str, str] | None) -> Any:
        from offline_rcf.engine import ad_profile

        cfg = ad_profile(
            len(spec.features),
            mode=mode,
            shingle_size=self.shingle,
            seed=_seed(spec.name, json.dumps(entity or {}, sort_keys=True), mode),
        )
        return dataclasses.replace(cfg, imputation=spec.imputation or "PREVIOUS", bbox_cache_fraction=1.0)

    def model_path(self, det_id: str, entity: Mapping[str, str] | None) -> Path:
        return self.models_dir / det_id / f"{_entity_file(entity)}.json.gz"

    def _new_detector(self, spec: DetectorSpec, mode: Mode, entity: Mapping[str, str] | None) -> Any:
        from offline_rcf import TRCFDetector

        return TRCFDetector(
            self._config(spec, mode, entity),
            engine=self.engine,
            feature_names=[f.name for f in spec.features],
            interval_seconds=self.interval_ms // 1000,
        )

    # --- scoring ----------------------------------------------------------------------------
    def _score(
        self,
        det: Any,
        spec: DetectorSpec,
        det_id: str,
        fs: Any,
        i: int,
        values: np.ndarray,
        *,
        imputed: list[bool] | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        exec_start = int(self.clock() * 1000)
        r = det.process_one([float(v) for v in values], t=int(fs.data_end[i]) // 1000)
        result = ResultInput(
            data_start_ms=int(fs.data_start[i]),
            data_end_ms=int(fs.data_end[i]),
            values=[float(v) for v in values],
            score=float(r.score),
            grade=float(max(0.0, r.grade)),
            confidence=float(min(1.0, r.confidence)),
            threshold=float(r.threshold),
            attribution=r.attribution,
            expected=r.expected,
            past_values=r.past_values,
            relative_index=int(r.relative_index),
            imputed=imputed,
        )
        return result_document(
            detector_id=det_id,
            feature_names=[f.name for f in spec.features],
            result=result,
            interval_ms=self.interval_ms,
            execution_start_ms=exec_start,
            execution_end_ms=max(exec_start, int(self.clock() * 1000)),
            entity=fs.entity,
            task_id=task_id,
        )

    def _error_doc(
        self, spec: DetectorSpec, det_id: str, fs: Any, i: int, message: str, task_id: str | None = None
    ) -> dict[str, Any]:
        now = int(self.clock() * 1000)
        return result_document(
            detector_id=det_id,
            feature_names=[f.name for f in spec.features],
            result=ResultInput(
                data_start_ms=int(fs.data_start[i]),
                data_end_ms=int(fs.data_end[i]),
                values=[math.nan] * len(spec.features),
                error=message,
            ),
            interval_ms=self.interval_ms,
            execution_start_ms=now,
            execution_end_ms=now,
            entity=fs.entity,
            task_id=task_id,
            with_model_id=False,
        )

    def _zero_fill(self, spec: DetectorSpec) -> bool:
        return all(f.agg in ZERO_WHEN_EMPTY for f in spec.features)

    def _realtime_series(
        self, spec: DetectorSpec, det_id: str, fs: Any, start_ms: int, to_save: list[tuple[Any, Path]]
    ) -> list[dict[str, Any]]:
        from offline_rcf import TRCFDetector

        path = self.model_path(det_id, fs.entity)
        docs: list[dict[str, Any]] = []
        values = np.array(fs.values, dtype=np.float64)
        hc = spec.is_high_cardinality
        if path.exists():
            det = TRCFDetector.load(path)
            first_new = (det.last_t_ or 0) * 1000  # data_end of the last interval it scored
            live = [i for i in range(len(fs)) if int(fs.data_start[i]) >= max(start_ms, first_new)]
            history: list[int] = []
        else:
            det = self._new_detector(spec, "realtime", fs.entity)
            live = [i for i in range(len(fs)) if int(fs.data_start[i]) >= start_ms]
            history = [i for i in range(len(fs)) if int(fs.data_start[i]) < start_ms]
        # cold start: AD's training query uses date_range buckets with the entity filter, so an empty interval of
        # a count feature is 0 there; vectors with NaN are dropped
        seen = [i for i in history if not np.isnan(values[i]).all()]
        history = [i for i in history if seen and i >= seen[0]]  # an entity's history starts when it appears
        for i in history:
            row = values[i]
            if np.isnan(row).any() and hc and self._zero_fill(spec):
                row = np.nan_to_num(row, nan=0.0)
            if np.isnan(row).any():
                continue
            docs.append(self._score(det, spec, det_id, fs, i, row))
        for i in live:
            row = values[i]
            missing = np.isnan(row)
            if missing.all() and hc:
                if spec.imputation == "ZERO" and det.n_processed_ > 0:
                    docs.append(self._score(det, spec, det_id, fs, i, np.zeros_like(row), imputed=[True] * len(row)))
                continue  # AD: an absent entity has no result
            if missing.any() and spec.imputation is None:
                docs.append(
                    self._error_doc(
                        spec,
                        det_id,
                        fs,
                        i,
                        f"No data in current window between {int(fs.data_start[i])} and {int(fs.data_end[i])} "
                        f"for {det_id}",
                    )
                )
                continue
            if missing.any() and spec.imputation == "ZERO":
                row = np.where(missing, 0.0, row)
            docs.append(self._score(det, spec, det_id, fs, i, row, imputed=list(missing) if missing.any() else None))
        if docs and det.n_processed_ > 0:
            to_save.append((det, path))
        return docs

    def _historical_series(self, spec: DetectorSpec, det_id: str, fs: Any, task_id: str) -> list[dict[str, Any]]:
        det = self._new_detector(spec, "historical", fs.entity)
        docs: list[dict[str, Any]] = []
        values = np.array(fs.values, dtype=np.float64)
        counts = fs.doc_count if fs.doc_count is not None else np.ones(len(fs), dtype=np.int64)
        for i in range(len(fs)):
            row = values[i]
            absent = int(counts[i]) == 0 or np.isnan(row).all()  # composite buckets skip empty intervals
            if absent:
                if spec.imputation == "ZERO" and det.n_processed_ > 0:
                    docs.append(
                        self._score(
                            det, spec, det_id, fs, i, np.zeros_like(row), imputed=[True] * len(row), task_id=task_id
                        )
                    )
                elif spec.imputation is None and (not spec.is_high_cardinality or det.n_processed_ > 0):
                    docs.append(self._error_doc(spec, det_id, fs, i, "No data in current detection window", task_id))
                continue
            missing = np.isnan(row)
            if missing.any() and spec.imputation == "ZERO":
                row = np.where(missing, 0.0, row)
            docs.append(
                self._score(
                    det, spec, det_id, fs, i, row, imputed=list(missing) if missing.any() else None, task_id=task_id
                )
            )
        return docs
