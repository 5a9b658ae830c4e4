"""``crosscheck``: compare the detectors' results with ``offline_rcf`` scoring the same features (daily, on demand)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import exported, floor_hour, scheduled_time
from tasks.common import retrying
from wafad.settings import Settings, get_settings


def crosscheck_report(
    settings: Settings, start: datetime, end: datetime, detectors: list[str] | None = None
) -> dict[str, Any]:
    """``{"reports": [...]}``: offline_rcf's cross-check of each detector's results in ``[start, end)``."""
    from offline_rcf.crosscheck import crosscheck_detector
    from wafad.catalogue import DETECTORS

    names = detectors or [d.name for d in DETECTORS]
    return {"reports": [crosscheck_detector(settings, name, start, end).to_dict() for name in names]}


@task(name="crosscheck-report", cache_policy=NO_CACHE, **retrying())
def crosscheck_report_task(
    settings: Settings, start: datetime, end: datetime, detectors: list[str] | None = None
) -> dict[str, Any]:
    return crosscheck_report(settings, start, end, detectors)


AGREEMENT_COLUMNS = (
    "detector",
    "verdict",
    "agreement_rate",
    "spearman",
    "precision",
    "recall",
    "n_compared",
    "n_disagree",
    "summary",
)


def agreement_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per detector: verdict, agreement rate, rank correlation, precision/recall."""
    return [{k: r.get(k) for k in AGREEMENT_COLUMNS} for r in report.get("reports", [])]


@flow(name="crosscheck", log_prints=True)
def crosscheck_flow(
    start: datetime | None = None, end: datetime | None = None, detectors: list[str] | None = None
) -> dict[str, Any]:
    """The day before the scheduled slot (or explicit ``start``/``end``)."""
    from prefect.artifacts import create_table_artifact

    settings = get_settings()
    if start is None or end is None:
        end = floor_hour(scheduled_time()).replace(hour=0)
        start = end - timedelta(days=1)
    with exported(settings):
        report = crosscheck_report_task(settings, start, end, detectors)
    create_table_artifact(
        key="crosscheck-agreement",
        table=agreement_rows(report) or [{"note": "no detector results in the window"}],
        description=f"Detector vs offline_rcf agreement {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC",
    )
    get_run_logger().info("cross-check %s .. %s done", start, end)
    return report
