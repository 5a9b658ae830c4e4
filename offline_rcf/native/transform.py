"""The NORMALIZE/NONE transform statistics as one packed array with numba kernels.

Mirrors ``WeightedTransformer``/``NormalizedTransformer`` and their five ``Deviation`` statistics per feature:
0 value, 1 difference, 2 deviation of value (discount ``transformDecay``), 3 mean of difference, 4 deviation of
difference (discount ``0.1 * transformDecay``). ``stats[g, k, i]`` holds ``k`` = sum, sum of squares, weight,
count of statistic ``g`` for feature ``i``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CLIP = 100.0


@njit(cache=True)
def _mean(st, g, i) -> float:
    w = st[g, 2, i]
    return st[g, 0, i] / w if w > 0 else 0.0


@njit(cache=True)
def _deviation(st, g, i) -> float:
    w = st[g, 2, i]
    if w <= 0:
        return 0.0
    m = st[g, 0, i] / w
    v = st[g, 1, i] / w - m * m
    return math.sqrt(v) if v > 0 else 0.0


@njit(cache=True)
def _update(st, disc, g, i, x) -> None:
    f = 1.0 - disc[g]
    st[g, 0, i] = st[g, 0, i] * f + x
    st[g, 1, i] = st[g, 1, i] * f + x * x
    st[g, 2, i] = st[g, 2, i] * f + 1.0
    st[g, 3, i] += 1.0


@njit(cache=True)
def tr_transform(st, x, normalize) -> np.ndarray:
    """``transformValues``: ``clip((x - mean) / (|smoothed deviation| + 1), ±100)`` as float32."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        if normalize:
            t = (x[i] - _mean(st, 0, i)) / (abs(_mean(st, 2, i)) + 1.0)
            if t >= CLIP:
                t = CLIP
            elif t < -CLIP:
                t = -CLIP
            out[i] = np.float32(t)
        else:
            out[i] = np.float32(x[i])
    return out


@njit(cache=True)
def tr_update(st, disc, x, prev, missing) -> None:
    """``updateDeviation``; ``missing`` features keep their value statistics."""
    for i in range(x.shape[0]):
        if not missing[i]:
            _update(st, disc, 0, i, x[i])
            _update(st, disc, 2, i, _deviation(st, 0, i))
        _update(st, disc, 1, i, 0.0 if st[1, 3, i] == 0 else x[i] - prev[i])
        _update(st, disc, 3, i, _mean(st, 1, i))
        _update(st, disc, 4, i, _deviation(st, 1, i))


@njit(cache=True)
def tr_initial(values, disc) -> np.ndarray:
    """``getInitialDeviations`` over the buffered initial segment."""
    n, d = values.shape
    st = np.zeros((5, 4, d))
    for r in range(n):
        for i in range(d):
            _update(st, disc, 0, i, values[r, i])
            _update(st, disc, 1, i, values[r, i] - values[r - 1, i] if r > 0 else 0.0)
    for _ in range(n):
        for i in range(d):
            _update(st, disc, 2, i, _deviation(st, 0, i))
            _update(st, disc, 3, i, _mean(st, 1, i))
            _update(st, disc, 4, i, _deviation(st, 1, i))
    return st


@njit(cache=True)
def tr_stats(st, normalize):
    """(scale, shift, smoothed deviations [|dev of values|, |dev of differences|]) as the descriptor holds them."""
    d = st.shape[2]
    scale = np.ones(d)
    shift = np.zeros(d)
    devs = np.empty(2 * d)
    for i in range(d):
        if normalize:
            scale[i] = abs(_mean(st, 2, i)) + 1.0
            shift[i] = _mean(st, 0, i)
        devs[i] = abs(_mean(st, 2, i))
        devs[d + i] = abs(_mean(st, 4, i))
    return scale, shift, devs


class Transformer:
    """Packed statistics plus the kernels above."""

    def __init__(self, n: int, decay: float, normalize: bool) -> None:
        self.normalize = normalize
        self.disc = np.array([decay, decay, decay, 0.1 * decay, 0.1 * decay])
        self.st = np.zeros((5, 4, n))

    @classmethod
    def initial(cls, values: np.ndarray, decay: float, normalize: bool) -> Transformer:
        tr = cls(values.shape[1], decay, normalize)
        tr.disc = np.full(5, float(decay))  # the initial segment uses transformDecay for all five
        tr.st = tr_initial(np.ascontiguousarray(values, dtype=np.float64), tr.disc)
        return tr

    def transform(self, x: np.ndarray) -> np.ndarray:
        return tr_transform(self.st, x, self.normalize)

    def update(self, x: np.ndarray, previous: np.ndarray, missing: np.ndarray) -> None:
        tr_update(self.st, self.disc, x, previous, missing)

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tr_stats(self.st, self.normalize)

    def invert(self, values: np.ndarray) -> np.ndarray:
        scale, shift, _ = self.stats()
        return (values.astype(np.float64) * scale + shift).astype(np.float32)
