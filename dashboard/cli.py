"""``wafad dashboard`` (the HTML page) and ``wafad dashboard-objects`` (OpenSearch Dashboards saved objects)."""

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
    ) -> None:
        """Write the self-contained HTML dashboard for a time window (opens offline, no network)."""
        from rich.console import Console

        from dashboard.render import write_dashboard
        from wafad.settings import get_settings

        settings = get_settings()
        if demo:
            from flows.demo import demo_settings

            settings = demo_settings(settings)
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

        from dashboard.saved_objects import import_saved_objects, write_saved_objects
        from wafad.settings import get_settings

        settings = get_settings()
        console = Console(stderr=True)
        path = write_saved_objects(settings, out)
        console.print(f"saved objects written to [bold]{path}[/]")
        if import_to:
            result = import_saved_objects(settings, import_to)
            console.print(f"imported {result.get('successCount', 0)} objects into {import_to}")
