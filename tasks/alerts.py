"""Stage 6: alerts from new detector results, published to SNS and read back through the SQS subscription."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.common import SNS_PUBLISH_LIMIT, limited, retrying
from tasks.ingest import report_dict
from wafad.settings import Settings


@task(name="process-alerts", cache_policy=NO_CACHE, **retrying())
def process_alerts_task(settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    from alerting.alerts import process_alerts

    with limited(SNS_PUBLISH_LIMIT):
        sent = [report_dict(m) for m in process_alerts(settings, now=now)]
    get_run_logger().info("sent %d alert(s)", len(sent))
    return sent


@task(name="read-alert-inbox", cache_policy=NO_CACHE, **retrying())
def read_inbox_task(settings: Settings) -> list[dict[str, Any]]:
    from alerting.inbox import read_inbox

    return list(read_inbox(settings))
