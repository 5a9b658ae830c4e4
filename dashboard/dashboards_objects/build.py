"""The saved objects themselves: index patterns, visualisations, the suspicious-requests search, the dashboard.

Ids are ``uuid5`` of the configured index names and the object's name, so a re-import overwrites in place.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dashboard.dashboards_objects.aggs import (
    INDEX_REF,
    TABLE_PARAMS,
    date_histogram,
    line_params,
    metric,
    search_source,
    status_class_split,
    terms,
)
from wafad.catalogue import CLIENT_IP_FIELD, COUNTRY_FIELD, INDICATOR_FIELDS, TIME_FIELD, URI_FIELD
from wafad.settings import Settings

NAMESPACE = uuid.UUID("4f2b8a52-1d0e-4c55-9a43-5b0d4c1e7a10")  # ids are uuid5(NAMESPACE, prefix + name): stable
MIGRATION = {"index-pattern": "7.6.0", "visualization": "7.10.0", "dashboard": "7.9.3", "search": "7.9.3"}
SEARCH_COLUMNS = (
    "action",
    "httpStatus",
    "httpRequest.clientIp",
    "httpRequest.country",
    "httpRequest.httpMethod",
    "httpRequest.uri",
    "httpRequest.args",
    "terminatingRuleId",
)
OSD_VERSION = "7.10.2"
DASHBOARD_TITLE = "wafad: WAF anomaly detection"
#: The committed rendering for the default index names (a data folder, not a Python package).
DEFAULT_NDJSON = Path(__file__).resolve().parents[1] / "saved_objects" / "wafad.ndjson"


def object_id(settings: Settings, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{settings.index_prefix}|{settings.results_index}|{name}"))


def _visualization(
    settings: Settings,
    name: str,
    title: str,
    vis_type: str,
    aggs: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    index_pattern_id: str,
    *,
    query: str = "",
    description: str = "",
) -> dict[str, Any]:
    vis_state = {"title": title, "type": vis_type, "aggs": list(aggs), "params": dict(params)}
    return {
        "type": "visualization",
        "id": object_id(settings, name),
        "attributes": {
            "title": title,
            "description": description,
            "visState": json.dumps(vis_state, separators=(",", ":")),
            "uiStateJSON": "{}",
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(query)},
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": index_pattern_id}],
        "migrationVersion": {"visualization": MIGRATION["visualization"]},
    }


def _line(
    settings: Settings, name: str, title: str, index_pattern_id: str, time_field: str,
    metrics: Sequence[dict[str, Any]], y_title: str, *, split: dict[str, Any] | None = None,
    query: str = "", y_max: float | None = None, description: str = "",
) -> dict[str, Any]:  # fmt: skip
    aggs = [*metrics, date_histogram(str(len(metrics) + 1), time_field)]
    if split:
        aggs.append(split)
    return _visualization(
        settings, name, title, "line", aggs, line_params(metrics, y_title, y_max=y_max), index_pattern_id,
        query=query, description=description,
    )  # fmt: skip


def _top_table(settings: Settings, name: str, title: str, field: str, label: str, ip_id: str) -> dict[str, Any]:
    aggs = [metric("1", "count", None, "Requests"), terms("2", field, 10, "bucket", label)]
    return _visualization(settings, name, title, "table", aggs, TABLE_PARAMS, ip_id)


def _index_pattern(pattern_id: str, title: str, time_field: str) -> dict[str, Any]:
    return {
        "type": "index-pattern",
        "id": pattern_id,
        "attributes": {"title": title, "timeFieldName": time_field},
        "references": [],
        "migrationVersion": {"index-pattern": MIGRATION["index-pattern"]},
    }


def _visualizations(settings: Settings, raw_ip: str, res_ip: str) -> list[dict[str, Any]]:
    indicator_metrics = [metric(str(i + 1), "sum", ind, ind) for i, ind in enumerate(INDICATOR_FIELDS)]
    requests = [metric("1", "count", None, "Requests")]
    return [
        _line(settings, "requests", "wafad - requests over time", raw_ip, TIME_FIELD, requests, "requests"),
        _line(settings, "indicators", "wafad - bad indicators over time", raw_ip, TIME_FIELD, indicator_metrics,
              "requests flagged bad", description="Sum of each 0/1 indicator field per interval"),
        _line(settings, "by-action", "wafad - requests by action (historical block view)", raw_ip, TIME_FIELD,
              requests, "requests", split=terms("3", "action", 5, "group", "Action")),
        _line(settings, "by-status", "wafad - HTTP status classes (live trend)", raw_ip, TIME_FIELD,
              requests, "requests", split=status_class_split("3")),
        _line(settings, "unknown-countries", "wafad - unknown countries (live trend)", raw_ip, TIME_FIELD,
              requests, "requests", query="country_bad:1",
              split=terms("3", COUNTRY_FIELD, 8, "group", "Country")),
        _top_table(settings, "top-countries", "wafad - top countries", COUNTRY_FIELD, "Country", raw_ip),
        _top_table(settings, "top-ips", "wafad - top client IPs", CLIENT_IP_FIELD, "Client IP", raw_ip),
        _top_table(settings, "top-uris", "wafad - top URIs", URI_FIELD, "URI", raw_ip),
        _line(settings, "ad-grade", "wafad - AD anomaly grade by detector", res_ip, "data_end_time",
              [metric("1", "max", "anomaly_grade", "Max anomaly grade")], "anomaly grade", y_max=1.0,
              split=terms("3", "detector_id", 10, "group", "Detector")),
        _line(settings, "ad-confidence", "wafad - AD confidence by detector", res_ip, "data_end_time",
              [metric("1", "avg", "confidence", "Confidence")], "confidence", y_max=1.0,
              split=terms("3", "detector_id", 10, "group", "Detector")),
        _visualization(
            settings, "ad-anomalies", "wafad - anomalous intervals per detector", "table",
            [metric("1", "count", None, "Anomalous intervals"), terms("2", "detector_id", 20, "bucket", "Detector")],
            TABLE_PARAMS, res_ip, query="anomaly_grade > 0",
        ),
    ]  # fmt: skip


def render_saved_objects(settings: Settings) -> list[dict[str, Any]]:
    """All saved objects for ``settings``' index names, index patterns first, the dashboard last."""
    raw_ip = object_id(settings, "index-pattern-raw")
    res_ip = object_id(settings, "index-pattern-results")
    visualizations = _visualizations(settings, raw_ip, res_ip)
    search = _suspicious_requests_search(settings, raw_ip)
    return [
        _index_pattern(raw_ip, f"{settings.index_prefix}-*", TIME_FIELD),
        _index_pattern(res_ip, f"{settings.results_index}*", "data_end_time"),
        *visualizations,
        search,
        _dashboard(settings, [*visualizations, search]),
    ]


def _suspicious_requests_search(settings: Settings, index_pattern_id: str) -> dict[str, Any]:
    """A saved search (Discover) of requests with a bad action, status, method or source, newest first."""
    source = json.loads(search_source("action_bad:1 or status_bad:1 or method_bad:1 or source_bad:1"))
    source |= {"highlightAll": True, "version": True}
    return {
        "type": "search",
        "id": object_id(settings, "suspicious-requests"),
        "attributes": {
            "title": "wafad - suspicious requests",
            "description": "Requests with a bad action, status, method or source (uri and args shown as text)",
            "hits": 0,
            "columns": list(SEARCH_COLUMNS),
            "sort": [["@timestamp", "desc"]],
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source, separators=(",", ":"))},
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": index_pattern_id}],
        "migrationVersion": {"search": MIGRATION["search"]},
    }


def _dashboard(settings: Settings, panels_of: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    layout = [  # (x, y, w, h) on the 48-column grid, in visualisation order
        (0, 0, 24, 12), (24, 0, 24, 12), (0, 12, 24, 12), (24, 12, 24, 12), (0, 24, 24, 12),
        (24, 24, 8, 14), (32, 24, 8, 14), (40, 24, 8, 14), (0, 38, 24, 12), (24, 38, 24, 12), (0, 50, 24, 10),
        (24, 50, 24, 16),
    ]  # fmt: skip
    panels, refs = [], []
    for i, vis in enumerate(panels_of):
        x, y, w, h = layout[i] if i < len(layout) else (0, 66 + 12 * (i - len(layout)), 24, 12)
        panels.append(
            {
                "version": OSD_VERSION,
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i + 1)},
                "panelIndex": str(i + 1),
                "embeddableConfig": {},
                "panelRefName": f"panel_{i}",
            }
        )
        refs.append({"name": f"panel_{i}", "type": vis["type"], "id": vis["id"]})
    return {
        "type": "dashboard",
        "id": object_id(settings, "dashboard"),
        "attributes": {
            "title": DASHBOARD_TITLE,
            "description": "WAF traffic, indicator fields and Anomaly Detection results (generated by wafad)",
            "hits": 0,
            "panelsJSON": json.dumps(panels, separators=(",", ":")),
            "optionsJSON": json.dumps({"hidePanelTitles": False, "useMargins": True}),
            "version": 1,
            "timeRestore": True,
            "timeFrom": "now-24h",
            "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 60000},
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
        },
        "references": refs,
        "migrationVersion": {"dashboard": MIGRATION["dashboard"]},
    }


def to_ndjson(objects: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(o, sort_keys=True, separators=(",", ":")) + "\n" for o in objects)


def write_saved_objects(settings: Settings, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_ndjson(render_saved_objects(settings)), encoding="utf-8")
    return out
