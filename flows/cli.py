"""``wafad demo``, ``wafad serve``, ``wafad backfill``: the Prefect side of the command line.

Prefect is imported inside the commands, after the environment for the right Prefect server is set.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
#: Wide enough for the summary tables when the output goes to a file or a pipe (rich assumes 80 columns there).
out = Console() if Console().is_terminal else Console(width=140)


def prefect_environment(settings: Any, *, allow_ephemeral: bool) -> str:
    """Point Prefect at the local server when it runs, else (``allow_ephemeral``) at a temporary one.

    Sets the variables in ``os.environ`` before prefect is imported; returns a description for the user.
    """
    from wafad.stack import LocalStack, prefect_env

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if os.environ.get("PREFECT_API_URL"):
        return f"Prefect server {os.environ['PREFECT_API_URL']} (PREFECT_API_URL)"
    prefect_up = any(s.name == "prefect" and s.running for s in LocalStack(settings).status(with_prefect=True))
    env = prefect_env(settings)
    if prefect_up or not allow_ephemeral:
        os.environ.update(env)
        return f"Prefect server {settings.prefect_api_url}"
    os.environ["PREFECT_HOME"] = env["PREFECT_HOME"]
    os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "true"
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    return "a temporary Prefect server (start `wafad serve` to keep runs in the UI)"


def _parse_dt(value: str | None) -> datetime | None:
    """ISO-8601 (UTC when no zone), ``now`` or ``now-2h`` — the shared sub-command time parser."""
    from wafad.cli_args import parse_when

    return None if value is None else parse_when(value)


def print_demo_summary(summary: dict[str, Any]) -> None:
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
        a.add_row(str(alert.get("subject") or alert.get("summary") or json.dumps(alert, default=str)[:160]))
    out.print(a)
    s = Table(title=f"stage times (total {summary['total_seconds']:.1f} s)", title_justify="left")
    s.add_column("stage")
    s.add_column("seconds", justify="right")
    for stage, secs in summary["stage_seconds"].items():
        s.add_row(stage, f"{secs:.1f}")
    out.print(s)
    out.print(f"dashboard: [bold]{summary['dashboard']}[/]")
    if summary.get("target") == "local":
        out.print("the local stack is still running for you to explore; stop it with [bold]wafad stack down[/]")
    if summary["ok"]:
        out.print("[bold green]demo passed[/]: every record accounted for, every window detected, no false alert")
    else:
        for p in summary["problems"]:
            out.print(f"[bold red]problem:[/] {p}")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        hours: int = typer.Option(7, help="simulated hours, ending at the start of the current UTC hour"),
        rate: float = typer.Option(2.5, help="mean requests per second (2.5: ~53k records in 7 h)"),
        seed: int = typer.Option(7),
        end: str | None = typer.Option(None, help="end of the simulated period (ISO-8601 UTC)"),
        anomaly: list[str] | None = typer.Option(
            None, "--anomaly", help="FIELD@OFFSET+DURATION[xK], repeatable (default: one window per seed field)"
        ),
        crosscheck: bool = typer.Option(False, help="also cross-check the detectors with offline_rcf"),
        detector: list[str] | None = typer.Option(
            None, "--detector", help="run these catalogue detectors (repeatable; default: seed detectors + volume)"
        ),
        json_out: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    ) -> None:
        """The whole pipeline end to end on the local stack (exit 1 if records are lost or a check fails)."""
        from wafad.settings import get_settings
        from wafad.stack import LocalStack, StackError

        settings = get_settings()
        if settings.is_local:
            try:
                LocalStack(settings).up(on_progress=lambda m: console.print(f"[cyan]stack[/] {m}"))
            except StackError as exc:
                console.print(f"[red]error:[/] {exc}")
                raise typer.Exit(2) from None
        console.print(f"[cyan]demo[/] orchestrated by {prefect_environment(settings, allow_ephemeral=True)}")
        from flows.demo import demo_flow, demo_summary

        state = demo_flow(
            hours=hours,
            rate=rate,
            seed=seed,
            end=_parse_dt(end),
            anomalies=anomaly or None,
            crosscheck=crosscheck,
            detectors=detector or None,
            return_state=True,
        )
        try:
            summary = demo_summary(state)
        except Exception as exc:
            console.print(f"[red]demo failed:[/] {type(exc).__name__}: {exc}")
            raise typer.Exit(2) from None
        if json_out:
            print(json.dumps(summary, indent=2, default=str))
        else:
            print_demo_summary(summary)
        raise typer.Exit(0 if summary["ok"] else 1)

    @app.command("serve")
    def serve(
        only: list[str] | None = typer.Option(None, "--only", help="serve only these deployments"),
        paused: bool = typer.Option(False, help="create the schedules paused"),
        ensure: bool = typer.Option(True, help="run ensure-infrastructure before serving"),
    ) -> None:
        """Start the local stack with a Prefect server and serve every deployment with its schedule."""
        from wafad.settings import get_settings
        from wafad.stack import LocalStack, StackError

        settings = get_settings()
        try:
            LocalStack(settings).up(with_prefect=True, on_progress=lambda m: console.print(f"[cyan]stack[/] {m}"))
        except StackError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        prefect_environment(settings, allow_ephemeral=False)
        ui = f"http://{settings.host}:{settings.prefect_port}"
        out.print(f"[bold]Prefect UI: {ui}[/]  (API {settings.prefect_api_url})")
        from deployments.serve import serve_all

        serve_all(only=only or None, paused=paused, ensure=ensure)

    @app.command("backfill")
    def backfill(
        start: str = typer.Option(..., help="first hour (ISO-8601 UTC, now or now-6h; floored to the hour)"),
        end: str = typer.Option(..., help="end of the range (ISO-8601 UTC, now or now-1h; exclusive)"),
        wait: bool = typer.Option(False, help="wait for the runs and report their states"),
        direct: bool = typer.Option(False, help="run the backfill flow in this process instead of the deployment"),
    ) -> None:
        """One backfill run per hour of [start, end) through the served deployment, with idempotency keys."""
        from wafad.settings import get_settings

        settings = get_settings()
        t0, t1 = _parse_dt(start), _parse_dt(end)
        assert t0 is not None and t1 is not None
        if t1 <= t0:
            console.print("[red]error:[/] --end must be after --start")
            raise typer.Exit(2)
        prefect_environment(settings, allow_ephemeral=direct)
        from flows.backfill import backfill_flow, fan_out

        if direct:
            from flows.common import hour_windows

            failed = 0
            for h0, h1 in hour_windows(t0, t1):
                state = backfill_flow(start=h0, end=h1, return_state=True)
                out.print(f"{h0:%Y-%m-%dT%H}:00  {state.name}")
                failed += 0 if state.is_completed() else 1
            raise typer.Exit(1 if failed else 0)
        runs = fan_out(t0, t1, wait=wait)
        t = Table("hour", "flow run", "state")
        for r in runs:
            t.add_row(r["hour"], r["name"], r["state"])
        out.print(t)
        bad = [r for r in runs if r["state"] in ("FAILED", "CRASHED", "CANCELLED")]
        raise typer.Exit(1 if bad else 0)
