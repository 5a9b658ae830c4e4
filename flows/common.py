"""Helpers the flows share: settings for a run, the local stack, stage timings, windows and artifacts."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from wafad.settings import Settings, get_settings

#: Settings fields a Lambda handler or a subprocess reads from the environment (``WAFAD_<NAME>``).
EXPORTED_FIELDS = (
    "target",
    "aws_region",
    "aws_endpoint_url",
    "opensearch_url",
    "bucket",
    "log_prefix",
    "dead_letter_prefix",
    "kinesis_stream",
    "kinesis_shards",
    "firehose_stream",
    "index_prefix",
    "results_index",
    "sns_topic",
    "s3_events_queue",
    "alerts_queue",
    "detector_interval_minutes",
    "window_delay_minutes",
    "shingle_size",
    "state_dir",
    "host",
    "moto_port",
    "osmem_port",
    "prefect_port",
)


def settings_env(settings: Settings) -> dict[str, str]:
    """``WAFAD_*`` variables that reproduce ``settings`` (non-secret fields only)."""
    out: dict[str, str] = {}
    for name in EXPORTED_FIELDS:
        value = getattr(settings, name)
        if value is not None:
            out[f"WAFAD_{name.upper()}"] = str(value.resolve()) if name == "state_dir" else str(value)
    return out


@contextmanager
def exported(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` the process's settings for the block (the Lambda handlers read ``WAFAD_*``)."""
    env = settings_env(settings)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield settings
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def local_services_healthy(settings: Settings) -> bool:
    """moto and osmem answer on the configured ports (whoever started them)."""
    import requests

    checks = ((f"{settings.moto_url}/moto-api/", None), (f"{settings.osmem_url}/", "version"))
    for url, key in checks:
        try:
            resp = requests.get(url, timeout=2)
        except requests.RequestException:
            return False
        if resp.status_code != 200 or (key and key not in resp.json()):
            return False
    return True


def ensure_local_stack(settings: Settings) -> list[str]:
    """Start moto + osmem when the target is local and they are not answering; return what was started."""
    if not settings.is_local or local_services_healthy(settings):
        return []
    from wafad.stack import LocalStack

    said: list[str] = []
    LocalStack(settings).up(on_progress=said.append)
    return [m for m in said if m.startswith("starting")]


class StageTimer:
    """Wall-clock seconds per stage, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + time.perf_counter() - t0, 2)

    @property
    def total(self) -> float:
        return round(sum(self.seconds.values()), 2)


def floor_hour(t: datetime) -> datetime:
    t = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    return t.replace(minute=0, second=0, microsecond=0)


def floor_minutes(t: datetime, minutes: int) -> datetime:
    t = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    return t.replace(minute=t.minute - t.minute % minutes, second=0, microsecond=0)


def scheduled_time() -> datetime:
    """The run's scheduled slot (deployment runs) or now (ad-hoc runs), UTC."""
    from prefect.runtime import flow_run

    t = flow_run.scheduled_start_time
    t = datetime.fromisoformat(t) if isinstance(t, str) else t
    if not isinstance(t, datetime):
        return datetime.now(UTC)
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def hour_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Whole UTC hours covering ``[start, end)``."""
    out = []
    h = floor_hour(start)
    while h < end:
        out.append((h, h + timedelta(hours=1)))
        h += timedelta(hours=1)
    return out


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-markdown table (cells escaped for pipes)."""

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
