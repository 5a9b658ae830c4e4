"""Stage 7b: the HTML dashboard."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.common import retrying
from wafad.settings import Settings


@task(name="write-dashboard", cache_policy=NO_CACHE, **retrying())
def write_dashboard_task(
    settings: Settings,
    start: datetime,
    end: datetime,
    out: Path,
    labels: list[dict[str, Any]] | None = None,
    alerts: list[dict[str, Any]] | None = None,
    crosscheck: dict[str, Any] | None = None,
) -> str:
    from dashboard.render import write_dashboard

    return str(write_dashboard(settings, start, end, out, labels=labels, alerts=alerts, crosscheck=crosscheck))
