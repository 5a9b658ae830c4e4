"""Incidents for the page: from the alert messages sent (what the demo and ``--alerts`` give), or replayed.

The alert messages are the record of what executives were told: one "opened" and one "resolved" message per
incident (``alerting`` AlertMessage dicts, or the dashboard's ``{detector, kind, window_start, window_end,
severity}`` shape). Without them, the incidents are replayed from the real-time detector results with the same
logic and per-detector policies as the alerter (:func:`alerting.incidents.advance`,
:func:`alerting.policy.detector_policies`), from a clean state a little before the period, and turned into the
same message dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.executive.period import Period
from wafad.catalogue import DETECTORS

_SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}
_WATCHES = {d.name: d.watches for d in DETECTORS}


@dataclass(frozen=True)
class IncidentRow:
    detector: str
    field: str  # what the detector watches (catalogue vocabulary), "" when unknown
    entity: str  # "" or "country=RU" for a high-cardinality detector
    severity: str
    start_ms: int
    end_ms: int | None  # None: not resolved (as far as the messages tell)
    max_grade: float

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_ms is None else self.end_ms - self.start_ms


def _ms(value: Any) -> int | None:
    """Epoch ms from an int/float (ms), an ISO-8601 string or None."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


def _entity(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, Mapping):
        return ",".join(f"{str(k).rpartition('.')[2]}={v}" for k, v in sorted(value.items()))
    return str(value)


def incidents_from_alerts(alerts: Iterable[Mapping[str, Any]]) -> list[IncidentRow]:
    """One row per incident (paired by ``incident_key``, else detector|entity|window start), oldest first."""
    rows: dict[str, dict[str, Any]] = {}
    for a in alerts:
        kind = str(a.get("kind") or "opened")
        start = _ms(a.get("window_start_ms", a.get("window_start")))
        if start is None or kind not in ("opened", "resolved"):
            continue
        detector = str(a.get("detector") or a.get("detector_id") or "?")
        entity = _entity(a.get("entity"))
        key = str(a.get("incident_key") or f"{detector}|{entity}|{start}")
        row = rows.setdefault(
            key,
            {"detector": detector, "entity": entity, "start_ms": start, "end_ms": None, "grade": 0.0, "sev": "low"},
        )
        row["start_ms"] = min(row["start_ms"], start)
        row["grade"] = max(row["grade"], float(a.get("max_grade") or 0.0))
        severity = str(a.get("severity") or "low")
        if _SEVERITY_RANK.get(severity, 0) > _SEVERITY_RANK.get(row["sev"], 0):
            row["sev"] = severity
        if kind == "resolved":
            row["end_ms"] = _ms(a.get("window_end_ms", a.get("window_end")))
    out = [
        IncidentRow(
            detector=r["detector"],
            field=_WATCHES.get(r["detector"], ""),
            entity=r["entity"],
            severity=r["sev"],
            start_ms=r["start_ms"],
            end_ms=r["end_ms"],
            max_grade=r["grade"],
        )
        for r in rows.values()
    ]
    return sorted(out, key=lambda r: (r.start_ms, r.detector, r.entity))


def replayed_alerts(settings: Any, client: Any, period: Period) -> list[dict[str, Any]]:
    """The opened/resolved messages the alerter's logic gives for the results up to the period's end."""
    from alerting.alerts import detector_catalogue_ids
    from alerting.incidents import IncidentState, advance, severity
    from alerting.policy import detector_policies, detector_policy
    from detectors.results import search_result_docs

    policy = detector_policy(None, settings)
    lookback = policy.max_quiet_ms + policy.cooldown_ms
    docs = search_result_docs(
        client, settings.results_index, start_ms=period.start_ms - lookback, end_ms=period.end_ms, realtime=True
    )
    specs = detector_catalogue_ids(settings, client) if docs else {}
    events = advance(IncidentState(), docs, detector_policies(specs, settings))
    names = {det_id: spec.name for det_id, spec in specs.items()}
    return [
        {
            "kind": e.kind,
            "incident_key": e.incident.key,
            "detector": names.get(e.incident.detector_id, e.incident.detector_id),
            "entity": e.incident.entity,
            "severity": severity(e.incident.max_grade),
            "window_start_ms": e.incident.start_ms,
            "window_end_ms": e.incident.end_ms if e.kind == "resolved" else None,
            "max_grade": e.incident.max_grade,
        }
        for e in events
    ]


def opened_in(rows: Iterable[IncidentRow], period: Period) -> list[IncidentRow]:
    return [r for r in rows if period.contains_ms(r.start_ms)]


def resolved_in(rows: Iterable[IncidentRow], period: Period) -> list[IncidentRow]:
    return [r for r in rows if period.contains_ms(r.end_ms)]
