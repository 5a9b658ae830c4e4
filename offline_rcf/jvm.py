"""The reference engine: AWS's ThresholdedRandomCutForest (randomcutforest 4.3.0 from the PyPI ``jrcf`` jars) via JPype.

The builder chain is the one the OpenSearch AD plugin uses (``ADColdStart.trainModelFromDataSegments``,
``EntityColdStarterTests.diffTesting``), driven by a :class:`~offline_rcf.engine.ForestConfig`. One JVM per
process: :func:`ensure_jvm` starts it on first use (through ``import jrcf``, which puts the bundled jars on the
class path) and reuses a JVM that ``import jrcf`` already started.

Nothing here starts the JVM at import time.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from offline_rcf.engine import ForestConfig, ScoreResult

JAVA_INSTALL_HINT = (
    "install a Java runtime (>= 11), e.g. `apt-get install openjdk-17-jre-headless`, or point JAVA_HOME at one"
)
_TRCF_CLASS = "com.amazon.randomcutforest.parkservices.ThresholdedRandomCutForest"
_lock = threading.Lock()


class JavaUnavailableError(RuntimeError):
    """No usable JVM (Java missing, or the randomcutforest jars are not on the JVM class path)."""


def jrcf_lib_dir() -> Path:
    """Folder holding the randomcutforest/jackson jars of the installed ``jrcf`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("jrcf")
    if spec is None or not spec.submodule_search_locations:
        raise JavaUnavailableError("the PyPI package `jrcf` (AWS randomcutforest 4.3.0 jars) is not installed")
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    if not any(lib.glob("randomcutforest-parkservices-*.jar")):
        raise JavaUnavailableError(f"no randomcutforest-parkservices jar in {lib}; reinstall `jrcf`")
    return lib


def _check_java_present() -> None:
    import jpype

    try:
        jpype.getDefaultJVMPath()
    except (jpype.JVMNotFoundException, jpype.JVMNotSupportedException) as exc:
        java = shutil.which("java")
        where = f" (found `{java}` on PATH but no usable libjvm)" if java else ""
        raise JavaUnavailableError(f"no Java runtime found{where}: {JAVA_INSTALL_HINT}") from exc


def ensure_jvm() -> None:
    """Start the JVM with the jrcf jars once per process; idempotent and thread-safe.

    Started through ``import jrcf`` so that a later ``import jrcf`` elsewhere keeps working (jrcf starts the
    JVM as an import side effect and fails if someone else started it). A JVM already started by
    ``import jrcf`` is reused; one started by other code must have the jars on its class path.
    """
    with _lock:
        import jpype
        import jpype.imports  # enables `from com.amazon... import ...`

        if not jpype.isJVMStarted():
            import jpype.config

            # A JVM started from a worker thread (task runners) makes JPype's exit-time shutdown wait forever for
            # that thread's attachment: the process never exits. Let the OS reclaim the JVM at exit instead.
            jpype.config.destroy_jvm = False
            jrcf_lib_dir()
            _check_java_present()
            if "jrcf" in sys.modules:  # imported but its JVM was shut down: cannot restart in this process
                raise JavaUnavailableError("the JVM was shut down in this process; JPype cannot restart it")
            import jrcf  # noqa: F401  (starts the JVM with jrcf/lib/* on the class path)
        try:
            jpype.JClass(_TRCF_CLASS)
        except Exception as exc:  # JVM started by someone else without the jars
            raise JavaUnavailableError(
                f"the JVM is running but {_TRCF_CLASS} is not on its class path; start it with "
                f"classpath=[{str(jrcf_lib_dir() / '*')!r}] or `import jrcf` before starting it"
            ) from exc


def build_trcf(config: ForestConfig) -> Any:
    """A ``ThresholdedRandomCutForest`` built exactly as AD builds its models (opensearch_ad.md §2.2)."""
    ensure_jvm()
    from com.amazon.randomcutforest.config import ForestMode, ImputationMethod, Precision, TransformMethod
    from com.amazon.randomcutforest.parkservices import ThresholdedRandomCutForest
    from jpype.types import JArray, JDouble

    c = config
    if c.base_dims < 1 or c.shingle_size < 1:
        raise ValueError(f"base_dims and shingle_size must be >= 1, got {c.base_dims}, {c.shingle_size}")
    b = (
        ThresholdedRandomCutForest.builder()
        .dimensions(c.dimensions)
        .sampleSize(c.sample_size)
        .numberOfTrees(c.num_trees)
        .timeDecay(float(c.time_decay))
    )
    if c.transform_decay is not None:
        b = b.transformDecay(float(c.transform_decay))
    b = (
        b.outputAfter(c.output_after)
        .initialAcceptFraction(float(c.initial_accept_fraction))
        .parallelExecutionEnabled(False)
        .compact(True)
        .precision(Precision.FLOAT_32)
        .boundingBoxCacheFraction(float(c.bbox_cache_fraction))
        .shingleSize(c.shingle_size)
        .internalShinglingEnabled(True)
        .anomalyRate(float(c.anomaly_rate))
        .transformMethod(TransformMethod.NORMALIZE if c.normalize else TransformMethod.NONE)
    )
    if c.alert_once:
        b = b.alertOnce(True)
    if c.auto_adjust:
        b = b.autoAdjust(True)
    if c.streaming_impute and c.shingle_size > 1:
        b = b.forestMode(ForestMode.STREAMING_IMPUTE).imputationMethod(getattr(ImputationMethod, c.imputation))
    else:
        b = b.forestMode(ForestMode.STANDARD)
    if c.ignore_near_expected_ratio is not None:
        ratios = JArray(JDouble)([float(c.ignore_near_expected_ratio)] * c.base_dims)
        b = b.ignoreNearExpectedFromAboveByRatio(ratios).ignoreNearExpectedFromBelowByRatio(ratios)
    if c.seed is not None:
        b = b.randomSeed(int(c.seed))
    return b.build()


def _floats(values: Any) -> tuple[float, ...] | None:
    if values is None:
        return None
    return tuple(float(v) for v in values)


def descriptor_to_result(d: Any) -> ScoreResult:
    """AD's mapping of an ``AnomalyDescriptor`` (``ModelUtil.toResult`` + ``AnomalyResult.fromRawTRCFResult``)."""
    grade = max(0.0, float(d.getAnomalyGrade()))
    attribution = expected = past = None
    if grade > 0:
        raw = _floats(d.getRelevantAttribution())
        if raw is not None:
            total = sum(raw)
            attribution = tuple(v / total for v in raw) if total > 0 else raw
        rows = d.getExpectedValuesList()
        if rows is not None and len(rows) > 0:
            expected = _floats(rows[0])
        past = _floats(d.getPastValues())
    return ScoreResult(
        score=float(d.getRCFScore()),
        grade=grade,
        confidence=min(1.0, float(d.getDataConfidence())),
        threshold=float(d.getThreshold()),
        attribution=attribution,
        expected=expected,
        past_values=past,
        relative_index=int(d.getRelativeIndex()),
        total_updates=int(d.getTotalUpdates()),
    )


def point_and_missing(
    point: Sequence[float], base_dims: int, missing: Sequence[int] | None = None
) -> tuple[np.ndarray, list[int]]:
    """The point as float64 with NaN replaced by 0, and the sorted missing indices (given ones plus NaNs)."""
    arr = np.asarray(point, dtype=np.float64).reshape(-1)
    if arr.shape[0] != base_dims:
        raise ValueError(f"expected a point of {base_dims} values, got {arr.shape[0]}")
    gaps = set(int(i) for i in missing) if missing is not None else set()
    if any(i < 0 or i >= base_dims for i in gaps):
        raise ValueError(f"missing indices {sorted(gaps)} out of range for {base_dims} features")
    nan = ~np.isfinite(arr)
    gaps.update(int(i) for i in np.flatnonzero(nan))
    if gaps:
        arr = arr.copy()
        arr[list(gaps)] = 0.0
    return arr, sorted(gaps)


class JVMEngine:
    """:class:`~offline_rcf.engine.Engine` over the Java ThresholdedRandomCutForest."""

    name = "jvm"

    def __init__(self, config: ForestConfig, *, _trcf: Any = None) -> None:
        self.config = config
        self._trcf = _trcf if _trcf is not None else build_trcf(config)
        self._last_ts: int | None = None

    def process(self, point: Sequence[float], timestamp: int, missing: Sequence[int] | None = None) -> ScoreResult:
        from jpype.types import JArray, JDouble, JInt

        arr, gaps = point_and_missing(point, self.config.base_dims, missing)
        ts = int(timestamp)
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"timestamps must increase: {ts} after {self._last_ts}")
        if len(gaps) == self.config.base_dims:
            raise ValueError("every feature is missing: AD writes no score for such an interval; skip it")
        if gaps:
            d = self._trcf.process(JArray(JDouble)(arr), ts, JArray(JInt)(gaps))
        else:
            d = self._trcf.process(JArray(JDouble)(arr), ts)
        self._last_ts = ts
        return descriptor_to_result(d)

    def state(self) -> bytes:
        """The forest's own state (``ThresholdedRandomCutForestMapper``) as Jackson JSON, UTF-8."""
        from com.amazon.randomcutforest.parkservices.state import ThresholdedRandomCutForestMapper
        from com.fasterxml.jackson.databind import ObjectMapper

        state = ThresholdedRandomCutForestMapper().toState(self._trcf)
        return str(ObjectMapper().writeValueAsString(state)).encode("utf-8")

    @classmethod
    def from_state(cls, config: ForestConfig, data: bytes, *, last_timestamp: int | None = None) -> JVMEngine:
        """Restore an engine saved with :meth:`state`; it continues the stream bit-identically."""
        ensure_jvm()
        from com.amazon.randomcutforest.parkservices.state import (
            ThresholdedRandomCutForestMapper,
            ThresholdedRandomCutForestState,
        )
        from com.fasterxml.jackson.databind import ObjectMapper

        try:
            state = ObjectMapper().readValue(data.decode("utf-8"), ThresholdedRandomCutForestState)
        except Exception as exc:
            raise ValueError(f"not a ThresholdedRandomCutForest JSON state: {exc}") from exc
        engine = cls(config, _trcf=ThresholdedRandomCutForestMapper().toModel(state))
        engine._last_ts = last_timestamp
        return engine
