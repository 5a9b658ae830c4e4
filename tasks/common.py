"""What every stage task shares: retry policy for transient AWS/OpenSearch errors, concurrency names, settings.

Tasks retry with exponential backoff only when the failure is transient (throttling, 5xx, connection reset,
timeout); a bad request, a missing resource or a bug fails at once, so nothing is retried that cannot succeed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wafad.settings import Settings, get_settings

#: Global concurrency limits (created by ``ensure-infrastructure`` and ``wafad serve``).
OPENSEARCH_BULK_LIMIT = "opensearch-bulk"
SNS_PUBLISH_LIMIT = "sns-publish"
BACKFILL_LIMIT = "backfill-window"  # one backfill works on a window at a time
CONCURRENCY_LIMITS: dict[str, int] = {OPENSEARCH_BULK_LIMIT: 1, SNS_PUBLISH_LIMIT: 1, BACKFILL_LIMIT: 1}

TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "KMSThrottlingException",
    }
)
TRANSIENT_HTTP_STATUS = frozenset({429, 500, 502, 503, 504})

RETRIES = 3
RETRY_DELAYS = [2, 8, 30]  # exponential backoff, seconds


def is_transient(exc: BaseException | None) -> bool:
    """True for errors worth retrying: throttling, 5xx, dropped connections, timeouts (AWS or OpenSearch)."""
    if exc is None:
        return False
    import botocore.exceptions as bex
    import opensearchpy.exceptions as oex
    import requests

    if isinstance(exc, bex.ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return err.get("Code") in TRANSIENT_AWS_CODES or status in TRANSIENT_HTTP_STATUS
    if isinstance(
        exc,
        bex.EndpointConnectionError
        | bex.ConnectionClosedError
        | bex.ReadTimeoutError
        | bex.ConnectTimeoutError
        | bex.ProxyConnectionError,
    ):
        return True
    if isinstance(exc, oex.ConnectionError | oex.ConnectionTimeout):
        return True
    if isinstance(exc, oex.TransportError):
        return isinstance(exc.status_code, int) and exc.status_code in TRANSIENT_HTTP_STATUS
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    # an exception raised "from" a transient one (e.g. a part wrapping a boto error) counts too
    return is_transient(exc.__cause__) if exc.__cause__ is not exc else False


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only transient AWS/OpenSearch failures."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as raised:
            exc = raised
    return is_transient(exc)


def retrying() -> dict[str, Any]:
    """Task options for stages that talk to AWS or OpenSearch."""
    return {
        "retries": RETRIES,
        "retry_delay_seconds": RETRY_DELAYS,
        "retry_jitter_factor": 0.2,
        "retry_condition_fn": retry_on_transient,
    }


def settings_or_default(settings: Settings | None) -> Settings:
    return settings if settings is not None else get_settings()


@contextmanager
def limited(name: str, lease_duration: float = 300) -> Iterator[None]:
    """Hold one slot of the concurrency limit ``name`` (every limit here has one slot).

    On the local target (everything on this machine) the slot is an exclusive lock file in the state folder
    (:func:`ingest.locks.exclusive`), which the OS frees the moment its holder dies: a killed run's re-run starts at
    once. A Prefect global concurrency limit would keep a killed holder's slot until its lease expires (the server
    refuses leases under 60 s) and the server's repossessor frees it, and ephemeral Prefect servers (``wafad
    backfill --direct`` with no server running, the test harness) never run the repossessor: there the slot stays
    taken for good and every later run waits forever.

    Elsewhere: the Prefect global concurrency limit ``name`` (a no-op when it was never created), leased and renewed
    while held (every 0.75 x ``lease_duration``); a killed holder's slot frees itself after ``lease_duration`` s.
    """
    settings = get_settings()
    if settings.is_local:
        from ingest.locks import exclusive

        with exclusive(settings, name):
            yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(name, occupy=1, strict=False, lease_duration=lease_duration):
        yield


def ensure_concurrency_limits(limits: dict[str, int] | None = None) -> dict[str, str]:
    """Create the global concurrency limits the tasks use; return what changed (idempotent)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    changed: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for name, limit in (limits or CONCURRENCY_LIMITS).items():
            try:
                client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                try:
                    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
                except ObjectAlreadyExists:  # created by a concurrent run meanwhile
                    continue
                changed[name] = f"created (limit {limit})"
    return changed
