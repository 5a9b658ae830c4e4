"""Parse and validate AWS WAF v2 log records (one JSON object per line), leniently where real logs are quirky.

Real records vary: ``requestHeadersInserted`` is absent, ``null`` or an array; ``responseCodeSent`` absent, ``null``
or an int; ``labels`` may be missing; header objects may carry ``myValue`` instead of ``value``; ``requestId`` may be
the string ``"null"``; ``httpSourceName``/``httpSourceId`` may be ``"-"``; rule-group entries carry undocumented keys
(``customerConfig``); ``ruleMatchDetails`` is ``null`` in one place and an array in another. All of that is valid
here. ``httpStatus`` is the design's extension (origin status), optional.

:func:`validate_record` checks types and the shape AWS documents; :func:`consistency_problems` adds the semantic
rules a well-formed record follows (terminating rule vs action, CAPTCHA/challenge responses, source id formats),
which the simulator's output must meet. Both return a list of problems (empty = fine) and never raise.
Standard library only (it may be packaged into the Lambda zips).

>>> rec = parse_record(b'{"timestamp": 1576280412771, "formatVersion": 1, "webaclId": "arn:aws:wafv2:x", '
...     b'"terminatingRuleId": "Default_Action", "terminatingRuleType": "REGULAR", "action": "ALLOW", '
...     b'"httpSourceName": "-", "httpSourceId": "-", "httpRequest": {"clientIp": "1.1.1.1", "country": "AU", '
...     b'"headers": [], "uri": "/", "args": "", "httpVersion": "HTTP/1.1", "httpMethod": "GET", "requestId": "rid"}}')
>>> validate_record(rec)
[]
>>> validate_record({"action": "Count"})[:2]
['missing timestamp', 'missing formatVersion']
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from wafad.catalogue import ACTIONS, UNKNOWN_COUNTRY

TERMINATING_RULE_TYPES = frozenset({"REGULAR", "RATE_BASED", "GROUP", "MANAGED_RULE_GROUP"})
NON_TERMINATING_ACTIONS = frozenset({"COUNT", "CAPTCHA", "CHALLENGE", "EXCLUDED_AS_COUNT", "ALLOW", "BLOCK"})
#: epoch milliseconds between 2001-09-09 and 2286-11-20 (13 digits)
MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS = 10**12, 10**13
_REQUIRED = (
    ("timestamp", int),
    ("formatVersion", int),
    ("webaclId", str),
    ("terminatingRuleId", str),
    ("terminatingRuleType", str),
    ("action", str),
    ("httpSourceName", str),
    ("httpSourceId", str),
    ("httpRequest", dict),
)
_REQUEST_STR = ("clientIp", "country", "uri", "args", "httpVersion", "httpMethod")
_OPTIONAL_LISTS = ("terminatingRuleMatchDetails", "ruleGroupList", "rateBasedRuleList", "nonTerminatingMatchingRules")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_WEBACL_ARN = re.compile(r"^arn:aws[\w-]*:wafv2:[\w-]*:\d*:(regional|global)/webacl/[^/]+/[^/]+$")


class WafRecordError(ValueError):
    """A line that is not a JSON object."""


try:  # orjson is faster where it is installed; the standard library is the fallback
    import orjson as _orjson

    def _loads(data: bytes | str) -> Any:
        return _orjson.loads(data)

    _DecodeError: tuple[type[Exception], ...] = (_orjson.JSONDecodeError, ValueError)
except ImportError:  # pragma: no cover

    def _loads(data: bytes | str) -> Any:
        return json.loads(data)

    _DecodeError = (ValueError,)


def parse_record(line: bytes | str) -> dict[str, Any]:
    """One WAF record from a JSON line (whitespace around it allowed); :class:`WafRecordError` if not an object."""
    try:
        rec = _loads(line)
    except _DecodeError as exc:
        preview = line[:80] if isinstance(line, str) else line[:80].decode("utf-8", "replace")
        raise WafRecordError(f"not JSON ({exc}): {preview!r}") from None
    if not isinstance(rec, dict):
        raise WafRecordError(f"a WAF record is a JSON object, got {type(rec).__name__}")
    return rec


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def header_value(header: Mapping[str, Any]) -> str | None:
    """A header object's value (``value``, or the ``myValue`` seen in AWS's examples)."""
    v = header.get("value", header.get("myValue"))
    return v if isinstance(v, str) else None


def header_pairs(rec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``httpRequest.headers`` as ``(name, value)`` pairs, skipping malformed entries."""
    req = rec.get("httpRequest")
    headers = req.get("headers") if isinstance(req, Mapping) else None
    out = []
    for h in headers if isinstance(headers, list) else ():
        if isinstance(h, Mapping) and isinstance(h.get("name"), str):
            v = header_value(h)
            if v is not None:
                out.append((h["name"], v))
    return out


def _check_token_response(name: str, v: Any, problems: list[str]) -> None:
    if not isinstance(v, dict):
        problems.append(f"{name} is not an object")
        return
    if not _is_int(v.get("responseCode")):
        problems.append(f"{name}.responseCode is not an integer")
    if "solveTimestamp" in v and not _is_int(v["solveTimestamp"]):
        problems.append(f"{name}.solveTimestamp is not an integer")
    if "failureReason" in v and not isinstance(v["failureReason"], str):
        problems.append(f"{name}.failureReason is not a string")


def _check_rule_list(name: str, items: list[Any], problems: list[str]) -> None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"{name}[{i}] is not an object")
            continue
        if name == "ruleGroupList":
            if not isinstance(item.get("ruleGroupId"), str):
                problems.append(f"ruleGroupList[{i}].ruleGroupId is not a string")
            term = item.get("terminatingRule")
            if term is not None and not (isinstance(term, dict) and isinstance(term.get("ruleId"), str)):
                problems.append(f"ruleGroupList[{i}].terminatingRule is neither null nor a rule")
            for key in ("nonTerminatingMatchingRules", "excludedRules"):
                if item.get(key) is not None and not isinstance(item[key], list):
                    problems.append(f"ruleGroupList[{i}].{key} is neither null nor an array")
        elif name == "nonTerminatingMatchingRules":
            if not isinstance(item.get("ruleId"), str):
                problems.append(f"{name}[{i}].ruleId is not a string")
            if item.get("action") not in NON_TERMINATING_ACTIONS:
                problems.append(f"{name}[{i}].action {item.get('action')!r} is not a rule action")
            for key in ("captchaResponse", "challengeResponse"):
                if key in item:
                    _check_token_response(f"{name}[{i}].{key}", item[key], problems)
        elif name == "rateBasedRuleList":
            if not isinstance(item.get("rateBasedRuleName", item.get("rateBasedRuleId")), str):
                problems.append(f"rateBasedRuleList[{i}] has no rateBasedRuleName/Id")
        elif name == "terminatingRuleMatchDetails" and not isinstance(item.get("conditionType"), str):
            problems.append(f"terminatingRuleMatchDetails[{i}].conditionType is not a string")


def _check_request(req: dict[str, Any], problems: list[str]) -> None:
    for key in _REQUEST_STR:
        if key not in req:
            problems.append(f"missing httpRequest.{key}")
        elif not isinstance(req[key], str):
            problems.append(f"httpRequest.{key} is not a string")
    if "requestId" in req and req["requestId"] is not None and not isinstance(req["requestId"], str):
        problems.append("httpRequest.requestId is not a string")
    ip = req.get("clientIp")
    if isinstance(ip, str):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            problems.append(f"httpRequest.clientIp {ip[:60]!r} is not an IP address")
    cc = req.get("country")
    if isinstance(cc, str) and cc != UNKNOWN_COUNTRY and not _COUNTRY.match(cc):
        problems.append(f"httpRequest.country {cc[:20]!r} is not an ISO 3166 alpha-2 code or '-'")
    headers = req.get("headers")
    if not isinstance(headers, list):
        problems.append("httpRequest.headers is not an array")
    else:
        for i, h in enumerate(headers):
            if not (isinstance(h, dict) and isinstance(h.get("name"), str) and header_value(h) is not None):
                problems.append(f"httpRequest.headers[{i}] is not a {{name, value}} object")
    for key in ("host", "scheme", "fragment"):
        if key in req and not isinstance(req[key], str):
            problems.append(f"httpRequest.{key} is not a string")


def validate_record(rec: Mapping[str, Any]) -> list[str]:
    """Problems with ``rec`` as a WAF v2 log record (empty list = valid). Lenient on known real-world quirks."""
    problems: list[str] = []
    if not isinstance(rec, Mapping):
        return [f"a WAF record is a JSON object, got {type(rec).__name__}"]
    for key, typ in _REQUIRED:
        if key not in rec:
            problems.append(f"missing {key}")
        elif typ is int and not _is_int(rec[key]):
            problems.append(f"{key} is not an integer")
        elif typ is not int and not isinstance(rec[key], typ):
            problems.append(f"{key} is not {'an object' if typ is dict else 'a string'}")
    ts = rec.get("timestamp")
    if _is_int(ts) and not MIN_TIMESTAMP_MS <= ts < MAX_TIMESTAMP_MS:
        problems.append(f"timestamp {ts} is not epoch milliseconds")
    if isinstance(rec.get("action"), str) and rec["action"] not in ACTIONS:
        problems.append(f"action {rec['action'][:20]!r} is not one of {', '.join(ACTIONS)}")
    rtype = rec.get("terminatingRuleType")
    if isinstance(rtype, str) and rtype not in TERMINATING_RULE_TYPES:
        problems.append(f"terminatingRuleType {rtype[:30]!r} is not one of {', '.join(sorted(TERMINATING_RULE_TYPES))}")
    for key in _OPTIONAL_LISTS:
        v = rec.get(key)
        if v is None:
            continue
        if not isinstance(v, list):
            problems.append(f"{key} is neither null nor an array")
        else:
            _check_rule_list(key, v, problems)
    inserted = rec.get("requestHeadersInserted")
    if inserted is not None and not (
        isinstance(inserted, list) and all(isinstance(h, dict) and isinstance(h.get("name"), str) for h in inserted)
    ):
        problems.append("requestHeadersInserted is neither null nor an array of {name, value}")
    code = rec.get("responseCodeSent")
    if code is not None and not (_is_int(code) or (isinstance(code, str) and code.isdigit())):
        problems.append("responseCodeSent is neither null nor an integer")
    labels = rec.get("labels")
    if labels is not None and not (
        isinstance(labels, list) and all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in labels)
    ):
        problems.append("labels is not an array of {name}")
    for key in ("captchaResponse", "challengeResponse"):
        if key in rec:
            _check_token_response(key, rec[key], problems)
    if "httpStatus" in rec:
        st = rec["httpStatus"]
        val = int(st) if isinstance(st, str) and st.isdigit() else st
        if not (_is_int(val) and 100 <= val <= 599):
            problems.append(f"httpStatus {str(st)[:10]!r} is not an HTTP status code")
    req = rec.get("httpRequest")
    if isinstance(req, dict):
        _check_request(req, problems)
    return problems


_SOURCE_ID = {
    "ALB": re.compile(r"^(\d{12}-app/[\w-]+/[0-9a-f]+|[\w-]+)$"),
    "APIGW": re.compile(r"^\d{12}:\w+:[\w-]+$"),
    "CF": re.compile(r"^E[A-Z0-9]{6,20}$"),
    "APPSYNC": re.compile(r"^(arn:aws[\w-]*:appsync:[\w-]+:\d{12}:apis/)?\w+$"),
    "COGNITOIDP": re.compile(r"^[\w-]+_\w+$"),
    "APPRUNNER": re.compile(r"^arn:aws[\w-]*:apprunner:[\w-]+:\d{12}:service/[\w-]+/\w+$"),
    "VERIFIED_ACCESS": re.compile(r"^vai-[0-9a-f]+$"),
    "-": re.compile(r"^-$"),
}
_WAF_RESPONSE_CODE = {"CAPTCHA": 405, "CHALLENGE": 202}


def consistency_problems(rec: Mapping[str, Any]) -> list[str]:
    """Semantic rules a well-formed record follows (on top of :func:`validate_record`)."""
    problems: list[str] = []
    action, rule, rtype = rec.get("action"), rec.get("terminatingRuleId"), rec.get("terminatingRuleType")
    if not isinstance(rec.get("webaclId"), str) or not _WEBACL_ARN.match(rec["webaclId"]):
        problems.append("webaclId is not a web ACL ARN")
    if rule == "Default_Action" and action not in ("ALLOW", "BLOCK"):
        problems.append(f"Default_Action with action {action}")
    if rtype == "RATE_BASED" and not rec.get("rateBasedRuleList"):
        problems.append("RATE_BASED termination without rateBasedRuleList")
    if rtype in ("GROUP", "MANAGED_RULE_GROUP"):
        groups = rec.get("ruleGroupList") or []
        if not any(isinstance(g, dict) and g.get("terminatingRule") for g in groups):
            problems.append(f"{rtype} termination without a terminatingRule in ruleGroupList")
    if action in _WAF_RESPONSE_CODE:
        key = "captchaResponse" if action == "CAPTCHA" else "challengeResponse"
        resp = rec.get(key)
        if not isinstance(resp, dict) or not resp.get("failureReason"):
            problems.append(f"terminating {action} without {key}.failureReason")
        code = rec.get("responseCodeSent")
        if code is not None and code != _WAF_RESPONSE_CODE[action]:
            problems.append(f"terminating {action} with responseCodeSent {code}")
    responses = (rec.get("captchaResponse"), rec.get("challengeResponse"))
    if action == "ALLOW" and any(isinstance(r, dict) and r.get("failureReason") for r in responses):
        problems.append("ALLOW with a failed CAPTCHA/challenge response")
    name, sid = rec.get("httpSourceName"), rec.get("httpSourceId")
    pattern = _SOURCE_ID.get(name) if isinstance(name, str) else None
    if pattern is not None and isinstance(sid, str) and not pattern.match(sid):
        problems.append(f"httpSourceId {sid[:60]!r} does not look like a {name} id")
    return problems
