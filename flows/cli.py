"""``wafad demo``, ``wafad serve``, ``wafad backfill``: the Prefect side of the command line.

Prefect is imported inside the commands, after the environment for the right Prefect server is set
(:func:`flows.prefect_server.prefect_environment`). The work is in the flows; this module parses and prints.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from wafad.settings import Settings

console = Console(stderr=True)
#: Wide enough for the summary tables when the output goes to a file or a pipe (rich assumes 80 columns there).
out = Console() if Console().is_terminal else Console(width=140)


def _parse_dt(value: str | None) -> datetime | None:
    """ISO-8601 (UTC when no zone), ``now`` or ``now-2h`` — the shared sub-command time parser."""
    from wafad.cli_args import parse_when

    return None if value is None else parse_when(value)


def _stack_up(settings: Settings, *, with_prefect: bool = False) -> None:
    """Start the local stack (idempotent); exit 2 with one line when it cannot start."""
    from wafad.stack import LocalStack, StackError

    try:
        LocalStack(settings).up(with_prefect=with_prefect, on_progress=lambda m: console.print(f"[cyan]stack[/] {m}"))
    except StackError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _print_backfill(state: str, summary: dict | None) -> None:
    """The --direct backfill's outcome: its state, then one row per hour and detector."""
    out.print(f"backfill {state}")
    if not summary:
        return
    t = Table("window start", "detector", "series", "results", "anomalies")
    for r in summary.get("detectors") or []:
        t.add_row(str(r["start"]), r["detector"], str(r["entities"]), str(r["results_written"]), str(r["anomalies"]))
    out.print(t)
    out.print(f"objects {summary['objects']}, re-driven {summary['incomplete']}, indexed {summary['indexed_after']}")


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
        from flows.prefect_server import prefect_environment
        from wafad.settings import get_settings

        settings = get_settings()
        if settings.is_local:
            _stack_up(settings)
        console.print(f"[cyan]demo[/] orchestrated by {prefect_environment(settings, allow_ephemeral=True)}")
        from flows.demo import demo_flow, demo_summary
        from flows.demo_report import print_demo_summary

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
            print_demo_summary(summary, out)
        raise typer.Exit(0 if summary["ok"] else 1)

    @app.command("serve")
    def serve(
        only: list[str] | None = typer.Option(None, "--only", help="serve only these deployments"),
        paused: bool = typer.Option(False, help="create the schedules paused"),
        ensure: bool = typer.Option(True, help="run ensure-infrastructure before serving"),
        workers: int = typer.Option(
            0, "--workers", min=0, help="instead: deploy prefect.yaml to the process work pool, run N local workers"
        ),
        worker_limit: int = typer.Option(2, min=1, help="with --workers: flow runs at a time per worker"),
    ) -> None:
        """Start the local stack with a Prefect server and serve every deployment with its schedule (--workers N:
        run them from the `wafad-process` work pool on N local workers; more can join from other machines)."""
        from flows.prefect_server import prefect_environment
        from wafad.settings import get_settings

        settings = get_settings()
        _stack_up(settings, with_prefect=True)
        prefect_environment(settings, allow_ephemeral=False)
        ui = f"http://{settings.host}:{settings.prefect_port}"
        out.print(f"[bold]Prefect UI: {ui}[/]  (API {settings.prefect_api_url})")
        if workers:
            from deployments.pool import PoolError
            from deployments.serve import serve_on_pool
            from deployments.workers import WorkerError

            try:
                code = serve_on_pool(
                    settings,
                    workers,
                    only=only or None,
                    paused=paused,
                    ensure=ensure,
                    limit=worker_limit,
                    say=lambda m: console.print(f"[cyan]pool[/] {m}"),
                )
            except (PoolError, WorkerError) as exc:
                console.print(f"[red]error:[/] {exc}")
                raise typer.Exit(1) from None
            raise typer.Exit(code)
        from deployments.serve import serve_all

        serve_all(only=only or None, paused=paused, ensure=ensure)

    @app.command("backfill")
    def backfill(
        start: str = typer.Option(..., help="first hour (ISO-8601 UTC, now or now-6h; floored to the hour)"),
        end: str = typer.Option(..., help="end of the range (ISO-8601 UTC, now or now-1h; exclusive)"),
        wait: bool = typer.Option(False, help="wait for the runs and report their states"),
        direct: bool = typer.Option(False, help="run the backfill flow in this process instead of the deployment"),
        runner: str | None = typer.Option(None, help="with --direct: dask or serial (default WAFAD_TASK_RUNNER)"),
        workers: int | None = typer.Option(None, help="with --direct: local Dask worker processes (default: cores)"),
        deployment: str | None = typer.Option(
            None, help="flow/deployment for the hour runs (default: the work pool's when deployed, else the served one)"
        ),
    ) -> None:
        """One backfill run per hour of [start, end) through the served deployment, with idempotency keys
        (--direct: the whole range as one flow here, its hours fanned out on Dask or serially)."""
        from flows.prefect_server import prefect_environment
        from flows.runners import describe, with_runner
        from wafad.settings import get_settings

        t0, t1 = _parse_dt(start), _parse_dt(end)
        assert t0 is not None and t1 is not None
        if t1 <= t0:
            console.print("[red]error:[/] --end must be after --start")
            raise typer.Exit(2)
        if not direct and (runner or workers):
            console.print(
                "[red]error:[/] --runner/--workers apply to --direct (deployment runs go to their deployment)"
            )
            raise typer.Exit(1)
        try:
            settings = with_runner(get_settings(), runner, workers)
        except ValueError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        prefect_environment(settings, allow_ephemeral=direct)
        from flows.backfill import backfill_deployment, backfill_here, failed_runs, fan_out

        if direct:
            console.print(f"[cyan]backfill[/] {t0:%Y-%m-%dT%H}:00 .. {t1:%Y-%m-%dT%H:%M}, work {describe(settings)}")
            ok = backfill_here(t0, t1, settings=settings, on_done=_print_backfill)
            raise typer.Exit(0 if ok else 1)
        target = backfill_deployment(deployment)
        console.print(f"[cyan]backfill[/] one run of {target} per hour")
        runs = fan_out(t0, t1, wait=wait, deployment=target)
        t = Table("hour", "flow run", "state")
        for r in runs:
            t.add_row(r["hour"], r["name"], r["state"])
        out.print(t)
        raise typer.Exit(1 if failed_runs(runs) else 0)
