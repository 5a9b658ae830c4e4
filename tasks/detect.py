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
    settings: Settings, start: datetime, end: datetime, mode: Literal["realtime", "historical"] = "historical"
) -> list[dict[str, Any]]:
    from detectors.service import run_detectors

    reports = [report_dict(r) for r in run_detectors(settings, start, end, mode=mode)]
    get_run_logger().info("ran %d detectors over %s .. %s (%s)", len(reports), start, end, mode)
    return reports
