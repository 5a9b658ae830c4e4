"""Stage 5: the detectors (AD plugin, or locally the offline engine writing AD result documents).

Locally the work fans out on the flow's task runner (:mod:`flows.runners`: Dask or serial): one task reads a
detector's features for a window and cuts them into series jobs (:meth:`detectors.local_engine.LocalADEngine.plan`),
one task per series scores it and writes its result documents (``run_series``); the flow adds the outcomes up.
A series' documents depend only on its job, so they are the same on any runner, and a task re-run after a worker
died rewrites the same documents (deterministic ids) and saves its model over the version it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from prefect import get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE

from detectors.run_report import RunReport, SeriesJob, SeriesOutcome, finish_report
from tasks.common import retrying
from tasks.ingest import report_dict
from wafad.settings import Settings

Mode = Literal["realtime", "historical"]


@task(name="run-detectors", cache_policy=NO_CACHE, **retrying())
def run_detectors_task(
    settings: Settings,
    start: datetime,
    end: datetime,
    mode: Mode = "historical",
    detectors: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The catalogue's detectors (``detectors``: a subset by name) over ``[start, end)``, in one task."""
    from detectors.service import run_detectors

    logger = get_run_logger()

    def progress(name: str, done: int, total: int) -> None:
        if done == total:
            logger.info("detector %s: %d series scored", name, total)

    reports = [
        report_dict(r) for r in run_detectors(settings, start, end, mode=mode, detectors=detectors, progress=progress)
    ]
    for r in reports:
        log_report(r)
    return reports


def _engine(settings: Settings) -> Any:
    from detectors.local_engine import LocalADEngine
    from wafad.clients import opensearch_client

    return LocalADEngine(settings, opensearch_client(settings))


@task(name="plan-detector", cache_policy=NO_CACHE, task_run_name="plan-{name}-{start:%Y%m%dT%H%M}", **retrying())
def plan_detector_task(
    settings: Settings, name: str, start: datetime, end: datetime, mode: Mode, task_id: str | None = None
) -> tuple[RunReport, list[SeriesJob]]:
    """Read ``name``'s features over ``[start, end)``: the run's report and one job per series."""
    from wafad.catalogue import get_detector

    return _engine(settings).plan(get_detector(name), start, end, mode, task_id=task_id)


@task(name="score-series", cache_policy=NO_CACHE, task_run_name="score-{job.detector}-{job.key}", **retrying())
def score_series_task(settings: Settings, job: SeriesJob) -> SeriesOutcome:
    """Score one series over its window and write its result documents (real time: and save its model)."""
    from wafad.catalogue import get_detector

    return _engine(settings).run_series(get_detector(job.detector), job)


def fan_out_detectors(
    settings: Settings,
    windows: Sequence[tuple[datetime, datetime]],
    *,
    mode: Mode = "historical",
    detectors: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Inside a flow: the selected detectors over each window, one task per series on the flow's task runner.

    Returns one report dict per (window, detector), in that order. With the AD plugin the plugin does the work:
    one ``run-detectors`` task per window.
    """
    import time

    from detectors.service import select_detectors

    if settings.uses_ad_plugin:
        futures = [
            run_detectors_task.submit(settings, w0, w1, mode, list(detectors or ()) or None) for w0, w1 in windows
        ]
        return [r for f in futures for r in f.result()]
    specs = select_detectors(detectors)
    t0 = time.perf_counter()
    plans = [plan_detector_task.submit(settings, s.name, w0, w1, mode) for w0, w1 in windows for s in specs]
    runs = []
    for plan in plans:  # each plan's series start as soon as it is read, while the later plans still run
        report, jobs = plan.result()
        runs.append((report, score_series_task.map(unmapped(settings), jobs) if jobs else []))
    plan_s = (time.perf_counter() - t0) / max(1, len(plans))
    out = []
    for report, futures in runs:
        out.append(report_dict(finish_report(report, [f.result() for f in futures], plan_s)))
        log_report(out[-1])
    return out


def log_report(r: dict[str, Any]) -> None:
    get_run_logger().info(
        "%s: %s intervals, %s series, %s results, %s anomalies (%.1f s)",
        r["detector"],
        r.get("intervals"),
        r.get("entities"),
        r.get("results_written"),
        r.get("anomalies"),
        r.get("elapsed_s") or 0.0,
    )
