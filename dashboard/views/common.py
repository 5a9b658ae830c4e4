"""What every section view shares: colours, number and time formats, cards and tables as template data, and
the ground-truth / alert layers each chart gets.

Views build plain data (dicts, lists, strings) for the templates; the templates autoescape all of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from dashboard.chartspec import TimeChart
from dashboard.data.inputs import Alert, Label
from dashboard.data.loader import DashboardData
from dashboard.data.results import DetectorResults
from dashboard.data.values import iso

RED, BLUE, ORANGE, GREEN, GREY, PURPLE = "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f", "#9467bd"
#: Simulator ground-truth fields that a detector watching ``key`` should see.
RELATED_LABELS: dict[str, frozenset[str]] = {
    "volume": frozenset({"volume", "ip_flood", "uri_scan"}),
}
ALERT_TEXT_CHARS = 400


def fmt(v: float | None, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}"


def hhmm(ms: int | None) -> str:
    if ms is None:
        return "–"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%m-%d %H:%M")


def card(key: str, value: Any, cls: str = "") -> dict[str, str]:
    """A headline number: ``value`` over its caption ``key``; ``cls`` is ``bad``, ``ok`` or empty."""
    return {"key": str(key), "value": "" if value is None else str(value), "cls": cls}


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, num_cols: Iterable[int] = (), raw_cols: Iterable[int] = ()
) -> dict[str, Any]:
    """A table for the ``table`` macro: numeric columns right-aligned, raw (attacker-controlled) ones monospaced."""
    return {
        "headers": [str(h) for h in headers],
        "rows": [["" if v is None else str(v) for v in r] for r in rows],
        "num": sorted(set(num_cols)),
        "raw": sorted(set(raw_cols)),
    }


def watched_by(watches: str) -> frozenset[str]:
    """The ground-truth label fields a detector watching ``watches`` should see."""
    return RELATED_LABELS.get(watches, frozenset({watches}))


def labels_for(watches: str | None, labels: Sequence[Label]) -> list[Label]:
    if watches is None:
        return []
    wanted = watched_by(watches)
    return [lab for lab in labels if lab.field in wanted]


def shade_labels(chart: TimeChart, labels: Sequence[Label], title: str = "ground truth") -> None:
    chart.shade(
        title,
        [
            (lab.start, lab.end, f"injected {lab.field} x{fmt(lab.intensity, 1)} {iso(lab.start)} → {iso(lab.end)}")
            for lab in labels
        ],
        ORANGE,
        truth=True,
    )


def alerts_for(name: str, detector_id: str, alerts: Sequence[Alert]) -> list[Alert]:
    return [a for a in alerts if a.detector in (name, detector_id) or (a.detector_id and a.detector_id == detector_id)]


def alert_message(a: Alert) -> str:
    """Subject and the start of the text (the full text is in the SNS message)."""
    text = a.text if len(a.text) <= ALERT_TEXT_CHARS else a.text[:ALERT_TEXT_CHARS] + " …"
    return f"{a.subject}\n{text}" if a.subject and a.subject not in a.text else text


def mark_alerts(chart: TimeChart, alerts: Sequence[Alert]) -> None:
    opened = [
        (a.window_start, f"{a.kind} {a.severity}: {a.text}") for a in alerts if a.kind == "opened" and a.window_start
    ]
    resolved = [(a.window_end or a.window_start, f"{a.kind}: {a.text}") for a in alerts if a.kind == "resolved"]
    chart.vlines("alert opened", opened, RED)  # type: ignore[arg-type]
    chart.vlines("alert resolved", [r for r in resolved if r[0]], GREEN)  # type: ignore[arg-type]


def overlaps(p: Any, lab: Label) -> bool:
    """Whether a result interval (``start``/``end``) overlaps a ground-truth window."""
    return p.end > lab.start and p.start < lab.end


def result_for(d: DashboardData, name: str) -> DetectorResults | None:
    return next((r for r in d.results if r.name == name and r.entity is None), None)


def grade_chart(chart: TimeChart, points: Sequence[Any], labels: Sequence[Label], alerts: Sequence[Alert]) -> TimeChart:
    """Anomaly grade (bars) and confidence (line) of result points, with ground truth, no-data windows and
    alerts; the raw score in the tooltip."""
    shade_labels(chart, labels)
    no_data = [(p.start, p.end, f"{hhmm(p.start)}: {p.error}") for p in points if getattr(p, "error", None)]
    chart.shade("no data / error", no_data, GREY)
    chart.bars("anomaly grade", [(p.start, p.grade) for p in points], RED)
    chart.line("confidence", [(p.start, p.confidence) for p in points], BLUE)
    chart.tooltip("score", [(p.start, p.score) for p in points])
    mark_alerts(chart, alerts)
    return chart
