"""Stage 5a: warm start the local detectors on the stream's previous hours (``detectors.warm_start``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.common import retrying
from wafad.settings import Settings


@task(name="warm-start-detectors", cache_policy=NO_CACHE, **retrying())
def warm_start_task(
    settings: Settings, start: datetime, detectors: list[str] | None = None, hours: float | None = None
) -> list[dict[str, Any]]:
    """Models warmed on the ``hours`` (default ``warm_start_hours``) before ``start``; none with the AD plugin."""
    from detectors.warm_start import warm_start_detectors

    logger = get_run_logger()
    reports = [r.as_dict() for r in warm_start_detectors(settings, start, detectors=detectors, hours=hours)]
    for r in reports:
        logger.info(
            "%s: warmed %d series on %d intervals from %s, confidence %s (%.1f s)%s",
            r["detector"],
            r["series"],
            r["intervals"],
            r["history_start"],
            r["confidence"],
            r["elapsed_s"],
            "".join(f"; {n}" for n in r["notes"]),
        )
    return reports


@task(name="cold-start-time", cache_policy=NO_CACHE)
def cold_start_task(settings: Settings, start: datetime, detector_names: dict[str, str]) -> dict[str, float | None]:
    """Minutes from ``start`` to each detector's first result with confidence >= ``alert_min_confidence``."""
    from detectors.warm_start import cold_start_minutes
    from wafad.clients import opensearch_client

    ids = {name: det_id for det_id, name in detector_names.items()}
    threshold = settings.alert_min_confidence
    minutes = cold_start_minutes(opensearch_client(settings), settings.results_index, ids, start, threshold)
    get_run_logger().info("cold-start time (confidence >= %s), minutes: %s", threshold, minutes)
    return minutes
