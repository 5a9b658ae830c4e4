"""The one source of truth for field vocabularies, indicator fields and the detector catalogue.

The Firehose transform adds the indicator fields with :func:`indicators`, the detectors sum them with the
aggregations of :data:`DETECTORS`, and ``offline_rcf`` computes the same features from raw records. Nothing
else defines what "bad" means.

This module is standard-library only: it is packaged into the Lambda zips.

>>> rec = {"action": "BLOCK", "httpSourceName": "ALB", "httpStatus": 503,
...        "httpRequest": {"country": "GB", "httpMethod": "GET"}}
>>> indicators(rec)
{'action_bad': 1, 'source_bad': 0, 'status_bad': 1, 'country_bad': 0, 'method_bad': 0}
>>> indicators({})["country_bad"]  # missing counts as bad ("many to one")
1
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# --- vocabularies ---------------------------------------------------------------------------------
ACTIONS = ("ALLOW", "BLOCK", "CAPTCHA", "CHALLENGE")  # terminating actions; COUNT only in non-terminating
HTTP_SOURCES = ("CF", "ALB", "APIGW", "APPSYNC", "COGNITOIDP", "APPRUNNER", "VERIFIED_ACCESS", "-")
HTTP_METHODS = ("GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT")
UNKNOWN_COUNTRY = "-"

#: The five seed fields, in catalogue order: name -> (indicator field, dotted path in a WAF record).
SEED_FIELDS: dict[str, tuple[str, str]] = {
    "action": ("action_bad", "action"),
    "httpSourceName": ("source_bad", "httpSourceName"),
    "httpStatus": ("status_bad", "httpStatus"),
    "country": ("country_bad", "httpRequest.country"),
    "httpMethod": ("method_bad", "httpRequest.httpMethod"),
}
INDICATOR_FIELDS = tuple(ind for ind, _ in SEED_FIELDS.values())

#: Default allow-lists: a value in the list is good (0); anything else, missing included, is bad (1).
DEFAULT_ALLOW: dict[str, frozenset[str]] = {
    "action": frozenset({"ALLOW"}),
    "httpSourceName": frozenset({"ALB", "APIGW", "CF"}),
    "country": frozenset({"GB", "US", "IN"}),
    "httpMethod": frozenset({"GET", "POST", "HEAD"}),
}
#: httpStatus (the design's origin-status extension) is good below this value; 5xx and missing are bad.
STATUS_BAD_FROM = 500

TIME_FIELD = "@timestamp"
EVENT_ID_FIELD = "event_id"
COUNTRY_FIELD = "httpRequest.country"
CLIENT_IP_FIELD = "httpRequest.clientIp"
URI_FIELD = "httpRequest.uri"


def allow_lists_from_env(environ: Mapping[str, str] | None = None) -> dict[str, frozenset[str]]:
    """Allow-lists, each overridable with ``WAFAD_ALLOW_<FIELD>=A,B,C`` (e.g. ``WAFAD_ALLOW_COUNTRY``)."""
    env = os.environ if environ is None else environ
    out = dict(DEFAULT_ALLOW)
    for name in DEFAULT_ALLOW:
        raw = env.get(f"WAFAD_ALLOW_{name.upper()}")
        if raw is not None:
            out[name] = frozenset(v.strip() for v in raw.split(",") if v.strip())
    return out


def _status_bad(status: Any) -> int:
    if isinstance(status, bool):
        return 1
    if isinstance(status, int):
        return 0 if 100 <= status < STATUS_BAD_FROM else 1
    if isinstance(status, str) and status.isdigit():
        return _status_bad(int(status))
    return 1


def indicator_values(
    action: Any,
    source: Any,
    status: Any,
    country: Any,
    method: Any,
    allow: Mapping[str, frozenset[str]] = DEFAULT_ALLOW,
) -> tuple[int, int, int, int, int]:
    """The five indicators, in :data:`INDICATOR_FIELDS` order, for the five seed values (``None`` = missing).

    >>> indicator_values("ALLOW", "CF", 200, "GB", "GET")
    (0, 0, 0, 0, 0)
    >>> indicator_values("BLOCK", None, "503", "-", "XXX")
    (1, 1, 1, 1, 1)
    """
    return (
        0 if action in allow["action"] else 1,
        0 if source in allow["httpSourceName"] else 1,
        (0 if 100 <= status < STATUS_BAD_FROM else 1) if type(status) is int else _status_bad(status),
        0 if country in allow["country"] else 1,
        0 if method in allow["httpMethod"] else 1,
    )


def indicators(record: Mapping[str, Any], allow: Mapping[str, frozenset[str]] = DEFAULT_ALLOW) -> dict[str, int]:
    """The five 0/1 indicator fields for one WAF record (1 = bad; unknown or missing = bad)."""
    req = record.get("httpRequest")
    if not isinstance(req, Mapping):
        req = {}
    values = indicator_values(
        record.get("action"),
        record.get("httpSourceName"),
        record.get("httpStatus"),
        req.get("country"),
        req.get("httpMethod"),
        allow,
    )
    return dict(zip(INDICATOR_FIELDS, values, strict=True))


# --- detector catalogue ---------------------------------------------------------------------------
AggType = Literal["sum", "value_count", "avg", "min", "max", "cardinality"]
#: AD 2.17+ suppression-rule condition types (``ThresholdType``; the two directional ones since 2.19)
ThresholdType = Literal[
    "actual_over_expected_margin",
    "expected_over_actual_margin",
    "actual_over_expected_ratio",
    "expected_over_actual_ratio",
    "actual_is_over_expected",
    "actual_is_below_expected",
]
THRESHOLD_TYPES: tuple[str, ...] = ThresholdType.__args__  # type: ignore[attr-defined]
DIRECTIONAL_TYPES = frozenset({"actual_is_over_expected", "actual_is_below_expected"})


@dataclass(frozen=True)
class RuleCondition:
    """One condition of an AD ``ignore_anomaly`` rule (its semantics: :mod:`detectors.rules`).

    ``value`` is a margin in the feature's units or a ratio of ``|actual|`` (AD: positive), and absent for the
    directional types.
    """

    feature_name: str
    threshold_type: ThresholdType
    value: float | None = None

    def __post_init__(self) -> None:
        if self.threshold_type not in THRESHOLD_TYPES:
            raise ValueError(f"unknown threshold_type {self.threshold_type!r}; AD knows: {', '.join(THRESHOLD_TYPES)}")
        directional = self.threshold_type in DIRECTIONAL_TYPES
        if directional and self.value is not None:
            raise ValueError(f"{self.threshold_type} takes no value")
        if not directional and not (self.value is not None and self.value > 0):
            raise ValueError(f"{self.threshold_type} needs a positive value, got {self.value!r}")

    def to_ad(self) -> dict[str, Any]:
        """The condition as the AD plugin parses and echoes it (enums upper-case, operator ``LTE``)."""
        if self.threshold_type in DIRECTIONAL_TYPES:
            return {"feature_name": self.feature_name, "threshold_type": self.threshold_type.upper(), "operator": None}
        return {
            "feature_name": self.feature_name,
            "threshold_type": self.threshold_type.upper(),
            "operator": "LTE",
            "value": float(self.value or 0.0),
        }


@dataclass(frozen=True)
class AlertThresholds:
    """When a detector's results may page: the Alerting trigger's gates plus the evidence an incident needs.

    A result alerts when grade > ``min_grade`` and confidence >= ``min_confidence`` (the monitor trigger's gates;
    the settings raise them as floors). ``significance`` is the p-value a pending incident's counts must reach
    against the counts the model expected, ``dispersion`` the variance/mean floor of that count model (1: Poisson;
    :mod:`alerting.evidence`).
    """

    min_grade: float = 0.0
    min_confidence: float = 0.0
    significance: float | None = None  # None: no count evidence asked
    dispersion: float = 1.0


@dataclass(frozen=True)
class Feature:
    """One AD feature: a single-value aggregation over one field."""

    name: str
    agg: AggType
    field: str

    def aggregation_query(self) -> dict[str, Any]:
        return {self.name: {self.agg: {"field": self.field}}}


@dataclass(frozen=True)
class DetectorSpec:
    """A detector as the catalogue defines it; :func:`ad_detector_body` renders the AD plugin JSON.

    ``watches`` names what the detector is for, in the simulator's ground-truth vocabulary
    (a seed field such as ``"httpStatus"``, or ``"volume"``), so detections can be scored against labels.
    """

    name: str
    description: str
    features: tuple[Feature, ...]
    watches: str
    category_field: str | None = None
    imputation: Literal["ZERO", "PREVIOUS"] | None = None
    filter_query: Mapping[str, Any] = field(default_factory=lambda: {"match_all": {}})
    rules: tuple[RuleCondition, ...] = ()  # AD ``ignore_anomaly`` conditions; empty: AD's default 20 % rule
    alert: AlertThresholds = field(default_factory=lambda: AlertThresholds())

    def __post_init__(self) -> None:
        names = {f.name for f in self.features}
        unknown = sorted({c.feature_name for c in self.rules} - names)
        if unknown:  # AD: 'Feature "x" specified in a suppression rule does not exist.'
            raise ValueError(f"detector {self.name}: rules name unknown features {', '.join(unknown)}")

    @property
    def is_high_cardinality(self) -> bool:
        return self.category_field is not None


#: the seed detectors' alert gates: neutral (the settings decide) until chosen with ``wafad evaluate`` on tuning
#: seeds and reported on others; e.g. AlertThresholds(min_confidence=0.7, significance=1e-3)
SEED_ALERT = AlertThresholds()


def near_expected_rules(feature: str, ratio: float = 0.2, *, margin: float | None = None) -> tuple[RuleCondition, ...]:
    """Ignore results within ``ratio`` of ``|actual|`` (AD's default rule is 0.2 both ways) or ``margin`` above."""
    out = [
        RuleCondition(feature, "actual_over_expected_ratio", ratio),
        RuleCondition(feature, "expected_over_actual_ratio", ratio),
    ]
    if margin is not None:
        out.append(RuleCondition(feature, "actual_over_expected_margin", margin))
    return tuple(out)


def _indicator_detector(seed_field: str, name: str, what: str) -> DetectorSpec:
    ind, _path = SEED_FIELDS[seed_field]
    return DetectorSpec(
        name=name,
        description=f"Requests per interval with {what} (sum of {ind})",
        features=(Feature(ind, "sum", ind),),
        watches=seed_field,
        # fewer bad requests than expected is no attack: AD zeroes those grades (2.19+ directional rule)
        rules=(*near_expected_rules(ind), RuleCondition(ind, "actual_is_below_expected")),
        alert=SEED_ALERT,
    )


DETECTORS: tuple[DetectorSpec, ...] = (
    _indicator_detector("action", "waf-block-action", "a non-ALLOW terminating action"),
    _indicator_detector("httpSourceName", "waf-http-source", "an unexpected httpSourceName"),
    _indicator_detector("httpStatus", "waf-http-status-5xx", "an origin status of 5xx or none"),
    _indicator_detector("country", "waf-unknown-country", "a country outside the allow-list"),
    _indicator_detector("httpMethod", "waf-uncommon-method", "an uncommon HTTP method"),
    DetectorSpec(
        name="waf-volume",
        description="Requests per interval (document count)",
        features=(Feature("requests", "value_count", EVENT_ID_FIELD),),
        watches="volume",
    ),
    DetectorSpec(
        name="waf-country-hc",
        description="Requests per interval for each country (high cardinality, zero imputation)",
        features=(Feature("requests", "value_count", EVENT_ID_FIELD),),
        watches="country",
        category_field=COUNTRY_FIELD,
        imputation="ZERO",
    ),
)
DETECTORS_BY_NAME = {d.name: d for d in DETECTORS}
SEED_DETECTORS = tuple(d for d in DETECTORS if d.watches in SEED_FIELDS and not d.is_high_cardinality)


def get_detector(name: str) -> DetectorSpec:
    try:
        return DETECTORS_BY_NAME[name]
    except KeyError:
        known = ", ".join(DETECTORS_BY_NAME)
        raise KeyError(f"unknown detector {name!r}; the catalogue has: {known}") from None


def ad_detector_body(
    spec: DetectorSpec,
    *,
    index_pattern: str,
    interval_minutes: int,
    window_delay_minutes: int,
    shingle_size: int = 8,
    result_index: str | None = None,
) -> dict[str, Any]:
    """The AD plugin's create/update body for ``spec`` (``POST _plugins/_anomaly_detection/detectors``)."""
    body: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "time_field": TIME_FIELD,
        "indices": [index_pattern],
        "filter_query": dict(spec.filter_query),
        "feature_attributes": [
            {"feature_name": f.name, "feature_enabled": True, "aggregation_query": f.aggregation_query()}
            for f in spec.features
        ],
        "detection_interval": {"period": {"interval": interval_minutes, "unit": "Minutes"}},
        "window_delay": {"period": {"interval": window_delay_minutes, "unit": "Minutes"}},
        "shingle_size": shingle_size,
    }
    if spec.category_field:
        body["category_field"] = [spec.category_field]
    if spec.imputation:
        body["imputation_option"] = {"method": spec.imputation}
    if result_index:
        body["result_index"] = result_index
    rules = ad_rules(spec)
    if rules:
        body["rules"] = rules
    return body


def ad_rules(spec: DetectorSpec) -> list[dict[str, Any]]:
    """``spec.rules`` in the AD plugin's shape: one ``IGNORE_ANOMALY`` rule per feature, as AD's default rule.

    Empty when the detector has none (AD then applies its default: 20 % of ``|actual|`` both ways).
    """
    by_feature: dict[str, list[dict[str, Any]]] = {}
    for cond in spec.rules:
        by_feature.setdefault(cond.feature_name, []).append(cond.to_ad())
    return [{"action": "IGNORE_ANOMALY", "conditions": conds} for conds in by_feature.values()]
