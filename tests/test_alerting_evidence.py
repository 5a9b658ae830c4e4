"""Count evidence before an incident opens (alerting.evidence) and per-detector policies (alerting.policy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from alerting.evidence import count_pvalue, estimate_dispersion
from alerting.incidents import AlertPolicy, IncidentState, advance
from alerting.message import why_line
from alerting.policy import detector_policies, detector_policy
from wafad.catalogue import DETECTORS
from wafad.settings import Settings

MIN = 60_000
EVIDENCE = AlertPolicy(min_confidence=0.7, significance=1e-3, confirm_intervals=2, evidence_intervals=5)


def doc(i: int, actual: float, expected: float | None = None, grade: float = 0.0, det: str = "d1") -> dict:
    d = {
        "detector_id": det,
        "data_start_time": i * MIN,
        "data_end_time": (i + 1) * MIN,
        "anomaly_score": 1.0,
        "anomaly_grade": grade,
        "confidence": 0.9,
        "feature_data": [{"feature_id": "f", "feature_name": "action_bad", "data": actual}],
    }
    if expected is not None:
        d["expected_values"] = [{"likelihood": 1.0, "value_list": [{"feature_id": "f", "data": expected}]}]
    return d


def test_pvalues_match_scipy_and_nb_is_wider() -> None:
    assert count_pvalue(7, 2) == pytest.approx(stats.poisson(2).sf(6))
    assert count_pvalue(0, 4) == pytest.approx(stats.poisson(4).cdf(0))
    assert count_pvalue(7, 2, dispersion=3.0) > count_pvalue(7, 2)


def test_dispersion_estimate_recovers_poisson_and_overdispersion() -> None:
    rng = np.random.default_rng(7)
    assert estimate_dispersion(rng.poisson(3.0, 60).tolist()) < 1.6
    nb = rng.negative_binomial(3.0 / 3.0, 1 / 4.0, 60)  # mean 3, variance 12: dispersion 4
    assert estimate_dispersion(nb.tolist()) > 2.0
    # a slow trend (diurnal curve) is not over-dispersion
    trend = [round(3 + 2 * np.sin(t / 60)) for t in range(60)]
    assert estimate_dispersion(trend) < 1.5


def quiet(n: int = 30) -> list[dict]:
    rng = np.random.default_rng(3)
    return [doc(i, float(v)) for i, v in enumerate(rng.poisson(2.0, n))]


def test_a_one_minute_blip_does_not_page() -> None:
    # 7 BLOCKs against 2 expected, flagged with high grade, then a slightly high minute flagged again (confirmed)
    docs = [*quiet(), doc(30, 7, 2, grade=0.9), doc(31, 4, 2, grade=0.6), doc(32, 2), doc(33, 3), doc(34, 1)]
    assert advance(IncidentState(), docs, EVIDENCE) == []
    # the same results without evidence do open an incident: the evidence is what holds it back
    assert [e.kind for e in advance(IncidentState(), docs, AlertPolicy(min_confidence=0.7))] == ["opened"]


def test_a_sustained_doubling_pages_within_a_few_intervals_and_says_why() -> None:
    window = [doc(30, 8, 3, grade=0.8), *[doc(30 + k, 7 + k % 2) for k in range(1, 8)]]
    events = advance(IncidentState(), [*quiet(), *window], EVIDENCE)
    assert [e.kind for e in events] == ["opened"]
    inc = events[0].incident
    opened_after = inc.why["intervals"]
    assert opened_after <= 4
    assert inc.why["p_value"] <= 1e-3 and inc.why["grade"] == 0.8 and inc.why["confidence"] == 0.9
    assert inc.why["actual"] > 2 * inc.why["expected"] * 0.9
    line = why_line(inc.why)
    assert "p-value" in line and "grade 0.800" in line and "confidence 0.9" in line


def test_overdispersed_series_needs_more_evidence() -> None:
    rng = np.random.default_rng(11)
    noisy = [doc(i, float(v)) for i, v in enumerate(rng.negative_binomial(1.0, 1 / 5.0, 60))]  # mean 4, var 20
    window = [doc(60, 12, 4, grade=0.8), doc(61, 11), doc(62, 12), doc(63, 2), doc(64, 3), doc(65, 4)]
    assert advance(IncidentState(), [*noisy, *window], EVIDENCE) == []
    poisson = [doc(i, float(v)) for i, v in enumerate(rng.poisson(4.0, 60))]
    assert [e.kind for e in advance(IncidentState(), [*poisson, *window], EVIDENCE)] == ["opened"]


def test_state_with_evidence_round_trips() -> None:
    state = IncidentState()
    advance(state, [*quiet(), doc(30, 8, 3, grade=0.8)], EVIDENCE)
    again = IncidentState.from_dict(state.to_dict())
    assert again.to_dict() == state.to_dict() and again.pending and again.recent


def test_detector_policy_uses_the_catalogue_with_settings_as_floors() -> None:
    spec = DETECTORS[0]
    p = detector_policy(spec, Settings(alert_min_confidence=0.0, alert_min_grade=0.0))
    assert (p.min_grade, p.min_confidence, p.significance) == (
        spec.alert.min_grade,
        spec.alert.min_confidence,
        spec.alert.significance,
    )
    strict = detector_policy(spec, Settings(alert_min_confidence=0.95, alert_min_grade=0.5, alert_cooldown_minutes=3))
    assert (strict.min_grade, strict.min_confidence, strict.cooldown_ms) == (0.5, 0.95, 3 * MIN)
    by_id = detector_policies({"abc": spec}, Settings())
    assert by_id("abc") == detector_policy(spec, Settings()) and by_id("other") == detector_policy(None, Settings())


def test_advance_applies_each_detectors_own_policy() -> None:
    lax = AlertPolicy(min_confidence=0.5, confirm_intervals=0)
    strict = AlertPolicy(min_confidence=0.95, confirm_intervals=0)
    docs = [doc(1, 9, 2, grade=0.8, det="a"), doc(1, 9, 2, grade=0.8, det="b")]
    events = advance(IncidentState(), docs, {"a": lax, "b": strict}.__getitem__)
    assert [e.incident.detector_id for e in events] == ["a"]
