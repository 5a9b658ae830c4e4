"""``AnomalyDescriptor.setDataConfidence``: confidence from the number of inputs and the data quality."""

from __future__ import annotations

import math


def data_confidence(time_decay: float, values_seen: int, output_after: int, data_quality: float) -> float:
    """0 before any input, ``min(1, quality)`` once ``values_seen * time_decay >= 20``, else the ramp
    ``quality * (e^{λN} - e^{λ min(N, outputAfter)}) / (e^{λN} - 1)``."""
    lam = time_decay
    exponent = values_seen * lam
    if exponent == 0:
        return 0.0
    if exponent >= 20:
        return min(1.0, data_quality)
    e_total = math.exp(exponent)
    return max(0.0, data_quality * (e_total - math.exp(lam * min(values_seen, output_after))) / (e_total - 1))
