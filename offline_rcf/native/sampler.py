"""Time-decayed weighted reservoir per tree (mirrors ``sampler.CompactSampler`` + ``AbstractStreamSampler``).

Each tree keeps a max-heap of ``capacity`` weights ``w = -seq * timeDecay + log(-log(u))``; a new point is
accepted while the sampler fills (``initialAcceptProbability``) or when its weight is below the heap maximum,
which is then evicted. Random numbers come from a per-tree splitmix64 stream (``rng_next_double``) so the whole
state is a few numpy arrays that serialise exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(cache=True)
def rng_next_double(rng: np.ndarray, t: int) -> float:
    """splitmix64 step of stream ``t``; a double in [0, 1) (plays the role of Java's ``Random.nextDouble``)."""
    s = rng[t] + _GOLDEN
    rng[t] = s
    z = s
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def initial_accept_probability(size: int, capacity: int, initial_accept_fraction: float) -> float:
    """``AbstractStreamSampler.initialAcceptProbability``."""
    if size < initial_accept_fraction * capacity:
        return 1.0
    if initial_accept_fraction >= 1.0:
        return 0.0
    return 1.0 - (size / capacity - initial_accept_fraction) / (1.0 - initial_accept_fraction)


@njit(cache=True)
def sampler_weight(rng: np.ndarray, t: int, seq: int, time_decay: float) -> np.float32:
    """``AbstractStreamSampler.computeWeight`` with sample weight 1 (no decay-rate changes)."""
    u = 0.0
    while u == 0.0:
        u = rng_next_double(rng, t)
    return np.float32(-seq * time_decay + math.log(-math.log(u)))


@njit(cache=True)
def heap_swap_down(sw: np.ndarray, sslot: np.ndarray, sseq: np.ndarray, t: int, start: int, size: int) -> None:
    cur = start
    while 2 * cur + 1 < size:
        mx = 2 * cur + 1
        if mx + 1 < size and sw[t, mx + 1] > sw[t, mx]:
            mx = mx + 1
        if sw[t, mx] > sw[t, cur]:
            sw[t, mx], sw[t, cur] = sw[t, cur], sw[t, mx]
            sslot[t, mx], sslot[t, cur] = sslot[t, cur], sslot[t, mx]
            sseq[t, mx], sseq[t, cur] = sseq[t, cur], sseq[t, mx]
            cur = mx
        else:
            break


@njit(cache=True)
def heap_evict_max(sw: np.ndarray, sslot: np.ndarray, sseq: np.ndarray, ssize: np.ndarray, t: int) -> int:
    """``CompactSampler.evictMax``: remove the heaviest entry, return its leaf slot."""
    slot = sslot[t, 0]
    size = ssize[t] - 1
    ssize[t] = size
    sw[t, 0] = sw[t, size]
    sslot[t, 0] = sslot[t, size]
    sseq[t, 0] = sseq[t, size]
    heap_swap_down(sw, sslot, sseq, t, 0, size)
    return slot


@njit(cache=True)
def heap_push(
    sw: np.ndarray, sslot: np.ndarray, sseq: np.ndarray, ssize: np.ndarray, t: int, w: np.float32, slot: int, seq: int
) -> None:
    """``CompactSampler.addPoint``: sift the new entry up."""
    cur = ssize[t]
    ssize[t] = cur + 1
    sw[t, cur] = w
    sslot[t, cur] = slot
    sseq[t, cur] = seq
    while cur > 0:
        par = (cur - 1) // 2
        if sw[t, par] < sw[t, cur]:
            sw[t, par], sw[t, cur] = sw[t, cur], sw[t, par]
            sslot[t, par], sslot[t, cur] = sslot[t, cur], sslot[t, par]
            sseq[t, par], sseq[t, cur] = sseq[t, cur], sseq[t, par]
            cur = par
        else:
            break
