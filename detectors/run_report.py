"""What a detector run did, and the unit of its fan-out: one series (the detector, or one HC entity) over a window.

:class:`SeriesJob` is everything a task needs to score one series and write its result documents (the features
travel with it, so a Dask worker needs no query of its own); :class:`SeriesOutcome` is what it did, and
:func:`finish_report` adds the outcomes of a run's series to its :class:`RunReport`, in series order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunReport:
    """What one detector run did."""

    detector: str
    detector_id: str
    mode: str
    engine: str  # "local" | "plugin"
    start: str
    end: str
    intervals: int = 0  # windows in range
    entities: int = 0  # series scored (1 for single-stream)
    results_written: int = 0
    anomalies: int = 0  # results with grade > 0
    errors: int = 0  # "No data" error results
    task_id: str | None = None
    state: str | None = None  # plugin: profile/task state
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SeriesJob:
    """One series of one detector run: score ``series`` from ``start_ms`` on and write its result documents."""

    detector: str
    mode: str
    start_ms: int
    key: str  # "" for a single-stream detector, else the entity's key
    series: Any  # offline_rcf.series.FeatureSeries (from ``start_ms`` less the cold-start history, real time)
    task_id: str | None = None  # historical runs: the run's task id, shared by all its series


@dataclass(frozen=True)
class SeriesOutcome:
    """What scoring one series did."""

    key: str
    results_written: int = 0
    anomalies: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    model_writes: int = 0  # 1 when its model was saved (real time), + 1 per conflicting write re-done

    @classmethod
    def of(cls, key: str, docs: Sequence[Mapping[str, Any]], written: int, elapsed_s: float, writes: int = 0):
        return cls(
            key,
            written,
            sum(1 for d in docs if (d.get("anomaly_grade") or 0) > 0),
            sum(1 for d in docs if d.get("error")),
            round(elapsed_s, 3),
            writes,
        )


def finish_report(report: RunReport, outcomes: Iterable[SeriesOutcome], plan_s: float = 0.0) -> RunReport:
    """``report`` with its series' outcomes added (elapsed: planning plus the series' own time)."""
    total = plan_s
    for o in sorted(outcomes, key=lambda o: o.key):
        report.results_written += o.results_written
        report.anomalies += o.anomalies
        report.errors += o.errors
        total += o.elapsed_s
    report.elapsed_s = round(total, 3)
    return report
