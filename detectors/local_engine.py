"""The local AD engine: the catalogue's detectors run through ``offline_rcf`` where there is no AD plugin.

It reproduces what the AD plugin does with the same definitions (shared notes opensearch_ad.md §4, §5, §9) and
writes the same result documents to ``settings.results_index``:

* **real time** (``mode="realtime"``): interval by interval over the epoch-aligned windows in ``[start, end)``
  (the job is taken to fire at each window's end + window delay). A series (the detector, or one entity of an
  HC detector) without a saved model cold-starts on up to ``32 + shingle`` preceding intervals, as AD does, and
  the training results are written too (AD 3.1+). The model is saved in the shared model store
  (:mod:`detectors.engine_models`: S3, so every Dask worker continues it) with a version check, and the next run
  continues it from the first window it has not seen, so overlapping runs do not score an interval twice.
* **historical** (``mode="historical"``): a fresh model per series with AD's batch settings over the
  epoch-aligned intervals, results tagged with a ``task_id``; nothing is saved.

AD semantics kept: single-stream intervals with a missing feature and no imputation give a "No data" error
document and are not scored; an HC entity without documents in a real-time window gets no result unless the
detector imputes (ZERO: it is scored with zeros and ``feature_imputed``); historical intervals without documents
are "No data" error documents unless the detector imputes. Seeds are derived from the detector and entity, so
runs are reproducible (AD's own seeds are random).

Fan-out: :meth:`LocalADEngine.plan` reads a run's features and cuts it into :class:`~detectors.run_report.SeriesJob`
s, :meth:`LocalADEngine.run_series` scores one and writes its documents (a Prefect task on any runner, see
:mod:`tasks.detect`), :func:`~detectors.run_report.finish_report` adds them up; :meth:`LocalADEngine.run` does the
three in this process. A series' documents depend only on its job, so the runner does not change them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np

from detectors.engine_models import entity_file, load_model, model_key, save_model
from detectors.historical_series import historical_documents
from detectors.results import (
    ResultInput,
    ensure_results_index,
    result_document,
    stable_detector_id,
    write_results,
)
from detectors.rules import apply_rules
from detectors.run_report import RunReport, SeriesJob, SeriesOutcome, finish_report
from offline_rcf.model_store import ModelStore, VersionConflict
from wafad.catalogue import DetectorSpec, ad_rules

Mode = Literal["realtime", "historical"]
MIN_TRAIN_SAMPLES = 32  # NUM_MIN_SAMPLES
ZERO_WHEN_EMPTY = frozenset({"sum", "value_count", "cardinality"})
MODEL_WRITE_ATTEMPTS = 3  # a series whose model another writer changed meanwhile is re-scored from that model
__all__ = ["LocalADEngine", "NotEnoughDataError", "RunReport", "SeriesJob", "SeriesOutcome", "local_detector_id"]
Progress = Callable[[str, int, int], None]  # (detector name, series done, series total)


def local_detector_id(spec_or_name: DetectorSpec | str) -> str:
    """The stable id the local engine gives a catalogue detector (AD generates random ones)."""
    name = spec_or_name.name if isinstance(spec_or_name, DetectorSpec) else str(spec_or_name)
    return stable_detector_id(name)


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
        store: ModelStore | None = None,
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
        self._store = store

    @property
    def store(self) -> ModelStore:
        """The shared model store (default: S3, :func:`offline_rcf.model_store.model_store`)."""
        if self._store is None:
            from offline_rcf.model_store import model_store

            self._store = model_store(self.settings)
        return self._store

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
        """Score ``spec`` over the windows in ``[start, end)`` and write its result documents (in this process)."""
        t0 = time.perf_counter()
        report, jobs = self.plan(spec, start, end, mode)
        plan_s = time.perf_counter() - t0
        outcomes = []
        for done, job in enumerate(jobs, 1):
            outcomes.append(self.run_series(spec, job))
            if progress:
                progress(spec.name, done, len(jobs))
        return finish_report(report, outcomes, plan_s)

    def plan(
        self,
        spec: DetectorSpec,
        start: datetime | int,
        end: datetime | int,
        mode: Mode = "realtime",
        *,
        task_id: str | None = None,
    ) -> tuple[RunReport, list[SeriesJob]]:
        """The run's report (counts still zero) and one job per series, in series order; reads the features."""
        if mode not in ("realtime", "historical"):
            raise ValueError(f"mode must be 'realtime' or 'historical', got {mode!r}")
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
            # from the detector and window (AD's are random): a re-run, on any runner, rewrites the same documents
            report.task_id = task_id or f"{_seed(spec.name, str(start_ms), str(end_ms)):08x}{_seed(det_id):08x}"
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
        if not series:
            report.notes.append("no documents in range")
        jobs = [SeriesJob(spec.name, mode, start_ms, key, fs, report.task_id) for key, fs in sorted(series.items())]
        return report, jobs

    def run_series(self, spec: DetectorSpec, job: SeriesJob) -> SeriesOutcome:
        """Score one series and write its result documents; real time: then save its model, version-checked.

        Models are saved only once their results are written, so a failed write is redone by the next run. When
        another writer saved the same model meanwhile (:class:`VersionConflict`), the series is scored again from
        that model (its intervals already scored are skipped); after ``MODEL_WRITE_ATTEMPTS`` the conflict raises.
        """
        t0 = time.perf_counter()
        det_id = local_detector_id(spec)
        fs = job.series
        if job.mode == "historical":
            docs = historical_documents(self, spec, det_id, fs, job.task_id or "")
            written = write_results(self.os, self.settings.results_index, docs) if docs else 0
            return SeriesOutcome.of(job.key, docs, written, time.perf_counter() - t0)
        key = model_key(det_id, fs.entity, self.settings.results_index)
        written, all_docs = 0, []
        for attempt in range(1, MODEL_WRITE_ATTEMPTS + 1):
            det, version = load_model(self.store, key, self.model_path(det_id, fs.entity))
            to_save: list[tuple[Any, Path]] = []
            docs = self._realtime_series(spec, det_id, fs, job.start_ms, to_save, model=det)
            written += write_results(self.os, self.settings.results_index, docs) if docs else 0
            all_docs += docs
            if not to_save:
                return SeriesOutcome.of(job.key, all_docs, written, time.perf_counter() - t0, attempt - 1)
            try:
                save_model(self.store, key, to_save[0][0], version)
            except VersionConflict:
                if attempt == MODEL_WRITE_ATTEMPTS:
                    raise
                continue
            return SeriesOutcome.of(job.key, all_docs, written, time.perf_counter() - t0, attempt)
        raise AssertionError("unreachable")

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
        """Where a model was kept before the model store (and where a warm start leaves one): read if no store copy."""
        return self.models_dir / det_id / f"{entity_file(entity)}.json.gz"

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
        doc = result_document(
            detector_id=det_id,
            feature_names=[f.name for f in spec.features],
            result=result,
            interval_ms=self.interval_ms,
            execution_start_ms=exec_start,
            execution_end_ms=max(exec_start, int(self.clock() * 1000)),
            entity=fs.entity,
            task_id=task_id,
        )
        return apply_rules(doc, ad_rules(spec))  # the detector's AD rules, as the plugin applies them

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
        self,
        spec: DetectorSpec,
        det_id: str,
        fs: Any,
        start_ms: int,
        to_save: list[tuple[Any, Path]],
        *,
        model: Any,
    ) -> list[dict[str, Any]]:
        """The series' documents; ``(model, path)`` appended to ``to_save`` when it scored something.

        ``model``: the saved model to continue (None: cold start, as a new detector does).
        """

        path = self.model_path(det_id, fs.entity)
        docs: list[dict[str, Any]] = []
        values = np.array(fs.values, dtype=np.float64)
        hc = spec.is_high_cardinality
        if model is not None:
            det = model
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
