"""``wafad simulate`` (backfill or live) and ``wafad simulate-toggle`` (switch live anomalies on and off)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from simulator.scenario import Scenario
    from wafad.settings import Settings

console = Console(stderr=True)

_ANOMALY_HELP = (
    "FIELD@OFFSET+DURATION\\[xK], e.g. httpStatus@20m+10m\\[x5]; repeatable. FIELD: action, httpSourceName, "
    "httpStatus, country, httpMethod, volume, ip_flood, uri_scan. OFFSET from --start (or an ISO time)."
)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {escape(message)}")
    return typer.Exit(2)


def simulate_command(
    start: str | None = typer.Option(
        None, "--start", help="ISO-8601 UTC start (default: backfill ends now, live starts now)"
    ),
    duration: str = typer.Option("1h", "--duration", help="how long: 90s, 10m, 1h30m, 2d"),
    rate: float = typer.Option(50.0, "--rate", help="mean requests per second of normal traffic"),
    anomaly: list[str] = typer.Option([], "--anomaly", "-a", help=_ANOMALY_HELP),
    seed: int = typer.Option(7, "--seed", help="same seed, same bytes (backfill)"),
    out: str | None = typer.Option(None, "--out", "-o", help="folder or s3://bucket/prefix"),
    labels: Path | None = typer.Option(None, "--labels", help="write the ground truth (JSON) here"),
    live: bool = typer.Option(False, "--live", help="run on the wall clock instead of backfilling"),
    firehose: str | None = typer.Option(None, "--firehose", help="live: also send to this Firehose stream"),
    toggle_file: Path | None = typer.Option(
        None, "--toggle-file", help="live: anomaly toggle file (default <state_dir>/simulator/anomaly-toggle.json)"
    ),
    flush_seconds: int = typer.Option(60, "--flush-seconds", help="live: write the current object this often"),
) -> None:
    """Simulate AWS WAF logs with known anomalies: gzip JSON lines in WAF's S3 layout (or Firehose, live)."""
    from simulator.scenario import AnomalySpecError, scenario_from_options

    try:
        scenario = scenario_from_options(start, duration, rate, anomaly, seed, live=live)
    except AnomalySpecError as exc:
        raise _fail(str(exc)) from None
    if out is None and not (live and firehose):
        raise _fail("--out is required (a folder or s3://bucket/prefix), except for --live --firehose STREAM")
    if firehose and not live:
        raise _fail("--firehose sends records as they happen: use it with --live")

    from wafad.settings import get_settings

    settings = get_settings()
    s3 = None
    if out is not None and out.startswith("s3://"):
        from wafad.clients import aws_client

        s3 = aws_client("s3", settings)
    if live:
        _run_live(scenario, out, s3, firehose, toggle_file, labels, flush_seconds, settings)
    else:
        _run_backfill(scenario, out, s3, labels, settings)  # type: ignore[arg-type]


def _run_backfill(scenario: Scenario, out: str, s3: Any, labels: Path | None, settings: Settings) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from simulator.backfill import simulate

    with Progress(
        TextColumn("[cyan]simulate[/] 5-minute objects"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("blocks", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = simulate(
            scenario,
            out,
            s3_client=s3,
            labels_path=labels,
            progress=progress,
            account=settings.aws_account_id,
            region=settings.aws_region,
        )
    console.print(
        f"[green]wrote[/] {summary.records:,} records in {len(summary.objects)} objects to {escape(out)}"
        + (f"; ground truth ({len(summary.labels)} anomalies) in {escape(str(labels))}" if labels else "")
    )


def _run_live(
    scenario: Scenario,
    out: str | None,
    s3: Any,
    firehose: str | None,
    toggle_file: Path | None,
    labels: Path | None,
    flush_seconds: int,
    settings: Settings,
) -> None:
    from rich.live import Live

    from simulator.live import LiveStatus, default_toggle_path, run_live

    toggle = toggle_file or default_toggle_path(settings.state_dir)
    firehose_client = None
    if firehose:
        from wafad.clients import aws_client

        firehose_client = aws_client("firehose", settings)
    console.print(
        f"[cyan]live[/] {scenario.rate:g} req/s until {scenario.end:%Y-%m-%d %H:%M:%S}Z; switch anomalies with "
        f"[bold]wafad simulate-toggle FIELD\\[xK] --toggle-file {escape(str(toggle))}[/] (Ctrl-C stops)"
    )
    with Live(console=console, refresh_per_second=2, transient=False) as view:

        def progress(st: LiveStatus) -> None:
            active = ", ".join(f"{f} x{k:g}" for f, k in st.active.items()) or "none"
            view.update(
                f"[cyan]live[/] {datetime.fromtimestamp(st.second, UTC):%H:%M:%S}Z  records {st.records:,}  "
                f"objects {st.objects}  firehose {st.sent_to_firehose:,}  anomalies: {active}"
            )

        try:
            summary = run_live(
                scenario,
                out,
                firehose_stream=firehose,
                s3_client=s3,
                firehose_client=firehose_client,
                toggle_path=toggle,
                labels_path=labels,
                flush_seconds=flush_seconds,
                progress=progress,
                account=settings.aws_account_id,
                region=settings.aws_region,
            )
        except KeyboardInterrupt:
            console.print("[yellow]stopped[/]")
            return
    console.print(f"[green]done[/] {summary.records:,} records, {len(summary.objects)} objects")


def toggle_command(
    spec: str | None = typer.Argument(None, help="FIELD or FIELD\\[xK] to switch on, e.g. httpStatus\\[x5]"),
    off: bool = typer.Option(False, "--off", help="switch FIELD off (all anomalies when no FIELD)"),
    toggle_file: Path | None = typer.Option(None, "--toggle-file", help="default <state_dir>/simulator/..."),
) -> None:
    """Switch an anomaly of a running ``wafad simulate --live`` on or off."""
    from simulator.live import clear_toggle, default_toggle_path, parse_toggle, set_toggle
    from simulator.scenario import AnomalySpecError

    path = toggle_file or default_toggle_path()
    try:
        if off:
            name = spec.split("[")[0] if spec else None
            active = clear_toggle(path, name)
        else:
            if not spec:
                raise _fail("give FIELD[xK] to switch on, or --off")
            active = set_toggle(path, *parse_toggle(spec))
    except AnomalySpecError as exc:
        raise _fail(str(exc)) from None
    shown = ", ".join(f"{f} x{k:g}" for f, k in active.items()) or "none"
    console.print(f"anomalies on: {shown}  ({escape(str(path))})")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
    app.command("simulate-toggle")(toggle_command)
