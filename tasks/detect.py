"""Stage 5: the detectors (AD plugin, or locally the offline engine writing AD result documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.common import retrying
from tasks.ingest import report_dict
from wafad.settings import Settings


@task(name="run-detectors", cache_policy=NO_CACHE, **retrying())
def run_detectors_task(
    settings: Settings,
    start: datetime,
    end: datetime,
    mode: Literal["realtime", "historical"] = "historical",
    detectors: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The catalogue's detectors (``detectors``: a subset by name) over ``[start, end)``."""
    from detectors.service import run_detectors

    logger = get_run_logger()

    def progress(name: str, done: int, total: int) -> None:
        if done == total:
            logger.info("detector %s: %d series scored", name, total)

    reports = [
        report_dict(r) for r in run_detectors(settings, start, end, mode=mode, detectors=detectors, progress=progress)
    ]
    for r in reports:
        logger.info(
            "%s: %s intervals, %s results, %s anomalies (%.1f s)",
            r["detector"],
            r.get("intervals"),
            r.get("results_written"),
            r.get("anomalies"),
            r.get("elapsed_s") or 0.0,
        )
    return reports
