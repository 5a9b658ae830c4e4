"""Importing the saved objects into OpenSearch Dashboards over HTTP, and ``ensure_saved_objects`` for
ensure-infrastructure (write the ndjson under ``state_dir``, import it where Dashboards runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboard.dashboards_objects.build import render_saved_objects, to_ndjson, write_saved_objects
from wafad.settings import Settings


class SavedObjectsError(RuntimeError):
    """The import failed; the message carries OpenSearch Dashboards' errors."""


def _auth(settings: Settings) -> Any:
    if settings.opensearch_auth == "basic" and settings.opensearch_password is not None:
        return (settings.opensearch_username, settings.opensearch_password.get_secret_value())
    if settings.opensearch_auth == "sigv4":
        from opensearchpy import RequestsAWSV4SignerAuth

        from wafad.clients import boto_session

        creds = boto_session(settings).get_credentials()
        if creds is None:
            raise SavedObjectsError("WAFAD_OPENSEARCH_AUTH=sigv4 but boto3 found no AWS credentials")
        return RequestsAWSV4SignerAuth(creds, settings.aws_region, settings.opensearch_sigv4_service)
    return None


def import_saved_objects(settings: Settings, dashboards_url: str, *, timeout_s: float = 60.0) -> dict[str, Any]:
    """Import (overwrite) the saved objects into OpenSearch Dashboards at ``dashboards_url``.

    ``dashboards_url`` is the Dashboards base URL (e.g. ``https://<domain>/_dashboards`` on Amazon OpenSearch
    Service). Authentication follows the OpenSearch settings (basic or SigV4). Returns Dashboards' answer
    (``successCount`` …); raises :class:`SavedObjectsError` when it reports errors.
    """
    import requests

    body = to_ndjson(render_saved_objects(settings)).encode("utf-8")
    url = dashboards_url.rstrip("/") + "/api/saved_objects/_import"
    try:
        resp = requests.post(
            url,
            params={"overwrite": "true"},
            headers={"osd-xsrf": "true"},
            files={"file": ("wafad.ndjson", body, "application/ndjson")},
            auth=_auth(settings),
            timeout=timeout_s,
            verify=settings.opensearch_verify_certs,
        )
    except requests.RequestException as exc:
        raise SavedObjectsError(f"cannot reach OpenSearch Dashboards at {url}: {exc}") from exc
    if resp.status_code >= 400:
        raise SavedObjectsError(f"import into {url} failed: HTTP {resp.status_code}: {resp.text[:500]}")
    try:
        result = resp.json()
    except ValueError:
        raise SavedObjectsError(f"import into {url}: answer is not JSON: {resp.text[:200]}") from None
    if not result.get("success", False):
        raise SavedObjectsError(f"import into {url} reported errors: {json.dumps(result.get('errors'))[:1000]}")
    return result


def dashboards_url_for(settings: Settings) -> str | None:
    """Where OpenSearch Dashboards is: ``WAFAD_OPENSEARCH_DASHBOARDS_URL`` if set, else ``<domain>/_dashboards`` on
    Amazon OpenSearch Service; None locally (osmem has no Dashboards)."""
    import os

    explicit = os.environ.get("WAFAD_OPENSEARCH_DASHBOARDS_URL")
    if explicit:
        return explicit
    if settings.is_local or not settings.opensearch_url:
        return None
    return settings.opensearch_url.rstrip("/") + "/_dashboards"


def ensure_saved_objects(settings: Settings, dashboards_url: str | None = None) -> dict[str, Any]:
    """For ``ensure-infrastructure``: write the ndjson under ``state_dir`` and import it where Dashboards runs.

    Returns ``{"file": path, "imported": n}`` or ``{"file": path, "skipped": reason}`` (local target).
    """
    path = write_saved_objects(settings, Path(settings.state_dir) / "opensearch-dashboards" / "wafad.ndjson")
    url = dashboards_url or dashboards_url_for(settings)
    if url is None:
        return {"file": str(path), "skipped": "no OpenSearch Dashboards on the local target (import the file by hand)"}
    result = import_saved_objects(settings, url)
    return {"file": str(path), "imported": int(result.get("successCount", 0)), "url": url}
