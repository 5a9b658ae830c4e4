"""The evaluation section: detection quality from a ``wafad evaluate`` report (recall, delay, false incidents).

The report is plain JSON (``EvaluationReport.to_dict()``); this view reads its keys and imports nothing from
``evaluate``, so the dashboard renders any saved report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.data.loader import DashboardData
from dashboard.views.common import card, fmt, table

LISTED = 30
COLUMNS = (
    ("windows", "windows"),
    ("recall", "recall"),
    ("delay median (min)", "delay_median_min"),
    ("delay max (min)", "delay_max_min"),
    ("incidents", "incidents"),
    ("false / day", "false_incidents_per_day"),
    ("precision", "precision"),
    ("grade>0 recall", "grade_recall"),
    ("grade>0 outside / day", "grade_false_per_day"),
    ("cold start (min)", "cold_start_min"),
)


def _row(name: str, m: Mapping[str, Any]) -> list[str]:
    return [name, *(fmt(m.get(k), 3) if isinstance(m.get(k), float) else fmt(m.get(k)) for _t, k in COLUMNS)]


def evaluation(d: DashboardData) -> dict[str, Any]:
    rep = d.evaluation or {}
    if not rep.get("per_detector"):
        return {"rows": False}
    overall = rep.get("overall") or {}
    false_day = overall.get("false_incidents_per_day")
    cards = [
        card("windows caught", f"{overall.get('caught', 0)} / {overall.get('windows', 0)}",
             "ok" if overall.get("recall") == 1.0 else "bad"),
        card("false incidents / day", fmt(false_day), "ok" if false_day is not None and false_day <= 1 else "bad"),
        card("precision", fmt(overall.get("precision"))),
        card("delay median / max (min)", f"{fmt(overall.get('delay_median_min'))} / "
             f"{fmt(overall.get('delay_max_min'))}"),
    ]  # fmt: skip
    rows = [_row(n, m) for n, m in rep["per_detector"].items()] + [_row("all", overall)]
    missed, false = [], []
    for run in rep.get("runs") or []:
        for w in run.get("windows") or []:
            if not w.get("caught_by"):
                missed.append([run.get("seed"), w.get("field"), w.get("start"), w.get("end"), w.get("intensity")])
        for i in run.get("incidents") or []:
            if i.get("false"):
                false.append([run.get("seed"), i.get("detector"), i.get("entity") or "", i.get("opened"), i.get("end")])
    seeds = ", ".join(str(s) for s in rep.get("seeds") or [])
    return {
        "rows": True,
        "summary": f"profile {rep.get('profile')} ({rep.get('description', '')}): {rep.get('days')} day(s) x seeds "
        f"{seeds}, engine {rep.get('engine')}, grace {rep.get('grace_intervals')} intervals",
        "cards": cards,
        "table": table(["detector", *(t for t, _k in COLUMNS)], rows, num_cols=range(1, len(COLUMNS) + 1)),
        "missed": table(["seed", "field", "start", "end", "x"], missed[:LISTED], num_cols=(0, 4)) if missed else None,
        "false": table(["seed", "detector", "entity", "opened", "end"], false[:LISTED], num_cols=(0,))
        if false
        else None,
        "more_false": max(0, len(false) - LISTED),
    }
