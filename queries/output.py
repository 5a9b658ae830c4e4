"""Printing query results on stdout as a rich table, CSV or JSON; values are printed as data, never as markup."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

FORMATS = ("table", "csv", "json")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def print_result(columns: list[str], rows: list[Any], fmt: str) -> None:
    """Results as a rich table, CSV or JSON on stdout (``fmt`` one of :data:`FORMATS`)."""
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
