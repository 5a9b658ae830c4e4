"""Scoring for ``wafad evaluate``: feature series -> AD result documents, exactly as the local AD engine does it.

The model set-up, cold start on the preceding intervals, the handling of absent HC entities and missing
intervals, and the result documents are :class:`detectors.local_engine.LocalADEngine`'s own (its real-time series
path, with no saved model and no OpenSearch), the detector's AD rules applied as the engine applies them
(:func:`detectors.rules.apply_rules`), as production would see them.
"""

from __future__ import annotations

from typing import Any, Literal

from detectors.local_engine import LocalADEngine, local_detector_id
from offline_rcf.series import FeatureSeries
from wafad.catalogue import DetectorSpec


def score_detector(
    spec: DetectorSpec,
    series: dict[str, FeatureSeries],
    detector_start_ms: int,
    *,
    settings: Any,
    engine: Literal["native", "jvm"] = "native",
) -> list[dict[str, Any]]:
    """Result documents of ``spec`` started at ``detector_start_ms`` over ``series`` (one entry per entity)."""
    local = LocalADEngine(settings, None, engine=engine)
    det_id = local_detector_id(spec)
    history_from = detector_start_ms - local.history * local.interval_ms  # what a real-time start fetches
    docs: list[dict[str, Any]] = []
    for _entity, fs in sorted(series.items()):
        part = fs.select(fs.data_start >= history_from)
        # model=None: every series cold-starts as a new detector does; the engine applies the detector's AD rules
        docs += local._realtime_series(spec, det_id, part, detector_start_ms, [], model=None)
    return docs
