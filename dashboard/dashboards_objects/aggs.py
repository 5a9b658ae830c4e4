"""The pieces of a visualisation's ``visState``: aggregations (date histogram, terms, metrics) and chart params."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

TABLE_PARAMS: dict[str, Any] = {
    "perPage": 10,
    "showPartialRows": False,
    "showMetricsAtAllLevels": False,
    "sort": {"columnIndex": None, "direction": None},
    "showTotal": False,
    "totalFunc": "sum",
    "percentageCol": "",
}


def search_source(query: str = "", filters: Sequence[Mapping[str, Any]] = ()) -> str:
    """``kibanaSavedObjectMeta.searchSourceJSON``: a KQL query on the referenced index pattern."""
    return json.dumps(
        {"query": {"query": query, "language": "kuery"}, "filter": list(filters), "indexRefName": INDEX_REF},
        separators=(",", ":"),
    )


def date_histogram(agg_id: str, field: str) -> dict[str, Any]:
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


def terms(agg_id: str, field: str, size: int, schema: str, label: str, order_by: str = "1") -> dict[str, Any]:
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


def metric(agg_id: str, agg_type: str, field: str | None, label: str) -> dict[str, Any]:
    params: dict[str, Any] = {"customLabel": label}
    if field:
        params["field"] = field
    return {"id": agg_id, "enabled": True, "type": agg_type, "schema": "metric", "params": params}


def status_class_split(agg_id: str) -> dict[str, Any]:
    """HTTP status classes 2xx..5xx as a range split."""
    return {
        "id": agg_id,
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


def line_params(metrics: Sequence[Mapping[str, Any]], y_title: str, *, y_max: float | None = None) -> dict[str, Any]:
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
