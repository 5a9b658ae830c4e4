"""Production option: OpenSearch's own Alerting monitor + Notifications SNS channel on the AD results.

Not needed for wafad's alerts (``alerting.alerts`` publishes them); useful where a team wants the cluster to page
by itself. The monitor follows the shape the Alerting Dashboards "anomaly detector" monitor builds (shared notes
opensearch_ad.md §7), with two deliberate choices from its caveats: it filters on ``execution_end_time`` (so
results written late or backfilled are seen) and excludes historical results (``must_not exists task_id``).
Both calls are idempotent (find by id / name, then update). Each monitor's trigger has its detector's grade and
confidence gates (:func:`alerting.policy.detector_policy`: the catalogue's, the settings as floors), the same the
alerter applies; the count evidence before an incident opens (:mod:`alerting.evidence`) is wafad's alerter's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alerting.policy import detector_policy
from wafad.catalogue import DetectorSpec


def sns_channel_body(config_id: str, topic_arn: str, role_arn: str) -> dict[str, Any]:
    """``POST _plugins/_notifications/configs`` body for an SNS channel."""
    return {
        "config_id": config_id,
        "config": {
            "name": config_id,
            "description": "wafad anomaly alerts",
            "config_type": "sns",
            "is_enabled": True,
            "sns": {"topic_arn": topic_arn, "role_arn": role_arn},
        },
    }


def trigger_condition(min_grade: float, min_confidence: float) -> str:
    """Painless: the highest-grade result of the period passes the grade and confidence gates."""
    return (
        "return ctx.results != null && ctx.results.length > 0 && ctx.results[0].hits.total.value > 0 "
        "&& ctx.results[0].hits.hits[0]._source.anomaly_grade != null "
        f"&& ctx.results[0].hits.hits[0]._source.anomaly_grade > {float(min_grade)} "
        "&& ctx.results[0].hits.hits[0]._source.confidence != null "
        f"&& ctx.results[0].hits.hits[0]._source.confidence >= {float(min_confidence)}"
    )


def monitor_body(
    spec: DetectorSpec,
    detector_id: str,
    *,
    result_index: str,
    channel_id: str,
    interval_minutes: int,
    min_grade: float,
    min_confidence: float,
) -> dict[str, Any]:
    """A query-level monitor on ``spec``'s real-time results that notifies ``channel_id``."""
    period = max(1, int(interval_minutes))
    entity_line = (
        "{{#ctx.results.0.hits.hits.0._source.entity}}{{name}}={{value}} {{/ctx.results.0.hits.hits.0._source.entity}}"
    )
    return {
        "type": "monitor",
        "monitor_type": "query_level_monitor",
        "name": f"wafad-{spec.name}",
        "enabled": True,
        "schedule": {"period": {"interval": period, "unit": "MINUTES"}},
        "inputs": [
            {
                "search": {
                    "indices": [f"{result_index}*"],
                    "query": {
                        "size": 1,
                        "sort": [{"anomaly_grade": "desc"}, {"confidence": "desc"}],
                        "query": {
                            "bool": {
                                "filter": [
                                    {
                                        "range": {
                                            "execution_end_time": {
                                                "from": f"{{{{period_end}}}}||-{period}m",
                                                "to": "{{period_end}}",
                                                "include_lower": True,
                                                "include_upper": True,
                                            }
                                        }
                                    },
                                    {"term": {"detector_id": {"value": detector_id}}},
                                ],
                                "must_not": [{"exists": {"field": "task_id"}}],
                            }
                        },
                        "aggregations": {"max_anomaly_grade": {"max": {"field": "anomaly_grade"}}},
                    },
                }
            }
        ],
        "triggers": [
            {
                "query_level_trigger": {
                    "name": f"{spec.name}-grade",
                    "severity": "1",
                    "condition": {
                        "script": {"lang": "painless", "source": trigger_condition(min_grade, min_confidence)}
                    },
                    "actions": [
                        {
                            "name": "sns",
                            "destination_id": channel_id,
                            "subject_template": {"lang": "mustache", "source": f"wafad AD alert: {spec.name}"},
                            "message_template": {
                                "lang": "mustache",
                                "source": (
                                    f"Detector {spec.name} ({detector_id}) flagged an anomaly between "
                                    "{{ctx.periodStart}} and {{ctx.periodEnd}}. Grade "
                                    "{{ctx.results.0.hits.hits.0._source.anomaly_grade}}, confidence "
                                    "{{ctx.results.0.hits.hits.0._source.confidence}}. " + entity_line
                                ),
                            },
                            "throttle_enabled": True,
                            "throttle": {"value": 10, "unit": "MINUTES"},
                        }
                    ],
                }
            }
        ],
        "ui_metadata": {"monitor_type": "query_level_monitor", "search": {"searchType": "ad"}},
    }


def ensure_sns_channel(os_client: Any, config_id: str, topic_arn: str, role_arn: str) -> str:
    """Create or update the Notifications SNS channel; returns "created" | "updated" | "unchanged"."""
    from opensearchpy.exceptions import NotFoundError

    body = sns_channel_body(config_id, topic_arn, role_arn)
    try:
        current = os_client.plugins.notifications.get_config(config_id=config_id)
    except NotFoundError:
        os_client.plugins.notifications.create_config(body=body)
        return "created"
    configs = current.get("config_list") or []
    existing = configs[0].get("config", {}) if configs else {}
    if existing.get("sns") == body["config"]["sns"] and existing.get("is_enabled"):
        return "unchanged"
    os_client.plugins.notifications.update_config(config_id=config_id, body={"config": body["config"]})
    return "updated"


def find_monitor(os_client: Any, name: str) -> Mapping[str, Any] | None:
    """The monitor called ``name`` (``_id``, ``_seq_no``, ``_primary_term``, ``_source``), or None."""
    from opensearchpy.exceptions import NotFoundError

    query = {"query": {"bool": {"filter": [{"term": {"monitor.name.keyword": name}}]}}, "seq_no_primary_term": True}
    try:
        response = os_client.plugins.alerting.search_monitor(body=query)
    except NotFoundError:  # no monitor exists yet: the config index is missing
        return None
    for hit in response.get("hits", {}).get("hits", []):
        if hit.get("_source", {}).get("name") == name:
            return hit
    return None


def ensure_monitor(os_client: Any, body: Mapping[str, Any]) -> tuple[str, str]:
    """Create the monitor ``body["name"]`` or update it; returns (monitor id, "created" | "updated")."""
    hit = find_monitor(os_client, str(body["name"]))
    if hit is None:
        response = os_client.plugins.alerting.create_monitor(body=dict(body))
        return str(response["_id"]), "created"
    params = {}
    if hit.get("_seq_no") is not None and hit.get("_primary_term") is not None:
        params = {"if_seq_no": str(hit["_seq_no"]), "if_primary_term": str(hit["_primary_term"])}
    os_client.plugins.alerting.update_monitor(hit["_id"], body=dict(body), params=params or None)
    return str(hit["_id"]), "updated"


def ensure_cluster_alerting(
    settings: Any,
    os_client: Any,
    *,
    topic_arn: str,
    role_arn: str,
    detector_ids: Mapping[str, str],
    specs: Sequence[DetectorSpec],
    channel_id: str = "wafad-sns",
) -> dict[str, Any]:
    """SNS channel + one monitor per detector (``detector_ids``: catalogue name -> AD detector id)."""
    out: dict[str, Any] = {"channel": ensure_sns_channel(os_client, channel_id, topic_arn, role_arn), "monitors": {}}
    for spec in specs:
        det_id = detector_ids.get(spec.name)
        if det_id is None:
            out["monitors"][spec.name] = "skipped: detector not found"
            continue
        policy = detector_policy(spec, settings)  # the catalogue's gates, the settings as floors
        body = monitor_body(
            spec,
            det_id,
            result_index=settings.results_index,
            channel_id=channel_id,
            interval_minutes=settings.detector_interval_minutes,
            min_grade=policy.min_grade,
            min_confidence=policy.min_confidence,
        )
        monitor_id, action = ensure_monitor(os_client, body)
        out["monitors"][spec.name] = {"id": monitor_id, "action": action}
    return out
