"""AD detector rules (AD 2.17+ ``rules`` with ``ignore_anomaly``) applied to a result, as the plugin does.

The shape (opensearch-project/anomaly-detection, ``ad/model/Rule.java``, ``Condition.java``, ``ThresholdType.java``,
``Action.java``)::

    "rules": [{"action": "IGNORE_ANOMALY", "conditions": [
        {"feature_name": "action_bad", "threshold_type": "ACTUAL_OVER_EXPECTED_RATIO", "operator": "LTE", "value": 0.2},
        {"feature_name": "action_bad", "threshold_type": "ACTUAL_IS_BELOW_EXPECTED"}]}]

Enums are parsed case-insensitively; the only action is ``IGNORE_ANOMALY``, the only operator ``LTE``. With ``a`` the
actual and ``b`` the expected value of a feature, the plugin ignores an anomaly when:

* **margin / ratio** (``ad/ml/IgnoreSimilarExtractor.java`` -> the forest's ``ignoreNearExpected*``; RCF
  ``PredictorCorrector.constructUncertaintyBox`` + ``withinGap``): for *every* feature,
  ``b - gapLow <= a <= b + gapHigh`` with ``gapHigh = max(actual_over_expected_margin, actual_over_expected_ratio *
  |a|)`` and ``gapLow = max(expected_over_actual_margin, expected_over_actual_ratio * |a|)`` (a ratio is of
  ``|a|``: ratio 0.5 above ignores ``a <= 2b``). Per feature and type the last condition wins. Inside the forest
  this zeroes the grade before the result is built, so the result has no attribution, expected or past values
  (``AnomalyResult.fromRawTRCFResult`` converts them only when grade > 0); score and confidence are the forest's.
* **directional** (2.19+, post-hoc in ``AnomalyResult.fromRawTRCFResult``): ``ACTUAL_IS_BELOW_EXPECTED`` when
  ``a < b``, ``ACTUAL_IS_OVER_EXPECTED`` when ``a > b``, tested on the top-attributed features only (attribution
  rounded to 2 dp equal to the maximum; every feature without attribution), ``a`` the past value when the result
  has ``past_values`` (the anomaly sits earlier in the shingle), ``b`` from the *last* expected-value list. Only
  ``anomaly_grade`` becomes 0; score, confidence, attribution, expected and past values stay.

Without ``rules`` AD applies its default rule, ratio 0.2 both ways per feature (``AnomalyDetector.getDefaultRule``).
The local engine's forest always carries that default (``offline_rcf.engine.ForestConfig``), and
:func:`apply_rules` applies the detector's own rules to the result afterwards; the catalogue keeps the 0.2 ratios in
every rule set, so the two together suppress what the plugin's forest does. The one part a result cannot replay is
the forest's neighbour test on the same box (``CONDITIONAL_FORECAST``): the plugin may suppress a little more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

BOX_TYPES = {
    "ACTUAL_OVER_EXPECTED_MARGIN": ("high", "margin"),
    "EXPECTED_OVER_ACTUAL_MARGIN": ("low", "margin"),
    "ACTUAL_OVER_EXPECTED_RATIO": ("high", "ratio"),
    "EXPECTED_OVER_ACTUAL_RATIO": ("low", "ratio"),
}
DIRECTIONAL = ("ACTUAL_IS_OVER_EXPECTED", "ACTUAL_IS_BELOW_EXPECTED")
#: fields a result built with grade 0 does not have (detectors.results.result_document)
ANOMALY_ONLY_FIELDS = ("approx_anomaly_start_time", "relevant_attribution", "past_values", "expected_values")


def _conditions(rules: Sequence[Any]) -> list[tuple[str, str, float | None]]:
    """(feature name, THRESHOLD_TYPE, value) of AD rule JSON, or of catalogue ``RuleCondition`` objects."""
    out = []
    for rule in rules:
        if hasattr(rule, "threshold_type"):  # wafad.catalogue.RuleCondition: one condition
            out.append((str(rule.feature_name), str(rule.threshold_type).upper(), rule.value))
            continue
        if str(rule.get("action", "IGNORE_ANOMALY")).upper() != "IGNORE_ANOMALY":
            raise ValueError(f"unknown rule action {rule.get('action')!r} (AD knows IGNORE_ANOMALY)")
        for cond in rule.get("conditions") or []:
            kind = str(cond.get("threshold_type", "")).upper()
            if kind not in BOX_TYPES and kind not in DIRECTIONAL:
                raise ValueError(f"unknown threshold_type {cond.get('threshold_type')!r}")
            value = cond.get("value")
            out.append((str(cond["feature_name"]), kind, None if value is None else float(value)))
    return out


def _by_feature_id(items: Any) -> dict[str, float]:
    return {str(v["feature_id"]): float(v["data"]) for v in items or [] if v.get("data") is not None}


def _compared_values(doc: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, float], dict[str, float]]:
    """feature name -> id, id -> value to compare (past value if any, else actual), id -> expected (last list)."""
    names = {str(f.get("feature_name")): str(f["feature_id"]) for f in doc.get("feature_data") or []}
    past = _by_feature_id(doc.get("past_values"))
    actual = past or _by_feature_id(doc.get("feature_data"))
    expected: dict[str, float] = {}
    for value_list in doc.get("expected_values") or []:
        expected.update(_by_feature_id(value_list.get("value_list")))
    return names, actual, expected


def _top_features(doc: Mapping[str, Any]) -> set[str]:
    ids = [str(f["feature_id"]) for f in doc.get("feature_data") or []]
    attribution = _by_feature_id(doc.get("relevant_attribution"))
    if len(attribution) != len(ids) or not ids:
        return set(ids)
    rounded = {f: round(attribution[f] * 100.0) / 100.0 for f in ids}
    best = max(rounded.values())
    return {f for f, v in rounded.items() if v == best}


def within_box(doc: Mapping[str, Any], conditions: Sequence[tuple[str, str, float | None]]) -> bool:
    """Every feature's actual lies in the box the margin/ratio conditions put around its expected value."""
    names, actual, expected = _compared_values(doc)
    gaps: dict[str, dict[tuple[str, str], float]] = {}
    for name, kind, value in conditions:
        if kind in BOX_TYPES and name in names:
            gaps.setdefault(names[name], {})[BOX_TYPES[kind]] = value or 0.0
    if not gaps or not expected:
        return False
    for fid in names.values():
        if fid not in actual or fid not in expected:
            return False
        a, b, g = actual[fid], expected[fid], gaps.get(fid, {})
        high = max(g.get(("high", "margin"), 0.0), g.get(("high", "ratio"), 0.0) * abs(a))
        low = max(g.get(("low", "margin"), 0.0), g.get(("low", "ratio"), 0.0) * abs(a))
        if a < b - low or a > b + high:
            return False
    return True


def directional_match(doc: Mapping[str, Any], conditions: Sequence[tuple[str, str, float | None]]) -> bool:
    """A top-attributed feature moved in a direction a directional condition ignores."""
    names, actual, expected = _compared_values(doc)
    top = _top_features(doc)
    for name, kind, _value in conditions:
        fid = names.get(name)
        if kind not in DIRECTIONAL or fid not in top:
            continue
        a, b = actual.get(fid, 0.0), expected.get(fid, 0.0)  # AD compares missing values as 0
        if (kind == "ACTUAL_IS_BELOW_EXPECTED" and a < b) or (kind == "ACTUAL_IS_OVER_EXPECTED" and a > b):
            return True
    return False


def apply_rules(doc: dict[str, Any], rules: Sequence[Any] = ()) -> dict[str, Any]:
    """``doc`` with its anomaly suppressed (grade 0) when a rule matches; unchanged without rules.

    ``doc`` is an AD result document, ``rules`` the detector's ``rules`` as the plugin takes them
    (:func:`wafad.catalogue.ad_rules`) or the catalogue's ``spec.rules``; applying them twice changes nothing.
    Returns a new document when it changes: a margin/ratio match also drops the fields only anomalous results carry
    (:data:`ANOMALY_ONLY_FIELDS`), a directional match only zeroes the grade. Score, confidence and feature data
    never change; results without a grade (errors) or with grade 0 are returned as they are.
    """
    grade = doc.get("anomaly_grade")
    if not rules or grade is None or float(grade) <= 0 or doc.get("error"):
        return doc
    conditions = _conditions(rules)
    if within_box(doc, conditions):
        out = {k: v for k, v in doc.items() if k not in ANOMALY_ONLY_FIELDS}
        out["anomaly_grade"] = 0.0
        return out
    if directional_match(doc, conditions):
        return {**doc, "anomaly_grade": 0.0}
    return doc
