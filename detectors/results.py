"""AD result documents: the index mapping, a typed builder and the writer/reader.

The local engine writes exactly what the AD plugin writes (shared notes opensearch_ad.md §5.2-5.4), so alerting,
the dashboard and the cross-check read one schema whichever engine produced the results:

- times are epoch milliseconds; score fields are omitted when NaN (error / "no data" documents have none);
- ``approx_anomaly_start_time``, ``relevant_attribution``, ``past_values`` and ``expected_values`` only when
  grade > 0; ``task_id`` only for historical results; ``entity`` only for high-cardinality detectors.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 7

_NESTED_FEATURE = {"type": "nested", "properties": {"feature_id": {"type": "keyword"}, "data": {"type": "double"}}}
_DATE = {"type": "date", "format": "strict_date_time||epoch_millis"}

#: AD's ``anomaly-results.json`` mapping (``_meta.schema_version`` 7, ``dynamic: false``).
RESULT_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "_meta": {"schema_version": SCHEMA_VERSION},
    "properties": {
        "detector_id": {"type": "keyword"},
        "is_anomaly": {"type": "boolean"},
        "anomaly_score": {"type": "double"},
        "anomaly_grade": {"type": "double"},
        "confidence": {"type": "double"},
        "threshold": {"type": "double"},
        "feature_data": {
            "type": "nested",
            "properties": {
                "feature_id": {"type": "keyword"},
                "feature_name": {"type": "keyword"},
                "data": {"type": "double"},
            },
        },
        "data_start_time": _DATE,
        "data_end_time": _DATE,
        "execution_start_time": _DATE,
        "execution_end_time": _DATE,
        "approx_anomaly_start_time": _DATE,
        "error": {"type": "text"},
        "user": {
            "type": "nested",
            "properties": {
                "name": {"type": "keyword"},
                "backend_roles": {"type": "keyword"},
                "roles": {"type": "keyword"},
                "custom_attribute_names": {"type": "keyword"},
            },
        },
        "entity": {"type": "nested", "properties": {"name": {"type": "keyword"}, "value": {"type": "keyword"}}},
        "schema_version": {"type": "integer"},
        "task_id": {"type": "keyword"},
        "model_id": {"type": "keyword"},
        "relevant_attribution": _NESTED_FEATURE,
        "past_values": _NESTED_FEATURE,
        "expected_values": {
            "type": "nested",
            "properties": {"likelihood": {"type": "double"}, "value_list": _NESTED_FEATURE},
        },
        "feature_imputed": {
            "type": "nested",
            "properties": {"feature_id": {"type": "keyword"}, "imputed": {"type": "boolean"}},
        },
    },
}


def _b64_hash(text: str, n_bytes: int = 15) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("utf-8")).digest()[:n_bytes]).decode("ascii")


def stable_detector_id(name: str) -> str:
    """A 20-character AD-style id derived from the detector name (stable across runs and machines)."""
    return _b64_hash(f"wafad-detector:{name}")


def feature_id(detector_id: str, feature_name: str) -> str:
    """A stable 20-character feature id (AD generates random ones)."""
    return _b64_hash(f"{detector_id}:{feature_name}")


def model_id(detector_id: str, entity: Mapping[str, str] | None) -> str:
    """AD's model id: ``<id>_model_rcf_0`` (single stream) or ``<id>_entity_<hash of sorted attributes>``."""
    if not entity:
        return f"{detector_id}_model_rcf_0"
    attrs = "|".join(f"{k}={entity[k]}" for k in sorted(entity))
    return f"{detector_id}_entity_{_b64_hash(attrs, 16).rstrip('=')}"


def _finite(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class ResultInput:
    """One interval's outcome, before it becomes an AD result document."""

    data_start_ms: int
    data_end_ms: int
    values: Sequence[float]  # feature values (NaN = missing)
    score: float | None = None  # None: no model output (error / no data)
    grade: float | None = None
    confidence: float | None = None
    threshold: float | None = None
    attribution: Sequence[float] | None = None
    expected: Sequence[float] | None = None
    past_values: Sequence[float] | None = None
    relative_index: int = 0
    error: str | None = None
    imputed: Sequence[bool] | None = None


def result_document(
    *,
    detector_id: str,
    feature_names: Sequence[str],
    result: ResultInput,
    interval_ms: int,
    execution_start_ms: int,
    execution_end_ms: int,
    entity: Mapping[str, str] | None = None,
    task_id: str | None = None,
    with_model_id: bool = True,
) -> dict[str, Any]:
    """An AD result document (``AnomalyResult.toXContent`` rules) for one interval."""
    fids = [feature_id(detector_id, n) for n in feature_names]
    doc: dict[str, Any] = {
        "detector_id": detector_id,
        "schema_version": SCHEMA_VERSION,
        "data_start_time": int(result.data_start_ms),
        "data_end_time": int(result.data_end_ms),
        "feature_data": [
            {"feature_id": fid, "feature_name": name, "data": float(v)}
            for fid, name, v in zip(fids, feature_names, result.values, strict=True)
            if _finite(v)
        ],
        "execution_start_time": int(execution_start_ms),
        "execution_end_time": int(execution_end_ms),
    }
    for key, value in (
        ("anomaly_score", result.score),
        ("anomaly_grade", result.grade),
        ("confidence", result.confidence),
        ("threshold", result.threshold),
    ):
        if _finite(value):
            doc[key] = float(value)  # type: ignore[arg-type]
    if result.error:
        doc["error"] = result.error
    if entity:
        doc["entity"] = [{"name": k, "value": str(v)} for k, v in entity.items()]
    if task_id:
        doc["task_id"] = task_id
    if with_model_id and result.score is not None:
        doc["model_id"] = model_id(detector_id, entity)
    if result.imputed is not None and any(result.imputed):
        doc["feature_imputed"] = [
            {"feature_id": f, "imputed": bool(i)} for f, i in zip(fids, result.imputed, strict=True)
        ]
    if result.grade is not None and result.grade > 0:
        start = result.data_start_ms + min(result.relative_index, 0) * interval_ms
        doc["approx_anomaly_start_time"] = int(start)
        if result.attribution is not None:
            doc["relevant_attribution"] = [
                {"feature_id": f, "data": float(a)} for f, a in zip(fids, result.attribution, strict=True)
            ]
        if result.past_values is not None and result.relative_index < 0:
            doc["past_values"] = [
                {"feature_id": f, "data": float(a)} for f, a in zip(fids, result.past_values, strict=True)
            ]
        if result.expected is not None:
            doc["expected_values"] = [
                {
                    "likelihood": 1.0,
                    "value_list": [
                        {"feature_id": f, "data": float(e)} for f, e in zip(fids, result.expected, strict=True)
                    ],
                }
            ]
    return doc


def document_id(doc: Mapping[str, Any]) -> str:
    """A deterministic ``_id``: re-running the same interval replaces its result instead of duplicating it."""
    entity = "|".join(f"{e['name']}={e['value']}" for e in doc.get("entity", []))
    key = f"{doc['detector_id']}|{entity}|{doc.get('task_id', '')}|{doc['data_start_time']}|{doc['data_end_time']}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def ensure_results_index(os_client: Any, index: str) -> bool:
    """Create the results index with AD's mapping unless it exists; True when created."""
    from opensearchpy.exceptions import RequestError

    if os_client.indices.exists(index=index):
        return False
    try:
        os_client.indices.create(index=index, body={"mappings": RESULT_MAPPING})
    except RequestError as exc:
        if "resource_already_exists" in str(exc.error):
            return False
        raise
    return True


class ResultWriteError(RuntimeError):
    """Some result documents were rejected by OpenSearch."""


def write_results(os_client: Any, index: str, docs: Iterable[Mapping[str, Any]], *, chunk_size: int = 2000) -> int:
    """Bulk-index result documents (deterministic ids); returns how many were written, raises on any failure."""
    from opensearchpy import helpers

    actions = ({"_index": index, "_id": document_id(d), "_source": dict(d)} for d in docs)
    ok, errors = helpers.bulk(os_client, actions, chunk_size=chunk_size, raise_on_error=False, refresh=False)
    if errors:
        raise ResultWriteError(f"{len(errors)} result documents rejected by {index}; first: {errors[0]}")
    return int(ok)


def search_result_docs(
    os_client: Any,
    index: str,
    *,
    detector_id: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    realtime: bool | None = True,
    task_id: str | None = None,
    time_field: str = "data_end_time",
    page_size: int = 5000,
) -> list[dict[str, Any]]:
    """Result documents sorted by ``time_field`` then ``data_start_time``; ``realtime=True`` excludes historical
    results (``must_not exists task_id``), ``task_id`` selects one historical task. Pages with search_after."""
    filters: list[dict[str, Any]] = []
    if detector_id:
        filters.append({"term": {"detector_id": detector_id}})
    if start_ms is not None or end_ms is not None:
        rng: dict[str, Any] = {"format": "epoch_millis"}
        if start_ms is not None:
            rng["gte"] = int(start_ms)
        if end_ms is not None:
            rng["lte"] = int(end_ms)
        filters.append({"range": {time_field: rng}})
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if task_id is not None:
        filters.append({"term": {"task_id": task_id}})
    elif realtime:
        query["bool"]["must_not"] = [{"exists": {"field": "task_id"}}]
    if not os_client.indices.exists(index=index):
        return []
    out: list[dict[str, Any]] = []
    after: list[Any] | None = None
    sort = [{time_field: "asc"}, {"data_start_time": "asc"}, {"detector_id": "asc"}, {"model_id": "asc"}]
    while True:
        body: dict[str, Any] = {"size": page_size, "query": query, "sort": sort}
        if after is not None:
            body["search_after"] = after
        hits = os_client.search(index=index, body=body)["hits"]["hits"]
        out.extend(h["_source"] for h in hits)
        if len(hits) < page_size:
            return out
        after = hits[-1]["sort"]
