"""A typed client for the OpenSearch Anomaly Detection REST API (opensearch-py has no AD namespace).

Every call goes through ``os_client.transport.perform_request``; paths and shapes follow the AD plugin
(shared notes opensearch_ad.md §6). Differences between AD releases are absorbed here:

- ``GET detectors/<id>?task=true`` names the real-time task ``realtime_task`` (2.15+) or
  ``realtime_detection_task`` (<= 2.14);
- starting a job that is already running answers HTTP **200** with an error envelope in the body;
- start/stop answer ``{"_id"}`` (2.15+) or also ``_version``/``_seq_no``/``_primary_term`` (<= 2.14).

Errors become the typed exceptions of :mod:`detectors.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from detectors.errors import (
    ADConnectionError,
    ADError,
    ADValidationError,
    DetectorNameConflict,
    JobRunningError,
    classify,
    error_reason,
)

AD_BASE = "/_plugins/_anomaly_detection/detectors"
ValidationType = Literal["detector", "model"]

#: Detector fields that define behaviour; ``ensure`` compares only these.
COMPARED_FIELDS = (
    "name",
    "description",
    "time_field",
    "indices",
    "filter_query",
    "feature_attributes",
    "detection_interval",
    "window_delay",
    "shingle_size",
    "category_field",
    "imputation_option",
    "result_index",
    "frequency",
    "history",
    "recency_emphasis",
    "rules",
)


#: AD refuses to change these on update.
IMMUTABLE_FIELDS = ("category_field", "result_index")


def to_epoch_ms(value: datetime | int | float) -> int:
    """Epoch milliseconds from an aware datetime (naive = UTC) or a number already in ms."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return int(value)


@dataclass(frozen=True)
class DetectorRef:
    """A detector found by name, with what an optimistic-concurrency update needs."""

    id: str
    name: str
    seq_no: int | None = None
    primary_term: int | None = None


@dataclass(frozen=True)
class EnsureResult:
    detector_id: str
    name: str
    action: Literal["created", "updated", "unchanged"]
    restarted: bool = False


@dataclass(frozen=True)
class StartResult:
    id: str  # detector id (real-time) or task id (historical)
    already_running: bool = False


@dataclass(frozen=True)
class Profile:
    state: str  # DISABLED | INIT | RUNNING
    error: str | None = None
    init_percentage: float | None = None
    needed_shingles: int | None = None
    estimated_minutes_left: int | None = None
    total_entities: int | None = None
    active_entities: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DetectorInfo:
    id: str
    detector: Mapping[str, Any]
    job: Mapping[str, Any] | None
    realtime_task: Mapping[str, Any] | None
    historical_task: Mapping[str, Any] | None
    seq_no: int | None
    primary_term: int | None
    raw: Mapping[str, Any]

    @property
    def job_enabled(self) -> bool:
        return bool(self.job and self.job.get("enabled"))

    @property
    def historical_running(self) -> bool:
        state = (self.historical_task or {}).get("state")
        return state in {"CREATED", "INIT", "RUNNING"}


def _strip_defaults(value: Any) -> Any:
    """Normalise an echoed body: drop ``boost: 1.0`` that AD's query serialisation adds, upper-case enums."""
    if isinstance(value, Mapping):
        return {k: _strip_defaults(v) for k, v in value.items() if not (k == "boost" and v in (1, 1.0))}
    if isinstance(value, list):
        return [_strip_defaults(v) for v in value]
    return value


def _comparable(body: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        if key not in body:
            continue
        value = _strip_defaults(body[key])
        if key == "feature_attributes" and isinstance(value, list):
            value = [
                {k: f.get(k) for k in ("feature_name", "feature_enabled", "aggregation_query")}
                for f in value
                if isinstance(f, Mapping)
            ]
        elif key in ("detection_interval", "window_delay", "frequency") and isinstance(value, Mapping):
            period = value.get("period", {})
            value = {"interval": period.get("interval"), "unit": str(period.get("unit", "")).upper()}
        elif key == "imputation_option" and isinstance(value, Mapping):
            value = {"method": str(value.get("method", "")).upper(), "default_fill": value.get("default_fill")}
        out[key] = value
    return out


def body_differs(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> list[str]:
    """Fields of ``desired`` whose value differs from the detector the cluster holds (after normalisation)."""
    keys = tuple(k for k in COMPARED_FIELDS if k in desired)
    want, have = _comparable(desired, keys), _comparable(existing, keys)
    return [k for k in keys if want.get(k) != have.get(k)]


def _is_error_envelope(response: Any) -> bool:
    """An OpenSearch error envelope (``{"error": {...}, "status": N}``), as opposed to e.g. a profile's
    ``"error": "<text>"`` field."""
    if not isinstance(response, Mapping) or "error" not in response:
        return False
    return isinstance(response["error"], Mapping) or ("status" in response and "state" not in response)


class ADClient:
    """The AD plugin's REST API over an ``opensearchpy.OpenSearch`` client."""

    def __init__(self, os_client: Any, *, base: str = AD_BASE) -> None:
        self.os = os_client
        self.base = base.rstrip("/")

    # --- plumbing ---------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        from opensearchpy.exceptions import ConnectionError as OSConnectionError
        from opensearchpy.exceptions import TransportError

        try:
            response = self.os.transport.perform_request(method, path, params=dict(params or {}) or None, body=body)
        except OSConnectionError as exc:
            raise ADConnectionError(f"cannot reach OpenSearch: {exc.error}", operation=operation) from exc
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else None
            raise classify(status, exc.info if exc.info is not None else exc.error, operation=operation) from exc
        # "already running" and friends come back with HTTP 200 and an error envelope
        if _is_error_envelope(response):
            status = response.get("status")
            raise classify(status if isinstance(status, int) else 200, response, operation=operation)
        return response

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
        return DetectorInfo(
            id=str(raw.get("_id", detector_id)),
            detector=raw.get("anomaly_detector") or {},
            job=raw.get("anomaly_detector_job"),
            realtime_task=raw.get("realtime_task") or raw.get("realtime_detection_task"),
            historical_task=raw.get("historical_analysis_task"),
            seq_no=raw.get("_seq_no"),
            primary_term=raw.get("_primary_term"),
            raw=raw,
        )

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

    def profile(self, detector_id: str) -> Profile:
        raw = self._request(
            "GET", f"{self.base}/{detector_id}/_profile", params={"_all": "true"}, operation=f"profile {detector_id}"
        )
        init = raw.get("init_progress") or {}
        pct = init.get("percentage")
        if isinstance(pct, str):
            pct = float(pct.rstrip("%")) if pct.rstrip("%") else None
        return Profile(
            state=str(raw.get("state", "UNKNOWN")),
            error=raw.get("error"),
            init_percentage=float(pct) if pct is not None else None,
            needed_shingles=init.get("needed_shingles"),
            estimated_minutes_left=init.get("estimated_minutes_left"),
            total_entities=raw.get("total_entities"),
            active_entities=raw.get("active_entities"),
            raw=raw,
        )

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
