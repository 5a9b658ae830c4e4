"""The read side of the AD REST API: previews, a detector's profile (state, init progress) and its result
documents (real-time or one historical task, from the default or a custom result index)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from detectors.ad_transport import ADTransport
from detectors.ad_types import Profile, to_epoch_ms


class ADResultsAPI(ADTransport):
    """Previews, profiles and result searches; :class:`detectors.ad_client.ADClient` adds the detector CRUD."""

    def preview(
        self,
        start: datetime | int,
        end: datetime | int,
        *,
        detector_id: str | None = None,
        detector: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Preview results; an empty list means "not enough data" (AD swallows that error)."""
        if (detector_id is None) == (detector is None):
            raise ValueError("preview needs exactly one of detector_id or detector")
        body: dict[str, Any] = {"period_start": to_epoch_ms(start), "period_end": to_epoch_ms(end)}
        if detector_id is not None:
            body["detector_id"] = detector_id
            path = f"{self.base}/{detector_id}/_preview"
        else:
            body["detector"] = dict(detector or {})
            path = f"{self.base}/_preview"
        response = self._request("POST", path, body=body, operation="preview")
        return list(response.get("anomaly_result") or [])

    def profile(self, detector_id: str) -> Profile:
        raw = self._request(
            "GET", f"{self.base}/{detector_id}/_profile", params={"_all": "true"}, operation=f"profile {detector_id}"
        )
        return Profile.from_response(raw)

    def search_results(
        self,
        detector_id: str,
        start: datetime | int,
        end: datetime | int,
        *,
        task_id: str | None = None,
        result_index: str | None = None,
        size: int = 10_000,
    ) -> list[dict[str, Any]]:
        """Result documents with ``data_end_time`` in ``[start, end]``: real-time ones (no ``task_id``) unless
        ``task_id`` names a historical task. ``result_index`` queries a custom result index too."""
        filters: list[dict[str, Any]] = [
            {"term": {"detector_id": detector_id}},
            {
                "range": {
                    "data_end_time": {"gte": to_epoch_ms(start), "lte": to_epoch_ms(end), "format": "epoch_millis"}
                }
            },
        ]
        query: dict[str, Any] = {"bool": {"filter": filters}}
        if task_id is None:
            query["bool"]["must_not"] = [{"exists": {"field": "task_id"}}]
        else:
            filters.append({"term": {"task_id": task_id}})
        body = {"size": size, "sort": [{"data_end_time": "asc"}], "query": query}
        path = f"{self.base}/results/_search"
        params = None
        if result_index:
            path = f"{path}/{result_index}"
            params = {"only_query_custom_result_index": "true"}
        response = self._request("POST", path, body=body, params=params, operation=f"results of {detector_id}")
        return [h["_source"] for h in response.get("hits", {}).get("hits", [])]
