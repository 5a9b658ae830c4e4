"""The cross-check section: each detector's scores and grades against the offline replica's bands, with the
intervals where they disagree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.chartspec import ChartRegistry, TimeChart
from dashboard.data.inputs import CrossCheck, CrossCheckInterval, Label
from dashboard.data.loader import DashboardData
from dashboard.views.common import BLUE, PURPLE, RED, card, fmt, hhmm, labels_for, shade_labels, table
from wafad.catalogue import DETECTORS_BY_NAME

GOOD_VERDICTS = frozenset({"agree", "agrees", "pass", "passed", "ok", "consistent", "match"})
BAD_VERDICTS = frozenset({"disagree", "disagrees", "fail", "failed", "inconsistent", "mismatch"})
DRAWN_ENTITIES = 3
LISTED_DISAGREEMENTS = 20


def verdict_class(verdict: str) -> str:
    v = verdict.strip().lower()
    return "ok" if v in GOOD_VERDICTS else ("bad" if v in BAD_VERDICTS else "")


def _charts(
    c: CrossCheck,
    ivs: Sequence[CrossCheckInterval],
    reg: ChartRegistry,
    window: tuple[int, int],
    labels: Sequence[Label],
    suffix: str,
) -> list[TimeChart]:
    start, end = window
    what = f"{c.detector}{suffix}"
    ch = reg.new(f"xc-{what}", f"{what}: detector score against the replica's band", start, end, height=220)
    shade_labels(ch, labels)
    ch.band("replica band", [(iv.start, iv.band_low) for iv in ivs], [(iv.start, iv.band_high) for iv in ivs], BLUE)
    if any(iv.replica_score is not None for iv in ivs):
        ch.line("replica median", [(iv.start, iv.replica_score) for iv in ivs], BLUE, dashed=True)
    ch.line("detector score", [(iv.start, iv.ad_score) for iv in ivs], "#1d2330")
    ch.markers("disagreement", [(iv.start, iv.ad_score) for iv in ivs if iv.agree is False and iv.compared], RED)
    ch.tooltip("detector grade", [(iv.start, iv.ad_grade) for iv in ivs])
    title = f"{what}: detector grade against the replica's grade band"
    gc = reg.new(f"xcg-{what}", title, start, end, height=170, y_min=0.0, y_max=1.0)
    shade_labels(gc, labels)
    gc.band(
        "replica grade band",
        [(iv.start, iv.grade_band_low) for iv in ivs],
        [(iv.start, iv.grade_band_high) for iv in ivs],
        PURPLE,
    )
    gc.bars("detector grade", [(iv.start, iv.ad_grade) for iv in ivs], RED)
    return [ch, gc]


def crosscheck_panel(c: CrossCheck, reg: ChartRegistry, d: DashboardData) -> dict[str, Any]:
    ivs = c.intervals
    start = c.start or (min(iv.start for iv in ivs) if ivs else d.start_ms)
    end = c.end or (max(iv.end for iv in ivs) if ivs else d.end_ms)
    labels = labels_for(DETECTORS_BY_NAME[c.detector].watches if c.detector in DETECTORS_BY_NAME else None, d.labels)
    bad = c.disagreements
    by_entity: dict[str | None, list[CrossCheckInterval]] = {}
    for iv in ivs:
        by_entity.setdefault(iv.entity, []).append(iv)
    ranked = sorted(by_entity.items(), key=lambda kv: (-sum(1 for iv in kv[1] if iv.agree is False), -len(kv[1])))
    charts = [
        chart
        for entity, group in ranked[:DRAWN_ENTITIES]
        for chart in _charts(c, group, reg, (start, end), labels, f" [{entity}]" if entity else "")
    ]
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
        for iv in bad[:LISTED_DISAGREEMENTS]
    ]
    first = f", first {LISTED_DISAGREEMENTS}" if len(bad) > LISTED_DISAGREEMENTS else ""
    return {
        "detector": c.detector,
        "summary": c.summary,
        "cards": [
            card("verdict", c.verdict, verdict_class(c.verdict)),
            card("Spearman ρ", fmt(c.spearman)),
            card("precision", fmt(c.precision)),
            card("recall", fmt(c.recall)),
            card("intervals agreeing", f"{c.agreement:.1%}" if c.agreement is not None else "–"),
            card("disagreements", len(bad), "bad" if bad else "ok"),
        ],
        "charts": charts,
        "more": max(len(ranked) - DRAWN_ENTITIES, 0),
        "disagreements_title": f"Disagreements ({len(bad)}{first})",
        "disagreements": table(
            ["interval", "entity", "score", "replica band", "grade", "replica grade band", "cause"], rows
        )
        if rows
        else None,
    }


def crosscheck(d: DashboardData, reg: ChartRegistry) -> dict[str, Any]:
    return {"panels": [crosscheck_panel(c, reg, d) for c in d.crosschecks]}
