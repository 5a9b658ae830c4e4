"""``wafad sql``: SQL over the raw WAF logs (table ``waf_logs``), locally with DuckDB; saved queries for Athena too."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from wafad.cli_args import parse_when

if TYPE_CHECKING:
    from wafad.settings import Settings

FORMATS = ("table", "csv", "json")


def _fail(message: str) -> typer.Exit:
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, soft_wrap=True).print(Text("error: ", style="red") + Text(message))
    return typer.Exit(1)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def print_result(columns: list[str], rows: list[Any], fmt: str) -> None:
    """Results as a rich table, CSV or JSON on stdout; values are printed as data (no markup)."""
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
    elif fmt == "json":
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str, ensure_ascii=False))
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(caption=f"{len(rows)} row{'s' * (len(rows) != 1)}")
        for c in columns:
            table.add_column(Text(c))
        for row in rows:
            table.add_row(*[Text(_cell(v)) for v in row])
        console = Console()
        if not console.is_terminal:  # piped: as wide as the data, not 80 columns
            cells = [[_cell(v) for v in row] for row in rows]
            widest = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
            console = Console(width=min(1000, max(80, sum(widest) + 3 * len(columns) + 1)))
        console.print(table)


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
    from wafad.settings import get_settings
    from wafad.sql_engine import SqlError
    from wafad.sql_saved import SavedQueryError, saved_names
    from wafad.sql_source import SourceError

    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}")
    settings = get_settings()
    if list_saved:
        print_result(["name", "what"], list(saved_names().items()), fmt)
        return
    if ddl:
        from wafad.sql_glue import rendered_ddl

        print(rendered_ddl(settings))
        return
    if bool(query) == bool(saved):
        raise _fail('give either a SQL query or --saved NAME (e.g. wafad sql "SELECT count(*) FROM waf_logs")')
    try:
        t0, t1 = _when(start), _when(end)
        if saved:
            _run_saved(settings, saved, source, t0, t1, labels, interval, limit, fmt, show_sql)
            return
        if show_sql:
            print(query)
            return
        from wafad.sql_engine import query as run_query

        result = run_query(settings, query or "", source=source, start=t0, end=t1)
    except (SqlError, SourceError, SavedQueryError) as exc:
        raise _fail(str(exc)) from None
    except typer.BadParameter as exc:
        raise _fail(str(exc)) from None
    print_result(result.columns, result.rows, fmt)


def _run_saved(
    settings: Settings,
    name: str,
    source: str | None,
    start: datetime | None,
    end: datetime | None,
    labels: Path | None,
    interval: int,
    limit: int,
    fmt: str,
    show_sql: bool,
) -> None:
    """Render saved query ``name`` and run it (``distribution``: then compare with the ground truth)."""
    from wafad.sql_distribution import check, render_distribution
    from wafad.sql_engine import open_waf_logs, run
    from wafad.sql_saved import NEEDS_LABELS, Params, SavedQueryError, read_labels, render, template

    template(name)  # unknown names fail first
    if start is None or end is None:
        raise SavedQueryError(f"saved query {name} needs --start and --end")
    if name in NEEDS_LABELS and labels is None:
        raise SavedQueryError(f"{name} needs the ground truth: --labels FILE (from wafad simulate --labels)")
    params = Params(start, end, interval, limit, read_labels(labels) if labels else ())
    if name == "distribution":
        sql, segs = render_distribution(params)
    else:
        sql, segs = render(name, params), []
    if show_sql:
        print(sql)
        return
    with open_waf_logs(settings, source, start, end) as con:
        result = run(con, sql)
    if name != "distribution":
        print_result(result.columns, result.rows, fmt)
        return
    counts = {(f, int(a), int(b)): (int(n), int(bad)) for f, a, b, n, bad in result.rows}
    rows, verdicts = check(segs, counts)
    columns = list(rows[0]) if rows else []
    print_result(columns, [tuple(r.values()) for r in rows], fmt)
    for field, verdict in verdicts.items():  # after the table; on stderr when the output is data (csv, json)
        print(f"{field}: {verdict}", file=sys.stdout if fmt == "table" else sys.stderr)
    if any(v.startswith("does NOT") for v in verdicts.values()):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("sql")(sql_command)
