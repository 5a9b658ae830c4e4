"""Feature series of a detector over consecutive intervals, and the interval grids AD scores.

:class:`FeatureSeries` is the one result type of :mod:`offline_rcf.feature_queries` (OpenSearch) and
:mod:`offline_rcf.record_features` (raw records). Grids (:func:`interval_grid`): ``aligned="epoch"`` —
historical analysis, buckets ``t - t % interval`` between the floored start and end; ``aligned="job"`` — real
time, execution windows ``start + k·interval`` (the job's schedule) shifted back by the window delay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

Aligned = Literal["epoch", "job"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class FeatureSeries:
    """Feature vectors of one detector (and entity) over consecutive intervals; NaN = no data."""

    data_start: np.ndarray  # int64 epoch ms
    data_end: np.ndarray  # int64 epoch ms
    values: np.ndarray  # float64 (n, n_features)
    feature_names: list[str]
    entity: dict[str, str] | None = None
    doc_count: np.ndarray | None = field(default=None)  # int64 documents per interval (0: empty / absent)

    def __post_init__(self) -> None:
        self.data_start = np.asarray(self.data_start, dtype=np.int64)
        self.data_end = np.asarray(self.data_end, dtype=np.int64)
        self.values = np.asarray(self.values, dtype=np.float64).reshape(len(self.data_start), len(self.feature_names))
        if self.doc_count is not None:
            self.doc_count = np.asarray(self.doc_count, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_start)

    @property
    def complete(self) -> np.ndarray:
        """Rows without NaN: the intervals a detector without imputation scores."""
        return ~np.isnan(self.values).any(axis=1)

    @property
    def data_end_seconds(self) -> np.ndarray:
        """TRCF timestamps: data_end in epoch seconds, as AD passes them."""
        return self.data_end // 1000

    def rows(self) -> Iterator[tuple[int, int, np.ndarray]]:
        for i in range(len(self)):
            yield int(self.data_start[i]), int(self.data_end[i]), self.values[i]

    def select(self, mask: np.ndarray) -> FeatureSeries:
        return FeatureSeries(
            self.data_start[mask],
            self.data_end[mask],
            self.values[mask],
            list(self.feature_names),
            self.entity,
            None if self.doc_count is None else self.doc_count[mask],
        )


def to_epoch_ms(t: datetime | int | float | str) -> int:
    """Epoch milliseconds from a datetime (naive = UTC), an ISO-8601 string or epoch ms."""
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return (t - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(t, str):
        return to_epoch_ms(datetime.fromisoformat(t.replace("Z", "+00:00")))
    if isinstance(t, bool):
        raise TypeError(f"not a time: {t!r}")
    return int(t)


def interval_ms(interval: timedelta | int) -> int:
    ms = int(interval.total_seconds() * 1000) if isinstance(interval, timedelta) else int(interval)
    if ms <= 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    return ms


def interval_grid(
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
) -> tuple[np.ndarray, np.ndarray]:
    """(data_start, data_end) in epoch ms of the intervals AD scores between ``start`` and ``end``.

    ``epoch``: historical analysis; buckets ``t - t % interval`` from floor(start) to floor(end) (AD's batch
    task has no window delay, so ``window_delay`` is not applied). ``job``: real time; the job fires at
    ``start + k·interval`` for every execution window [start + k·iv, start + (k+1)·iv) ending by ``end``,
    and queries that window shifted back by ``window_delay``.

    >>> s, e = interval_grid(90_000, 300_000, timedelta(minutes=1))
    >>> s.tolist(), e.tolist()
    ([60000, 120000, 180000, 240000], [120000, 180000, 240000, 300000])
    >>> s, e = interval_grid(90_000, 300_000, timedelta(minutes=1), aligned="job", window_delay=timedelta(minutes=2))
    >>> s.tolist()
    [-30000, 30000, 90000]
    """
    iv = interval_ms(interval)
    s_ms, e_ms = to_epoch_ms(start), to_epoch_ms(end)
    if e_ms < s_ms:
        raise ValueError(f"end {end} is before start {start}")
    if aligned == "epoch":
        first, last = s_ms - s_ms % iv, e_ms - e_ms % iv
        starts = np.arange(first, last, iv, dtype=np.int64)
    elif aligned == "job":
        n = (e_ms - s_ms) // iv
        starts = s_ms + iv * np.arange(n, dtype=np.int64) - int(window_delay.total_seconds() * 1000)
    else:
        raise ValueError(f"aligned must be 'epoch' or 'job', got {aligned!r}")
    return starts, starts + iv
