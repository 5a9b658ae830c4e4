"""``crosscheck``: compare the detectors' results with ``offline_rcf`` scoring the same features (daily, on demand)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import exported, floor_hour, scheduled_time
from tasks.common import retrying
from wafad.settings import Settings, get_settings


def crosscheck_report(settings: Settings, start: datetime, end: datetime) -> dict[str, Any]:
    """The offline_rcf cross-check report for ``[start, end)`` as a dict."""
    from offline_rcf.crosscheck import crosscheck

    return crosscheck(settings, start, end).to_dict()


@task(name="crosscheck-report", cache_policy=NO_CACHE, **retrying())
def crosscheck_report_task(settings: Settings, start: datetime, end: datetime) -> dict[str, Any]:
    return crosscheck_report(settings, start, end)


def agreement_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per detector from the report (whatever scalar fields it carries)."""
    rows = report.get("detectors") or report.get("rows") or []
    if isinstance(rows, dict):
        rows = [{"detector": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in rows.items()]
    return [{k: v for k, v in r.items() if isinstance(v, str | int | float | bool) or v is None} for r in rows]


@flow(name="crosscheck", log_prints=True)
def crosscheck_flow(start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """The day before the scheduled slot (or explicit ``start``/``end``)."""
    from prefect.artifacts import create_table_artifact

    settings = get_settings()
    if start is None or end is None:
        end = floor_hour(scheduled_time()).replace(hour=0)
        start = end - timedelta(days=1)
    with exported(settings):
        report = crosscheck_report_task(settings, start, end)
    create_table_artifact(
        key="crosscheck-agreement",
        table=agreement_rows(report) or [{"note": "no detector results in the window"}],
        description=f"Detector vs offline_rcf agreement {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC",
    )
    get_run_logger().info("cross-check %s .. %s done", start, end)
    return report
