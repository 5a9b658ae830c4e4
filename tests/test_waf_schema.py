"""The WAF record parser/validator on the real published samples and on broken records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from wafad.waf_schema import WafRecordError, consistency_problems, header_pairs, parse_record, validate_record


def _load(path: Path) -> dict:
    return parse_record(path.read_bytes())


def test_every_real_sample_is_valid_and_consistent(waf_samples: list[Path]) -> None:
    assert len(waf_samples) >= 7
    for path in waf_samples:
        rec = _load(path)
        assert validate_record(rec) == [], path.name
        assert consistency_problems(rec) == [], path.name


def test_parse_accepts_str_bytes_and_surrounding_whitespace(waf_samples: list[Path]) -> None:
    raw = waf_samples[0].read_text()
    assert parse_record(raw) == parse_record(("\n  " + raw + "\n").encode())


@pytest.mark.parametrize("line", [b"", b"not json", b"[1, 2]", b'"a string"', b"{"])
def test_parse_rejects_non_objects(line: bytes) -> None:
    with pytest.raises(WafRecordError):
        parse_record(line)


def test_quirks_are_tolerated(waf_samples: list[Path]) -> None:
    by_name = {p.name: _load(p) for p in waf_samples}
    quirk = by_name["aws-docs_sqli-nonterminating-count_header-quirk.json"]
    assert ("myHeader", "10 AND 1=1") in header_pairs(quirk)  # the "myValue" header
    alb = by_name["aws-docs_json-body-sqli-block-alb.json"]
    assert alb["httpRequest"]["requestId"] == "null" and validate_record(alb) == []
    cf = by_name["opensearch-obs-integration_cf-allow-line1.json"]
    assert "labels" not in cf and cf["ruleGroupList"][0]["customerConfig"] is None and validate_record(cf) == []


def _base(waf_samples: list[Path]) -> dict:
    return _load(next(p for p in waf_samples if p.name.startswith("aws-docs_03")))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.pop("timestamp"), "missing timestamp"),
        (lambda r: r.update(timestamp=1576280412.771), "timestamp is not an integer"),
        (lambda r: r.update(timestamp=1576280412), "timestamp 1576280412 is not epoch milliseconds"),
        (lambda r: r.update(action="Count"), "action 'Count' is not one of"),
        (lambda r: r.update(terminatingRuleType="WEIRD"), "terminatingRuleType 'WEIRD'"),
        (lambda r: r.update(responseCodeSent="abc"), "responseCodeSent is neither null nor an integer"),
        (lambda r: r.update(requestHeadersInserted={"a": 1}), "requestHeadersInserted"),
        (lambda r: r.update(labels=["x"]), "labels is not an array"),
        (lambda r: r.update(httpStatus=9000), "httpStatus '9000'"),
        (lambda r: r["httpRequest"].update(clientIp="999.1.1.1"), "is not an IP address"),
        (lambda r: r["httpRequest"].update(country="UK1"), "is not an ISO 3166"),
        (lambda r: r["httpRequest"].update(headers=[{"name": "x"}]), "headers[0]"),
        (lambda r: r["httpRequest"].pop("uri"), "missing httpRequest.uri"),
        (lambda r: r.update(ruleGroupList={}), "ruleGroupList is neither null nor an array"),
        (lambda r: r["captchaResponse"].update(responseCode="405"), "captchaResponse.responseCode"),
    ],
)
def test_broken_records_are_reported(waf_samples: list[Path], mutate, expected: str) -> None:
    rec = copy.deepcopy(_base(waf_samples))
    assert validate_record(rec) == []
    mutate(rec)
    problems = validate_record(rec)
    assert any(expected in p for p in problems), problems


def test_lenient_variants_stay_valid(waf_samples: list[Path]) -> None:
    rec = copy.deepcopy(_base(waf_samples))
    for variant in (
        {"requestHeadersInserted": None},
        {"requestHeadersInserted": [{"name": "x-a", "value": "1"}]},
        {"responseCodeSent": None},
        {"responseCodeSent": "405"},
        {"httpStatus": 503},
        {"httpStatus": "200"},
    ):
        assert validate_record(rec | variant) == [], variant
    rec["httpRequest"] |= {"host": "example.com", "scheme": "https", "fragment": "", "clientIp": "2a02:c7c::1"}
    assert validate_record(rec) == []
    rec.pop("labels", None)
    assert validate_record(json.loads(json.dumps(rec))) == []


def test_consistency_rules() -> None:
    rec = {
        "webaclId": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/a/b",
        "terminatingRuleId": "Default_Action",
        "terminatingRuleType": "REGULAR",
        "action": "ALLOW",
        "httpSourceName": "APIGW",
        "httpSourceId": "123456789012:abc:prod",
    }
    assert consistency_problems(rec) == []
    assert consistency_problems(rec | {"action": "CAPTCHA"})  # Default_Action cannot answer CAPTCHA
    assert consistency_problems(rec | {"terminatingRuleType": "RATE_BASED"})
    assert consistency_problems(rec | {"terminatingRuleType": "MANAGED_RULE_GROUP"})
    assert consistency_problems(rec | {"httpSourceId": "apigw"})
    captcha = rec | {"terminatingRuleId": "c", "action": "CAPTCHA", "responseCodeSent": 405}
    assert consistency_problems(captcha)  # no captchaResponse
    assert (
        consistency_problems(captcha | {"captchaResponse": {"responseCode": 405, "failureReason": "TOKEN_MISSING"}})
        == []
    )
    assert consistency_problems(captcha | {"responseCodeSent": 200, "captchaResponse": {"failureReason": "X"}})
