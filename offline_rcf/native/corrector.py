"""``parkservices.PredictorCorrector``: grade from the thresholder, then the corrections AD relies on.

Corrections (each can zero the grade): NOISE (``centeredTransformPass``), ANOMALY_IN_SHINGLE (an earlier anomaly
in the shingle explains the score, ``trigger``), CONDITIONAL_FORECAST (``autoAdjust``: enough near neighbours
inside the uncertainty box), FORECAST (the expected point is inside the uncertainty box, whose size comes from
the ignore-near-expected rules), DATA_DRIFT and ALERT_ONCE (``alertOnce``: one alert per run of high scores).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from offline_rcf.native.deviation import Deviation
from offline_rcf.native.forest import Forest
from offline_rcf.native.threshold import BasicThresholder

DIFFERENTIAL_FACTOR = 0.3
NUMBER_OF_MAX_ATTRIBUTORS = 5
NOISE_SUPPRESSION_FACTOR = 1.0
SAMPLING_SUPPORT = 0.1
RUN_ALLOWED = 2
NORMALIZATION_PRECISION = 1e-3


@dataclass
class Descriptor:
    """The fields of ``AnomalyDescriptor``/``RCFComputeDescriptor`` the corrector and TRCF read back."""

    internal_ts: int = 0
    rcf_point: np.ndarray | None = None
    scale: np.ndarray | None = None
    shift: np.ndarray | None = None
    deviations: np.ndarray | None = None
    score: float = 0.0
    threshold: float = 0.0
    grade: float = 0.0
    correction: str = "NONE"
    expected_point: np.ndarray | None = None
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    relative_index: int = 0
    post_shift: np.ndarray | None = None
    transform_decay: float = 0.0
    shingle_size: int = 1
    extra: dict = field(default_factory=dict)

    def delta_shift(self) -> np.ndarray | None:
        if self.shift is None or self.post_shift is None:
            return None
        return self.post_shift - self.shift

    def copy(self) -> Descriptor:
        """Shallow: descriptors never mutate their arrays after creation."""
        return copy.copy(self)


def _block_sums(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    return high + low


class PredictorCorrector:
    def __init__(self, time_decay: float, anomaly_rate: float, auto_adjust: bool, base_dims: int,
                 ignore_ratio: float | None, alert_once: bool, normalized: bool) -> None:  # fmt: skip
        self.thresholder = BasicThresholder(time_decay, anomaly_rate, auto_adjust)
        self.base = base_dims
        self.auto_adjust = auto_adjust
        self.time_decay = time_decay
        self.dev_actual = [Deviation(time_decay) for _ in range(base_dims)]
        self.dev_expected = [Deviation(time_decay) for _ in range(base_dims)]
        r = 0.0 if ignore_ratio is None else float(ignore_ratio)
        self.ignore_ratio = np.full(base_dims, r)
        self.ignore_abs = np.zeros(base_dims)
        self.ignore_drift = alert_once
        self.normalized = normalized
        self.last_score = 0.0
        self.run_length = 0
        self.last: Descriptor | None = None

    # --- helpers -------------------------------------------------------------------------------------------
    def max_contribution(self, sums: np.ndarray, base: int, start_index: int) -> int:
        dims = len(sums)
        position = dims + start_index * base
        val = sums[position : position + base].sum()
        index = start_index
        for i in range(position + base, dims, base):
            s = sums[i : i + base].sum()
            if s > val:
                val = s
                index = (i - dims) // base
        return index

    def expected_point(self, sums: np.ndarray, position: int, base: int, point: np.ndarray, forest: Forest):
        """``getExpectedPoint``: impute the most-attributed coordinates of the block at ``position``."""
        if base == 1:
            missing = [position]
        else:
            vals = sums[position : position + base]
            total = vals.sum()
            srt = np.sort(vals)
            pick = 1
            if srt[base - pick] < 0.1 * total:
                return None
            thr = min(0.1 * total, 0.1)
            while pick < base and srt[base - pick - 1] >= thr:
                pick += 1
            if pick > NUMBER_OF_MAX_ATTRIBUTORS:
                return None
            cutoff = srt[base - pick]
            missing = []
            for i in range(base):
                if len(missing) >= pick:
                    break
                v = sums[position + i]
                if v >= cutoff and (len(missing) == 0 or v > total * 0.1):
                    missing.append(position + i)
        if len(missing) > 0.5 * forest.dimensions:
            return None
        return forest.impute(point, missing)

    @staticmethod
    def trigger(cand: tuple, difference: int, ideal: tuple | None, last_sig: Descriptor, threshold: float) -> bool:
        dims = len(cand[0])
        if difference >= dims or ideal is None:
            return True
        rem = float(
            np.abs(cand[1][dims - difference :] - ideal[1][dims - difference :]).sum()
            + np.abs(cand[0][dims - difference :] - ideal[0][dims - difference :]).sum()
        )
        return rem > DIFFERENTIAL_FACTOR * last_sig.score and rem * dims / difference > 1.2 * threshold

    @staticmethod
    def correction_of_last(gap: int, last_sig: Descriptor, scale: np.ndarray, normalized: bool) -> np.ndarray | None:
        """``getCorrectionOfLastAnomaly`` (None for the all-zero correction)."""
        delta = last_sig.delta_shift()
        if delta is None or gap >= 2 * last_sig.shingle_size or not normalized:
            return None
        factor = np.exp(-gap * last_sig.transform_decay)
        return np.where(scale == 0, 0.0, delta * factor / np.where(scale == 0, 1.0, scale))

    def apply_past_corrector(self, point: np.ndarray, gap: int, shingle: int, base: int, scale: np.ndarray,
                             last_sig: Descriptor) -> np.ndarray:  # fmt: skip
        corr = self.correction_of_last(gap, last_sig, scale, self.normalized)
        if (last_sig.expected_point is None or gap >= shingle) and corr is None:
            return point
        corrected = point.copy()
        if last_sig.expected_point is not None and gap < shingle:
            corrected[: len(point) - gap * base] = last_sig.expected_point[gap * base :]
        number = min(gap, shingle) if corr is not None else 0
        for j in range(number):
            start = len(point) - (number - j) * base
            corrected[start : start + base] += corr.astype(np.float32)
        return corrected

    def centered_transform_pass(self, d: Descriptor, point: np.ndarray) -> float:
        scale, shift, devs = d.scale, d.shift, d.deviations
        base = self.base
        idx = np.arange(len(point)) % base
        if not np.any(np.abs(point) * scale[idx] > NORMALIZATION_PRECISION * (1 + np.abs(shift[idx]))):
            return 0.0
        factor = 1.0
        for i in range(base):
            z = abs(float(point[len(point) - base + i])) * abs(scale[i])
            dev = abs(devs[i + base])
            if z > NOISE_SUPPRESSION_FACTOR * dev:
                factor = 1.0 if dev == 0 else min(1.0, max(factor, z / (3 * dev)))
        return factor

    def uncertainty_box(self, point: np.ndarray, start: int, d: Descriptor) -> tuple[np.ndarray, np.ndarray]:
        base = self.base
        high = np.zeros(base)
        low = np.zeros(base)
        for y in range(base):
            a = d.scale[y] * point[start + y]
            shift_base = d.shift[y]
            shift_amount = NORMALIZATION_PRECISION * (d.scale[y] + abs(shift_base)) if shift_base != 0 else 0.0
            pos, var, obs = start, 0.0, 0
            while pos + y + base < len(point):
                var += abs(float(point[pos + y]) - float(point[pos + base + y]))
                pos += base
                obs += 1
            path_gap = var / obs if obs else 0.0
            noise_gap = NOISE_SUPPRESSION_FACTOR * d.deviations[base + y]
            gap = max(d.scale[y] * path_gap, noise_gap) + shift_amount + NORMALIZATION_PRECISION
            low[y] = max(self.ignore_abs[y], self.ignore_ratio[y] * abs(a + shift_base), gap)
            high[y] = max(self.ignore_abs[y], self.ignore_ratio[y] * abs(a + shift_base), gap)
        return high, low

    def within_gap(self, box: tuple, start: int, scale: np.ndarray, point: np.ndarray, other: np.ndarray) -> bool:
        high, low = box
        for y in range(self.base):
            a = scale[y] * point[start + y]
            b = scale[y] * other[start + y]
            if a < b - low[y] or a > b + high[y]:
                return False
        return True

    def explained_by_conditional_field(self, box, point, corrected, start, d: Descriptor, forest: Forest) -> bool:
        neighbors = forest.near_neighbors(corrected)
        if not neighbors:
            return False
        avg = sum(n[1] for n in neighbors) / len(neighbors)
        weight = 0
        for p, dist, count in neighbors:
            if dist < 1.1 * avg and self.within_gap(box, start, d.scale, point, p):
                weight += count
        return weight >= SAMPLING_SUPPORT * forest.num_trees

    # --- the main step -------------------------------------------------------------------------------------
    def detect(self, d: Descriptor, last_sig: Descriptor, forest: Forest) -> Descriptor:
        """``PredictorCorrector.detect`` with ScoringStrategy.EXPECTED_INVERSE_DEPTH."""
        if d.rcf_point is None:
            return d
        point = d.rcf_point
        score = forest.score(point)
        d.score = score
        if score == 0:
            return d
        shingle = d.shingle_size
        base = len(point) // shingle
        threshold, grade = self.thresholder.threshold_and_grade(score, self.normalized, shingle)
        d.threshold = threshold
        candidate = False
        if grade > 0 and self.last is not None:
            if score > self.last.score:
                candidate = True
            else:
                run_discount = max(threshold, self.last.threshold) * (
                    1 + max(0.2, self.run_length / (2.0 * max(10, shingle)))
                )
                if self.last.score - self.last.threshold > score - run_discount:
                    candidate = True
        if self.last is not None and self.last.expected_point is not None:
            last_sig = self.last
        gap = int(d.internal_ts - last_sig.internal_ts)
        difference = gap * base
        corrected_score = score
        expected = None
        attribution = None
        index = 0
        relative = -shingle if gap >= shingle else -gap
        corrected = self.apply_past_corrector(point, gap, shingle, base, d.scale, last_sig)
        if grade > 0:
            grade *= self.centered_transform_pass(d, corrected)
            if grade == 0:
                d.correction = "NOISE"
        if grade > 0:
            if not np.array_equal(corrected, point):
                attribution = forest.attribution(corrected)
                sums = _block_sums(*attribution)
                corrected_score = float(sums.sum())
                if corrected_score > threshold:
                    tmp_index = self.max_contribution(sums, base, relative) + 1
                    tmp_start = len(point) + (tmp_index - 1) * base
                    tmp_point = self.expected_point(sums, tmp_start, base, corrected, forest)
                    if tmp_point is not None:
                        tmp_attr = forest.attribution(tmp_point)
                        corrected_score = float(tmp_attr[0].sum() + tmp_attr[1].sum())
                        if not self.trigger(attribution, difference, tmp_attr, last_sig, threshold):
                            grade = 0.0
                            d.correction = "ANOMALY_IN_SHINGLE"
            else:
                attribution = forest.attribution(point)
            sums = _block_sums(*attribution)
            if grade > 0 and d.scale is not None:
                index = 0 if shingle == 1 else self.max_contribution(sums, base, relative) + 1
                start = len(point) + (index - 1) * base
                box = self.uncertainty_box(point, start, d)
                if self.auto_adjust and self.explained_by_conditional_field(box, point, corrected, start, d, forest):
                    grade = 0.0
                    d.correction = "CONDITIONAL_FORECAST"
                else:
                    expected = self.expected_point(sums, start, base, corrected, forest)
                    if expected is not None:
                        if difference < len(point):
                            new_attr = forest.attribution(expected)
                            corrected_score = float(new_attr[0].sum() + new_attr[1].sum())
                            if not self.trigger(attribution, difference, new_attr, last_sig, threshold):
                                grade = 0.0
                                d.correction = "ANOMALY_IN_SHINGLE"
                        else:
                            corrected_score = forest.score(point)
                        if grade > 0 and self.within_gap(box, start, d.scale, point, expected):
                            grade = 0.0
                            d.correction = "FORECAST"
            if grade == 0:
                corrected_score = score
        if candidate:
            if self.auto_adjust:
                for y in range(base):
                    self.dev_actual[y].update(float(point[len(point) - base + y]))
                    if expected is not None:
                        self.dev_expected[y].update(float(expected[len(point) - base + y]))
                if self.run_length > RUN_ALLOWED and grade > 0:
                    within = True
                    for y in range(base):
                        if not within:
                            break
                        actual = float(point[len(point) - base + y])
                        da, de = self.dev_actual[y], self.dev_expected[y]
                        within = abs(da.mean - actual) < max(
                            2 * da.deviation, NOISE_SUPPRESSION_FACTOR * d.deviations[base + y] / d.scale[y]
                        )
                        if expected is not None:
                            e = float(expected[len(point) - base + y])
                            within = within and abs(de.mean - e) < 2 * max(de.deviation, da.deviation) + 0.1 * abs(
                                da.mean - de.mean
                            )
                    if within:
                        d.correction = "DATA_DRIFT"
                        grade = 0.0
            if self.ignore_drift and grade > 0 and self.run_length > 0 and gap < shingle:
                d.correction = "ALERT_ONCE"
                grade = 0.0
        d.grade = grade
        if grade > 0:
            if expected is not None:
                d.expected_point = expected
            high, low = attribution
            total = float(high.sum() + low.sum())
            if total > 0:
                high, low = high * (d.score / total), low * (d.score / total)
            d.high, d.low = high, low
            d.relative_index = index
            self.run_length += 1
        elif d.correction == "NONE":
            self.run_length = 0
            if self.auto_adjust and self.dev_actual[0].count + self.dev_expected[0].count:
                for y in range(base):
                    self.dev_actual[y].reset()
                    self.dev_expected[y].reset()
        elif self.run_length > 0:
            self.run_length += 1
        self.last = d.copy()
        self.thresholder.update(score, corrected_score, self.last_score)
        if shingle > 1:
            self.last_score = score
        return d
