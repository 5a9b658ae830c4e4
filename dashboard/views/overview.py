"""The overview section: headline numbers, requests and bad indicators per interval, and per-detector detections
against the ground truth."""

from __future__ import annotations

from typing import Any

from dashboard.chartspec import PALETTE, ChartRegistry
from dashboard.data.loader import DashboardData
from dashboard.views.common import GREY, alerts_for, card, fmt, labels_for, mark_alerts, overlaps, shade_labels, table
from wafad.catalogue import DETECTORS, DETECTORS_BY_NAME


def detection_rows(d: DashboardData) -> list[tuple[Any, ...]]:
    """Per detector: intervals, anomalous intervals, max grade, alerts, ground-truth windows found, median delay
    from a window's start to its first anomalous interval, anomalous intervals outside every window."""
    names = [spec.name for spec in DETECTORS] + sorted({r.name for r in d.results} - set(DETECTORS_BY_NAME))
    rows = []
    for name in names:
        groups = [r for r in d.results if r.name == name]
        points = [p for g in groups for p in g.points]
        anomalies = sorted((p for p in points if (p.grade or 0) > 0), key=lambda p: p.start)
        spec = DETECTORS_BY_NAME.get(name)
        labels = labels_for(spec.watches if spec else None, d.labels)
        alerts = [
            a for a in alerts_for(name, groups[0].detector_id if groups else name, d.alerts) if a.kind == "opened"
        ]
        delays = []
        for lab in labels:
            first = next((p for p in anomalies if overlaps(p, lab)), None)
            if first is not None:
                delays.append(max(0.0, (first.start - lab.start) / 60_000))
        outside = sum(1 for p in anomalies if not any(overlaps(p, lab) for lab in labels))
        delays.sort()
        rows.append(
            (
                name,
                len({p.start for p in points}) if points else "–",
                len(anomalies),
                fmt(max((p.grade or 0.0 for p in points), default=0.0), 4) if points else "–",
                len(alerts),
                f"{len(delays)}/{len(labels)}" if labels else "–",
                f"{delays[len(delays) // 2]:.0f} min" if delays else "–",
                outside if labels else "–",
            )
        )
    return rows


def overview(d: DashboardData, reg: ChartRegistry) -> dict[str, Any]:
    raw = d.raw
    anomalies = sum(len(r.anomalies) for r in d.results)
    opened = sum(1 for a in d.alerts if a.kind == "opened")
    cards = [
        card("requests", f"{raw.doc_count:,}"),
        card("interval", f"{raw.interval_ms // 60000} min"),
        card("detectors with results", len({r.name for r in d.results})),
        card("anomalous intervals", anomalies, "bad" if anomalies else "ok"),
        card("alerts opened", opened, "bad" if opened else ""),
    ]
    if d.labels:
        cards.append(card("injected anomalies", len(d.labels)))
    chart = reg.new("overview", "Requests per interval and bad indicators", d.start_ms, d.end_ms, height=240)
    shade_labels(chart, d.labels)
    chart.line("requests", raw.series(raw.total), GREY)
    for i, (ind, vals) in enumerate(raw.indicators.items()):
        if any(vals):
            chart.line(ind, raw.series(vals), PALETTE[i % len(PALETTE)])
    mark_alerts(chart, d.alerts)
    headers = ["detector", "intervals", "anomalous", "max grade", "alerts"]
    rows = detection_rows(d)
    if d.labels:
        headers += ["ground truth found", "median delay", "anomalous outside ground truth"]
    else:
        rows = [r[: len(headers)] for r in rows]
    return {
        "info": " · ".join(f"{k}: {v}" for k, v in d.settings_summary.items()),
        "cards": cards,
        "chart": chart,
        "detections": table(headers, rows, num_cols=range(1, len(headers))),
    }
