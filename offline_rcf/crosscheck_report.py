"""The cross-check's report: one :class:`IntervalCheck` per AD result, the :class:`CrossCheckReport` over a
window (``to_dict()`` is what the CLI, the flow and the dashboard read) and its verdict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from offline_rcf.crosscheck_options import CrossCheckOptions

Verdict = Literal["consistent", "inconsistent", "insufficient_data"]
MIN_COMPARED = 10


@dataclass
class IntervalCheck:
    """One interval: AD's result against the replica's seed band."""

    data_start_time: int  # epoch ms
    data_end_time: int
    ad_score: float | None
    ad_grade: float | None
    band_low: float | None
    band_high: float | None
    grade_band_low: float | None
    grade_band_high: float | None
    agree: bool
    cause: str | None = None
    compared: bool = True
    entity: dict[str, str] | None = None
    ad_features: list[float | None] = field(default_factory=list)
    index_features: list[float | None] = field(default_factory=list)
    replica_score: float | None = None  # median over seeds
    late_data: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class CrossCheckReport:
    detector: str
    detector_id: str
    start: datetime
    end: datetime
    verdict: Verdict
    spearman: float | None
    precision: float | None
    recall: float | None
    intervals: list[IntervalCheck]
    seeds: list[int]
    feature_names: list[str]
    summary: str = ""
    window_delay_minutes: float | None = None
    missing_results: int = 0  # single stream: intervals inside the window with no AD result at all

    @property
    def disagreements(self) -> list[IntervalCheck]:
        return [i for i in self.intervals if not i.agree]

    @property
    def agreement_rate(self) -> float | None:
        compared = [i for i in self.intervals if i.compared]
        return None if not compared else sum(i.agree for i in compared) / len(compared)

    def to_dict(self) -> dict[str, Any]:
        compared = [i for i in self.intervals if i.compared]
        return {
            "detector": self.detector,
            "detector_id": self.detector_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "verdict": self.verdict,
            "summary": self.summary,
            "spearman": _jsonable(self.spearman),
            "precision": _jsonable(self.precision),
            "recall": _jsonable(self.recall),
            "agreement_rate": _jsonable(self.agreement_rate),
            "n_intervals": len(self.intervals),
            "n_compared": len(compared),
            "n_disagree": len(self.disagreements),
            "n_late_data": sum(i.late_data for i in self.intervals),
            "n_missing_results": self.missing_results,
            "seeds": self.seeds,
            "feature_names": self.feature_names,
            "window_delay_minutes": self.window_delay_minutes,
            "intervals": [i.to_dict() for i in self.intervals],
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.floating):
        return _jsonable(float(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


def missing_intervals(intervals: Sequence[IntervalCheck]) -> int:
    """Intervals between the first and last checked one that have no AD result (gaps in the grid).

    >>> iv = [IntervalCheck(s, s + 60, 1.0, 0.0, 0, 2, 0, 0, True) for s in (0, 60, 240, 300)]
    >>> missing_intervals(iv)
    2
    """
    if len(intervals) < 2:
        return 0
    starts = np.array(sorted(i.data_start_time for i in intervals), dtype=np.int64)
    iv = int(np.median(np.array([i.data_end_time - i.data_start_time for i in intervals])))
    if iv <= 0:
        return 0
    gaps = np.diff(starts)
    return int(sum(round(g / iv) - 1 for g in gaps if g > 1.5 * iv))


def verdict(report: CrossCheckReport, opts: CrossCheckOptions) -> tuple[Verdict, str]:
    compared = [i for i in report.intervals if i.compared]
    if len(compared) < MIN_COMPARED:
        return "insufficient_data", f"only {len(compared)} intervals could be compared (need {MIN_COMPARED})"
    rate = report.agreement_rate or 0.0
    bad = report.disagreements
    late = sum(1 for i in bad if i.cause and i.cause.startswith(("late data", "no data", "data")))
    model = sum(1 for i in bad if i.cause and i.cause.startswith("model"))
    rho_ok = report.spearman is None or report.spearman >= opts.min_spearman
    text = (
        f"{rate:.0%} of {len(compared)} intervals inside the {len(report.seeds)}-seed band"
        + (f", Spearman {report.spearman:.2f}" if report.spearman is not None else "")
        + (f"; {late} disagree because the data changed after AD scored them" if late else "")
        + (f"; {model} disagree on identical inputs" if model else "")
        + (
            f"; {report.missing_results} intervals have no AD result (job not running, or zero-grade results "
            "dropped under indexing pressure)"
            if report.missing_results
            else ""
        )
    )
    if late >= max(2, math.ceil(0.01 * len(compared))):  # seeds never make inputs differ: systematic
        return "inconsistent", text
    if rate >= opts.min_agreement and rho_ok:
        return "consistent", text
    return "inconsistent", text
