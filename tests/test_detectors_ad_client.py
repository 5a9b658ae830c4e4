"""The AD REST client against the documented AD shapes (shared notes opensearch_ad.md §5-6, §8).

No AD plugin exists on this machine, so these tests put a scripted connection *under* a real opensearch-py
client: the real Transport serialises requests and maps HTTP statuses to exceptions; the connection records
each request and replays the response the AD plugin documents. The osmem test and the ``real_cluster`` test
use real servers.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.connection import Connection
from opensearchpy.exceptions import ConnectionError as OSConnectionError

from detectors.ad_client import ADClient
from detectors.ad_compare import body_differs
from detectors.ad_transport import AD_BASE
from detectors.errors import (
    ADConnectionError,
    ADDisabledError,
    ADError,
    ADPluginMissing,
    ADServerError,
    ADThrottled,
    ADValidationError,
    DetectorNameConflict,
    DetectorNotFound,
    JobRunningError,
    NotEnoughDataError,
)
from wafad.catalogue import DETECTORS, ad_detector_body, get_detector

DET_ID = "kzcZ43wBgEQAbjDnhzGF"


@dataclass
class Recorded:
    method: str
    url: str
    params: dict[str, Any]
    body: Any


@dataclass
class Script:
    """Responses to replay, in order, and the requests seen."""

    responses: list[tuple[int, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    fail_connect: bool = False


def _client(script: Script) -> ADClient:
    class ScriptedConnection(Connection):
        def perform_request(self, method, url, params=None, body=None, timeout=None, ignore=(), headers=None):
            decoded = json.loads(body) if body else None
            script.requests.append(Recorded(method, url, dict(params or {}), decoded))
            if script.fail_connect:
                raise OSConnectionError("N/A", "connection refused", None)
            status, payload = script.responses.pop(0)
            raw = payload if isinstance(payload, str) else json.dumps(payload)
            ctype = "text/plain" if isinstance(payload, str) else "application/json"
            if not (200 <= status < 300) and status not in ignore:
                self._raise_error(status, raw, ctype)
            return status, {"content-type": ctype}, raw

    os_client = OpenSearch(hosts=[{"host": "ad.example", "port": 9200}], connection_class=ScriptedConnection)
    return ADClient(os_client)


def _envelope(status: int, reason: str, etype: str = "illegal_argument_exception") -> dict[str, Any]:
    cause = {"type": etype, "reason": reason}
    return {"error": {"root_cause": [cause], "type": etype, "reason": reason}, "status": status}


def _body(name: str = "waf-volume") -> dict[str, Any]:
    return ad_detector_body(
        get_detector(name),
        index_pattern="waf-logs-*",
        interval_minutes=1,
        window_delay_minutes=2,
        shingle_size=8,
        result_index="opensearch-ad-plugin-result-wafad",
    )


def _echo(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What GET returns for a detector created from ``body``: AD adds ids, boosts and metadata."""
    echoed = json.loads(json.dumps(body))
    echoed["filter_query"] = {"match_all": {"boost": 1.0}}
    for i, f in enumerate(echoed["feature_attributes"]):
        f["feature_id"] = f"f{i}"
    echoed["detection_interval"]["period"]["unit"] = "Minutes"
    echoed.update({"schema_version": 0, "last_update_time": 1700000000000, "detector_type": "SINGLE_ENTITY"})
    echoed.setdefault("rules", [])  # AD echoes the rules it was given (its default rule when none were)
    echoed.update(changes)
    return echoed


def _get_response(detector: dict[str, Any], *, enabled: bool = False, legacy: bool = False) -> dict[str, Any]:
    task_key = "realtime_detection_task" if legacy else "realtime_task"
    return {
        "_id": DET_ID,
        "_version": 3,
        "_primary_term": 1,
        "_seq_no": 7,
        "anomaly_detector": detector,
        "anomaly_detector_job": {"name": DET_ID, "enabled": enabled},
        task_key: {
            "task_id": "rt-1",
            "state": "RUNNING" if enabled else "STOPPED",
            "task_type": "REALTIME_SINGLE_ENTITY",
        },
        "historical_analysis_task": {"task_id": "h-1", "state": "FINISHED", "task_progress": 1.0},
    }


def _search_hits(*hits: tuple[str, str]) -> dict[str, Any]:
    return {
        "hits": {
            "total": {"value": len(hits), "relation": "eq"},
            "hits": [
                {"_id": i, "_seq_no": 7, "_primary_term": 1, "_source": {"name": n, "detector_type": "SINGLE_ENTITY"}}
                for i, n in hits
            ],
        }
    }


@pytest.fixture
def script() -> Iterator[Script]:
    s = Script()
    yield s
    assert not s.responses, f"unused scripted responses: {s.responses}"


# --- create-or-update -----------------------------------------------------------------------------
def test_ensure_creates_when_name_is_new(script: Script) -> None:
    body = _body()
    script.responses = [
        (200, _search_hits()),
        (201, {"_id": DET_ID, "_version": 1, "_seq_no": 0, "_primary_term": 1, "anomaly_detector": _echo(body)}),
    ]
    result = _client(script).ensure(body)
    assert (result.detector_id, result.action) == (DET_ID, "created")
    search, create = script.requests
    assert (search.method, search.url) == ("POST", f"{AD_BASE}/_search")
    assert search.body["query"]["bool"]["filter"] == [{"term": {"name.keyword": "waf-volume"}}]
    assert (create.method, create.url, create.params) == ("POST", AD_BASE, {"refresh": "true"})
    assert create.body == body
    assert create.body["feature_attributes"][0]["aggregation_query"] == {
        "requests": {"value_count": {"field": "event_id"}}
    }


def test_ensure_creates_when_config_index_is_missing(script: Script) -> None:
    missing = _envelope(404, "no such index [.opendistro-anomaly-detectors]", "index_not_found_exception")
    script.responses = [(404, missing), (201, {"_id": DET_ID, "_version": 1})]
    assert _client(script).ensure(_body()).action == "created"


def test_ensure_leaves_an_identical_detector_alone(script: Script) -> None:
    body = _body("waf-country-hc")
    echoed = _echo(body, detector_type="MULTI_ENTITY", imputation_option={"method": "ZERO"})
    script.responses = [
        (200, _search_hits(("other", "waf-country-hc-old"), (DET_ID, "waf-country-hc"))),
        (200, _get_response(echoed)),
    ]
    result = _client(script).ensure(body)
    assert (result.detector_id, result.action) == (DET_ID, "unchanged")
    assert [r.method for r in script.requests] == ["POST", "GET"]
    assert script.requests[1].url == f"{AD_BASE}/{DET_ID}"
    assert script.requests[1].params == {"job": "true", "task": "true"}


def test_ensure_updates_a_changed_stopped_detector(script: Script) -> None:
    body = _body()
    script.responses = [
        (200, _search_hits((DET_ID, "waf-volume"))),
        (200, _get_response(_echo(body, shingle_size=4))),
        (200, {"_id": DET_ID, "_version": 4}),
    ]
    result = _client(script).ensure(body)
    assert (result.action, result.restarted) == ("updated", False)
    put = script.requests[2]
    assert (put.method, put.url) == ("PUT", f"{AD_BASE}/{DET_ID}")
    assert put.params == {"refresh": "true", "if_seq_no": "7", "if_primary_term": "1"}
    assert put.body == body


def test_ensure_restarts_a_running_detector_around_the_update(script: Script) -> None:
    body = _body()
    script.responses = [
        (200, _search_hits((DET_ID, "waf-volume"))),
        (200, _get_response(_echo(body, window_delay={"period": {"interval": 9, "unit": "Minutes"}}), enabled=True)),
        (200, {"_id": DET_ID}),
        (200, {"_id": DET_ID, "_version": 4}),
        (200, {"_id": DET_ID}),
    ]
    result = _client(script).ensure(body)
    assert (result.action, result.restarted) == ("updated", True)
    assert [(r.method, r.url) for r in script.requests[2:]] == [
        ("POST", f"{AD_BASE}/{DET_ID}/_stop"),
        ("PUT", f"{AD_BASE}/{DET_ID}"),
        ("POST", f"{AD_BASE}/{DET_ID}/_start"),
    ]


def test_ensure_refuses_to_touch_a_running_detector_when_asked(script: Script) -> None:
    body = _body()
    script.responses = [
        (200, _search_hits((DET_ID, "waf-volume"))),
        (200, _get_response(_echo(body, description="old"), enabled=True)),
    ]
    with pytest.raises(JobRunningError, match="real-time job is running"):
        _client(script).ensure(body, restart_if_running=False)


def test_ensure_refuses_changes_ad_cannot_apply(script: Script) -> None:
    body = _body("waf-country-hc")
    script.responses = [
        (200, _search_hits((DET_ID, "waf-country-hc"))),
        (200, _get_response(_echo(body, category_field=["httpRequest.clientIp"]))),
    ]
    with pytest.raises(ADValidationError, match="category_field, which AD cannot update"):
        _client(script).ensure(body)
    assert [r.method for r in script.requests] == ["POST", "GET"]  # no update attempted


def test_body_comparison_sees_every_catalogue_detector_as_equal_to_its_echo() -> None:
    for spec in DETECTORS:
        body = _body(spec.name)
        assert body_differs(body, _echo(body)) == []
        assert body_differs(body, _echo(body, indices=["other-*"])) == ["indices"]


def test_create_with_a_taken_name_is_a_name_conflict(script: Script) -> None:
    msg = "Cannot create anomaly detector with name [waf-volume] as it's already used by another detector"
    script.responses = [(409, _envelope(409, msg, "status_exception"))]
    with pytest.raises(DetectorNameConflict, match="already used"):
        _client(script).create(_body())


@pytest.mark.parametrize(
    ("status", "reason", "exc"),
    [
        (400, "Can't create anomaly detector as no document is found in the indices: [waf-logs-*]", NotEnoughDataError),
        (400, "Can't create more than 10 HC anomaly detectors.", ADValidationError),
        (400, "Result index must start with opensearch-ad-plugin-result-", ADValidationError),
        (400, "Categorical field httpRequest.uri must be of type keyword or ip.", ADValidationError),
        (400, "Feature has an invalid query returning empty aggregated data: requests", ADValidationError),
        (500, "Validation failed for feature(s) of detector waf-volume", ADServerError),
    ],
)
def test_create_errors_are_typed(script: Script, status: int, reason: str, exc: type[Exception]) -> None:
    script.responses = [(status, _envelope(status, reason))]
    with pytest.raises(exc) as info:
        _client(script).create(_body())
    assert reason in str(info.value)
    assert info.value.status == status


# --- validate / preview ----------------------------------------------------------------------------
def test_validate_returns_empty_when_fine_and_issues_otherwise(script: Script) -> None:
    issues = {
        "model": {
            "detection_interval": {
                "message": "The selected detector interval might collect sparse data",
                "suggested_value": {"period": {"interval": 10, "unit": "Minutes"}},
            }
        }
    }
    script.responses = [(200, {}), (200, issues)]
    client = _client(script)
    assert client.validate(_body()) == {}
    assert client.validate(_body(), kind="model") == issues
    assert [r.url for r in script.requests] == [f"{AD_BASE}/_validate/detector", f"{AD_BASE}/_validate/model"]
    assert script.requests[1].body == _body()


def test_preview_by_body_and_by_id(script: Script) -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    result = {"detector_id": DET_ID, "anomaly_grade": 0.0, "data_start_time": 1, "data_end_time": 2}
    script.responses = [(200, {"anomaly_result": [result], "anomaly_detector": {}}), (200, {"anomaly_result": []})]
    client = _client(script)
    assert client.preview(start, end, detector=_body()) == [result]
    assert client.preview(start, end, detector_id=DET_ID) == []  # "insufficient data" is swallowed by AD
    by_body, by_id = script.requests
    assert by_body.url == f"{AD_BASE}/_preview"
    assert by_body.body == {"period_start": 1767225600000, "period_end": 1767312000000, "detector": _body()}
    assert (by_id.url, by_id.body["detector_id"]) == (f"{AD_BASE}/{DET_ID}/_preview", DET_ID)
    with pytest.raises(ValueError, match="exactly one"):
        client.preview(start, end)


def test_preview_throttled(script: Script) -> None:
    script.responses = [(400, _envelope(400, "Request throttled. Please try again later."))]
    with pytest.raises(ADThrottled):
        _client(script).preview(0, 1, detector_id=DET_ID)


# --- start / stop ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "response",
    [{"_id": DET_ID}, {"_id": DET_ID, "_version": 2, "_seq_no": 3, "_primary_term": 1}],
    ids=["2.15+", "<=2.14"],
)
def test_start_realtime_both_response_shapes(script: Script, response: dict[str, Any]) -> None:
    script.responses = [(200, response)]
    started = _client(script).start_realtime(DET_ID)
    assert (started.id, started.already_running) == (DET_ID, False)
    req = script.requests[0]
    assert (req.method, req.url, req.body) == ("POST", f"{AD_BASE}/{DET_ID}/_start", None)


def test_start_realtime_already_running_comes_with_http_200(script: Script) -> None:
    script.responses = [(200, _envelope(200, f"Anomaly detector job is already running: {DET_ID}", "status_exception"))]
    started = _client(script).start_realtime(DET_ID)
    assert started.already_running


@pytest.mark.parametrize(
    ("status", "reason", "exc"),
    [
        (400, "Can't start job as no features configured", ADValidationError),
        (400, "Can't start job as no enabled features configured", ADValidationError),
        (404, f"Can't find config with id: {DET_ID}", DetectorNotFound),
        (
            400,
            "AD functionality is disabled. To enable update plugins.anomaly_detection.enabled to true",
            ADDisabledError,
        ),
    ],
)
def test_start_realtime_errors(script: Script, status: int, reason: str, exc: type[Exception]) -> None:
    script.responses = [(status, _envelope(status, reason))]
    with pytest.raises(exc, match="start"):
        _client(script).start_realtime(DET_ID)


def test_stop_realtime_and_historical(script: Script) -> None:
    script.responses = [(200, {"_id": DET_ID}), (200, {"_id": DET_ID})]
    client = _client(script)
    assert client.stop_realtime(DET_ID) == DET_ID
    assert client.stop_historical(DET_ID) == DET_ID
    assert [(r.url, r.params) for r in script.requests] == [
        (f"{AD_BASE}/{DET_ID}/_stop", {}),
        (f"{AD_BASE}/{DET_ID}/_stop", {"historical": "true"}),
    ]


def test_start_historical_returns_the_task_id(script: Script) -> None:
    script.responses = [(200, {"_id": "task-xyz"})]
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert _client(script).start_historical(DET_ID, start, end) == "task-xyz"
    assert script.requests[0].body == {"start_time": 1767225600000, "end_time": 1767254400000}


@pytest.mark.parametrize(
    ("reason", "exc"),
    [
        ("There is not enough data to train model", NotEnoughDataError),
        ("There is no data in the detection date range", NotEnoughDataError),
        ("Exceed max historical analysis limit per node: 10", ADThrottled),
        ("Detector is already running", JobRunningError),
    ],
)
def test_start_historical_errors(script: Script, reason: str, exc: type[Exception]) -> None:
    script.responses = [(400, _envelope(400, reason))]
    with pytest.raises(exc):
        _client(script).start_historical(DET_ID, 0, 60_000 * 100)


# --- get / profile / results / delete --------------------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True], ids=["realtime_task", "realtime_detection_task"])
def test_get_reads_both_realtime_task_keys(script: Script, legacy: bool) -> None:
    script.responses = [(200, _get_response(_echo(_body()), enabled=True, legacy=legacy))]
    info = _client(script).get(DET_ID)
    assert info.realtime_task is not None and info.realtime_task["task_id"] == "rt-1"
    assert info.job_enabled and not info.historical_running
    assert (info.seq_no, info.primary_term) == (7, 1)


def test_profile_parses_state_and_init_progress(script: Script) -> None:
    raw = {
        "state": "INIT",
        "error": "No data in current window between 1700000000000 and 1700000060000",
        "init_progress": {"percentage": "44%", "estimated_minutes_left": 18, "needed_shingles": 18},
        "total_entities": 12,
        "active_entities": 9,
    }
    script.responses = [(200, raw), (200, {"state": "RUNNING"})]
    client = _client(script)
    prof = client.profile(DET_ID)
    assert (prof.state, prof.init_percentage, prof.needed_shingles, prof.estimated_minutes_left) == (
        "INIT",
        44.0,
        18,
        18,
    )
    assert (prof.total_entities, prof.active_entities) == (12, 9)
    assert prof.error is not None and prof.error.startswith("No data")
    assert client.profile(DET_ID).state == "RUNNING"
    assert (script.requests[0].url, script.requests[0].params) == (f"{AD_BASE}/{DET_ID}/_profile", {"_all": "true"})


def test_search_results_real_time_vs_historical(script: Script) -> None:
    doc = {"detector_id": DET_ID, "data_end_time": 5, "anomaly_grade": 0.8125}
    hits = {"hits": {"total": {"value": 1}, "hits": [{"_id": "r1", "_source": doc}]}}
    script.responses = [(200, hits), (200, hits)]
    client = _client(script)
    assert client.search_results(DET_ID, 0, 10) == [doc]
    assert client.search_results(DET_ID, 0, 10, task_id="task-xyz", result_index="opensearch-ad-plugin-result-w") == [
        doc
    ]
    realtime, historical = script.requests
    assert realtime.url == f"{AD_BASE}/results/_search"
    assert realtime.body["query"]["bool"]["must_not"] == [{"exists": {"field": "task_id"}}]
    assert {"term": {"detector_id": DET_ID}} in realtime.body["query"]["bool"]["filter"]
    assert realtime.body["sort"] == [{"data_end_time": "asc"}]
    assert historical.url == f"{AD_BASE}/results/_search/opensearch-ad-plugin-result-w"
    assert historical.params == {"only_query_custom_result_index": "true"}
    assert "must_not" not in historical.body["query"]["bool"]
    assert {"term": {"task_id": "task-xyz"}} in historical.body["query"]["bool"]["filter"]


@pytest.mark.parametrize("reason", [f"Job is running: {DET_ID}", "Historical is running"])
def test_delete_while_running_is_refused(script: Script, reason: str) -> None:
    script.responses = [(400, _envelope(400, reason))]
    with pytest.raises(JobRunningError):
        _client(script).delete(DET_ID)


def test_delete(script: Script) -> None:
    script.responses = [(200, {"_index": ".opendistro-anomaly-detectors", "_id": DET_ID, "result": "deleted"})]
    _client(script).delete(DET_ID)
    assert (script.requests[0].method, script.requests[0].url) == ("DELETE", f"{AD_BASE}/{DET_ID}")


def test_wait_for_historical_until_finished_or_failed(script: Script) -> None:
    running = {"_id": DET_ID, "historical_analysis_task": {"state": "RUNNING", "task_progress": 0.5}}
    finished = {"_id": DET_ID, "historical_analysis_task": {"state": "FINISHED", "task_progress": 1.0}}
    failed = {"_id": DET_ID, "historical_analysis_task": {"state": "FAILED", "error": "There is not enough data"}}
    script.responses = [(200, running), (200, finished), (200, failed)]
    client = _client(script)
    seen: list[float] = []
    task = client.wait_for_historical(
        DET_ID, poll_s=0, on_poll=lambda t: seen.append(t["task_progress"]), sleep=lambda s: None
    )
    assert task["state"] == "FINISHED" and seen == [0.5, 1.0]
    with pytest.raises(Exception, match="not enough data"):
        client.wait_for_historical(DET_ID, poll_s=0, sleep=lambda s: None)


def test_plain_text_and_connection_errors(script: Script) -> None:
    script.responses = [(500, "boom")]
    with pytest.raises(ADServerError, match="boom"):
        _client(script).profile(DET_ID)
    script.fail_connect = True
    with pytest.raises(ADConnectionError, match="cannot reach"):
        _client(script).profile(DET_ID)


def test_a_cluster_without_the_plugin_is_reported_as_such(os_client) -> None:
    """osmem answers AD paths like an OpenSearch without the plugin."""
    client = ADClient(os_client)
    with pytest.raises(ADPluginMissing, match="no Anomaly Detection plugin"):
        client.ensure(_body())
    with pytest.raises(ADPluginMissing):
        client.start_realtime(DET_ID)


@pytest.mark.real_cluster
@pytest.mark.skipif(not os.environ.get("WAFAD_OPENSEARCH_URL"), reason="needs WAFAD_OPENSEARCH_URL (a cluster with AD)")
def test_against_a_real_cluster() -> None:
    """Against a cluster with AD: its own small index, then create/ensure/validate/start (twice)/profile/stop/
    historical/delete, cleaning up after itself."""
    from datetime import timedelta

    from opensearchpy import helpers

    from ingest.index_template import mappings
    from wafad.clients import opensearch_client
    from wafad.settings import Settings

    settings = Settings()
    os_client = opensearch_client(settings)
    client = ADClient(os_client)
    tag = "wafad-it-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    index = f"{tag}-2026.01.01"
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    os_client.indices.create(index=index, body={"mappings": mappings({"type": "object", "enabled": False})})
    docs = [
        {
            "_index": index,
            "_id": f"{m}-{k}",
            "event_id": f"{m}-{k}",
            "@timestamp": (t0 + timedelta(minutes=m, seconds=10 * k)).isoformat(),
            "status_bad": k % 2,
        }
        for m in range(120)
        for k in range(3)
    ]
    helpers.bulk(os_client, docs, refresh=True)
    body = ad_detector_body(
        get_detector("waf-volume"), index_pattern=f"{tag}-*", interval_minutes=1, window_delay_minutes=1, shingle_size=8
    )
    body["name"] = tag
    first = client.ensure(body)
    try:
        assert first.action == "created"
        assert client.ensure(body).action == "unchanged"
        assert isinstance(client.validate(body), dict)
        assert client.get(first.detector_id).detector["name"] == tag
        assert not client.start_realtime(first.detector_id).already_running
        assert client.start_realtime(first.detector_id).already_running  # HTTP 200 + message, handled
        assert client.profile(first.detector_id).state in {"DISABLED", "INIT", "RUNNING"}
        client.stop_realtime(first.detector_id)
        task_id = client.start_historical(first.detector_id, t0, t0 + timedelta(minutes=120))
        assert task_id
        task = client.wait_for_historical(first.detector_id, timeout_s=600, poll_s=5)
        assert task["state"] == "FINISHED"
        assert client.search_results(first.detector_id, t0, t0 + timedelta(minutes=121), task_id=task_id)
    finally:
        for stop in (client.stop_realtime, client.stop_historical):
            with contextlib.suppress(ADError):
                stop(first.detector_id)
        client.delete(first.detector_id)
        os_client.indices.delete(index=index)
