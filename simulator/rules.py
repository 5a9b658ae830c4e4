"""The simulated web ACL's rules and the *decisions* they produce.

A :class:`Decision` is everything in a WAF record that follows from which rule terminated the request:
``terminatingRuleId``/``Type``, ``action``, ``terminatingRuleMatchDetails``, ``ruleGroupList``, ``rateBasedRuleList``,
``nonTerminatingMatchingRules``, ``requestHeadersInserted``, ``responseCodeSent``, ``labels``,
``captchaResponse``/``challengeResponse``, and the status the client got when WAF answered itself. The web ACL is,
in priority order: a rate-based rule, four AWS managed rule groups, a partner allow rule (inserting a header), a
CAPTCHA rule, a challenge rule, a bad-bot block rule; default action ALLOW.

Placeholders: :data:`IP` (the client IP, rate-based ``limitValue``) and :data:`SOLVE` (a CAPTCHA solve time in epoch
seconds) are filled per record; a decision holds at most one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

IP = "\x00IP\x00"
SOLVE = "\x00SOLVE\x00"
_IP_JSON, _SOLVE_JSON = json.dumps(IP)[1:-1], json.dumps(SOLVE)[1:-1]
DYN_NONE, DYN_IP, DYN_SOLVE = 0, 1, 2

RATE_RULE = "rate-limit-per-ip"
RATE_RULE_ID = "7c968ef6-e7ac-40be-9c6c-07bff7c2a4cd"
RATE_LIMIT = 2000

MANAGED_GROUPS = (
    ("AWS-AWSManagedRulesAmazonIpReputationList", "AWS#AWSManagedRulesAmazonIpReputationList"),
    ("AWS-AWSManagedRulesCommonRuleSet", "AWS#AWSManagedRulesCommonRuleSet"),
    ("AWS-AWSManagedRulesKnownBadInputsRuleSet", "AWS#AWSManagedRulesKnownBadInputsRuleSet"),
    ("AWS-AWSManagedRulesSQLiRuleSet", "AWS#AWSManagedRulesSQLiRuleSet"),
)
_GROUP_LABEL = {
    "AWS#AWSManagedRulesAmazonIpReputationList": "amazon-ip-list",
    "AWS#AWSManagedRulesCommonRuleSet": "core-rule-set",
    "AWS#AWSManagedRulesKnownBadInputsRuleSet": "known-bad-inputs",
    "AWS#AWSManagedRulesSQLiRuleSet": "sql-database",
}


@dataclass(frozen=True)
class Decision:
    """The rule outcome part of a WAF record (see the module docstring)."""

    name: str
    action: str
    weight: float  # relative weight among the decisions with this action in normal traffic (0 = special use)
    terminating_rule_id: str = "Default_Action"
    terminating_rule_type: str = "REGULAR"
    match_details: tuple[dict[str, Any], ...] = ()
    rule_groups: tuple[dict[str, Any], ...] = ()
    rate_based: tuple[dict[str, Any], ...] = ()
    non_terminating: tuple[dict[str, Any], ...] = ()
    headers_inserted: tuple[dict[str, str], ...] | None = None
    response_code: int | None = None
    labels: tuple[str, ...] = ()
    captcha: dict[str, Any] | None = None
    challenge: dict[str, Any] | None = None
    status: int | None = None  # httpStatus when WAF answered itself; None = the origin's (drawn)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dyn(self) -> int:
        text = json.dumps([self.rate_based, self.non_terminating])
        return DYN_IP if _IP_JSON in text else DYN_SOLVE if _SOLVE_JSON in text else DYN_NONE

    def head(self) -> dict[str, Any]:
        """The keys between ``webaclId`` and ``httpSourceName``, in WAF's order."""
        return {
            "terminatingRuleId": self.terminating_rule_id,
            "terminatingRuleType": self.terminating_rule_type,
            "action": self.action,
            "terminatingRuleMatchDetails": list(self.match_details),
        }

    def middle(self) -> dict[str, Any]:
        """The keys between ``httpSourceId`` and ``httpRequest``."""
        return {
            "ruleGroupList": list(self.rule_groups),
            "rateBasedRuleList": list(self.rate_based),
            "nonTerminatingMatchingRules": list(self.non_terminating),
            "requestHeadersInserted": None if self.headers_inserted is None else list(self.headers_inserted),
            "responseCodeSent": self.response_code,
        }

    def tail(self) -> dict[str, Any]:
        """The keys after ``httpRequest`` (before the ``httpStatus`` extension)."""
        out: dict[str, Any] = {}
        if self.labels:
            out["labels"] = [{"name": n} for n in self.labels]
        if self.captcha is not None:
            out["captchaResponse"] = self.captcha
        if self.challenge is not None:
            out["challengeResponse"] = self.challenge
        return out


def _groups(upto: int | None = None, terminating: dict[str, Any] | None = None, nonterm: dict | None = None) -> tuple:
    """The managed rule groups evaluated: all of them, or up to index ``upto`` where ``terminating`` fired."""
    out = []
    last = len(MANAGED_GROUPS) - 1 if upto is None else upto
    for i, (_name, gid) in enumerate(MANAGED_GROUPS[: last + 1]):
        entry: dict[str, Any] = {
            "ruleGroupId": gid,
            "terminatingRule": terminating if i == upto else None,
            "nonTerminatingMatchingRules": [nonterm] if nonterm and nonterm.get("_group") == gid else [],
            "excludedRules": None,
            "customerConfig": None,
        }
        if entry["nonTerminatingMatchingRules"]:
            entry["nonTerminatingMatchingRules"] = [{k: v for k, v in nonterm.items() if k != "_group"}]
        out.append(entry)
    return tuple(out)


def _managed_block(name: str, weight: float, group_index: int, rule: str, label: str, **kw: Any) -> Decision:
    web_acl_rule, gid = MANAGED_GROUPS[group_index]
    return Decision(
        name=name,
        action="BLOCK",
        weight=weight,
        terminating_rule_id=web_acl_rule,
        terminating_rule_type="MANAGED_RULE_GROUP",
        rule_groups=_groups(group_index, {"ruleId": rule, "action": "BLOCK", "ruleMatchDetails": None}),
        labels=(f"awswaf:managed:aws:{_GROUP_LABEL[gid]}:{label}",),
        status=403,
        **kw,
    )


_SQLI_MATCH = {"conditionType": "SQL_INJECTION", "sensitivityLevel": "LOW", "location": "ALL_QUERY_ARGS",
               "matchedData": ["1", "OR", "1"]}  # fmt: skip
_COUNT_BOT = {
    "_group": "AWS#AWSManagedRulesCommonRuleSet",
    "ruleId": "SizeRestrictions_QUERYSTRING",
    "action": "COUNT",
    "ruleMatchDetails": [],
}
_RATE_ENTRY = {
    "rateBasedRuleId": RATE_RULE_ID,
    "rateBasedRuleName": RATE_RULE,
    "limitKey": "IP",
    "maxRateAllowed": RATE_LIMIT,
    "evaluationWindowSec": "300",
    "limitValue": IP,
}

DECISIONS: tuple[Decision, ...] = (
    # --- ALLOW --------------------------------------------------------------------------------------------
    Decision("allow-default", "ALLOW", 0.86, rule_groups=_groups()),
    Decision(
        "allow-default-count",
        "ALLOW",
        0.06,
        rule_groups=_groups(nonterm=_COUNT_BOT),
        labels=("awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString",),
    ),
    Decision(
        "allow-captcha-token",
        "ALLOW",
        0.03,
        rule_groups=_groups(),
        non_terminating=(
            {
                "ruleId": "captcha-login",
                "action": "CAPTCHA",
                "ruleMatchDetails": [],
                "captchaResponse": {"responseCode": 0, "solveTimestamp": SOLVE},
            },
        ),
        labels=("awswaf:managed:token:accepted",),
    ),
    Decision(
        "allow-partner-api",
        "ALLOW",
        0.05,
        terminating_rule_id="allow-partner-api",
        rule_groups=_groups(),
        headers_inserted=({"name": "x-amzn-waf-partner", "value": "verified"},),
    ),
    # --- BLOCK --------------------------------------------------------------------------------------------
    _managed_block("block-ip-reputation", 0.22, 0, "AWSManagedIPReputationList", "AWSManagedIPReputationList"),
    _managed_block("block-crs-no-ua", 0.10, 1, "NoUserAgent_HEADER", "NoUserAgent_Header"),
    _managed_block("block-crs-lfi", 0.08, 1, "GenericLFI_URIPATH", "GenericLFI_URIPath"),
    _managed_block("block-crs-size", 0.08, 1, "SizeRestrictions_BODY", "SizeRestrictions_Body"),
    _managed_block(
        "block-crs-xss",
        0.06,
        1,
        "CrossSiteScripting_QUERYARGUMENTS",
        "CrossSiteScripting_QueryArguments",
        match_details=({"conditionType": "XSS", "location": "ALL_QUERY_ARGS", "matchedData": ["<", "script"]},),
    ),
    _managed_block("block-kbi-paths", 0.12, 2, "ExploitablePaths_URIPATH", "ExploitablePaths_URIPath"),
    _managed_block("block-kbi-log4j", 0.04, 2, "Log4JRCE_HEADER", "Log4JRCE_Header"),
    _managed_block("block-sqli", 0.12, 3, "SQLi_QUERYARGUMENTS", "SQLi_QueryArguments", match_details=(_SQLI_MATCH,)),
    Decision(
        "block-rate-based",
        "BLOCK",
        0.10,
        terminating_rule_id=RATE_RULE,
        terminating_rule_type="RATE_BASED",
        rate_based=(_RATE_ENTRY,),
        response_code=429,
        status=429,
    ),
    Decision(
        "block-bad-bots",
        "BLOCK",
        0.08,
        terminating_rule_id="block-bad-bots",
        rule_groups=_groups(),
        labels=("wafad:bot:bad",),
        status=403,
    ),
    # --- CAPTCHA / CHALLENGE (terminating: WAF answers itself) -------------------------------------------------
    Decision(
        "captcha-missing",
        "CAPTCHA",
        0.7,
        terminating_rule_id="captcha-login",
        rule_groups=_groups(),
        response_code=405,
        labels=("awswaf:managed:token:absent",),
        captcha={"responseCode": 405, "solveTimestamp": 0, "failureReason": "TOKEN_MISSING"},
        status=405,
    ),
    Decision(
        "captcha-expired",
        "CAPTCHA",
        0.3,
        terminating_rule_id="captcha-login",
        rule_groups=_groups(),
        response_code=405,
        labels=("awswaf:managed:token:rejected",),
        captcha={"responseCode": 405, "solveTimestamp": 0, "failureReason": "TOKEN_EXPIRED"},
        status=405,
    ),
    Decision(
        "challenge-missing",
        "CHALLENGE",
        1.0,
        terminating_rule_id="challenge-suspicious-clients",
        rule_groups=_groups(),
        response_code=202,
        labels=("awswaf:managed:token:absent",),
        challenge={"responseCode": 202, "solveTimestamp": 0, "failureReason": "TOKEN_MISSING"},
        status=202,
    ),
    # --- special use (weight 0): anomaly traffic ------------------------------------------------------------
    Decision(
        "allow-rate-count",
        "ALLOW",
        0.0,
        rule_groups=_groups(),
        rate_based=(_RATE_ENTRY,),
        non_terminating=({"ruleId": RATE_RULE, "action": "COUNT", "ruleMatchDetails": []},),
    ),
)
DECISION_INDEX = {d.name: i for i, d in enumerate(DECISIONS)}
#: Decisions of the URI scanner: let through (the origin says 404) or blocked by a managed rule.
SCAN_DECISIONS = (("allow-default", 0.35), ("block-kbi-paths", 0.40), ("block-crs-lfi", 0.25))
FLOOD_DECISION = "allow-rate-count"
