"""A scenario's raw WAF records in memory, 5-minute block by block: the simulator's own bytes, parsed.

No folder, no S3, no ingest: the blocks the backfill would write (:func:`simulator.backfill.simulate`) are drawn
by the same :class:`simulator.traffic.TrafficModel` and parsed back from their JSON lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from simulator.backfill import blocks, model_for, window_seconds
from simulator.scenario import Scenario


def block_count(scenario: Scenario) -> int:
    return len(blocks(*window_seconds(scenario)))


def scenario_records(scenario: Scenario, *, account: str, region: str) -> Iterator[list[dict[str, Any]]]:
    """The records of each 5-minute block in time order (a block's list is fresh: keep or drop it)."""
    model = model_for(scenario, account, region)
    lo, hi = window_seconds(scenario)
    for block_start in blocks(lo, hi):
        out: list[dict[str, Any]] = []
        for _count, data in model.block_chunks(block_start, lo, hi):
            out.extend(orjson.loads(line) for line in bytes(data).splitlines() if line)
        yield out
