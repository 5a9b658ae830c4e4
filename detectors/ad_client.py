"""A typed client for the OpenSearch Anomaly Detection REST API (opensearch-py has no AD namespace).

Paths and shapes follow the AD plugin (shared notes opensearch_ad.md §6). Differences between AD releases are
absorbed here and in the modules it builds on:

- ``GET detectors/<id>?task=true`` names the real-time task ``realtime_task`` (2.15+) or
  ``realtime_detection_task`` (<= 2.14) (:class:`~detectors.ad_types.DetectorInfo`);
- starting a job that is already running answers HTTP **200** with an error envelope in the body
  (:mod:`detectors.ad_transport`);
- start/stop answer ``{"_id"}`` (2.15+) or also ``_version``/``_seq_no``/``_primary_term`` (<= 2.14).

This module holds the detector CRUD, ``ensure`` and the jobs; previews, profiles and result searches are
:mod:`detectors.ad_results_api`, the returned shapes :mod:`detectors.ad_types`, the body comparison
:mod:`detectors.ad_compare`. Errors become the typed exceptions of :mod:`detectors.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from detectors.ad_compare import IMMUTABLE_FIELDS, body_differs
from detectors.ad_results_api import ADResultsAPI
from detectors.ad_types import (
    DetectorInfo,
    DetectorRef,
    EnsureResult,
    StartResult,
    ValidationType,
    to_epoch_ms,
)
from detectors.errors import (
    ADError,
    ADValidationError,
    DetectorNameConflict,
    JobRunningError,
    error_reason,
)


class ADClient(ADResultsAPI):
    """The AD plugin's REST API over an ``opensearchpy.OpenSearch`` client."""

    # --- detectors --------------------------------------------------------------------------
    def find_by_name(self, name: str) -> DetectorRef | None:
        """The detector called ``name``, or None (exact match on ``name.keyword``)."""
        body = {
            "query": {"bool": {"filter": [{"term": {"name.keyword": name}}]}},
            "size": 2,
            "seq_no_primary_term": True,
        }
        try:
            response = self._request("POST", f"{self.base}/_search", body=body, operation=f"find detector {name!r}")
        except ADError as exc:
            # before the first detector exists, the config index does not exist either
            if "index_not_found" in str(exc.body) or "no such index" in exc.reason.lower():
                return None
            raise
        hits = [h for h in response.get("hits", {}).get("hits", []) if h.get("_source", {}).get("name") == name]
        if not hits:
            return None
        hit = hits[0]
        return DetectorRef(hit["_id"], name, hit.get("_seq_no"), hit.get("_primary_term"))

    def create(self, body: Mapping[str, Any]) -> str:
        response = self._request(
            "POST", self.base, body=dict(body), params={"refresh": "true"}, operation=f"create {body.get('name')!r}"
        )
        return str(response["_id"])

    def update(
        self, detector_id: str, body: Mapping[str, Any], *, seq_no: int | None = None, primary_term: int | None = None
    ) -> str:
        params: dict[str, Any] = {"refresh": "true"}
        if seq_no is not None and primary_term is not None:
            params.update(if_seq_no=str(seq_no), if_primary_term=str(primary_term))
        response = self._request(
            "PUT", f"{self.base}/{detector_id}", body=dict(body), params=params, operation=f"update {detector_id}"
        )
        return str(response["_id"])

    def get(self, detector_id: str, *, job: bool = True, task: bool = True) -> DetectorInfo:
        params = {"job": str(job).lower(), "task": str(task).lower()}
        raw = self._request("GET", f"{self.base}/{detector_id}", params=params, operation=f"get {detector_id}")
        return DetectorInfo.from_response(raw, detector_id)

    def ensure(self, body: Mapping[str, Any], *, restart_if_running: bool = True) -> EnsureResult:
        """Create the detector ``body["name"]`` or update it when its definition differs (idempotent).

        An update needs the real-time job stopped: with ``restart_if_running`` the job is stopped, updated and
        started again; otherwise :class:`JobRunningError` is raised.
        """
        name = str(body["name"])
        ref = self.find_by_name(name)
        if ref is None:
            try:
                return EnsureResult(self.create(body), name, "created")
            except DetectorNameConflict:
                ref = self.find_by_name(name)  # created concurrently: fall through to compare
                if ref is None:
                    raise
        info = self.get(ref.id)
        differs = body_differs(body, info.detector)
        if not differs:
            return EnsureResult(ref.id, name, "unchanged")
        frozen = [k for k in differs if k in IMMUTABLE_FIELDS]
        if frozen:
            raise ADValidationError(
                f"detector {name!r} ({ref.id}) differs in {', '.join(frozen)}, which AD cannot update; "
                "stop and delete it, then run ensure again",
                operation=f"update {ref.id}",
            )
        restarted = False
        if info.job_enabled:
            if not restart_if_running:
                raise JobRunningError(
                    f"detector {name!r} differs from the catalogue but its real-time job is running",
                    operation=f"update {ref.id}",
                )
            self.stop_realtime(ref.id)
            restarted = True
        self.update(ref.id, body, seq_no=info.seq_no, primary_term=info.primary_term)
        if restarted:
            self.start_realtime(ref.id)
        return EnsureResult(ref.id, name, "updated", restarted=restarted)

    def validate(self, body: Mapping[str, Any], *, kind: ValidationType = "detector") -> dict[str, Any]:
        """``_validate/<kind>`` findings: ``{}`` when the body is fine, else ``{"detector"|"model": {issue: ...}}``."""
        response = self._request(
            "POST", f"{self.base}/_validate/{kind}", body=dict(body), operation=f"validate {body.get('name')!r}"
        )
        return dict(response or {})

    def start_realtime(self, detector_id: str) -> StartResult:
        """Start the real-time job; a job that is already running is not an error (``already_running=True``)."""
        try:
            response = self._request("POST", f"{self.base}/{detector_id}/_start", operation=f"start {detector_id}")
        except JobRunningError as exc:
            if "already running" in exc.reason.lower():
                return StartResult(detector_id, already_running=True)
            raise
        return StartResult(str(response.get("_id", detector_id)))

    def stop_realtime(self, detector_id: str) -> str:
        response = self._request("POST", f"{self.base}/{detector_id}/_stop", operation=f"stop {detector_id}")
        return str(response.get("_id", detector_id))

    def start_historical(self, detector_id: str, start: datetime | int, end: datetime | int) -> str:
        """Start historical analysis over ``[start, end)``; returns the task id."""
        body = {"start_time": to_epoch_ms(start), "end_time": to_epoch_ms(end)}
        response = self._request(
            "POST", f"{self.base}/{detector_id}/_start", body=body, operation=f"start historical {detector_id}"
        )
        return str(response["_id"])

    def stop_historical(self, detector_id: str) -> str:
        response = self._request(
            "POST",
            f"{self.base}/{detector_id}/_stop",
            params={"historical": "true"},
            operation=f"stop historical {detector_id}",
        )
        return str(response.get("_id", detector_id))

    def delete(self, detector_id: str) -> None:
        self._request("DELETE", f"{self.base}/{detector_id}", operation=f"delete {detector_id}")

    # --- waiting ----------------------------------------------------------------------------
    def wait_for_historical(
        self,
        detector_id: str,
        *,
        timeout_s: float = 1800.0,
        poll_s: float = 5.0,
        on_poll: Callable[[Mapping[str, Any]], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Mapping[str, Any]:
        """Poll until the historical task is FINISHED (returns it); FAILED/STOPPED raise :class:`ADError`."""
        deadline = time.monotonic() + timeout_s
        while True:
            task = self.get(detector_id, job=False, task=True).historical_task or {}
            if on_poll:
                on_poll(task)
            state = task.get("state")
            if state == "FINISHED":
                return task
            if state in {"FAILED", "STOPPED"}:
                reason = task.get("error") or error_reason(task) or state
                raise ADError(f"historical analysis {state.lower()}: {reason}", operation=f"historical {detector_id}")
            if time.monotonic() > deadline:
                raise ADError(f"historical analysis still {state} after {timeout_s:.0f}s", operation=detector_id)
            sleep(poll_s)
