"""The AD plugin's REST plumbing: every call goes through ``os_client.transport.perform_request``, and errors,
including the HTTP 200 error envelopes AD answers with (e.g. "already running"), become the typed exceptions of
:mod:`detectors.errors`. The API methods are in :mod:`detectors.ad_results_api` and :mod:`detectors.ad_client`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detectors.errors import ADConnectionError, classify

AD_BASE = "/_plugins/_anomaly_detection/detectors"


def _is_error_envelope(response: Any) -> bool:
    """An OpenSearch error envelope (``{"error": {...}, "status": N}``), as opposed to e.g. a profile's
    ``"error": "<text>"`` field."""
    if not isinstance(response, Mapping) or "error" not in response:
        return False
    return isinstance(response["error"], Mapping) or ("status" in response and "state" not in response)


class ADTransport:
    """Requests to the AD plugin's REST API over an ``opensearchpy.OpenSearch`` client."""

    def __init__(self, os_client: Any, *, base: str = AD_BASE) -> None:
        self.os = os_client
        self.base = base.rstrip("/")

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
