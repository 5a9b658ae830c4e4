"""``wafad crosscheck``: is the detector telling the truth about this data?"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from wafad.cli_args import parse_when

console = Console(stderr=True)


def seeds_for(k: int) -> list[int]:
    if k < 1:
        raise typer.BadParameter("--seeds must be at least 1")
    return [101 * (i + 1) for i in range(k)]


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def register(app: typer.Typer) -> None:
    _replica_command(app)

    @app.command("crosscheck")
    def crosscheck_cmd(
        detector: list[str] = typer.Option(..., "--detector", "-d", help="catalogue detector name (repeatable)"),
        start: str = typer.Option("now-1h", help="ISO-8601, 'now' or 'now-1h'"),
        end: str = typer.Option("now", help="ISO-8601, 'now' or 'now-5m'"),
        seeds: int = typer.Option(5, help="replica seeds (the ensemble band)"),
        mode: str = typer.Option("realtime", help="realtime results, or the latest historical task's"),
        engine: str = typer.Option("jvm", help="replica engine: jvm (AWS's jars, reference) or native (numpy)"),
        persist: bool = typer.Option(True, help="continue / save the replica state under the state folder"),
        model_check: bool = typer.Option(False, help="also score AD's recorded features (2x work, sharper causes)"),
        out: Path | None = typer.Option(None, help="write the JSON report here (default: <state_dir>/reports/)"),
        as_json: bool = typer.Option(False, "--json", help="print the report JSON to stdout"),
        show: int = typer.Option(20, help="disagreeing intervals to list"),
        runner: str | None = typer.Option(
            None, help="dask (one task per entity) or serial (default WAFAD_TASK_RUNNER)"
        ),
        workers: int | None = typer.Option(None, help="local Dask worker processes (default: cores)"),
    ) -> None:
        """Cross-check a detector's AD results against the offline replica (AWS's own forest, K seeds)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from offline_rcf.crosscheck import crosscheck_detector
        from offline_rcf.jvm import JavaUnavailableError
        from wafad.catalogue import DETECTORS_BY_NAME
        from wafad.settings import get_settings

        if engine not in ("jvm", "native"):
            raise typer.BadParameter("--engine is jvm or native")
        if mode not in ("realtime", "historical"):
            raise typer.BadParameter("--mode is realtime or historical")
        unknown = [d for d in detector if d not in DETECTORS_BY_NAME]
        if unknown:
            raise typer.BadParameter(
                f"unknown detector(s) {unknown}; the catalogue has: {', '.join(DETECTORS_BY_NAME)}"
            )
        t0, t1 = parse_when(start), parse_when(end)
        if t1 <= t0:
            raise typer.BadParameter("--end must be after --start")
        from flows.runners import describe, with_runner

        try:
            settings = with_runner(get_settings(), runner, workers)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        console.print(f"[cyan]crosscheck[/] work {describe(settings)}")
        reports = []
        if settings.task_runner == "dask":  # one Prefect task per detector and entity on a Dask cluster
            from flows.prefect_server import prefect_environment

            console.print(f"[cyan]crosscheck[/] orchestrated by {prefect_environment(settings, allow_ephemeral=True)}")
            from flows.crosscheck import crosscheck_on_runner

            opts = {"persist": persist, "mode": mode, "engine": engine, "model_check": model_check}
            try:
                fanned = crosscheck_on_runner(settings, list(detector), t0, t1, seeds=seeds_for(seeds), **opts)
            except (JavaUnavailableError, LookupError) as exc:
                console.print(f"[red]error:[/] {exc}")
                raise typer.Exit(1) from None
            for report in fanned:
                reports.append(report.to_dict())
                _print_report(report, show)
        for name in detector if settings.task_runner != "dask" else []:
            with Progress(
                TextColumn(f"[cyan]{name}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            ) as bar:
                task = bar.add_task(name, total=None)
                try:
                    report = crosscheck_detector(
                        settings,
                        name,
                        t0,
                        t1,
                        seeds=seeds_for(seeds),
                        persist=persist,
                        mode=mode,  # type: ignore[arg-type]
                        model_check=model_check,
                        engine=engine,  # type: ignore[arg-type]
                        progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),
                    )
                except (JavaUnavailableError, LookupError) as exc:
                    console.print(f"[red]error:[/] {exc}")
                    raise typer.Exit(1) from None
            reports.append(report.to_dict())
            _print_report(report, show)
        path = out or Path(settings.state_dir) / "reports" / f"crosscheck-{t0:%Y%m%dT%H%M}-{t1:%Y%m%dT%H%M}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = reports[0] if len(reports) == 1 else reports
        path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        console.print(f"report: {path}")
        if as_json:
            print(json.dumps(payload, indent=1))
        if any(r["verdict"] == "inconsistent" for r in reports):
            raise typer.Exit(2)


def _replica_command(app: typer.Typer) -> None:
    @app.command("replica")
    def replica_cmd(
        records: list[Path] = typer.Argument(..., help="WAF log files or folders (gzip JSON lines, JSON)"),
        detector: str = typer.Option(..., "--detector", "-d", help="catalogue detector name"),
        start: str | None = typer.Option(None, help="ISO-8601 (default: first record)"),
        end: str | None = typer.Option(None, help="ISO-8601 (default: last record)"),
        seed: int = typer.Option(0, help="forest seed"),
        engine: str = typer.Option("jvm", help="jvm (AWS's jars) or native"),
        all_intervals: bool = typer.Option(False, "--all", help="list every interval, not only anomalies"),
        as_json: bool = typer.Option(False, "--json", help="print JSON lines instead of a table"),
    ) -> None:
        """Score raw WAF records offline with a catalogue detector (no OpenSearch): AD's features and model."""
        from offline_rcf.jvm import JavaUnavailableError
        from offline_rcf.replay import score_records
        from wafad.catalogue import get_detector
        from wafad.settings import get_settings

        try:
            spec = get_detector(detector)
        except KeyError as exc:
            raise typer.BadParameter(str(exc.args[0])) from None
        if engine not in ("jvm", "native"):
            raise typer.BadParameter("--engine is jvm or native")
        settings = get_settings()
        with console.status(f"scoring {detector} ..."):
            try:
                rows = score_records(
                    records,
                    spec,
                    start=parse_when(start) if start else None,
                    end=parse_when(end) if end else None,
                    interval=timedelta(minutes=settings.detector_interval_minutes),
                    seed=seed,
                    engine=engine,  # type: ignore[arg-type]
                    shingle_size=settings.shingle_size,
                )
            except (FileNotFoundError, ValueError, JavaUnavailableError) as exc:
                console.print(f"[red]error:[/] {exc}")
                raise typer.Exit(1) from None
        shown = rows if all_intervals else [r for r in rows if r["anomaly_grade"] > 0]
        if as_json:
            for r in shown:
                print(json.dumps(r))
            return
        table = Table("interval (UTC)", "entity", "features", "score", "grade", "confidence", "top feature")
        for r in shown:
            attr = r["relevant_attribution"] or {}
            table.add_row(
                _when(r["data_start_time"]),
                ",".join((r["entity"] or {}).values()),
                " ".join(f"{k}={v:g}" for k, v in r["features"].items()),
                f"{r['anomaly_score']:.3f}",
                f"{r['anomaly_grade']:.2f}",
                f"{r['confidence']:.2f}",
                max(attr, key=attr.get) if attr else "",
            )
        Console().print(table)
        console.print(f"{len(rows)} intervals scored, {sum(r['anomaly_grade'] > 0 for r in rows)} anomalous")


def _print_report(report, show: int) -> None:
    colour = {"consistent": "green", "inconsistent": "red"}.get(report.verdict, "yellow")
    console.print(f"[bold]{report.detector}[/] [{colour}]{report.verdict}[/]: {report.summary}")
    pr = ", ".join(
        f"{k} {v:.2f}" for k, v in (("precision", report.precision), ("recall", report.recall)) if v is not None
    )
    if pr:
        console.print(f"  anomalous intervals: {pr}")
    bad = report.disagreements
    if not bad:
        return
    table = Table("interval (UTC)", "entity", "AD score", "band", "AD grade", "grade band", "cause", show_lines=False)
    for i in bad[:show]:
        table.add_row(
            _when(i.data_start_time),
            ",".join(i.entity.values()) if i.entity else "",
            "-" if i.ad_score is None else f"{i.ad_score:.3f}",
            "-" if i.band_low is None else f"{i.band_low:.3f}-{i.band_high:.3f}",
            "-" if i.ad_grade is None else f"{i.ad_grade:.2f}",
            "-" if i.grade_band_low is None else f"{i.grade_band_low:.2f}-{i.grade_band_high:.2f}",
            i.cause or "",
        )
    Console(stderr=True).print(table)
    if len(bad) > show:
        console.print(f"  ... and {len(bad) - show} more (see the JSON report)")
