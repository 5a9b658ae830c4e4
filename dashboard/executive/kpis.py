"""One period's figures: traffic, incidents opened and resolved in it, and anomalous intervals per detector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dashboard.executive.incidents import (
    IncidentRow,
    incidents_from_alerts,
    opened_in,
    replayed_alerts,
    resolved_in,
)
from dashboard.executive.period import Period
from dashboard.executive.queries import TrafficKpis, anomalous_intervals, traffic_kpis


@dataclass(frozen=True)
class PeriodKpis:
    period: Period
    traffic: TrafficKpis
    opened: list[IncidentRow] = field(default_factory=list)
    resolved: list[IncidentRow] = field(default_factory=list)
    anomalous: dict[str, int] = field(default_factory=dict)  # detector name -> anomalous intervals

    @property
    def mean_time_to_resolve_ms(self) -> float | None:
        durations = [r.duration_ms for r in self.resolved if r.duration_ms is not None]
        return sum(durations) / len(durations) if durations else None

    @property
    def has_data(self) -> bool:
        return self.traffic.total > 0


def collect_kpis(
    settings: Any, client: Any, period: Period, *, alerts: Sequence[Mapping[str, Any]] | None = None
) -> PeriodKpis:
    """The figures for ``period``; incidents from ``alerts`` when given, else replayed from the results."""
    messages = alerts if alerts is not None else replayed_alerts(settings, client, period)
    rows = incidents_from_alerts(messages)
    by_id = anomalous_intervals(client, settings.results_index, period)
    names: dict[str, str] = {}
    if by_id:
        from alerting.alerts import detector_catalogue_ids

        names = {det_id: spec.name for det_id, spec in detector_catalogue_ids(settings, client).items()}
    anomalous: dict[str, int] = {}
    for det_id, n in by_id.items():
        name = names.get(det_id, det_id)
        anomalous[name] = anomalous.get(name, 0) + n
    return PeriodKpis(
        period=period,
        traffic=traffic_kpis(client, f"{settings.index_prefix}-*", period),
        opened=opened_in(rows, period),
        resolved=resolved_in(rows, period),
        anomalous=anomalous,
    )
