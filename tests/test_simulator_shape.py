"""Traffic shape: weekday/weekend, ordinary bursts (more requests, same mix) and ingest gaps, on real records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from simulator import Burst, Gap, Scenario, TrafficShape
from simulator.backfill import blocks, model_for, window_seconds
from simulator.profile import NORMAL_BAD_RATE, diurnal
from wafad.catalogue import indicators

FRIDAY = datetime(2024, 5, 10, tzinfo=UTC)


def records(sc: Scenario) -> list[dict]:
    model = model_for(sc, "123456789012", "eu-west-1")
    lo, hi = window_seconds(sc)
    return [
        orjson.loads(line)
        for b in blocks(lo, hi)
        for _n, d in model.block_chunks(b, lo, hi)
        for line in bytes(d).splitlines()
    ]


def test_default_shape_is_the_plain_diurnal_curve() -> None:
    sec = FRIDAY.timestamp() + np.arange(0, 3 * 86400, 600.0)
    np.testing.assert_array_equal(TrafficShape().multiplier(sec), diurnal(sec))
    weekend = TrafficShape(weekend_factor=0.5).multiplier(sec) / diurnal(sec)
    hours = (sec - FRIDAY.timestamp()) / 3600
    assert np.allclose(weekend[(hours >= 2) & (hours < 22)], 1.0)  # Friday
    assert np.allclose(weekend[(hours >= 26) & (hours < 70)], 0.5)  # Saturday and Sunday
    assert np.all(np.diff(weekend[(hours >= 22) & (hours <= 26)]) <= 0)  # a ramp, not a step, at midnight


def test_gap_silences_its_span_and_nothing_else() -> None:
    start = FRIDAY + timedelta(hours=10)
    gap = Gap(start + timedelta(minutes=20), start + timedelta(minutes=35))
    plain = records(Scenario(start, timedelta(hours=1), 2.0, seed=41))
    gapped = records(Scenario(start, timedelta(hours=1), 2.0, seed=41, shape=TrafficShape(gaps=(gap,))))
    lo, hi = gap.start.timestamp() * 1000, gap.end.timestamp() * 1000
    assert not [r for r in gapped if lo <= r["timestamp"] < hi]
    outside = [r for r in plain if not lo <= r["timestamp"] < hi]
    assert len(outside) < len(plain) and gapped == outside


@pytest.mark.parametrize("factor", [2.0, 3.0])
def test_burst_adds_requests_with_the_ordinary_mix(factor: float) -> None:
    start = FRIDAY + timedelta(hours=12)
    burst = Burst(start + timedelta(minutes=30), start + timedelta(minutes=90), factor, ramp=timedelta(0))
    recs = records(Scenario(start, timedelta(hours=2), 3.0, seed=42, shape=TrafficShape(bursts=(burst,))))
    t = np.array([r["timestamp"] for r in recs])
    inside = (t >= burst.start.timestamp() * 1000) & (t < burst.end.timestamp() * 1000)
    ratio = inside.sum() / (~inside).sum()  # an hour inside vs an hour outside
    assert abs(ratio - factor) < 0.1 * factor
    bad = np.array([list(indicators(r).values()) for r in recs], dtype=float)
    for j, p0 in enumerate(NORMAL_BAD_RATE.values()):
        n = int(inside.sum())
        share = bad[inside, j].mean()
        assert abs(share - p0) < 4 * np.sqrt(p0 * (1 - p0) / n) + 1e-3  # the mix does not move
