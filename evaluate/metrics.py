"""Detection quality counted against ground truth: pure functions over windows, incidents and graded intervals.

Definitions (``grace`` = ``grace_intervals`` detector intervals; times are data times, epoch ms):

- a window is **caught** by a detector that watches its field when one of its incidents *opens* (the "opened"
  event) after the window starts and no later than ``grace`` after it ends; the **delay** is minutes from the
  window's start to that opening. Overall, a window is caught when any evaluated detector watching it catches it
  (delay: the first);
- an incident is **false** when it overlaps no window (extended by ``grace``) of a field its detector watches;
  **precision** = incidents that hit a window / all incidents; false incidents are counted per simulated day of
  detector time (from the detector start to the run's end);
- the **grade level**: a window is caught when a result with grade > 0 ends inside it (+ grace); graded intervals
  are counted inside vs outside the watched windows;
- **cold start**: minutes from the detector's start to its first graded result from a ready model.

Several runs (seeds) are counted separately and summed (:meth:`Tally.merge`), never matched across runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evaluate.replay import IncidentSpan

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Window:
    """One labelled anomaly window."""

    field: str
    start_ms: int
    end_ms: int
    intensity: float = 0.0


@dataclass(frozen=True)
class Span:
    """A burst or a gap of the traffic shape (not an anomaly)."""

    kind: str
    start_ms: int
    end_ms: int


@dataclass
class DetectorRun:
    """What one detector produced in one run."""

    watches: frozenset[str]
    incidents: list[IncidentSpan]
    graded: list[tuple[int, int]]
    cold_start_min: float | None = None


@dataclass
class RunInput:
    """One run (one seed): its truth and each detector's output."""

    windows: list[Window]
    detectors: dict[str, DetectorRun]
    detector_start_ms: int
    end_ms: int
    interval_ms: int
    grace_intervals: int = 5
    shape: list[Span] = field(default_factory=list)

    @property
    def days(self) -> float:
        return (self.end_ms - self.detector_start_ms) / DAY_MS

    @property
    def grace_ms(self) -> int:
        return self.grace_intervals * self.interval_ms


@dataclass
class Tally:
    """Counts that add up across runs; :meth:`metrics` turns them into rates."""

    windows: int = 0
    caught: int = 0
    caught_fast: int = 0  # caught with a delay of at most `fast_intervals`
    delays_min: list[float] = field(default_factory=list)
    incidents: int = 0
    false_incidents: int = 0
    false_in_bursts: int = 0
    false_in_gaps: int = 0
    grade_windows_caught: int = 0
    graded_in: int = 0
    graded_out: int = 0
    days: float = 0.0
    cold_start_min: list[float] = field(default_factory=list)

    def merge(self, other: Tally) -> Tally:
        out = Tally()
        for name, value in asdict(self).items():
            setattr(out, name, value + getattr(other, name))
        return out

    def metrics(self) -> dict[str, Any]:
        """The report's numbers (None where there is nothing to divide by)."""

        def ratio(a: float, b: float) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "windows": self.windows,
            "caught": self.caught,
            "recall": ratio(self.caught, self.windows),
            "recall_fast": ratio(self.caught_fast, self.windows),
            "delay_median_min": round(statistics.median(self.delays_min), 2) if self.delays_min else None,
            "delay_max_min": round(max(self.delays_min), 2) if self.delays_min else None,
            "incidents": self.incidents,
            "false_incidents": self.false_incidents,
            "false_incidents_per_day": ratio(self.false_incidents, self.days),
            "false_in_bursts": self.false_in_bursts,
            "false_in_gaps": self.false_in_gaps,
            "precision": ratio(self.incidents - self.false_incidents, self.incidents),
            "grade_recall": ratio(self.grade_windows_caught, self.windows),
            "grade_intervals_in": self.graded_in,
            "grade_intervals_out": self.graded_out,
            "grade_false_per_day": ratio(self.graded_out, self.days),
            "grade_precision": ratio(self.graded_in, self.graded_in + self.graded_out),
            "cold_start_min": round(max(self.cold_start_min), 2) if self.cold_start_min else None,
            "days": round(self.days, 4),
        }


def _overlaps(start: int, end: int, lo: int, hi: int) -> bool:
    return start < hi and end > lo


def first_opening(incidents: Iterable[IncidentSpan], w: Window, grace_ms: int) -> int | None:
    """The earliest ``opened_ms`` in ``(w.start, w.end + grace]``, None when none opened then."""
    times = [i.opened_ms for i in incidents if w.start_ms < i.opened_ms <= w.end_ms + grace_ms]
    return min(times) if times else None


def is_false(inc: IncidentSpan, windows: Sequence[Window], run: RunInput) -> bool:
    end = inc.end_ms if inc.end_ms is not None else run.end_ms
    end = max(end, inc.opened_ms)
    return not any(_overlaps(inc.start_ms, end, w.start_ms, w.end_ms + run.grace_ms) for w in windows)


def tally_detector(run: RunInput, name: str, *, fast_intervals: int = 5) -> Tally:
    """One detector's counts in one run."""
    det = run.detectors[name]
    watched = [w for w in run.windows if w.field in det.watches]
    t = Tally(days=run.days, windows=len(watched), incidents=len(det.incidents))
    for w in watched:
        opened = first_opening(det.incidents, w, run.grace_ms)
        if opened is not None:
            t.caught += 1
            t.delays_min.append((opened - w.start_ms) / 60_000)
            t.caught_fast += opened - w.start_ms <= fast_intervals * run.interval_ms
        if any(w.start_ms < e <= w.end_ms + run.grace_ms for _s, e in det.graded):
            t.grade_windows_caught += 1
    for inc in det.incidents:
        if is_false(inc, watched, run):
            t.false_incidents += 1
            end = inc.end_ms if inc.end_ms is not None else run.end_ms
            kinds = {
                s.kind for s in run.shape if _overlaps(inc.start_ms, max(end, inc.opened_ms), s.start_ms, s.end_ms)
            }
            t.false_in_bursts += "burst" in kinds
            t.false_in_gaps += "gap" in kinds
    for s, e in det.graded:
        inside = any(_overlaps(s, e, w.start_ms, w.end_ms + run.grace_ms) for w in watched)
        t.graded_in += inside
        t.graded_out += not inside
    if det.cold_start_min is not None:
        t.cold_start_min.append(det.cold_start_min)
    return t


def tally_overall(run: RunInput, *, fast_intervals: int = 5) -> Tally:
    """All evaluated detectors together: windows any of them watches, incidents and graded intervals summed."""
    per = [tally_detector(run, n, fast_intervals=fast_intervals) for n in run.detectors]
    t = Tally(days=run.days)
    for d in per:
        t.incidents += d.incidents
        t.false_incidents += d.false_incidents
        t.false_in_bursts += d.false_in_bursts
        t.false_in_gaps += d.false_in_gaps
        t.graded_in += d.graded_in
        t.graded_out += d.graded_out
        t.cold_start_min += d.cold_start_min
    for w in run.windows:
        watchers = [d for d in run.detectors.values() if w.field in d.watches]
        if not watchers:
            continue
        t.windows += 1
        opened = [o for d in watchers if (o := first_opening(d.incidents, w, run.grace_ms)) is not None]
        if opened:
            t.caught += 1
            t.delays_min.append((min(opened) - w.start_ms) / 60_000)
            t.caught_fast += min(opened) - w.start_ms <= fast_intervals * run.interval_ms
        if any(any(w.start_ms < e <= w.end_ms + run.grace_ms for _s, e in d.graded) for d in watchers):
            t.grade_windows_caught += 1
    return t
