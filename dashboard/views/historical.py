"""The historical-analysis section: requests by terminating action over the whole window, and the block-action
detector's grade (its historical analysis run when there is one)."""

from __future__ import annotations

from typing import Any

from dashboard.chartspec import PALETTE, ChartRegistry
from dashboard.data.loader import DashboardData
from dashboard.data.raw import ALLOWED_ACTIONS
from dashboard.views.common import GREEN, RED, alerts_for, card, grade_chart, labels_for, result_for, shade_labels
from wafad.catalogue import DETECTORS_BY_NAME

DETECTOR = "waf-block-action"


def historical(d: DashboardData, reg: ChartRegistry) -> dict[str, Any]:
    raw = d.raw
    spec = DETECTORS_BY_NAME.get(DETECTOR)
    labels = labels_for("action", d.labels)
    chart = reg.new("hist-action", "Requests by terminating action (historical)", d.start_ms, d.end_ms, height=230)
    shade_labels(chart, labels)
    for i, (action, vals) in enumerate(raw.by_action.items()):
        colour = GREEN if action == ALLOWED_ACTIONS else RED if action == "BLOCK" else PALETTE[(i + 3) % len(PALETTE)]
        chart.line(action, raw.series(vals), colour)
    charts = [chart]
    res = result_for(d, DETECTOR)
    if res is not None:
        src = "historical analysis run" if res.historical else "real-time results"
        title = f"{DETECTOR}: anomaly grade and confidence ({src})"
        grade = reg.new("hist-grade", title, d.start_ms, d.end_ms, height=150, y_min=0.0, y_max=1.0, y_label="0…1")
        charts.append(
            grade_chart(grade, res.historical or res.realtime, labels, alerts_for(res.name, res.detector_id, d.alerts))
        )
    blocked = sum(raw.by_action.get("BLOCK", []))
    share = blocked / raw.doc_count if raw.doc_count else 0.0
    cards = [
        card("blocked requests", f"{blocked:,}"),
        card("block share", f"{share:.1%}"),
        card("anomalous intervals", len(res.anomalies) if res else "–", "bad" if res and res.anomalies else ""),
    ]
    return {"description": spec.description if spec else "", "cards": cards, "charts": charts}
