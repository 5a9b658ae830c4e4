"""Settings from WAFAD_* variables and the catalogue as the one source of truth."""

from __future__ import annotations

import doctest
import json

import pytest
from pydantic import ValidationError

import wafad.catalogue as catalogue
from wafad.catalogue import DETECTORS, SEED_FIELDS, ad_detector_body, allow_lists_from_env, indicators
from wafad.settings import Settings


def test_catalogue_doctests() -> None:
    assert doctest.testmod(catalogue).failed == 0


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAFAD_TARGET", "aws")
    monkeypatch.setenv("WAFAD_OPENSEARCH_URL", "https://search.example:443")
    monkeypatch.setenv("WAFAD_OPENSEARCH_AUTH", "basic")
    monkeypatch.setenv("WAFAD_OPENSEARCH_USERNAME", "admin")
    monkeypatch.setenv("WAFAD_OPENSEARCH_PASSWORD", "hunter2")
    s = Settings(_env_file=None)
    assert s.effective_aws_endpoint is None  # real AWS
    assert s.uses_ad_plugin
    dumped = json.dumps(s.redacted(), default=str)
    assert "hunter2" not in dumped and "hunter2" not in repr(s)


def test_local_defaults_point_at_loopback() -> None:
    s = Settings(_env_file=None)
    assert s.effective_aws_endpoint == "http://127.0.0.1:4566"
    assert s.effective_opensearch_url == "http://127.0.0.1:9200"
    assert not s.uses_ad_plugin


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WAFAD_TARGET": "aws"}, "WAFAD_OPENSEARCH_URL"),
        ({"WAFAD_OPENSEARCH_AUTH": "basic"}, "WAFAD_OPENSEARCH_PASSWORD"),
        ({"WAFAD_TARGET": "gcp"}, "target"),
    ],
)
def test_bad_settings_say_what_is_missing(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None)


def test_allow_lists_override(monkeypatch: pytest.MonkeyPatch) -> None:
    allow = allow_lists_from_env({"WAFAD_ALLOW_COUNTRY": "DE, FR"})
    rec = {"httpRequest": {"country": "DE"}}
    assert indicators(rec, allow)["country_bad"] == 0
    assert indicators(rec)["country_bad"] == 1


def test_real_samples_get_indicators(waf_samples) -> None:
    for path in waf_samples:
        ind = indicators(json.loads(path.read_text()))
        assert set(ind) == {ind_name for ind_name, _ in SEED_FIELDS.values()}
        assert ind["status_bad"] == 1  # real WAF logs carry no httpStatus: missing counts as bad


def test_every_detector_renders_a_valid_ad_body() -> None:
    names = set()
    for spec in DETECTORS:
        body = ad_detector_body(spec, index_pattern="waf-logs-*", interval_minutes=1, window_delay_minutes=2)
        names.add(body["name"])
        assert body["time_field"] == "@timestamp"
        assert 1 <= len(body["feature_attributes"]) <= 5  # AD's default max_anomaly_features
        for feat in body["feature_attributes"]:
            assert len(feat["aggregation_query"]) == 1
        if spec.is_high_cardinality:
            assert body["category_field"] == [spec.category_field]
            assert body["imputation_option"] == {"method": "ZERO"}
    assert len(names) == len(DETECTORS)
    assert {d.watches for d in DETECTORS} >= set(SEED_FIELDS)


def test_detector_bodies_carry_their_rules_in_ads_shape() -> None:
    from wafad.catalogue import ad_rules

    for spec in DETECTORS:
        body = ad_detector_body(spec, index_pattern="waf-logs-*", interval_minutes=1, window_delay_minutes=2)
        if not spec.rules:
            assert "rules" not in body  # AD applies its default rule
            continue
        assert body["rules"] == ad_rules(spec)
        for rule in body["rules"]:
            assert rule["action"] == "IGNORE_ANOMALY"
            for cond in rule["conditions"]:
                assert cond["feature_name"] in {f.name for f in spec.features}
                assert cond["threshold_type"] == cond["threshold_type"].upper()
                assert ("value" in cond) == (cond["operator"] == "LTE")
