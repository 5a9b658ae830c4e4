"""The WAF log simulator: faithful AWS WAF v2 records with exactly known anomalies.

>>> from datetime import datetime, timedelta, UTC
>>> from simulator import Scenario, parse_anomaly, simulate
>>> start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
>>> sc = Scenario(start, timedelta(hours=1), rate=4, anomalies=[parse_anomaly("httpStatus@20m+10m[x5]", start)], seed=7)

``simulate(sc, "out/")`` writes gzip JSON-lines objects in WAF's S3 layout and returns a :class:`SimulationSummary`.
See :mod:`simulator.anomalies` for what an anomaly's intensity means, :mod:`simulator.profile` for normal traffic,
:mod:`simulator.shape` for its shape over time (daily curve, weekends, ordinary bursts, ingest gaps).
"""

from simulator.backfill import SimulationSummary, simulate
from simulator.scenario import (
    ANOMALY_FIELDS,
    DEFAULT_INTENSITY,
    Anomaly,
    AnomalySpecError,
    Scenario,
    parse_anomaly,
    parse_duration,
    parse_time,
)
from simulator.shape import Burst, Gap, TrafficShape

__all__ = [
    "ANOMALY_FIELDS",
    "DEFAULT_INTENSITY",
    "Anomaly",
    "AnomalySpecError",
    "Burst",
    "Gap",
    "Scenario",
    "SimulationSummary",
    "TrafficShape",
    "parse_anomaly",
    "parse_duration",
    "parse_time",
    "simulate",
]
