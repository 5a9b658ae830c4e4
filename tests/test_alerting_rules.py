"""AD detector rules on result documents: the plugin's semantics (detectors.rules), on documented-shape examples."""

from __future__ import annotations

import pytest

from detectors.rules import ANOMALY_ONLY_FIELDS, apply_rules
from wafad.catalogue import DETECTORS, SEED_DETECTORS, DetectorSpec, Feature, RuleCondition, ad_rules


def result(actual: float, expected: float, *, grade: float = 0.75, past: float | None = None) -> dict:
    doc = {
        "detector_id": "d1",
        "data_start_time": 0,
        "data_end_time": 60_000,
        "anomaly_score": 2.5,
        "anomaly_grade": grade,
        "confidence": 0.93,
        "threshold": 1.4,
        "feature_data": [{"feature_id": "f1", "feature_name": "action_bad", "data": actual}],
        "relevant_attribution": [{"feature_id": "f1", "data": 1.0}],
        "expected_values": [{"likelihood": 1.0, "value_list": [{"feature_id": "f1", "data": expected}]}],
        "approx_anomaly_start_time": 0,
    }
    if past is not None:
        doc["past_values"] = [{"feature_id": "f1", "data": past}]
    return doc


def rules(*conditions: dict) -> list[dict]:
    return [{"action": "IGNORE_ANOMALY", "conditions": list(conditions)}]


RATIO_ABOVE = {"feature_name": "action_bad", "threshold_type": "ACTUAL_OVER_EXPECTED_RATIO", "operator": "LTE"}
MARGIN_ABOVE = {"feature_name": "action_bad", "threshold_type": "actual_over_expected_margin", "operator": "lte"}
BELOW = {"feature_name": "action_bad", "threshold_type": "ACTUAL_IS_BELOW_EXPECTED"}


def test_ratio_is_of_the_actual_value() -> None:
    # ratio 0.5 above: ignored when a - b <= 0.5 |a|, i.e. a <= 2b
    r = rules({**RATIO_ABOVE, "value": 0.5})
    assert apply_rules(result(20, 10), r)["anomaly_grade"] == 0.0
    assert apply_rules(result(21, 10), r)["anomaly_grade"] == 0.75
    # only the direction the condition names: below the expected value nothing widens the box
    assert apply_rules(result(6, 10), r)["anomaly_grade"] == 0.75


def test_margin_and_box_suppression_drops_anomaly_fields_keeps_score_and_confidence() -> None:
    doc = result(7, 2)
    out = apply_rules(doc, rules({**MARGIN_ABOVE, "value": 5}))
    assert out["anomaly_grade"] == 0.0
    assert out["anomaly_score"] == 2.5 and out["confidence"] == 0.93 and out["threshold"] == 1.4
    assert out["feature_data"] == doc["feature_data"]
    assert not set(ANOMALY_ONLY_FIELDS) & set(out)  # as a result the forest graded 0
    assert doc["anomaly_grade"] == 0.75  # the input is not modified
    assert apply_rules(result(8, 2), rules({**MARGIN_ABOVE, "value": 5}))["anomaly_grade"] == 0.75


def test_directional_rule_zeroes_only_the_grade() -> None:
    out = apply_rules(result(1, 5), rules(BELOW))
    assert out["anomaly_grade"] == 0.0
    assert out["expected_values"] and out["relevant_attribution"] and out["confidence"] == 0.93
    assert apply_rules(result(9, 5), rules(BELOW))["anomaly_grade"] == 0.75
    # the past value is what AD compares when the anomaly sits earlier in the shingle
    assert apply_rules(result(9, 5, past=3), rules(BELOW))["anomaly_grade"] == 0.0


def test_directional_rule_looks_at_the_top_attributed_feature_only() -> None:
    doc = result(1, 5)
    doc["feature_data"].append({"feature_id": "f2", "feature_name": "other", "data": 50.0})
    doc["expected_values"][0]["value_list"].append({"feature_id": "f2", "data": 10.0})
    doc["relevant_attribution"] = [{"feature_id": "f1", "data": 0.1}, {"feature_id": "f2", "data": 0.9}]
    assert apply_rules(doc, rules(BELOW))["anomaly_grade"] == 0.75  # f1 fell, but f2 drives the anomaly


def test_unflagged_error_and_ruleless_results_are_unchanged() -> None:
    assert apply_rules(result(20, 10, grade=0.0), rules({**RATIO_ABOVE, "value": 0.9}))["anomaly_grade"] == 0.0
    err = {"detector_id": "d1", "error": "No data", "anomaly_grade": None, "data_end_time": 1}
    assert apply_rules(err, rules(BELOW)) is err
    doc = result(20, 10)
    assert apply_rules(doc, []) is doc


def test_catalogue_conditions_apply_the_same_as_their_ad_json() -> None:
    spec = SEED_DETECTORS[0]
    feature = spec.features[0].name
    doc = result(1, 5)
    doc["feature_data"][0]["feature_name"] = feature
    assert apply_rules(doc, spec.rules) == apply_rules(doc, ad_rules(spec))
    assert apply_rules(doc, spec.rules)["anomaly_grade"] == 0.0


def test_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown threshold_type"):
        apply_rules(result(2, 1), rules({"feature_name": "action_bad", "threshold_type": "ACTUAL_NEAR"}))
    with pytest.raises(ValueError, match="positive value"):
        RuleCondition("x", "actual_over_expected_ratio", 0.0)
    with pytest.raises(ValueError, match="takes no value"):
        RuleCondition("x", "actual_is_below_expected", 1.0)
    with pytest.raises(ValueError, match="unknown features"):
        bad = (RuleCondition("b", "actual_is_over_expected"),)
        DetectorSpec("d", "", (Feature("a", "sum", "a"),), "action", rules=bad)


def test_every_catalogue_rule_set_keeps_ads_default_ratio() -> None:
    # the local forest always carries AD's default 0.2 ratio both ways; a rule set that replaces the default must
    # keep at least that much, or the local engine would suppress more than the plugin
    for spec in DETECTORS:
        for feature in {c.feature_name for c in spec.rules}:
            ratios = {c.threshold_type: c.value for c in spec.rules if c.feature_name == feature}
            assert ratios.get("actual_over_expected_ratio", 0) >= 0.2, spec.name
            assert ratios.get("expected_over_actual_ratio", 0) >= 0.2, spec.name
