"""The live-trends section: the last minutes of the window, HTTP status classes and requests from countries
outside the allow-list, each with its detector's grade."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.chartspec import PALETTE, ChartRegistry, TimeChart
from dashboard.data.loader import DashboardData
from dashboard.data.raw import LIVE_MINUTES
from dashboard.views.common import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    RED,
    alerts_for,
    card,
    grade_chart,
    labels_for,
    result_for,
    shade_labels,
)

STATUS_COLOURS = {"2xx": GREEN, "3xx": BLUE, "4xx": ORANGE, "5xx": RED, "none": PURPLE}


def _with_grade(
    d: DashboardData, reg: ChartRegistry, chart: TimeChart, detector: str, watches: str, live_start: int
) -> list[TimeChart]:
    res = result_for(d, detector)
    if res is None:
        return [chart]
    grade = reg.new(
        f"{chart.chart_id}-grade",
        f"{detector}: grade and confidence",
        live_start,
        d.end_ms,
        height=130,
        y_min=0.0,
        y_max=1.0,
        y_label="0…1",
    )
    points = [p for p in res.points if p.start >= live_start - d.raw.interval_ms]
    alerts = alerts_for(res.name, res.detector_id, d.alerts)
    return [chart, grade_chart(grade, points, labels_for(watches, d.labels), alerts)]


def _series(times: Sequence[int], values: Sequence[float | int]) -> list[tuple[int, float | int]]:
    return list(zip(times, values, strict=False))


def live(d: DashboardData, reg: ChartRegistry) -> dict[str, Any]:
    raw = d.raw
    live_start = raw.live_start_ms or max(d.start_ms, d.end_ms - LIVE_MINUTES * 60_000)
    idx = [i for i, t in enumerate(raw.times) if t >= live_start - raw.interval_ms + 1]
    times = [raw.times[i] for i in idx]
    status = {k: [v[i] for i in idx] for k, v in raw.by_status.items() if any(v)}
    chart = reg.new("live-status", f"HTTP status classes, last {LIVE_MINUTES} min", live_start, d.end_ms, height=210)
    shade_labels(chart, labels_for("httpStatus", d.labels))
    for k, vals in status.items():
        chart.line(k, _series(times, vals), STATUS_COLOURS.get(k, GREY))
    status_charts = _with_grade(d, reg, chart, "waf-http-status-5xx", "httpStatus", live_start)

    unknown = {k: [v[i] for i in idx] for k, v in raw.unknown_countries.items()}
    title = f"Requests from countries outside the allow-list, last {LIVE_MINUTES} min"
    chart = reg.new("live-country", title, live_start, d.end_ms, height=210)
    shade_labels(chart, labels_for("country", d.labels))
    bad_total = [raw.indicators.get("country_bad", [0.0] * len(raw.times))[i] for i in idx]
    chart.line("all unknown", _series(times, bad_total), GREY, dashed=True)
    for i, (k, vals) in enumerate(unknown.items()):
        chart.line(k, _series(times, vals), PALETTE[(i + 3) % len(PALETTE)])
    country_charts = _with_grade(d, reg, chart, "waf-unknown-country", "country", live_start)

    last5 = sum(v[-1] for k, v in status.items() if k in ("5xx", "none")) if status and times else 0
    last_unknown = bad_total[-1] if bad_total else 0
    return {
        "live_start": live_start,
        "minutes": LIVE_MINUTES,
        "cards": [
            card("5xx / no status, last interval", f"{last5:g}", "bad" if last5 else "ok"),
            card("unknown-country requests, last interval", f"{last_unknown:g}", "bad" if last_unknown else "ok"),
        ],
        "columns": [status_charts, country_charts],
    }
