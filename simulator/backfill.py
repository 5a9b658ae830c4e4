"""Backfill: a whole scenario window at full speed, one gzip object per 5-minute block (:func:`simulate`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from simulator.anomalies import AnomalyPlan
from simulator.render import Renderer
from simulator.scenario import Scenario
from simulator.traffic import BLOCK_SECONDS, TrafficModel
from simulator.world import WEBACL_NAME, World, build_world
from simulator.writer import LocalSink, ObjectWriter, S3Sink, key_hash, object_key, parse_out


@dataclass
class SimulationSummary:
    """What a run wrote: record count, object locations (paths, or ``s3://bucket/key``) and ground-truth labels."""

    records: int
    objects: list[str]
    labels: list[dict[str, Any]] = field(default_factory=list)


def _account_region() -> tuple[str, str]:
    from wafad.settings import get_settings

    s = get_settings()
    return s.aws_account_id, s.aws_region


@lru_cache(maxsize=4)
def world_and_renderer(seed: int, account: str, region: str, webacl: str) -> tuple[World, Renderer]:
    """The (immutable) world and its pre-rendered tables, cached: building them takes a moment."""
    world = build_world(seed, account, region, webacl)
    return world, Renderer(world)


def model_for(scenario: Scenario, account: str, region: str, webacl: str = WEBACL_NAME) -> TrafficModel:
    world, renderer = world_and_renderer(scenario.seed, account, region, webacl)
    plan = AnomalyPlan.from_anomalies(scenario.anomalies)
    return TrafficModel(world, renderer, plan, scenario.rate, scenario.seed, scenario.shape)


def window_seconds(scenario: Scenario) -> tuple[int, int]:
    """The run as whole epoch seconds ``[lo, hi)`` (sub-second parts of start and end are dropped)."""
    lo = int(scenario.start.timestamp())
    return lo, lo + int(scenario.duration.total_seconds())


def blocks(lo: int, hi: int) -> list[int]:
    """Starts (epoch s) of the 5-minute blocks, aligned to the clock like WAF's files, covering ``[lo, hi)``."""
    first = lo - lo % BLOCK_SECONDS
    return list(range(first, hi, BLOCK_SECONDS))


def write_labels(path: Path, labels: list[dict[str, Any]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(labels, indent=2) + "\n")


def simulate(
    scenario: Scenario,
    out: str,
    *,
    s3_client: Any = None,
    labels_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    account: str | None = None,
    region: str | None = None,
    webacl: str = WEBACL_NAME,
) -> SimulationSummary:
    """Write the scenario's records to ``out`` (a folder or ``s3://bucket/prefix``), block by block.

    ``progress(done_blocks, total_blocks)`` is called after each 5-minute block. Account and region default to the
    settings' ``aws_account_id`` / ``aws_region``. For S3 without ``s3_client`` one is made from the settings.
    Labels (ground truth, also in the summary) are written to ``labels_path`` first, when given.
    """
    if account is None or region is None:
        acc, reg = _account_region()
        account, region = account or acc, region or reg
    kind, bucket, prefix = parse_out(str(out))
    if kind == "s3":
        if s3_client is None:
            from wafad.clients import aws_client
            from wafad.settings import get_settings

            s3_client = aws_client("s3", get_settings())
        sink: LocalSink | S3Sink = S3Sink(s3_client, bucket)  # type: ignore[arg-type]
    else:
        sink = LocalSink(prefix)
        prefix = ""
    labels = scenario.labels()
    if labels_path is not None:
        write_labels(labels_path, labels)
    model = model_for(scenario, account, region, webacl)
    lo, hi = window_seconds(scenario)
    starts = blocks(lo, hi)
    total = 0
    objects: list[str] = []
    for n, block_start in enumerate(starts, 1):
        when = datetime.fromtimestamp(block_start, UTC)

        def key_for(part: int, when: datetime = when, block_start: int = block_start) -> str:
            return object_key(account, region, webacl, when, key_hash(scenario.seed, webacl, block_start, part), prefix)

        writer = ObjectWriter(sink, key_for)
        try:
            for count, data in model.block_chunks(block_start, lo, hi):
                total += count
                writer.write(data)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        objects += writer.objects
        if progress is not None:
            progress(n, len(starts))
    return SimulationSummary(records=total, objects=objects, labels=labels)
