"""The self-contained HTML dashboard: one file, inline CSS, server-side SVG, a small script, no network.

Safety: every string from the data (attacker-controlled uri, args, headers, user agent; detector names; alert
texts) goes through :func:`html.escape` before it is written, and the data the script reads is embedded with
:func:`safe_json` (``<``, ``>``, ``&``, U+2028/9 escaped, so ``</script>`` cannot end the block). The script
inserts data with ``textContent`` only, and a Content-Security-Policy allows only that script (by hash), no
network access at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from dashboard.assets import CSS, JS
from dashboard.charts import PALETTE, TimeChart, hbar_chart
from dashboard.data import (
    ALLOWED_ACTIONS,
    LIVE_MINUTES,
    Alert,
    CrossCheck,
    DashboardData,
    DetectorResults,
    Label,
    iso,
    load_dashboard_data,
)
from wafad.catalogue import DETECTORS, DETECTORS_BY_NAME, SEED_FIELDS, DetectorSpec
from wafad.settings import Settings

RED, BLUE, ORANGE, GREEN, GREY, PURPLE = "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f", "#9467bd"
#: Simulator ground-truth fields that a detector watching ``key`` should see.
RELATED_LABELS: dict[str, frozenset[str]] = {
    "volume": frozenset({"volume", "ip_flood", "uri_scan"}),
}


# --- safe embedding ----------------------------------------------------------------------------------
def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def safe_json(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``, U+2028/9."""
    text = json.dumps(_clean(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(script: str) -> str:
    return (
        f"default-src 'none'; script-src '{script_hash(script)}'; style-src 'unsafe-inline'; img-src data:; "
        "font-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


# --- small HTML helpers ----------------------------------------------------------------------------
def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def card(key: str, value: Any, cls: str = "") -> str:
    return f'<div class="card {cls}"><div class="v">{e(value)}</div><div class="k">{e(key)}</div></div>'


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, num_cols: Iterable[int] = (), raw_cols: Iterable[int] = ()
) -> str:
    nums, raws = set(num_cols), set(raw_cols)

    def cls(i: int) -> str:
        return ' class="num"' if i in nums else (' class="raw"' if i in raws else "")

    head = "".join(f"<th{cls(i) if i in nums else ''}>{e(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{e(v)}</td>" for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fmt(v: float | None, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}"


def hhmm(ms: int | None) -> str:
    if ms is None:
        return "–"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%m-%d %H:%M")


MAX_READOUT = 1500


def _chunk_max(values: Sequence[Any]) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return max(finite) if finite else None


class ChartRegistry:
    """Gives charts unique ids and keeps the per-interval values the hover read-out shows."""

    def __init__(self) -> None:
        self.charts: dict[str, dict[str, Any]] = {}

    def new(self, key: str, title: str, start_ms: int, end_ms: int, **kw: Any) -> TimeChart:
        cid = f"c{len(self.charts)}-" + "".join(ch if ch.isalnum() else "-" for ch in key)[:40]
        self.charts[cid] = {"t": [], "v": {}}
        return TimeChart(title=title, start_ms=start_ms, end_ms=end_ms, chart_id=cid, **kw)

    def readout(self, chart: TimeChart, times: Sequence[int], values: Mapping[str, Sequence[float | None]]) -> None:
        """Keep the values for the hover read-out, at most :data:`MAX_READOUT` rows (chunk maxima beyond)."""
        step = max(1, math.ceil(len(times) / MAX_READOUT))
        self.charts[chart.chart_id] = {
            "t": list(times[::step]),
            "v": {k: [_chunk_max(v[i : i + step]) for i in range(0, len(times), step)] for k, v in values.items()},
        }


# --- label / alert helpers -------------------------------------------------------------------------
def labels_for(watches: str | None, labels: Sequence[Label]) -> list[Label]:
    if watches is None:
        return []
    wanted = RELATED_LABELS.get(watches, frozenset({watches}))
    return [lab for lab in labels if lab.field in wanted]


def shade_labels(chart: TimeChart, labels: Sequence[Label], title: str = "ground truth") -> None:
    if labels:
        chart.shade(
            title,
            [
                (lab.start, lab.end, f"injected {lab.field} x{fmt(lab.intensity, 1)} {iso(lab.start)} → {iso(lab.end)}")
                for lab in labels
            ],
            ORANGE,
        )


def alerts_for(name: str, detector_id: str, alerts: Sequence[Alert]) -> list[Alert]:
    return [a for a in alerts if a.detector in (name, detector_id) or (a.detector_id and a.detector_id == detector_id)]


ALERT_TEXT_CHARS = 400


def alert_message(a: Alert) -> str:
    """Subject and the start of the text (the full text is in the SNS message)."""
    text = a.text if len(a.text) <= ALERT_TEXT_CHARS else a.text[:ALERT_TEXT_CHARS] + " …"
    return f"{a.subject}\n{text}" if a.subject and a.subject not in a.text else text


def mark_alerts(chart: TimeChart, alerts: Sequence[Alert]) -> None:
    opened = [
        (a.window_start, f"{a.kind} {a.severity}: {a.text}") for a in alerts if a.kind == "opened" and a.window_start
    ]
    resolved = [(a.window_end or a.window_start, f"{a.kind}: {a.text}") for a in alerts if a.kind == "resolved"]
    if opened:
        chart.vlines("alert opened", opened, RED)  # type: ignore[arg-type]
    if resolved:
        chart.vlines("alert resolved", [r for r in resolved if r[0]], GREEN)  # type: ignore[arg-type]


def windows_hit(labels: Sequence[Label], res: DetectorResults | None) -> int:
    if res is None:
        return 0
    return sum(1 for lab in labels if any(p.end > lab.start and p.start < lab.end for p in res.anomalies))


def _overlaps(p: Any, lab: Label) -> bool:
    return p.end > lab.start and p.start < lab.end


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
            first = next((p for p in anomalies if _overlaps(p, lab)), None)
            if first is not None:
                delays.append(max(0.0, (first.start - lab.start) / 60_000))
        outside = sum(1 for p in anomalies if not any(_overlaps(p, lab) for lab in labels))
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


# --- sections --------------------------------------------------------------------------------------
def section_overview(d: DashboardData, reg: ChartRegistry) -> str:
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
    reg.readout(chart, raw.times, {"requests": raw.total, **{k: v for k, v in raw.indicators.items() if any(v)}})
    info = " · ".join(f"{k}: {v}" for k, v in d.settings_summary.items())
    headers = ["detector", "intervals", "anomalous", "max grade", "alerts"]
    rows = detection_rows(d)
    if d.labels:
        headers += ["ground truth found", "median delay", "anomalous outside ground truth"]
    else:
        rows = [r[: len(headers)] for r in rows]
    summary = table(headers, rows, num_cols=range(1, len(headers)))
    return (
        f'<section id="overview"><h2>Overview</h2><div class="note">{e(info)}</div>'
        f'<div class="cards">{"".join(cards)}</div>{chart.svg()}<h3>Detections</h3>{summary}</section>'
    )


def grade_chart(
    reg: ChartRegistry,
    key: str,
    title: str,
    d: DashboardData,
    points: Sequence[Any],
    labels: Sequence[Label],
    alerts: Sequence[Alert],
    *,
    start_ms: int | None = None,
    height: int = 150,
    width: int = 1100,
) -> str:
    s = start_ms if start_ms is not None else d.start_ms
    chart = reg.new(key, title, s, d.end_ms, height=height, width=width, y_min=0.0, y_max=1.0, y_label="0…1")
    shade_labels(chart, labels)
    no_data = [(p.start, p.end, f"{hhmm(p.start)}: {p.error}") for p in points if getattr(p, "error", None)]
    if no_data:
        chart.shade("no data / error", no_data, GREY)
    chart.bars("anomaly grade", [(p.start, p.grade) for p in points], RED)
    chart.line("confidence", [(p.start, p.confidence) for p in points], BLUE)
    mark_alerts(chart, alerts)
    reg.readout(
        chart,
        [p.start for p in points],
        {
            "grade": [p.grade for p in points],
            "confidence": [p.confidence for p in points],
            "score": [p.score for p in points],
        },
    )
    return chart.svg()


def result_for(d: DashboardData, name: str) -> DetectorResults | None:
    return next((r for r in d.results if r.name == name and r.entity is None), None)


def section_historical(d: DashboardData, reg: ChartRegistry) -> str:
    raw = d.raw
    spec = DETECTORS_BY_NAME.get("waf-block-action")
    labels = labels_for("action", d.labels)
    chart = reg.new("hist-action", "Requests by terminating action (historical)", d.start_ms, d.end_ms, height=230)
    shade_labels(chart, labels)
    for i, (action, vals) in enumerate(raw.by_action.items()):
        colour = GREEN if action == ALLOWED_ACTIONS else RED if action == "BLOCK" else PALETTE[(i + 3) % len(PALETTE)]
        chart.line(action, raw.series(vals), colour)
    reg.readout(chart, raw.times, raw.by_action)
    parts = [chart.svg()]
    res = result_for(d, "waf-block-action")
    if res is not None:
        pts = res.historical or res.realtime
        src = "historical analysis run" if res.historical else "real-time results"
        parts.append(
            grade_chart(
                reg,
                "hist-grade",
                f"waf-block-action: anomaly grade and confidence ({src})",
                d,
                pts,
                labels,
                alerts_for(res.name, res.detector_id, d.alerts),
            )
        )
    blocked = sum(raw.by_action.get("BLOCK", []))
    share = blocked / raw.doc_count if raw.doc_count else 0.0
    cards = (
        f'<div class="cards">{card("blocked requests", f"{blocked:,}")}{card("block share", f"{share:.1%}")}'
        f"{card('anomalous intervals', len(res.anomalies) if res else '–', 'bad' if res and res.anomalies else '')}"
        "</div>"
    )
    desc = spec.description if spec else ""
    return (
        '<section id="historical"><h2>Historical analysis: block action</h2>'
        f'<div class="note">{e(desc)}. Whole window, from raw documents and the detector results.</div>'
        f"{cards}{''.join(parts)}</section>"
    )


def section_live(d: DashboardData, reg: ChartRegistry) -> str:
    raw = d.raw
    live_start = raw.live_start_ms or max(d.start_ms, d.end_ms - LIVE_MINUTES * 60_000)
    idx = [i for i, t in enumerate(raw.times) if t >= live_start - raw.interval_ms + 1]
    times = [raw.times[i] for i in idx]
    parts = []
    # HTTP status
    status = {k: [v[i] for i in idx] for k, v in raw.by_status.items() if any(v)}
    chart = reg.new(
        "live-status", f"HTTP status classes, last {LIVE_MINUTES} min", live_start, d.end_ms, height=210, width=640
    )
    shade_labels(chart, labels_for("httpStatus", d.labels))
    colours = {"2xx": GREEN, "3xx": BLUE, "4xx": ORANGE, "5xx": RED, "none": PURPLE}
    for k, vals in status.items():
        chart.line(k, list(zip(times, vals, strict=False)), colours.get(k, GREY))
    reg.readout(chart, times, status)
    res = result_for(d, "waf-http-status-5xx")
    status_html = chart.svg()
    if res:
        status_html += grade_chart(
            reg,
            "live-status-grade",
            "waf-http-status-5xx: grade and confidence",
            d,
            [p for p in res.points if p.start >= live_start - raw.interval_ms],
            labels_for("httpStatus", d.labels),
            alerts_for(res.name, res.detector_id, d.alerts),
            start_ms=live_start,
            height=130,
            width=640,
        )
    # unknown countries
    unknown = {k: [v[i] for i in idx] for k, v in raw.unknown_countries.items()}
    chart = reg.new(
        "live-country",
        f"Requests from countries outside the allow-list, last {LIVE_MINUTES} min",
        live_start,
        d.end_ms,
        height=210,
        width=640,
    )
    shade_labels(chart, labels_for("country", d.labels))
    bad_total = [raw.indicators.get("country_bad", [0.0] * len(raw.times))[i] for i in idx]
    chart.line("all unknown", list(zip(times, bad_total, strict=False)), GREY, dashed=True)
    for i, (k, vals) in enumerate(unknown.items()):
        chart.line(k, list(zip(times, vals, strict=False)), PALETTE[(i + 3) % len(PALETTE)])
    reg.readout(chart, times, {"all unknown": bad_total, **unknown})
    country_html = chart.svg()
    res = result_for(d, "waf-unknown-country")
    if res:
        country_html += grade_chart(
            reg,
            "live-country-grade",
            "waf-unknown-country: grade and confidence",
            d,
            [p for p in res.points if p.start >= live_start - raw.interval_ms],
            labels_for("country", d.labels),
            alerts_for(res.name, res.detector_id, d.alerts),
            start_ms=live_start,
            height=130,
            width=640,
        )
    last5 = sum(v[-1] for k, v in status.items() if k in ("5xx", "none")) if status and times else 0
    last_unknown = bad_total[-1] if bad_total else 0
    cards = (
        f'<div class="cards">{card("5xx / no status, last interval", f"{last5:g}", "bad" if last5 else "ok")}'
        f"{card('unknown-country requests, last interval', f'{last_unknown:g}', 'bad' if last_unknown else 'ok')}</div>"
    )
    parts.append(f'<div class="grid2"><div>{status_html}</div><div>{country_html}</div></div>')
    return (
        '<section id="live"><h2>Live trends: HTTP status and unknown countries</h2>'
        f'<div class="note">The most recent {LIVE_MINUTES} minutes of the window ({e(iso(live_start))} → '
        f"{e(iso(d.end_ms))}).</div>{cards}{''.join(parts)}</section>"
    )


def _raw_feature(d: DashboardData, spec: DetectorSpec) -> tuple[str, list[float]] | None:
    feat = spec.features[0]
    if feat.agg == "value_count":
        return "requests", [float(v) for v in d.raw.total]
    if feat.field in d.raw.indicators:
        return feat.field, d.raw.indicators[feat.field]
    return None


def detector_panel(d: DashboardData, reg: ChartRegistry, name: str, groups: list[DetectorResults]) -> str:
    spec = DETECTORS_BY_NAME.get(name)
    watches = spec.watches if spec else None
    labels = labels_for(watches, d.labels)
    det_id = groups[0].detector_id if groups else name
    alerts = alerts_for(name, det_id, d.alerts)
    key = "det-" + name
    parts: list[str] = []
    main = next((g for g in groups if g.entity is None), None)
    entity_groups = [g for g in groups if g.entity is not None]
    feature_chart = reg.new(key, f"{name}: feature values and expected values", d.start_ms, d.end_ms, height=210)
    shade_labels(feature_chart, labels)
    readout: dict[str, list[float | None]] = {}
    times: list[int] = []
    if main is not None:
        pts = main.points
        times = [p.start for p in pts]
        for i, fname in enumerate(main.feature_names):
            vals = [p.features.get(fname) for p in pts]
            feature_chart.line(f"{fname} (actual)", list(zip(times, vals, strict=False)), PALETTE[i % len(PALETTE)])
            exp = [(p.start, p.expected.get(fname)) for p in pts if fname in p.expected]
            if exp:
                feature_chart.markers(f"{fname} expected", exp, ORANGE)
            anomalous = [(p.start, p.features.get(fname)) for p in pts if (p.grade or 0) > 0]
            if anomalous:
                feature_chart.markers("anomalous", anomalous, RED)
            readout[fname] = vals
            readout[f"{fname} expected"] = [p.expected.get(fname) for p in pts]
    elif entity_groups:

        def volume(g: DetectorResults) -> float:
            fname = g.feature_names[0] if g.feature_names else ""
            return sum((p.features.get(fname) or 0.0) for p in g.points)

        ranked = sorted(entity_groups, key=lambda g: (-g.max_grade, -volume(g)))
        times = sorted({p.start for g in ranked[:6] for p in g.points})
        anomalous: list[tuple[int, float | None]] = []
        for i, g in enumerate(ranked[:6]):
            fname = g.feature_names[0] if g.feature_names else "value"
            ent = (g.entity or "").split("=", 1)[-1]
            vals = [(p.start, p.features.get(fname)) for p in g.points]
            feature_chart.line(ent, vals, PALETTE[i % len(PALETTE)])
            by_t = dict(vals)
            readout[ent] = [by_t.get(t) for t in times]
            anomalous.extend((p.start, p.features.get(fname)) for p in g.points if (p.grade or 0) > 0)
        if anomalous:
            feature_chart.markers("anomalous", anomalous, RED)
    elif spec is not None and (rf := _raw_feature(d, spec)) is not None:
        fname, vals = rf
        feature_chart.line(f"{fname} (from raw documents)", d.raw.series(vals), PALETTE[0])
        times = d.raw.times
        readout[fname] = list(vals)
    mark_alerts(feature_chart, alerts)
    reg.readout(feature_chart, times, readout)
    parts.append(feature_chart.svg())

    # grade / confidence
    all_points = [p for g in groups for p in g.points]
    if main is not None:
        parts.append(
            grade_chart(reg, key + "-grade", f"{name}: anomaly grade and confidence", d, main.points, labels, alerts)
        )
    elif entity_groups:
        by_start: dict[int, list[Any]] = {}
        for p in all_points:
            by_start.setdefault(p.start, []).append(p)
        merged = [
            _Merged(
                t,
                max(p.end for p in ps),
                max((p.grade or 0.0) for p in ps),
                _mean([p.confidence for p in ps]),
                max((p.score or 0.0) for p in ps),
                # no data for the detector only when no entity had data
                "; ".join(sorted({p.error for p in ps if p.error})) if all(p.error for p in ps) else None,
            )
            for t, ps in sorted(by_start.items())
        ]
        parts.append(
            grade_chart(
                reg, key + "-grade", f"{name}: highest entity grade, mean confidence", d, merged, labels, alerts
            )
        )
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
        parts.append(
            table(["entity", "intervals", "anomalous", "max grade", "first anomaly"], rows, num_cols=(1, 2, 3))
        )

    n_anom = sum(1 for p in all_points if (p.grade or 0) > 0)
    errors = sum(1 for p in all_points if p.error)
    max_grade = max((p.grade or 0.0 for p in all_points), default=0.0)
    conf = [p.confidence for p in (main.points if main else all_points) if p.confidence is not None]
    badges = [f'<span class="badge {"bad" if n_anom else "ok"}">{n_anom} anomalous intervals</span>']
    if groups:
        badges.append(f'<span class="badge">{e(groups[0].source)}</span>')
    else:
        badges.append('<span class="badge">no AD results in this window</span>')
    if labels:
        hit = (
            windows_hit(labels, main or (groups[0] if groups else None))
            if main
            else sum(
                1
                for lab in labels
                if any(p.end > lab.start and p.start < lab.end and (p.grade or 0) > 0 for p in all_points)
            )
        )
        badges.append(
            f'<span class="badge {"ok" if hit == len(labels) else "bad"}">ground truth found {hit}/{len(labels)}</span>'
        )
    stats = (
        f'<div class="cards">{card("intervals", len(main.points) if main else len(all_points))}'
        f"{card('max grade', fmt(max_grade, 4), 'bad' if max_grade > 0 else '')}"
        f"{card('last confidence', fmt(conf[-1], 3) if conf else '–')}"
        f"{card('no-data / errors', errors)}{card('alerts', len(alerts), 'bad' if alerts else '')}</div>"
    )
    alert_html = ""
    if alerts:
        alert_html = "<h3>Alerts</h3>" + table(
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
    desc = spec.description if spec else f"detector id {det_id} (not in the catalogue)"
    quiet = "" if n_anom or alerts else " quiet"
    return (
        f'<div class="detector{quiet}" id="detector-{e(name)}"><h3>{e(name)}{"".join(badges)}</h3>'
        f'<div class="note">{e(desc)}</div>{stats}{"".join(parts)}{alert_html}</div>'
    )


@dataclass
class _Merged:
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


def section_detectors(d: DashboardData, reg: ChartRegistry) -> str:
    names = [spec.name for spec in DETECTORS]
    names += sorted({r.name for r in d.results if r.name not in names})
    panels = [detector_panel(d, reg, n, [r for r in d.results if r.name == n]) for n in names]
    return (
        '<section id="detectors"><h2>Detectors</h2>'
        '<div class="note">Per detector: the feature the detector reads (actual, and the expected value the model '
        "reported for anomalous intervals), the anomaly grade (bars) and confidence (line), alerts (dashed lines: "
        "red opened, green resolved) and injected ground-truth windows (orange).</div>"
        '<div class="controls"><label><input type="checkbox" id="only-anomalous"> only detectors with anomalies '
        "or alerts</label></div>"
        f"{''.join(panels)}</section>"
    )


GOOD_VERDICTS = frozenset({"agree", "agrees", "pass", "passed", "ok", "consistent", "match"})
BAD_VERDICTS = frozenset({"disagree", "disagrees", "fail", "failed", "inconsistent", "mismatch"})


def verdict_class(verdict: str) -> str:
    v = verdict.strip().lower()
    return "ok" if v in GOOD_VERDICTS else ("bad" if v in BAD_VERDICTS else "")


def _crosscheck_charts(
    c: CrossCheck, ivs: Sequence[Any], reg: ChartRegistry, start: int, end: int, labels: Sequence[Label], suffix: str
) -> str:
    times = [iv.start for iv in ivs]
    what = f"{c.detector}{suffix}"
    ch = reg.new(f"xc-{what}", f"{what}: detector score against the replica's band", start, end, height=220)
    shade_labels(ch, labels)
    ch.band("replica band", [(iv.start, iv.band_low) for iv in ivs], [(iv.start, iv.band_high) for iv in ivs], BLUE)
    if any(iv.replica_score is not None for iv in ivs):
        ch.line("replica median", [(iv.start, iv.replica_score) for iv in ivs], BLUE, dashed=True)
    ch.line("detector score", [(iv.start, iv.ad_score) for iv in ivs], "#1d2330")
    ch.markers("disagreement", [(iv.start, iv.ad_score) for iv in ivs if iv.agree is False and iv.compared], RED)
    reg.readout(
        ch,
        times,
        {
            "score": [iv.ad_score for iv in ivs],
            "band low": [iv.band_low for iv in ivs],
            "band high": [iv.band_high for iv in ivs],
        },
    )
    gc = reg.new(
        f"xcg-{what}", f"{what}: detector grade against the replica's grade band", start, end,
        height=170, y_min=0.0, y_max=1.0,
    )  # fmt: skip
    shade_labels(gc, labels)
    gc.band(
        "replica grade band",
        [(iv.start, iv.grade_band_low) for iv in ivs],
        [(iv.start, iv.grade_band_high) for iv in ivs],
        PURPLE,
    )
    gc.bars("detector grade", [(iv.start, iv.ad_grade) for iv in ivs], RED)
    reg.readout(
        gc,
        times,
        {
            "grade": [iv.ad_grade for iv in ivs],
            "band low": [iv.grade_band_low for iv in ivs],
            "band high": [iv.grade_band_high for iv in ivs],
        },
    )
    return ch.svg() + gc.svg()


def crosscheck_panel(c: CrossCheck, reg: ChartRegistry, d: DashboardData) -> str:
    ivs = c.intervals
    start = c.start or (min(iv.start for iv in ivs) if ivs else d.start_ms)
    end = c.end or (max(iv.end for iv in ivs) if ivs else d.end_ms)
    labels = labels_for(DETECTORS_BY_NAME[c.detector].watches if c.detector in DETECTORS_BY_NAME else None, d.labels)
    bad = c.disagreements
    cards = (
        f'<div class="cards">{card("verdict", c.verdict, verdict_class(c.verdict))}'
        f"{card('Spearman ρ', fmt(c.spearman))}{card('precision', fmt(c.precision))}{card('recall', fmt(c.recall))}"
        f"{card('intervals agreeing', f'{c.agreement:.1%}' if c.agreement is not None else '–')}"
        f"{card('disagreements', len(bad), 'bad' if bad else 'ok')}</div>"
    )
    by_entity: dict[str | None, list[Any]] = {}
    for iv in ivs:
        by_entity.setdefault(iv.entity, []).append(iv)
    ranked = sorted(by_entity.items(), key=lambda kv: (-sum(1 for iv in kv[1] if iv.agree is False), -len(kv[1])))
    charts = "".join(
        _crosscheck_charts(c, group, reg, start, end, labels, f" [{entity}]" if entity else "")
        for entity, group in ranked[:3]
    )
    more = ""
    if len(ranked) > 3:
        more = f'<div class="note">{len(ranked) - 3} more entities not drawn (fewest disagreements).</div>'
    rows = [
        (
            hhmm(iv.start),
            iv.entity or "",
            fmt(iv.ad_score),
            f"{fmt(iv.band_low)} … {fmt(iv.band_high)}",
            fmt(iv.ad_grade, 4),
            f"{fmt(iv.grade_band_low, 4)} … {fmt(iv.grade_band_high, 4)}",
            iv.cause,
        )
        for iv in bad[:20]
    ]
    tbl = ""
    if rows:
        tbl = f"<h3>Disagreements ({len(bad)}{', first 20' if len(bad) > 20 else ''})</h3>" + table(
            ["interval", "entity", "score", "replica band", "grade", "replica grade band", "cause"], rows
        )
    summary = f'<div class="note">{e(c.summary)}</div>' if c.summary else ""
    return (
        f'<div class="detector" id="crosscheck-{e(c.detector)}"><h3>{e(c.detector)}</h3>'
        f"{summary}{cards}{charts}{more}{tbl}</div>"
    )


def section_crosscheck(d: DashboardData, reg: ChartRegistry) -> str:
    if not d.crosschecks:
        return ""
    return (
        '<section id="crosscheck"><h2>Cross-check: detectors against the offline replica</h2>'
        '<div class="note">The replica (offline_rcf, several seeds) gives a band of scores and grades per interval; '
        "a detector result outside its band is a disagreement.</div>"
        + "".join(crosscheck_panel(c, reg, d) for c in d.crosschecks)
        + "</section>"
    )


def section_traffic(d: DashboardData) -> str:
    raw = d.raw
    charts = [
        hbar_chart("Top countries", [(c, float(n)) for c, n, _ in raw.top_countries]),
        hbar_chart("Top client IPs", [(ip, float(n)) for ip, n in raw.top_ips], color=PALETTE[4]),
        hbar_chart("Top URIs", [(u, float(n)) for u, n in raw.top_uris], color=PALETTE[2]),
    ]
    tables = [
        table(
            ["country", "requests", "outside allow-list"],
            [(c, f"{n:,}", f"{b:,}") for c, n, b in raw.top_countries],
            num_cols=(1, 2),
        ),
        table(["client IP", "requests"], [(ip, f"{n:,}") for ip, n in raw.top_ips], num_cols=(1,)),
        table(["URI", "requests"], [(u, f"{n:,}") for u, n in raw.top_uris], num_cols=(1,), raw_cols=(0,)),
    ]
    grid = "".join(f"<div>{c}{t}</div>" for c, t in zip(charts, tables, strict=False))
    requests = (
        '<h3>Latest suspicious requests (<span id="requests-count">0</span>)</h3>'
        '<div class="note">Requests with a bad action, status, method or source; uri, args and headers are shown '
        "as text, exactly as received.</div>"
        "<table><thead><tr><th>time</th><th>action</th><th>status</th><th>client IP</th><th>country</th>"
        "<th>method</th><th>uri</th><th>args</th><th>user agent</th><th>other headers</th></tr></thead>"
        '<tbody id="requests-body"></tbody></table>'
        "<noscript>This table is filled by the page's script; it is disabled in this viewer.</noscript>"
    )
    return f'<section id="traffic"><h2>Traffic</h2><div class="grid2">{grid}</div>{requests}</section>'


def section_alerts(d: DashboardData) -> str:
    if not d.alerts and not d.labels:
        return ""
    parts = ['<section id="alerts"><h2>Alerts and ground truth</h2>']
    if d.alerts:
        parts.append(
            "<h3>Alerts sent</h3>"
            + table(
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
        )
    if d.labels:
        parts.append(
            "<h3>Injected anomalies (ground truth)</h3>"
            + table(
                ["field", "start", "end", "intensity", "watched by"],
                [
                    (
                        lab.field,
                        iso(lab.start),
                        iso(lab.end),
                        fmt(lab.intensity, 1),
                        ", ".join(
                            s.name
                            for s in DETECTORS
                            if lab.field in RELATED_LABELS.get(s.watches, frozenset({s.watches}))
                        )
                        or ("(no detector)" if lab.field not in SEED_FIELDS else ""),
                    )
                    for lab in d.labels
                ],
            )
        )
    parts.append("</section>")
    return "".join(parts)


# --- page ------------------------------------------------------------------------------------------
def render_html(d: DashboardData) -> str:
    """The whole page for ``d`` (pure function: no I/O)."""
    reg = ChartRegistry()
    body = [
        section_overview(d, reg),
        section_historical(d, reg),
        section_live(d, reg),
        section_detectors(d, reg),
        section_crosscheck(d, reg),
        section_traffic(d),
        section_alerts(d),
    ]
    nav = [("overview", "Overview"), ("historical", "Historical"), ("live", "Live trends"), ("detectors", "Detectors")]
    if d.crosschecks:
        nav.append(("crosscheck", "Cross-check"))
    nav.append(("traffic", "Traffic"))
    if d.alerts or d.labels:
        nav.append(("alerts", "Alerts"))
    payload = {"window": {"start": d.start_ms, "end": d.end_ms}, "charts": reg.charts, "samples": d.raw.samples}
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    title = f"wafad dashboard {iso(d.start_ms)} → {iso(d.end_ms)}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(content_security_policy(JS))}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>wafad: anomaly detection on AWS WAF logs</h1><div class="sub">{e(iso(d.start_ms))} → '
        f"{e(iso(d.end_ms))} · generated {e(generated)}</div></header>"
        "<nav>" + "".join(f'<a href="#{k}">{e(v)}</a>' for k, v in nav) + "</nav>"
        f'<main>{"".join(body)}</main><div id="tooltip"></div>'
        f'<script type="application/json" id="wafad-data">{safe_json(payload)}</script>'
        f"<script>{JS}</script></body></html>\n"
    )


def write_dashboard(
    settings: Settings,
    start: datetime | str | int,
    end: datetime | str | int,
    out: Path,
    *,
    labels: Iterable[Mapping[str, Any]] | None = None,
    alerts: Iterable[Mapping[str, Any]] | None = None,
    crosscheck: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    """Query OpenSearch for [start, end) and write the self-contained dashboard to ``out``; returns ``out``."""
    data = load_dashboard_data(settings, start, end, labels=labels, alerts=alerts, crosscheck=crosscheck)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(out)
    return out


__all__ = ["content_security_policy", "render_html", "safe_json", "write_dashboard"]
