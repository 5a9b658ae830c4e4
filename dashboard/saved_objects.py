"""OpenSearch Dashboards saved objects for wafad, rendered for the configured index names, and their import.

The objects follow the saved-objects export format (one JSON object per ndjson line:
``{"type", "id", "attributes", "references", "migrationVersion"}``; ``visState``, ``uiStateJSON``,
``panelsJSON``, ``optionsJSON`` and ``kibanaSavedObjectMeta.searchSourceJSON`` are JSON *strings*; index
patterns and panels are linked through ``references`` with ``indexRefName`` / ``panelRefName``):

* index pattern ``<index_prefix>-*`` (time field ``@timestamp``) and one for the AD results (``data_end_time``);
* visualisations: requests and the five indicator fields over time, requests by action (the seed's historical
  block view), HTTP status classes and unknown countries over time (the seed's live trends), top countries /
  client IPs / URIs, AD anomaly grade and confidence per detector over time, anomalies per detector;
* a saved search of suspicious requests (Discover columns: action, status, client IP, country, method, uri, args);
* one dashboard with all of them.

:func:`import_saved_objects` posts them to ``/api/saved_objects/_import?overwrite=true`` (multipart, header
``osd-xsrf: true``); ``ensure-infrastructure`` calls it in production.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from wafad.catalogue import CLIENT_IP_FIELD, COUNTRY_FIELD, INDICATOR_FIELDS, TIME_FIELD, URI_FIELD
from wafad.settings import Settings

NAMESPACE = uuid.UUID("4f2b8a52-1d0e-4c55-9a43-5b0d4c1e7a10")  # ids are uuid5(NAMESPACE, prefix + name): stable
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
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
SAVED_OBJECTS_DIR = Path(__file__).resolve().parent / "saved_objects"
DEFAULT_NDJSON = SAVED_OBJECTS_DIR / "wafad.ndjson"


KNOWN_TYPES = frozenset({"index-pattern", "visualization", "search", "dashboard", "config", "query"})
TOP_LEVEL_KEYS = frozenset(
    {"type", "id", "attributes", "references", "migrationVersion", "updated_at", "version", "namespaces", "workspaces"}
)


class SavedObjectsError(RuntimeError):
    """The import failed; the message carries OpenSearch Dashboards' errors."""


def object_id(settings: Settings, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{settings.index_prefix}|{settings.results_index}|{name}"))


def _search_source(query: str = "", filters: Sequence[Mapping[str, Any]] = ()) -> str:
    return json.dumps(
        {"query": {"query": query, "language": "kuery"}, "filter": list(filters), "indexRefName": INDEX_REF},
        separators=(",", ":"),
    )


def _date_histogram(agg_id: str, field: str) -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "date_histogram",
        "schema": "segment",
        "params": {
            "field": field,
            "useNormalizedOpenSearchInterval": True,
            "scaleMetricValues": False,
            "interval": "auto",
            "drop_partials": False,
            "min_doc_count": 1,
            "extended_bounds": {},
        },
    }


def _terms(agg_id: str, field: str, size: int, schema: str, label: str, order_by: str = "1") -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "terms",
        "schema": schema,
        "params": {
            "field": field,
            "orderBy": order_by,
            "order": "desc",
            "size": size,
            "otherBucket": False,
            "otherBucketLabel": "Other",
            "missingBucket": False,
            "missingBucketLabel": "Missing",
            "customLabel": label,
        },
    }


def _metric(agg_id: str, agg_type: str, field: str | None, label: str) -> dict[str, Any]:
    params: dict[str, Any] = {"customLabel": label}
    if field:
        params["field"] = field
    return {"id": agg_id, "enabled": True, "type": agg_type, "schema": "metric", "params": params}


def _line_params(metrics: Sequence[Mapping[str, Any]], y_title: str, *, y_max: float | None = None) -> dict[str, Any]:
    scale: dict[str, Any] = {"type": "linear", "mode": "normal"}
    if y_max is not None:
        scale |= {"setYExtents": True, "min": 0, "max": y_max}
    return {
        "type": "line",
        "grid": {"categoryLines": False},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": "bottom",
                "show": True,
                "style": {},
                "scale": {"type": "linear"},
                "labels": {"show": True, "filter": True, "truncate": 100},
                "title": {},
            }
        ],
        "valueAxes": [
            {
                "id": "ValueAxis-1",
                "name": "LeftAxis-1",
                "type": "value",
                "position": "left",
                "show": True,
                "style": {},
                "scale": scale,
                "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                "title": {"text": y_title},
            }
        ],
        "seriesParams": [
            {
                "show": True,
                "type": "line",
                "mode": "normal",
                "data": {"label": m["params"]["customLabel"], "id": m["id"]},
                "valueAxis": "ValueAxis-1",
                "drawLinesBetweenPoints": True,
                "lineWidth": 2,
                "interpolate": "linear",
                "showCircles": True,
            }
            for m in metrics
        ],
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "labels": {},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    }


_TABLE_PARAMS = {
    "perPage": 10,
    "showPartialRows": False,
    "showMetricsAtAllLevels": False,
    "sort": {"columnIndex": None, "direction": None},
    "showTotal": False,
    "totalFunc": "sum",
    "percentageCol": "",
}


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
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(query)},
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": index_pattern_id}],
        "migrationVersion": {"visualization": MIGRATION["visualization"]},
    }


def _line(
    settings: Settings, name: str, title: str, index_pattern_id: str, time_field: str,
    metrics: Sequence[dict[str, Any]], y_title: str, *, split: dict[str, Any] | None = None,
    query: str = "", y_max: float | None = None, description: str = "",
) -> dict[str, Any]:  # fmt: skip
    aggs = [*metrics, _date_histogram(str(len(metrics) + 1), time_field)]
    if split:
        aggs.append(split)
    return _visualization(
        settings, name, title, "line", aggs, _line_params(metrics, y_title, y_max=y_max), index_pattern_id,
        query=query, description=description,
    )  # fmt: skip


def _top_table(settings: Settings, name: str, title: str, field: str, label: str, ip_id: str) -> dict[str, Any]:
    aggs = [_metric("1", "count", None, "Requests"), _terms("2", field, 10, "bucket", label)]
    return _visualization(settings, name, title, "table", aggs, _TABLE_PARAMS, ip_id)


def render_saved_objects(settings: Settings) -> list[dict[str, Any]]:
    """All saved objects for ``settings``' index names, index patterns first, the dashboard last."""
    raw_ip = object_id(settings, "index-pattern-raw")
    res_ip = object_id(settings, "index-pattern-results")
    objects: list[dict[str, Any]] = [
        {
            "type": "index-pattern",
            "id": raw_ip,
            "attributes": {"title": f"{settings.index_prefix}-*", "timeFieldName": TIME_FIELD},
            "references": [],
            "migrationVersion": {"index-pattern": MIGRATION["index-pattern"]},
        },
        {
            "type": "index-pattern",
            "id": res_ip,
            "attributes": {"title": f"{settings.results_index}*", "timeFieldName": "data_end_time"},
            "references": [],
            "migrationVersion": {"index-pattern": MIGRATION["index-pattern"]},
        },
    ]
    indicator_metrics = [_metric(str(i + 1), "sum", ind, ind) for i, ind in enumerate(INDICATOR_FIELDS)]
    status_split = {
        "id": "3",
        "enabled": True,
        "type": "range",
        "schema": "group",
        "params": {
            "field": "httpStatus",
            "ranges": [
                {"from": 200, "to": 300},
                {"from": 300, "to": 400},
                {"from": 400, "to": 500},
                {"from": 500, "to": 600},
            ],
        },
    }
    visualizations = [
        _line(settings, "requests", "wafad - requests over time", raw_ip, TIME_FIELD,
              [_metric("1", "count", None, "Requests")], "requests"),
        _line(settings, "indicators", "wafad - bad indicators over time", raw_ip, TIME_FIELD, indicator_metrics,
              "requests flagged bad", description="Sum of each 0/1 indicator field per interval"),
        _line(settings, "by-action", "wafad - requests by action (historical block view)", raw_ip, TIME_FIELD,
              [_metric("1", "count", None, "Requests")], "requests",
              split=_terms("3", "action", 5, "group", "Action")),
        _line(settings, "by-status", "wafad - HTTP status classes (live trend)", raw_ip, TIME_FIELD,
              [_metric("1", "count", None, "Requests")], "requests", split=status_split),
        _line(settings, "unknown-countries", "wafad - unknown countries (live trend)", raw_ip, TIME_FIELD,
              [_metric("1", "count", None, "Requests")], "requests", query="country_bad:1",
              split=_terms("3", COUNTRY_FIELD, 8, "group", "Country")),
        _top_table(settings, "top-countries", "wafad - top countries", COUNTRY_FIELD, "Country", raw_ip),
        _top_table(settings, "top-ips", "wafad - top client IPs", CLIENT_IP_FIELD, "Client IP", raw_ip),
        _top_table(settings, "top-uris", "wafad - top URIs", URI_FIELD, "URI", raw_ip),
        _line(settings, "ad-grade", "wafad - AD anomaly grade by detector", res_ip, "data_end_time",
              [_metric("1", "max", "anomaly_grade", "Max anomaly grade")], "anomaly grade", y_max=1.0,
              split=_terms("3", "detector_id", 10, "group", "Detector")),
        _line(settings, "ad-confidence", "wafad - AD confidence by detector", res_ip, "data_end_time",
              [_metric("1", "avg", "confidence", "Confidence")], "confidence", y_max=1.0,
              split=_terms("3", "detector_id", 10, "group", "Detector")),
        _visualization(
            settings, "ad-anomalies", "wafad - anomalous intervals per detector", "table",
            [_metric("1", "count", None, "Anomalous intervals"), _terms("2", "detector_id", 20, "bucket", "Detector")],
            _TABLE_PARAMS, res_ip, query="anomaly_grade > 0",
        ),
    ]  # fmt: skip
    objects.extend(visualizations)
    search = _suspicious_requests_search(settings, raw_ip)
    objects.append(search)
    objects.append(_dashboard(settings, [*visualizations, search]))
    return objects


def _suspicious_requests_search(settings: Settings, index_pattern_id: str) -> dict[str, Any]:
    """A saved search (Discover) of requests with a bad action, status, method or source, newest first."""
    source = json.loads(_search_source("action_bad:1 or status_bad:1 or method_bad:1 or source_bad:1"))
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


# --- validation (the documented export shape) ------------------------------------------------------
def validate_saved_objects(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Parse ndjson and check the saved-object shape; raises ValueError naming the first problem."""
    objects: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        where = f"line {n} ({obj.get('type')}/{obj.get('id')})"
        for key in ("type", "id", "attributes", "references"):
            if key not in obj:
                raise ValueError(f"{where}: missing {key!r}")
        if obj["type"] not in KNOWN_TYPES:
            raise ValueError(f"{where}: type {obj['type']!r} is not a saved-object type Dashboards imports here")
        unknown = set(obj) - TOP_LEVEL_KEYS
        if unknown:
            raise ValueError(f"{where}: unexpected top-level keys {sorted(unknown)}")
        if not isinstance(obj["id"], str) or not obj["id"]:
            raise ValueError(f"{where}: id must be a non-empty string")
        if not isinstance(obj["attributes"], dict) or not obj["attributes"].get("title"):
            raise ValueError(f"{where}: attributes.title missing")
        for ref in obj["references"]:
            if set(ref) != {"name", "type", "id"}:
                raise ValueError(f"{where}: reference {ref} must have exactly name, type, id")
        attrs = obj["attributes"]
        for key in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON"):
            if key in attrs:
                json.loads(attrs[key])
        meta = attrs.get("kibanaSavedObjectMeta")
        if meta:
            source = json.loads(meta["searchSourceJSON"])
            ref_name = source.get("indexRefName")
            if ref_name and ref_name not in {r["name"] for r in obj["references"]}:
                raise ValueError(f"{where}: indexRefName {ref_name} has no reference")
        if obj["type"] == "index-pattern" and not attrs.get("timeFieldName"):
            raise ValueError(f"{where}: index pattern without timeFieldName")
        if obj["type"] == "visualization":
            vis = json.loads(attrs["visState"])
            if vis.get("title") != attrs["title"] or not vis.get("type") or "aggs" not in vis:
                raise ValueError(f"{where}: visState needs title (= attributes.title), type and aggs")
        if obj["type"] == "dashboard":
            names = {r["name"] for r in obj["references"]}
            for panel in json.loads(attrs["panelsJSON"]):
                if panel.get("panelRefName") not in names:
                    raise ValueError(f"{where}: panel {panel.get('panelIndex')} has no matching reference")
                if not {"x", "y", "w", "h", "i"} <= set(panel.get("gridData", {})):
                    raise ValueError(f"{where}: panel {panel.get('panelIndex')} gridData incomplete")
        objects.append(obj)
    known = {(o["type"], o["id"]) for o in objects}
    for o in objects:
        for ref in o["references"]:
            if (ref["type"], ref["id"]) not in known:
                raise ValueError(
                    f"{o['type']}/{o['id']}: reference {ref['name']} -> {ref['type']}/{ref['id']} unresolved"
                )
    ids = [(o["type"], o["id"]) for o in objects]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate (type, id) pairs")
    return objects


# --- import ----------------------------------------------------------------------------------------
def _auth(settings: Settings) -> Any:
    if settings.opensearch_auth == "basic" and settings.opensearch_password is not None:
        return (settings.opensearch_username, settings.opensearch_password.get_secret_value())
    if settings.opensearch_auth == "sigv4":
        from opensearchpy import RequestsAWSV4SignerAuth

        from wafad.clients import boto_session

        creds = boto_session(settings).get_credentials()
        if creds is None:
            raise SavedObjectsError("WAFAD_OPENSEARCH_AUTH=sigv4 but boto3 found no AWS credentials")
        return RequestsAWSV4SignerAuth(creds, settings.aws_region, settings.opensearch_sigv4_service)
    return None


def import_saved_objects(settings: Settings, dashboards_url: str, *, timeout_s: float = 60.0) -> dict[str, Any]:
    """Import (overwrite) the saved objects into OpenSearch Dashboards at ``dashboards_url``.

    ``dashboards_url`` is the Dashboards base URL (e.g. ``https://<domain>/_dashboards`` on Amazon OpenSearch
    Service). Authentication follows the OpenSearch settings (basic or SigV4). Returns Dashboards' answer
    (``successCount`` …); raises :class:`SavedObjectsError` when it reports errors.
    """
    import requests

    body = to_ndjson(render_saved_objects(settings)).encode("utf-8")
    url = dashboards_url.rstrip("/") + "/api/saved_objects/_import"
    try:
        resp = requests.post(
            url,
            params={"overwrite": "true"},
            headers={"osd-xsrf": "true"},
            files={"file": ("wafad.ndjson", body, "application/ndjson")},
            auth=_auth(settings),
            timeout=timeout_s,
            verify=settings.opensearch_verify_certs,
        )
    except requests.RequestException as exc:
        raise SavedObjectsError(f"cannot reach OpenSearch Dashboards at {url}: {exc}") from exc
    if resp.status_code >= 400:
        raise SavedObjectsError(f"import into {url} failed: HTTP {resp.status_code}: {resp.text[:500]}")
    try:
        result = resp.json()
    except ValueError:
        raise SavedObjectsError(f"import into {url}: answer is not JSON: {resp.text[:200]}") from None
    if not result.get("success", False):
        raise SavedObjectsError(f"import into {url} reported errors: {json.dumps(result.get('errors'))[:1000]}")
    return result


def dashboards_url_for(settings: Settings) -> str | None:
    """Where OpenSearch Dashboards is: ``WAFAD_OPENSEARCH_DASHBOARDS_URL`` if set, else ``<domain>/_dashboards`` on
    Amazon OpenSearch Service; None locally (osmem has no Dashboards)."""
    import os

    explicit = os.environ.get("WAFAD_OPENSEARCH_DASHBOARDS_URL")
    if explicit:
        return explicit
    if settings.is_local or not settings.opensearch_url:
        return None
    return settings.opensearch_url.rstrip("/") + "/_dashboards"


def ensure_saved_objects(settings: Settings, dashboards_url: str | None = None) -> dict[str, Any]:
    """For ``ensure-infrastructure``: write the ndjson under ``state_dir`` and import it where Dashboards runs.

    Returns ``{"file": path, "imported": n}`` or ``{"file": path, "skipped": reason}`` (local target).
    """
    path = write_saved_objects(settings, Path(settings.state_dir) / "opensearch-dashboards" / "wafad.ndjson")
    url = dashboards_url or dashboards_url_for(settings)
    if url is None:
        return {"file": str(path), "skipped": "no OpenSearch Dashboards on the local target (import the file by hand)"}
    result = import_saved_objects(settings, url)
    return {"file": str(path), "imported": int(result.get("successCount", 0)), "url": url}
