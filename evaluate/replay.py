"""Incidents from result documents, counted exactly as the alerter counts them, with the time each one opened.

Documents go through :func:`alerting.incidents.advance` with the detector's policy
(:func:`alerting.policy.detector_policy`) one data interval at a time, so an "opened" event is dated by the
``data_end_time`` of the result that opened it (confirmation included), as the alerter would send it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Any

from alerting.incidents import AlertPolicy, IncidentState, advance, has_grade


@dataclass(frozen=True)
class IncidentSpan:
    """One incident of one detector: from ``start_ms`` (first flagged data), opened at ``opened_ms``."""

    detector: str
    entity: str | None
    start_ms: int
    opened_ms: int
    end_ms: int | None  # None: still open when the run ended
    max_grade: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def replay_incidents(detector: str, docs: Iterable[Mapping[str, Any]], policy: AlertPolicy) -> list[IncidentSpan]:
    """The incidents ``docs`` (one detector's results, any order) open, in opening order."""
    state = IncidentState()
    found: dict[str, dict[str, Any]] = {}
    ordered = sorted((d for d in docs if d.get("data_end_time") is not None), key=lambda d: int(d["data_end_time"]))
    for end, group in groupby(ordered, key=lambda d: int(d["data_end_time"])):
        for event in advance(state, list(group), policy):
            inc = event.incident
            if event.kind == "opened":
                entity = ",".join(f"{k}={v}" for k, v in sorted(inc.entity.items())) if inc.entity else None
                found[inc.key] = {
                    "detector": detector,
                    "entity": entity,
                    "start_ms": inc.start_ms,
                    "opened_ms": end,
                    "end_ms": None,
                    "max_grade": inc.max_grade,
                }
            elif inc.key in found:
                found[inc.key].update(end_ms=inc.end_ms, max_grade=inc.max_grade)
    return [IncidentSpan(**v) for v in found.values()]


def graded_intervals(docs: Iterable[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """``(data_start, data_end)`` of the real-time results with grade > 0 (the raw AD level)."""
    return sorted(
        (int(d["data_start_time"]), int(d["data_end_time"]))
        for d in docs
        if has_grade(d) and not d.get("task_id") and float(d["anomaly_grade"]) > 0
    )


def cold_start_minutes(docs: Iterable[Mapping[str, Any]], detector_start_ms: int) -> float | None:
    """Minutes from the detector's start to the end of its first graded result from a ready model (score > 0).

    Results of the cold-start history are available when the detector starts: they count as 0."""
    ready = [int(d["data_end_time"]) for d in docs if has_grade(d) and float(d.get("anomaly_score") or 0.0) > 0]
    if not ready:
        return None
    return max(0.0, (min(ready) - detector_start_ms) / 60_000)
