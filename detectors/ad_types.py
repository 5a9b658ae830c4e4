"""The typed shapes the AD REST client returns (:mod:`detectors.ad_client`), and its time argument helper."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ValidationType = Literal["detector", "model"]


def to_epoch_ms(value: datetime | int | float) -> int:
    """Epoch milliseconds from an aware datetime (naive = UTC) or a number already in ms."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return int(value)


@dataclass(frozen=True)
class DetectorRef:
    """A detector found by name, with what an optimistic-concurrency update needs."""

    id: str
    name: str
    seq_no: int | None = None
    primary_term: int | None = None


@dataclass(frozen=True)
class EnsureResult:
    detector_id: str
    name: str
    action: Literal["created", "updated", "unchanged"]
    restarted: bool = False


@dataclass(frozen=True)
class StartResult:
    id: str  # detector id (real-time) or task id (historical)
    already_running: bool = False


@dataclass(frozen=True)
class Profile:
    state: str  # DISABLED | INIT | RUNNING
    error: str | None = None
    init_percentage: float | None = None
    needed_shingles: int | None = None
    estimated_minutes_left: int | None = None
    total_entities: int | None = None
    active_entities: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_response(cls, raw: Mapping[str, Any]) -> Profile:
        """From ``GET detectors/<id>/_profile?_all=true`` (``init_progress.percentage`` may be ``"40%"``)."""
        init = raw.get("init_progress") or {}
        pct = init.get("percentage")
        if isinstance(pct, str):
            pct = float(pct.rstrip("%")) if pct.rstrip("%") else None
        return cls(
            state=str(raw.get("state", "UNKNOWN")),
            error=raw.get("error"),
            init_percentage=float(pct) if pct is not None else None,
            needed_shingles=init.get("needed_shingles"),
            estimated_minutes_left=init.get("estimated_minutes_left"),
            total_entities=raw.get("total_entities"),
            active_entities=raw.get("active_entities"),
            raw=raw,
        )


@dataclass(frozen=True)
class DetectorInfo:
    id: str
    detector: Mapping[str, Any]
    job: Mapping[str, Any] | None
    realtime_task: Mapping[str, Any] | None
    historical_task: Mapping[str, Any] | None
    seq_no: int | None
    primary_term: int | None
    raw: Mapping[str, Any]

    @classmethod
    def from_response(cls, raw: Mapping[str, Any], detector_id: str) -> DetectorInfo:
        """From ``GET detectors/<id>?job=..&task=..``: the real-time task is ``realtime_task`` (2.15+) or
        ``realtime_detection_task`` (<= 2.14)."""
        return cls(
            id=str(raw.get("_id", detector_id)),
            detector=raw.get("anomaly_detector") or {},
            job=raw.get("anomaly_detector_job"),
            realtime_task=raw.get("realtime_task") or raw.get("realtime_detection_task"),
            historical_task=raw.get("historical_analysis_task"),
            seq_no=raw.get("_seq_no"),
            primary_term=raw.get("_primary_term"),
            raw=raw,
        )

    @property
    def job_enabled(self) -> bool:
        return bool(self.job and self.job.get("enabled"))

    @property
    def historical_running(self) -> bool:
        state = (self.historical_task or {}).get("state")
        return state in {"CREATED", "INIT", "RUNNING"}
