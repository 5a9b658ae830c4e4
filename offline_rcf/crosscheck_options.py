"""The knobs of a cross-check: seeds, engine, AD mode, band widths, verdict thresholds, persistence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from offline_rcf.engine import ADMode, EngineName

DEFAULT_SEEDS = (101, 202, 303, 404, 505)


@dataclass
class CrossCheckOptions:
    """How :func:`offline_rcf.crosscheck.crosscheck` runs the replica and judges AD's results."""

    seeds: Sequence[int] = DEFAULT_SEEDS
    engine: EngineName = "jvm"
    mode: ADMode = "realtime"
    shingle_size: int = 8
    score_tolerance: float = 0.15
    score_floor: float = 0.05
    match_tolerance: int = 2
    min_agreement: float = 0.9
    min_spearman: float = 0.7
    history_intervals: int = 10_000  # how far before ``start`` the replica replays AD's stream
    state_dir: Path | None = None  # persist the seed ensembles here (continue the stream next time)
    window_delay_minutes: float | None = None  # for the late-data message
    model_check: bool = False  # also run the seeds on AD's recorded features (2x work; sharper causes)
    interval_ms: int | None = None  # the detector interval, to bound the results query (else read from the docs)
    bbox_cache_fraction: float = 1.0
