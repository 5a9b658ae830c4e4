"""Scenario profiles for ``wafad evaluate``: what kind of day to simulate, and each seed's own draw of it.

A :class:`Profile` holds parameters only (rates, window counts, intensity and duration ranges, the traffic shape);
:func:`draw_scenario` turns a profile, a seed and a length into a :class:`simulator.Scenario` whose window times,
fields and intensities come from that seed alone. Ground truth is the simulator's own labels; ordinary bursts and
ingest gaps are the scenario's :class:`simulator.shape.TrafficShape`, not labels.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from simulator.scenario import Anomaly, Scenario
from simulator.shape import Burst, Gap, TrafficShape
from wafad.catalogue import SEED_FIELDS

#: A Monday: each seed starts ``seed % 7`` days after it, so weekends fall on different days of a run.
BASE_START = datetime(2024, 5, 6, tzinfo=UTC)


class ProfileError(ValueError):
    """An unknown profile or an impossible draw; the message says what is known / what to change."""


@dataclass(frozen=True)
class Profile:
    """Parameters of one kind of simulated traffic (no constant is tied to a seed)."""

    name: str
    description: str
    rate: float = 2.0  # mean requests/s of normal traffic
    warmup: timedelta = timedelta(hours=1)  # traffic before the detectors start (no window in it)
    windows_per_day: float = 8.0
    intensity: tuple[float, float] = (6.0, 6.0)
    duration_min: tuple[int, int] = (15, 15)
    fields: tuple[str, ...] = tuple(SEED_FIELDS)
    repeat_after_min: tuple[int, int] | None = None  # a second window on the same field this long after the first
    spacing: timedelta = timedelta(minutes=45)  # quiet time kept after every window, burst or gap
    diurnal_amplitude: float = 0.3
    weekend_factor: float = 1.0
    bursts_per_day: float = 0.0
    burst_factor: tuple[float, float] = (1.5, 2.5)
    burst_duration_min: tuple[int, int] = (30, 90)
    burst_ramp_min: int = 15
    gaps_per_day: float = 0.0
    gap_duration_min: tuple[int, int] = (5, 20)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("demo", "the demo's windows: x6 for 15 minutes after a one-hour warm-up"),
        Profile("subtle", "x2-x4 windows of 10-20 minutes", intensity=(2.0, 4.0), duration_min=(10, 20)),
        Profile(
            "repeats",
            "the same field hit again 1-3 hours after its first window (x3-x5, 10-20 minutes)",
            windows_per_day=4.0,
            intensity=(3.0, 5.0),
            duration_min=(10, 20),
            repeat_after_min=(60, 180),
        ),
        Profile(
            "diurnal",
            "a strong daily curve (+-60 %) and weekends at 60 % of weekday traffic; x3-x5 windows",
            windows_per_day=6.0,
            intensity=(3.0, 5.0),
            duration_min=(10, 20),
            diurnal_amplitude=0.6,
            weekend_factor=0.6,
        ),
        Profile(
            "bursts",
            "ordinary-volume bursts (x1.5-x2.5, 30-90 minutes, same mix: marketing, not attacks); x3-x5 windows",
            windows_per_day=6.0,
            intensity=(3.0, 5.0),
            duration_min=(10, 20),
            bursts_per_day=4.0,
        ),
        Profile(
            "gaps",
            "ingest gaps of 5-20 minutes with no records at all; x3-x5 windows",
            windows_per_day=6.0,
            intensity=(3.0, 5.0),
            duration_min=(10, 20),
            gaps_per_day=3.0,
        ),
    )
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}") from None


@dataclass(frozen=True)
class ScenarioDraw:
    """One seed's scenario, and when its detectors start (after the warm-up)."""

    profile: Profile
    seed: int
    scenario: Scenario
    detector_start: datetime


def _rng(profile: Profile, seed: int) -> np.random.Generator:
    tag = int.from_bytes(hashlib.sha256(profile.name.encode()).digest()[:4], "big")
    return np.random.default_rng([int(seed), tag, 0xE7A1])


def _count(rng: np.random.Generator, per_day: float, days: float) -> int:
    """A whole number of events with mean ``per_day * days`` (the fraction drawn, not rounded away)."""
    mean = per_day * days
    return int(mean) + int(rng.random() < mean - int(mean))


def draw_scenario(
    profile: Profile | str, seed: int, *, days: float = 1.0, start: datetime | None = None
) -> ScenarioDraw:
    """The scenario of ``profile`` for ``seed``: ``days`` of traffic after the warm-up, events in random slots.

    Windows, bursts and gaps are placed one per slot (the run after the warm-up cut into equal slots, the order
    shuffled), each at a random offset that leaves ``spacing`` before the next slot; a repeat follows its first
    window on the same field, inside the same slot.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if not days > 0:
        raise ProfileError(f"--days must be positive, got {days}")
    rng = _rng(prof, seed)
    begin = start or BASE_START + timedelta(days=int(seed) % 7)
    span = timedelta(days=days)
    events: list[str] = []
    n_windows = max(1, _count(rng, prof.windows_per_day, days))
    if prof.repeat_after_min:
        events += ["pair"] * max(1, n_windows // 2)
    else:
        events += ["window"] * n_windows
    events += ["burst"] * _count(rng, prof.bursts_per_day, days) + ["gap"] * _count(rng, prof.gaps_per_day, days)
    events = [events[i] for i in rng.permutation(len(events))]
    slot = span / len(events)
    fields = [prof.fields[i] for i in rng.permutation(len(prof.fields))]
    anomalies: list[Anomaly] = []
    bursts: list[Burst] = []
    gaps: list[Gap] = []
    detector_start = begin + prof.warmup
    hit = 0
    for n, kind in enumerate(events):
        slot_start = detector_start + slot * n
        if kind in ("window", "pair"):
            field, hit = fields[hit % len(fields)], hit + 1
            length = [timedelta(minutes=int(rng.integers(*prof.duration_min, endpoint=True)))]
            if kind == "pair":
                assert prof.repeat_after_min is not None
                length.append(timedelta(minutes=int(rng.integers(*prof.repeat_after_min, endpoint=True))))
                length.append(timedelta(minutes=int(rng.integers(*prof.duration_min, endpoint=True))))
            at = slot_start + _offset(rng, slot, sum(length, timedelta()) + prof.spacing, prof)
            anomalies.append(Anomaly(field, at, at + length[0], float(rng.uniform(*prof.intensity))))
            if kind == "pair":
                again = at + length[0] + length[1]
                anomalies.append(Anomaly(field, again, again + length[2], float(rng.uniform(*prof.intensity))))
        elif kind == "burst":
            length = [timedelta(minutes=int(rng.integers(*prof.burst_duration_min, endpoint=True)))]
            at = slot_start + _offset(rng, slot, length[0] + prof.spacing, prof)
            factor = float(rng.uniform(*prof.burst_factor))
            bursts.append(Burst(at, at + length[0], factor, timedelta(minutes=prof.burst_ramp_min)))
        else:
            length = [timedelta(minutes=int(rng.integers(*prof.gap_duration_min, endpoint=True)))]
            at = slot_start + _offset(rng, slot, length[0] + prof.spacing, prof)
            gaps.append(Gap(at, at + length[0]))
    shape = TrafficShape(
        diurnal_amplitude=prof.diurnal_amplitude,
        weekend_factor=prof.weekend_factor,
        bursts=tuple(bursts),
        gaps=tuple(gaps),
    )
    scenario = Scenario(begin, prof.warmup + span, prof.rate, anomalies, int(seed), shape)
    return ScenarioDraw(prof, int(seed), scenario, detector_start)


def _offset(rng: np.random.Generator, slot: timedelta, needed: timedelta, prof: Profile) -> timedelta:
    room = slot - needed
    if room < timedelta(0):
        raise ProfileError(
            f"profile {prof.name}: {needed} of events does not fit a {slot} slot; simulate more --days or fewer events"
        )
    minutes = int(room.total_seconds() // 60)
    return timedelta(minutes=int(rng.integers(0, minutes, endpoint=True)))
