"""TRCF preprocessing: NORMALIZE transform, internal shingling and STREAMING_IMPUTE.

Mirrors ``preprocessor.transform.WeightedTransformer``/``NormalizedTransformer`` (:class:`Transformer`),
``preprocessor.InitialSegmentPreprocessor`` (:class:`SegmentPreprocessor`, STANDARD mode) and
``preprocessor.ImputePreprocessor`` (:class:`ImputePreprocessor`, STREAMING_IMPUTE: missing values and timestamp
gaps filled by PREVIOUS/ZERO/LINEAR imputation, forest updated only while the imputed fraction of the shingle is
below ``useImputedFraction``). The first ``startNormalization`` (10) inputs are buffered, then discharged into
the forest with statistics computed from that initial segment.
"""

from __future__ import annotations

import math

import numpy as np

from offline_rcf.native.deviation import Deviation
from offline_rcf.native.forest import Forest
from offline_rcf.native.transform import Transformer

START_NORMALIZATION = 10
USE_IMPUTED_FRACTION = 0.5


def time_factor(dev: Deviation) -> float:
    """``ImputePreprocessor.getTimeFactor``: mean gap corrected for a small spread."""
    m = dev.mean
    s = dev.deviation
    if 0 < s < m / 2:
        m -= s * s / (2 * m)
    return m


class SegmentPreprocessor:
    """``InitialSegmentPreprocessor`` (STANDARD forest mode)."""

    streaming_impute = False

    def __init__(self, base_dims: int, shingle_size: int, transform_decay: float, normalize: bool,
                 imputation: str = "PREVIOUS") -> None:  # fmt: skip
        self.L = base_dims
        self.S = shingle_size
        self.decay = float(transform_decay)
        self.normalize = normalize
        self.imputation = imputation
        self.transformer = Transformer(base_dims, transform_decay, normalize)
        self.last_input = np.zeros(base_dims * shingle_size)
        self.last_point = np.zeros(base_dims * shingle_size, dtype=np.float32)
        self.prev_ts = np.zeros(shingle_size, dtype=np.int64)
        self.internal_ts = 0
        self.values_seen = 0
        self.number_imputed = shingle_size if self.streaming_impute else 0
        self.ts_devs = [Deviation(transform_decay) for _ in range(3)] + [
            Deviation(0.1 * transform_decay) for _ in range(2)
        ]
        self.quality = Deviation(transform_decay)
        self.init_values: list[np.ndarray] = []
        self.init_missing: list[np.ndarray] = []
        self.init_ts: list[int] = []
        self.default_fill = np.zeros(base_dims) if imputation == "ZERO" else None
        self.no_missing = np.zeros(base_dims, dtype=bool)
        self._scored: tuple | None = None  # (ts, scaled input) computed for scoring, reused by the update
        self._imputes_key: tuple | None = None
        self._imputes = 0

    # --- shared state helpers (``Preprocessor``) -------------------------------------------------------
    def last_tuple(self) -> np.ndarray:
        return self.last_input[-self.L :]

    def input_at(self, index: int) -> np.ndarray:
        return self.last_input[index * self.L : (index + 1) * self.L]

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scale, shift, smoothed deviations) of the transform."""
        return self.transformer.stats()

    def shift(self) -> np.ndarray:
        return self.transformer.stats()[1]

    def data_quality(self) -> float:
        return self.quality.mean

    def update_shingle(self, x: np.ndarray, scaled: np.ndarray) -> None:
        L = self.L
        self.last_input = np.concatenate((self.last_input[L:], x))
        self.last_point = np.concatenate((self.last_point[L:], scaled))

    def update_timestamps(self, ts: int) -> None:
        self.prev_ts[:-1] = self.prev_ts[1:]
        self.prev_ts[-1] = ts
        self.internal_ts += 1

    def update_ts_deviations(self, ts: int, previous: int) -> None:
        d = self.ts_devs
        d[0].update(ts)
        d[1].update(ts - previous)
        d[2].update(d[0].deviation)
        d[3].update(d[1].mean)
        d[4].update(d[1].deviation)

    def update_state(self, x: np.ndarray, scaled: np.ndarray, ts: int, previous: int, missing) -> None:
        self.update_ts_deviations(ts, previous)
        self.update_timestamps(ts)
        self.transformer.update(x, self.last_tuple().copy(), self.no_missing if missing is None else missing)
        self.update_shingle(x, scaled)

    def store_initial(self, x: np.ndarray, ts: int, missing: np.ndarray) -> None:
        self.init_values.append(x.copy())
        self.init_missing.append(missing.copy())
        self.init_ts.append(int(ts))
        self.values_seen += 1

    def prepare_initial(self) -> tuple[np.ndarray, float]:
        """``prepareInitialInput``: fill missing values of the segment (linear interpolation in time)."""
        vals = np.array(self.init_values, dtype=np.float64)
        miss = np.array(self.init_missing, dtype=bool)
        ts = np.array(self.init_ts, dtype=np.float64)
        total_missing = int(miss.sum())
        if self.imputation in ("ZERO", "FIXED_VALUES"):
            fill = self.default_fill if self.default_fill is not None else np.zeros(self.L)
            for i in range(len(vals) - 1):
                vals[i] = np.where(miss[i], fill, vals[i])
        else:
            for j in range(self.L):
                ok = np.flatnonzero(~miss[:, j])
                if len(ok) == 0:
                    vals[:, j] = 0.0 if self.default_fill is None else self.default_fill[j]
                    continue
                vals[0, j] = vals[ok[0], j]
                miss[0, j] = False
                known = np.flatnonzero(~miss[:, j])
                for y in np.flatnonzero(miss[:, j]):
                    after = known[known > y]
                    if len(after) == 0:
                        continue
                    s, e = known[known < y][-1], after[0]
                    f = (ts[s] - ts[y]) / (ts[s] - ts[e])
                    vals[y, j] = f * vals[s, j] + (1 - f) * vals[e, j]
        return vals, 1.0 - total_missing / len(vals)

    def discharge(self, forest: Forest) -> None:
        vals, quality = self.prepare_initial()
        init = Transformer.initial(vals, self.decay, self.normalize)
        self.prev_ts[:] = self.init_ts[0]
        for i in range(len(vals)):
            scaled = init.transform(vals[i])
            self.update_state(vals[i], scaled, self.init_ts[i], int(self.prev_ts[-1]), None)
            self.quality.update(quality)
            forest.update(self.last_point)
        self.init_values, self.init_missing, self.init_ts = [], [], []

    # --- the per-point protocol --------------------------------------------------------------------------
    def fill_missing(self, x: np.ndarray, missing: np.ndarray) -> np.ndarray:
        if not missing.any():
            return x
        values = self.default_fill if self.default_fill is not None else self.last_tuple()
        return np.where(missing, values, x)

    def scored_point(self, x: np.ndarray, ts: int, missing: np.ndarray, forest: Forest) -> np.ndarray | None:
        """``getScaledShingledInput``: the shingled, transformed point to score (None while buffering)."""
        if self.values_seen < START_NORMALIZATION:
            return None
        scaled = self.transformer.transform(self.fill_missing(x, missing))
        return np.concatenate([self.last_point[self.L :], scaled])

    def number_of_imputes(self, ts: int) -> int:
        return 0

    def update(self, x: np.ndarray, rcf_point: np.ndarray | None, ts: int, missing: np.ndarray, forest: Forest) -> None:
        if self.values_seen < START_NORMALIZATION:
            self.store_initial(x, ts, missing)
            if self.values_seen == START_NORMALIZATION:
                self.discharge(forest)
            return
        scaled = rcf_point[-self.L :]
        self.update_state(x, scaled, ts, int(self.prev_ts[-1]), missing if missing.any() else None)
        self.values_seen += 1
        self.quality.update(1.0 - missing.sum() / self.L)
        forest.update(self.last_point)

    # --- state -------------------------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        n = len(self.init_ts)
        return {
            "pp_tr": self.transformer.st,
            "pp_tr_disc": self.transformer.disc,
            "pp_last_input": self.last_input,
            "pp_last_point": self.last_point,
            "pp_prev_ts": self.prev_ts,
            "pp_counters": np.array([self.internal_ts, self.values_seen, self.number_imputed], dtype=np.int64),
            "pp_ts_devs": np.array([d.to_list() for d in self.ts_devs]),
            "pp_quality": np.array(self.quality.to_list()),
            "pp_init_values": np.array(self.init_values).reshape(n, self.L),
            "pp_init_missing": np.array(self.init_missing, dtype=bool).reshape(n, self.L),
            "pp_init_ts": np.array(self.init_ts, dtype=np.int64),
        }

    def load(self, s: dict[str, np.ndarray]) -> None:
        self.transformer.st = s["pp_tr"].copy()
        self.transformer.disc = s["pp_tr_disc"].copy()
        self.last_input = s["pp_last_input"].copy()
        self.last_point = s["pp_last_point"].copy()
        self.prev_ts = s["pp_prev_ts"].copy()
        self.internal_ts, self.values_seen, self.number_imputed = (int(v) for v in s["pp_counters"])
        self.ts_devs = [Deviation.from_list(list(v)) for v in s["pp_ts_devs"]]
        self.quality = Deviation.from_list(list(s["pp_quality"]))
        self.init_values = list(s["pp_init_values"])
        self.init_missing = list(s["pp_init_missing"])
        self.init_ts = [int(v) for v in s["pp_init_ts"]]


class ImputePreprocessor(SegmentPreprocessor):
    """``ImputePreprocessor`` (ForestMode.STREAMING_IMPUTE)."""

    streaming_impute = True

    def update_timestamps(self, ts: int) -> None:
        if self.prev_ts[0] == self.prev_ts[1]:
            self.number_imputed -= 1
        super().update_timestamps(ts)

    def update_allowed(self) -> bool:
        fraction = min(1.0, self.number_imputed / self.S)
        self.quality.update(1.0 - fraction)
        return fraction < USE_IMPUTED_FRACTION and self.internal_ts >= self.S

    def determine_gap(self, gap: float, average: float) -> int:
        if self.internal_ts <= 1:
            return 1
        g = gap / average
        return math.ceil(g) if g >= 1.5 else 1

    def number_of_imputes(self, ts: int) -> int:
        """Tuples to impute before ``ts`` (memoised: the answer only changes when the state updates)."""
        key = (ts, self.internal_ts, self.ts_devs[1].count)
        if self._imputes_key != key:
            self._imputes_key = key
            self._imputes = self.determine_gap(ts - int(self.prev_ts[-1]), time_factor(self.ts_devs[1])) - 1
        return self._imputes

    def discharge(self, forest: Forest) -> None:
        tmp = Deviation()
        for a, b in zip(self.init_ts[:-1], self.init_ts[1:], strict=True):
            tmp.update(b - a)
        factor = time_factor(tmp)
        vals, _ = self.prepare_initial()
        init = Transformer.initial(vals, self.decay, self.normalize)
        self.prev_ts[:] = self.init_ts[0]
        self.number_imputed = self.S
        for i in range(len(vals)):
            last_ts = int(self.prev_ts[-1])
            if self.internal_ts > 0:
                previous = self.last_tuple().copy()
                k = self.determine_gap(self.init_ts[i] - last_ts, factor) - 1
                for j in range(k):
                    step = (j + 1) / (k + 1)
                    result = previous + step * (vals[i] - previous)  # LINEAR for the initial segment
                    scaled = init.transform(result)
                    self.update_shingle(result, scaled)
                    self.update_timestamps(self.init_ts[i])
                    self.number_imputed += 1
                    forest.update(self.last_point, not self.update_allowed())
            scaled = init.transform(vals[i])
            self.update_state(vals[i], scaled, self.init_ts[i], last_ts, None)
            forest.update(self.last_point, not self.update_allowed())
        self.init_values, self.init_missing, self.init_ts = [], [], []

    def _impute(self, step: float, previous: np.ndarray, x: np.ndarray) -> np.ndarray:
        if self.imputation == "ZERO":
            return np.zeros(self.L)
        if self.imputation == "LINEAR":
            return previous + step * (x - previous)
        return previous.copy()  # PREVIOUS

    def _update_forest(self, change: bool, x: np.ndarray, ts: int, forest: Forest, fully_imputed: bool,
                       scaled: np.ndarray | None = None) -> None:  # fmt: skip
        if scaled is None:
            scaled = self.transformer.transform(x)
        self.update_shingle(x, scaled)
        self.update_timestamps(ts)
        if fully_imputed:
            self.number_imputed = min(self.number_imputed + 1, self.S)
        elif self.number_imputed > 0:
            self.number_imputed -= 1
        if change:
            forest.update(self.last_point, not self.update_allowed())

    def generate_shingle(self, x: np.ndarray, ts: int, missing: np.ndarray, change: bool, forest: Forest) -> np.ndarray:
        """``ImputePreprocessor.generateShingle`` (non-RCF imputation methods)."""
        last_ts = int(self.prev_ts[-1])
        previous = self.last_tuple().copy()
        k = self.number_of_imputes(ts)
        has_missing = bool(missing.any())
        if has_missing:
            x = self.fill_missing(x, missing) if self.default_fill is not None else np.where(missing, previous, x)
        scaled = None
        if change and k == 0 and not has_missing and self._scored is not None and self._scored[0] == ts:
            scaled = self._scored[1]  # the transform is unchanged since scoring
        self._scored = None
        for j in range(k):
            self._update_forest(change, self._impute((j + 1) / (k + 1), previous, x), ts, forest, True)
        self._update_forest(change, x, ts, forest, bool(missing.all()), scaled)
        if change:
            self.update_ts_deviations(ts, last_ts)
            self.transformer.update(x, previous, missing)
        return self.last_point

    def scored_point(self, x: np.ndarray, ts: int, missing: np.ndarray, forest: Forest) -> np.ndarray | None:
        if self.values_seen < START_NORMALIZATION:
            return None
        if self.number_of_imputes(ts) == 0 and not missing.any():
            scaled = self.transformer.transform(x)
            self._scored = (ts, scaled)
            return np.concatenate((self.last_point[self.L :], scaled))
        saved = (self.prev_ts.copy(), self.last_input, self.last_point, self.number_imputed, self.internal_ts)
        point = self.generate_shingle(x, ts, missing, False, forest)
        self.prev_ts, self.last_input, self.last_point, self.number_imputed, self.internal_ts = saved
        return point

    def update(self, x: np.ndarray, rcf_point: np.ndarray | None, ts: int, missing: np.ndarray, forest: Forest) -> None:
        if self.values_seen < START_NORMALIZATION:
            self.store_initial(x, ts, missing)
            if self.values_seen == START_NORMALIZATION:
                self.discharge(forest)
            return
        self.generate_shingle(x, ts, missing, True, forest)
        if not missing.all():
            self.values_seen += 1
