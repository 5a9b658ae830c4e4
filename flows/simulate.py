"""``simulate``: live simulation on a schedule — the last ``minutes`` of traffic, written to S3 and (locally) pumped
through the relay and the local Firehose, since moto runs neither the S3 trigger nor Firehose.

``anomaly`` is the toggle: ``"httpStatus"`` or ``"httpStatus[x8]"`` makes the whole slice anomalous in that field.
The seed derives from the slot, so re-running a slot writes the same records.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import flow, get_run_logger

from flows.common import exported, floor_minutes, md_table, scheduled_time
from tasks.ingest import deliver_task, relay_task
from tasks.simulate import simulate_task
from wafad.settings import get_settings


def anomaly_spec(toggle: str | None, minutes: int) -> list[str]:
    """``"httpStatus[x8]"`` → ``["httpStatus@0m+5m[x8]"]`` (the whole slice); None or "" → no anomaly."""
    if not toggle:
        return []
    name, _, rest = toggle.partition("[")
    return [f"{name.strip()}@0m+{minutes}m" + (f"[{rest}" if rest else "")]


@flow(name="simulate", log_prints=True)
def simulate_flow(
    minutes: int = 1, rate: float = 4.0, anomaly: str | None = None, ingest: bool = True
) -> dict[str, Any]:
    """Simulate the ``minutes`` before the scheduled slot; locally also relay and deliver them."""
    from prefect.artifacts import create_markdown_artifact

    settings = get_settings()
    end = floor_minutes(scheduled_time(), 1)
    start = end - timedelta(minutes=minutes)
    seed = int(start.timestamp()) // 60
    logger = get_run_logger()
    with exported(settings):
        sim = simulate_task(settings, start, end - start, rate, anomaly_spec(anomaly, minutes), seed)
        out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(), "records": sim["records"]}
        out["objects"] = len(sim["objects"])
        out["labels"] = sim["labels"]
        if ingest and settings.is_local:
            out["relay"] = relay_task(settings)
            out["delivery"] = deliver_task(settings)
    d = out.get("delivery", {})
    logger.info("simulated %d records %s..%s (anomaly: %s)", sim["records"], start, end, anomaly or "none")
    create_markdown_artifact(
        key="simulate-summary",
        markdown=f"# simulate {start:%H:%M}–{end:%H:%M} UTC\n\n"
        + md_table(
            ["records", "objects", "anomaly", "delivered", "indexed", "set aside"],
            [
                [
                    sim["records"],
                    len(sim["objects"]),
                    anomaly or "none",
                    d.get("read", "-"),
                    d.get("indexed", "-"),
                    (d.get("dropped", 0) + d.get("processing_failed", 0) + d.get("index_failed", 0)) if d else "-",
                ]
            ],
        ),
        description="Records simulated and ingested in this run",
    )
    return out
