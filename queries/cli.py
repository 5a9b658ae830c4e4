"""``wafad sql``: SQL over the raw WAF logs (table ``waf_logs``), locally with DuckDB; saved queries for Athena too.

A thin shell: the work is in :mod:`queries.engine` (ad-hoc SQL), :mod:`queries.run` (saved queries),
:mod:`queries.glue` (the DDL) and :mod:`queries.output` (printing).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer

from queries.output import FORMATS, print_result
from wafad.cli_args import parse_when


def _fail(message: str) -> typer.Exit:
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, soft_wrap=True).print(Text("error: ", style="red") + Text(message))
    return typer.Exit(1)


def _when(text: str | None) -> datetime | None:
    return parse_when(text) if text else None


def sql_command(
    query: str | None = typer.Argument(None, help='SQL over table waf_logs, e.g. "SELECT action, count(*) ..."'),
    source: str | None = typer.Option(
        None, "--source", help="s3://bucket/prefix or a folder (default: the configured bucket and log prefix)"
    ),
    start: str | None = typer.Option(None, "--start", help="window start: ISO-8601, now, now-2h"),
    end: str | None = typer.Option(None, "--end", help="window end (exclusive)"),
    saved: str | None = typer.Option(None, "--saved", help="run a saved query (see --list)"),
    labels: Path | None = typer.Option(None, "--labels", help="ground-truth labels JSON (wafad simulate --labels)"),
    interval: int = typer.Option(1, "--interval", help="minutes per interval (saved queries)"),
    limit: int = typer.Option(10, "--limit", help="rows of the top-N saved queries"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    show_sql: bool = typer.Option(False, "--show-sql", help="print the SQL (e.g. for Athena) instead of running it"),
    list_saved: bool = typer.Option(False, "--list", help="list the saved queries"),
    ddl: bool = typer.Option(False, "--ddl", help="print the Athena DDL of table waf_logs for these settings"),
) -> None:
    """SQL over the raw WAF logs in S3 or a folder: table waf_logs, the same columns as the Athena table.

    --start/--end restrict waf_logs to that window and read only the objects whose key date path can hold it.
    """
    from queries.engine import SqlError
    from queries.saved import SavedQueryError, saved_names
    from queries.source import SourceError
    from wafad.settings import get_settings

    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}")
    settings = get_settings()
    if list_saved:
        print_result(["name", "what"], list(saved_names().items()), fmt)
        return
    if ddl:
        from queries.glue import rendered_ddl

        print(rendered_ddl(settings))
        return
    if bool(query) == bool(saved):
        raise _fail('give either a SQL query or --saved NAME (e.g. wafad sql "SELECT count(*) FROM waf_logs")')
    try:
        t0, t1 = _when(start), _when(end)
        if saved:
            from queries.run import render_saved, run_saved, saved_params

            params = saved_params(saved, t0, t1, labels=labels, interval_minutes=interval, limit=limit)
            if show_sql:
                print(render_saved(saved, params)[0])
                return
            outcome = run_saved(settings, saved, params, source)
            columns, rows, verdicts, mismatch = outcome.columns, outcome.rows, outcome.verdicts, outcome.mismatch
        elif show_sql:
            print(query)
            return
        else:
            from queries.engine import query as run_query

            result = run_query(settings, query or "", source=source, start=t0, end=t1)
            columns, rows, verdicts, mismatch = result.columns, result.rows, {}, False
    except (SqlError, SourceError, SavedQueryError, typer.BadParameter) as exc:
        raise _fail(str(exc)) from None
    print_result(columns, rows, fmt)
    for field, verdict in verdicts.items():  # after the table; on stderr when the output is data (csv, json)
        print(f"{field}: {verdict}", file=sys.stdout if fmt == "table" else sys.stderr)
    if mismatch:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("sql")(sql_command)
