"""The evaluation report: metrics overall and per detector, each run's windows and incidents, and its JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from evaluate.metrics import RunInput, Tally, first_opening, is_false

#: The keys every metrics block has (``--json`` promises these, overall and per detector).
HEADLINE = ("recall", "false_incidents_per_day", "precision", "delay_median_min", "delay_max_min")


def iso_ms(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class EvaluationReport:
    """``overall`` and ``per_detector[name]``: :meth:`evaluate.metrics.Tally.metrics` dicts (``HEADLINE`` keys)."""

    profile: str
    description: str
    seeds: list[int]
    days: float
    engine: str
    detectors: list[str]
    grace_intervals: int
    interval_minutes: int
    overall: dict[str, Any]
    per_detector: dict[str, dict[str, Any]]
    runs: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The whole report as one line of JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


def run_details(seed: int, run: RunInput, shape_labels: list[dict[str, Any]]) -> dict[str, Any]:
    """One run for people and the dashboard: each window with who caught it and when, each incident."""
    windows = []
    for w in run.windows:
        caught = {}
        for name, det in run.detectors.items():
            if w.field in det.watches and (opened := first_opening(det.incidents, w, run.grace_ms)) is not None:
                caught[name] = round((opened - w.start_ms) / 60_000, 2)
        windows.append(
            {"field": w.field, "start": iso_ms(w.start_ms), "end": iso_ms(w.end_ms), "intensity": round(w.intensity, 3),
             "caught_by": caught}
        )  # fmt: skip
    incidents = []
    for name, det in run.detectors.items():
        watched = [w for w in run.windows if w.field in det.watches]
        for inc in det.incidents:
            incidents.append(
                {"detector": name, "entity": inc.entity, "start": iso_ms(inc.start_ms), "opened": iso_ms(inc.opened_ms),
                 "end": iso_ms(inc.end_ms), "max_grade": round(inc.max_grade, 3), "false": is_false(inc, watched, run)}
            )  # fmt: skip
    incidents.sort(key=lambda i: (i["opened"], i["detector"]))
    return {
        "seed": seed,
        "detector_start": iso_ms(run.detector_start_ms),
        "end": iso_ms(run.end_ms),
        "windows": windows,
        "shape": shape_labels,
        "incidents": incidents,
        "cold_start_min": {n: d.cold_start_min for n, d in run.detectors.items()},
    }


def summarise(tallies: dict[str, Tally], overall: Tally) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    return overall.metrics(), {name: t.metrics() for name, t in tallies.items()}
