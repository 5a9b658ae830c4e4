"""``ensure-infrastructure``: every resource the pipeline needs, created or left alone (idempotent).

A second run changes nothing and says so in its markdown artifact.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.common import exported, md_table
from tasks.infrastructure import (
    ensure_alerting_task,
    ensure_concurrency_limits_task,
    ensure_dashboards_task,
    ensure_detectors_task,
    ensure_ingest_task,
)
from wafad.settings import Settings, get_settings

CHANGE_WORDS = ("created", "updated", "changed", "replaced", "configured", "put", "deleted", "recreated")


def _changes(result: dict[str, Any]) -> dict[str, Any]:
    """What a part's ensure_* reported as changed: values like ``created``/``updated ...`` (``exists`` is not)."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in _changes(value).items()})
        elif isinstance(value, str) and value.lower().startswith(CHANGE_WORDS):
            out[key] = value
        elif value is True:
            out[key] = "changed"
    return out


def ensure_infrastructure(
    settings: Settings, *, detectors: bool = True, dashboards: bool = True
) -> dict[str, dict[str, Any]]:
    """Run every ensure step; return ``{component: what it reported}``."""
    out: dict[str, dict[str, Any]] = {}
    with exported(settings):
        out["ingest"] = ensure_ingest_task(settings)
        out["alerting"] = ensure_alerting_task(settings)
        if detectors:
            out["detectors"] = ensure_detectors_task(settings)
        if dashboards:
            out["dashboards"] = ensure_dashboards_task(settings)
    return out


@flow(name="ensure-infrastructure", log_prints=True)
def ensure_infrastructure_flow(
    detectors: bool = True, dashboards: bool = True, concurrency_limits: bool = True
) -> dict[str, Any]:
    """S3 bucket + notification, Kinesis, Firehose, lambdas, IAM, SNS + subscriptions, index template/ISM, detectors."""
    from prefect.artifacts import create_markdown_artifact

    settings = get_settings()
    logger = get_run_logger()
    reported = ensure_infrastructure(settings, detectors=detectors, dashboards=dashboards)
    if concurrency_limits:
        reported["prefect"] = ensure_concurrency_limits_task()
    rows = []
    changed_any = False
    for component, result in reported.items():
        # ensure_alerting returns its topic ARN and queue URL, not a change report
        changes = {} if component == "alerting" else _changes(result)
        changed_any = changed_any or bool(changes)
        rows.append([component, ", ".join(f"{k}: {v}" for k, v in changes.items()) or "nothing changed"])
    verdict = "changed resources" if changed_any else "nothing changed: every resource already existed"
    logger.info("ensure-infrastructure (%s): %s", settings.target, verdict)
    create_markdown_artifact(
        key="ensure-infrastructure",
        markdown=f"# ensure-infrastructure ({settings.target})\n\n**{verdict}**\n\n"
        + md_table(["component", "changes"], rows),
        description="What ensure-infrastructure created or changed",
    )
    return {"target": settings.target, "changed": changed_any, "components": reported}
