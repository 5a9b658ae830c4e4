"""``wafad package-lambdas`` and ``wafad ingest ...``: build the Lambda zips, create the ingest resources,
relay S3 events, run the local Firehose delivery."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)
ingest_app = typer.Typer(help="The ingest path: S3 → Kinesis → Firehose transform → OpenSearch.", no_args_is_help=True)


def package_lambdas(
    out: Path = typer.Option(Path("dist/lambdas"), "--out", help="folder for the zips"),
    native: bool = typer.Option(True, "--native/--pure", help="bundle orjson/msgspec/pybase64 (x86_64 cp311 wheels)"),
) -> None:
    """Build the deployable Lambda zips (s3_to_kinesis.zip, firehose_transform.zip)."""
    from rich.table import Table

    from ingest.package import PackagingError, build_all

    try:
        zips = build_all(out, bundle_native=native)
    except PackagingError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    table = Table("zip", "handler", "modules", "bundled", "size")
    for z in zips:
        bundled = ", ".join(f"{k} {v}" for k, v in z.bundled.items()) or "-"
        table.add_row(str(z.path), z.handler, str(len(z.modules)), bundled, f"{z.size / 1024:.0f} KiB")
    Console().print(table)


@ingest_app.command("ensure")
def ensure() -> None:
    """Create (idempotently) bucket, S3 event queue, Kinesis stream, Firehose stream, index template, ISM."""
    from ingest.infra import ensure_ingest
    from wafad.settings import get_settings

    print(json.dumps(ensure_ingest(get_settings()), indent=2))


@ingest_app.command("relay")
def relay_cmd() -> None:
    """Drain the S3 event queue through the S3 → Kinesis handler (local stand-in for the S3 trigger)."""
    from rich.progress import Progress

    from ingest.s3_events import relay
    from wafad.settings import get_settings

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("relaying S3 events", total=None)
        report = relay(get_settings(), progress=lambda done, seen: progress.update(task, completed=done, total=seen))
    print(json.dumps(report.__dict__, indent=2, default=str))
    if report.errors:
        raise typer.Exit(1)


@ingest_app.command("deliver")
def deliver_cmd() -> None:
    """Run the local Firehose: Kinesis → transform → OpenSearch, failures to S3."""
    from rich.progress import Progress

    from ingest.delivery import deliver
    from wafad.settings import get_settings

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("delivering", total=None)
        report = deliver(get_settings(), progress=lambda read, indexed: progress.update(task, completed=read))
    print(json.dumps(report.as_dict(), indent=2))
    if not report.balanced:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("package-lambdas")(package_lambdas)
    app.add_typer(ingest_app, name="ingest")
