"""``parkservices.threshold.BasicThresholder``: dynamic threshold and grades in steps of 1/16."""

from __future__ import annotations

import math

from offline_rcf.native.deviation import Deviation

SCORE_DIFFERENCING = 0.5
MINIMUM_SCORES = 10
FACTOR_ADJUSTMENT_THRESHOLD = 0.9
ABSOLUTE_THRESHOLD = 0.8
INITIAL_THRESHOLD = 1.5
Z_FACTOR = 3.0
MINIMUM_Z_FACTOR = 2.0


class BasicThresholder:
    """Primary (scores, discount ``timeDecay``), secondary (score differences, discount ``anomalyRate``) and
    threshold (shortfalls below the mean, discount ``timeDecay/2``) deviations."""

    def __init__(self, primary_discount: float, secondary_discount: float, auto_threshold: bool) -> None:
        self.primary = Deviation(primary_discount)
        self.secondary = Deviation(secondary_discount)
        self.threshold_dev = Deviation(primary_discount / 2)
        self.auto_threshold = auto_threshold
        self.absolute_threshold = ABSOLUTE_THRESHOLD
        self.count = 0

    def is_deviation_ready(self) -> bool:
        return self.count >= MINIMUM_SCORES and self.secondary.count >= MINIMUM_SCORES

    def intermediate_fraction(self) -> float:
        if self.count < MINIMUM_SCORES:
            return 0.0
        if self.count > 2 * MINIMUM_SCORES:
            return 1.0
        return (self.count - MINIMUM_SCORES) / MINIMUM_SCORES

    def adjusted_factor(self, normalized: bool) -> float:
        f = Z_FACTOR
        if self.primary.mean < FACTOR_ADJUSTMENT_THRESHOLD and normalized:
            f = self.primary.mean * Z_FACTOR / FACTOR_ADJUSTMENT_THRESHOLD
        return max(f, MINIMUM_Z_FACTOR)

    def long_term_deviation(self, shingle_size: int) -> float:
        if shingle_size == 1:
            return min(math.sqrt(2.0) * self.threshold_dev.deviation, self.primary.deviation)
        first = min(
            self.primary.deviation, max(self.secondary.deviation, math.sqrt(2.0) * self.threshold_dev.deviation)
        )
        return SCORE_DIFFERENCING * first + (1 - SCORE_DIFFERENCING) * self.secondary.deviation

    def threshold_and_grade(self, score: float, normalized: bool, shingle_size: int) -> tuple[float, float]:
        """``getThresholdAndGrade``: (threshold, grade) with the grade a multiple of 1/16, at most 1."""
        frac = self.intermediate_fraction()
        factor = self.adjusted_factor(normalized)
        scaled_dev = (factor - 1) * self.long_term_deviation(shingle_size) + self.primary.deviation
        absolute = self.absolute_threshold
        if self.auto_threshold and frac >= 1.0 and self.primary.mean < FACTOR_ADJUSTMENT_THRESHOLD:
            absolute = self.primary.mean * absolute / FACTOR_ADJUSTMENT_THRESHOLD
        if not self.is_deviation_ready():
            threshold = max(INITIAL_THRESHOLD, absolute)
        else:
            threshold = max(absolute, frac * (self.primary.mean + scaled_dev) + (1 - frac) * INITIAL_THRESHOLD)
        if score < threshold or threshold <= 0:
            return threshold, 0.0
        t = self.surprise_index(score, threshold, factor, scaled_dev / factor)
        t = min(math.floor(t * 20) / 16, 1.0)
        if t == 0:
            threshold = score
        return threshold, t

    def surprise_index(self, score: float, base: float, factor: float, deviation: float) -> float:
        if self.is_deviation_ready():
            t_factor = 2 * factor
            if deviation > 0:
                t_factor = min(factor, (score - base) / deviation)
            return max(0.0, float(_f32(t_factor / factor)))
        return float(_f32(min(1.0, max(0.0, (score - self.absolute_threshold) / self.absolute_threshold))))

    def update(self, score: float, second: float, last: float) -> None:
        """``update(score, secondScore, lastScore, method)``."""
        primary = min(score, 2.0)
        gap = self.primary.mean - primary
        if gap > 0:
            self.threshold_dev.update(gap)
        self.primary.update(primary)
        self.secondary.update(second - last)
        self.count += 1

    def state(self) -> list[float]:
        return (
            self.primary.to_list()
            + self.secondary.to_list()
            + self.threshold_dev.to_list()
            + [float(self.count), float(self.auto_threshold), self.absolute_threshold]
        )

    @classmethod
    def from_state(cls, v: list[float]) -> BasicThresholder:
        th = cls(0.0, 0.0, bool(v[16]))
        th.primary = Deviation.from_list(v[0:5])
        th.secondary = Deviation.from_list(v[5:10])
        th.threshold_dev = Deviation.from_list(v[10:15])
        th.count = int(v[15])
        th.absolute_threshold = v[17]
        return th


def _f32(x: float) -> float:
    import numpy as np

    return float(np.float32(x))
