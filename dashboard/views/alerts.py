"""The alerts and ground-truth section: every alert sent, and every injected anomaly with the detectors that
watch its field."""

from __future__ import annotations

from typing import Any

from dashboard.data.loader import DashboardData
from dashboard.data.values import iso
from dashboard.views.common import alert_message, fmt, hhmm, table, watched_by
from wafad.catalogue import DETECTORS, SEED_FIELDS


def alerts(d: DashboardData) -> dict[str, Any]:
    sent = None
    if d.alerts:
        sent = table(
            ["detector", "entity", "kind", "severity", "window start", "window end", "message"],
            [
                (
                    a.detector,
                    a.entity or "",
                    a.kind,
                    a.severity,
                    hhmm(a.window_start),
                    hhmm(a.window_end),
                    alert_message(a),
                )
                for a in d.alerts
            ],
            raw_cols=(6,),
        )
    truth = None
    if d.labels:
        truth = table(
            ["field", "start", "end", "intensity", "watched by"],
            [
                (
                    lab.field,
                    iso(lab.start),
                    iso(lab.end),
                    fmt(lab.intensity, 1),
                    ", ".join(s.name for s in DETECTORS if lab.field in watched_by(s.watches))
                    or ("(no detector)" if lab.field not in SEED_FIELDS else ""),
                )
                for lab in d.labels
            ],
        )
    return {"sent": sent, "truth": truth}
