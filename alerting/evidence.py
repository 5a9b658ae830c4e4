"""Statistical evidence an incident needs before it opens: its counts against the counts the model expected.

A flagged result says the model found the interval unusual; on sparse counts that is often chance (7 BLOCKs where
2 were expected happens in one minute of ten thousand ordinary ones). A pending incident therefore accumulates,
per feature, the actual values ``A`` and the expected values ``E`` of every result since its first flag (the
result's own expected values when AD gives them, i.e. when it is flagged, else those expected at the flag), and
opens only when ``A`` is improbable under a count model with mean ``E``:

* **Poisson** (``dispersion`` 1): ``p = P(X >= A)`` for ``A > E`` (``P(X <= A)`` below), ``X ~ Poisson(E)``;
* **negative binomial** (``dispersion`` ``d > 1``): the same tail for ``X`` with mean ``E`` and variance ``d * E``
  (``n = E / (d - 1)``, ``p = 1 / d``; sums of such counts keep ``p``, so accumulating is exact).

``d`` is the larger of the detector's stated factor and the series' own over-dispersion, estimated from its recent
quiet intervals (AD writes expected values only for flagged results, so the quiet intervals' actual values are what
there is): the variance from successive differences (``sum((x[t] - x[t-1])^2) / (2 (n - 1))``, blind to slow trends
such as the diurnal curve) over their mean, from :data:`MIN_SAMPLES` values on, capped at :data:`MAX_DISPERSION`.
Several features: the smallest p-value times the number of features (Bonferroni). Expected values below
:data:`EXPECTED_FLOOR` per interval count as that floor, so "3 where 0 were expected" is not infinitely strong.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

from scipy import stats

EXPECTED_FLOOR = 0.5  # per interval
MIN_SAMPLES = 10
MAX_DISPERSION = 10.0
RECENT = 60  # quiet intervals remembered per series


def count_pvalue(actual: float, expected: float, dispersion: float = 1.0) -> float:
    """The tail probability of ``actual`` (in the direction it moved) for a count with mean ``expected``.

    >>> round(count_pvalue(7, 2), 4)   # 7 BLOCKs against 2 expected in one minute
    0.0045
    >>> count_pvalue(2, 2)
    1.0
    """
    mean = max(float(expected), EXPECTED_FLOOR)
    k = float(actual)
    if abs(k - mean) < 1e-12:
        return 1.0
    if dispersion <= 1.0 + 1e-9:
        dist = stats.poisson(mean)
    else:
        dist = stats.nbinom(mean / (dispersion - 1.0), 1.0 / dispersion)
    p = dist.sf(math.ceil(k) - 1) if k > mean else dist.cdf(math.floor(k))  # P(X >= ceil k) / P(X <= floor k)
    return min(1.0, float(p))


def evidence_pvalue(totals: Mapping[str, Sequence[float]], dispersion: Mapping[str, float] | float = 1.0) -> float:
    """Bonferroni-combined p-value of accumulated ``{feature_id: (actual, expected)}``; 1.0 when empty."""
    if not totals:
        return 1.0
    disp = dispersion if isinstance(dispersion, Mapping) else dict.fromkeys(totals, float(dispersion))
    best = min(count_pvalue(a, e, disp.get(f, 1.0)) for f, (a, e) in totals.items())
    return min(1.0, best * len(totals))


def estimate_dispersion(values: Sequence[float], floor: float = 1.0) -> float:
    """Variance/mean of recent quiet values (successive-difference variance), at least ``floor``.

    >>> estimate_dispersion([5, 5, 5])  # too few values: the stated floor
    1.0
    >>> estimate_dispersion([0, 10] * 10) > 5
    True
    """
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if len(xs) < MIN_SAMPLES:
        return floor
    mean = sum(xs) / len(xs)
    if mean <= 0:
        return floor
    var = sum((b - a) ** 2 for a, b in itertools.pairwise(xs)) / (2 * (len(xs) - 1))
    return max(floor, min(MAX_DISPERSION, var / mean))


def remember(recent: dict[str, list[float]], values: Mapping[str, float]) -> None:
    """Append one quiet interval's feature values, keeping the last :data:`RECENT` per feature."""
    for fid, value in values.items():
        if math.isnan(value):
            continue
        series = recent.setdefault(fid, [])
        series.append(float(value))
        del series[:-RECENT]
