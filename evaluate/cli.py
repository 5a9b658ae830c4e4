"""``wafad evaluate``: detection quality over seeded scenarios of a profile (thin: see :mod:`evaluate.runner`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        profile: str = typer.Option("subtle", "--profile", help="demo, subtle, repeats, diurnal, bursts or gaps"),
        days: float = typer.Option(1.0, "--days", help="simulated days per seed (after the warm-up)"),
        seed: list[int] = typer.Option([], "--seed", help="a scenario seed (repeat it; default 1, 2, 3)"),
        detector: list[str] = typer.Option(
            [], "--detector", "-d", help="a catalogue detector (repeat; default all single-stream)"
        ),
        engine: str = typer.Option("native", "--engine", help="native (fast) or jvm (the AWS jars)"),
        grace: int = typer.Option(5, "--grace", help="intervals after a window's end that still count as caught"),
        warmup: float | None = typer.Option(None, "--warmup", help="minutes of traffic before the detectors start"),
        as_json: bool = typer.Option(False, "--json", help="print the report as one JSON object on the last line"),
        out: Path | None = typer.Option(None, "--out", help="also write the report: .md, .html or .json"),
    ) -> None:
        """Run seeded scenarios of a profile through simulator and detectors; recall, delay, false incidents/day."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from evaluate.profiles import PROFILES, ProfileError
        from evaluate.render import rich_table, write
        from evaluate.runner import DEFAULT_SEEDS, evaluate_profile

        if profile not in PROFILES:
            _fail(f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
        if not days > 0:
            _fail(f"--days must be positive, got {days:g}")
        if engine not in ("native", "jvm"):
            _fail(f"--engine must be native or jvm, got {engine!r}")
        if grace < 0 or (warmup is not None and warmup < 0):
            _fail("--grace and --warmup must not be negative")
        if out is not None and out.suffix.lower() not in (".md", ".html", ".json"):
            _fail(f"--out {out}: expected a .md, .html or .json file")
        if any(s < 0 for s in seed):
            _fail("--seed must be a non-negative integer")
        err = Console(stderr=True)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            try:
                report = evaluate_profile(
                    profile,
                    days=days,
                    seeds=seed or DEFAULT_SEEDS,
                    detectors=detector or None,
                    engine=engine,  # type: ignore[arg-type]
                    grace_intervals=grace,
                    warmup=None if warmup is None else timedelta(minutes=warmup),
                    progress=progress,
                )
            except (KeyError, ProfileError, ValueError) as exc:
                _fail(str(exc.args[0]) if exc.args else str(exc))
        table_console = Console(stderr=as_json)
        if not table_console.is_terminal:
            table_console = Console(stderr=as_json, width=170)  # a log or a pipe: no 80-column squeeze
        table_console.print(rich_table(report))
        if out is not None:
            err.print(f"wrote {write(report, out)}")
        if as_json:
            print(report.to_json())
