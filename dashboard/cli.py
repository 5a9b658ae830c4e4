"""``wafad dashboard`` (the HTML page), ``wafad dashboard-objects`` (OpenSearch Dashboards saved objects) and
``wafad report`` (the one-page executive KPI report, PDF or HTML)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from wafad.cli_args import parse_when


def _read_json(path: Path | None, what: str) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise typer.BadParameter(f"{what} file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{what} file {path} is not JSON: {exc}") from None


def _read_alerts(path: Path | None) -> list[dict[str, Any]] | None:
    """Alerts as a JSON list, or JSON lines (one alert per line)."""
    if path is None:
        return None
    text = path.read_text(encoding="utf-8") if path.exists() else None
    if text is None:
        raise typer.BadParameter(f"alerts file {path} does not exist")
    try:
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"alerts file {path} is neither JSON nor JSON lines: {exc}") from None


def _settings(*, demo: bool) -> Any:
    """The configured settings, or the local demo's namespace of them (``--demo``)."""
    from wafad.settings import get_settings

    if not demo:
        return get_settings()
    from flows.demo import demo_settings

    return demo_settings(get_settings())


def _demo_evaluation(settings: Any, demo: bool) -> Path | None:
    """The demo's evaluation report (``<demo state>/evaluation.json``) when it exists."""
    path = Path(settings.state_dir) / "evaluation.json"
    return path if demo and path.exists() else None


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard(
        start: str = typer.Option(..., "--start", help="window start: ISO-8601, 'now' or 'now-2h'"),
        end: str = typer.Option("now", "--end", help="window end: ISO-8601, 'now' or 'now-10m'"),
        out: Path = typer.Option(Path("out/dashboard.html"), "--out", help="the HTML file to write"),
        labels: Path | None = typer.Option(None, "--labels", help="ground-truth labels JSON (simulator --labels)"),
        alerts: Path | None = typer.Option(None, "--alerts", help="alerts sent (JSON list or JSON lines)"),
        crosscheck: Path | None = typer.Option(None, "--crosscheck", help="cross-check report JSON (one or a list)"),
        demo: bool = typer.Option(False, "--demo", help="read the local demo's indices (after `make demo`)"),
        evaluation: Path | None = typer.Option(
            None, "--evaluation", help="a `wafad evaluate --out x.json` report (default: the demo's, if it exists)"
        ),
    ) -> None:
        """Write the self-contained HTML dashboard for a time window (opens offline, no network)."""
        from rich.console import Console

        from dashboard.render import write_dashboard

        settings = _settings(demo=demo)
        t0, t1 = parse_when(start), parse_when(end)
        if t1 <= t0:
            raise typer.BadParameter(f"--end ({t1.isoformat()}) must be after --start ({t0.isoformat()})")
        path = write_dashboard(
            settings,
            t0,
            t1,
            out,
            labels=_read_json(labels, "labels"),
            alerts=_read_alerts(alerts),
            crosscheck=_read_json(crosscheck, "cross-check"),
            evaluation=_read_json(evaluation or _demo_evaluation(settings, demo), "evaluation"),
        )
        Console(stderr=True).print(f"dashboard written to [bold]{path}[/] ({path.stat().st_size:,} bytes)")
        print(path)

    @app.command("dashboard-objects")
    def dashboard_objects(
        out: Path = typer.Option(Path("out/wafad-saved-objects.ndjson"), "--out", help="the ndjson file to write"),
        import_to: str | None = typer.Option(
            None, "--import", help="also import into this OpenSearch Dashboards URL (overwrite=true)"
        ),
    ) -> None:
        """Write the OpenSearch Dashboards saved objects (index patterns, visualisations, dashboard)."""
        from rich.console import Console

        from dashboard.dashboards_objects.build import write_saved_objects
        from dashboard.dashboards_objects.importer import import_saved_objects
        from wafad.settings import get_settings

        settings = get_settings()
        console = Console(stderr=True)
        path = write_saved_objects(settings, out)
        console.print(f"saved objects written to [bold]{path}[/]")
        if import_to:
            result = import_saved_objects(settings, import_to)
            console.print(f"imported {result.get('successCount', 0)} objects into {import_to}")

    @app.command("report")
    def report(
        start: str = typer.Option(..., "--start", help="period start: ISO-8601, 'now' or 'now-7d'"),
        end: str = typer.Option("now", "--end", help="period end: ISO-8601, 'now' or 'now-1h'"),
        out: Path = typer.Option(Path("out/executive.pdf"), "--out", help="the PDF (or, ending in .html, the HTML)"),
        alerts: Path | None = typer.Option(None, "--alerts", help="alerts sent (JSON list or lines); default: replay"),
        demo: bool = typer.Option(False, "--demo", help="read the local demo's indices (after `make demo`)"),
    ) -> None:
        """Write the one-page executive KPI report for a period (PDF through headless chromium, or HTML)."""
        from dashboard.executive.pdf import PdfError
        from dashboard.executive.period import PeriodError
        from dashboard.executive.report import write_report

        settings = _settings(demo=demo)
        try:
            files = write_report(settings, parse_when(start), parse_when(end), out, alerts=_read_alerts(alerts))
        except (PeriodError, PdfError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"executive report written to {files.pdf or files.html}", err=True)
        print(files.pdf or files.html)
