"""Band statistics of a cross-check: the replica's seed band, rank correlation of scores, precision/recall of
anomalous intervals, and which intervals' inputs differ between AD and the index.

The band is the min..max over seeds widened by ``score_tolerance`` (relative) and ``score_floor`` (absolute):
with K seeds a further seed lands outside the raw min..max with probability 2/(K+1).
"""

from __future__ import annotations

import numpy as np

from offline_rcf.crosscheck_options import CrossCheckOptions


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation over the pairs where both are finite; None with < 3 pairs or a constant side."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(a[ok], b[ok]).statistic)


def _matched(flags: np.ndarray, other: np.ndarray, tolerance: int) -> int:
    hits = 0
    for i in np.flatnonzero(flags):
        lo, hi = max(0, i - tolerance), min(len(other), i + tolerance + 1)
        hits += bool(other[lo:hi].any())
    return hits


def precision_recall(
    ad_flags: np.ndarray, replica_flags: np.ndarray, tolerance: int = 2
) -> tuple[float | None, float | None]:
    """Anomalous intervals, AD against the replica (reference), matched within ``tolerance`` intervals.

    >>> precision_recall(np.array([0, 1, 0, 0, 0, 1]), np.array([0, 0, 1, 0, 0, 0]), tolerance=1)
    (0.5, 1.0)
    """
    ad_flags, replica_flags = np.asarray(ad_flags, bool), np.asarray(replica_flags, bool)
    n_ad, n_rep = int(ad_flags.sum()), int(replica_flags.sum())
    precision = _matched(ad_flags, replica_flags, tolerance) / n_ad if n_ad else None
    recall = _matched(replica_flags, ad_flags, tolerance) / n_rep if n_rep else None
    return precision, recall


def features_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: any feature where AD's recorded value and the index value differ (AD rounds to 3 dp)."""
    both_nan = np.isnan(a) & np.isnan(b)
    close = np.isclose(a, b, rtol=1e-6, atol=1e-3)
    return ~(both_nan | close).all(axis=1)


def seed_band(scores: np.ndarray, opts: CrossCheckOptions) -> tuple[float, float]:
    """The seeds' min..max widened by ``opts.score_tolerance`` (relative) and ``opts.score_floor`` (absolute)."""
    lo, hi = float(np.nanmin(scores)), float(np.nanmax(scores))
    return max(0.0, lo * (1 - opts.score_tolerance) - opts.score_floor), hi * (
        1 + opts.score_tolerance
    ) + opts.score_floor


def in_band(v: float, lo: float, hi: float) -> bool:
    """``lo <= v <= hi`` up to rounding."""
    return lo - 1e-12 <= v <= hi + 1e-12
