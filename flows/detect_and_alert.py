"""``detect-and-alert``: each interval, run (or poll) the detectors up to the latest complete interval and send
alerts for new results."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import flow, get_run_logger

from flows.common import exported, floor_minutes, scheduled_time
from tasks.alerts import process_alerts_task
from tasks.detect import run_detectors_task
from wafad.settings import get_settings


@flow(name="detect-and-alert", log_prints=True)
def detect_and_alert_flow(lookback_minutes: int = 60) -> dict[str, Any]:
    """Detectors over ``[end - lookback, end)``, ``end`` = the slot minus the window delay; then alerts."""
    from prefect.artifacts import create_table_artifact

    settings = get_settings()
    slot = floor_minutes(scheduled_time(), settings.detector_interval_minutes)
    end = slot - timedelta(minutes=settings.window_delay_minutes)
    start = end - timedelta(minutes=lookback_minutes)
    with exported(settings):
        reports = run_detectors_task(settings, start, end, mode="realtime")
        sent = process_alerts_task(settings, now=slot)
    create_table_artifact(
        key="detector-results",
        table=[_report_row(r) for r in reports] or [{"detector": "-", "note": "no detector ran"}],
        description=f"Detector runs up to {end:%Y-%m-%d %H:%M} UTC",
    )
    get_run_logger().info("detectors: %d runs, alerts sent: %d", len(reports), len(sent))
    return {"start": start.isoformat(), "end": end.isoformat(), "detectors": reports, "alerts": sent}


def _report_row(report: dict[str, Any]) -> dict[str, Any]:
    keep = {}
    for k, v in report.items():
        if isinstance(v, str | int | float | bool) or v is None:
            keep[k] = v
    return keep
