"""Everything the dashboard shows for one window: the OpenSearch queries and the parsed optional inputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.data.inputs import Alert, CrossCheck, Label, parse_alerts, parse_crosscheck, parse_labels
from dashboard.data.raw import RawSummary, bucket_interval_ms, fetch_raw_summary
from dashboard.data.results import DetectorResults, detector_id_map, fetch_results, plugin_detector_names
from dashboard.data.values import iso, to_ms
from wafad.settings import Settings


@dataclass
class DashboardData:
    start_ms: int
    end_ms: int
    settings_summary: dict[str, str]
    results: list[DetectorResults]
    raw: RawSummary
    labels: list[Label]
    alerts: list[Alert]
    crosschecks: list[CrossCheck]
    evaluation: dict[str, Any] | None = None  # a `wafad evaluate` report (EvaluationReport.to_dict())


def load_dashboard_data(
    settings: Settings,
    start: datetime | str | int,
    end: datetime | str | int,
    *,
    labels: Iterable[Mapping[str, Any]] | None = None,
    alerts: Iterable[Mapping[str, Any]] | None = None,
    crosscheck: Any = None,
    client: Any = None,
    evaluation: Mapping[str, Any] | None = None,
) -> DashboardData:
    """Query OpenSearch for the window and parse the optional inputs."""
    from wafad.clients import opensearch_client

    start_ms, end_ms = to_ms(start), to_ms(end)
    if end_ms <= start_ms:
        raise ValueError(f"the window ends ({iso(end_ms)}) before it starts ({iso(start_ms)})")
    client = client or opensearch_client(settings)
    id_map = detector_id_map(plugin_detector_names(client) if settings.uses_ad_plugin else None)
    results = fetch_results(client, settings.results_index, start_ms, end_ms, id_map=id_map)
    interval = bucket_interval_ms(start_ms, end_ms, settings.detector_interval_minutes)
    raw = fetch_raw_summary(client, f"{settings.index_prefix}-*", start_ms, end_ms, interval_ms=interval)
    return DashboardData(
        start_ms=start_ms,
        end_ms=end_ms,
        settings_summary={
            "target": settings.target,
            "raw index": f"{settings.index_prefix}-*",
            "results index": settings.results_index,
            "detector interval": f"{settings.detector_interval_minutes} min",
            "engine": "AD plugin" if settings.uses_ad_plugin else "local engine (offline_rcf)",
        },
        results=results,
        raw=raw,
        labels=parse_labels(labels),
        alerts=parse_alerts(alerts),
        crosschecks=parse_crosscheck(crosscheck),
        evaluation=dict(evaluation) if evaluation else None,
    )
