"""``wafad evaluate``: detection quality measured over many seeded scenarios, against the simulator's labels.

The Python API (stable; E2 tunes with it on some seeds and reports on others)::

    from evaluate import evaluate_profile, PROFILES
    report = evaluate_profile(profile: str | Profile, *, days: float = 1.0, seeds: Sequence[int] = (1, 2, 3),
                              detectors: Sequence[str] | None = None, engine: "native" | "jvm" = "native",
                              settings=None, grace_intervals: int = 5, warmup: timedelta | None = None,
                              progress: Callable[[str, int, int], None] | None = None) -> EvaluationReport
    report.overall["recall"], report.per_detector["waf-block-action"]["false_incidents_per_day"]
    # keys: recall, recall_fast (delay <= 5 intervals), delay_median_min, delay_max_min, incidents,
    # false_incidents, false_incidents_per_day, false_in_bursts, false_in_gaps, precision, grade_recall,
    # grade_intervals_in / _out, grade_false_per_day, grade_precision, cold_start_min, windows, caught, days
    report.runs[i]   # per seed: windows (caught_by: {detector: delay_min}), incidents (false: bool), shape
    report.to_json() # one line

Profiles (:mod:`evaluate.profiles`): ``demo``, ``subtle``, ``repeats``, ``diurnal``, ``bursts``, ``gaps``.
Lower-level pieces: ``evaluate.runner.run_scenario(draw, specs, settings)`` -> ``metrics.RunInput`` (one seed's
windows, incidents and graded intervals) and ``evaluate.metrics.tally_detector/tally_overall`` (the counting).
Definitions of every number: :mod:`evaluate.metrics`.
"""

from __future__ import annotations

from evaluate.profiles import PROFILES, Profile, ProfileError, draw_scenario, get_profile
from evaluate.report import EvaluationReport
from evaluate.runner import DEFAULT_SEEDS, evaluate_profile

__all__ = [
    "DEFAULT_SEEDS",
    "PROFILES",
    "EvaluationReport",
    "Profile",
    "ProfileError",
    "draw_scenario",
    "evaluate_profile",
    "get_profile",
]
