"""Typed errors of the AD REST API, built from OpenSearch error bodies (shared notes opensearch_ad.md §6.2).

OpenSearch wraps AD failures in its error envelope ``{"error": {"root_cause": [...], "type", "reason"}, "status"}``
(or, when a plugin is missing, ``{"error": "no handler found for uri [...]"}``). :func:`classify` turns a status and
a body into the most specific :class:`ADError` subclass, keeping the reason, the status and the raw body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ADError(RuntimeError):
    """An AD REST call failed; ``reason`` is the server's message, ``status`` its HTTP status (None: no answer)."""

    def __init__(self, reason: str, *, status: int | None = None, body: Any = None, operation: str = "") -> None:
        self.reason = reason
        self.status = status
        self.body = body
        self.operation = operation
        where = f"{operation}: " if operation else ""
        code = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{where}{reason}{code}")


class ADPluginMissing(ADError):
    """The cluster has no Anomaly Detection plugin (osmem, or a domain without it)."""


class ADConnectionError(ADError):
    """OpenSearch could not be reached."""


class DetectorNotFound(ADError):
    """No detector (or task) with that id."""


class DetectorNameConflict(ADError):
    """Create failed: another detector already uses the name."""


class ADValidationError(ADError):
    """The detector body (or request) was rejected as invalid; ``issues`` holds ``_validate`` findings if any."""

    def __init__(self, reason: str, *, issues: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(reason, **kwargs)
        self.issues = dict(issues or {})


class JobRunningError(ADError):
    """The operation needs the real-time job or historical task stopped first."""


class NotEnoughDataError(ADError):
    """The data in range is too sparse for training (historical start) or preview."""


class ADThrottled(ADError):
    """The cluster refused for capacity reasons; retry later."""


class ADDisabledError(ADError):
    """The AD plugin is disabled by the ``plugins.anomaly_detection.enabled`` setting."""


class ADServerError(ADError):
    """An internal error in the plugin (HTTP 5xx)."""


def error_reason(body: Any) -> str:
    """The most useful message in an OpenSearch error body (root cause first), or ``str(body)``."""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, str):
            return err
        if isinstance(err, Mapping):
            causes = err.get("root_cause")
            if isinstance(causes, list) and causes and isinstance(causes[0], Mapping) and causes[0].get("reason"):
                return str(causes[0]["reason"])
            if err.get("reason"):
                return str(err["reason"])
            caused = err.get("caused_by")
            if isinstance(caused, Mapping) and caused.get("reason"):
                return str(caused["reason"])
        if body.get("message"):
            return str(body["message"])
    if body is None or body == "":
        return "no error message in the response"
    return str(body)


_NOT_ENOUGH = (
    "not enough data to train model",
    "no data in the detection date range",
    "insufficient data for preview",
    "no document is found in the indices",
)
_THROTTLED = ("request throttled", "exceed max historical analysis limit", "not enough memory", "overloaded")
_RUNNING = ("already running", "job is running", "historical is running", "detector job is running", "is running: ")
_NOT_FOUND = ("can't find config with id", "can't find detector with id", "fail to find detector", "not found")


def classify(status: int | None, body: Any, *, operation: str = "") -> ADError:
    """The typed error for an AD response with ``status`` and ``body`` (a dict, a string or None)."""
    reason = error_reason(body)
    low = reason.lower()
    kwargs: dict[str, Any] = {"status": status, "body": body, "operation": operation}
    if "no handler found for uri" in low:
        return ADPluginMissing(
            f"{reason} — this OpenSearch has no Anomaly Detection plugin; use the local engine "
            "(WAFAD_DETECTOR_ENGINE=local)",
            **kwargs,
        )
    if "functionality is disabled" in low or "plugin is disabled" in low:
        return ADDisabledError(reason, **kwargs)
    if status == 409 or "as it's already used by another detector" in low:
        return DetectorNameConflict(reason, **kwargs)
    if any(s in low for s in _RUNNING):
        return JobRunningError(reason, **kwargs)
    if any(s in low for s in _NOT_ENOUGH):
        return NotEnoughDataError(reason, **kwargs)
    if status == 429 or any(s in low for s in _THROTTLED):
        return ADThrottled(reason, **kwargs)
    if status == 404 or any(s in low for s in _NOT_FOUND):
        return DetectorNotFound(reason, **kwargs)
    if status is not None and status >= 500:
        return ADServerError(reason, **kwargs)
    if status is None or 400 <= status < 500:
        return ADValidationError(reason, **kwargs)
    return ADError(reason, **kwargs)
