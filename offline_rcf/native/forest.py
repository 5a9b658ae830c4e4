"""The random cut forest: samplers plus trees over shared numpy arrays (mirrors ``RandomCutForest``).

Only the parts TRCF uses: ``update`` with internal shingling semantics (sequence numbers and the shingle-only
updates of ``PointStore.add``), ``isOutputReady`` (``totalUpdates >= outputAfter``), ``getAnomalyScore``,
``getAnomalyAttribution``, ``imputeMissingValues`` and ``getNearNeighborsInSample``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from offline_rcf.native.sampler import (
    heap_evict_max,
    heap_push,
    initial_accept_probability,
    rng_next_double,
    sampler_weight,
)
from offline_rcf.native.scoring import (
    forest_attribution,
    forest_impute,
    forest_neighbors,
    forest_score,
)
from offline_rcf.native.tree import tree_delete, tree_insert

TREE_ARRAYS = ("root", "left", "right", "cdim", "cval", "nmass", "bmin", "bmax", "free_int", "nfree_int")
LEAF_ARRAYS = ("lpt", "lmass", "free_leaf", "nfree_leaf")
SAMPLER_ARRAYS = ("sw", "sslot", "sseq", "ssize", "rng")
ARRAYS = TREE_ARRAYS + LEAF_ARRAYS + SAMPLER_ARRAYS


@njit(cache=True)
def forest_update(point, seq, time_decay, accept_fraction, root, left, right, cdim, cval, nmass, bmin, bmax,
                  free_int, nfree_int, lpt, lmass, free_leaf, nfree_leaf, sw, sslot, sseq, ssize,
                  rng) -> int:  # fmt: skip
    """``SamplerPlusTree.update`` for every tree; returns how many trees accepted the point."""
    n = root.shape[0]
    cap = lpt.shape[1]
    path = np.empty(cap + 1, dtype=np.int32)
    accepted = 0
    for t in range(n):
        w = sampler_weight(rng, t, seq, time_decay)
        size = ssize[t]
        initial = size < cap and rng_next_double(rng, t) < initial_accept_probability(size, cap, accept_fraction)
        if not (initial or (size > 0 and w < sw[t, 0])):
            continue
        if not initial:
            old = heap_evict_max(sw, sslot, sseq, ssize, t)
            tree_delete(t, lpt[t, old].copy(), root, left, right, cdim, cval, nmass, bmin, bmax, free_int,
                        nfree_int, lpt, lmass, free_leaf, nfree_leaf, path)  # fmt: skip
        slot = tree_insert(t, point, root, left, right, cdim, cval, nmass, bmin, bmax, free_int, nfree_int, lpt,
                           lmass, free_leaf, nfree_leaf, rng, path)  # fmt: skip
        heap_push(sw, sslot, sseq, ssize, t, w, slot, seq)
        accepted += 1
    return accepted


class Forest:
    """``RandomCutForest`` with internal shingling of ``base_dims``-wide inputs into ``dimensions``."""

    def __init__(
        self,
        dimensions: int,
        shingle_size: int,
        num_trees: int = 50,
        sample_size: int = 256,
        time_decay: float = 1 / 2560,
        output_after: int = 64,
        initial_accept_fraction: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.dimensions = dimensions
        self.shingle_size = shingle_size
        self.num_trees = num_trees
        self.sample_size = sample_size
        self.time_decay = float(time_decay)
        self.output_after = output_after
        self.initial_accept_fraction = float(initial_accept_fraction)
        self.total_updates = 0
        t, c, d = num_trees, sample_size, dimensions
        self.root = np.full(t, -1, dtype=np.int32)
        self.left = np.zeros((t, c - 1), dtype=np.int32)
        self.right = np.zeros((t, c - 1), dtype=np.int32)
        self.cdim = np.zeros((t, c - 1), dtype=np.int32)
        self.cval = np.zeros((t, c - 1), dtype=np.float32)
        self.nmass = np.zeros((t, c - 1), dtype=np.int32)
        self.bmin = np.zeros((t, c - 1, d), dtype=np.float32)
        self.bmax = np.zeros((t, c - 1, d), dtype=np.float32)
        self.free_int = np.tile(np.arange(c - 2, -1, -1, dtype=np.int32), (t, 1))
        self.nfree_int = np.full(t, c - 1, dtype=np.int32)
        self.lpt = np.zeros((t, c, d), dtype=np.float32)
        self.lmass = np.zeros((t, c), dtype=np.int32)
        self.free_leaf = np.tile(np.arange(c - 1, -1, -1, dtype=np.int32), (t, 1))
        self.nfree_leaf = np.full(t, c, dtype=np.int32)
        self.sw = np.zeros((t, c), dtype=np.float32)
        self.sslot = np.zeros((t, c), dtype=np.int32)
        self.sseq = np.zeros((t, c), dtype=np.int64)
        self.ssize = np.zeros(t, dtype=np.int32)
        self.rng = np.random.SeedSequence(seed).generate_state(t, dtype=np.uint64)
        self._cache: tuple | None = None
        self._tcache: tuple | None = None

    def is_output_ready(self) -> bool:
        return self.total_updates >= self.output_after

    def update(self, shingled_point: np.ndarray, shingle_only: bool = False) -> None:
        """``RandomCutForest.update(point, updateShingleOnly)`` given the already shingled point.

        The point store counts every call; trees see the point only once a full shingle exists
        (``nextSequenceIndex >= shingleSize``) and the call is not shingle-only.
        """
        seq = self.total_updates - (self.shingle_size - 1)
        self.total_updates += 1
        if self.total_updates < self.shingle_size or shingle_only:
            return
        forest_update(shingled_point, seq, self.time_decay,
                      self.initial_accept_fraction, *self._arrays())  # fmt: skip

    def _arrays(self) -> tuple:
        if self._cache is None:
            self._cache = tuple(getattr(self, name) for name in ARRAYS)
        return self._cache

    def _traversal_arrays(self) -> tuple:
        if self._tcache is None:
            self._tcache = (self.root, self.left, self.right, self.cdim, self.cval, self.nmass, self.bmin, self.bmax,
                            self.lpt, self.lmass)  # fmt: skip
        return self._tcache

    def score(self, point: np.ndarray) -> float:
        if not self.is_output_ready():
            return 0.0
        return float(forest_score(point, *self._traversal_arrays()))

    def attribution(self, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """DiVector (high, low) per dimension; ``high.sum() + low.sum()`` is the score."""
        if not self.is_output_ready():
            z = np.zeros(self.dimensions)
            return z, z.copy()
        return forest_attribution(np.asarray(point, dtype=np.float32), *self._traversal_arrays())

    def impute(self, point: np.ndarray, missing: list[int] | np.ndarray) -> np.ndarray:
        """``imputeMissingValues``: coordinate-wise weighted median of the trees' imputations."""
        p = np.asarray(point, dtype=np.float32).copy()
        if not self.is_output_ready() or len(missing) == 0:
            return p
        mask = np.zeros(self.dimensions, dtype=np.bool_)
        mask[np.asarray(missing, dtype=np.int64)] = True
        rows, _ = forest_impute(p, mask, *self._traversal_arrays())
        cols = np.flatnonzero(mask)
        sub = np.sort(rows[:, cols], axis=0)
        p[cols] = sub[(rows.shape[0] - 1) // 2]
        return p

    def near_neighbors(self, point: np.ndarray) -> list[tuple[np.ndarray, float, int]]:
        """``getNearNeighborsInSample``: distinct leaf points with (point, distance, count), closest first."""
        if not self.is_output_ready():
            return []
        pts, dist = forest_neighbors(np.asarray(point, dtype=np.float32), self.root, self.left, self.right,
                                     self.cdim, self.cval, self.lpt, self.lmass)  # fmt: skip
        merged: dict[bytes, list] = {}
        for row, dd in zip(pts, dist, strict=True):
            key = row.tobytes()
            if key in merged:
                merged[key][2] += 1
            else:
                merged[key] = [row, float(dd), 1]
        return sorted((tuple(v) for v in merged.values()), key=lambda v: v[1])

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for name in ARRAYS:
            setattr(self, name, np.ascontiguousarray(arrays[name]))
        self._cache = self._tcache = None
