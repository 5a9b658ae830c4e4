"""``wafad detectors ensure|run|status|results``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from wafad.cli_args import parse_when

console = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/] {exc}")
    return typer.Exit(1)


def _ms(ms: Any) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def register(app: typer.Typer) -> None:
    det_app = typer.Typer(help="Anomaly detectors: AD plugin, or locally the offline engine writing AD results.")
    app.add_typer(det_app, name="detectors")

    @det_app.command("ensure")
    def ensure() -> None:
        """Create or update the catalogue's detectors (plugin) or the results index (local); idempotent."""
        from detectors.errors import ADError
        from detectors.infra import ensure_detectors
        from wafad.settings import get_settings

        try:
            out = ensure_detectors(get_settings())
        except ADError as exc:
            raise _fail(exc) from None
        table = Table("detector", "id", "action", title=f"engine: {out['engine']}, results: {out['results_index']}")
        for name, d in out["detectors"].items():
            table.add_row(name, d["id"], d["action"])
        Console().print(table)

    @det_app.command("run")
    def run(
        start: str = typer.Option("now-8h", help="ISO-8601, 'now' or 'now-8h'"),
        end: str = typer.Option("now", help="ISO-8601, 'now' or 'now-1h'"),
        mode: str = typer.Option("realtime", help="realtime (continues saved models) or historical"),
        detector: list[str] = typer.Option(None, "--detector", "-d", help="catalogue name (repeatable; default all)"),
        as_json: bool = typer.Option(False, "--json", help="print the reports as JSON"),
    ) -> None:
        """Run the detectors over a time range and write AD result documents."""
        import dataclasses

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from detectors.errors import ADError
        from detectors.service import run_detectors, select_detectors
        from wafad.settings import get_settings

        if mode not in ("realtime", "historical"):
            raise typer.BadParameter("mode must be 'realtime' or 'historical'")
        now = datetime.now(UTC)
        t0, t1 = parse_when(start, now=now), parse_when(end, now=now)
        try:
            specs = select_detectors(detector)
        except KeyError as exc:
            raise typer.BadParameter(str(exc.args[0])) from None
        settings = get_settings()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("detectors", total=len(specs))
            reports = []
            for spec in specs:
                bar.update(task, description=spec.name)

                def on_series(name: str, done: int, total: int) -> None:
                    bar.update(task, description=f"{name} ({done}/{total} series)")

                try:
                    reports += run_detectors(settings, t0, t1, mode=mode, detectors=[spec.name], progress=on_series)  # type: ignore[arg-type]
                except (ADError, ValueError) as exc:
                    raise _fail(exc) from None
                bar.advance(task)
        if as_json:
            print(json.dumps([dataclasses.asdict(r) for r in reports], indent=1))
            return
        table = Table("detector", "engine", "intervals", "series", "results", "anomalies", "errors", "task", "s")
        for r in reports:
            table.add_row(
                r.detector,
                r.engine,
                str(r.intervals),
                str(r.entities),
                str(r.results_written),
                str(r.anomalies),
                str(r.errors),
                r.task_id or "-",
                f"{r.elapsed_s:.1f}",
            )
        Console().print(table)

    @det_app.command("status")
    def status() -> None:
        """Per detector: plugin profile (state, init progress), or local model files and result counts."""
        from detectors.errors import ADError
        from detectors.status import detector_statuses
        from wafad.clients import opensearch_client
        from wafad.settings import get_settings

        settings = get_settings()
        try:
            rows = detector_statuses(settings, opensearch_client(settings))
        except ADError as exc:
            raise _fail(exc) from None
        if settings.uses_ad_plugin:
            table = Table("detector", "id", "state", "init %", "results", "anomalies", "error")
            for r in rows:
                if r["id"] is None:
                    table.add_row(r["name"], "-", "[dim]absent[/]", "-", "-", "-", "")
                    continue
                pct = f"{r['init_percentage']:.0f}" if r["init_percentage"] is not None else "-"
                table.add_row(r["name"], r["id"], r["state"], pct, str(r["results"]), str(r["anomalies"]), r["error"])
        else:
            table = Table("detector", "id", "models", "results", "anomalies", title="local engine")
            for r in rows:
                table.add_row(r["name"], r["id"], str(r["models"]), str(r["results"]), str(r["anomalies"]))
        Console().print(table)

    @det_app.command("results")
    def results(
        detector: str = typer.Option(..., "--detector", "-d", help="catalogue name"),
        start: str = typer.Option("now-8h"),
        end: str = typer.Option("now"),
        anomalies_only: bool = typer.Option(False, "--anomalies", help="only results with grade > 0"),
        historical: bool = typer.Option(False, help="historical results instead of real-time"),
        limit: int = typer.Option(50, min=1),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Result documents of one detector (newest last)."""
        from detectors.errors import ADError
        from detectors.status import DetectorNotFound, detector_id, recent_results
        from wafad.catalogue import get_detector
        from wafad.clients import opensearch_client
        from wafad.settings import get_settings

        settings = get_settings()
        try:
            spec = get_detector(detector)
        except KeyError as exc:
            raise typer.BadParameter(str(exc.args[0])) from None
        client = opensearch_client(settings)
        try:
            det_id = detector_id(settings, client, spec)
        except (ADError, DetectorNotFound) as exc:
            raise _fail(exc) from None
        now = datetime.now(UTC)
        docs = recent_results(
            settings,
            client,
            det_id,
            int(parse_when(start, now=now).timestamp() * 1000),
            int(parse_when(end, now=now).timestamp() * 1000),
            historical=historical,
            anomalies_only=anomalies_only,
            limit=limit,
        )
        if as_json:
            print(json.dumps(docs, indent=1))
            return
        table = Table("data start", "entity", "features", "score", "grade", "confidence", "expected", "error")
        for d in docs:
            ent = ",".join(str(e.get("value")) for e in d.get("entity") or [])
            feats = ", ".join(f"{f['feature_name']}={f['data']:g}" for f in d.get("feature_data") or [])
            exp = d.get("expected_values") or []
            expected = ", ".join(f"{v['data']:.3g}" for v in exp[0]["value_list"]) if exp else ""
            cells = (
                _ms(d.get("data_start_time")),
                ent,
                feats,
                f"{d['anomaly_score']:.3f}" if "anomaly_score" in d else "",
                f"{d['anomaly_grade']:.3f}" if "anomaly_grade" in d else "",
                f"{d['confidence']:.3f}" if "confidence" in d else "",
                expected,
                str(d.get("error") or ""),
            )
            table.add_row(*(Text(c) for c in cells))  # Text: entity values are data, not rich markup
        Console().print(table)
