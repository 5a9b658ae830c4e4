"""The demo's record counts as tasks: S3 lines, searchable documents, and waiting for Firehose to deliver."""

from __future__ import annotations

import time
from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.checks import indexed_count, s3_line_count
from wafad.settings import Settings


@task(name="count-s3-lines", cache_policy=NO_CACHE)
def count_s3_lines_task(settings: Settings, keys: list[str]) -> int:
    return sum(s3_line_count(settings, keys).values())


@task(name="count-indexed", cache_policy=NO_CACHE)
def count_indexed_task(settings: Settings, start: datetime, end: datetime) -> int:
    return indexed_count(settings, start, end)


@task(name="wait-for-indexed", cache_policy=NO_CACHE)
def wait_for_indexed_task(
    settings: Settings, start: datetime, end: datetime, expected: int, timeout_s: float = 900.0
) -> int:
    """Poll the index until ``expected`` documents of the period are searchable (or the timeout); return the count."""
    deadline = time.monotonic() + timeout_s
    count = indexed_count(settings, start, end)
    while count < expected and time.monotonic() < deadline:
        time.sleep(15)
        count = indexed_count(settings, start, end)
    return count
