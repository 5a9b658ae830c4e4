"""The optional cluster-side Alerting monitor + Notifications SNS channel, at the transport boundary.

osmem has neither plugin, so a scripted connection under a real opensearch-py client records each request and
replays the plugins' documented answers (shared notes opensearch_ad.md §7).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.connection import Connection

from alerting.monitor import ensure_cluster_alerting, monitor_body, sns_channel_body
from wafad.catalogue import get_detector

TOPIC = "arn:aws:sns:eu-west-1:123456789012:wafad-alerts"
ROLE = "arn:aws:iam::123456789012:role/OpenSearchSNSRole"


class Script:
    def __init__(self, responses: list[tuple[int, Any]]) -> None:
        self.responses = responses
        self.requests: list[tuple[str, str, dict[str, Any], Any]] = []


def _client(script: Script) -> OpenSearch:
    class ScriptedConnection(Connection):
        def perform_request(self, method, url, params=None, body=None, timeout=None, ignore=(), headers=None):
            script.requests.append((method, url, dict(params or {}), json.loads(body) if body else None))
            status, payload = script.responses.pop(0)
            raw = json.dumps(payload)
            if not (200 <= status < 300):
                self._raise_error(status, raw, "application/json")
            return status, {"content-type": "application/json"}, raw

    return OpenSearch(hosts=[{"host": "os.example", "port": 443}], connection_class=ScriptedConnection)


def _not_found(reason: str) -> dict[str, Any]:
    return {
        "error": {
            "root_cause": [{"type": "status_exception", "reason": reason}],
            "type": "status_exception",
            "reason": reason,
        },
        "status": 404,
    }


def test_monitor_body_watches_real_time_results_of_one_detector(settings) -> None:
    spec = get_detector("waf-country-hc")
    body = monitor_body(
        spec,
        "det-1",
        result_index=settings.results_index,
        channel_id="wafad-sns",
        interval_minutes=1,
        min_grade=0.5,
        min_confidence=0.7,
    )
    search = body["inputs"][0]["search"]
    assert search["indices"] == [f"{settings.results_index}*"]
    query = search["query"]["query"]["bool"]
    assert {"term": {"detector_id": {"value": "det-1"}}} in query["filter"]
    assert query["must_not"] == [{"exists": {"field": "task_id"}}]
    assert query["filter"][0]["range"]["execution_end_time"]["from"] == "{{period_end}}||-1m"
    trigger = body["triggers"][0]["query_level_trigger"]
    assert "anomaly_grade > 0.5" in trigger["condition"]["script"]["source"]
    assert "confidence >= 0.7" in trigger["condition"]["script"]["source"]
    action = trigger["actions"][0]
    assert action["destination_id"] == "wafad-sns" and "entity" in action["message_template"]["source"]
    assert sns_channel_body("wafad-sns", TOPIC, ROLE)["config"]["sns"] == {"topic_arn": TOPIC, "role_arn": ROLE}


def test_first_run_creates_channel_and_monitors_second_run_updates(settings) -> None:
    specs = [get_detector("waf-volume"), get_detector("waf-country-hc")]
    ids = {"waf-volume": "det-v"}  # the HC detector does not exist in the cluster
    first = Script(
        [
            (404, _not_found("Config wafad-sns not found")),
            (200, {"config_id": "wafad-sns"}),
            (404, _not_found("no such index [.opendistro-alerting-config]")),
            (201, {"_id": "mon-1", "_version": 1, "monitor": {}}),
        ]
    )
    out = ensure_cluster_alerting(
        settings, _client(first), topic_arn=TOPIC, role_arn=ROLE, detector_ids=ids, specs=specs
    )
    assert out["channel"] == "created"
    assert out["monitors"] == {
        "waf-volume": {"id": "mon-1", "action": "created"},
        "waf-country-hc": "skipped: detector not found",
    }
    methods = [(m, u) for m, u, _, _ in first.requests]
    assert methods == [
        ("GET", "/_plugins/_notifications/configs/wafad-sns"),
        ("POST", "/_plugins/_notifications/configs"),
        ("GET", "/_plugins/_alerting/monitors/_search"),
        ("POST", "/_plugins/_alerting/monitors"),
    ]
    assert first.requests[1][3] == sns_channel_body("wafad-sns", TOPIC, ROLE)
    assert first.requests[3][3]["name"] == "wafad-waf-volume"

    channel = {
        "config_list": [{"config_id": "wafad-sns", "config": sns_channel_body("wafad-sns", TOPIC, ROLE)["config"]}],
        "total_hits": 1,
    }
    hit = {"_id": "mon-1", "_seq_no": 4, "_primary_term": 1, "_source": {"name": "wafad-waf-volume"}}
    second = Script(
        [
            (200, channel),
            (200, {"hits": {"total": {"value": 1}, "hits": [hit]}}),
            (200, {"_id": "mon-1", "_version": 2}),
        ]
    )
    out = ensure_cluster_alerting(
        settings, _client(second), topic_arn=TOPIC, role_arn=ROLE, detector_ids=ids, specs=specs[:1]
    )
    assert out == {"channel": "unchanged", "monitors": {"waf-volume": {"id": "mon-1", "action": "updated"}}}
    method, url, params, _ = second.requests[2]
    assert (method, url, params) == (
        "PUT",
        "/_plugins/_alerting/monitors/mon-1",
        {"if_seq_no": "4", "if_primary_term": "1"},
    )


def test_a_changed_topic_updates_the_channel(settings) -> None:
    old = sns_channel_body("wafad-sns", TOPIC + "-old", ROLE)["config"]
    script = Script(
        [(200, {"config_list": [{"config_id": "wafad-sns", "config": old}]}), (200, {"config_id": "wafad-sns"})]
    )
    out = ensure_cluster_alerting(settings, _client(script), topic_arn=TOPIC, role_arn=ROLE, detector_ids={}, specs=[])
    assert out["channel"] == "updated"
    assert script.requests[1][:2] == ("PUT", "/_plugins/_notifications/configs/wafad-sns")
    assert script.requests[1][3]["config"]["sns"]["topic_arn"] == TOPIC


def test_without_the_plugins_the_error_is_clear(os_client) -> None:
    from opensearchpy.exceptions import RequestError

    from alerting.monitor import ensure_sns_channel

    with pytest.raises(RequestError, match="no handler"):
        ensure_sns_channel(os_client, "wafad-sns", TOPIC, ROLE)
