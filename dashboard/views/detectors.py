"""The detectors section: one panel per detector, with the feature it reads (actual against expected), its
anomaly grade and confidence, alerts, ground truth, and for the high-cardinality detector its entities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard.chartspec import PALETTE, ChartRegistry, TimeChart
from dashboard.data.inputs import Alert, Label
from dashboard.data.loader import DashboardData
from dashboard.data.results import DetectorResults, ResultPoint
from dashboard.views.common import (
    ORANGE,
    RED,
    alert_message,
    alerts_for,
    card,
    fmt,
    grade_chart,
    hhmm,
    labels_for,
    mark_alerts,
    overlaps,
    shade_labels,
    table,
)
from wafad.catalogue import DETECTORS, DETECTORS_BY_NAME, DetectorSpec

TOP_ENTITIES = 6  # entity lines drawn for the HC detector


@dataclass
class MergedPoint:
    """A result-like point for the HC detector's merged grade strip."""

    start: int
    end: int
    grade: float
    confidence: float | None
    score: float
    error: str | None = None


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def merge_entities(points: Sequence[ResultPoint]) -> list[MergedPoint]:
    """Per interval: the highest entity grade and score, the mean confidence; no data only when no entity had any."""
    by_start: dict[int, list[ResultPoint]] = {}
    for p in points:
        by_start.setdefault(p.start, []).append(p)
    return [
        MergedPoint(
            t,
            max(p.end for p in ps),
            max((p.grade or 0.0) for p in ps),
            _mean([p.confidence for p in ps]),
            max((p.score or 0.0) for p in ps),
            "; ".join(sorted({p.error for p in ps if p.error})) if all(p.error for p in ps) else None,  # type: ignore[misc]
        )
        for t, ps in sorted(by_start.items())
    ]


def _raw_feature(d: DashboardData, spec: DetectorSpec) -> tuple[str, list[float]] | None:
    feat = spec.features[0]
    if feat.agg == "value_count":
        return "requests", [float(v) for v in d.raw.total]
    if feat.field in d.raw.indicators:
        return feat.field, d.raw.indicators[feat.field]
    return None


def _grade_tooltip(chart: TimeChart, points: Sequence[Any]) -> None:
    chart.tooltip("anomaly grade", [(p.start, p.grade) for p in points])
    chart.tooltip("confidence", [(p.start, p.confidence) for p in points])


def feature_chart(
    chart: TimeChart, d: DashboardData, spec: DetectorSpec | None, groups: Sequence[DetectorResults]
) -> TimeChart:
    """The detector's feature: actual values, expected values and anomalous intervals as markers; per entity
    for an HC detector (the highest-graded ones); from the raw documents when there are no results."""
    main = next((g for g in groups if g.entity is None), None)
    entity_groups = [g for g in groups if g.entity is not None]
    if main is not None:
        pts = main.points
        for i, fname in enumerate(main.feature_names):
            chart.line(f"{fname} (actual)", [(p.start, p.features.get(fname)) for p in pts], PALETTE[i % len(PALETTE)])
            exp = [(p.start, p.expected.get(fname)) for p in pts if fname in p.expected]
            if exp:
                chart.markers(f"{fname} expected", exp, ORANGE)
            anomalous = [(p.start, p.features.get(fname)) for p in pts if (p.grade or 0) > 0]
            if anomalous:
                chart.markers("anomalous", anomalous, RED)
        _grade_tooltip(chart, pts)
    elif entity_groups:

        def volume(g: DetectorResults) -> float:
            fname = g.feature_names[0] if g.feature_names else ""
            return sum((p.features.get(fname) or 0.0) for p in g.points)

        ranked = sorted(entity_groups, key=lambda g: (-g.max_grade, -volume(g)))
        anomalous: list[tuple[int, float | None]] = []
        for i, g in enumerate(ranked[:TOP_ENTITIES]):
            fname = g.feature_names[0] if g.feature_names else "value"
            ent = (g.entity or "").split("=", 1)[-1]
            chart.line(ent, [(p.start, p.features.get(fname)) for p in g.points], PALETTE[i % len(PALETTE)])
            anomalous.extend((p.start, p.features.get(fname)) for p in g.points if (p.grade or 0) > 0)
        if anomalous:
            chart.markers("anomalous", anomalous, RED)
        _grade_tooltip(chart, merge_entities([p for g in entity_groups for p in g.points]))
    elif spec is not None and (rf := _raw_feature(d, spec)) is not None:
        fname, vals = rf
        chart.line(f"{fname} (from raw documents)", d.raw.series(vals), PALETTE[0])
    return chart


def _found(labels: Sequence[Label], main: DetectorResults | None, all_points: Sequence[ResultPoint]) -> int:
    """Ground-truth windows with at least one anomalous interval."""
    points = main.anomalies if main is not None else [p for p in all_points if (p.grade or 0) > 0]
    return sum(1 for lab in labels if any(overlaps(p, lab) for p in points))


def _alert_table(alerts: Sequence[Alert]) -> dict[str, Any] | None:
    if not alerts:
        return None
    return table(
        ["kind", "entity", "severity", "window start", "window end", "max grade", "message"],
        [
            (
                a.kind,
                a.entity or "",
                a.severity,
                hhmm(a.window_start),
                hhmm(a.window_end),
                fmt(a.max_grade, 4),
                alert_message(a),
            )
            for a in alerts
        ],
        raw_cols=(6,),
    )


def detector_panel(d: DashboardData, reg: ChartRegistry, name: str, groups: list[DetectorResults]) -> dict[str, Any]:
    spec = DETECTORS_BY_NAME.get(name)
    labels = labels_for(spec.watches if spec else None, d.labels)
    det_id = groups[0].detector_id if groups else name
    alerts = alerts_for(name, det_id, d.alerts)
    key = "det-" + name
    main = next((g for g in groups if g.entity is None), None)
    entity_groups = [g for g in groups if g.entity is not None]
    all_points = [p for g in groups for p in g.points]

    chart = reg.new(key, f"{name}: feature values and expected values", d.start_ms, d.end_ms, height=210)
    shade_labels(chart, labels)
    feature_chart(chart, d, spec, groups)
    mark_alerts(chart, alerts)
    charts = [chart]
    entities = None
    grade_kw: dict[str, Any] = {"height": 150, "y_min": 0.0, "y_max": 1.0, "y_label": "0…1"}
    if main is not None:
        grade = reg.new(key + "-grade", f"{name}: anomaly grade and confidence", d.start_ms, d.end_ms, **grade_kw)
        charts.append(grade_chart(grade, main.points, labels, alerts))
    elif entity_groups:
        title = f"{name}: highest entity grade, mean confidence"
        grade = reg.new(key + "-grade", title, d.start_ms, d.end_ms, **grade_kw)
        charts.append(grade_chart(grade, merge_entities(all_points), labels, alerts))
        rows = [
            (
                g.entity,
                len(g.points),
                len(g.anomalies),
                fmt(g.max_grade, 4),
                hhmm(g.anomalies[0].start) if g.anomalies else "–",
            )
            for g in sorted(entity_groups, key=lambda g: -g.max_grade)[:12]
        ]
        entities = table(["entity", "intervals", "anomalous", "max grade", "first anomaly"], rows, num_cols=(1, 2, 3))

    n_anom = sum(1 for p in all_points if (p.grade or 0) > 0)
    max_grade = max((p.grade or 0.0 for p in all_points), default=0.0)
    conf = [p.confidence for p in (main.points if main else all_points) if p.confidence is not None]
    badges = [{"text": f"{n_anom} anomalous intervals", "cls": "bad" if n_anom else "ok"}]
    badges.append({"text": groups[0].source if groups else "no AD results in this window", "cls": ""})
    if labels:
        hit = _found(labels, main, all_points)
        badges.append({"text": f"ground truth found {hit}/{len(labels)}", "cls": "ok" if hit == len(labels) else "bad"})
    return {
        "name": name,
        "quiet": not n_anom and not alerts,
        "description": spec.description if spec else f"detector id {det_id} (not in the catalogue)",
        "badges": badges,
        "cards": [
            card("intervals", len(main.points) if main else len(all_points)),
            card("max grade", fmt(max_grade, 4), "bad" if max_grade > 0 else ""),
            card("last confidence", fmt(conf[-1], 3) if conf else "–"),
            card("no-data / errors", sum(1 for p in all_points if p.error)),
            card("alerts", len(alerts), "bad" if alerts else ""),
        ],
        "charts": charts,
        "entities": entities,
        "alerts": _alert_table(alerts),
    }


def detectors(d: DashboardData, reg: ChartRegistry) -> dict[str, Any]:
    names = [spec.name for spec in DETECTORS]
    names += sorted({r.name for r in d.results if r.name not in names})
    return {"panels": [detector_panel(d, reg, n, [r for r in d.results if r.name == n]) for n in names]}
