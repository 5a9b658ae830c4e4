"""Running a saved query end to end: checking what it needs, filling it in, running it over ``waf_logs`` and, for
``distribution``, comparing the counts with the ground truth (what ``wafad sql --saved NAME`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from queries.distribution import Segment, check, render_distribution
from queries.engine import QueryResult, open_waf_logs, run
from queries.saved import NEEDS_LABELS, Params, SavedQueryError, read_labels, render, template
from wafad.settings import Settings


def saved_params(
    name: str,
    start: datetime | None,
    end: datetime | None,
    *,
    labels: Path | None = None,
    interval_minutes: int = 1,
    limit: int = 10,
) -> Params:
    """The parameters of saved query ``name``; :class:`SavedQueryError` when it is unknown or one is missing."""
    template(name)  # unknown names fail first
    if start is None or end is None:
        raise SavedQueryError(f"saved query {name} needs --start and --end")
    if name in NEEDS_LABELS and labels is None:
        raise SavedQueryError(f"{name} needs the ground truth: --labels FILE (from wafad simulate --labels)")
    return Params(start, end, interval_minutes, limit, read_labels(labels) if labels else ())


def render_saved(name: str, params: Params) -> tuple[str, list[Segment]]:
    """The SQL of saved query ``name`` (and, for ``distribution``, the segments it counts in)."""
    if name == "distribution":
        return render_distribution(params)
    return render(name, params), []


def distribution_counts(result: QueryResult) -> dict[tuple[str, int, int], tuple[int, int]]:
    """``{(field, segment_start_ms, segment_end_ms): (requests, bad)}`` from the ``distribution`` query's rows."""
    cols = [result.columns.index(c) for c in ("field", "segment_start_ms", "segment_end_ms", "requests", "bad")]
    return {
        (row[cols[0]], int(row[cols[1]]), int(row[cols[2]])): (int(row[cols[3]]), int(row[cols[4]]))
        for row in result.rows
    }


@dataclass(frozen=True)
class SavedRun:
    """A saved query's result; for ``distribution``, the comparison rows and ``{field: verdict}``."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def mismatch(self) -> bool:
        """Whether a field's bad rate does not match the ground truth (``distribution`` only)."""
        return any(v.startswith("does NOT") for v in self.verdicts.values())


def run_saved(settings: Settings, name: str, params: Params, source: str | None = None, *, s3: Any = None) -> SavedRun:
    """Run saved query ``name`` over ``source`` (default: the configured bucket and log prefix)."""
    sql, segs = render_saved(name, params)
    with open_waf_logs(settings, source, params.start, params.end, s3=s3) as con:
        result = run(con, sql)
    if name != "distribution":
        return SavedRun(result.columns, result.rows)
    rows, verdicts = check(segs, distribution_counts(result))
    columns = list(rows[0]) if rows else []
    return SavedRun(columns, [tuple(r.values()) for r in rows], verdicts)
