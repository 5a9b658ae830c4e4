"""Server-side SVG time charts: no JavaScript library, no network, every label escaped.

A :class:`TimeChart` maps epoch-millisecond times and values onto a fixed-size canvas and collects layers
(shaded windows, bands, lines, bars, markers) that :meth:`TimeChart.svg` turns into one ``<svg>`` string.
NaN or ``None`` values break a line instead of being drawn as zero.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

Number = float | int | None

#: Colour per series role; CSS classes carry the same names so the page can restyle them.
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


def _finite(v: Number) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and math.isfinite(v)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def time_ticks(start_ms: int, end_ms: int, count: int = 6) -> list[int]:
    """Round UTC tick times (1 min … 1 day steps) covering the window."""
    span = max(end_ms - start_ms, 1)
    steps_min = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
    step = next((s * 60_000 for s in steps_min if span / (s * 60_000) <= count), 1440 * 60_000)
    first = -(-start_ms // step) * step
    return list(range(first, end_ms + 1, step))


def format_time(ms: int, span_ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%m-%d %H:%M") if span_ms > 86_400_000 else dt.strftime("%H:%M")


def format_value(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v / 1000:.1f}k".replace(".0k", "k")
    if abs(v) >= 10 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def decimate(
    points: Sequence[tuple[int, Number]], start_ms: int, end_ms: int, columns: int
) -> list[tuple[int, Number]]:
    """At most ~4 points per pixel column (first, min, max, last), so long windows keep their spikes and gaps
    without drawing thousands of invisible segments. Short series are returned sorted and unchanged."""
    pts = sorted(points, key=lambda p: p[0])
    if len(pts) <= 4 * columns:
        return pts
    span = max(end_ms - start_ms, 1)
    groups: dict[int, list[tuple[int, Number]]] = {}
    for t, v in pts:
        groups.setdefault(int((t - start_ms) / span * columns), []).append((t, v))
    out: list[tuple[int, Number]] = []
    for group in groups.values():
        finite = [(t, v) for t, v in group if _finite(v)]
        if len(finite) < len(group):  # a gap in this column: keep it visible
            out.append(next((t, v) for t, v in group if not _finite(v)))
        if finite:
            keep = {finite[0], finite[-1], min(finite, key=lambda p: p[1]), max(finite, key=lambda p: p[1])}  # type: ignore[arg-type,return-value]
            out.extend(sorted(keep))
    return sorted(out, key=lambda p: p[0])


@dataclass
class Series:
    """One drawn layer: kind is line, bars, band, markers or shade."""

    kind: str
    label: str
    color: str
    points: list[tuple[int, Number]] = field(default_factory=list)
    upper: list[tuple[int, Number]] = field(default_factory=list)  # band only
    windows: list[tuple[int, int, str]] = field(default_factory=list)  # shade/vlines: (start, end, tooltip)
    dashed: bool = False
    css: str = ""


@dataclass
class TimeChart:
    """A time-series chart on [start_ms, end_ms] with one value axis."""

    title: str
    start_ms: int
    end_ms: int
    width: int = 1100
    height: int = 220
    y_min: float | None = None
    y_max: float | None = None
    y_label: str = ""
    chart_id: str = ""
    layers: list[Series] = field(default_factory=list)
    margin_left: int = 52
    margin_right: int = 16
    margin_top: int = 26
    margin_bottom: int = 40

    # --- building ---------------------------------------------------------------------------
    def line(self, label: str, points: Iterable[tuple[int, Number]], color: str, *, dashed: bool = False) -> TimeChart:
        self.layers.append(Series("line", label, color, list(points), dashed=dashed))
        return self

    def bars(self, label: str, points: Iterable[tuple[int, Number]], color: str) -> TimeChart:
        self.layers.append(Series("bars", label, color, list(points)))
        return self

    def band(
        self, label: str, lower: Iterable[tuple[int, Number]], upper: Iterable[tuple[int, Number]], color: str
    ) -> TimeChart:
        self.layers.append(Series("band", label, color, list(lower), upper=list(upper)))
        return self

    def markers(self, label: str, points: Iterable[tuple[int, Number]], color: str) -> TimeChart:
        self.layers.append(Series("markers", label, color, list(points)))
        return self

    def shade(self, label: str, windows: Iterable[tuple[int, int, str]], color: str) -> TimeChart:
        self.layers.append(Series("shade", label, color, windows=list(windows)))
        return self

    def vlines(self, label: str, times: Iterable[tuple[int, str]], color: str) -> TimeChart:
        self.layers.append(Series("vlines", label, color, windows=[(t, t, tip) for t, tip in times]))
        return self

    # --- scales -----------------------------------------------------------------------------
    @property
    def plot_w(self) -> int:
        return self.width - self.margin_left - self.margin_right

    @property
    def plot_h(self) -> int:
        return self.height - self.margin_top - self.margin_bottom

    def _y_domain(self) -> tuple[float, float]:
        values = [
            float(v)
            for s in self.layers
            if s.kind in ("line", "bars", "band", "markers")
            for v in [p[1] for p in s.points] + [p[1] for p in s.upper]
            if _finite(v)
        ]
        lo = self.y_min if self.y_min is not None else min([0.0, *values])
        hi = self.y_max if self.y_max is not None else max([1.0, *values])
        if hi <= lo:
            hi = lo + 1.0
        if self.y_max is None:
            hi = max(nice_ticks(lo, hi * 1.05)[-1], hi)
        return lo, hi

    def x(self, ms: float) -> float:
        span = max(self.end_ms - self.start_ms, 1)
        return self.margin_left + (ms - self.start_ms) / span * self.plot_w

    def _y(self, v: float, lo: float, hi: float) -> float:
        v = min(max(v, lo), hi)
        return self.margin_top + (1 - (v - lo) / (hi - lo)) * self.plot_h

    def _in_range(self, ms: int) -> bool:
        return self.start_ms <= ms <= self.end_ms

    # --- rendering --------------------------------------------------------------------------
    def _path(self, points: Sequence[tuple[int, Number]], lo: float, hi: float) -> str:
        parts: list[str] = []
        pen_down = False
        for t, v in decimate(points, self.start_ms, self.end_ms, self.plot_w):
            if not _finite(v) or not self._in_range(t):
                pen_down = False
                continue
            parts.append(f"{'L' if pen_down else 'M'}{self.x(t):.1f},{self._y(float(v), lo, hi):.1f}")  # type: ignore[arg-type]
            pen_down = True
        return " ".join(parts)

    def _band_path(self, s: Series, lo: float, hi: float) -> list[str]:
        upper = dict(s.upper)
        runs: list[list[tuple[int, float, float]]] = [[]]
        for t, low in sorted(s.points, key=lambda p: p[0]):
            up = upper.get(t)
            if _finite(low) and _finite(up) and self._in_range(t):
                runs[-1].append((t, float(low), float(up)))  # type: ignore[arg-type]
            elif runs[-1]:
                runs.append([])
        paths = []
        for run in runs:
            if not run:
                continue
            top = [f"{self.x(t):.1f},{self._y(u, lo, hi):.1f}" for t, _, u in run]
            bottom = [f"{self.x(t):.1f},{self._y(low, lo, hi):.1f}" for t, low, _ in reversed(run)]
            if len(run) == 1:  # a lone interval: draw a small box
                t, low, up = run[0]
                x = self.x(t)
                top = [f"{x - 2:.1f},{self._y(up, lo, hi):.1f}", f"{x + 2:.1f},{self._y(up, lo, hi):.1f}"]
                bottom = [f"{x + 2:.1f},{self._y(low, lo, hi):.1f}", f"{x - 2:.1f},{self._y(low, lo, hi):.1f}"]
            paths.append("M" + " L".join(top + bottom) + " Z")
        return paths

    def _bar_width(self, points: Sequence[tuple[int, Number]]) -> float:
        times = sorted({t for t, _ in points})
        if len(times) < 2:
            return 4.0
        step = min((b - a for a, b in itertools.pairwise(times) if b > a), default=60_000)
        return max(1.0, self.x(self.start_ms + step) - self.x(self.start_ms) - 0.5)

    def _legend_rows(self) -> list[list[tuple[int, Series]]]:
        rows: list[list[tuple[int, Series]]] = [[]]
        lx = self.margin_left
        for s in self.layers:
            if not s.label:
                continue
            w = 24 + int(6.2 * len(s.label))
            if rows[-1] and lx + w > self.width:
                rows.append([])
                lx = self.margin_left
            rows[-1].append((lx, s))
            lx += w
        return rows if rows[0] else []

    def svg(self) -> str:
        lo, hi = self._y_domain()
        span = self.end_ms - self.start_ms
        out: list[str] = []
        cid = escape(self.chart_id or "chart", quote=True)
        out.append(
            f'<svg class="chart time" id="{cid}" xmlns="http://www.w3.org/2000/svg"'
            f' viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}"'
            f' role="img" aria-label="{escape(self.title, quote=True)}"'
            f' data-start="{self.start_ms}" data-end="{self.end_ms}" data-ymin="{lo}" data-ymax="{hi}"'
            f' data-left="{self.margin_left}" data-plotw="{self.plot_w}">'
        )
        out.append(f"<title>{escape(self.title)}</title>")
        out.append(f'<text class="chart-title" x="{self.margin_left}" y="16">{escape(self.title)}</text>')
        top, bottom = self.margin_top, self.margin_top + self.plot_h
        left, right = self.margin_left, self.margin_left + self.plot_w
        # shaded windows first (behind everything)
        for s in self.layers:
            if s.kind != "shade":
                continue
            for w0, w1, tip in s.windows:
                a, b = max(w0, self.start_ms), min(w1, self.end_ms)
                if b < a:
                    continue
                xa, xb = self.x(a), self.x(b)
                out.append(
                    f'<rect class="shade" x="{xa:.1f}" y="{top}" width="{max(xb - xa, 2):.1f}" height="{self.plot_h}"'
                    f' fill="{s.color}" fill-opacity="0.18"><title>{escape(tip)}</title></rect>'
                )
        # grid and axes
        for tv in nice_ticks(lo, hi, 4):
            y = self._y(tv, lo, hi)
            out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>')
            out.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{format_value(tv)}</text>')
        for tt in time_ticks(self.start_ms, self.end_ms):
            x = self.x(tt)
            out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}"/>')
            out.append(
                f'<text class="tick" x="{x:.1f}" y="{bottom + 15}" text-anchor="middle">{format_time(tt, span)}</text>'
            )
        out.append(f'<rect class="frame" x="{left}" y="{top}" width="{self.plot_w}" height="{self.plot_h}"/>')
        if self.y_label:
            out.append(
                f'<text class="axis-label" transform="translate(12,{top + self.plot_h / 2:.0f}) rotate(-90)"'
                f' text-anchor="middle">{escape(self.y_label)}</text>'
            )
        # data layers
        for s in self.layers:
            label = escape(s.label, quote=True)
            if s.kind == "band":
                for d in self._band_path(s, lo, hi):
                    out.append(
                        f'<path class="series band" data-series="{label}" d="{d}" fill="{s.color}" fill-opacity="0.25"'
                        ' stroke="none"/>'
                    )
            elif s.kind == "bars":  # one bar per interval, from its start to the next interval's start
                bw = self._bar_width(s.points)
                base = self._y(max(lo, 0.0), lo, hi)
                for t, v in s.points:
                    if not _finite(v) or not self._in_range(t) or float(v) == 0:  # type: ignore[arg-type]
                        continue
                    y = self._y(float(v), lo, hi)  # type: ignore[arg-type]
                    out.append(
                        f'<rect class="series bar" data-series="{label}" x="{self.x(t):.1f}"'
                        f' y="{min(y, base):.1f}" width="{bw:.1f}" height="{abs(base - y):.1f}" fill="{s.color}"/>'
                    )
            elif s.kind == "line":
                d = self._path(s.points, lo, hi)
                if d:
                    dash = ' stroke-dasharray="5,3"' if s.dashed else ""
                    out.append(
                        f'<path class="series line" data-series="{label}" d="{d}" fill="none" stroke="{s.color}"'
                        f' stroke-width="1.6"{dash}/>'
                    )
            elif s.kind == "markers":
                for t, v in s.points:
                    if _finite(v) and self._in_range(t):
                        out.append(
                            f'<circle class="series marker" data-series="{label}" cx="{self.x(t):.1f}"'
                            f' cy="{self._y(float(v), lo, hi):.1f}" r="3.2" fill="{s.color}"/>'  # type: ignore[arg-type]
                        )
            elif s.kind == "vlines":
                for t, _, tip in s.windows:
                    if self._in_range(t):
                        x = self.x(t)
                        out.append(
                            f'<line class="vline" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{s.color}"'
                            f' stroke-width="1.5" stroke-dasharray="3,2"><title>{escape(tip)}</title></line>'
                        )
        # legend, wrapped onto extra rows below the plot when it is wider than the chart
        rows = self._legend_rows()
        for r, row in enumerate(rows):
            y = self.height - 13 + 14 * r
            for lx, s in row:
                opacity = ' fill-opacity="0.35"' if s.kind in ("shade", "band") else ""
                out.append(
                    f'<rect class="legend-key" x="{lx}" y="{y}" width="10" height="10" fill="{s.color}"{opacity}/>'
                )
                out.append(f'<text class="legend" x="{lx + 14}" y="{y + 9}">{escape(s.label)}</text>')
        extra = 14 * max(len(rows) - 1, 0)
        if extra:
            out[0] = out[0].replace(
                f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}"',
                f'viewBox="0 0 {self.width} {self.height + extra}" width="{self.width}" height="{self.height + extra}"',
            )
        out.append("</svg>")
        return "".join(out)


def hbar_chart(title: str, rows: Sequence[tuple[str, float]], *, width: int = 420, color: str = PALETTE[0]) -> str:
    """A horizontal bar chart of labelled counts (labels escaped; long ones shortened)."""
    row_h, label_w = 18, 170
    height = 24 + row_h * max(len(rows), 1)
    top = max((v for _, v in rows), default=1.0) or 1.0
    out = [
        f'<svg class="chart hbar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" role="img" aria-label="{escape(title, quote=True)}">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="0" y="14">{escape(title)}</text>',
    ]
    for i, (label, v) in enumerate(rows):
        y = 22 + i * row_h
        w = (width - label_w - 50) * (v / top)
        short = label if len(label) <= 26 else label[:25] + "…"
        out.append(
            f'<text class="tick" x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(short)}'
            f"<title>{escape(label)}</title></text>"
        )
        out.append(
            f'<rect class="series bar" x="{label_w}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row_h - 5}"'
            f' fill="{color}"/>'
        )
        out.append(f'<text class="tick" x="{label_w + w + 4:.1f}" y="{y + 12}">{format_value(v)}</text>')
    out.append("</svg>")
    return "".join(out)
