"""What to simulate: :class:`Scenario`, :class:`Anomaly`, the ``--anomaly`` spec parser and ground-truth labels.

An anomaly spec is ``FIELD@OFFSET+DURATION[xINTENSITY]``, e.g. ``httpStatus@20m+10m[x5]``: field ``httpStatus``,
starting 20 minutes after the scenario start, lasting 10 minutes, intensity 5. ``OFFSET`` may also be an absolute
ISO-8601 UTC time (``country@2024-05-01T10:20:00Z+15m``). Durations are ``90s``, ``10m``, ``1h30m``, ``2d`` (or
``HH:MM[:SS]``). The ``[xK]`` part is optional (default :data:`DEFAULT_INTENSITY`).

What the intensity means for each field is described in :mod:`simulator.anomalies`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.shape import TrafficShape
from wafad.catalogue import SEED_FIELDS

#: Fields an anomaly can target: the five seed fields, then traffic-shape anomalies.
TRAFFIC_ANOMALIES = ("volume", "ip_flood", "uri_scan")
ANOMALY_FIELDS: tuple[str, ...] = (*SEED_FIELDS, *TRAFFIC_ANOMALIES)
DEFAULT_INTENSITY = 5.0
MAX_INTENSITY = 1000.0


class AnomalySpecError(ValueError):
    """A bad ``--anomaly`` spec or :class:`Anomaly`; the message says what is wrong and what is expected."""


def utc(dt: datetime) -> datetime:
    """``dt`` as an aware UTC datetime (naive datetimes are taken to be UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` (milliseconds only when not zero): the labels' time format."""
    dt = utc(dt)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC) as aware UTC."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        return utc(datetime.fromisoformat(raw))
    except ValueError:
        raise AnomalySpecError(f"not an ISO-8601 time: {text!r} (expected e.g. 2024-05-01T10:00:00Z)") from None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"10m"``, ``"1h30m"``, ``"2d"``, ``"1.5h"`` or ``"HH:MM[:SS]"`` as a timedelta."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+:\d{2}(:\d{2})?", raw):
        parts = [int(p) for p in raw.split(":")]
        h, m, s = ([*parts, 0])[:3]
        return timedelta(hours=h, minutes=m, seconds=s)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not raw or pos != len(raw):
        raise AnomalySpecError(f"not a duration: {text!r} (expected e.g. 90s, 10m, 1h30m, 2d)")
    return timedelta(seconds=total)


@dataclass(frozen=True)
class Anomaly:
    """One injected anomaly: ``field`` misbehaves in ``[start, end)`` with ``intensity`` (see :mod:`.anomalies`)."""

    field: str
    start: datetime
    end: datetime
    intensity: float = DEFAULT_INTENSITY

    def __post_init__(self) -> None:
        if self.field not in ANOMALY_FIELDS:
            raise AnomalySpecError(
                f"unknown anomaly field {self.field!r}; expected one of: {', '.join(ANOMALY_FIELDS)}"
            )
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.end <= self.start:
            raise AnomalySpecError(f"anomaly {self.field}: end {iso(self.end)} is not after start {iso(self.start)}")
        k = float(self.intensity)
        if not math.isfinite(k) or k <= 0 or k > MAX_INTENSITY:
            raise AnomalySpecError(f"anomaly {self.field}: intensity must be in (0, {MAX_INTENSITY:g}], got {k}")
        if self.field == "ip_flood" and k <= 1:
            raise AnomalySpecError(f"anomaly ip_flood: intensity must be > 1 (total volume k-fold), got {k}")
        object.__setattr__(self, "intensity", k)

    def label(self) -> dict[str, Any]:
        """The ground-truth label: ``{"field", "start", "end", "intensity"}`` with ISO-8601 UTC times."""
        return {"field": self.field, "start": iso(self.start), "end": iso(self.end), "intensity": self.intensity}

    @classmethod
    def from_label(cls, label: dict[str, Any]) -> Anomaly:
        return cls(
            field=label["field"],
            start=parse_time(label["start"]),
            end=parse_time(label["end"]),
            intensity=float(label.get("intensity", DEFAULT_INTENSITY)),
        )

    def active(self, t: datetime) -> bool:
        return self.start <= utc(t) < self.end


_SPEC = re.compile(r"^(?P<field>[A-Za-z_]+)@(?P<rest>.+?)(?:\[\s*[xX*]?\s*(?P<k>[^\]]*)\])?$")


def parse_anomaly(spec: str, scenario_start: datetime) -> Anomaly:
    """Parse ``FIELD@OFFSET+DURATION[xK]`` (see the module docstring) relative to ``scenario_start``.

    >>> from datetime import datetime, UTC
    >>> a = parse_anomaly("httpStatus@20m+10m[x5]", datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    >>> (a.field, a.start.strftime("%H:%M"), a.end.strftime("%H:%M"), a.intensity)
    ('httpStatus', '10:20', '10:30', 5.0)
    """
    text = spec.strip()
    m = _SPEC.match(text)
    if not m:
        raise AnomalySpecError(
            f"bad anomaly spec {spec!r}: expected FIELD@OFFSET+DURATION[xK], e.g. httpStatus@20m+10m[x5] "
            f"(fields: {', '.join(ANOMALY_FIELDS)})"
        )
    name = m.group("field")
    if name not in ANOMALY_FIELDS:
        raise AnomalySpecError(
            f"bad anomaly spec {spec!r}: unknown field {name!r}; expected one of: {', '.join(ANOMALY_FIELDS)}"
        )
    at, plus, dur = m.group("rest").rpartition("+")
    if not plus or not at:
        raise AnomalySpecError(f"bad anomaly spec {spec!r}: missing +DURATION after the start (e.g. @20m+10m)")
    try:
        start = parse_time(at) if "T" in at or "-" in at else utc(scenario_start) + parse_duration(at)
        duration = parse_duration(dur)
    except AnomalySpecError as exc:
        raise AnomalySpecError(f"bad anomaly spec {spec!r}: {exc}") from None
    if duration <= timedelta(0):
        raise AnomalySpecError(f"bad anomaly spec {spec!r}: duration must be positive")
    k_text = m.group("k")
    if k_text is None:
        k = DEFAULT_INTENSITY
    else:
        try:
            k = float(k_text)
        except ValueError:
            raise AnomalySpecError(
                f"bad anomaly spec {spec!r}: intensity {k_text!r} is not a number (e.g. [x5])"
            ) from None
    try:
        return Anomaly(name, start, start + duration, k)
    except AnomalySpecError as exc:
        raise AnomalySpecError(f"bad anomaly spec {spec!r}: {exc}") from None


@dataclass(frozen=True)
class Scenario:
    """A simulation run: ``rate`` is the mean requests/s of normal traffic (before the diurnal curve).

    ``shape`` is normal traffic over time (:class:`simulator.shape.TrafficShape`: daily curve, weekends,
    ordinary bursts, ingest gaps); its bursts and gaps are not anomalies and are not in :meth:`labels`."""

    start: datetime
    duration: timedelta
    rate: float
    anomalies: list[Anomaly] = field(default_factory=list)
    seed: int = 0
    shape: TrafficShape = field(default_factory=TrafficShape)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "anomalies", list(self.anomalies))
        if self.duration <= timedelta(0):
            raise ValueError(f"scenario duration must be positive, got {self.duration}")
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"scenario rate must be a positive number of requests/s, got {self.rate}")
        if not 0 <= int(self.seed) < 2**63:
            raise ValueError(f"seed must be a non-negative integer below 2**63, got {self.seed}")

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    def labels(self) -> list[dict[str, Any]]:
        """Ground truth for the anomalies that overlap the run, clipped to it, in start order."""
        out = []
        for a in sorted(self.anomalies, key=lambda a: (a.start, a.field)):
            start, end = max(a.start, self.start), min(a.end, self.end)
            if start < end:
                out.append(Anomaly(a.field, start, end, a.intensity).label())
        return out


def scenario_from_options(
    start: str | None,
    duration: str,
    rate: float,
    anomalies: Sequence[str] = (),
    seed: int = 0,
    *,
    live: bool = False,
    now: datetime | None = None,
) -> Scenario:
    """The scenario ``wafad simulate`` describes; :class:`AnomalySpecError` names the option that is wrong.

    Without ``start``, a backfill ends ``now`` and a live run starts then.

    >>> s = scenario_from_options(None, "10m", 2, ["httpStatus@2m+3m[x5]"], now=datetime(2024, 5, 1, 10, tzinfo=UTC))
    >>> iso(s.start), s.anomalies[0].label()["start"]
    ('2024-05-01T09:50:00Z', '2024-05-01T09:52:00Z')
    """
    try:
        length = parse_duration(duration)
    except AnomalySpecError as exc:
        raise AnomalySpecError(f"--duration: {exc}") from None
    if length <= timedelta(0):
        raise AnomalySpecError("--duration must be positive")
    if rate <= 0:
        raise AnomalySpecError("--rate must be a positive number of requests per second")
    now = now or datetime.now(UTC).replace(microsecond=0)
    try:
        begin = parse_time(start) if start else (now if live else now - length)
    except AnomalySpecError as exc:
        raise AnomalySpecError(f"--start: {exc}") from None
    return Scenario(begin, length, rate, [parse_anomaly(spec, begin) for spec in anomalies], seed)
