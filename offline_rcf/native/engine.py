"""``NativeEngine``: the ThresholdedRandomCutForest of randomcutforest 4.3.0 in numpy/numba.

Mirrors ``ThresholdedRandomCutForest.process`` (``initialSetup`` → ``PredictorCorrector.detect`` →
``postProcess`` → ``preprocessor.update``) for the AD builder settings in :class:`~offline_rcf.engine.ForestConfig`.
Statistically equivalent to the Java engine (same algorithm, different random streams), not bit-identical.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from offline_rcf.engine import ForestConfig, ScoreResult
from offline_rcf.native.confidence import data_confidence
from offline_rcf.native.corrector import Descriptor, PredictorCorrector
from offline_rcf.native.forest import Forest
from offline_rcf.native.preprocess import START_NORMALIZATION, ImputePreprocessor, SegmentPreprocessor
from offline_rcf.native.threshold import BasicThresholder

STATE_FORMAT = "wafad-native-trcf/1"
_DESCRIPTOR_ARRAYS = ("rcf_point", "scale", "shift", "deviations", "expected_point", "high", "low", "post_shift")


def forest_output_after(config: ForestConfig) -> int:
    """``ThresholdedRandomCutForest.Builder.buildForest``: STREAMING_IMPUTE shortens the forest's outputAfter."""
    if _streaming(config):
        return max(START_NORMALIZATION, config.output_after) - config.shingle_size + 1
    return config.output_after


def _streaming(config: ForestConfig) -> bool:
    return config.streaming_impute and config.shingle_size > 1


class NativeEngine:
    """:class:`~offline_rcf.engine.Engine` without a JVM."""

    name = "native"

    def __init__(self, config: ForestConfig) -> None:
        if config.base_dims < 1 or config.shingle_size < 1:
            raise ValueError(f"base_dims and shingle_size must be >= 1, got {config.base_dims}, {config.shingle_size}")
        if config.imputation == "FIXED_VALUES":
            raise ValueError("FIXED_VALUES imputation needs fill values, which ForestConfig does not carry")
        self.config = c = config
        self.forest = Forest(
            dimensions=c.dimensions,
            shingle_size=c.shingle_size,
            num_trees=c.num_trees,
            sample_size=c.sample_size,
            time_decay=c.time_decay,
            output_after=forest_output_after(c),
            initial_accept_fraction=c.initial_accept_fraction,
            seed=c.seed,
        )
        decay = c.transform_decay if c.transform_decay is not None else 1.0 / c.sample_size
        pp_cls = ImputePreprocessor if _streaming(c) else SegmentPreprocessor
        self.preprocessor = pp_cls(c.base_dims, c.shingle_size, decay, c.normalize, c.imputation)
        self.corrector = PredictorCorrector(
            c.time_decay, c.anomaly_rate, c.auto_adjust, c.base_dims, c.ignore_near_expected_ratio, c.alert_once,
            c.normalize,
        )  # fmt: skip
        self.last_anomaly = Descriptor(shingle_size=c.shingle_size)
        self._last_ts: int | None = None
        self._no_missing = np.zeros(c.base_dims, dtype=bool)

    # --- processing --------------------------------------------------------------------------------------------
    def _inputs(self, point: Sequence[float], missing: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray]:
        L = self.config.base_dims
        x = np.asarray(point, dtype=np.float64).reshape(-1)
        if x.shape[0] != L:
            raise ValueError(f"expected a point of {L} values, got {x.shape[0]}")
        finite = np.isfinite(x)
        if missing is None and finite.all():
            return x, self._no_missing
        miss = ~finite
        if missing is not None:
            idx = np.asarray(list(missing), dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= L):
                raise ValueError(f"missing indices {sorted(idx.tolist())} out of range for {L} features")
            miss[idx] = True
        if miss.all():
            raise ValueError("every feature is missing: AD writes no score for such an interval; skip it")
        return np.where(miss, 0.0, x), miss

    def process(self, point: Sequence[float], timestamp: int, missing: Sequence[int] | None = None) -> ScoreResult:
        """Score then update with one base-dimension point (``ThresholdedRandomCutForest.process``)."""
        x, miss = self._inputs(point, missing)
        ts = int(timestamp)
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"timestamps must increase: {ts} after {self._last_ts}")
        c, pp, forest = self.config, self.preprocessor, self.forest
        confidence = data_confidence(forest.time_decay, pp.values_seen, forest.output_after, pp.data_quality())
        scale, shift, deviations = pp.stats()
        d = Descriptor(
            internal_ts=pp.internal_ts + pp.number_of_imputes(ts),
            scale=scale,
            shift=shift,
            deviations=deviations,
            shingle_size=c.shingle_size,
        )
        total_updates = forest.total_updates
        d.rcf_point = pp.scored_point(x, ts, miss, forest)
        self.corrector.detect(d, self.last_anomaly, forest)
        attribution = expected = past = None
        if d.rcf_point is not None and d.grade > 0:
            base = c.base_dims
            index = d.relative_index
            reference = x if index >= 0 else pp.input_at(c.shingle_size + index).copy()
            past = reference
            if d.expected_point is not None:
                start = len(d.rcf_point) - (1 - index) * base
                block = pp.transformer.invert(d.expected_point[start : start + base]).astype(np.float64)
                same = d.rcf_point[start : start + base] == d.expected_point[start : start + base]
                expected = np.where(same, reference, block)
            pos = (c.shingle_size - 1 + index) * base
            attribution = (d.high + d.low)[pos : pos + base]
        pp.update(x, d.rcf_point, ts, miss, forest)
        if d.rcf_point is not None and d.grade > 0:
            d.post_shift = pp.shift()
            d.transform_decay = pp.decay
            self.last_anomaly = d.copy()
        self._last_ts = ts
        if attribution is not None:
            total = float(attribution.sum())
            attribution = attribution / total if total > 0 else attribution
        return ScoreResult(
            score=float(d.score),
            grade=max(0.0, float(d.grade)),
            confidence=min(1.0, confidence),
            threshold=float(d.threshold),
            attribution=None if attribution is None else tuple(float(v) for v in attribution),
            expected=None if expected is None else tuple(float(v) for v in expected),
            past_values=None if past is None else tuple(float(v) for v in past),
            relative_index=int(d.relative_index) if d.grade > 0 else 0,
            total_updates=int(total_updates),
        )

    # --- state ---------------------------------------------------------------------------------------------------
    def state(self) -> bytes:
        """Everything needed to continue identically, as one ``.npz`` (numpy arrays + a JSON header)."""
        arrays: dict[str, np.ndarray] = {f"forest_{k}": v for k, v in self.forest.state_arrays().items()}
        arrays.update(self.preprocessor.state())
        cor = self.corrector
        arrays["cor_thresholder"] = np.array(cor.thresholder.state())
        arrays["cor_dev_actual"] = np.array([dv.to_list() for dv in cor.dev_actual])
        arrays["cor_dev_expected"] = np.array([dv.to_list() for dv in cor.dev_expected])
        header = {
            "format": STATE_FORMAT,
            "config": asdict(self.config),
            "forest_total_updates": self.forest.total_updates,
            "last_ts": self._last_ts,
            "cor_last_score": cor.last_score,
            "cor_run_length": cor.run_length,
        }
        for name, desc in (("last_anomaly", self.last_anomaly), ("cor_last", cor.last)):
            if desc is None:
                continue
            scalars = {}
            for k, v in desc.__dict__.items():
                if k in _DESCRIPTOR_ARRAYS:
                    if v is not None:
                        arrays[f"{name}_{k}"] = np.asarray(v)
                elif k != "extra":
                    scalars[k] = v
            header[name] = scalars
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_state(cls, data: bytes) -> NativeEngine:
        """Restore an engine saved with :meth:`state`; it continues the stream identically."""
        try:
            z = dict(np.load(io.BytesIO(data), allow_pickle=False))
            header = json.loads(z["header"].tobytes().decode())
        except Exception as exc:
            raise ValueError(f"not a native TRCF state: {exc}") from exc
        if header.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown native state format {header.get('format')!r}")
        engine = cls(ForestConfig(**header["config"]))
        engine.forest.load_arrays({k.removeprefix("forest_"): v for k, v in z.items() if k.startswith("forest_")})
        engine.forest.total_updates = int(header["forest_total_updates"])
        engine.preprocessor.load(z)
        cor = engine.corrector
        cor.thresholder = BasicThresholder.from_state(list(z["cor_thresholder"]))
        from offline_rcf.native.deviation import Deviation

        cor.dev_actual = [Deviation.from_list(list(v)) for v in z["cor_dev_actual"]]
        cor.dev_expected = [Deviation.from_list(list(v)) for v in z["cor_dev_expected"]]
        cor.last_score = float(header["cor_last_score"])
        cor.run_length = int(header["cor_run_length"])
        for name in ("last_anomaly", "cor_last"):
            if name not in header:
                continue
            desc = Descriptor(**header[name])
            for k in _DESCRIPTOR_ARRAYS:
                if f"{name}_{k}" in z:
                    setattr(desc, k, z[f"{name}_{k}"])
            if name == "last_anomaly":
                engine.last_anomaly = desc
            else:
                cor.last = desc
        engine._last_ts = header["last_ts"]
        return engine
