"""The reporting period (``[start, end)``, UTC) and the period of the same length one week earlier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

WEEK = timedelta(days=7)


class PeriodError(ValueError):
    """The period is empty or inverted."""


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise PeriodError("the period needs timezone-aware times")
        if self.end <= self.start:
            raise PeriodError(f"empty period: end ({iso(self.end)}) must be after start ({iso(self.start)})")

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    def contains_ms(self, t_ms: int | None) -> bool:
        return t_ms is not None and self.start_ms <= t_ms < self.end_ms

    def week_before(self) -> Period:
        return Period(self.start - WEEK, self.end - WEEK)

    @property
    def label(self) -> str:
        """``2026-07-01 09:00 – 10:00 UTC`` (the end's date too when it differs)."""
        start, end = self.start.astimezone(UTC), self.end.astimezone(UTC)
        tail = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M")
        return f"{start:%Y-%m-%d %H:%M} – {tail} UTC"


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
