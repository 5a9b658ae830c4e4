"""The Firehose transform handler against the exact Firehose contract, on the real published WAF samples."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ingest.events import LAMBDA_PAYLOAD_LIMIT, validate_firehose_response
from ingest.headers import headers_map
from ingest.record_values import iso_timestamp
from ingest.transform import to_document
from lambdas.firehose_transform import handler
from wafad.catalogue import INDICATOR_FIELDS, allow_lists_from_env, indicators


class Ctx:
    def __init__(self) -> None:
        self.failure_reasons: dict[str, str] = {}


def _b64(obj: Any) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.b64encode(raw).decode()


def kinesis_event(payloads: list[Any]) -> dict[str, Any]:
    return {
        "invocationId": "inv-1",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/wafad",
        "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/wafad",
        "region": "us-east-1",
        "records": [
            {
                "recordId": f"r{i}",
                "approximateArrivalTimestamp": 1700000000000,
                "data": _b64(p),
                "kinesisRecordMetadata": {
                    "shardId": "shardId-000000000000",
                    "partitionKey": f"pk{i:030d}",
                    "approximateArrivalTimestamp": "2023-11-14T22:13:20.000Z",
                    "sequenceNumber": str(1000 + i),
                    "subsequenceNumber": "",
                },
            }
            for i, p in enumerate(payloads)
        ],
    }


def direct_put_event(payloads: list[Any]) -> dict[str, Any]:
    return {
        "invocationId": "inv-2",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/aws-waf-logs-x",
        "region": "us-east-1",
        "records": [
            {"recordId": f"d{i}", "approximateArrivalTimestamp": 1700000000000, "data": _b64(p)}
            for i, p in enumerate(payloads)
        ],
    }


def _docs(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(r["data"])) for r in response["records"] if r["result"] == "Ok"]


@pytest.mark.parametrize("shape", [kinesis_event, direct_put_event])
def test_every_real_sample_transforms_to_ok(waf_samples: list[Path], shape: Any) -> None:
    samples = [json.loads(p.read_text()) for p in waf_samples]
    event = shape(samples)
    response = handler(event, None)
    ids = [r["recordId"] for r in event["records"]]
    assert validate_firehose_response(ids, response)  # every recordId once, valid results
    assert [r["result"] for r in response["records"]] == ["Ok"] * len(samples)
    allow = allow_lists_from_env()
    for sample, doc in zip(samples, _docs(response), strict=True):
        assert doc["@timestamp"] == iso_timestamp(sample["timestamp"])
        assert {k: doc[k] for k in INDICATOR_FIELDS} == indicators(sample, allow)
        assert isinstance(doc["event_id"], str) and len(doc["event_id"]) >= 16
        headers = doc["httpRequest"]["headers"]
        assert isinstance(headers, dict) and all(k == k.lower() for k in headers)
        assert "cookie" not in headers and "authorization" not in headers
        for name in ("ruleGroupList", "terminatingRuleMatchDetails", "nonTerminatingMatchingRules"):
            assert isinstance(doc.get(name, []), list)
        assert doc["httpRequest"]["uri"] == sample["httpRequest"]["uri"]


def test_each_document_in_a_batch_is_that_records_own(waf_samples: list[Path]) -> None:
    """The handler encodes every document into one reused buffer: long and short records in turn must each come
    back byte for byte as their own document, with nothing left over from the previous one."""
    samples = sorted((json.loads(p.read_text()) for p in waf_samples), key=lambda r: len(json.dumps(r)))
    ordered = [rec for pair in zip(reversed(samples), samples, strict=True) for rec in pair]
    event = kinesis_event(ordered)
    response = handler(event, None)
    allow = allow_lists_from_env()
    for rec, out in zip(event["records"], response["records"], strict=True):
        raw = base64.b64decode(rec["data"])
        own = to_document(raw, allow, rec["kinesisRecordMetadata"]["partitionKey"])
        assert out["result"] == "Ok" and base64.b64decode(out["data"]) == own


def test_timestamp_and_event_id_rules() -> None:
    assert iso_timestamp(1576280412771) == "2019-12-13T23:40:12.771Z"
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000Z"
    base = {"httpRequest": {"clientIp": "1.2.3.4"}}
    payloads = [
        {**base, "timestamp": 1576280412771, "event_id": "abc123"},
        {**base, "timestamp": 1576280412.771},  # the seed simulator's float seconds
        {**base, "timestamp": "1576280412771"},
        {**base, "timestamp": "2019-12-13T23:40:12.771Z"},
    ]
    response = handler(kinesis_event(payloads), None)
    docs = _docs(response)
    assert len(docs) == 4
    assert {d["@timestamp"] for d in docs} == {"2019-12-13T23:40:12.771Z"}
    assert docs[0]["event_id"] == "abc123"  # set by the relay: kept
    assert docs[1]["event_id"] == "pk" + f"{1:030d}"  # else the partition key (the relay's id)
    direct = _docs(handler(direct_put_event(payloads[1:2]), None))[0]
    again = _docs(handler(direct_put_event(payloads[1:2]), None))[0]
    assert direct["event_id"] == again["event_id"]  # DirectPut: a content hash, still deterministic


def test_headers_quirks_and_credentials() -> None:
    headers = [
        {"name": "Host", "value": "a.example"},
        {"name": "myHeader", "myValue": "10 AND 1=1"},
        {"name": "Authorization", "value": "Bearer eyJhbGciOi.secret"},
        {"name": "Cookie", "value": "session=s3cr3t"},
        {"name": "X-Forwarded-For", "value": "1.1.1.1"},
        {"name": "x-forwarded-for", "value": "2.2.2.2"},
        {"name": "X-Num", "value": 5},
        {"value": "nameless"},
        "not-an-object",
    ]
    out = headers_map(headers)
    assert out == {"host": "a.example", "myheader": "10 AND 1=1", "x-forwarded-for": "1.1.1.1, 2.2.2.2", "x-num": 5}
    assert "secret" not in json.dumps(out) and "s3cr3t" not in json.dumps(out)


def test_bad_records_fail_alone_with_reasons() -> None:
    good = {"timestamp": 1700000000000, "action": "ALLOW", "httpRequest": {"country": "GB", "clientIp": "::1"}}
    payloads: list[Any] = [
        good,
        b"not json at all",
        b"[1,2,3]",
        {"action": "ALLOW"},  # no timestamp
        {"timestamp": True},
        {"timestamp": 1e20},
        {"timestamp": 1700000000000, "httpStatus": "5oo", "httpRequest": {"clientIp": "nope", "country": ["x"]}},
        {"timestamp": 1700000000000, "httpRequest": "a string", "labels": None, "formatVersion": 1e9},
        b"\xff\xfe",
    ]
    event = kinesis_event(payloads)
    event["records"].append({"recordId": "bad-b64", "data": "%%%not base64%%%"})
    ctx = Ctx()
    response = handler(event, ctx)
    results = {r["recordId"]: r["result"] for r in response["records"]}
    assert len(response["records"]) == len(event["records"])
    failed = {rid for rid, res in results.items() if res == "ProcessingFailed"}
    assert failed == {"r1", "r2", "r3", "r4", "r5", "r8", "bad-b64"}
    assert set(ctx.failure_reasons) == failed and all(ctx.failure_reasons.values())
    by_id = {r["recordId"]: r for r in response["records"]}
    assert by_id["r1"]["data"] == event["records"][1]["data"]  # ProcessingFailed carries the original data
    assert len(_docs(response)) == 3
    odd = _docs(response)[1]
    assert odd["malformed"] == {"httpStatus": "5oo", "httpRequest.clientIp": "nope"}
    assert odd["httpRequest"]["country"] == '["x"]' and odd["status_bad"] == 1 and odd["country_bad"] == 1
    other = _docs(response)[2]
    assert other["labels"] == [] and other["malformed"]["httpRequest"] == "a string"


def test_allow_lists_and_drops_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = {"timestamp": 1700000000000, "action": "BLOCK", "httpRequest": {"country": "FR"}}
    assert _docs(handler(kinesis_event([rec]), None))[0]["country_bad"] == 1
    monkeypatch.setenv("WAFAD_ALLOW_COUNTRY", "FR,DE")
    assert _docs(handler(kinesis_event([rec]), None))[0]["country_bad"] == 0
    monkeypatch.setenv("WAFAD_DROP_ACTIONS", "BLOCK")
    assert handler(kinesis_event([rec]), None)["records"][0]["result"] == "Dropped"


def test_response_stays_within_lambda_limit() -> None:
    """Records that grow in the transform: the response is capped by handing some back as ProcessingFailed."""
    rec = {
        "timestamp": 1700000000000,
        "httpRequest": {"headers": [{"name": "h", "value": "v"}] * 1},
        "ruleGroupList": None,
    }
    # short keys in, long fields out: pad with many tiny list fields that become [] plus indicators
    raw = json.dumps(rec).encode()
    n = (LAMBDA_PAYLOAD_LIMIT - 200_000) // (len(base64.b64encode(raw)) + 200)
    response = handler(kinesis_event([rec] * n), None)
    size = len(json.dumps(response))
    assert size <= LAMBDA_PAYLOAD_LIMIT
    assert len(response["records"]) == n
    results = {r["result"] for r in response["records"]}
    assert "Ok" in results and "ProcessingFailed" in results


# --- the fast path (msgspec) and the generic path give the same documents -----------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ingest.record_values import RecordRejected  # noqa: E402
from ingest.transform import to_document_generic  # noqa: E402
from ingest.transform_fast import HAVE_MSGSPEC  # noqa: E402

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_FIELDS = [
    "timestamp",
    "formatVersion",
    "action",
    "httpSourceName",
    "httpStatus",
    "webaclId",
    "ruleGroupList",
    "labels",
    "terminatingRuleMatchDetails",
    "responseCodeSent",
    "requestHeadersInserted",
    "ja3Fingerprint",
    "event_id",
    "extra",
]
_REQ_FIELDS = ["clientIp", "country", "uri", "args", "httpMethod", "headers", "host", "newField"]


def _outcome(fn: Any, data: bytes) -> Any:
    try:
        out = fn(data)
    except RecordRejected as exc:
        return ("rejected", str(exc).split(":")[0])
    return None if out is None else json.loads(out)


def _both(data: bytes) -> tuple[Any, Any]:
    allow = allow_lists_from_env()
    fast = _outcome(lambda d: to_document(d, allow, default_event_id="pk"), data)
    generic = _outcome(lambda d: to_document_generic(d, allow, default_event_id="pk"), data)
    return fast, generic


@pytest.mark.skipif(not HAVE_MSGSPEC, reason="the fast path needs msgspec")
def test_fast_path_matches_generic_on_real_samples(waf_samples: list[Path]) -> None:
    for path in waf_samples:
        rec = json.loads(path.read_text())
        for variant in (rec, {**rec, "labels": None, "httpStatus": 503, "event_id": "e"}):
            fast, generic = _both(json.dumps(variant).encode())
            assert fast == generic and isinstance(fast, dict)


@pytest.mark.skipif(not HAVE_MSGSPEC, reason="the fast path needs msgspec")
def test_invalid_utf8_is_rejected_by_both_paths(waf_samples: list[Path]) -> None:
    rec = json.loads(waf_samples[1].read_text())
    rec["httpRequest"]["headers"] = [{"name": "x-bad", "value": "PLACEHOLDER"}]
    data = json.dumps(rec).encode().replace(b"PLACEHOLDER", b"\xff\xfe".decode("unicode_escape").encode("latin-1"))
    fast, generic = _both(data)
    assert fast == generic == ("rejected", "not JSON")


@pytest.mark.skipif(not HAVE_MSGSPEC, reason="the fast path needs msgspec")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(range(7)),
    top=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=4),
    req=st.dictionaries(st.sampled_from(_REQ_FIELDS), _VALUES, max_size=3),
    headers=st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["Host", "host", "Cookie", "X-A", "Authorization"])},
            optional={"value": _SCALARS, "myValue": st.text(max_size=5)},
        ),
        max_size=4,
    ),
)
def test_fast_path_matches_generic_on_odd_records(
    waf_samples: list[Path], base: int, top: dict[str, Any], req: dict[str, Any], headers: list[Any]
) -> None:
    rec = json.loads(sorted(waf_samples)[base].read_text())
    rec.update(top)
    if isinstance(rec.get("httpRequest"), dict):
        rec["httpRequest"] = {**rec["httpRequest"], "headers": headers, **req}
    fast, generic = _both(json.dumps(rec).encode())
    assert fast == generic


@pytest.mark.skipif(not HAVE_MSGSPEC, reason="the fast path needs msgspec")
@pytest.mark.parametrize("value", [5, 1.5, None, True, {"a": [1]}, ["x"], 'caf\u00e9 "q" \\ \u2028', ""])
def test_header_values_of_any_type_give_the_generic_document(waf_samples: list[Path], value: Any) -> None:
    rec = json.loads(sorted(waf_samples)[0].read_text())
    rec["httpRequest"]["headers"] = [{"name": "X-Odd", "value": value}, {"name": "Host", "value": "h"}]
    for data in (json.dumps(rec).encode(), json.dumps(rec, ensure_ascii=False).encode()):
        fast, generic = _both(data)
        assert fast == generic and isinstance(fast, dict)
        assert fast["httpRequest"]["headers"] == {"x-odd": value, "host": "h"}
