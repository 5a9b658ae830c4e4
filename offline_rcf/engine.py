"""The forest-engine contract shared by the JVM reference engine and the native numpy engine.

An engine is a ThresholdedRandomCutForest set up as the OpenSearch AD plugin sets up its models
(:func:`ad_profile`); it processes one base-dimension point per interval and returns a :class:`ScoreResult`
with the fields AD writes to its result documents.

Engines import this module, never the reverse: picking an engine by name is
:mod:`offline_rcf.engine_factory`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

EngineName = Literal["jvm", "native"]
ADEra = Literal["3.x", "2.14"]
ADMode = Literal["realtime", "historical", "preview"]
Imputation = Literal["PREVIOUS", "ZERO", "FIXED_VALUES", "LINEAR"]


@dataclass(frozen=True)
class ForestConfig:
    """Every builder setting that changes results (plus ``bbox_cache_fraction``, which only changes speed)."""

    base_dims: int
    shingle_size: int = 8
    num_trees: int = 50
    sample_size: int = 256
    time_decay: float = 1 / 2560
    transform_decay: float | None = 1 / 2560  # None: TRCF default 1/sample_size (historical, preview)
    output_after: int = 32
    initial_accept_fraction: float = 32 / 256
    anomaly_rate: float = 0.005
    normalize: bool = True  # TransformMethod.NORMALIZE (False: NONE, the <=2.14 era)
    streaming_impute: bool = True  # ForestMode.STREAMING_IMPUTE when shingle > 1
    imputation: Imputation = "PREVIOUS"
    alert_once: bool = True
    auto_adjust: bool = True
    ignore_near_expected_ratio: float | None = 0.2  # AD's default rule; None when the detector has rules
    bbox_cache_fraction: float = 1.0  # AD uses 0 for real time; 1.0 gives identical results, ~5x faster
    seed: int | None = None

    @property
    def dimensions(self) -> int:
        return self.base_dims * self.shingle_size


def ad_profile(
    base_dims: int,
    *,
    era: ADEra = "3.x",
    mode: ADMode = "realtime",
    shingle_size: int = 8,
    recency_emphasis: int = 2560,
    seed: int | None = None,
) -> ForestConfig:
    """The builder settings AD uses for ``mode`` in release ``era`` (see shared notes, opensearch_ad.md §2).

    >>> ad_profile(5).dimensions, ad_profile(5).output_after
    (40, 32)
    >>> ad_profile(1, mode="historical").transform_decay is None
    True
    >>> ad_profile(1, era="2.14").num_trees
    30
    """
    if era == "2.14":
        return ForestConfig(
            base_dims=base_dims,
            shingle_size=shingle_size,
            num_trees=30,
            time_decay=1e-4,
            transform_decay=None,
            output_after=32,
            normalize=False,
            streaming_impute=False,
            alert_once=False,
            auto_adjust=False,
            ignore_near_expected_ratio=None,
            seed=seed,
        )
    decay = 1 / recency_emphasis
    cfg = ForestConfig(
        base_dims=base_dims,
        shingle_size=shingle_size,
        time_decay=decay,
        transform_decay=decay if mode == "realtime" else None,
        output_after=max(shingle_size, 32) if mode == "realtime" else 32,
        streaming_impute=shingle_size > 1,
        seed=0 if mode == "preview" and seed is None else seed,
    )
    return cfg


@dataclass(frozen=True)
class ScoreResult:
    """One processed interval, in AD's result-document terms."""

    score: float  # anomaly_score (RCF score; 0 until the forest is ready)
    grade: float  # anomaly_grade, max(0, grade), multiples of 1/16 before corrections
    confidence: float  # min(1, data confidence)
    threshold: float
    attribution: tuple[float, ...] | None = None  # relevant_attribution per base feature, sums to 1; grade>0
    expected: tuple[float, ...] | None = None  # expected_values per base feature; grade>0
    past_values: tuple[float, ...] | None = None
    relative_index: int = 0  # < 0: the anomaly started that many intervals earlier
    total_updates: int = 0


class Engine(Protocol):
    """What an engine does; ``TRCFDetector`` (river) wraps one."""

    config: ForestConfig

    def process(self, point: Sequence[float], timestamp: int, missing: Sequence[int] | None = None) -> ScoreResult:
        """Score then update with one base-dimension point; ``timestamp`` is data_end in epoch seconds."""
        ...

    def state(self) -> bytes:
        """Serialised model state (the forest's own state mappers)."""
        ...
