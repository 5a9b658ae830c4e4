"""What ``wafad detectors status`` and ``wafad detectors results`` show, as plain data: per-detector status
(plugin profile, or local model files) with result counts, a catalogue detector's id, and its recent results."""

from __future__ import annotations

from typing import Any

from wafad.catalogue import DETECTORS, DetectorSpec


class DetectorNotFound(LookupError):
    """The AD plugin has no detector of that catalogue name."""


def result_counts(client: Any, index: str) -> dict[str, tuple[int, int]]:
    """detector_id -> (real-time results, anomalies)."""
    if not client.indices.exists(index=index):
        return {}
    body = {
        "size": 0,
        "query": {"bool": {"must_not": [{"exists": {"field": "task_id"}}]}},
        "aggs": {
            "d": {
                "terms": {"field": "detector_id", "size": 100},
                "aggs": {"a": {"filter": {"range": {"anomaly_grade": {"gt": 0}}}}},
            }
        },
    }
    buckets = client.search(index=index, body=body)["aggregations"]["d"]["buckets"]
    return {b["key"]: (int(b["doc_count"]), int(b["a"]["doc_count"])) for b in buckets}


def detector_statuses(settings: Any, client: Any) -> list[dict[str, Any]]:
    """One row per catalogue detector. Plugin: ``name, id, state, init_percentage, results, anomalies, error``
    (``id`` None when absent); local engine: ``name, id, models, results, anomalies``. Raises ``ADError``."""
    counts = result_counts(client, settings.results_index)
    rows: list[dict[str, Any]] = []
    if settings.uses_ad_plugin:
        from detectors.ad_client import ADClient

        ad = ADClient(client)
        for spec in DETECTORS:
            ref = ad.find_by_name(spec.name)
            if ref is None:
                rows.append({"name": spec.name, "id": None})
                continue
            prof = ad.profile(ref.id)
            n, a = counts.get(ref.id, (0, 0))
            rows.append(
                {
                    "name": spec.name,
                    "id": ref.id,
                    "state": prof.state,
                    "init_percentage": prof.init_percentage,
                    "results": n,
                    "anomalies": a,
                    "error": prof.error or "",
                }
            )
        return rows
    from detectors.engine_models import model_key
    from detectors.local_engine import LocalADEngine, local_detector_id

    engine = LocalADEngine(settings, client)
    for spec in DETECTORS:
        det_id = local_detector_id(spec)
        models = engine.store.count(model_key(det_id, None, settings.results_index).rsplit("/", 1)[0] + "/")
        n, a = counts.get(det_id, (0, 0))
        rows.append({"name": spec.name, "id": det_id, "models": models, "results": n, "anomalies": a})
    return rows


def detector_id(settings: Any, client: Any, spec: DetectorSpec) -> str:
    """The id results carry for ``spec``: the local engine's stable id, or the plugin's (:class:`DetectorNotFound`
    when the plugin has none of that name; ``ADError`` when it cannot be asked)."""
    from detectors.local_engine import local_detector_id

    if not settings.uses_ad_plugin:
        return local_detector_id(spec)
    from detectors.ad_client import ADClient

    ref = ADClient(client).find_by_name(spec.name)
    if ref is None:
        raise DetectorNotFound(f"no detector named {spec.name!r}; run 'wafad detectors ensure'")
    return ref.id


def recent_results(
    settings: Any,
    client: Any,
    det_id: str,
    start_ms: int,
    end_ms: int,
    *,
    historical: bool = False,
    anomalies_only: bool = False,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The last ``limit`` result documents of ``det_id`` in the window (real-time, or historical), oldest first."""
    from detectors.results import search_result_docs

    docs = search_result_docs(
        client, settings.results_index, detector_id=det_id, start_ms=start_ms, end_ms=end_ms, realtime=not historical
    )
    if historical:
        docs = [d for d in docs if d.get("task_id")]
    if anomalies_only:
        docs = [d for d in docs if (d.get("anomaly_grade") or 0) > 0]
    return docs[-limit:]
