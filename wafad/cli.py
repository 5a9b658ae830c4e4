"""The ``wafad`` command line.

Core commands (``stack``, ``settings``) live here; each part of the product adds its own commands through a
``register(app)`` function in its ``cli`` module, listed in :data:`COMMAND_MODULES`. Those modules import
their heavy dependencies inside the command functions, so ``wafad stack status`` stays quick.
"""

from __future__ import annotations

import importlib
import json

import typer
from rich.console import Console
from rich.table import Table

from wafad.settings import get_settings
from wafad.stack import LocalStack, StackError

app = typer.Typer(help="Anomaly detection on AWS WAF logs.", no_args_is_help=True, add_completion=False)
stack_app = typer.Typer(help="The local stack: moto server (AWS) and osmem-server (OpenSearch).")
app.add_typer(stack_app, name="stack")
console = Console(stderr=True)

#: Modules that add commands with ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = (
    "simulator.cli",
    "ingest.cli",
    "offline_rcf.cli",
    "detectors.cli",
    "alerting.cli",
    "dashboard.cli",
    "flows.cli",
    "queries.cli",
    "capacity.cli",
    "evaluate.cli",
)


def _print_status(stack: LocalStack, with_prefect: bool) -> None:
    table = Table("service", "state", "url", "pid")
    for st in stack.status(with_prefect=with_prefect):
        style = {"running": "green", "stopped": "dim", "foreign": "yellow"}.get(st.state, "red")
        table.add_row(st.name, f"[{style}]{st.state}[/]", st.url, str(st.pid or "-"))
    from deployments.workers import running_workers

    for w in running_workers(stack.settings):  # `wafad serve --workers N`
        table.add_row(w.name, "[green]running[/]", "work pool wafad-process", str(w.pid))
    Console().print(table)


@stack_app.command("up")
def stack_up(prefect: bool = typer.Option(False, "--prefect", help="also start a Prefect server with its UI")) -> None:
    """Start the local services (idempotent: running ones are left alone)."""
    settings = get_settings()
    stack = LocalStack(settings)
    try:
        stack.up(with_prefect=prefect, on_progress=lambda m: console.print(f"[cyan]stack[/] {m}"))
    except StackError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    _print_status(stack, with_prefect=prefect)


@stack_app.command("down")
def stack_down() -> None:
    """Stop every local service (and `wafad serve --workers` worker) this state folder started."""
    from deployments.workers import stop_workers

    def say(message: str) -> None:
        console.print(f"[cyan]stack[/] {message}")

    settings = get_settings()
    stopped = stop_workers(settings, on_progress=say)  # before the Prefect server they report to
    stopped += LocalStack(settings).down(on_progress=say)
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Show each local service: running, stopped, or its port taken by another process."""
    stack = LocalStack(get_settings())
    _print_status(stack, with_prefect=True)
    if not all(s.running for s in stack.status(with_prefect=False)):
        raise typer.Exit(3)


@app.command("settings")
def show_settings() -> None:
    """Print the effective settings (secrets masked)."""
    print(json.dumps(get_settings().redacted(), indent=2, default=str))


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that part is not built yet
                continue
            raise
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()

if __name__ == "__main__":
    app()
