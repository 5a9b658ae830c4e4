"""Incidents from AD result documents: pure logic, no I/O.

One incident per detector | entity | window. Results are read in data-time order per series (a detector, or one
entity of a high-cardinality detector):

- a result *alerts* when ``anomaly_grade > min_grade`` and ``confidence >= min_confidence``;
- the first alerting result of a quiet series starts a *pending* incident (dated from
  ``approx_anomaly_start_time`` when AD says the anomaly began earlier). It **opens** as soon as a later result
  alerts again or still *deviates* from the values the model expected at the flag, and is dropped when the next
  ``confirm_intervals`` results are back to normal: on sparse counts the model grades one-minute blips (6 requests
  where 1 was expected, then 1 again) as highly as real incidents, and only persistence tells them apart. This
  delays the "opened" message by an interval or two; ``confirm_intervals=0`` opens at once;
- alerting results while it is open extend it (anomalous intervals separated by short gaps are one incident);
- it **resolves** on the first non-alerting result at least ``cooldown`` after the last alerting one whose feature
  values no longer deviate from the values expected when it opened, or at the latest ``max_quiet`` after the last
  alerting result (the model has adapted to a lasting change). AD flags a level shift at its start and often again
  when it ends; waiting for the values to come back keeps both in one incident.

*Deviates*: ``|actual - expected| > max(sigmas * sqrt(max(|expected|, 1)), ratio * |expected|)`` for some feature —
a Poisson-style band for counts, and AD's own 20 % rule for large values.

*Evidence* (``policy.significance`` set): a pending incident opens only once its counts since the first flag are
improbable against the counts the model expected (:mod:`alerting.evidence`: Poisson or negative binomial at that
significance), so a one-minute blip of a sparse count does not page while a sustained x2 window does within a few
intervals; it is dropped when the evidence has not come after ``evidence_intervals`` results. Each incident records
why it opened (``why``: grade, confidence, p-value, actual and expected counts, dispersion). Raw results are never
changed: only incidents are filtered.

``policy`` is one :class:`AlertPolicy` or a function of the detector id (per-detector policies,
:func:`alerting.policy.detector_policies`). Error / "no data" results (no grade) advance nothing. Each result is
used once (per-series high-water mark), so re-reading overlapping pages is harmless.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from alerting.evidence import estimate_dispersion, evidence_pvalue, remember

EventKind = Literal["opened", "resolved"]


@dataclass(frozen=True)
class AlertPolicy:
    min_grade: float = 0.0
    min_confidence: float = 0.0
    cooldown_ms: int = 10 * 60_000
    max_quiet_ms: int = 40 * 60_000
    confirm_intervals: int = 2  # results after a first flag that may confirm it (0: open at once)
    deviation_sigmas: float = 2.0
    deviation_ratio: float = 0.2
    significance: float | None = None  # p-value the pending counts must reach (None: no evidence needed)
    dispersion: float = 1.0  # variance/mean floor of the count model (1: Poisson)
    evidence_intervals: int = 5  # results after the flag a pending incident waits for its evidence

    @classmethod
    def from_settings(cls, settings: Any) -> AlertPolicy:
        cooldown = int(settings.alert_cooldown_minutes) * 60_000
        return cls(
            min_grade=float(settings.alert_min_grade),
            min_confidence=float(settings.alert_min_confidence),
            cooldown_ms=cooldown,
            max_quiet_ms=max(4 * cooldown, cooldown + 30 * 60_000),
        )


def entity_of(doc: Mapping[str, Any]) -> dict[str, str] | None:
    ent = doc.get("entity")
    if not ent:
        return None
    return {str(e.get("name")): str(e.get("value")) for e in ent}


def series_key(doc: Mapping[str, Any]) -> str:
    ent = entity_of(doc)
    tail = ",".join(f"{k}={v}" for k, v in sorted(ent.items())) if ent else ""
    return f"{doc.get('detector_id')}|{tail}"


def has_grade(doc: Mapping[str, Any]) -> bool:
    return doc.get("anomaly_grade") is not None and not doc.get("error")


def is_alerting(doc: Mapping[str, Any], policy: AlertPolicy) -> bool:
    if not has_grade(doc):
        return False
    grade = float(doc["anomaly_grade"])
    confidence = float(doc.get("confidence") or 0.0)
    return grade > policy.min_grade and confidence >= policy.min_confidence


def feature_values(doc: Mapping[str, Any]) -> dict[str, float]:
    """feature_id -> actual value."""
    return {str(f["feature_id"]): float(f["data"]) for f in doc.get("feature_data") or [] if f.get("data") is not None}


def expected_values(doc: Mapping[str, Any]) -> dict[str, float]:
    """feature_id -> expected value (most likely set)."""
    sets = doc.get("expected_values") or []
    if not sets:
        return {}
    best = max(sets, key=lambda s: float(s.get("likelihood") or 0.0))
    return {str(v["feature_id"]): float(v["data"]) for v in best.get("value_list") or []}


def deviates(actual: float, expected: float, policy: AlertPolicy) -> bool:
    """``actual`` is outside the band expected +- max(sigmas * sqrt(max(|expected|, 1)), ratio * |expected|)."""
    band = max(policy.deviation_sigmas * math.sqrt(max(abs(expected), 1.0)), policy.deviation_ratio * abs(expected))
    return abs(actual - expected) > band


def deviates_from(baseline: Mapping[str, float], doc: Mapping[str, Any], policy: AlertPolicy) -> bool:
    actual = feature_values(doc)
    return any(deviates(actual[f], e, policy) for f, e in baseline.items() if f in actual)


@dataclass
class Incident:
    key: str  # detector_id|entity|start (the dedup key)
    series: str
    detector_id: str
    entity: dict[str, str] | None
    start_ms: int
    first_flagged_end_ms: int
    last_anomalous_end_ms: int
    anomalous_intervals: int
    max_grade: float
    peak: dict[str, Any]  # the result document with the highest grade
    baseline: dict[str, float] = field(default_factory=dict)  # expected values when it opened
    end_ms: int | None = None  # set when resolved
    checks: int = 0  # results seen while pending (not yet confirmed)
    last_deviating_end_ms: int = 0  # data_end of the last result that alerted or still deviated from the baseline
    evidence: dict[str, list[float]] = field(default_factory=dict)  # feature_id -> [actual sum, expected sum]
    pending_results: int = 0  # results seen after the first flag while pending
    confirmed: bool = False  # a later result alerted or still deviated
    why: dict[str, Any] = field(default_factory=dict)  # why it opened: grade, confidence, p_value, ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        return cls(**dict(data))


@dataclass(frozen=True)
class IncidentEvent:
    kind: EventKind
    incident: Incident


@dataclass
class IncidentState:
    """What alerting remembers between runs (stored in the checkpoint)."""

    open: dict[str, Incident] = field(default_factory=dict)  # series -> incident
    seen_until: dict[str, int] = field(default_factory=dict)  # series -> last data_end_time used
    pending: dict[str, Incident] = field(default_factory=dict)  # series -> flagged, not yet confirmed
    recent: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # series -> quiet feature values

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": {k: v.to_dict() for k, v in self.open.items()},
            "seen_until": dict(self.seen_until),
            "pending": {k: v.to_dict() for k, v in self.pending.items()},
            "recent": {k: {f: list(v) for f, v in fs.items()} for k, fs in self.recent.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IncidentState:
        return cls(
            open={k: Incident.from_dict(v) for k, v in (data.get("open") or {}).items()},
            seen_until={k: int(v) for k, v in (data.get("seen_until") or {}).items()},
            pending={k: Incident.from_dict(v) for k, v in (data.get("pending") or {}).items()},
            recent={
                k: {f: [float(x) for x in v] for f, v in fs.items()} for k, fs in (data.get("recent") or {}).items()
            },
        )


def _open(doc: Mapping[str, Any], series: str) -> Incident:
    start = int(doc["data_start_time"])
    approx = doc.get("approx_anomaly_start_time")
    if approx is not None:
        start = min(start, int(approx))
    entity = entity_of(doc)
    incident = Incident(
        key=f"{series}|{start}",
        series=series,
        detector_id=str(doc["detector_id"]),
        entity=entity,
        start_ms=start,
        first_flagged_end_ms=int(doc["data_end_time"]),
        last_anomalous_end_ms=int(doc["data_end_time"]),
        anomalous_intervals=1,
        max_grade=float(doc["anomaly_grade"]),
        peak=dict(doc),
        baseline=expected_values(doc),
    )
    _accumulate(incident, doc)
    return incident


def _accumulate(inc: Incident, doc: Mapping[str, Any]) -> None:
    """Add ``doc``'s feature values and expected values (its own, else the baseline) to the evidence."""
    expected = expected_values(doc) or inc.baseline
    for fid, actual in feature_values(doc).items():
        if fid in expected and not math.isnan(actual):
            totals = inc.evidence.setdefault(fid, [0.0, 0.0])
            totals[0] += actual
            totals[1] += expected[fid]


def _evident(inc: Incident, policy: AlertPolicy, state: IncidentState) -> bool:
    """Record the evidence in ``inc.why``; True when it reaches the policy's significance (or none is asked)."""
    recent = state.recent.get(inc.series, {})
    dispersion = {f: estimate_dispersion(recent.get(f, ()), policy.dispersion) for f in inc.evidence}
    p_value = evidence_pvalue(inc.evidence, dispersion)
    inc.why = {
        "grade": inc.max_grade,
        "confidence": inc.peak.get("confidence"),
        "p_value": p_value,
        "actual": sum(a for a, _ in inc.evidence.values()),
        "expected": sum(e for _, e in inc.evidence.values()),
        "intervals": inc.pending_results + 1,
        "dispersion": max(dispersion.values(), default=policy.dispersion),
        "significance": policy.significance,
    }
    return policy.significance is None or not inc.evidence or p_value <= policy.significance


def _extend(inc: Incident, doc: Mapping[str, Any]) -> None:
    inc.last_anomalous_end_ms = int(doc["data_end_time"])
    inc.anomalous_intervals += 1
    grade = float(doc["anomaly_grade"])
    if grade > inc.max_grade:
        inc.max_grade = grade
        inc.peak = dict(doc)


def _recovered(inc: Incident, doc: Mapping[str, Any], policy: AlertPolicy) -> bool:
    quiet = int(doc["data_end_time"]) - inc.last_anomalous_end_ms
    if quiet >= policy.max_quiet_ms:
        return True
    if quiet < policy.cooldown_ms:
        return False
    return not deviates_from(inc.baseline, doc, policy)


def _order(doc: Mapping[str, Any]) -> tuple[int, int, str]:
    return int(doc["data_end_time"]), int(doc["data_start_time"]), series_key(doc)


PolicyFor = AlertPolicy | Callable[[str], AlertPolicy]


def advance(state: IncidentState, docs: Iterable[Mapping[str, Any]], policy: PolicyFor) -> list[IncidentEvent]:
    """Feed result documents (any order, duplicates allowed); returns the opened/resolved events, in order.

    ``policy``: one policy for every detector, or a function of the detector id.
    """
    policy_of: Callable[[str], AlertPolicy] = policy if callable(policy) else (lambda _det: policy)
    events: list[IncidentEvent] = []
    for doc in sorted((d for d in docs if d.get("data_end_time") is not None and not d.get("task_id")), key=_order):
        series = series_key(doc)
        end = int(doc["data_end_time"])
        if end <= state.seen_until.get(series, -1):
            continue
        if not has_grade(doc):
            continue  # error / no-data results neither extend nor resolve an incident
        state.seen_until[series] = end
        pol = policy_of(str(doc.get("detector_id")))
        current = state.open.get(series)
        pending = state.pending.get(series)
        alerting = is_alerting(doc, pol)
        if current is not None:
            if alerting:
                _extend(current, doc)
            elif deviates_from(current.baseline, doc, pol):
                current.last_deviating_end_ms = end
            if not alerting and _recovered(current, doc, pol):
                current.end_ms = max(current.last_anomalous_end_ms, current.last_deviating_end_ms)
                events.append(IncidentEvent("resolved", _snapshot(current)))
                del state.open[series]
        elif pending is not None:
            _pending_step(state, pending, doc, pol, alerting, events)
        elif alerting:
            incident = _open(doc, series)
            if not incident.baseline or (pol.confirm_intervals <= 0 and _evident(incident, pol, state)):
                state.open[series] = incident
                events.append(IncidentEvent("opened", _snapshot(incident)))
            else:
                state.pending[series] = incident
        else:
            remember(state.recent.setdefault(series, {}), feature_values(doc))  # a quiet interval
    return events


def _pending_step(
    state: IncidentState, pending: Incident, doc: Mapping[str, Any], pol: AlertPolicy, alerting: bool, events: list
) -> None:
    """One more result for a pending incident: confirm, gather evidence, open or drop it."""
    pending.pending_results += 1
    _accumulate(pending, doc)
    confirms = alerting or deviates_from(pending.baseline, doc, pol)
    if alerting:
        _extend(pending, doc)
    elif confirms:
        pending.last_deviating_end_ms = int(doc["data_end_time"])
    if confirms:
        pending.confirmed = True
    else:
        pending.checks += 1
    if (pending.confirmed or pol.confirm_intervals <= 0) and _evident(pending, pol, state):
        del state.pending[pending.series]
        state.open[pending.series] = pending
        events.append(IncidentEvent("opened", _snapshot(pending)))
    elif pending.checks >= max(pol.confirm_intervals, 1) or pending.pending_results >= pol.evidence_intervals:
        del state.pending[pending.series]  # a blip: back to normal right after the flag, or no evidence


def _snapshot(inc: Incident) -> Incident:
    return Incident.from_dict(inc.to_dict())


def severity(grade: float) -> str:
    """``high`` (grade >= 0.9), ``medium`` (>= 0.5) or ``low``."""
    if grade >= 0.9:
        return "high"
    if grade >= 0.5:
        return "medium"
    return "low"


def open_incidents(state: IncidentState) -> Sequence[Incident]:
    return sorted(state.open.values(), key=lambda i: (i.start_ms, i.key))
