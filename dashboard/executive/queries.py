"""The page's OpenSearch queries: traffic KPIs over the raw indices and anomalous intervals in the results index.

Counts only (``size: 0``): the total, a terms aggregation on ``action``, the top countries, and the top countries
and URIs among BLOCKed requests. Times are ``[start, end)`` on ``@timestamp`` for the raw documents and
``(start, end]`` on ``data_end_time`` for results (an interval belongs to the period it ends in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard.executive.period import Period, iso
from wafad.catalogue import COUNTRY_FIELD, TIME_FIELD, URI_FIELD

BLOCK = "BLOCK"
_NO_INDEX = {"ignore_unavailable": True, "allow_no_indices": True}


@dataclass(frozen=True)
class TrafficKpis:
    total: int
    by_action: dict[str, int] = field(default_factory=dict)
    top_countries: list[tuple[str, int]] = field(default_factory=list)  # by requests
    top_blocked_countries: list[tuple[str, int]] = field(default_factory=list)  # by BLOCKed requests
    top_blocked_uris: list[tuple[str, int]] = field(default_factory=list)

    @property
    def blocked(self) -> int:
        return self.by_action.get(BLOCK, 0)

    @property
    def blocked_share(self) -> float | None:
        """BLOCK / all requests, None without requests."""
        return self.blocked / self.total if self.total else None


def _buckets(resp: dict[str, Any], name: str) -> list[tuple[str, int]]:
    aggs = resp.get("aggregations") or {}
    return [(str(b["key"]), int(b["doc_count"])) for b in (aggs.get(name) or {}).get("buckets", [])]


def _search(client: Any, index: str, query: dict[str, Any], aggs: dict[str, Any]) -> dict[str, Any]:
    body = {"size": 0, "track_total_hits": True, "query": query, "aggs": aggs}
    return client.search(index=index, body=body, **_NO_INDEX)


def traffic_kpis(client: Any, index_pattern: str, period: Period, *, top: int = 5) -> TrafficKpis:
    """Requests in ``period``: the total, per action, the top countries, and the top countries and URIs blocked."""
    in_period = {"range": {TIME_FIELD: {"gte": iso(period.start), "lt": iso(period.end)}}}
    resp = _search(
        client,
        index_pattern,
        {"bool": {"filter": [in_period]}},
        {
            "actions": {"terms": {"field": "action", "size": 20}},
            "countries": {"terms": {"field": COUNTRY_FIELD, "size": top}},
        },
    )
    blocked = _search(
        client,
        index_pattern,
        {"bool": {"filter": [in_period, {"term": {"action": BLOCK}}]}},
        {
            "countries": {"terms": {"field": COUNTRY_FIELD, "size": top}},
            "uris": {"terms": {"field": URI_FIELD, "size": top}},
        },
    )
    return TrafficKpis(
        total=int(resp["hits"]["total"]["value"]),
        by_action=dict(_buckets(resp, "actions")),
        top_countries=_buckets(resp, "countries"),
        top_blocked_countries=_buckets(blocked, "countries"),
        top_blocked_uris=_buckets(blocked, "uris"),
    )


def anomalous_intervals(client: Any, results_index: str, period: Period) -> dict[str, int]:
    """detector_id -> real-time results with ``anomaly_grade > 0`` whose interval ends in the period."""
    query = {
        "bool": {
            "filter": [
                {"range": {"data_end_time": {"gt": period.start_ms, "lte": period.end_ms, "format": "epoch_millis"}}},
                {"range": {"anomaly_grade": {"gt": 0}}},
            ],
            "must_not": [{"exists": {"field": "task_id"}}],
        }
    }
    if not client.indices.exists(index=results_index):
        return {}
    resp = _search(client, results_index, query, {"detectors": {"terms": {"field": "detector_id", "size": 50}}})
    return dict(_buckets(resp, "detectors"))
