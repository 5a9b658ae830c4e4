"""Detector resources: the catalogue's detectors in the AD plugin, or the local engine's results index."""

from __future__ import annotations

from typing import Any

from wafad.catalogue import DETECTORS, DetectorSpec, ad_detector_body


def detector_body(spec: DetectorSpec, settings: Any) -> dict[str, Any]:
    """The AD body of ``spec`` with this deployment's index pattern, interval, delay, shingle and result index."""
    return ad_detector_body(
        spec,
        index_pattern=f"{settings.index_prefix}-*",
        interval_minutes=settings.detector_interval_minutes,
        window_delay_minutes=settings.window_delay_minutes,
        shingle_size=settings.shingle_size,
        result_index=settings.results_index,
    )


def ensure_detectors(
    settings: Any, *, os_client: Any = None, specs: tuple[DetectorSpec, ...] = DETECTORS
) -> dict[str, Any]:
    """Idempotent: create/update every catalogue detector (plugin) or create the results index (local).

    Returns ``{"engine", "results_index", "detectors": {name: {"id", "action"}}}``.
    """
    from detectors.local_engine import local_detector_id
    from detectors.results import ensure_results_index
    from wafad.clients import opensearch_client

    client = os_client or opensearch_client(settings)
    out: dict[str, Any] = {"results_index": settings.results_index, "detectors": {}}
    if not settings.uses_ad_plugin:
        out["engine"] = "local"
        out["results_index_created"] = ensure_results_index(client, settings.results_index)
        for spec in specs:
            out["detectors"][spec.name] = {"id": local_detector_id(spec), "action": "local"}
        return out
    from detectors.ad_client import ADClient

    ad = ADClient(client)
    out["engine"] = "plugin"
    for spec in specs:
        result = ad.ensure(detector_body(spec, settings))
        out["detectors"][spec.name] = {"id": result.detector_id, "action": result.action}
    return out
