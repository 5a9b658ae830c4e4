"""``evaluate_profile``: simulate each seed's scenario, compute features, score, count incidents, report.

Per seed: the scenario's records block by block (:mod:`evaluate.records`) into the detectors' features
(:mod:`evaluate.features`), each detector scored as the local engine scores it (:mod:`evaluate.scoring`),
incidents replayed with the detector's alert policy (:mod:`evaluate.replay`), then counted against the labels
(:mod:`evaluate.metrics`). ``progress(stage, done, total)`` is called as it goes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

from alerting.policy import detector_policy
from dashboard.views.common import watched_by
from evaluate.features import FeatureAccumulator, check_supported
from evaluate.metrics import DetectorRun, RunInput, Span, Tally, Window, tally_detector, tally_overall
from evaluate.profiles import Profile, ScenarioDraw, draw_scenario, get_profile
from evaluate.records import block_count, scenario_records
from evaluate.replay import cold_start_minutes, graded_intervals, replay_incidents
from evaluate.report import EvaluationReport, run_details, summarise
from evaluate.scoring import score_detector
from offline_rcf.series import to_epoch_ms
from wafad.catalogue import DETECTORS, DetectorSpec, get_detector

Progress = Callable[[str, int, int], None]
DEFAULT_SEEDS = (1, 2, 3)


def default_detectors() -> list[DetectorSpec]:
    """Every single-stream catalogue detector (HC detectors on request: they cost one model per entity)."""
    return [d for d in DETECTORS if not d.is_high_cardinality]


def resolve_detectors(names: Sequence[str] | None) -> list[DetectorSpec]:
    """Catalogue specs by name (``KeyError`` lists the catalogue); None: :func:`default_detectors`."""
    specs = default_detectors() if not names else [get_detector(n) for n in names]
    for spec in specs:
        check_supported(spec)
    return specs


def evaluate_profile(
    profile: str | Profile,
    *,
    days: float = 1.0,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    detectors: Sequence[str] | None = None,
    engine: Literal["native", "jvm"] = "native",
    settings: Any = None,
    grace_intervals: int = 5,
    warmup: timedelta | None = None,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Run ``profile`` for each seed (``days`` each after the warm-up) and count detection quality."""
    from wafad.settings import get_settings

    t0 = time.perf_counter()
    settings = settings or get_settings()
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if warmup is not None:
        prof = dataclasses.replace(prof, warmup=warmup)
    if not seeds:
        raise ValueError("at least one seed is needed")
    specs = resolve_detectors(detectors)
    tallies: dict[str, Tally] = {s.name: Tally() for s in specs}
    overall = Tally()
    runs = []
    for seed in seeds:
        draw = draw_scenario(prof, int(seed), days=days)
        run = run_scenario(draw, specs, settings, engine=engine, grace_intervals=grace_intervals, progress=progress)
        for name in tallies:
            tallies[name] = tallies[name].merge(tally_detector(run, name))
        overall = overall.merge(tally_overall(run))
        runs.append(run_details(int(seed), run, draw.scenario.shape.labels()))
    overall_m, per_m = summarise(tallies, overall)
    return EvaluationReport(
        profile=prof.name,
        description=prof.description,
        seeds=[int(s) for s in seeds],
        days=float(days),
        engine=engine,
        detectors=[s.name for s in specs],
        grace_intervals=int(grace_intervals),
        interval_minutes=int(settings.detector_interval_minutes),
        overall=overall_m,
        per_detector=per_m,
        runs=runs,
        elapsed_s=round(time.perf_counter() - t0, 2),
    )


def run_scenario(
    draw: ScenarioDraw,
    specs: Sequence[DetectorSpec],
    settings: Any,
    *,
    engine: Literal["native", "jvm"] = "native",
    grace_intervals: int = 5,
    progress: Progress | None = None,
) -> RunInput:
    """One seed end to end: records -> features -> result documents -> incidents, as a :class:`RunInput`."""
    sc = draw.scenario
    interval_ms = int(settings.detector_interval_minutes) * 60_000
    start_ms, end_ms = to_epoch_ms(sc.start), to_epoch_ms(sc.end)
    acc = FeatureAccumulator(specs, start_ms, end_ms, interval_ms)
    total = block_count(sc)
    for done, records in enumerate(
        scenario_records(sc, account=settings.aws_account_id, region=settings.aws_region), 1
    ):
        acc.add(records)
        if progress:
            progress(f"seed {draw.seed}: simulate", done, total)
    detector_start_ms = to_epoch_ms(draw.detector_start)
    outputs: dict[str, DetectorRun] = {}
    for n, spec in enumerate(specs, 1):
        docs = score_detector(spec, acc.series(spec), detector_start_ms, settings=settings, engine=engine)
        outputs[spec.name] = DetectorRun(
            watches=watched_by(spec.watches),
            incidents=replay_incidents(spec.name, docs, detector_policy(spec, settings)),
            graded=graded_intervals(d for d in docs if int(d["data_start_time"]) >= detector_start_ms),
            cold_start_min=cold_start_minutes(docs, detector_start_ms),
        )
        if progress:
            progress(f"seed {draw.seed}: score", n, len(specs))
    windows = [
        Window(a.field, to_epoch_ms(a.start), to_epoch_ms(a.end), a.intensity)
        for a in sorted(sc.anomalies, key=lambda a: a.start)
    ]
    shape = [Span(x["kind"], to_epoch_ms(x["start"]), to_epoch_ms(x["end"])) for x in sc.shape.labels()]
    end_ms = end_ms - end_ms % interval_ms
    return RunInput(windows, outputs, detector_start_ms, end_ms, interval_ms, grace_intervals, shape)
