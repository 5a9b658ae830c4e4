"""Chart specifications: what each interactive time chart shows, as plain JSON-ready data for the page's script.

A :class:`TimeChart` collects layers (lines, bars, markers, bands), ground-truth windows to shade, alert marks
and tooltip-only values; :meth:`TimeChart.spec` turns them into the dict the page's script hands to uPlot.
Nothing here is HTML: titles and labels stay data (the template escapes them, the script sets them as text).
Long series are decimated (:func:`decimate`) so a week-long window keeps its spikes and gaps without a
multi-megabyte page. ``None`` values stay ``null`` and break a line instead of being drawn as zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Number = float | int | None

#: Colour per series role.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
#: Points kept per series at most about 4 per column of this many (first, min, max, last of each column).
COLUMNS = 1100


def finite(v: Number) -> bool:
    return v is not None and math.isfinite(v)


def decimate(
    points: Sequence[tuple[int, Number]], start_ms: int, end_ms: int, columns: int = COLUMNS
) -> list[tuple[int, Number]]:
    """At most ~4 points per column (first, min, max, last), so long windows keep their spikes and gaps without
    shipping thousands of invisible points. Short series are returned sorted and unchanged."""
    pts = sorted(points, key=lambda p: p[0])
    if len(pts) <= 4 * columns:
        return pts
    span = max(end_ms - start_ms, 1)
    groups: dict[int, list[tuple[int, Number]]] = {}
    for t, v in pts:
        groups.setdefault(int((t - start_ms) / span * columns), []).append((t, v))
    out: list[tuple[int, Number]] = []
    for group in groups.values():
        good = [(t, v) for t, v in group if finite(v)]
        if len(good) < len(group):  # a gap in this column: keep it visible
            out.append(next((t, v) for t, v in group if not finite(v)))
        if good:
            keep = {good[0], good[-1], min(good, key=lambda p: p[1]), max(good, key=lambda p: p[1])}  # type: ignore[arg-type,return-value]
            out.extend(sorted(keep))
    return sorted(out, key=lambda p: p[0])


def _clean_value(v: Number) -> float | None:
    return float(v) if finite(v) else None


@dataclass
class Layer:
    """One drawn layer: kind is line, bars, markers or band (``points`` the lower edge, ``upper`` the upper)."""

    kind: str
    label: str
    color: str
    points: list[tuple[int, Number]] = field(default_factory=list)
    upper: list[tuple[int, Number]] = field(default_factory=list)
    dashed: bool = False


@dataclass
class TimeChart:
    """An interactive time chart on [start_ms, end_ms] with one value axis."""

    title: str
    start_ms: int
    end_ms: int
    chart_id: str = ""
    height: int = 220
    y_min: float | None = None
    y_max: float | None = None
    y_label: str = ""
    layers: list[Layer] = field(default_factory=list)
    shades: list[dict[str, Any]] = field(default_factory=list)  # {start, end, text, label, color}
    marks: list[dict[str, Any]] = field(default_factory=list)  # {t, text, label, color}
    extra: dict[str, list[tuple[int, Number]]] = field(default_factory=dict)  # tooltip-only values

    # --- building ---------------------------------------------------------------------------
    def line(self, label: str, points: Iterable[tuple[int, Number]], color: str, *, dashed: bool = False) -> TimeChart:
        self.layers.append(Layer("line", label, color, list(points), dashed=dashed))
        return self

    def bars(self, label: str, points: Iterable[tuple[int, Number]], color: str) -> TimeChart:
        self.layers.append(Layer("bars", label, color, list(points)))
        return self

    def band(
        self, label: str, lower: Iterable[tuple[int, Number]], upper: Iterable[tuple[int, Number]], color: str
    ) -> TimeChart:
        self.layers.append(Layer("band", label, color, list(lower), upper=list(upper)))
        return self

    def markers(self, label: str, points: Iterable[tuple[int, Number]], color: str) -> TimeChart:
        self.layers.append(Layer("markers", label, color, list(points)))
        return self

    def shade(
        self, label: str, windows: Iterable[tuple[int, int, str]], color: str, *, truth: bool = False
    ) -> TimeChart:
        """Shaded time windows; ``truth`` marks injected ground-truth windows (the tooltip says when inside)."""
        for start, end, text in windows:
            self.shades.append(
                {"start": start, "end": end, "text": text, "label": label, "color": color, "truth": truth}
            )
        return self

    def vlines(self, label: str, times: Iterable[tuple[int, str]], color: str) -> TimeChart:
        self.marks.extend({"t": t, "text": text, "label": label, "color": color} for t, text in times)
        return self

    def tooltip(self, label: str, points: Iterable[tuple[int, Number]]) -> TimeChart:
        """Values shown in the hover tooltip only (e.g. the anomaly grade on a feature chart)."""
        self.extra[label] = list(points)
        return self

    # --- output -----------------------------------------------------------------------------
    def _series(self, pts: Sequence[tuple[int, Number]]) -> dict[str, list[Any]]:
        kept = [(t, v) for t, v in decimate(pts, self.start_ms, self.end_ms) if self.start_ms <= t <= self.end_ms]
        return {"t": [t for t, _ in kept], "v": [_clean_value(v) for _, v in kept]}

    def legend(self) -> list[dict[str, str]]:
        """Legend entries for what the chart library's own legend does not list: shaded windows and marks."""
        seen: dict[str, dict[str, str]] = {}
        for s in self.shades:
            seen.setdefault(s["label"], {"label": s["label"], "color": s["color"], "kind": "shade"})
        for m in self.marks:
            seen.setdefault(m["label"], {"label": m["label"], "color": m["color"], "kind": "mark"})
        return list(seen.values())

    def spec(self) -> dict[str, Any]:
        series = []
        for layer in self.layers:
            item: dict[str, Any] = {"kind": layer.kind, "label": layer.label, "color": layer.color}
            item["data"] = self._series(layer.points)
            if layer.kind == "band":
                item["upper"] = self._series(layer.upper)
            if layer.dashed:
                item["dash"] = True
            series.append(item)
        in_window = [s for s in self.shades if s["end"] >= self.start_ms and s["start"] <= self.end_ms]
        return {
            "title": self.title,
            "start": self.start_ms,
            "end": self.end_ms,
            "height": self.height,
            "y": {"min": self.y_min, "max": self.y_max, "label": self.y_label},
            "series": series,
            "shades": in_window,
            "marks": [m for m in self.marks if self.start_ms <= m["t"] <= self.end_ms],
            "extra": {k: self._series(v) for k, v in self.extra.items()},
        }


class ChartRegistry:
    """Gives charts unique ids and keeps their specs for the page's data block."""

    def __init__(self) -> None:
        self.charts: dict[str, TimeChart] = {}

    def new(self, key: str, title: str, start_ms: int, end_ms: int, **kw: Any) -> TimeChart:
        cid = f"c{len(self.charts)}-" + "".join(ch if ch.isalnum() else "-" for ch in key)[:40]
        chart = TimeChart(title=title, start_ms=start_ms, end_ms=end_ms, chart_id=cid, **kw)
        self.charts[cid] = chart
        return chart

    def specs(self) -> dict[str, dict[str, Any]]:
        return {cid: chart.spec() for cid, chart in self.charts.items()}


def format_value(v: float) -> str:
    """A short label for a count (``1.2k``) or a small value."""
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v / 1000:.1f}k".replace(".0k", "k")
    if abs(v) >= 10 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def hbar_rows(rows: Sequence[tuple[str, float]], *, width: int = 420, label_w: int = 170) -> list[dict[str, Any]]:
    """Geometry of a horizontal bar chart of labelled counts (the template draws it; labels stay data)."""
    top = max((v for _, v in rows), default=1.0) or 1.0
    out = []
    for i, (label, v) in enumerate(rows):
        w = (width - label_w - 50) * (v / top)
        out.append(
            {
                "y": 22 + i * 18,
                "label": label,
                "short": label if len(label) <= 24 else label[:23] + "…",
                "w": round(max(w, 1.0), 1),
                "value": format_value(v),
            }
        )
    return out
