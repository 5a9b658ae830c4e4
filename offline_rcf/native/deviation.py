"""Exponentially discounted mean/deviation (mirrors ``statistics.Deviation``)."""

from __future__ import annotations

import math


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
