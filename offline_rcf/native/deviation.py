"""Exponentially discounted mean/deviation (mirrors ``statistics.Deviation``), scalar and vectorised."""

from __future__ import annotations

import math

import numpy as np


class Deviation:
    """``Deviation``: ``sum = sum*(1-d) + x``, ``weight = weight*(1-d) + 1``; mean and standard deviation."""

    __slots__ = ("count", "discount", "sum", "sum_squared", "weight")

    def __init__(self, discount: float = 0.0) -> None:
        self.discount = discount
        self.weight = 0.0
        self.sum_squared = 0.0
        self.sum = 0.0
        self.count = 0

    def update(self, x: float) -> None:
        f = 1.0 - self.discount
        self.sum = self.sum * f + x
        self.sum_squared = self.sum_squared * f + x * x
        self.weight = self.weight * f + 1.0
        self.count += 1

    @property
    def mean(self) -> float:
        return 0.0 if self.weight <= 0 else self.sum / self.weight

    @property
    def deviation(self) -> float:
        if self.weight <= 0:
            return 0.0
        m = self.sum / self.weight
        v = self.sum_squared / self.weight - m * m
        return math.sqrt(v) if v > 0 else 0.0

    def reset(self) -> None:
        self.weight = self.sum_squared = self.sum = 0.0
        self.count = 0

    def to_list(self) -> list[float]:
        return [self.discount, self.weight, self.sum_squared, self.sum, float(self.count)]

    @classmethod
    def from_list(cls, v: list[float]) -> Deviation:
        d = cls(v[0])
        d.weight, d.sum_squared, d.sum, d.count = v[1], v[2], v[3], int(v[4])
        return d


class DeviationVector:
    """``n`` independent :class:`Deviation` objects as numpy arrays (one per feature)."""

    def __init__(self, n: int, discount: float) -> None:
        self.discount = float(discount)
        self.weight = np.zeros(n)
        self.sum_squared = np.zeros(n)
        self.sum = np.zeros(n)
        self.count = np.zeros(n, dtype=np.int64)

    def update(self, x: np.ndarray, mask: np.ndarray | None = None) -> None:
        f = 1.0 - self.discount
        if mask is None:
            self.sum = self.sum * f + x
            self.sum_squared = self.sum_squared * f + x * x
            self.weight = self.weight * f + 1.0
            self.count += 1
        else:
            self.sum[mask] = self.sum[mask] * f + x[mask]
            self.sum_squared[mask] = self.sum_squared[mask] * f + x[mask] * x[mask]
            self.weight[mask] = self.weight[mask] * f + 1.0
            self.count[mask] += 1

    @property
    def mean(self) -> np.ndarray:
        if self.weight.all():
            return self.sum / self.weight
        return np.divide(self.sum, self.weight, out=np.zeros_like(self.sum), where=self.weight > 0)

    @property
    def deviation(self) -> np.ndarray:
        m = self.mean
        v = np.divide(self.sum_squared, self.weight, out=np.zeros_like(self.sum), where=self.weight > 0) - m * m
        return np.sqrt(np.maximum(v, 0.0))

    def copy(self) -> DeviationVector:
        c = DeviationVector(0, self.discount)
        c.weight, c.sum_squared, c.sum, c.count = (
            self.weight.copy(),
            self.sum_squared.copy(),
            self.sum.copy(),
            self.count.copy(),
        )
        return c

    def to_array(self) -> np.ndarray:
        return np.vstack([np.full_like(self.sum, self.discount), self.weight, self.sum_squared, self.sum, self.count])

    @classmethod
    def from_array(cls, a: np.ndarray) -> DeviationVector:
        c = cls(a.shape[1], float(a[0, 0]) if a.shape[1] else 0.0)
        c.weight, c.sum_squared, c.sum = a[1].copy(), a[2].copy(), a[3].copy()
        c.count = a[4].astype(np.int64)
        return c
