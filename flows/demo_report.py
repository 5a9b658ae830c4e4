"""What ``wafad demo`` prints: the demo summary (``flows.demo.demo_summary``) as rich tables."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def print_demo_summary(summary: dict[str, Any], out: Console) -> None:
    """Records, injected windows, detections, alerts, stage times and the verdict, as tables on ``out``."""
    from flows.demo import RECORD_COLUMNS

    r = summary["records"]
    t = Table(title="records", title_justify="left")
    for col in RECORD_COLUMNS:
        t.add_column(col, justify="right")
    t.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in (r[key] for key in RECORD_COLUMNS.values())))
    out.print(t)
    w = Table(title="injected windows", title_justify="left")
    for col in ("field", "window (UTC)", "intensity", "detected", "first detection", "delay", "max grade", "detectors"):
        w.add_column(col)
    for win in summary["windows"]:
        ok = "[green]yes[/]" if win["detected"] else "[red]NO[/]"
        first = (win["first_detection"] or "")[11:16] or "-"
        delay = "-" if win["delay_minutes"] is None else f"{win['delay_minutes']:.0f} min"
        w.add_row(
            win["field"],
            f"{win['start'][11:16]}–{win['end'][11:16]}",
            f"x{win['intensity']:g}",
            ok,
            first,
            delay,
            f"{win['max_grade']:.2f}",
            ", ".join(win["detectors"]),
        )
    out.print(w)
    out.print(
        f"detector results with grade > 0: {summary['detections']} "
        f"({summary['detections_outside_windows']} outside the windows, scored from {summary['detectors_from']})"
    )
    a = Table(
        title=f"alerts: {len(summary['alerts_sent'])} sent, {summary['alerts_received']} received via SQS, "
        f"{len(summary['alerts_outside_windows'])} outside the windows",
        title_justify="left",
    )
    a.add_column("alert")
    for alert in summary["alerts_sent"]:
        a.add_row(Text(str(alert.get("subject") or alert.get("summary") or json.dumps(alert, default=str)[:160])))
    out.print(a)
    s = Table(title=f"stage times (total {summary['total_seconds']:.1f} s)", title_justify="left")
    s.add_column("stage")
    s.add_column("seconds", justify="right")
    for stage, secs in summary["stage_seconds"].items():
        s.add_row(stage, f"{secs:.1f}")
    out.print(s)
    out.print(f"dashboard: [bold]{summary['dashboard']}[/]")
    executive = summary.get("executive") or {}
    if executive.get("pdf") or executive.get("html"):
        out.print(f"executive report: [bold]{executive.get('pdf') or executive['html']}[/]")
    if summary.get("target") == "local":
        out.print("the local stack is still running for you to explore; stop it with [bold]wafad stack down[/]")
    if summary["ok"]:
        out.print("[bold green]demo passed[/]: every record accounted for, every window detected, no false alert")
    else:
        for p in summary["problems"]:
            out.print(f"[bold red]problem:[/] {p}")
