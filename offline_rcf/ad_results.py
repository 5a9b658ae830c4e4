"""AD's result documents for one detector, read from the results index and laid out as series per entity."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from offline_rcf.engine import ADMode
from offline_rcf.series import to_epoch_ms


def read_ad_results(
    client: Any,
    results_index: str,
    detector_id: str,
    start_ms: int | None,
    end_ms: int,
    *,
    mode: ADMode = "realtime",
    page_size: int = 5000,
) -> list[dict[str, Any]]:
    """AD result documents of ``detector_id`` with data_end_time in [start_ms, end_ms], oldest first.

    ``realtime``: documents without ``task_id``; ``historical``: documents of the latest historical task.
    """
    rng: dict[str, Any] = {"lte": int(end_ms), "format": "epoch_millis"}
    if start_ms is not None:
        rng["gte"] = int(start_ms)
    query: dict[str, Any] = {
        "bool": {"filter": [{"term": {"detector_id": detector_id}}, {"range": {"data_end_time": rng}}]}
    }
    if mode == "historical":
        query["bool"]["filter"].append({"exists": {"field": "task_id"}})
    else:
        query["bool"]["must_not"] = [{"exists": {"field": "task_id"}}]
    if not client.indices.exists(index=results_index):
        return []
    docs: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": page_size,
            "query": query,
            "sort": [{"data_end_time": "asc"}, {"data_start_time": "asc"}, {"execution_end_time": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=results_index, body=body)["hits"]["hits"]
        docs.extend(h["_source"] for h in hits)
        if len(hits) < page_size:
            break
        after = hits[-1]["sort"]
    if mode == "historical" and docs:
        latest = max(docs, key=lambda d: time_ms(d.get("execution_end_time", 0)))["task_id"]
        docs = [d for d in docs if d.get("task_id") == latest]
    return docs


def time_ms(v: Any) -> int:
    return to_epoch_ms(v) if v is not None else 0


def entity_key(doc: Mapping[str, Any]) -> str | None:
    ent = doc.get("entity") or []
    if not ent:
        return None
    return "|".join(f"{e['value']}" for e in sorted(ent, key=lambda e: e["name"]))


@dataclass
class ADSeries:
    data_start: np.ndarray
    data_end: np.ndarray
    score: np.ndarray  # NaN: no score (error / no data)
    grade: np.ndarray
    features: np.ndarray  # (n, f) NaN where AD recorded none
    error: list[str | None]
    entity: dict[str, str] | None


def ad_series(docs: Sequence[Mapping[str, Any]], feature_names: Sequence[str]) -> ADSeries:
    by_end: dict[int, Mapping[str, Any]] = {}
    for d in docs:  # a re-run interval replaces the earlier document
        by_end[time_ms(d["data_end_time"])] = d
    ends = sorted(by_end)
    rows = [by_end[e] for e in ends]
    feats = np.full((len(rows), len(feature_names)), np.nan)
    pos = {n: j for j, n in enumerate(feature_names)}
    for i, d in enumerate(rows):
        for fd in d.get("feature_data") or []:
            j = pos.get(fd.get("feature_name"))
            if j is not None and fd.get("data") is not None:
                feats[i, j] = float(fd["data"])
    ent = rows[0].get("entity") if rows else None
    return ADSeries(
        data_start=np.array([time_ms(d["data_start_time"]) for d in rows], dtype=np.int64),
        data_end=np.array(ends, dtype=np.int64),
        score=np.array([float(d.get("anomaly_score", math.nan)) for d in rows]),
        grade=np.array([float(d.get("anomaly_grade", math.nan)) for d in rows]),
        features=feats,
        error=[d.get("error") for d in rows],
        entity={e["name"]: e["value"] for e in ent} if ent else None,
    )
