"""The shape of normal traffic over time: the daily curve, weekday/weekend, ordinary bursts and ingest gaps.

:class:`TrafficShape` multiplies the scenario's mean rate per second. None of it is an anomaly: a marketing
:class:`Burst` adds requests with the ordinary mix (every field keeps its normal distribution), and a :class:`Gap`
is a span whose records never arrive (an ingest outage: the seconds produce no records at all). Both are reported
next to the labels (``shape_labels``) so an evaluation can tell them apart from attacks.

The default shape is today's gentle diurnal curve (:func:`simulator.profile.diurnal`) and nothing else, so a
scenario without a shape produces exactly the bytes it always did.

>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2024, 5, 4, 12, tzinfo=UTC)  # a Saturday
>>> shape = TrafficShape(weekend_factor=0.5, bursts=(Burst(t0, t0 + timedelta(hours=1), 3.0),))
>>> round(float(shape.multiplier(np.array([t0.timestamp() + 1800]))[0] / diurnal(t0.timestamp() + 1800)), 3)
1.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from simulator.profile import DIURNAL_AMPLITUDE, DIURNAL_PEAK_HOUR, diurnal


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _iso(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Burst:
    """Ordinary traffic ``factor`` times its rate in ``[start, end)``, ramping up and down over ``ramp``."""

    start: datetime
    end: datetime
    factor: float
    ramp: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start))
        object.__setattr__(self, "end", _utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"burst end {_iso(self.end)} is not after its start {_iso(self.start)}")
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise ValueError(f"burst factor must be a positive number, got {self.factor}")
        if self.ramp < timedelta(0):
            raise ValueError(f"burst ramp must not be negative, got {self.ramp}")

    def multiplier(self, sec: np.ndarray) -> np.ndarray:
        """Per second: 1 outside, ``factor`` on the plateau, linear in between (trapezoid)."""
        s, e = self.start.timestamp(), self.end.timestamp()
        ramp = min(self.ramp.total_seconds(), (e - s) / 2)
        if ramp <= 0:
            weight = ((sec >= s) & (sec < e)).astype(np.float64)
        else:
            weight = np.clip(np.minimum(sec - s, e - sec) / ramp, 0.0, 1.0)
        return 1.0 + (self.factor - 1.0) * weight

    def label(self) -> dict[str, Any]:
        return {"kind": "burst", "start": _iso(self.start), "end": _iso(self.end), "factor": self.factor}


@dataclass(frozen=True)
class Gap:
    """An ingest gap: no record with a time in ``[start, end)`` is produced."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start))
        object.__setattr__(self, "end", _utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"gap end {_iso(self.end)} is not after its start {_iso(self.start)}")

    def label(self) -> dict[str, Any]:
        return {"kind": "gap", "start": _iso(self.start), "end": _iso(self.end)}


@dataclass(frozen=True)
class TrafficShape:
    """Rate multiplier over time: diurnal curve x weekday/weekend x bursts; gaps silence whole seconds.

    ``weekend_factor`` scales Saturday and Sunday (UTC), blended over ``weekend_ramp_hours`` around midnight so
    the change is as gradual as real traffic's.
    """

    diurnal_amplitude: float = DIURNAL_AMPLITUDE
    peak_hour: float = DIURNAL_PEAK_HOUR
    weekend_factor: float = 1.0
    weekend_ramp_hours: float = 4.0
    bursts: tuple[Burst, ...] = ()
    gaps: tuple[Gap, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "bursts", tuple(self.bursts))
        object.__setattr__(self, "gaps", tuple(self.gaps))
        if not 0 <= self.diurnal_amplitude < 1:
            raise ValueError(f"diurnal amplitude must be in [0, 1), got {self.diurnal_amplitude}")
        if not (math.isfinite(self.weekend_factor) and self.weekend_factor > 0):
            raise ValueError(f"weekend factor must be a positive number, got {self.weekend_factor}")
        if self.weekend_ramp_hours < 0:
            raise ValueError(f"weekend ramp must not be negative, got {self.weekend_ramp_hours}")

    def weekend_weight(self, sec: np.ndarray) -> np.ndarray:
        """0 on weekdays, 1 on Saturday/Sunday (UTC), linear across ``weekend_ramp_hours`` around midnight."""
        days = np.asarray(sec, dtype=np.float64) / 86400.0
        weekday = (np.floor(days).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3)
        inside = (weekday >= 5).astype(np.float64)
        half = self.weekend_ramp_hours / 48.0  # half the ramp, in days
        if half <= 0:
            return inside
        frac = days - np.floor(days)
        # near a midnight, blend the two days linearly: weight = mix of yesterday's and today's membership
        prev = ((weekday + 6) % 7 >= 5).astype(np.float64)
        nxt = ((weekday + 1) % 7 >= 5).astype(np.float64)
        after_midnight = frac < half
        before_midnight = frac > 1 - half
        w = inside.copy()
        t = (frac[after_midnight] + half) / (2 * half)
        w[after_midnight] = prev[after_midnight] * (1 - t) + inside[after_midnight] * t
        t = (frac[before_midnight] - (1 - half)) / (2 * half)
        w[before_midnight] = inside[before_midnight] * (1 - t) + nxt[before_midnight] * t
        return w

    def multiplier(self, sec: np.ndarray) -> np.ndarray:
        """The rate multiplier at epoch seconds ``sec`` (gaps are not applied here: see :meth:`silent`)."""
        if self.diurnal_amplitude == DIURNAL_AMPLITUDE and self.peak_hour == DIURNAL_PEAK_HOUR:
            mult = np.asarray(diurnal(sec), dtype=np.float64)  # the default curve, bit for bit
        else:
            mult = np.asarray(diurnal(sec, self.diurnal_amplitude, self.peak_hour), dtype=np.float64)
        if self.weekend_factor != 1.0:
            mult = mult * (1.0 + (self.weekend_factor - 1.0) * self.weekend_weight(sec))
        for burst in self.bursts:
            mult = mult * burst.multiplier(np.asarray(sec, dtype=np.float64))
        return mult

    def silent(self, sec: np.ndarray) -> np.ndarray:
        """True for the seconds inside an ingest gap."""
        out = np.zeros(len(sec), dtype=bool)
        for gap in self.gaps:
            out |= (sec >= gap.start.timestamp()) & (sec < gap.end.timestamp())
        return out

    def labels(self) -> list[dict[str, Any]]:
        """Bursts and gaps (``{"kind", "start", "end"[, "factor"]}``), in start order: not anomalies."""
        items = [*self.bursts, *self.gaps]
        return [x.label() for x in sorted(items, key=lambda x: x.start)]
