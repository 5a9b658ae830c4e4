"""Progress for long stages: a Prefect progress artifact plus a log line every 10 %."""

from __future__ import annotations

import time

from prefect import get_run_logger


class ProgressReporter:
    """Callable ``(done, total)`` for the parts' ``progress=`` hooks; throttled to about one update a second."""

    def __init__(self, name: str, description: str, min_interval_s: float = 1.0) -> None:
        from prefect.artifacts import create_progress_artifact

        self.name = name
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._last_decile = -1
        self.done = 0
        self.total = 0
        self._artifact_id = create_progress_artifact(0.0, description=description)

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if now - self._last < self.min_interval_s and done < total:
            return
        self._last = now
        pct = 100.0 * done / total if total else 100.0
        self._update(pct)
        decile = int(pct // 10)
        if decile != self._last_decile:
            self._last_decile = decile
            get_run_logger().info("%s: %s / %s (%.0f %%)", self.name, f"{done:,}", f"{total:,}", pct)

    def _update(self, pct: float) -> None:
        from prefect.artifacts import update_progress_artifact

        if self._artifact_id is not None:
            update_progress_artifact(self._artifact_id, min(100.0, pct))

    def finish(self) -> None:
        self._update(100.0)
